# -*- coding: utf-8 -*-
"""A broken connection to libvirtd is named as such, not given advice about paths or disks."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import libvirt
import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._connection import Connection
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import (
    ConnectionLost, VmcatError, is_connection_lost, translated)


def _error(code, message):
    exc = libvirt.libvirtError(message)
    exc.err = (code, 0, message, 2, None, None, None, 0, 0)
    return exc


@pytest.mark.parametrize('code,message', [
    (libvirt.VIR_ERR_SYSTEM_ERROR, 'Cannot write data: Broken pipe'),
    (libvirt.VIR_ERR_SYSTEM_ERROR, 'Cannot recv data: Connection reset by peer'),
    (libvirt.VIR_ERR_INTERNAL_ERROR, 'client socket is closed'),
    (libvirt.VIR_ERR_SYSTEM_ERROR, 'End of file while reading data: Input/output error'),
    (libvirt.VIR_ERR_INTERNAL_ERROR, 'connection closed due to keepalive timeout'),
])
def test_messages_of_a_broken_socket_mean_a_lost_connection(code, message):
    assert is_connection_lost(_error(code, message))
    with pytest.raises(ConnectionLost) as lost:
        with translated('read', "VM 'x'", 'qemu:///system', 'check the path, its permissions and the free space'):
            raise _error(code, message)
    assert str(lost.value) == ("lost the connection to libvirtd on qemu:///system (did it restart?) while trying "
                               "to read VM 'x': %s" % message)


@pytest.mark.parametrize('code,message', [
    (libvirt.VIR_ERR_SYSTEM_ERROR, 'cannot open /var/lib/x.qcow2: No such file or directory'),
    (libvirt.VIR_ERR_OPERATION_INVALID, 'Cannot write data: Broken pipe'),  # a guest's pipe, not ours
    (libvirt.VIR_ERR_INTERNAL_ERROR, 'unexpected failure'),
])
def test_other_errors_keep_their_hint(code, message):
    assert not is_connection_lost(_error(code, message))
    with pytest.raises(VmcatError) as failed:
        with translated('read', "VM 'x'", 'qemu:///system', 'the fix'):
            raise _error(code, message)
    assert not isinstance(failed.value, ConnectionLost) and str(failed.value).endswith('; the fix')


def test_the_connection_is_asked_whether_it_still_stands():
    exc = _error(libvirt.VIR_ERR_INTERNAL_ERROR, 'unexpected failure')
    assert is_connection_lost(exc, alive=lambda: False)
    assert not is_connection_lost(exc, alive=lambda: True)


def test_a_dead_connection_reports_its_errors_as_lost():
    class DeadVirt:
        def isAlive(self):
            return 0

        def listAllDomains(self, flags):
            raise _error(libvirt.VIR_ERR_INTERNAL_ERROR, 'unexpected failure')

    conn = Connection('qemu:///system', virconnect=DeadVirt())
    assert not conn.alive()
    with pytest.raises(ConnectionLost) as lost:
        conn.all_domains()
    assert str(lost.value).startswith('lost the connection to libvirtd on qemu:///system (did it restart?) while '
                                      'trying to list VMs')


def test_an_object_made_meanwhile_starts_the_cycle_over():
    from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import MadeMeanwhile, StaleRead
    for code, message in ((libvirt.VIR_ERR_OPERATION_FAILED, "operation failed: network 'lab' already exists with uuid x"),
                          (libvirt.VIR_ERR_STORAGE_VOL_EXIST, "storage volume 'a.qcow2' exists already")):
        with pytest.raises(MadeMeanwhile) as made:
            with translated('define', "network 'lab'", 'qemu:///system', 'some hint'):
                raise _error(code, message)
        assert isinstance(made.value, StaleRead)
        assert str(made.value).endswith('%s; another task or tool made it at the same time' % message)


class _DeadVirConnect:
    def isAlive(self):
        return 0

    def getURI(self):
        return 'qemu:///system'


class _Dom:
    def name(self):
        return 'web1'

    def connect(self):
        return _DeadVirConnect()


def test_guest_agent_call_on_a_dead_connection_is_a_lost_connection_not_an_agent_error(monkeypatch):
    """agent_available must not swallow it (a wait for the agent would poll a dead connection until its timeout)."""
    from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _guest_agent

    class FakeQemu:
        @staticmethod
        def qemuAgentCommand(dom, text, timeout, flags):
            raise _error(libvirt.VIR_ERR_AGENT_UNRESPONSIVE, 'Guest agent is not responding: Connection reset by peer')
    monkeypatch.setattr(_guest_agent, 'libvirt_qemu', FakeQemu)
    with pytest.raises(ConnectionLost) as lost:
        _guest_agent.agent_available(_Dom())
    assert str(lost.value).startswith('lost the connection to libvirtd on qemu:///system (did it restart?) while '
                                      'trying to send guest-ping to the guest agent of')


def test_qmp_call_on_a_dead_connection_is_a_lost_connection(monkeypatch):
    from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _qmp

    class FakeQemu:
        @staticmethod
        def qemuMonitorCommand(dom, text, flags):
            raise _error(libvirt.VIR_ERR_OPERATION_FAILED, 'End of file while reading data')
    monkeypatch.setattr(_qmp, 'libvirt_qemu', FakeQemu)
    conn = Connection('qemu:///system', virconnect=_DeadVirConnect())
    with pytest.raises(ConnectionLost) as lost:
        _qmp.monitor_command(conn, _Dom(), 'cont')
    assert 'lost the connection to libvirtd on qemu:///system (did it restart?) while trying to send QMP ' \
           'command cont' in str(lost.value)


def test_any_error_on_a_dead_connection_counts_as_lost():
    conn = Connection('qemu:///system', virconnect=_DeadVirConnect())
    assert conn.lost(VmcatError('could not send guest-exec-status to the guest agent: it went away'))
    alive = Connection('qemu:///system', virconnect=type('Alive', (), {'isAlive': lambda self: 1})())
    assert not alive.lost(VmcatError('could not send guest-exec-status to the guest agent: it went away'))


def test_a_lookup_whose_error_was_cleared_is_asked_again():
    """libvirt-python lost the error's details (a freed object cleared it): the look-up is made once more."""
    from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import lookup_or_none
    calls = []

    def lookup(name):
        calls.append(name)
        if len(calls) == 1:
            cleared = libvirt.libvirtError('virDomainLookupByName() failed')
            cleared.err = None  # what libvirt-python sees when the error was cleared: no code, no message
            raise cleared
        raise _error(libvirt.VIR_ERR_NO_DOMAIN, "Domain not found: no domain with matching name 'nope'")
    assert lookup_or_none(lookup, 'nope') is None and calls == ['nope', 'nope']
