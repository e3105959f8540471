# -*- coding: utf-8 -*-
"""Snapshot logic on fakes: external snapshots, the mixing rules, versions, deletion order, quiesce checks."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._snapshot import _snapshot
from ansible_collections.vmcat.libvirt.plugins.module_utils._snapshot import _tree
from ansible_collections.vmcat.libvirt.plugins.module_utils._snapshot import _definition as sx
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput, Refused, VmcatError
from ansible_collections.vmcat.libvirt.tests.unit.fakes.volume import FakeVol
from ansible_collections.vmcat.libvirt.tests.unit.fakes.snapshot import (
    FakeConn,
    domain_xml,
    external_vm,
    context,
    snapshot_xml,
)


def refusal(conn, **params):
    """The message of the Refused that ensure() raises for a task with ``params`` on the VM of ``conn``."""
    with pytest.raises(Refused) as failed:
        _snapshot.ensure(context(conn, **params))
    return str(failed.value)


def _internal_vm(conn, names=('s1',)):
    dom = conn.new_dom('vm', [('vda', '/img/vm.qcow2', 'qcow2')])
    parent = None
    for n, name in enumerate(names):
        dom.add(name, snapshot_xml(name, 'internal', dom.xml, parent, 100 + n), current=(n == len(names) - 1))
        parent = name
    return dom


def test_tree_descendants_deepest_first():
    conn = FakeConn()
    dom = external_vm(conn, ('a', 'b', 'c', 'd'))
    tree = _tree.Tree(conn, dom)
    assert tree.descendants('a') == ['d', 'c', 'b']
    assert tree.children('a') == ['b'] and tree.current == 'd' and tree.vm_state == 'running'
    assert tree.ordered() == ['a', 'b', 'c', 'd']


def test_external_view_has_files_bases_and_sizes():
    conn = FakeConn()
    pool = conn.new_pool('images', '/img')
    dom = external_vm(conn, ('x1', 'x2'))
    pool.vols.append(FakeVol(pool, 'vm.x1', '/img/vm.x1', '/img/vm.qcow2', allocation=4096))
    tree = _tree.Tree(conn, dom)
    x1 = _tree.describe(tree, 'x1')
    assert x1['kind'] == 'external' and x1['children'] == ['x2'] and x1['current'] is False
    assert x1['disks'] == [{'target': 'vda', 'snapshot': 'external', 'file': '/img/vm.x1', 'format': 'qcow2',
                            'base': '/img/vm.qcow2', 'size': 4096}]
    assert x1['size'] == 4096
    x2 = _tree.describe(tree, 'x2')
    assert x2['disks'][0]['base'] == '/img/vm.x1' and x2['size'] is None  # vm.x2 is no volume in a pool


def test_create_external_with_generated_file_in_check_mode():
    conn = FakeConn()
    conn.new_dom('vm', [('vda', '/img/vm.qcow2', 'qcow2'), ('vdb', '/img/data.raw', 'raw')])
    ctx = context(conn, check_mode=True, name='n1', kind='external', disks=[dict(target='vdb', file='/img/data-n1.qcow2')])
    outcome = _snapshot.ensure(ctx)
    assert outcome.changed and ctx.actions == ['create external snapshot'] and conn.calls == []
    after = outcome.after
    assert after['state'] == 'disk-snapshot' and after['memory'] == 'no' and after['kind'] == 'external'
    assert after['disks'] == [
        {'target': 'vda', 'snapshot': 'external', 'file': '/img/vm.n1', 'format': 'qcow2', 'base': '/img/vm.qcow2',
         'size': None},
        {'target': 'vdb', 'snapshot': 'external', 'file': '/img/data-n1.qcow2', 'format': 'qcow2',
         'base': '/img/data.raw', 'size': None},
    ]


def test_create_external_calls_libvirt_atomically_with_quiesce(monkeypatch):
    from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _guest_agent
    monkeypatch.setattr(_guest_agent, 'agent_available', lambda dom, timeout=2: True)
    conn = FakeConn()
    conn.new_dom('vm', [('vda', '/img/vm.qcow2', 'qcow2')])
    ctx = context(conn, name='n1', kind='external', quiesce=True, description='nightly')
    _snapshot.ensure(ctx)
    kind, xml, flags = conn.calls[0]
    assert kind == 'create' and flags == sx.CREATE_DISK_ONLY | sx.CREATE_ATOMIC | sx.CREATE_QUIESCE
    assert _xml.equal(_xml.parse(xml), _xml.parse('<domainsnapshot><name>n1</name><description>nightly</description>'
                                                  '<memory snapshot="no"/></domainsnapshot>'))


def test_quiesce_without_an_answering_agent_names_the_vm(monkeypatch):
    from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _guest_agent
    monkeypatch.setattr(_guest_agent, 'agent_available', lambda dom, timeout=2: False)
    conn = FakeConn()
    conn.new_dom('web1', [('vda', '/img/vm.qcow2', 'qcow2')])
    msg = refusal(conn, vm='web1', name='n1', kind='external', quiesce=True)
    assert "no guest agent answers in VM 'web1' on qemu:///fake" in msg
    assert 'nothing was created' in msg and conn.calls == []


def test_quiesce_of_a_stopped_vm_is_refused():
    conn = FakeConn()
    conn.new_dom('vm', [('vda', '/img/vm.qcow2', 'qcow2')], state='shutoff')
    msg = refusal(conn, name='n1', kind='external', quiesce=True)
    assert "VM 'vm' on qemu:///fake is shutoff; quiesce: true freezes" in msg


def test_internal_after_external_is_refused():
    conn = FakeConn()
    external_vm(conn, ('x1',))
    msg = refusal(conn, name='i1')
    assert 'has external snapshots (x1); an internal snapshot is refused' in msg
    assert 'stored inside the newest external overlay' in msg and conn.calls == []


def test_external_after_internal_is_refused():
    conn = FakeConn()
    _internal_vm(conn)
    msg = refusal(conn, name='x1', kind='external')
    assert 'has internal snapshots (s1); an external snapshot is refused' in msg


def test_revert_to_external_needs_libvirt_9_7():
    conn = FakeConn(version=9000000)
    external_vm(conn, ('x1', 'x2'))
    msg = refusal(conn, name='x1', state='current')
    assert 'needs libvirt 9.7 or later, and this node runs libvirt 9.0.0' in msg
    newer = FakeConn(version=9007000)
    dom = external_vm(newer, ('x1', 'x2'))
    outcome = _snapshot.ensure(context(newer, name='x1', state='current'))
    assert outcome.changed and ('revert', 'x1', 0) in newer.calls and dom.current == 'x1'


def test_revert_to_internal_with_external_snapshots_is_refused():
    conn = FakeConn()
    dom = external_vm(conn, ('x1',))
    dom.add('s0', snapshot_xml('s0', 'internal', dom.xml, None, 50))
    msg = refusal(conn, name='s0', state='current')
    assert 'leave the external overlays out of the disk chain' in msg


def test_delete_external_children_one_by_one_deepest_first():
    conn = FakeConn()
    dom = external_vm(conn, ('a', 'b', 'c'))
    ctx = context(conn, name='a', state='absent', children=True)
    outcome = _snapshot.ensure(ctx)
    assert outcome.extra['deleted'] == ['c', 'b', 'a']
    assert [c for c in conn.calls if c[0] == 'delete'] == [('delete', 'c', 0), ('delete', 'b', 0), ('delete', 'a', 0)]
    assert ctx.actions == ['delete c', 'delete b', 'delete a'] and dom.snaps == []


def test_pools_holding_overlays_are_refreshed():
    conn = FakeConn()
    conn.new_pool('images', '/img')
    conn.new_pool('other', '/elsewhere')
    external_vm(conn, ('a',))
    _snapshot.ensure(context(conn, name='a', state='absent'))
    assert conn.calls[-1] == ('refresh', 'images') and ('refresh', 'other') not in conn.calls
    conn.calls[:] = []
    _snapshot.ensure(context(conn, name='b', kind='external'))
    # the fake records the create; its snapshot XML is the request, which names no file: nothing to refresh
    assert [c[0] for c in conn.calls] == ['create']


def test_delete_midway_failure_says_what_was_deleted():
    conn = FakeConn()
    dom = external_vm(conn, ('a', 'b', 'c'))
    dom.fail_delete = 'b'
    with pytest.raises(VmcatError) as failed:
        _snapshot.ensure(context(conn, name='a', state='absent', children=True))
    assert "could not delete snapshot 'b' of VM 'vm'" in str(failed.value)
    assert 'already deleted: c' in str(failed.value) and failed.value.details['deleted'] == ['c']


def test_delete_internal_children_in_one_call():
    conn = FakeConn()
    _internal_vm(conn, ('a', 'b', 'c'))
    _snapshot.ensure(context(conn, name='a', state='absent', children=True))
    assert [c for c in conn.calls if c[0] == 'delete'] == [('delete', 'a', sx.DELETE_CHILDREN)]


def test_metadata_only_is_one_call_for_any_kind():
    conn = FakeConn(version=8000000)
    external_vm(conn, ('a', 'b'))
    outcome = _snapshot.ensure(context(conn, name='a', state='absent', children=True, metadata_only=True))
    assert conn.calls == [('delete', 'a', sx.DELETE_METADATA_ONLY | sx.DELETE_CHILDREN)]
    assert outcome.extra['deleted'] == ['b', 'a']


def test_delete_external_needs_libvirt_9_0():
    conn = FakeConn(version=8010000)
    external_vm(conn, ('a',))
    msg = refusal(conn, name='a', state='absent')
    assert 'needs libvirt 9.0 or later, and this node runs libvirt 8.10.0' in msg
    assert 'metadata_only: true' in msg


def test_delete_external_with_internal_parent_or_children_is_refused():
    conn = FakeConn()
    dom = conn.new_dom('vm', [('vda', '/img/vm.qcow2', 'qcow2')])
    dom.add('i0', snapshot_xml('i0', 'internal', dom.xml, None, 50))
    saved = domain_xml('vm', [('vda', '/img/vm.qcow2', 'qcow2')], uuid=dom.UUIDString())
    dom.add('x1', snapshot_xml('x1', 'external', saved, 'i0', 60, {'vda': '/img/vm.x1'}))
    over = domain_xml('vm', [('vda', '/img/vm.x1', 'qcow2')], uuid=dom.UUIDString())
    dom.add('i2', snapshot_xml('i2', 'internal', over, 'x1', 70), current=True)
    msg = refusal(conn, name='x1', state='absent')
    assert "its parent 'i0' is internal" in msg and 'Nothing was deleted' in msg
    msg = refusal(conn, name='i0', state='absent')
    assert 'the VM has external snapshots (x1)' in msg
    assert [c for c in conn.calls if c[0] == 'delete'] == []


def test_delete_external_with_internal_descendants_is_refused():
    conn = FakeConn()
    dom = external_vm(conn, ('x1',))
    dom.add('i2', snapshot_xml('i2', 'internal', dom.xml, 'x1', 200), current=True)
    msg = refusal(conn, name='x1', state='absent')
    assert 'internal snapshots (i2) were taken after it' in msg


def test_delete_refused_while_another_vm_uses_the_files():
    conn = FakeConn()
    external_vm(conn, ('x1', 'x2'))
    conn.new_dom('other', [('vda', '/img/vm.x1', 'qcow2')])
    msg = refusal(conn, name='x2', state='absent')
    assert "VM 'other' uses /img/vm.x1 (snapshot 'x2' is merged into it)" in msg
    msg = refusal(conn, name='x1', state='absent')
    assert "VM 'other' uses /img/vm.x1 (snapshot 'x1' removes it)" in msg
    assert [c for c in conn.calls if c[0] == 'delete'] == []


def test_delete_refused_while_a_volume_uses_the_base_but_own_overlays_do_not_count():
    conn = FakeConn()
    pool = conn.new_pool('images', '/img')
    external_vm(conn, ('x1', 'x2'))
    pool.vols.append(FakeVol(pool, 'vm.x1', '/img/vm.x1', '/img/vm.qcow2'))  # the VM's own overlay
    pool.vols.append(FakeVol(pool, 'vm.x2', '/img/vm.x2', '/img/vm.x1'))
    assert _snapshot.ensure(context(conn, name='x2', state='absent'), ).changed
    pool.vols.append(FakeVol(pool, 'clone-vda.qcow2', '/img/clone-vda.qcow2', '/img/vm.qcow2'))
    msg = refusal(conn, name='x1', state='absent')
    assert "volume 'clone-vda.qcow2' in pool 'images' has /img/vm.qcow2 (snapshot 'x1' is merged into it) as backing" \
        in msg


def test_revert_shutoff_destroys_only_when_the_saved_state_runs():
    conn = FakeConn()
    dom = _internal_vm(conn, ('s1', 's2'))
    ctx = context(conn, check_mode=True, name='s1', state='current', after_revert='shutoff')
    outcome = _snapshot.ensure(ctx)
    assert ctx.actions == ['revert', 'destroy'] and outcome.after['vm_state'] == 'shutoff' and conn.calls == []
    ctx = context(conn, name='s1', state='current', after_revert='shutoff')
    _snapshot.ensure(ctx)
    assert conn.calls == [('revert', 's1', 0), ('destroy', 'vm')] and dom.run == 'shutoff'


@pytest.mark.parametrize('params, fragment', [
    (dict(state='current', force_revert=False, children=True), 'children do(es) not apply to state: current'),
    (dict(state='present', force_revert=True), 'force_revert do(es) not apply'),
    (dict(state='absent', clone_to_vm={'name': 'c', 'pool': 'p'}), 'clone_to_vm do(es) not apply'),
    (dict(state='current', kind='internal'), 'kind do(es) not apply'),
    (dict(state='present', kind='internal', quiesce=True), 'quiesce: true needs kind: external'),
])
def test_validate(params, fragment):
    base = dict(name='s', kind=None, disks=None, quiesce=False, description=None, children=False,
                metadata_only=False, force_revert=False, clone_to_vm=None, to_template=None)
    base.update(params)
    with pytest.raises(InvalidInput) as failed:
        _snapshot.validate(base)
    assert fragment in str(failed.value)


def test_running_internal_snapshot_cannot_leave_out_a_disk_but_a_stopped_one_can():
    conn = FakeConn()
    conn.new_dom('vm', [('vda', '/img/vm.qcow2', 'qcow2'), ('vdb', '/img/b.qcow2', 'qcow2')])
    with pytest.raises(InvalidInput) as failed:
        _snapshot.ensure(context(conn, name='s', disks=[dict(target='vdb', snapshot='no')]))
    assert 'disk vdb cannot be left out' in str(failed.value)
    stopped = FakeConn()
    stopped.new_dom('vm', [('vda', '/img/vm.qcow2', 'qcow2'), ('vdb', '/img/b.raw', 'raw')], state='shutoff')
    ctx = context(stopped, name='s', disks=[dict(target='vdb', snapshot='no')])
    _snapshot.ensure(ctx)
    xml = _xml.parse(stopped.calls[0][1])
    assert [(d.get('name'), d.get('snapshot')) for d in xml.findall('disks/disk')] == [('vdb', 'no')]


VOLUME_DISK = ('<disk type="volume" device="disk"><driver name="qemu" type="qcow2"/>'
               '<source pool="images" volume="vm.qcow2"/><target dev="vdb" bus="virtio"/></disk>')


def test_pool_volume_disks_get_overlay_names_and_bases():
    conn = FakeConn()
    pool = conn.new_pool('images', '/img')
    pool.vols.append(FakeVol(pool, 'vm.qcow2', '/img/vm.qcow2'))
    dom = conn.new_dom('vm', [], extra_devices=VOLUME_DISK)
    ctx = context(conn, check_mode=True, name='n1', kind='external')
    predicted = _snapshot.ensure(ctx).after
    assert predicted['disks'][0]['file'] == '/img/vm.n1' and predicted['disks'][0]['base'] == '/img/vm.qcow2'
    _snapshot.ensure(context(conn, name='n1', kind='external'))
    xml = _xml.parse(conn.calls[0][1])
    # libvirt cannot name an overlay for a volume disk: the module passes the name it predicted
    assert [(d.get('name'), _xml.attr_of(d, 'source', 'file')) for d in xml.findall('disks/disk')] == \
        [('vdb', '/img/vm.n1')]
    # what libvirt then records: the saved definition names the base by pool and volume
    dom.snaps = []
    recorded = ('<domainsnapshot><name>n1</name><state>disk-snapshot</state><creationTime>1</creationTime>'
                '<memory snapshot="no"/><disks><disk name="vdb" snapshot="external" type="file">'
                '<driver type="qcow2"/><source file="/img/vm.n1"/></disk></disks>%s</domainsnapshot>' % dom.xml)
    dom.add('n1', recorded, current=True)
    tree = _tree.Tree(conn, dom)
    assert tree.info['n1']['disks'][0]['base'] == '/img/vm.qcow2'
    assert 'base_volume' not in _tree.describe(tree, 'n1')['disks'][0]
    other = conn.new_dom('other', [], extra_devices=VOLUME_DISK.replace('vdb', 'vda'))
    msg = refusal(conn, name='n1', state='absent')
    assert "VM 'other' uses /img/vm.qcow2" in msg and other.calls == conn.calls


def test_pool_volume_disk_of_a_stopped_pool_needs_a_file():
    conn = FakeConn()
    conn.new_pool('images', '/img').active = False
    conn.new_dom('vm', [], extra_devices=VOLUME_DISK)
    with pytest.raises(InvalidInput) as failed:
        _snapshot.ensure(context(conn, name='n1', kind='external'))
    assert "disk vdb is volume 'vm.qcow2' of pool 'images', whose path is unknown" in str(failed.value)
