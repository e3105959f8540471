# -*- coding: utf-8 -*-
"""A broken connection to libvirtd is named as such, not given advice about paths or disks."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import libvirt
import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._connection import Connection
from ansible_collections.vmcat.libvirt.plugins.module_utils._errors import (
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
    from ansible_collections.vmcat.libvirt.plugins.module_utils._errors import MadeMeanwhile, StaleRead
    for code, message in ((libvirt.VIR_ERR_OPERATION_FAILED, "operation failed: network 'lab' already exists with uuid x"),
                          (libvirt.VIR_ERR_STORAGE_VOL_EXIST, "storage volume 'a.qcow2' exists already")):
        with pytest.raises(MadeMeanwhile) as made:
            with translated('define', "network 'lab'", 'qemu:///system', 'some hint'):
                raise _error(code, message)
        assert isinstance(made.value, StaleRead)
        assert str(made.value).endswith('%s; another task or tool made it at the same time' % message)
