# -*- coding: utf-8 -*-
"""vmcat.libvirt.volume's template source, and _disks.create_disk_from_template (the vm module's entry).

Runs against a test:/// node file (pool p1 with v1.qcow2, 1 GiB) with the
stream fakes of tests/unit/fakes/volume.py; template 'deb' is registered from v1.qcow2.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._template import _template
from ansible_collections.vmcat.libvirt.plugins.module_utils._vm import _disks
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _template_store
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._connection import Connection
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput, NotFound, Refused
from ansible_collections.vmcat.libvirt.plugins.modules import template, volume, volume_info
from ansible_collections.vmcat.libvirt.tests.unit.helpers import fail, four_ways

GIB = 1024 ** 3
IMAGE = '/pool1/deb.vmcat-template.img'
BACKING = dict(path=IMAGE, format='qcow2', pool='p1', name='deb.vmcat-template.img')


@pytest.fixture
def deb(run_module, node_uri, store):
    """Template 'deb' registered from v1.qcow2; returns the node URI."""
    run_module(template, dict(uri=node_uri, name='deb', pool='p1', source=dict(volume='v1.qcow2')))
    return node_uri


def test_linked_clone_four_ways(run_module, deb):
    first, applied = four_ways(run_module, volume, dict(uri=deb, pool='p1', name='web.qcow2', template=dict(name='deb')), same='volume')[:2]
    assert first['actions'] == ['create'] == applied['actions']
    assert first['volume']['backing'] == BACKING == applied['volume']['backing']
    assert (applied['volume']['format'], applied['volume']['capacity']) == ('qcow2', GIB)
    assert first['volume']['capacity'] == GIB


def test_larger_linked_clone_four_ways(run_module, deb):
    first, applied = four_ways(run_module, volume, dict(uri=deb, pool='p1', name='web.qcow2', template=dict(name='deb'),
                                                        capacity='3G'), same='volume')[:2]
    assert first['volume']['capacity'] == 3 * GIB == applied['volume']['capacity']
    assert applied['volume']['backing'] == BACKING and applied['actions'] == ['create']


def test_full_copy_four_ways(run_module, deb):
    first, applied = four_ways(run_module, volume, dict(uri=deb, pool='p1', name='copy.qcow2',
                                                        template=dict(name='deb', linked=False)), same='volume')[:2]
    assert first['actions'] == ['clone'] and applied['volume']['backing'] is None
    assert (applied['volume']['format'], applied['volume']['capacity']) == ('qcow2', GIB)


def test_larger_raw_full_copy(run_module, deb, store):
    """A copy, then a resize (the test driver's fake resize is not kept, so only the first run is checked)."""
    args = dict(uri=deb, pool='p1', name='copy.raw', format='raw', capacity='2G', template=dict(name='deb', linked=False))
    first = run_module(volume, args, check_mode=True)
    assert first['actions'] == ['clone', 'resize']
    assert first['volume']['capacity'] == 2 * GIB and first['volume']['format'] == 'raw'
    applied = run_module(volume, args)
    assert applied['actions'] == ['clone', 'resize'] and applied['volume']['format'] == 'raw'
    assert ('resize', '/pool1/copy.raw', 2 * GIB, 0) in store.calls


@pytest.mark.parametrize('args, text', [
    (dict(name='small.qcow2', template=dict(name='deb'), capacity='1M'), 'smaller than the backing volume'),
    (dict(name='x.raw', template=dict(name='deb'), format='raw'), 'a linked clone of a template is a qcow2 overlay'),
    (dict(name='x.qcow2', template=dict(name='nope')), "template 'nope' not found on test://"),
    (dict(name='x.qcow2', template=dict(name='a/b')), "template.name 'a/b' is not a valid template name"),
    (dict(name='x.qcow2', template=dict(name='deb'), clone_from=dict(name='v1.qcow2')), 'mutually exclusive'),
])
def test_refusals_create_nothing(run_module, deb, args, text):
    msg = fail(run_module, volume, dict(args, uri=deb, pool='p1'))
    assert text in msg
    if 'not found' in text:
        assert 'templates: deb' in msg
    left = run_module(volume_info, dict(uri=deb, pool='p1'))['volumes']
    assert sorted(v['name'] for v in left) == ['deb.vmcat-template.img', 'deb.vmcat-template.json', 'v1.qcow2']


def test_existing_volume_must_be_that_clone(run_module, deb):
    run_module(volume, dict(uri=deb, pool='p1', name='web.qcow2', template=dict(name='deb')))
    run_module(volume, dict(uri=deb, pool='p1', name='copy.qcow2', template=dict(name='deb', linked=False)))
    msg = fail(run_module, volume, dict(uri=deb, pool='p1', name='web.qcow2', template=dict(name='deb', linked=False)))
    assert 'exists as a linked clone of template' in msg and 'not as the full copy' in msg
    msg = fail(run_module, volume, dict(uri=deb, pool='p1', name='copy.qcow2', template=dict(name='deb')))
    assert 'exists without a backing volume; it is not a linked clone of template' in msg
    msg = fail(run_module, volume, dict(uri=deb, pool='p1', name='v1.qcow2', template=dict(name='deb')))
    assert 'it is not a linked clone' in msg


def test_existing_clone_is_grown(run_module, deb, store):
    run_module(volume, dict(uri=deb, pool='p1', name='web.qcow2', template=dict(name='deb')))
    res = run_module(volume, dict(uri=deb, pool='p1', name='web.qcow2', template=dict(name='deb'), capacity='2G'))
    assert res['changed'] is True and res['actions'] == ['resize']
    assert ('resize', '/pool1/web.qcow2', 2 * GIB, 0) in store.calls


def test_clone_of_broken_template_is_refused(run_module, deb):
    run_module(volume, dict(uri=deb, pool='p1', name='deb.vmcat-template.img', state='absent'))
    msg = fail(run_module, volume, dict(uri=deb, pool='p1', name='web.qcow2', template=dict(name='deb')))
    assert "template 'deb' in pool 'p1'" in msg and 'cannot be used' in msg


# -- create_disk_from_template ------------------------------------------------------------------------------
def test_create_disk_from_template(deb, make_ctx):
    with Connection(deb) as conn:
        ctx = make_ctx(conn, {'name': 'web'}, check_mode=True)
        changed, view = _disks.create_disk_from_template(ctx, 'p1', 'web-vda.qcow2', 'deb', capacity=2 * GIB)
        assert changed is True and view['backing'] == BACKING and view['capacity'] == 2 * GIB
        assert ctx.actions == ["volume 'p1/web-vda.qcow2': create"]
        assert conn.volume(conn.require_pool('p1'), 'web-vda.qcow2') is None
        ctx = make_ctx(conn, {'name': 'web'})
        changed, real = _disks.create_disk_from_template(ctx, 'p1', 'web-vda.qcow2', 'deb', capacity='2G')
        assert changed is True and real['path'] == '/pool1/web-vda.qcow2' and real['backing'] == BACKING
        assert dict((k, view[k]) for k in ('path', 'format', 'capacity')) == \
            dict((k, real[k]) for k in ('path', 'format', 'capacity'))
        ctx = make_ctx(conn, {'name': 'web'})
        assert _disks.create_disk_from_template(ctx, 'p1', 'web-vda.qcow2', 'deb', capacity=2 * GIB) == (False, real)
        assert ctx.actions == []


def test_create_full_disk_from_template(deb, make_ctx):
    with Connection(deb) as conn:
        ctx = make_ctx(conn, {})
        changed, view = _disks.create_disk_from_template(ctx, 'p1', 'db.qcow2', 'deb', linked=False)
        assert changed is True and view['backing'] is None and ctx.actions == ["volume 'p1/db.qcow2': clone"]
        with pytest.raises(Refused):
            _disks.create_disk_from_template(make_ctx(conn, {}), 'p1', 'db.qcow2', 'deb', linked=True)


def test_create_disk_from_missing_template(deb, make_ctx):
    with Connection(deb) as conn:
        with pytest.raises(NotFound) as err:
            _disks.create_disk_from_template(make_ctx(conn, {}), 'p1', 'x.qcow2', 'nope')
        assert 'templates: deb' in err.value.msg
        with pytest.raises(InvalidInput):
            _disks.create_disk_from_template(make_ctx(conn, {}), 'p1', 'x.qcow2', 'deb', capacity='10QB')
        with pytest.raises(NotFound) as err:
            _disks.create_disk_from_template(make_ctx(conn, {}), 'nopool', 'x.qcow2', 'deb')
        assert 'existing pools: p1' in err.value.msg


def test_template_paths_and_find_for_the_vm_module(deb):
    with Connection(deb) as conn:
        assert _template_store.template_volume_paths(conn) == {IMAGE, '/pool1/deb.vmcat-template.json'}
        pool, image, doc = _template.find_template(conn, 'deb')
        assert (pool.name(), image.path(), doc['name']) == ('p1', IMAGE, 'deb')
        assert _template.find_template(conn, 'nope') is None
