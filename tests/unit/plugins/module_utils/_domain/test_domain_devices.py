# -*- coding: utf-8 -*-
"""Disks, NICs and graphics: identity, in-place merge, purge, builders."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _devices as devices
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _graphics as graphics
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _nics as nics
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _options as options
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput
from ansible_collections.vmcat.libvirt.tests.unit.helpers import fixture_text

DOMAIN = fixture_text('domain_devices.xml')


def root():
    return _xml.parse(DOMAIN)


def apply(r, purge_disks=False, purge_nics=False, **params):
    full = dict.fromkeys(options.NAMES)
    full.update(params)
    return options.apply_options(r, full, options.Env(purge_disks=purge_disks, purge_nics=purge_nics))


# -- disks ---------------------------------------------------------------------------------
def test_read_disks():
    disks = devices.read_disks(root())
    assert disks[0]['path'] == '/images/a.qcow2' and disks[0]['cache'] == 'none' and disks[0]['serial'] == 'A1'
    assert disks[1] == {'target': 'hdc', 'device': 'cdrom', 'bus': 'ide', 'pool': None, 'volume': None, 'path': None,
                        'format': 'raw', 'cache': None, 'io': None, 'discard': None, 'readonly': True,
                        'serial': None, 'boot_order': None}


def test_disk_changed_in_place_keeps_address_and_unset_keys():
    r = root()
    apply(r, disks=[{'target': 'vda', 'discard': 'unmap', 'boot_order': 1}])
    el = devices.disk_elements(r)['vda']
    assert el.find('address').get('slot') == '0x05'
    view = devices.read_disk(el)
    assert (view['discard'], view['cache'], view['serial'], view['boot_order']) == ('unmap', 'none', 'A1', 1)
    assert el.find('backingStore') is not None  # source untouched


def test_disk_new_source_replaces_backing_store_and_type():
    r = root()
    apply(r, disks=[{'target': 'vda', 'pool': 'images', 'volume': 'b.qcow2', 'format': 'qcow2'}])
    el = devices.disk_elements(r)['vda']
    assert el.get('type') == 'volume' and el.find('backingStore') is None
    assert devices.read_disk(el)['pool'] == 'images' and devices.read_disk(el)['path'] is None
    apply(r, disks=[{'target': 'vda', 'path': '/dev/vg0/data'}])
    el = devices.disk_elements(r)['vda']
    assert el.get('type') == 'block' and el.find('source').get('dev') == '/dev/vg0/data'


def test_cdrom_media_in_an_empty_drive():
    r = root()
    apply(r, disks=[{'target': 'hdc', 'pool': 'isos', 'volume': 'debian.iso'}])
    view = devices.read_disk(devices.disk_elements(r)['hdc'])
    assert (view['pool'], view['volume'], view['readonly'], view['device']) == ('isos', 'debian.iso', True, 'cdrom')


def test_new_disk_defaults():
    r = root()
    apply(r, disks=[{'target': 'sdb', 'path': '/images/x.raw'}, {'target': 'hdd', 'device': 'cdrom'}])
    sdb = devices.read_disk(devices.disk_elements(r)['sdb'])
    assert (sdb['bus'], sdb['format'], sdb['device'], sdb['readonly']) == ('scsi', 'raw', 'disk', False)
    assert r.find("devices/controller[@type='scsi']").get('model') == 'virtio-scsi'
    hdd = devices.read_disk(devices.disk_elements(r)['hdd'])
    assert (hdd['bus'], hdd['device'], hdd['readonly'], hdd['path']) == ('ide', 'cdrom', True, None)
    # new disks go after the last disk
    assert [el.tag for el in r.find('devices')][:4] == ['disk', 'disk', 'disk', 'disk']


def test_unlisted_disks_stay_unless_purged():
    r = root()
    apply(r, disks=[{'target': 'vda'}])
    assert sorted(devices.disk_elements(r)) == ['hdc', 'vda']
    apply(r, disks=[{'target': 'vda'}], purge_disks=True)
    assert sorted(devices.disk_elements(r)) == ['vda']


@pytest.mark.parametrize('disks, message', [
    ([{'target': 'vda'}, {'target': 'vda'}], 'more than once'),
    ([{'target': 'disk1'}], 'not a device name'),
    ([{'target': 'hda', 'bus': 'virtio'}], 'needs a target named vdX'),
    ([{'target': 'vdb', 'pool': 'p'}], 'pool and volume go together'),
    ([{'target': 'vdb', 'pool': 'p', 'volume': 'v', 'path': '/x'}], 'give one source'),
    ([{'target': 'vdb', 'path': 'relative.img'}], 'absolute path'),
    ([{'target': 'vdb', 'path': '/x', 'create': {'pool': 'p', 'name': 'n'}}], 'give one source'),
])
def test_bad_disks(disks, message):
    with pytest.raises(InvalidInput) as err:
        apply(root(), disks=disks)
    assert message in str(err.value)


def test_create_becomes_pool_and_volume():
    r = root()
    wanted = apply(r, disks=[{'target': 'vdb', 'create': {'pool': 'p', 'name': 'n.qcow2'}, 'format': 'qcow2'}])
    assert wanted['disks'][0]['pool'] == 'p' and wanted['disks'][0]['volume'] == 'n.qcow2'
    assert devices.read_disk(devices.disk_elements(r)['vdb'])['volume'] == 'n.qcow2'


# -- NICs ----------------------------------------------------------------------------------
def test_nics_match_by_mac_then_source_in_order():
    r = root()
    elements = nics.nic_elements(r)
    wanted = [{'network': 'lab'}, {'mac': '52:54:00:00:00:01'}, {'network': 'lab'}, {'bridge': 'br1'}]
    pairs = nics.match_nics(elements, wanted)
    assert [el is None and 'new' or nics.read_nic(el)['mac'] for nic, el in pairs] == \
        ['52:54:00:00:00:03', '52:54:00:00:00:01', 'new', 'new']


def test_nic_link_and_model_in_place():
    r = root()
    apply(r, nics=[{'mac': '52:54:00:00:00:02', 'link_state': 'up', 'model': 'virtio'}])
    view = nics.read_nics(r)[1]
    assert (view['link_state'], view['model'], view['bridge']) == ('up', 'virtio', 'br0')
    assert len(nics.read_nics(r)) == 3


def test_new_nic_without_mac_and_purge():
    r = root()
    apply(r, nics=[{'network': 'lab'}, {'network': 'other', 'link_state': 'down'}], purge_nics=True)
    found = nics.read_nics(r)
    assert [(n['mac'], n['network'], n['link_state']) for n in found] == [
        ('52:54:00:00:00:01', 'lab', 'up'), (None, 'other', 'down')]
    assert nics.nic_elements(r)[1].find('model').get('type') == 'virtio'


def test_nic_moves_to_another_network():
    r = root()
    apply(r, nics=[{'mac': '52:54:00:00:00:02', 'network': 'lab'}])
    el = nics.nic_elements(r)[1]
    assert el.get('type') == 'network' and nics.read_nic(el)['network'] == 'lab'


@pytest.mark.parametrize('nics, message', [
    ([{'mac': 'nonsense', 'network': 'lab'}], 'not a MAC address'),
    ([{'mac': '01:00:5e:00:00:01', 'network': 'lab'}], 'multicast'),
    ([{'mac': '52:54:00:00:00:09', 'network': 'a'}, {'mac': '52:54:00:00:00:09', 'network': 'b'}], 'more than once'),
    ([{'network': 'lab', 'bridge': 'br0'}], 'not both'),
    ([{'model': 'virtio'}], 'give network or bridge'),
])
def test_bad_nics(nics, message):
    with pytest.raises(InvalidInput) as err:
        apply(root(), nics=nics)
    assert message in str(err.value)


def test_mac_is_normalised():
    assert nics.mac_text('52-54-00-AB-CD-EF') == '52:54:00:ab:cd:ef'


# -- graphics --------------------------------------------------------------------------------
def test_graphics_password_only_changes_the_password():
    r = root()
    apply(r, graphics=[{'type': 'vnc', 'password': 'new'}])
    el = graphics.graphics_elements(r)[0]
    assert el.get('passwd') == 'new' and el.get('port') == '5901'


def test_graphics_replaced_list():
    r = root()
    apply(r, graphics=[{'type': 'spice', 'listen': '0.0.0.0'}])
    assert [g['type'] for g in graphics.read_graphics(r)] == ['spice']
    assert graphics.read_graphics(r)[0]['autoport'] is True
    apply(r, graphics=[])
    assert graphics.read_graphics(r) == []


def test_graphics_autoport_ignores_a_fed_back_port():
    current = {'type': 'vnc', 'listen': '127.0.0.1', 'socket': None, 'autoport': True, 'port': None, 'password': None}
    item = dict(current, port=5905)
    assert graphics.normalise_graphics(item, current) == current


def test_graphics_from_port_to_autoport_and_socket():
    r = root()
    apply(r, graphics=[{'type': 'vnc', 'autoport': True}])
    view = graphics.read_graphics(r)[0]
    assert (view['autoport'], view['port'], view['listen']) == (True, None, '127.0.0.1')
    apply(r, graphics=[{'type': 'vnc', 'socket': '/run/vnc.sock'}])
    view = graphics.read_graphics(r)[0]
    assert (view['socket'], view['listen'], view['autoport']) == ('/run/vnc.sock', None, None)


def test_strip_runtime():
    el = nics.nic_elements(root())[0]
    stripped = devices.strip_runtime(el)
    assert stripped.find('address') is None and el.find('address') is not None


def test_devices_accepted_by_libvirt(conn):
    r = options.new_definition('vmcat-unit-devices', 'test', 'i686')
    apply(r, memory='64M',
          disks=[{'target': 'vda', 'path': '/guest/diskimage1', 'cache': 'none', 'io': 'native', 'discard': 'unmap',
                  'serial': 'S1', 'boot_order': 1},
                 {'target': 'hdc', 'device': 'cdrom'}],
          nics=[{'network': 'default', 'mac': '52:54:00:01:02:04', 'link_state': 'down'}],
          graphics=[{'type': 'vnc', 'port': 5910, 'listen': '127.0.0.1'}], boot=[])
    dom = conn.virt.defineXML(_xml.to_string(r))
    try:
        stored = _xml.parse(dom.XMLDesc(1 | 2))
        for name in ('disks', 'nics', 'graphics'):
            assert options.view(stored)[name] == options.view(r)[name], name
    finally:
        dom.undefine()
