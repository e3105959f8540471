# -*- coding: utf-8 -*-
"""Volumes for a VM's disks, and which volumes a VM owns when it is removed (test driver node file)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._vm import _disks as storage
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _template_store
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._connection import Connection
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput, NotFound


@pytest.fixture
def node(node_uri):
    with Connection(node_uri) as c:
        yield c


def test_plan_fills_formats_and_plans_creations(node, make_ctx):
    ctx = make_ctx(node, {})
    disks, creations = storage.plan_disks(ctx, [
        {'target': 'vda', 'pool': 'p1', 'volume': 'v1.qcow2'},
        {'target': 'vdb', 'create': {'pool': 'p1', 'name': 'new.raw', 'capacity': '1G', 'format': 'raw'}},
        {'target': 'vdc', 'create': {'pool': 'p1', 'name': 'v1.qcow2', 'capacity': '5G'}},
        {'target': 'vdd', 'path': '/somewhere/else.img'},
    ])
    assert [d.get('format') for d in disks] == ['qcow2', 'raw', 'qcow2', None]
    assert [(c.target, c.name, c.format, c.capacity) for c in creations] == [('vdb', 'new.raw', 'raw', 1024 ** 3)]
    assert creations[0].describe() == "create volume 'p1/new.raw'"


@pytest.mark.parametrize('disk, error, message', [
    ({'target': 'vda', 'pool': 'p1', 'volume': 'nope'}, NotFound, "volume 'nope' not found in pool 'p1'"),
    ({'target': 'vda', 'create': {'pool': 'nopool', 'name': 'x', 'capacity': '1G'}}, NotFound, "pool 'nopool'"),
    ({'target': 'vda', 'create': {'pool': 'p1', 'name': 'x'}}, InvalidInput, 'create needs capacity'),
    ({'target': 'vda', 'create': {'pool': 'p1', 'name': '../x', 'capacity': 1}}, InvalidInput, 'not a valid volume name'),
    ({'target': 'vda', 'create': {'pool': 'p1', 'name': 'v1.qcow2'}, 'format': 'raw'}, InvalidInput,
     'does not match the qcow2 volume'),
])
def test_plan_refuses(node, make_ctx, disk, error, message):
    with pytest.raises(error) as err:
        storage.plan_disks(make_ctx(node, {}), [disk])
    assert message in str(err.value)


def test_create_volumes_check_mode_and_rollback(node, make_ctx):
    ctx = make_ctx(node, {}, check_mode=True)
    dummy, creations = storage.plan_disks(ctx, [
        {'target': 'vdb', 'create': {'pool': 'p1', 'name': 'a.qcow2', 'capacity': '1G'}},
        {'target': 'vdc', 'create': {'pool': 'p1', 'name': 'b.qcow2', 'capacity': '1G'}}])
    assert storage.create_volumes(ctx, creations) == []
    assert ctx.actions == ["create volume 'p1/a.qcow2'", "create volume 'p1/b.qcow2'"]
    assert node.volume(node.pool('p1'), 'a.qcow2') is None
    creations[1].capacity = 10 ** 30  # the test driver refuses a volume bigger than the pool
    ctx = make_ctx(node, {})
    with pytest.raises(Exception):
        storage.create_volumes(ctx, creations)
    assert node.volume(node.pool('p1'), 'a.qcow2') is None  # the first one was removed again


def _domain(node, name, disks):
    root = _xml.parse("<domain type='test'><name>%s</name><memory>65536</memory><os><type>hvm</type></os>"
                      "<devices/></domain>" % name)
    for disk in disks:
        root.find('devices').append(_xml.parse(disk))
    return node.virt.defineXML(_xml.to_string(root))


def _vol(node, name, fmt='qcow2'):
    xml = "<volume><name>%s</name><capacity>1048576</capacity><target><format type='%s'/></target></volume>"
    return node.pool('p1').createXML(xml % (name, fmt), 0)


def test_storage_plan_keeps_what_is_not_owned(node, make_ctx, monkeypatch):
    for name in ('own.qcow2', 'shared.qcow2', 'tmpl.qcow2', 'base.qcow2', 'web1-cidata.iso', 'install.iso',
                 'share.raw'):
        _vol(node, name, 'raw' if name.endswith(('.iso', '.raw')) else 'qcow2')
    path = dict((v.name(), v.path()) for v in node.pool('p1').listAllVolumes(0))
    disk = "<disk type='volume' device='%s'><source pool='p1' volume='%s'/><target dev='%s'/>%s</disk>"
    dom = _domain(node, 'web1', [
        disk % ('disk', 'own.qcow2', 'vda', ''),
        disk % ('disk', 'shared.qcow2', 'vdb', ''),
        "<disk type='file' device='disk'><source file='%s'/><target dev='vdc'/></disk>" % path['tmpl.qcow2'],
        disk % ('disk', 'base.qcow2', 'vdd', ''),
        disk % ('cdrom', 'web1-cidata.iso', 'hdc', ''),
        disk % ('cdrom', 'install.iso', 'hdd', ''),
        disk % ('disk', 'share.raw', 'vde', '<shareable/>'),
        "<disk type='file' device='disk'><source file='/elsewhere/x.img'/><target dev='vdf'/></disk>",
    ])
    _domain(node, 'web2', [disk % ('disk', 'shared.qcow2', 'vda', '')])
    monkeypatch.setattr(_template_store, 'template_volume_paths', lambda conn: {path['tmpl.qcow2']})
    monkeypatch.setattr(storage, 'backing_dependents',
                        lambda conn, p: ['p1/overlay.qcow2'] if p == path['base.qcow2'] else [])
    ctx = make_ctx(node, {})
    remove, kept = storage.storage_plan(ctx, 'web1', [_xml.parse(dom.XMLDesc(2))])
    assert [label for vol, label in remove] == ['p1/own.qcow2', 'p1/web1-cidata.iso']
    assert dict((k['target'], k['reason']) for k in kept) == {
        'vdb': 'other VMs use it: web2',
        'vdc': 'it is a template image',
        'vdd': 'it is the backing volume of p1/overlay.qcow2',
        'hdd': 'CD-ROM media are kept (install images are usually shared)',
        'vde': 'the disk is marked shareable',
        'vdf': 'not a volume libvirt knows (a plain path, or its pool is not running)',
    }
    assert storage.delete_volumes(make_ctx(node, {}, check_mode=True), remove) == ['p1/own.qcow2', 'p1/web1-cidata.iso']
    assert node.volume(node.pool('p1'), 'own.qcow2') is not None
