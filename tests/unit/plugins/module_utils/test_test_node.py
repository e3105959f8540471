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


def test_without_persist_nothing_is_kept(node_uri):
    for node, conn in _open(node_uri):
        conn.require_pool('p1').destroy()
    for node, conn in _open(node_uri):
        assert conn.require_pool('p1').isActive()
