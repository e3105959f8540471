# -*- coding: utf-8 -*-
"""node_info's reader: helpers, KVM facts, and gather() against libvirt's test driver
and a fake connection that answers with XML captured on the test bed."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import libvirt
import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._node import _node_info
from ansible_collections.vmcat.libvirt.plugins.module_utils._node import _caps as _node_caps
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._connection import Connection
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import VmcatError
from ansible_collections.vmcat.libvirt.tests.unit.fakes.errors import LibvirtFailure
from ansible_collections.vmcat.libvirt.tests.unit.helpers import fixture_text, fixture_xml


# -- small helpers ---------------------------------------------------------------
@pytest.mark.parametrize('number, text', [
    (7002022, '7.2.22'), (9000000, '9.0.0'), (10010003, '10.10.3'), (2, '0.0.2'), (0, None), (None, None)])
def test_version_string(number, text):
    assert _node_info.version_string(number) == text


@pytest.mark.parametrize('uri, local', [
    ('qemu:///system', True),
    ('qemu:///session', True),
    ('qemu+unix:///system?socket=/run/libvirt/libvirt-sock', True),
    ('test:///default', True),
    ('qemu+ssh://root@kvm1/system', False),
    ('qemu+tcp://kvm1/system', False),
    ('qemu+ssh://localhost/system', False),
    ('qemu+ext:///system?command=/bin/nc', False),
])
def test_is_local_uri(uri, local):
    assert _node_info.is_local_uri(uri) is local


@pytest.mark.parametrize('module, value, nested', [
    ('kvm_intel', 'Y\n', True), ('kvm_intel', 'N\n', False), ('kvm_amd', '1\n', True), ('kvm_amd', '0\n', False)])
def test_nested_from_sysfs(tmp_path, module, value, nested):
    params = tmp_path / 'module' / module / 'parameters'
    params.mkdir(parents=True)
    (params / 'nested').write_text(value)
    assert _node_info.nested_from_sysfs(str(tmp_path)) is nested


def test_nested_from_sysfs_without_kvm_modules(tmp_path):
    (tmp_path / 'module' / 'kvm' / 'parameters').mkdir(parents=True)
    assert _node_info.nested_from_sysfs(str(tmp_path)) is None


def test_nested_from_host_model():
    assert _node_info.nested_from_host_model(None) is None
    assert _node_info.nested_from_host_model({'features': ['ss', 'vmx'], 'disabled': []}) is True
    assert _node_info.nested_from_host_model({'features': ['ss'], 'disabled': ['svm']}) is False
    assert _node_info.nested_from_host_model({'features': ['ss'], 'disabled': ['pcid']}) is None
    # the host-model CPU captured on the test bed (kvm_pvm, no nested KVM) says nothing about vmx/svm
    captured = _node_caps.parse_host_model(fixture_xml('node_domcapabilities_kvm.xml'))
    assert _node_info.nested_from_host_model(captured) is None


@pytest.mark.parametrize('option, sections', [
    (None, list(_node_info.SECTIONS)),
    (['all'], list(_node_info.SECTIONS)),
    (['counts', 'cpu'], ['cpu', 'counts']),
    (['devices', 'all'], list(_node_info.SECTIONS)),
])
def test_wanted_sections(option, sections):
    assert _node_info.wanted_sections(option) == sections


# -- gather() on libvirt's test driver -----------------------------------------------
def _gather(make_ctx, conn, gather_option=None, sysfs='/nonexistent-sysfs'):
    return _node_info.gather(make_ctx(conn, {'gather': gather_option}), sysfs=sysfs)


def test_gather_test_driver(make_ctx, conn):
    result = _gather(make_ctx, conn)
    assert result['gathered'] == list(_node_info.SECTIONS)
    host = result['host']
    assert host['hypervisor'] == 'TEST' and host['uri'] == 'test:///default' and host['local'] is True
    assert host['libvirt_daemon_version'] == _node_info.version_string(libvirt.getVersion())
    cpu = result['cpu']
    assert cpu['arch'] == 'i686' and cpu['count'] == 16 and cpu['mhz'] == 1400
    assert cpu['topology'] == {'sockets': 4, 'dies': None, 'cores': 2, 'threads': 2}
    assert cpu['model'] is None and cpu['flags'] is None and cpu['host_model'] is None
    assert result['memory']['total'] == 3072 * 1024 * 1024 and result['memory']['stats'] is None
    numa = result['numa']
    assert numa['cell_count'] == 2
    assert [p['free'] for c in numa['cells'] for p in c['pages']] == [None] * 6
    assert [p['huge'] for p in numa['cells'][0]['pages']] == [False, True, True]
    caps = result['capabilities']
    assert caps['kvm'] == {'available': False, 'device': None, 'nested': None,
                           'message': 'the capabilities offer no kvm domain type for i686'}
    assert caps['domain_capabilities'] is None and caps['uefi']['available'] is None
    assert caps['max_vcpus'] == {'machine': None, 'hypervisor': 32}
    assert result['devices']['by_type'] == {'system': 1, 'scsi_host': 3}
    assert result['counts']['vms'] == {'total': 1, 'running': 1, 'paused': 0, 'shutoff': 0, 'other': 0}
    assert result['counts']['pools'] == {'total': 1, 'active': 1, 'inactive': 0}
    assert result['counts']['networks'] == {'total': 1, 'active': 1, 'inactive': 0}
    assert sorted(u['key'] for u in result['unavailable']) == [
        'cpu.flags', 'domain_capabilities', 'memory.stats', 'numa.cells.pages.free']


def test_gather_subset(make_ctx, conn):
    result = _gather(make_ctx, conn, ['counts'])
    assert sorted(result) == ['counts', 'gathered', 'host', 'unavailable']
    assert result['gathered'] == ['counts'] and result['unavailable'] == []


def test_counts_follow_changes(make_ctx, conn):
    dom = conn.virt.lookupByName('test')
    dom.suspend()
    try:
        assert _gather(make_ctx, conn, ['counts'])['counts']['vms']['paused'] == 1
    finally:
        dom.resume()


# -- gather() on a fake QEMU node answering with the captured XML ---------------------
class FakeQemu:
    """Answers like this test bed's qemu:///system (captured XML, fixed numbers); ``fail`` breaks calls."""

    def __init__(self, fail=None, uri='qemu:///system'):
        self.fail = fail or {}
        self.uri = uri
        self.calls = []

    def _answer(self, name, value):
        self.calls.append(name)
        if name in self.fail:
            raise self.fail[name]
        return value

    def getURI(self):
        return self._answer('getURI', self.uri)

    def getType(self):
        return self._answer('getType', 'QEMU')

    def getHostname(self):
        return self._answer('getHostname', 'vm')

    def getVersion(self):
        return self._answer('getVersion', 7002022)

    def getLibVersion(self):
        return self._answer('getLibVersion', 9000000)

    def getCapabilities(self):
        return self._answer('getCapabilities', fixture_text('node_capabilities_qemu.xml'))

    def getDomainCapabilities(self, emulator, arch, machine, virttype, flags):
        text = fixture_text('node_domcapabilities_kvm.xml')
        if virttype == 'qemu':
            text = text.replace('<domain>kvm</domain>', '<domain>qemu</domain>')
        return self._answer('getDomainCapabilities:%s' % virttype, text)

    def getInfo(self):
        return self._answer('getInfo', ['x86_64', 5082, 2, 2499, 1, 1, 2, 1])

    def getFreeMemory(self):
        return self._answer('getFreeMemory', 4773642240)

    def getMemoryStats(self, cell, flags):
        return self._answer('getMemoryStats', {'total': 5204184, 'free': 4558436, 'buffers': 6804, 'cached': 324384})

    def getCellsFreeMemory(self, start, count):
        return self._answer('getCellsFreeMemory', [4773642240])

    def getFreePages(self, sizes, start, count, flags):
        return self._answer('getFreePages', {0: {4: 1165440, 2048: 0, 1048576: 0}})

    def getMaxVcpus(self, virttype):
        return self._answer('getMaxVcpus', 1024 if virttype == 'kvm' else 16)

    def baselineCPU(self, cpus, flags):
        assert flags == libvirt.VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES
        return self._answer('baselineCPU', "<cpu><model>Cooperlake</model><feature policy='require' name='vmx'/>"
                                           "<feature policy='require' name='aes'/>"
                                           "<feature policy='disable' name='rtm'/></cpu>")

    def listAllDomains(self, flags):
        running = flags == libvirt.VIR_CONNECT_LIST_DOMAINS_RUNNING
        return self._answer('listAllDomains', ['d1', 'd2'] if running else ['d3'] if flags == 64 else [])

    def listAllStoragePools(self, flags):
        return self._answer('listAllStoragePools', ['p'])

    def listAllNetworks(self, flags):
        return self._answer('listAllNetworks', [] if flags == libvirt.VIR_CONNECT_LIST_NETWORKS_ACTIVE else ['n'])

    def listAllDevices(self, flags):
        return self._answer('listAllDevices', [])


class Recorder:
    def __init__(self):
        self.warnings = []

    def __call__(self, msg):
        self.warnings.append(msg)


def _fake_gather(make_ctx, virt, gather_option=None, sysfs='/nonexistent-sysfs', dev_kvm='/nonexistent-kvm'):
    ctx = make_ctx(Connection(virt.uri, virconnect=virt), {'gather': gather_option})
    ctx.warn = Recorder()
    return _node_info.gather(ctx, sysfs=sysfs, dev_kvm=dev_kvm), ctx.warn.warnings


def test_gather_fake_qemu(make_ctx):
    result, warnings = _fake_gather(make_ctx, FakeQemu())
    assert warnings == [] and result['unavailable'] == []
    assert result['host']['hypervisor_version'] == '7.2.22'
    cpu = result['cpu']
    assert cpu['model'] == 'Cascadelake-Server-noTSX' and cpu['flags'] == ['aes', 'vmx']
    assert cpu['host_model']['model'] == 'Cascadelake-Server'
    assert result['memory'] == {'total': 5082 * 1024 * 1024, 'free': 4773642240,
                                'stats': {'total': 5204184 * 1024, 'free': 4558436 * 1024,
                                          'buffers': 6804 * 1024, 'cached': 324384 * 1024}}
    cell = result['numa']['cells'][0]
    assert cell['free_memory'] == 4773642240 and cell['cpu_count'] == 2
    assert cell['distances'] == [{'cell': 0, 'value': 10}]
    assert cell['pages'][0] == {'size_kib': 4, 'size': 4096, 'total': 1301046, 'free': 1165440, 'huge': False}
    assert cell['pages'][1] == {'size_kib': 2048, 'size': 2097152, 'total': 0, 'free': 0, 'huge': True}
    caps = result['capabilities']
    assert caps['host_uuid'] == 'c9eee16f-e0b9-4ddb-8c29-4d5a0e6156d6'
    assert caps['kvm']['available'] is True and caps['kvm']['message'] is None
    assert caps['kvm']['nested'] is None  # no kvm_intel/kvm_amd in the fake sysfs, host-model silent
    assert caps['uefi']['available'] is True
    assert caps['max_vcpus'] == {'machine': 255, 'hypervisor': 1024}
    assert caps['domain_capabilities']['domain_type'] == 'kvm'
    assert result['counts']['vms'] == {'total': 3, 'running': 2, 'paused': 0, 'shutoff': 1, 'other': 0}
    assert result['counts']['networks'] == {'total': 1, 'active': 0, 'inactive': 1}
    assert result['devices']['total'] == 0


def test_nested_and_device_from_local_files(make_ctx, tmp_path):
    params = tmp_path / 'module' / 'kvm_intel' / 'parameters'
    params.mkdir(parents=True)
    (params / 'nested').write_text('Y\n')
    dev_kvm = tmp_path / 'kvm'
    dev_kvm.write_text('')
    files = dict(sysfs=str(tmp_path), dev_kvm=str(dev_kvm))
    result, _warnings = _fake_gather(make_ctx, FakeQemu(), ['capabilities'], **files)
    assert result['capabilities']['kvm']['nested'] is True and result['capabilities']['kvm']['device'] is True
    result, _warnings = _fake_gather(make_ctx, FakeQemu(), ['capabilities'])
    assert result['capabilities']['kvm']['nested'] is None and result['capabilities']['kvm']['device'] is False
    # a remote URI never reads this machine's files
    result, _warnings = _fake_gather(make_ctx, FakeQemu(uri='qemu+ssh://kvm1/system'), ['capabilities'], **files)
    assert result['host']['local'] is False
    assert result['capabilities']['kvm']['nested'] is None and result['capabilities']['kvm']['device'] is None


def test_nested_from_remote_host_model(make_ctx):
    class NestedQemu(FakeQemu):
        def getDomainCapabilities(self, emulator, arch, machine, virttype, flags):
            text = FakeQemu.getDomainCapabilities(self, emulator, arch, machine, virttype, flags)
            return text.replace("<feature policy='require' name='ss'/>",
                                "<feature policy='require' name='ss'/><feature policy='require' name='vmx'/>")
    result, _warnings = _fake_gather(make_ctx, NestedQemu(uri='qemu+ssh://kvm1/system'), ['capabilities'])
    assert result['capabilities']['kvm']['nested'] is True


def test_kvm_refused_falls_back_to_qemu(make_ctx):
    refused = LibvirtFailure("KVM is not supported by '/usr/bin/qemu-system-x86_64'", libvirt.VIR_ERR_CONFIG_UNSUPPORTED)
    virt = FakeQemu(fail={'getDomainCapabilities:kvm': refused})
    result, warnings = _fake_gather(make_ctx, virt, ['capabilities'])
    kvm = result['capabilities']['kvm']
    assert kvm['available'] is False and 'KVM is not supported' in kvm['message']
    assert result['capabilities']['domain_capabilities']['domain_type'] == 'qemu'
    assert warnings == [] and result['unavailable'] == []


def test_unsupported_calls_are_null_without_warnings(make_ctx):
    unsupported = LibvirtFailure('this function is not supported by the connection driver', libvirt.VIR_ERR_NO_SUPPORT)
    virt = FakeQemu(fail=dict((name, unsupported) for name in (
        'getHostname', 'getMemoryStats', 'getFreePages', 'getCellsFreeMemory', 'baselineCPU', 'listAllDevices',
        'getDomainCapabilities:kvm')))
    result, warnings = _fake_gather(make_ctx, virt)
    assert warnings == []
    assert result['host']['hostname'] is None
    assert result['memory']['stats'] is None
    assert result['cpu']['flags'] is None and result['cpu']['host_model'] is None
    assert result['numa']['cells'][0]['free_memory'] is None
    assert result['devices'] is None
    assert result['capabilities']['kvm']['available'] is True  # offered in the capabilities; no API to ask more
    assert sorted(u['key'] for u in result['unavailable']) == [
        'cpu.flags', 'devices', 'domain_capabilities', 'host.hostname', 'memory.stats',
        'numa.cells.free_memory', 'numa.cells.pages.free']


def test_other_errors_are_null_with_a_warning(make_ctx):
    denied = LibvirtFailure('access denied', libvirt.VIR_ERR_OPERATION_DENIED)
    result, warnings = _fake_gather(make_ctx, FakeQemu(fail={'getMemoryStats': denied}), ['memory'])
    assert result['memory']['stats'] is None
    assert warnings == ['memory.stats on qemu:///system: access denied']
    assert result['unavailable'] == [{'key': 'memory.stats', 'reason': 'access denied'}]


def test_bugs_are_not_hidden_as_unavailable(make_ctx):
    with pytest.raises(TypeError):
        _fake_gather(make_ctx, FakeQemu(fail={'getMemoryStats': TypeError('a bug')}), ['memory'])


def test_uri_failure_keeps_the_given_uri(make_ctx):
    denied = LibvirtFailure('access denied', libvirt.VIR_ERR_OPERATION_DENIED)
    result, warnings = _fake_gather(make_ctx, FakeQemu(fail={'getURI': denied}), ['counts'])
    assert result['host']['uri'] == 'qemu:///system'
    assert warnings == ['host.uri on qemu:///system: access denied']


def test_capabilities_failure_fails_with_the_uri(make_ctx):
    broken = libvirt.libvirtError('capabilities exploded')
    with pytest.raises(VmcatError) as failed:
        _fake_gather(make_ctx, FakeQemu(fail={'getCapabilities': broken}), ['cpu'])
    assert 'qemu:///system' in failed.value.msg and 'capabilities' in failed.value.msg


def test_sections_not_asked_for_are_not_read(make_ctx):
    virt = FakeQemu()
    _fake_gather(make_ctx, virt, ['counts'])
    assert 'getCapabilities' not in virt.calls and 'listAllDevices' not in virt.calls
