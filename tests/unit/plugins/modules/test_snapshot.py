# -*- coding: utf-8 -*-
"""snapshot and snapshot_info against a test-driver node file (internal snapshots: what the test driver has)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vmcat.libvirt.plugins.modules import snapshot, snapshot_info
from ansible_collections.vmcat.libvirt.tests.unit.helpers import ModuleFail


@pytest.fixture
def uri(node_copy):
    """VM vm1 (running; a qcow2 disk and a CD) and rawvm (shut off; a raw disk) in a test:/// node file."""
    return node_copy('node_snapshots.xml')


def _info(run_module, uri, vm='vm1', **more):
    return run_module(snapshot_info, dict(uri=uri, vm=vm, **more))


def test_create_four_ways(run_module, uri):
    args = dict(uri=uri, vm='vm1', name='s1', description='before upgrade')
    checked = run_module(snapshot, args, check_mode=True, diff=True)
    assert checked['changed'] is True
    assert checked['actions'] == ['create internal snapshot']
    assert checked['diff']['before'] == {}
    predicted = checked['snapshot']
    assert predicted['kind'] == 'internal' and predicted['state'] == 'running' and predicted['memory'] == 'internal'
    assert predicted['current'] is True and predicted['description'] == 'before upgrade'
    assert [(d['target'], d['snapshot']) for d in predicted['disks']] == [('vda', 'internal'), ('hdc', 'no')]
    assert _info(run_module, uri)['snapshots'] == []

    applied = run_module(snapshot, args)
    assert applied['changed'] is True
    made = applied['snapshot']
    assert made['name'] == 's1' and made['vm'] == 'vm1' and made['current'] is True
    assert made['kind'] == 'internal' and made['state'] == 'running' and made['parent'] is None
    assert [(d['target'], d['snapshot']) for d in made['disks']] == [('vda', 'internal'), ('hdc', 'no')]
    same = dict((k, v) for k, v in predicted.items() if k not in ('creation_time', 'created'))
    assert same == dict((k, v) for k, v in made.items() if k not in ('creation_time', 'created'))

    again = run_module(snapshot, args, check_mode=True)
    assert again['changed'] is False and again['actions'] == []
    final = run_module(snapshot, args)
    assert final['changed'] is False
    assert final['snapshot'] == made


def test_description_is_updated_by_redefining(run_module, uri):
    run_module(snapshot, dict(uri=uri, vm='vm1', name='s1', description='old'))
    run_module(snapshot, dict(uri=uri, vm='vm1', name='s2'))
    args = dict(uri=uri, vm='vm1', name='s1', description='new')
    checked = run_module(snapshot, args, check_mode=True, diff=True)
    assert checked['changed'] is True and checked['actions'] == ['update description']
    assert checked['diff']['before']['description'] == 'old'
    assert checked['diff']['after']['description'] == 'new'
    applied = run_module(snapshot, args)
    assert applied['changed'] is True and applied['snapshot']['description'] == 'new'
    # redefining changes nothing else: s2 stays current, s1 keeps its place in the tree
    assert applied['snapshot']['current'] is False and applied['snapshot']['children'] == ['s2']
    assert run_module(snapshot, args, check_mode=True)['changed'] is False
    assert run_module(snapshot, args)['changed'] is False
    removed = run_module(snapshot, dict(uri=uri, vm='vm1', name='s1', description=''))
    assert removed['changed'] is True and removed['snapshot']['description'] is None


def test_tree_survives_between_tasks(run_module, uri):
    for name in ('a', 'b'):
        run_module(snapshot, dict(uri=uri, vm='vm1', name=name))
    run_module(snapshot, dict(uri=uri, vm='vm1', name='a', state='current'))
    run_module(snapshot, dict(uri=uri, vm='vm1', name='c'))
    info = _info(run_module, uri)
    by_name = dict((s['name'], s) for s in info['snapshots'])
    assert [s['name'] for s in info['snapshots']] == ['a', 'b', 'c']
    assert by_name['a']['parent'] is None and by_name['a']['children'] == ['b', 'c']
    assert by_name['b']['parent'] == 'a' and by_name['c']['parent'] == 'a'
    assert info['current'] == 'c' and by_name['c']['current'] is True
    assert info['vm_state'] == 'running'
    one = _info(run_module, uri, name='b')
    assert [s['name'] for s in one['snapshots']] == ['b']


def test_revert_four_ways_and_after_revert(run_module, uri):
    run_module(snapshot, dict(uri=uri, vm='vm1', name='s1'))
    run_module(snapshot, dict(uri=uri, vm='vm1', name='s2'))
    args = dict(uri=uri, vm='vm1', name='s1', state='current', after_revert='paused')
    checked = run_module(snapshot, args, check_mode=True, diff=True)
    assert checked['changed'] is True and checked['actions'] == ['revert']
    assert checked['diff']['before']['current'] is False
    assert checked['diff']['after']['current'] is True and checked['diff']['after']['vm_state'] == 'paused'
    assert _info(run_module, uri)['current'] == 's2'
    applied = run_module(snapshot, args)
    assert applied['changed'] is True
    assert applied['snapshot']['current'] is True and applied['snapshot']['vm_state'] == 'paused'
    assert run_module(snapshot, args, check_mode=True)['changed'] is False
    assert run_module(snapshot, args)['changed'] is False
    # the saved state (running) is another state than paused: a revert again
    back = run_module(snapshot, dict(uri=uri, vm='vm1', name='s1', state='current'))
    assert back['changed'] is True and back['snapshot']['vm_state'] == 'running'
    assert run_module(snapshot, dict(uri=uri, vm='vm1', name='s1', state='current'))['changed'] is False
    forced = run_module(snapshot, dict(uri=uri, vm='vm1', name='s1', state='current', force_revert=True))
    assert forced['changed'] is True and forced['actions'] == ['revert']


def test_revert_then_shut_off(run_module, uri):
    run_module(snapshot, dict(uri=uri, vm='vm1', name='s1'))
    args = dict(uri=uri, vm='vm1', name='s1', state='current', after_revert='shutoff')
    checked = run_module(snapshot, args, check_mode=True)
    assert checked['changed'] is True and checked['actions'] == ['revert', 'destroy']
    applied = run_module(snapshot, args)
    assert applied['actions'] == ['revert', 'destroy'] and applied['snapshot']['vm_state'] == 'shutoff'
    assert run_module(snapshot, args)['changed'] is False


def test_snapshot_of_a_shut_off_vm_boots_with_after_revert_running(run_module, uri):
    run_module(snapshot, dict(uri=uri, vm='vm1', name='s1'))
    run_module(snapshot, dict(uri=uri, vm='vm1', name='s1', state='current', after_revert='shutoff'))
    off = run_module(snapshot, dict(uri=uri, vm='vm1', name='off'))
    assert off['snapshot']['state'] == 'shutoff' and off['snapshot']['memory'] == 'no'
    assert off['snapshot']['vm_state'] == 'shutoff' and off['snapshot']['parent'] == 's1'
    # reverting to it leaves the VM off: it is current and off already
    assert run_module(snapshot, dict(uri=uri, vm='vm1', name='off', state='current'))['changed'] is False
    args = dict(uri=uri, vm='vm1', name='off', state='current', after_revert='running')
    assert run_module(snapshot, args, check_mode=True)['snapshot']['vm_state'] == 'running'
    booted = run_module(snapshot, args)
    assert booted['changed'] is True and booted['snapshot']['vm_state'] == 'running'
    assert run_module(snapshot, args)['changed'] is False


def test_delete_four_ways_with_children(run_module, uri):
    for name in ('a', 'b', 'c'):
        run_module(snapshot, dict(uri=uri, vm='vm1', name=name))
    args = dict(uri=uri, vm='vm1', name='b', state='absent', children=True)
    checked = run_module(snapshot, args, check_mode=True, diff=True)
    assert checked['changed'] is True and checked['deleted'] == ['c', 'b']
    assert checked['actions'] == ['delete with children'] and checked['diff']['after'] == {}
    assert len(_info(run_module, uri)['snapshots']) == 3
    applied = run_module(snapshot, args)
    assert applied['changed'] is True and applied['snapshot'] == {}
    assert [s['name'] for s in _info(run_module, uri)['snapshots']] == ['a']
    assert run_module(snapshot, args, check_mode=True)['changed'] is False
    assert run_module(snapshot, args)['changed'] is False


def test_delete_one_reparents_its_children(run_module, uri):
    for name in ('a', 'b', 'c'):
        run_module(snapshot, dict(uri=uri, vm='vm1', name=name))
    removed = run_module(snapshot, dict(uri=uri, vm='vm1', name='b', state='absent'))
    assert removed['deleted'] == ['b'] and removed['actions'] == ['delete']
    info = dict((s['name'], s) for s in _info(run_module, uri)['snapshots'])
    assert info['c']['parent'] == 'a' and info['a']['children'] == ['c']


def test_absent_of_a_missing_vm_is_no_change(run_module, uri):
    result = run_module(snapshot, dict(uri=uri, vm='gone', name='x', state='absent'))
    assert result['changed'] is False and result['deleted'] == []


@pytest.mark.parametrize('args, fragment', [
    (dict(vm='gone', name='x'), "VM 'gone' not found"),
    (dict(vm='vm1', name='nope', state='current'), "snapshot 'nope' of VM 'vm1'"),
    (dict(vm='vm1', name='a/b'), "must not contain '/'"),
    (dict(vm='vm1', name='x', quiesce=True), 'quiesce: true needs kind: external'),
    (dict(vm='vm1', name='x', state='absent', description='d'), 'description do(es) not apply to state: absent'),
    (dict(vm='vm1', name='x', children=True), 'children do(es) not apply to state: present'),
    (dict(vm='vm1', name='x', disks=[dict(target='vdz')]), 'has no disk vdz; its disks: hdc, vda'),
    (dict(vm='vm1', name='x', disks=[dict(target='vda', snapshot='no')]), 'disk vda cannot be left out'),
    (dict(vm='vm1', name='x', disks=[dict(target='vda', file='/x.qcow2')]), 'file is only for external'),
    (dict(vm='vm1', name='x', kind='external', disks=[dict(target='vda', file='rel.qcow2')]), 'must be an absolute path'),
    (dict(vm='vm1', name='x', disks=[dict(target='vda', snapshot='external')]), 'does not fit kind: internal'),
    (dict(vm='rawvm', name='x'), 'disk vda is raw; internal snapshots live inside qcow2 images'),
    (dict(vm='vm1', name='x', kind='external', quiesce=True), 'no guest agent answers in VM \'vm1\''),
])
def test_bad_input_fails_before_any_change(run_module, uri, args, fragment):
    with pytest.raises(ModuleFail) as failed:
        run_module(snapshot, dict(args, uri=uri))
    assert fragment in failed.value.result['msg']
    assert _info(run_module, uri)['snapshots'] == []


def test_an_existing_snapshot_cannot_change_kind_or_disks(run_module, uri):
    run_module(snapshot, dict(uri=uri, vm='vm1', name='s1'))
    with pytest.raises(ModuleFail) as failed:
        run_module(snapshot, dict(uri=uri, vm='vm1', name='s1', kind='external'))
    assert 'exists as an internal snapshot, but the task asks for kind: external' in failed.value.result['msg']
    with pytest.raises(ModuleFail) as failed:
        run_module(snapshot, dict(uri=uri, vm='vm1', name='s1', disks=[dict(target='hdc', snapshot='internal')]))
    assert 'saved disk hdc as snapshot: no' in failed.value.result['msg']


def test_info_failures(run_module, uri):
    with pytest.raises(ModuleFail) as failed:
        _info(run_module, uri, vm='gone')
    assert "VM 'gone' not found" in failed.value.result['msg'] and 'existing VMs: rawvm, vm1' in failed.value.result['msg']
    run_module(snapshot, dict(uri=uri, vm='vm1', name='s1'))
    with pytest.raises(ModuleFail) as failed:
        _info(run_module, uri, name='nope')
    assert "snapshot 'nope' of VM 'vm1'" in failed.value.result['msg'] and 'existing snapshots: s1' in failed.value.result['msg']


def test_clone_and_template_refuse_internal_snapshots(run_module, uri):
    with pytest.raises(ModuleFail) as failed:
        run_module(snapshot, dict(uri=uri, vm='vm1', name='s1', clone_to_vm=dict(name='c1', pool='p')), check_mode=True)
    assert 'is internal and cannot become a VM' in failed.value.result['msg']
    assert 'libvirt has no call that reads one out' in failed.value.result['msg']
