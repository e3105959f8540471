# -*- coding: utf-8 -*-
"""Parsers of capabilities and domain capabilities, fed with XML captured on the test bed."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmcat.libvirt.plugins.module_utils._node import _caps as _node_caps
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.tests.unit.helpers import fixture_xml


# -- capabilities ------------------------------------------------------------------
def test_host_cpu_of_qemu_capabilities():
    cpu = _node_caps.parse_host_cpu(fixture_xml('node_capabilities_qemu.xml'))
    assert cpu['arch'] == 'x86_64'
    assert cpu['model'] == 'Cascadelake-Server-noTSX'
    assert cpu['vendor'] == 'Intel'
    assert cpu['topology'] == {'sockets': 1, 'dies': 1, 'cores': 2, 'threads': 1}
    assert 'hypervisor' in cpu['features'] and cpu['features'] == sorted(cpu['features'])
    assert cpu['page_sizes_kib'] == [4, 2048, 1048576]


def test_host_cpu_of_test_driver_capabilities():
    cpu = _node_caps.parse_host_cpu(fixture_xml('node_capabilities_test.xml'))
    assert cpu['arch'] == 'i686'
    assert cpu['model'] is None and cpu['vendor'] is None and cpu['topology'] is None
    assert cpu['features'] == ['nonpae', 'pae']  # the old <features><pae/></features> form


def test_numa_cells():
    cells = _node_caps.parse_numa_cells(fixture_xml('node_capabilities_qemu.xml'))
    assert len(cells) == 1
    cell = cells[0]
    assert cell['id'] == 0
    assert cell['memory'] == 5204184 * 1024
    assert cell['cpus'] == [0, 1]
    assert cell['distances'] == {0: 10}
    assert cell['pages'] == [{'size_kib': 4, 'total': 1301046}, {'size_kib': 2048, 'total': 0},
                             {'size_kib': 1048576, 'total': 0}]
    test_cells = _node_caps.parse_numa_cells(fixture_xml('node_capabilities_test.xml'))
    assert [c['id'] for c in test_cells] == [0, 1]
    assert [len(c['cpus']) for c in test_cells] == [8, 8]


def test_guests_and_machine_types():
    guests = _node_caps.parse_guests(fixture_xml('node_capabilities_qemu.xml'))
    assert [(g['os_type'], g['arch']) for g in guests] == [('hvm', 'i686'), ('hvm', 'x86_64')]
    x86 = guests[1]
    assert x86['wordsize'] == 64 and x86['emulator'] == '/usr/bin/qemu-system-x86_64'
    assert x86['domain_types'] == ['kvm', 'qemu']
    q35 = [m for m in x86['machines'] if m['name'] == 'q35'][0]
    assert q35 == {'name': 'q35', 'canonical': 'pc-q35-7.2', 'max_cpus': 288, 'deprecated': False}
    deprecated = [m['name'] for m in x86['machines'] if m['deprecated']]
    assert deprecated == ['pc-i440fx-1.4', 'pc-i440fx-1.5', 'pc-i440fx-1.6', 'pc-i440fx-1.7']
    types = _node_caps.machine_types(guests)
    assert sorted(types) == ['i686', 'x86_64']
    assert {'pc', 'q35', 'pc-q35-7.2', 'microvm'} <= set(types['x86_64'])
    assert types['x86_64'] == sorted(types['x86_64'])
    assert _node_caps.domain_types(guests, 'x86_64') == ['kvm', 'qemu']
    assert _node_caps.domain_types(guests, 'aarch64') == []


def test_test_driver_guests_have_no_machines():
    guests = _node_caps.parse_guests(fixture_xml('node_capabilities_test.xml'))
    assert [g['os_type'] for g in guests] == ['hvm', 'xen']
    assert _node_caps.machine_types(guests) == {'i686': []}
    assert _node_caps.domain_types(guests, 'i686') == ['test']


def test_iommu_support():
    assert _node_caps.iommu_support(fixture_xml('node_capabilities_qemu.xml')) is False
    assert _node_caps.iommu_support(_xml.parse("<capabilities><host><iommu support='yes'/></host></capabilities>")) is True
    assert _node_caps.iommu_support(_xml.parse('<capabilities><host/></capabilities>')) is None


# -- domain capabilities -------------------------------------------------------------
def test_host_model():
    model = _node_caps.parse_host_model(fixture_xml('node_domcapabilities_kvm.xml'))
    assert model['model'] == 'Cascadelake-Server'
    assert model['vendor'] == 'Intel'
    assert model['fallback'] == 'forbid'
    assert 'tsc_adjust' in model['features'] and 'avx512f' in model['disabled']
    assert not set(model['features']) & set(model['disabled'])


def test_host_model_unsupported():
    root = _xml.parse("<domainCapabilities><cpu><mode name='host-model' supported='no'/></cpu></domainCapabilities>")
    assert _node_caps.parse_host_model(root) is None


def test_uefi_of_captured_domain_capabilities():
    uefi = _node_caps.parse_uefi(fixture_xml('node_domcapabilities_kvm.xml'))
    assert uefi == {'available': True, 'loaders': ['/usr/share/OVMF/OVMF_CODE_4M.fd'], 'secure_boot': False}


def test_uefi_variants():
    secure = _xml.parse(
        "<domainCapabilities><os supported='yes'><enum name='firmware'><value>bios</value><value>efi</value></enum>"
        "<loader supported='yes'><value>/usr/share/OVMF/OVMF_CODE.secboot.fd</value>"
        "<enum name='secure'><value>yes</value><value>no</value></enum></loader></os></domainCapabilities>")
    assert _node_caps.parse_uefi(secure)['secure_boot'] is True
    bios_only = _xml.parse("<domainCapabilities><os supported='yes'><enum name='firmware'><value>bios</value>"
                           "</enum><loader supported='yes'/></os></domainCapabilities>")
    assert _node_caps.parse_uefi(bios_only) == {'available': False, 'loaders': [], 'secure_boot': False}
    assert _node_caps.parse_uefi(_xml.parse('<domainCapabilities/>'))['available'] is None


def test_domain_capabilities_summary():
    summary = _node_caps.parse_domain_capabilities(fixture_xml('node_domcapabilities_kvm.xml'))
    assert summary['domain_type'] == 'kvm'
    assert summary['arch'] == 'x86_64'
    assert summary['machine'] == 'pc-i440fx-7.2'
    assert summary['emulator'] == '/usr/bin/qemu-system-x86_64'
    assert summary['vcpu_max'] == 255
    assert summary['cpu_modes'] == ['host-passthrough', 'maximum', 'host-model', 'custom']
    assert 'virtio' in summary['devices']['disk']['bus']
    assert summary['devices']['hostdev']['subsysType'] == ['usb', 'pci', 'scsi']
    assert 'sev' not in summary['features'] and 'vmcoreinfo' in summary['features']


def test_sizes_in_node_xml_follow_the_one_size_parser():
    """KB is 1000 bytes, TiB is 1024^4, no unit is KiB: the same rules as every size option."""
    from lxml import etree
    from ansible_collections.vmcat.libvirt.plugins.module_utils._node._caps import _kib_bytes
    assert _kib_bytes(etree.fromstring('<memory unit="KB">3</memory>')) == 3000
    assert _kib_bytes(etree.fromstring('<memory unit="TiB">1</memory>')) == 1024 ** 4
    assert _kib_bytes(etree.fromstring('<memory>2</memory>')) == 2048
    assert _kib_bytes(None, default=7) == 7
