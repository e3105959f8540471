# -*- coding: utf-8 -*-
"""The option table: every option's XML round trip, normalisation, and the partial-edit rules."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _options as options
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput
from ansible_collections.vmcat.libvirt.tests.unit.helpers import fixture_text

MIB = 1024 * 1024

BASE = fixture_text('domain_options.xml')


def base():
    return _xml.parse(BASE)


def env(**kw):
    return options.Env(**kw)


def test_view_reads_every_option():
    view = options.view(base())
    assert set(view) == set(options.NAMES)
    assert view['virt_type'] == 'qemu' and view['arch'] == 'x86_64' and view['machine'] == 'pc-i440fx-7.2'
    assert view['firmware'] == 'bios' and view['kernel'] is None and view['boot'] == ['hd']
    assert (view['vcpus'], view['max_vcpus']) == (1, 2)
    assert (view['memory'], view['max_memory']) == (256 * MIB, 512 * MIB)
    assert view['cpu'] == {'mode': 'custom', 'model': 'qemu64', 'topology': None}
    assert (view['title'], view['description'], view['tags'], view['metadata']) == (None, None, [], {})
    assert (view['on_poweroff'], view['on_reboot'], view['on_crash']) == ('destroy', 'restart', 'destroy')
    assert view['disks'] == [
        {'target': 'vda', 'device': 'disk', 'bus': 'virtio', 'pool': None, 'volume': None,
         'path': '/var/lib/libvirt/images/web1.qcow2', 'format': 'qcow2', 'cache': None,
         'io': None, 'discard': None, 'readonly': False, 'serial': None, 'boot_order': None}]
    assert view['nics'] == [
        {'mac': '52:54:00:aa:bb:01', 'network': 'lab', 'bridge': None, 'model': 'virtio', 'link_state': 'up'}]
    assert view['graphics'] == [{'type': 'vnc', 'listen': '127.0.0.1', 'socket': None, 'autoport': True,
                                 'port': None, 'password': None}]
    assert view['guest_agent'] is False
    assert view['serial'] == {'type': 'pty', 'path': None}
    assert view['inputs'] == []  # the PS/2 mouse and keyboard are not listed
    assert (view['rng'], view['tpm'], view['watchdog']) == (False, False, False)


# One value per option, different from BASE: written, then read back the same.
ROUND_TRIPS = [
    ('virt_type', 'kvm', 'kvm'),
    ('arch', 'i686', 'i686'),
    ('machine', 'pc-q35-7.2', 'pc-q35-7.2'),
    ('firmware', 'uefi', 'uefi'),
    ('kernel', {'path': '/boot/vmlinuz', 'initrd': '/boot/initrd.gz', 'cmdline': 'console=ttyS0'},
     {'path': '/boot/vmlinuz', 'initrd': '/boot/initrd.gz', 'cmdline': 'console=ttyS0'}),
    ('boot', ['cdrom', 'hd', 'network'], ['cdrom', 'hd', 'network']),
    ('max_vcpus', 4, 4),
    ('vcpus', 2, 2),
    ('cpu', {'mode': 'host-passthrough', 'topology': {'sockets': 1, 'cores': 2, 'threads': 1}},
     {'mode': 'host-passthrough', 'model': None, 'topology': {'sockets': 1, 'dies': 1, 'cores': 2, 'threads': 1}}),
    ('max_memory', '1G', 1024 * MIB),
    ('memory', '384MiB', 384 * MIB),
    ('title', 'Web server', 'Web server'),
    ('description', 'Serves\nthe web', 'Serves\nthe web'),
    ('tags', ['web', 'prod', 'web'], ['prod', 'web']),
    ('metadata', {'owner': 'alice', 'n': 3, 'f': 1.5, 'on': True, 'none': None, 'list': [1, 'a', [False]],
                  'nested': {'k': {'deep': 'v'}}, 'empty': {}, 'text': ' spaced <&> '},
     {'owner': 'alice', 'n': 3, 'f': 1.5, 'on': True, 'none': None, 'list': [1, 'a', [False]],
      'nested': {'k': {'deep': 'v'}}, 'empty': {}, 'text': ' spaced <&> '}),
    ('on_poweroff', 'preserve', 'preserve'),
    ('on_reboot', 'destroy', 'destroy'),
    ('on_crash', 'coredump-restart', 'coredump-restart'),
    ('guest_agent', True, True),
    ('channels', [{'name': 'org.example.b', 'type': 'pty'}, {'name': 'org.example.a', 'path': '/run/a.sock'}],
     [{'name': 'org.example.a', 'type': 'unix', 'path': '/run/a.sock'},
      {'name': 'org.example.b', 'type': 'pty', 'path': None}]),
    ('serial', {'type': 'file', 'path': '/var/log/web1.log'}, {'type': 'file', 'path': '/var/log/web1.log'}),
    ('inputs', [{'type': 'tablet', 'bus': 'virtio'}, {'type': 'keyboard', 'bus': 'usb'}, {'type': 'tablet'}],
     [{'type': 'keyboard', 'bus': 'usb'}, {'type': 'tablet', 'bus': 'usb'}, {'type': 'tablet', 'bus': 'virtio'}]),
    ('rng', True, {'model': 'virtio', 'backend': '/dev/urandom'}),
    ('tpm', {'model': 'tpm-tis'}, {'model': 'tpm-tis', 'backend': 'emulator', 'version': '2.0', 'path': None}),
    ('watchdog', {'action': 'poweroff'}, {'model': 'i6300esb', 'action': 'poweroff'}),
    ('graphics', [{'type': 'spice', 'socket': '/run/web1.sock'}, {'type': 'vnc', 'port': 5911, 'password': 'pw'}],
     [{'type': 'vnc', 'listen': '127.0.0.1', 'socket': None, 'autoport': False, 'port': 5911, 'password': 'pw'},
      {'type': 'spice', 'listen': None, 'socket': '/run/web1.sock', 'autoport': None, 'port': None, 'password': None}]),
]


@pytest.mark.parametrize('name, value, expected', ROUND_TRIPS, ids=[r[0] for r in ROUND_TRIPS])
def test_round_trip(name, value, expected):
    root = base()
    before = options.view(root)
    params = dict.fromkeys(options.NAMES)
    params[name] = value
    options.apply_options(root, params, env())
    after = options.view(_xml.parse(_xml.to_string(root)))
    assert after[name] == expected
    # nothing else moved (the vCPU/memory pairs keep each other's value)
    for other in options.NAMES:
        if other != name and not (name == 'graphics' and other == 'graphics'):
            assert after[other] == before[other], other
    # applying the same again changes nothing
    again = copy.deepcopy(root)
    options.apply_options(again, params, env())
    assert options.view(again) == options.view(root)


def test_every_option_has_a_round_trip_case():
    covered = set(r[0] for r in ROUND_TRIPS) | {'disks', 'nics'}  # device lists: test_domain_devices
    assert covered == set(options.NAMES)


def test_unmanaged_parts_survive():
    root = base()
    params = dict.fromkeys(options.NAMES)
    params.update(memory='300M', max_memory='600M', vcpus=2, machine='pc-q35-7.2', cpu={'mode': 'host-model'})
    options.apply_options(root, params, env())
    assert root.find("devices/disk/address").get('slot') == '0x04'
    assert root.find("devices/controller[@type='usb']") is not None
    assert root.find('devices/memballoon') is not None
    assert root.find('features/acpi') is not None
    assert root.find('cpu').get('mode') == 'host-model' and root.find('cpu/model') is None
    assert root.find('cpu').get('match') is None


def test_raising_max_vcpus_alone_keeps_the_vcpus():
    root = _xml.parse("<domain type='qemu'><name>a</name><memory unit='KiB'>65536</memory><vcpu>2</vcpu>"
                      "<os><type>hvm</type></os></domain>")
    params = dict.fromkeys(options.NAMES)
    params['max_vcpus'] = 4
    options.apply_options(root, params, env())
    assert (options.read_vcpus(root), options.read_max_vcpus(root)) == (2, 4)


def test_raising_max_memory_alone_keeps_the_memory():
    root = _xml.parse("<domain type='qemu'><name>a</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>"
                      "<os><type>hvm</type></os></domain>")
    params = dict.fromkeys(options.NAMES)
    params['max_memory'] = '1G'
    options.apply_options(root, params, env())
    assert (options.read_memory(root), options.read_max_memory(root)) == (256 * MIB, 1024 * MIB)


def test_memory_units_are_read_by_value():
    for text, expected in (("<memory unit='GiB'>1</memory>", 1024 * MIB), ("<memory>2048</memory>", 2 * MIB),
                           ("<memory unit='MB'>1000</memory>", 10 ** 9)):
        root = _xml.parse('<domain>%s</domain>' % text)
        assert options.read_max_memory(root) == expected
        assert options.read_memory(root) == expected


@pytest.mark.parametrize('name, value, message', [
    ('memory', '100.5M', 'whole number of MiB'),
    ('memory', '1M', 'too small'),
    ('memory', 'lots', 'not a size'),
    ('vcpus', 0, 'at least 1'),
    ('boot', ['hd', 'floppy'], 'not one of'),
    ('boot', ['hd', 'hd'], 'more than once'),
    ('kernel', {'initrd': '/x'}, 'kernel.path'),
    ('kernel', {'path': 'vmlinuz'}, 'absolute'),
    ('cpu', {'mode': 'host-passthrough', 'model': 'EPYC'}, 'applies to cpu.mode custom'),
    ('cpu', {'mode': 'host-model', 'model': 'EPYC'}, 'applies to cpu.mode custom'),
    ('tags', ['ok', ' '], 'empty'),
    ('metadata', {'when': object()}, 'cannot be kept'),
    ('rng', 'maybe', 'true, false or a dict'),
    ('rng', {'backend': 'urandom'}, 'random device'),
    ('tpm', {'backend': 'passthrough'}, 'needs path'),
    ('tpm', {'colour': 'red'}, 'unknown keys'),
    ('watchdog', {'action': 'explode'}, 'watchdog.action'),
    ('inputs', [{'type': 'tablet', 'bus': 'usb'}, {'type': 'tablet'}], 'lists a usb tablet twice'),
    ('serial', {'type': 'file'}, 'absolute path'),
    ('serial', {'type': 'pty', 'path': '/x'}, 'type file only'),
    ('graphics', [{'type': 'vnc', 'socket': '/s', 'listen': '0.0.0.0'}], 'socket excludes'),
    ('graphics', [{'type': 'vnc', 'port': 80}], 'outside 5900-65535'),
    ('graphics', [{'type': 'vnc', 'password': '123456789'}], 'at most 8 characters'),
])
def test_bad_values_are_refused(name, value, message):
    params = dict.fromkeys(options.NAMES)
    params[name] = value
    with pytest.raises(InvalidInput) as err:
        options.apply_options(base(), params, env())
    assert message in str(err.value)


def test_inputs_replace_the_managed_devices_and_leave_ps2_and_passthrough_alone():
    root = _xml.parse(BASE.replace("<memballoon", "<input type='tablet' bus='usb'><address type='usb' bus='0' port='1'/>"
                                   "</input><input type='passthrough' bus='virtio'><source evdev='/dev/input/event1'/>"
                                   "</input><memballoon"))
    assert options.view(root)['inputs'] == [{'type': 'tablet', 'bus': 'usb'}]
    params = dict.fromkeys(options.NAMES)
    params['inputs'] = [{'type': 'mouse', 'bus': 'virtio'}]
    options.apply_options(root, params, env())
    assert [(el.get('type'), el.get('bus')) for el in root.findall('devices/input')] == [
        ('mouse', 'ps2'), ('keyboard', 'ps2'), ('passthrough', 'virtio'), ('mouse', 'virtio')]
    params['inputs'] = []
    options.apply_options(root, params, env())
    assert [(el.get('type'), el.get('bus')) for el in root.findall('devices/input')] == [
        ('mouse', 'ps2'), ('keyboard', 'ps2'), ('passthrough', 'virtio')]


def test_custom_mode_needs_a_model():
    root = _xml.parse("<domain><cpu mode='host-model'/></domain>")
    params = dict.fromkeys(options.NAMES)
    params['cpu'] = {'mode': 'custom'}
    with pytest.raises(InvalidInput, match='needs cpu.model'):
        options.apply_options(root, params, env())


def test_custom_model_implies_custom_mode_and_keeps_topology():
    root = base()
    params = dict.fromkeys(options.NAMES)
    params['cpu'] = {'mode': 'host-passthrough', 'topology': {'sockets': 2, 'cores': 1, 'threads': 1}}
    options.apply_options(root, params, env())
    params['cpu'] = {'model': 'EPYC'}
    options.apply_options(root, params, env())
    assert options.read_cpu(root) == {'mode': 'custom', 'model': 'EPYC',
                                      'topology': {'sockets': 2, 'dies': 1, 'cores': 1, 'threads': 1}}


def test_kernel_partial_and_removal():
    root = base()
    params = dict.fromkeys(options.NAMES)
    params['kernel'] = {'path': '/k', 'initrd': '/i', 'cmdline': 'quiet'}
    options.apply_options(root, params, env())
    params['kernel'] = {'cmdline': 'console=ttyS0', 'initrd': ''}
    options.apply_options(root, params, env())
    assert options.read_kernel(root) == {'path': '/k', 'initrd': None, 'cmdline': 'console=ttyS0'}
    assert [el.tag for el in root.find('os')] == ['type', 'kernel', 'cmdline', 'boot']
    params['kernel'] = {'path': ''}
    options.apply_options(root, params, env())
    assert options.read_kernel(root) is None and root.find('os/kernel') is None


def test_firmware_bios_drops_loader_and_nvram():
    root = _xml.parse("<domain><os firmware='efi'><type>hvm</type><loader readonly='yes' type='pflash'>/usr/share/OVMF/"
                      "OVMF_CODE_4M.fd</loader><nvram>/var/lib/libvirt/qemu/nvram/a_VARS.fd</nvram></os></domain>")
    assert options.read_firmware(root) == 'uefi'
    options.write_firmware(root, 'bios')
    assert options.read_firmware(root) == 'bios'
    assert root.find('os/loader') is None and root.find('os/nvram') is None and root.find('os').get('firmware') is None


def test_loader_without_firmware_attribute_reads_as_uefi():
    root = _xml.parse("<domain><os><type>hvm</type><loader readonly='yes' type='pflash'>/x/OVMF_CODE.fd</loader></os>"
                      "</domain>")
    assert options.read_firmware(root) == 'uefi'


def test_machine_alias_is_compared_by_canonical_name():
    root = base()
    params = dict.fromkeys(options.NAMES)
    params['machine'] = 'pc'
    canonical = {'pc': 'pc-i440fx-7.2', 'q35': 'pc-q35-7.2'}
    wanted = options.apply_options(root, params, env(canonical_machine=lambda name, arch: canonical.get(name, name)))
    assert wanted['machine'] == 'pc-i440fx-7.2'
    assert options.view(root) == options.view(base())


def test_machine_alias_matches_any_version_of_an_existing_vm():
    root = base()
    root.find('os/type').set('machine', 'pc-i440fx-6.2')
    params = dict.fromkeys(options.NAMES)
    canonical = {'pc': 'pc-i440fx-7.2', 'q35': 'pc-q35-7.2'}
    env_ = env(canonical_machine=lambda name, arch: canonical.get(name, name))
    params['machine'] = 'pc'
    assert options.apply_options(root, params, env_)['machine'] == 'pc-i440fx-6.2'
    params['machine'] = 'q35'
    assert options.apply_options(root, params, env_)['machine'] == 'pc-q35-7.2'
    params['machine'] = 'pc-i440fx-7.2'
    assert options.apply_options(root, params, env_)['machine'] == 'pc-i440fx-7.2'


def test_virt_type_auto():
    params = dict.fromkeys(options.NAMES)
    params['virt_type'] = 'auto'
    root = base()
    options.apply_options(root, params, env(auto_virt_type=lambda: 'kvm'))
    assert root.get('type') == 'qemu'  # an existing VM is left alone
    root = options.new_definition('n', 'qemu')
    options.apply_options(root, params, env(new=True, auto_virt_type=lambda: 'kvm'))
    assert root.get('type') == 'kvm'


def test_cpu_live_comparison_tolerates_host_model_expansion():
    config = {'mode': 'host-model', 'model': None, 'topology': None}
    live = {'mode': 'custom', 'model': 'EPYC', 'topology': None}
    assert options.same_cpu_live(live, config)
    assert not options.same_cpu_live(dict(live, topology={'sockets': 2, 'dies': 1, 'cores': 1, 'threads': 1}), config)
    assert not options.same_cpu_live({'mode': 'maximum', 'model': None, 'topology': None}, config)


def test_new_definition_is_accepted_by_libvirt(conn):
    root = options.new_definition('vmcat-unit-new', 'test', 'i686')
    params = dict.fromkeys(options.NAMES)
    params.update(memory='64M', vcpus=1, max_vcpus=2, tags=['t'], metadata={'a': 1}, title='T', description='D',
                  guest_agent=True, serial={'type': 'pty'}, rng=True, watchdog=True, on_crash='restart',
                  boot=['hd'], graphics=[{'type': 'vnc', 'listen': '127.0.0.1', 'password': 'pw'}],
                  nics=[{'network': 'default', 'mac': '52:54:00:01:02:03'}],
                  disks=[{'target': 'vda', 'path': '/guest/diskimage1', 'format': 'raw'}])
    options.apply_options(root, params, env(new=True))
    dom = conn.virt.defineXML(_xml.to_string(root))
    try:
        stored = _xml.parse(dom.XMLDesc(1 | 2))
        view = options.view(stored)
        assert view == options.view(root)
    finally:
        dom.undefine()


def test_argument_spec_has_every_option():
    spec = options.argument_spec()
    assert set(spec) == set(options.NAMES)
    assert spec['memory']['type'] == 'raw' and spec['disks']['elements'] == 'dict'
