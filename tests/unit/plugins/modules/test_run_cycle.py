# -*- coding: utf-8 -*-
"""The run cycle every module goes through: retries on a stale read, reconnect after a lost connection, the lock."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _module
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _object_lock
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import ConnectionLost, StaleRead
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module import Outcome
from ansible_collections.vmcat.libvirt.plugins.modules import guest_exec, pool, vm_input
from ansible_collections.vmcat.libvirt.tests.unit.helpers import ModuleFail

LOST = "lost the connection to libvirtd on qemu:///system (did it restart?) while trying to read VM 'x': broken pipe"


@pytest.fixture(autouse=True)
def private_locks(tmp_path, monkeypatch):
    monkeypatch.setenv('XDG_RUNTIME_DIR', str(tmp_path))


def _pool_args(node_uri):
    return {'uri': node_uri, 'name': 'images', 'target': {'path': '/tmp/x'}}


def _failing(errors, result=None):
    """A module core that raises the given errors one after the other, then returns ``result``."""
    calls = []

    def core(ctx):
        calls.append(ctx)
        if len(calls) <= len(errors):
            ctx.actions.append('step %d' % len(calls))
            raise errors[len(calls) - 1]
        return result if result is not None else Outcome(False, {'name': 'images'}, {'name': 'images'}, actions=[])
    return core, calls


def test_stale_read_runs_the_cycle_again_on_a_fresh_context(run_module, node_uri, monkeypatch):
    core, calls = _failing([StaleRead("pool 'images' on x changed")])
    monkeypatch.setattr(pool, 'ensure', core)
    result = run_module(pool, _pool_args(node_uri))
    assert len(calls) == 2 and calls[0] is not calls[1] and calls[1].actions == []
    assert result['changed'] is True and result['actions'] == ['step 1']  # the first try had written something


def test_stale_read_in_check_mode_changes_nothing_it_did_not_do(run_module, node_uri, monkeypatch):
    core, calls = _failing([StaleRead("pool 'images' on x changed")])
    monkeypatch.setattr(pool, 'ensure', core)
    assert run_module(pool, _pool_args(node_uri), check_mode=True)['changed'] is False


def test_an_object_that_keeps_changing_is_a_conflict_after_three_tries(run_module, node_uri, monkeypatch):
    core, calls = _failing([StaleRead("pool 'images' on %s changed while this task worked on it" % node_uri)] * 3)
    monkeypatch.setattr(pool, 'ensure', core)
    with pytest.raises(ModuleFail) as failed:
        run_module(pool, _pool_args(node_uri))
    assert len(calls) == _module.ATTEMPTS == 3
    assert failed.value.result['msg'] == (
        "pool 'images' on %s changed while this task worked on it; it changed again on each of 3 tries: another "
        "task or tool keeps writing it, run this task again when that is done" % node_uri)


def test_a_lost_connection_is_replayed_once_for_a_converging_module(run_module, node_uri, monkeypatch):
    core, calls = _failing([ConnectionLost(LOST)])
    monkeypatch.setattr(pool, 'ensure', core)
    assert run_module(pool, _pool_args(node_uri))['changed'] is True
    assert len(calls) == 2


def test_a_connection_lost_twice_fails_with_what_happened(run_module, node_uri, monkeypatch):
    core, calls = _failing([ConnectionLost(LOST), ConnectionLost(LOST)])
    monkeypatch.setattr(pool, 'ensure', core)
    with pytest.raises(ModuleFail) as failed:
        run_module(pool, _pool_args(node_uri))
    assert failed.value.result['msg'] == LOST and len(calls) == 2


def test_an_action_that_may_have_run_is_never_replayed(run_module, node_uri, monkeypatch):
    core, calls = _failing([ConnectionLost(LOST)], result={'changed': True})
    monkeypatch.setattr(vm_input, 'send_input', core)
    with pytest.raises(ModuleFail) as failed:
        run_module(vm_input, {'uri': node_uri, 'name': 'x', 'text': 'hello'})
    assert len(calls) == 1
    assert failed.value.result['msg'] == (LOST + '; the action was not repeated because it may have run already: '
                                          'check its effect, then run the task again')


@pytest.mark.parametrize('creates,replayed', [(None, False), ('/tmp/done', True)])
def test_guest_exec_is_replayed_only_when_it_checks_its_own_effect(
        run_module, node_uri, monkeypatch, creates, replayed):
    core, calls = _failing([ConnectionLost(LOST)], result={'changed': True, 'rc': 0})
    monkeypatch.setattr(guest_exec, 'guest_exec', core)
    args = {'uri': node_uri, 'name': 'x', 'argv': ['true'], 'creates': creates}
    if replayed:
        assert run_module(guest_exec, args)['rc'] == 0 and len(calls) == 2
    else:
        with pytest.raises(ModuleFail) as failed:
            run_module(guest_exec, args)
        assert 'not repeated' in failed.value.result['msg'] and len(calls) == 1


def test_the_daemon_that_does_not_come_back_is_named(run_module, node_uri, monkeypatch):
    core, calls = _failing([ConnectionLost(LOST)])
    monkeypatch.setattr(pool, 'ensure', core)
    monkeypatch.setattr(_module, 'RECONNECT_TIMEOUT', 0)
    opened = []
    real = _module.LibvirtModule.connection

    def connection(self):
        opened.append(1)
        if len(opened) == 2:  # the first reconnect
            from ansible_collections.vmcat.libvirt.plugins.module_utils._core._connection import Connection
            return Connection('qemu+unix:///system?socket=/nonexistent/sock')
        return real(self)
    monkeypatch.setattr(_module.LibvirtModule, 'connection', connection)
    with pytest.raises(ModuleFail) as failed:
        run_module(pool, _pool_args(node_uri))
    assert failed.value.result['msg'] == (LOST + '; it did not come back within 0 s: start libvirtd (or virtqemud) '
                                          'on the node, then run the task again')


def test_changing_tasks_hold_the_lock_of_their_object(run_module, node_uri, monkeypatch):
    held = []

    def core(ctx):
        path = _object_lock.lock_path(node_uri, 'pool', 'images')
        import fcntl
        fd = os.open(path, os.O_RDWR)
        try:
            with pytest.raises(OSError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
        held.append(path)
        return Outcome(False, {}, {})
    monkeypatch.setattr(pool, 'ensure', core)
    run_module(pool, _pool_args(node_uri))
    assert held


def test_lock_waits_and_then_names_the_object(monkeypatch):
    with _object_lock.object_lock('qemu:///system', 'network', 'lab'):
        with _object_lock.object_lock('qemu:///system', 'network', 'other'):  # another object: no wait
            pass
        pid = os.fork()
        if pid == 0:  # a second task on this machine
            try:
                with _object_lock.object_lock('qemu:///system', 'network', 'lab', timeout=0.2):
                    os._exit(1)
            except Exception as exc:
                os._exit(0 if "network 'lab' on qemu:///system: another task on this machine" in str(exc) else 2)
        assert os.waitpid(pid, 0)[1] == 0


def test_lock_directory_must_be_private(tmp_path, monkeypatch):
    shared = tmp_path / ('vmcat-libvirt-locks-%d' % os.getuid())
    shared.mkdir(mode=0o777)
    os.chmod(str(shared), 0o777)
    from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import VmcatError
    with pytest.raises(VmcatError) as failed:
        _object_lock.lock_dir()
    assert 'is not a private directory of this user' in str(failed.value)


def test_two_tasks_creating_one_pool_at_once_both_succeed(run_module, conn, monkeypatch, tmp_path):
    """The other task defines the pool between this task's look-up and its define: this one sees it and converges."""
    from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _pool
    real_create = _pool._create
    calls = []

    def racing_create(ctx):
        calls.append(1)
        if len(calls) == 1:
            ctx.conn.virt.storagePoolDefineXML("<pool type='dir'><name>vmc-race</name><target><path>%s</path>"
                                               "</target></pool>" % tmp_path, 0)
        return real_create(ctx)
    monkeypatch.setattr(_pool, '_create', racing_create)
    # test:///default keeps its state while a connection (conn) is open, as a real node does
    args = {'uri': 'test:///default', 'name': 'vmc-race', 'target': {'path': str(tmp_path)},
            'active': False, 'autostart': False}
    try:
        result = run_module(pool, args)
        assert len(calls) == 1  # the second try found the pool and converged it instead of creating it
        assert result['pool']['name'] == 'vmc-race' and result['pool']['target']['path'] == str(tmp_path)
    finally:
        run_module(pool, dict(args, state='absent'))


def _race_once(monkeypatch, module, name, concurrent):
    """Wrap ``module.name`` so that another writer's change lands between the task's read and its write, once."""
    real = getattr(module, name)
    calls = []

    def racing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            concurrent()
        return real(*args, **kwargs)
    monkeypatch.setattr(module, name, racing)
    return calls


def test_pool_change_made_between_read_and_write_is_kept(run_module, conn, monkeypatch, tmp_path):
    from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _pool
    xml = ("<pool type='dir'><name>vmc-stale</name><uuid>8a0e2f56-9c6b-4d0e-a2f1-3b7c5d9e1f20</uuid>"
           "<target><path>%s</path>%s</target></pool>")
    conn.virt.storagePoolDefineXML(xml % (tmp_path, ''), 0)
    try:
        calls = _race_once(monkeypatch, _pool, 'apply_options', lambda: conn.virt.storagePoolDefineXML(
            xml % (tmp_path, '<permissions><owner>107</owner></permissions>'), 0))
        result = run_module(pool, {'uri': 'test:///default', 'name': 'vmc-stale', 'target': {'mode': '0750'}})
        assert len(calls) == 2 and result['changed'] is True
        assert (result['pool']['target']['owner'], result['pool']['target']['mode']) == (107, '0750')
    finally:
        conn.virt.storagePoolLookupByName('vmc-stale').undefine()


def test_vm_change_made_between_read_and_write_is_kept(run_module, conn, monkeypatch):
    from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _options
    from ansible_collections.vmcat.libvirt.plugins.modules import vm
    xml = ("<domain type='test'><name>vmc-stale</name><uuid>3f1c2b7e-5d4a-4e8b-9c0d-1a2b3c4d5e6f</uuid>"
           "<memory unit='MiB'>64</memory><vcpu>1</vcpu>%s"
           "<os><type>hvm</type></os></domain>")
    dom = conn.virt.defineXML(xml % '')
    try:
        calls = _race_once(monkeypatch, _options, 'apply_options',
                           lambda: conn.virt.defineXML(xml % '<description>set by another task</description>'))
        result = run_module(vm, {'uri': 'test:///default', 'name': 'vmc-stale', 'memory': '32MiB'})
        assert len(calls) == 2 and result['changed'] is True
        root = conn.virt.lookupByName('vmc-stale').XMLDesc(0)
        assert "<currentMemory unit='KiB'>32768</currentMemory>" in root and 'set by another task' in root
    finally:
        dom.undefine()
