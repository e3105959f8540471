# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._connection import Connection
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._definitions import definition_xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import NotFound, VmcatError


def test_lookups_return_none_or_list_what_exists(conn):
    assert conn.pool('nope') is None
    assert conn.network('nope') is None
    assert conn.domain('nope') is None
    with pytest.raises(NotFound) as err:
        conn.require_pool('images')
    assert str(err.value) == "pool 'images' not found on test:///default; existing pools: default-pool"
    with pytest.raises(NotFound) as err:
        conn.require_network('lab')
    assert 'existing networks: default' in str(err.value)
    with pytest.raises(NotFound) as err:
        conn.require_domain('web')
    assert 'existing VMs: test' in str(err.value)
    with pytest.raises(NotFound) as err:
        conn.require_volume('default-pool', 'x.qcow2')
    assert "volume 'x.qcow2' not found in pool 'default-pool'" in str(err.value)


def test_connection_is_closed_after_the_block():
    with Connection('test:///default') as c:
        virt = c.virt
        assert virt.isAlive()
    assert c.virt is None


def test_bad_uri_names_the_uri_and_a_fix(capfd):
    with pytest.raises(VmcatError) as err:
        Connection('bogus+unix:///nowhere').open()
    assert 'could not connect to bogus+unix:///nowhere' in str(err.value)
    assert 'libvirtd' in str(err.value)
    captured = capfd.readouterr()
    assert 'libvirt:' not in captured.err  # libvirt's own error printing is silenced


def test_auth_callback_answers_credentials():
    from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _connection
    import libvirt
    answer = _connection._auth_callback('admin', 's3cret')
    creds = [[libvirt.VIR_CRED_AUTHNAME, 'user', 'default', None, None],
             [libvirt.VIR_CRED_PASSPHRASE, 'pass', '', None, None]]
    assert answer(creds, None) == 0
    assert creds[0][4] == 'admin' and creds[1][4] == 's3cret'
    no_password = _connection._auth_callback('admin', None)
    assert no_password([[libvirt.VIR_CRED_PASSPHRASE, 'pass', '', None, None]], None) == -1


def test_definition_xml_falls_back_when_the_driver_lacks_inactive_flag(conn):
    pool = conn.require_pool('default-pool')
    assert '<name>default-pool</name>' in definition_xml(pool, 1)


@pytest.mark.parametrize('message, password_given, expected', [
    # libvirt's messages as seen from its libssh, libssh2 and ssh-command transports (remote_ssh target)
    ("authentication failed: !!! SSH HOST KEY VERIFICATION FAILED !!!: Identity of host '127.0.0.1:22' differs",
     False, "not the one known_hosts holds for it"),
    ('Cannot recv data: Host key verification failed.: Connection reset by peer', False,
     'ssh-keygen -R HOST'),
    ("authentication failed: error while opening private key '/k', wrong passphrase?", True,
     'the passphrase given as password does not open the SSH key'),
    ("libssh transport error: No user interaction callback provided: Can't retrieve private key passphrase", False,
     'is encrypted: give its passphrase as password'),
    ('Failed to connect socket to /var/run/libvirt/libvirt-sock: No such file or directory', False,
     'check that libvirtd (or virtqemud) runs on that host'),
])
def test_connect_hint_names_the_fix_for_ssh_failures(message, password_given, expected):
    from ansible_collections.vmcat.libvirt.plugins.module_utils._core._connection import connect_hint
    assert expected in connect_hint(message, password_given)


def _connect_error(uri):
    with pytest.raises(VmcatError) as err:
        Connection(uri).open()
    return str(err.value)


def test_a_missing_node_file_says_so_not_libvirtd_and_ssh(tmp_path):
    """test:///nonexistent.xml was advised to check libvirtd and SSH keys."""
    path = tmp_path / 'nonexistent.xml'
    msg = _connect_error('test://%s' % path)
    assert msg.startswith('could not connect to test://%s: ' % path)
    assert 'the node file %s does not exist on the host that runs the task' % path in msg
    assert 'check the path in the URI' in msg and 'demo-node.xml' in msg
    assert 'libvirtd' not in msg and 'SSH' not in msg


def test_a_node_file_libvirt_cannot_read_says_so(tmp_path):
    path = tmp_path / 'node.xml'
    path.write_text('<node><pool type="dir"><name>x</name></node>')
    msg = _connect_error('test://%s' % path)
    assert "the node file %s is not a node description libvirt's test driver can read" % path in msg
    assert 'put back a good copy' in msg and 'libvirtd' not in msg
    assert 'is a directory, not a node file' in _connect_error('test://%s' % tmp_path)


def test_other_uris_keep_their_hints():
    from ansible_collections.vmcat.libvirt.plugins.module_utils._core._connection import connect_hint
    message = 'Failed to connect socket to /var/run/libvirt/libvirt-sock: No such file or directory'
    assert 'libvirtd' in connect_hint(message, False, 'qemu:///system')
    assert 'libvirtd' in connect_hint(message, False, 'test:///default')
    assert 'libvirtd' in connect_hint(message, False)
