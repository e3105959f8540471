# -*- coding: utf-8 -*-
"""_template_meta: names, the metadata document, its volume (through fake streams), discovery and usage.

Volumes and domains live in libvirt's test driver; streams, which it lacks,
go to the fakes of tests/unit/fakes/volume.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _template_store as meta
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._connection import Connection
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput, NotFound, Refused, VmcatError

MIB = 1024 ** 2


@pytest.fixture
def node(node_uri):
    with Connection(node_uri) as conn:
        yield conn


def pool_of(conn, name='p1'):
    return conn.require_pool(name)


def add_volume(pool, name, capacity=MIB, fmt='raw', backing=None):
    root = _xml.element('volume')
    _xml.sub(root, 'name', name)
    _xml.sub(root, 'capacity', capacity, unit='bytes')
    _xml.sub(_xml.sub(root, 'target'), 'format', type_=fmt)
    if backing:
        store_el = _xml.sub(root, 'backingStore')
        _xml.sub(store_el, 'path', backing)
        _xml.sub(store_el, 'format', type_='qcow2')
    return pool.createXML(_xml.to_string(root), 0)


def add_template(conn, name, pool_name='p1', **fields):
    pool = pool_of(conn, pool_name)
    add_volume(pool, meta.image_name(name), 4 * MIB, 'qcow2')
    doc = meta.new_metadata(name, '2024-01-01T00:00:00Z')
    doc.update(fields)
    return meta.write_new_sidecar(conn, pool, name, doc)


# -- names ----------------------------------------------------------------------------------------
@pytest.mark.parametrize('name', ['debian-12', 'a', 'Web_base.2024+1', '9lives'])
def test_good_template_names(name):
    assert meta.check_template_name(name) == name


@pytest.mark.parametrize('name', ['', None, '-x', '.x', 'a/b', 'a b', 'a..b', 'x' * 101, 'ü', 'a.vmcat-template',
                                  'a.vmcat-template.json', 'a.vmcat-template.img'])
def test_bad_template_names(name):
    with pytest.raises(InvalidInput) as err:
        meta.check_template_name(name, 'template.name')
    assert "template.name '%s' is not a valid template name" % name in err.value.msg


def test_volume_names():
    assert meta.image_name('deb') == 'deb.vmcat-template.img'
    assert meta.sidecar_name('deb') == 'deb.vmcat-template.json'


# -- the document -----------------------------------------------------------------------------------
def full_doc():
    doc = meta.new_metadata('deb', '2024-01-01T00:00:00Z')
    doc.update(format='qcow2', virtual_size=2 * 1024 ** 3, description=u'Debian \u2013 \u201ccloud\u201d',
               tags=['b', 'a'],
               os={'name': 'debian', 'version': '12', 'arch': 'x86_64'},
               features={'cloud_init': True, 'guest_agent': False, 'virtio': True, 'uefi': False},
               source={'type': 'url', 'url': 'https://x/y.qcow2', 'checksum': 'sha256:' + 'a' * 64},
               sysprep={'tool': 'debugfs', 'emptied': ['/etc/machine-id'], 'removed': [], 'filesystem_offset': 0})
    return doc


def test_document_round_trip():
    doc = meta.normalise(full_doc())
    data = meta.encode(doc)
    assert data.endswith(b'\n') and json.loads(data.decode('utf-8'))['schema'] == 1
    assert meta.decode(data, 'x') == doc
    assert doc['tags'] == ['a', 'b']
    assert set(doc['source']) == set(meta.SOURCE_KEYS) and doc['source']['vm'] is None


def test_document_round_trip_through_padding_and_old_bytes():
    data = meta.padded(meta.encode(full_doc()), 8192)
    assert len(data) == 8192
    assert meta.decode(data, 'x') == meta.normalise(full_doc())
    stale = meta.encode(full_doc()) + b'\0\0{"old": "document"}'
    assert meta.decode(stale, 'x')['name'] == 'deb'
    assert meta.padded(b'abc', 2) == b'abc'


def test_new_metadata_defaults():
    doc = meta.new_metadata('deb', 'T')
    assert doc['features'] == dict(cloud_init=False, guest_agent=False, virtio=False, uefi=False)
    assert doc['os'] == dict(name=None, version=None, arch=None)
    assert (doc['created'], doc['updated'], doc['image'], doc['sysprep']) == ('T', 'T', 'deb.vmcat-template.img', None)


def test_older_document_is_filled_up():
    doc = meta.decode(b'{"schema": 1, "name": "deb", "tags": ["x", "x"], "features": {"uefi": 1}}', 'x')
    assert doc['tags'] == ['x']
    assert doc['features'] == dict(cloud_init=False, guest_agent=False, virtio=False, uefi=True)
    assert doc['image'] == 'deb.vmcat-template.img'


@pytest.mark.parametrize('data, text', [
    (b'not json', 'does not hold template metadata (JSON)'),
    (b'', 'does not hold template metadata (JSON)'),
    (b'[1, 2]', 'no template name'),
    (b'{"schema": 1}', 'no template name'),
    (b'{"schema": 2, "name": "x"}', 'schema 2, which this version of vmcat.libvirt does not know'),
    (b'{"name": "x"}', 'schema None'),
    (b'\xff\xfe', 'does not hold template metadata (JSON)'),
])
def test_bad_documents(data, text):
    with pytest.raises(VmcatError) as err:
        meta.decode(data, "volume 'v' in pool 'p1'")
    assert text in err.value.msg and "volume 'v' in pool 'p1'" in err.value.msg


def test_collect_stops_at_padding():
    sink = meta._Collect('x')
    assert sink.hole(100) is True  # a hole before any data is read through
    assert sink.data(b'{"a": 1}  ') is True
    assert sink.data(b'     \n   ') is False
    assert sink.hole(10) is False
    assert sink.bytes() == b'{"a": 1}  '


def test_collect_has_a_size_limit(monkeypatch):
    monkeypatch.setattr(meta, '_MAX_SIDECAR', 10)
    sink = meta._Collect("volume 'big'")
    with pytest.raises(VmcatError) as err:
        sink.data(b'x' * 11)
    assert "volume 'big' is larger than 10 bytes" in err.value.msg


# -- the metadata volume ------------------------------------------------------------------------------
def test_sidecar_write_read_rewrite(node, store):
    pool = pool_of(node)
    doc = full_doc()
    vol = meta.write_new_sidecar(node, pool, 'deb', doc)
    assert vol.name() == 'deb.vmcat-template.json'
    written = store.contents[vol.path()]
    assert len(written) == 4096 and written.rstrip(b' ') == meta.encode(doc)
    root = _xml.parse(vol.XMLDesc(0))
    assert _xml.attr_of(root, 'target/format', 'type') == 'raw'
    assert meta.read_sidecar(node, vol, pool) == meta.normalise(doc)
    doc['description'] = 'x' * 6000  # larger than the volume: grown first
    meta.rewrite_sidecar(node, vol, pool, doc)
    assert ('resize', vol.path(), 8192, 0) in store.calls
    assert meta.read_sidecar(node, vol, pool)['description'] == 'x' * 6000
    doc['description'] = 'short'
    meta.rewrite_sidecar(node, vol, pool, doc)
    assert meta.read_sidecar(node, vol, pool)['description'] == 'short'


def test_failed_sidecar_upload_leaves_nothing(node, store, monkeypatch):
    from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _transfer

    def broken(*args, **kwargs):
        raise VmcatError('stream broke')
    monkeypatch.setattr(_transfer, 'send', broken)
    with pytest.raises(VmcatError):
        meta.write_new_sidecar(node, pool_of(node), 'deb', full_doc())
    assert node.volume(pool_of(node), 'deb.vmcat-template.json') is None


# -- finding -------------------------------------------------------------------------------------------
def test_find_template(node, store):
    assert meta.find_template(node, 'deb') is None
    add_template(node, 'deb', tags=['x'])
    pool, image, doc = meta.find_template(node, 'deb')
    assert (pool.name(), image.name(), doc['tags']) == ('p1', 'deb.vmcat-template.img', ['x'])
    assert meta.template_names(node) == ['deb']


def test_find_template_with_missing_image(node, store):
    add_template(node, 'deb')
    pool_of(node).storageVolLookupByName('deb.vmcat-template.img').delete(0)
    pool, image, doc = meta.find_template(node, 'deb')
    assert image is None and doc['name'] == 'deb'
    with pytest.raises(Refused) as err:
        meta.require_template(node, 'deb')
    assert "template 'deb' in pool 'p1'" in err.value.msg and 'its image volume' in err.value.msg


def test_require_template_lists_templates(node, store):
    add_template(node, 'a1')
    add_template(node, 'b2')
    with pytest.raises(NotFound) as err:
        meta.require_template(node, 'zz')
    assert "template 'zz' not found on" in err.value.msg and 'templates: a1, b2' in err.value.msg


def test_unreadable_and_misnamed_metadata_are_problems(node, store):
    pool = pool_of(node)
    vol = add_volume(pool, 'bad.vmcat-template.json')
    store.contents[vol.path()] = b'garbage'
    add_template(node, 'other')
    store.contents['/pool1/other.vmcat-template.json'] = meta.encode(meta.new_metadata('third', 'T'))
    found = dict((r.name, r) for r in meta.scan(node))
    assert found['bad'].meta is None and found['bad'].image is None
    assert any('does not hold template metadata' in p for p in found['bad'].problems)
    assert any("names template 'third'" in p for p in found['other'].problems)


def test_same_name_in_two_pools(node, store):
    node.virt.storagePoolCreateXML("<pool type='dir'><name>p2</name><target><path>/pool2</path></target></pool>", 0)
    add_template(node, 'deb')
    add_template(node, 'deb', 'p2')
    records = meta.scan(node, 'deb')
    assert [r.pool.name() for r in records] == ['p1', 'p2']
    assert 'also in p2' in records[0].problems[0] and 'also in p1' in records[1].problems[0]
    with pytest.raises(VmcatError) as err:
        meta.find_template(node, 'deb')
    assert 'registered in several pools' in err.value.msg and '(p1, p2)' in err.value.msg
    assert [r.name for r in meta.scan(node, pool_name='p2')] == ['deb']


def test_template_backing(node, store):
    add_template(node, 'deb')
    backing = meta.template_backing(node, 'deb')
    assert dict((k, backing[k]) for k in ('path', 'format', 'pool', 'name', 'capacity')) == dict(
        path='/pool1/deb.vmcat-template.img', format='qcow2', pool='p1', name='deb.vmcat-template.img',
        capacity=4 * MIB)


def test_template_volume_paths(node, store):
    add_template(node, 'deb')
    add_volume(pool_of(node), 'lost.vmcat-template.img')  # an image whose metadata is gone still counts
    assert meta.template_volume_paths(node) == {
        '/pool1/deb.vmcat-template.img', '/pool1/deb.vmcat-template.json', '/pool1/lost.vmcat-template.img'}


def test_stopped_pool_is_not_scanned_unless_named(node, store):
    add_template(node, 'deb')
    pool_of(node).destroy()
    assert meta.scan(node) == []
    with pytest.raises(VmcatError) as err:
        meta.scan(node, pool_name='p1')
    assert 'not running' in err.value.msg


# -- users ----------------------------------------------------------------------------------------------
def define_vm(conn, name, disks, start=False):
    dom = _xml.element('domain', type_='test')
    _xml.sub(dom, 'name', name)
    _xml.sub(dom, 'memory', 1024)
    _xml.sub(_xml.sub(dom, 'os'), 'type', 'hvm')
    devices = _xml.sub(dom, 'devices')
    for i, disk in enumerate(disks):
        el = _xml.sub(devices, 'disk', type_='volume' if isinstance(disk, tuple) else 'file', device='disk')
        if isinstance(disk, tuple):
            _xml.sub(el, 'source', pool=disk[0], volume=disk[1])
        elif isinstance(disk, dict):
            _xml.sub(el, 'source', file=disk['file'])
            store_el = _xml.sub(el, 'backingStore', type_='file')
            _xml.sub(store_el, 'format', type_='qcow2')
            _xml.sub(store_el, 'source', file=disk['backing'])
        else:
            _xml.sub(el, 'source', file=disk)
        _xml.sub(el, 'target', dev='vd' + 'abcdef'[i])
    domain = conn.virt.defineXML(_xml.to_string(dom))
    if start:
        domain.create()
    return domain


def test_usage_through_chains_and_vms(node, store):
    add_template(node, 'deb')
    pool = pool_of(node)
    image = '/pool1/deb.vmcat-template.img'
    add_volume(pool, 'c1.qcow2', fmt='qcow2', backing=image)
    add_volume(pool, 'c2.qcow2', fmt='qcow2', backing='/pool1/c1.qcow2')  # overlay on an overlay
    add_volume(pool, 'plain.qcow2', fmt='qcow2')
    define_vm(node, 'vm-a', ['/pool1/c2.qcow2'])
    define_vm(node, 'vm-b', [('p1', 'c1.qcow2')], start=True)
    define_vm(node, 'vm-c', [image])  # straight on the image
    define_vm(node, 'vm-d', [{'file': '/elsewhere/o.qcow2', 'backing': image}])  # outside pools, chain in the XML
    define_vm(node, 'vm-e', ['/pool1/plain.qcow2'])
    users = meta.UsageIndex(node).users(image)
    assert users['volumes'] == ['p1/c1.qcow2', 'p1/c2.qcow2']
    assert users['vms'] == ['vm-a', 'vm-b', 'vm-c', 'vm-d']
    assert users['running_vms'] == ['vm-b']
    assert users['images'] == {'/pool1/c1.qcow2', '/pool1/c2.qcow2', image, '/elsewhere/o.qcow2'}


def test_usage_of_unused_image(node, store):
    add_template(node, 'deb')
    users = meta.UsageIndex(node).users('/pool1/deb.vmcat-template.img')
    assert users == {'volumes': [], 'vms': [], 'running_vms': [], 'images': set()}


def test_backing_loops_end(node):
    index = meta.UsageIndex(node)
    index.backing_of = {'/a': '/b', '/b': '/a'}
    assert index.chain('/a') == ['/a', '/b']
