# -*- coding: utf-8 -*-
"""clone_to_vm and to_template on fakes: overlays on the frozen images, the clone's definition, idempotency."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._snapshot import _snapshot
from ansible_collections.vmcat.libvirt.plugins.module_utils._snapshot import _tree
from ansible_collections.vmcat.libvirt.plugins.module_utils._snapshot import _clone as sc
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput, Refused, VmcatError
from ansible_collections.vmcat.libvirt.tests.unit.fakes.volume import FakeVol
from ansible_collections.vmcat.libvirt.tests.unit.fakes.snapshot import (
    FakeConn,
    context,
    external_vm,
    snapshot_xml,
)

LIVE_DEVICES = '''
<disk type="file" device="cdrom"><driver name="qemu" type="raw"/><source file="/img/seed.iso" index="3"/>
  <target dev="hdc" bus="ide"/><readonly/><alias name="ide0-1-0"/></disk>
<interface type="network"><mac address="52:54:00:aa:bb:cc"/>
  <source network="lan" portid="8a1c2b3d-0000-4000-8000-000000000001" bridge="virbr1"/>
  <target dev="vnet3"/><model type="virtio"/><alias name="net0"/></interface>
<serial type="pty"><source path="/dev/pts/3"/><target port="0"/><alias name="serial0"/></serial>
<console type="pty" tty="/dev/pts/3"><source path="/dev/pts/3"/><target type="serial" port="0"/></console>
<channel type="unix"><source mode="bind" path="/var/lib/libvirt/qemu/channel/target/domain-5-vm/org.qemu.guest_agent.0"/>
  <target type="virtio" name="org.qemu.guest_agent.0" state="connected"/><alias name="channel0"/></channel>
<graphics type="vnc" port="5900" autoport="yes" listen="127.0.0.1"><listen type="address" address="127.0.0.1"/></graphics>
<memballoon model="virtio"><alias name="ua-balloon"/></memballoon>
<parallel type="file"><source path="/var/log/vm-parallel.log"/><target port="0"/></parallel>
<channel type="file"><source path="/var/log/port.out"/><target type="virtio" name="dump"/>
  <log file="/var/log/vm/port.log"/></channel>
'''


def _vm_with_devices(conn):
    dom = conn.new_dom('vm', [('vda', '/img/vm.qcow2', 'qcow2'), ('vdb', '/img/data.qcow2', 'qcow2')],
                       extra_devices=LIVE_DEVICES)
    root = _xml.parse(dom.xml)
    root.set('id', '5')
    _xml.sub(_xml.ensure(root, 'os'), 'nvram', '/var/lib/libvirt/qemu/nvram/vm_VARS.fd')
    saved = _xml.to_string(root)
    dom.add('x1', snapshot_xml('x1', 'external', saved, None, 100, {'vda': '/img/vm.x1'}), current=True)  # vdb left out
    return dom


def test_clone_definition_is_a_new_vm_on_the_overlays():
    conn = FakeConn()
    dom = _vm_with_devices(conn)
    tree = _tree.Tree(conn, dom)
    domain = sc._saved_domain(tree, tree.info['x1'])
    root, skipped = sc.clone_definition(domain, 'copy', {'vda': '/pool/copy-vda.qcow2'}, 'vm', 'x1')
    assert skipped == ['vdb']
    assert _xml.text_of(root, 'name') == 'copy' and root.find('uuid') is None and root.get('id') is None
    assert root.find('os/nvram') is None
    disks = root.findall('devices/disk')
    assert [_xml.attr_of(d, 'target', 'dev') for d in disks] == ['vda', 'hdc']
    assert disks[0].get('type') == 'file' and _xml.attr_of(disks[0], 'source', 'file') == '/pool/copy-vda.qcow2'
    assert _xml.attr_of(disks[0], 'driver', 'type') == 'qcow2' and disks[0].find('backingStore') is None
    assert disks[1].find('source').get('index') is None and disks[1].find('alias') is None
    iface = root.find('devices/interface')
    assert iface.find('mac') is None and iface.find('target') is None
    assert iface.find('source').attrib == {'network': 'lan'}
    assert root.find('devices/serial/source').get('path') is None
    assert root.find('devices/console').get('tty') is None
    assert root.find('devices/channel/source').attrib == {'mode': 'bind'}
    assert _xml.attr_of(root, 'devices/parallel/source', 'path') == '/var/log/copy-parallel.log'
    assert _xml.attr_of(root, 'devices/channel[@type="file"]/source', 'path') == '/var/log/copy-port.out'
    assert _xml.attr_of(root, 'devices/channel[@type="file"]/log', 'file') == '/var/log/vm/copy-port.log'
    assert root.find('devices/graphics').get('port') is None
    assert _xml.attr_of(root, 'devices/memballoon/alias', 'name') == 'ua-balloon'  # user aliases stay
    mark = root.find('metadata/{%s}clone' % sc.CLONE_NS)
    assert mark.get('vm') == 'vm' and mark.get('snapshot') == 'x1'


def test_clone_four_ways():
    conn = FakeConn()
    pool = conn.new_pool('images', '/pool')
    base_vol = FakeVol(pool, 'vm.qcow2', '/img/vm.qcow2', capacity=22 << 20)
    pool.vols.append(base_vol)
    _vm_with_devices(conn)
    spec = dict(name='copy', pool='images')

    ctx = context(conn, check_mode=True, name='x1', clone_to_vm=spec)
    outcome = _snapshot.ensure(ctx)
    assert outcome.changed and conn.calls == []
    assert ctx.actions == ['create volume copy-vda.qcow2', 'define VM copy']
    assert outcome.extra['clone'] == {
        'name': 'copy', 'from': {'vm': 'vm', 'snapshot': 'x1'}, 'skipped_disks': ['vdb'],
        'disks': [{'target': 'vda', 'pool': 'images', 'volume': 'copy-vda.qcow2', 'path': '/pool/copy-vda.qcow2',
                   'base': '/img/vm.qcow2'}]}

    ctx = context(conn, name='x1', clone_to_vm=spec)
    applied = _snapshot.ensure(ctx)
    assert applied.changed and applied.before == applied.after  # the snapshot itself did not change
    created = [c for c in conn.calls if c[0] == 'create volume']
    vol = _xml.parse(created[0][1])
    assert _xml.text_of(vol, 'backingStore/path') == '/img/vm.qcow2'
    assert _xml.attr_of(vol, 'backingStore/format', 'type') == 'qcow2'
    assert _xml.int_of(vol, 'capacity') == 22 << 20
    assert conn.domain('copy') is not None

    for check_mode in (True, False):
        conn.calls[:] = []
        ctx = context(conn, check_mode=check_mode, name='x1', clone_to_vm=spec)
        again = _snapshot.ensure(ctx)
        assert not again.changed and conn.calls == [] and ctx.actions == []
        assert again.extra['clone']['disks'][0]['volume'] == 'copy-vda.qcow2'
        assert again.extra['clone']['disks'][0]['base'] == '/img/vm.qcow2'


def test_clone_failure_midway_leaves_no_volume():
    conn = FakeConn()
    pool = conn.new_pool('images', '/pool')
    _vm_with_devices(conn)
    conn.virt.fail_define = True
    with pytest.raises(VmcatError) as failed:
        _snapshot.ensure(context(conn, name='x1', clone_to_vm=dict(name='copy', pool='images')))
    assert "could not define VM 'copy'" in str(failed.value)
    assert pool.vols == [] and ('delete volume', 'copy-vda.qcow2') in conn.calls


def test_clone_refusals():
    conn = FakeConn()
    conn.new_pool('images', '/pool')
    conn.new_pool('lvm', '/dev/vg', ptype='logical')
    external_vm(conn, ('x1',))
    other = conn.new_dom('taken', [('vda', '/img/t.qcow2', 'qcow2')])
    with pytest.raises(Refused) as failed:
        _snapshot.ensure(context(conn, name='x1', clone_to_vm=dict(name='taken', pool='images')))
    assert "VM 'taken' already exists on qemu:///fake and is not a clone of snapshot 'x1'" in str(failed.value)
    assert other is conn.domain('taken')
    with pytest.raises(InvalidInput) as failed:
        _snapshot.ensure(context(conn, name='x1', clone_to_vm=dict(name='c', pool='lvm')))
    assert 'needs a directory pool' in str(failed.value)
    conn.pool('images').vols.append(FakeVol(conn.pool('images'), 'c-vda.qcow2', '/pool/c-vda.qcow2'))
    with pytest.raises(Refused) as failed:
        _snapshot.ensure(context(conn, name='x1', clone_to_vm=dict(name='c', pool='images')))
    assert "volume 'c-vda.qcow2' already exists in pool 'images'" in str(failed.value)


@pytest.mark.parametrize('name, rule', [('..', "must not be '.' or '..'"), ('.clone', "must not start with '.'"),
                                        ('c' * 300, 'must not be longer than 200 bytes')])
@pytest.mark.parametrize('check_mode', [True, False])
def test_a_bad_clone_name_is_refused_before_the_snapshot_is_taken(name, rule, check_mode):
    conn = FakeConn()
    conn.new_pool('images', '/pool')
    dom = external_vm(conn, ('x1',))
    snapshots = list(dom.snaps)
    ctx = context(conn, check_mode=check_mode, name='x2', kind='external', clone_to_vm=dict(name=name, pool='images'))
    with pytest.raises(InvalidInput) as failed:
        _snapshot.ensure(ctx)
    assert str(failed.value).startswith('VM name %r on qemu:///fake is not valid: ' % name)
    assert rule in str(failed.value)
    assert conn.calls == [] and ctx.actions == [] and list(dom.snaps) == snapshots


def test_clone_of_an_internal_snapshot_is_refused():
    conn = FakeConn()
    conn.new_pool('images', '/pool')
    dom = conn.new_dom('vm', [('vda', '/img/vm.qcow2', 'qcow2')])
    dom.add('s1', snapshot_xml('s1', 'internal', dom.xml), current=True)
    for key, what in (('clone_to_vm', 'a VM'), ('to_template', 'a template')):
        with pytest.raises(Refused) as failed:
            _snapshot.ensure(context(conn, name='s1', **{key: dict(name='c', pool='images')}))
        assert "snapshot 's1' of VM 'vm' on qemu:///fake is internal and cannot become %s" % what in str(failed.value)


def test_new_snapshot_and_clone_predicted_together_in_check_mode():
    conn = FakeConn()
    conn.new_pool('images', '/pool')
    conn.new_dom('vm', [('vda', '/img/vm.qcow2', 'qcow2')])
    ctx = context(conn, check_mode=True, name='n', kind='external', clone_to_vm=dict(name='c', pool='images'))
    outcome = _snapshot.ensure(ctx)
    assert ctx.actions == ['create external snapshot', 'create volume c-vda.qcow2', 'define VM c'] and conn.calls == []
    assert outcome.extra['clone']['disks'][0]['base'] == '/img/vm.qcow2'


def test_to_template_copies_the_frozen_image(monkeypatch):
    from ansible_collections.vmcat.libvirt.plugins.module_utils._template import _template
    seen = {}

    class Result:
        changed = True
        after = {'name': 'golden'}

    def fake_ensure(sub):
        seen['params'] = sub.params
        sub.act('copy', lambda: None)
        return Result()

    monkeypatch.setattr(_template, 'find_template', lambda conn, name: None)
    monkeypatch.setattr(_template, 'ensure', fake_ensure)
    conn = FakeConn()
    external_vm(conn, ('x1', 'x2'))
    ctx = context(conn, name='x2', to_template=dict(name='golden', pool='images', description='d', tags=['a']))
    outcome = _snapshot.ensure(ctx)
    assert outcome.changed and outcome.extra['template'] == {'name': 'golden'}
    params = seen['params']
    assert params['source']['path'] == '/img/vm.x1' and params['pool'] == 'images'
    assert params['description'] == 'd' and params['tags'] == ['a'] and params['state'] == 'present'
    assert ctx.actions == ["template 'golden': copy"]
    monkeypatch.setattr(_template, 'find_template', lambda conn, name: ('pool', 'vol', {}))
    _snapshot.ensure(context(conn, name='x2', to_template=dict(name='golden', pool='images')))
    assert seen['params']['source'] is None  # an existing template only gets its metadata updated
    with pytest.raises(InvalidInput) as failed:
        _snapshot.ensure(context(conn, name='x2', to_template=dict(name='golden', pool='images', disk='vdz')))
    assert 'saved no external image of disk vdz' in str(failed.value)
