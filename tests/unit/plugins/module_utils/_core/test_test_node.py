# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _rehearsal_node
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._connection import Connection
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import VmcatError


def _open(uri):
    node = None
    with _rehearsal_node.session(uri) as node:
        with Connection(uri) as conn:
            node.restore(conn)
            yield node, conn


def test_only_file_backed_test_uris_are_nodes(tmp_path):
    path = tmp_path / 'n.xml'
    path.write_text('<node/>')
    assert _rehearsal_node.node_file('test://%s' % path) == str(path)
    assert _rehearsal_node.node_file('test:///default') is None
    assert _rehearsal_node.node_file('qemu:///system') is None
    assert _rehearsal_node.node_file('test:///does/not/exist.xml') is None


def test_state_survives_between_connections(node_uri):
    for node, conn in _open(node_uri):
        pool = conn.virt.storagePoolDefineXML(
            '<pool type="dir"><name>extra</name><target><path>/extra</path></target></pool>', 0)
        pool.create(0)
        pool.setAutostart(1)
        conn.require_pool('p1').destroy()
        conn.require_network('n1').setAutostart(1)
        dom = conn.require_domain('d1')
        dom.create()
        node.persist(conn)
    for node, conn in _open(node_uri):
        extra = conn.require_pool('extra')
        assert extra.isActive() and extra.autostart()
        assert not conn.require_pool('p1').isActive()
        assert conn.require_network('n1').autostart()
        assert conn.require_domain('d1').isActive()


def test_volumes_are_kept(node_uri):
    for node, conn in _open(node_uri):
        pool = conn.require_pool('p1')
        pool.createXML('<volume><name>new.raw</name><capacity>1048576</capacity></volume>', 0)
        node.persist(conn)
    for node, conn in _open(node_uri):
        assert sorted(conn.require_pool('p1').listVolumes()) == ['new.raw', 'v1.qcow2']


def test_a_stopped_pool_keeps_its_volumes_and_their_contents(node_uri):
    """A stopped pool lists no volumes; the node file still keeps them, as a stopped dir pool keeps its files."""
    for node, conn in _open(node_uri):
        vol = conn.require_pool('p1').createXML('<volume><name>seed.raw</name><capacity>4096</capacity></volume>', 0)
        _rehearsal_node.write_content(vol, b'kept')
        node.persist(conn)
    for node, conn in _open(node_uri):
        conn.require_pool('p1').destroy()
        node.persist(conn)
    for node, conn in _open(node_uri):  # still stopped: another change is persisted meanwhile
        assert not conn.require_pool('p1').isActive()
        conn.require_network('n1').setAutostart(1)
        node.persist(conn)
    for node, conn in _open(node_uri):
        pool = conn.require_pool('p1')
        pool.create(0)
        assert sorted(pool.listVolumes()) == ['seed.raw', 'v1.qcow2']
        assert _rehearsal_node.read_content(pool.storageVolLookupByName('seed.raw')) == b'kept'


def test_without_persist_nothing_is_kept(node_uri):
    for node, conn in _open(node_uri):
        conn.require_pool('p1').destroy()
    for node, conn in _open(node_uri):
        assert conn.require_pool('p1').isActive()


# -- volume contents (the test driver has no upload/download) ----------------------------------
class _Collect:
    def __init__(self, stop_after=None):
        self.data_parts, self.holes, self.stop_after = [], [], stop_after

    def data(self, chunk):
        self.data_parts.append(chunk)
        return self.stop_after is None or len(self.data_parts) < self.stop_after

    def hole(self, length):
        self.holes.append(length)
        return True


def test_contents_written_through_transfer_survive_between_connections(node_uri):
    from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _transfer as transfer
    for node, conn in _open(node_uri):
        vol = conn.require_pool('p1').createXML('<volume><name>meta.raw</name><capacity>8192</capacity></volume>', 0)
        transfer.send(conn.virt, vol, [('data', b'{"a": 1}'), ('hole', 4)], False)
        node.persist(conn)
    for node, conn in _open(node_uri):
        vol = conn.require_volume('p1', 'meta.raw')
        sink = _Collect()
        assert transfer.receive(conn.virt, vol, sink, sparse=True) is True
        assert b''.join(sink.data_parts) == b'{"a": 1}\0\0\0\0' and sink.holes == [8192 - 12]
        dense = _Collect()
        transfer.receive(conn.virt, vol, dense, sparse=False)
        assert b''.join(dense.data_parts) == b'{"a": 1}' + bytes(8192 - 8) and dense.holes == []
        untouched = _Collect(stop_after=1)
        assert transfer.receive(conn.virt, conn.require_volume('p1', 'v1.qcow2'), untouched, sparse=False) is False
        assert set(untouched.data_parts[0]) == {0}  # nothing written: zeros, and the sink may stop early


def test_contents_of_deleted_volumes_are_not_saved(node_uri):
    from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _transfer as transfer
    for node, conn in _open(node_uri):
        vol = conn.require_pool('p1').createXML('<volume><name>gone.raw</name><capacity>4096</capacity></volume>', 0)
        transfer.send(conn.virt, vol, [('data', b'x')], False)
        vol.delete(0)
        node.persist(conn)
    assert b'content' not in open(node_uri[len('test://'):], 'rb').read()


def test_test_driver_contents_are_limited(node_uri):
    import pytest
    from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _transfer as transfer
    from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import VmcatError
    for node, conn in _open(node_uri):
        vol = conn.require_volume('p1', 'v1.qcow2')
        with pytest.raises(VmcatError) as err:
            transfer.send(conn.virt, vol, [('hole', _rehearsal_node.MAX_CONTENT), ('data', b'x')], False)
        assert "at most %d bytes" % _rehearsal_node.MAX_CONTENT in str(err.value) and "'v1.qcow2'" in str(err.value)


# -- a node file someone broke ------------------------------------------------------------------
def _node_with_content(node_uri, data=b'kept'):
    """The node file path after one task wrote ``data`` into a new volume /pool1/seed.raw."""
    for node, conn in _open(node_uri):
        vol = conn.require_pool('p1').createXML('<volume><name>seed.raw</name><capacity>4096</capacity></volume>', 0)
        _rehearsal_node.write_content(vol, data)
        node.persist(conn)
    return node_uri[len('test://'):]


def _corrupt(path, old, new):
    text = open(path).read()
    assert old in text
    with open(path, 'w') as f:
        f.write(text.replace(old, new))


@pytest.mark.parametrize('old, new, problem', [
    ('>a2VwdA==<', '>a2VwdA=<', 'not valid base64'),  # padding cut
    ('>a2VwdA==<', '>a2V!!wdA==<', 'not valid base64'),  # b64decode used to drop such characters silently
    ('>a2VwdA==<', '><x/>a2VwdA==<', 'holds other elements'),
])
def test_corrupt_content_is_a_clean_error_naming_the_file_and_the_volume(node_uri, old, new, problem):
    """A broken <vmcat:content> ended in an internal error with a traceback (binascii.Error)."""
    path = _node_with_content(node_uri)
    _corrupt(path, old, new)
    with pytest.raises(VmcatError) as err:
        for node, conn in _open(node_uri):
            pass
    msg = str(err.value)
    assert msg.startswith('node file %s holds corrupt content for /pool1/seed.raw (' % path)
    assert problem in msg and 'remove that <vmcat:content key="/pool1/seed.raw"> element' in msg


def test_wrapped_base64_is_not_corrupt(node_uri):
    path = _node_with_content(node_uri, b'kept' * 30)
    text = open(path).read()
    encoded = base64.b64encode(b'kept' * 30).decode('ascii')
    _corrupt(path, encoded, '\n' + encoded[:40] + '\n  ' + encoded[40:] + '\n')
    assert text != open(path).read()
    for node, conn in _open(node_uri):
        assert _rehearsal_node.read_content(conn.require_volume('p1', 'seed.raw')) == b'kept' * 30


def test_a_flag_without_a_name_is_a_clean_error(node_uri):
    path = _node_with_content(node_uri)
    _corrupt(path, '<pool name="p1"', '<pool')
    with pytest.raises(VmcatError, match='holds a corrupt <vmcat:state> entry: a <pool> flag without a name'):
        for node, conn in _open(node_uri):
            pass


def test_a_module_on_a_corrupt_node_file_fails_without_internal_error(node_uri, run_module):
    from ansible_collections.vmcat.libvirt.plugins.modules import pool_info
    from ansible_collections.vmcat.libvirt.tests.unit.helpers import ModuleFail
    path = _node_with_content(node_uri)
    _corrupt(path, '>a2VwdA==<', '>a2VwdA=<')
    with pytest.raises(ModuleFail) as failed:
        run_module(pool_info, dict(uri=node_uri))
    result = failed.value.result
    assert 'internal error' not in result['msg'] and 'exception' not in result
    assert result['msg'].startswith('node file %s holds corrupt content for /pool1/seed.raw' % path)
