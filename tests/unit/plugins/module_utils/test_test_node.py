# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmcat.libvirt.plugins.module_utils import _test_node
from ansible_collections.vmcat.libvirt.plugins.module_utils._connection import Connection


def _open(uri):
    node = None
    with _test_node.session(uri) as node:
        with Connection(uri) as conn:
            node.restore(conn)
            yield node, conn


def test_only_file_backed_test_uris_are_nodes(tmp_path):
    path = tmp_path / 'n.xml'
    path.write_text('<node/>')
    assert _test_node.node_file('test://%s' % path) == str(path)
    assert _test_node.node_file('test:///default') is None
    assert _test_node.node_file('qemu:///system') is None
    assert _test_node.node_file('test:///does/not/exist.xml') is None


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
        _test_node.write_content(vol, b'kept')
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
        assert _test_node.read_content(pool.storageVolLookupByName('seed.raw')) == b'kept'


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
    from ansible_collections.vmcat.libvirt.plugins.module_utils import _volume_transfer as transfer
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
    from ansible_collections.vmcat.libvirt.plugins.module_utils import _volume_transfer as transfer
    for node, conn in _open(node_uri):
        vol = conn.require_pool('p1').createXML('<volume><name>gone.raw</name><capacity>4096</capacity></volume>', 0)
        transfer.send(conn.virt, vol, [('data', b'x')], False)
        vol.delete(0)
        node.persist(conn)
    assert b'content' not in open(node_uri[len('test://'):], 'rb').read()


def test_test_driver_contents_are_limited(node_uri):
    import pytest
    from ansible_collections.vmcat.libvirt.plugins.module_utils import _volume_transfer as transfer
    from ansible_collections.vmcat.libvirt.plugins.module_utils._errors import VmcatError
    for node, conn in _open(node_uri):
        vol = conn.require_volume('p1', 'v1.qcow2')
        with pytest.raises(VmcatError) as err:
            transfer.send(conn.virt, vol, [('hole', _test_node.MAX_CONTENT), ('data', b'x')], False)
        assert "at most %d bytes" % _test_node.MAX_CONTENT in str(err.value) and "'v1.qcow2'" in str(err.value)
