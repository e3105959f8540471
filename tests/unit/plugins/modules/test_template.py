# -*- coding: utf-8 -*-
"""vmcat.libvirt.template and template_info run against a test:/// node file.

The node holds pool p1 (/pool1) with v1.qcow2 (1 GiB) and VM d1.  Streams,
which the test driver lacks, go to the fakes of tests/unit/fakes/volume.py (volume
contents by path; an unknown path reads as b'data' * 1024).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import itertools

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._template import _template
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _template_store
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import VmcatError
from ansible_collections.vmcat.libvirt.plugins.modules import template, template_info, volume, volume_info
from ansible_collections.vmcat.libvirt.tests.unit.helpers import DIFF_ALWAYS, add_node_vm, fail, file_disk, four_ways

GIB = 1024 ** 3
V1_SUM = 'sha256:' + hashlib.sha256(b'data' * 1024).hexdigest()


@pytest.fixture
def clock(monkeypatch):
    """Time stamps T1, T2, ... one per call."""
    ticks = itertools.count(1)
    monkeypatch.setattr(_template, 'now', lambda: 'T%d' % next(ticks))


def template_four_ways(run_module, args):
    """The shared four ways with a diff each time; the second apply must have nothing left to do."""
    results = four_ways(run_module, template, args, same='template', diff=DIFF_ALWAYS)
    assert results[3]['actions'] == []
    return results


def volume_names(run_module, uri):
    return sorted('%s/%s' % (v['pool'], v['name']) for v in run_module(volume_info, dict(uri=uri))['volumes'])


def templates(run_module, uri, **kw):
    return run_module(template_info, dict(uri=uri, **kw))['templates']


def register(run_module, uri, name='deb', **kw):
    args = dict(uri=uri, name=name, pool='p1', source=dict(volume='v1.qcow2'))
    args.update(kw)
    return run_module(template, args)


# -- registering ------------------------------------------------------------------------------------
def test_register_from_volume_four_ways(run_module, node_uri, store, clock):
    args = dict(uri=node_uri, name='deb', pool='p1', source=dict(volume='v1.qcow2'), format='qcow2',
                os=dict(name='debian', version='12'), features=dict(cloud_init=True), tags=['b', 'a', 'b'],
                description='Debian')
    first, applied = template_four_ways(run_module, args)[:2]
    assert first['actions'] == ['copy', 'write metadata'] == applied['actions']
    assert first['diff']['before'] == {} and applied['diff']['before'] == {}
    got = applied['template']
    assert dict((k, got[k]) for k in ('name', 'pool', 'volume', 'metadata_volume', 'path', 'format', 'virtual_size',
                                      'tags', 'description', 'usage_count', 'used_by', 'problems', 'sysprep')) == dict(
        name='deb', pool='p1', volume='deb.vmcat-template.img', metadata_volume='deb.vmcat-template.json',
        path='/pool1/deb.vmcat-template.img', format='qcow2', virtual_size=GIB, tags=['a', 'b'], description='Debian',
        usage_count=0, used_by=dict(volumes=[], vms=[]), problems=[], sysprep=None)
    assert got['os'] == dict(name='debian', version='12', arch=None)
    assert got['features'] == dict(cloud_init=True, guest_agent=False, virtio=False, uefi=False)
    assert got['source'] == dict(type='volume', pool='p1', volume='v1.qcow2', path='/pool1/v1.qcow2', checksum=None,
                                 url=None, vm=None, disk=None)
    assert (got['created'], got['updated']) == ('T2', 'T2')
    predicted = first['template']
    for key in ('name', 'pool', 'volume', 'path', 'format', 'virtual_size', 'mode', 'os', 'source', 'features', 'tags'):
        assert predicted[key] == got[key], key
    assert volume_names(run_module, node_uri) == ['p1/deb.vmcat-template.img', 'p1/deb.vmcat-template.json',
                                                  'p1/v1.qcow2']
    stored = _template_store.decode(store.contents['/pool1/deb.vmcat-template.json'], 'x')
    assert stored['tags'] == ['a', 'b'] and stored['virtual_size'] == GIB


def test_image_is_created_read_only(run_module, node_uri, store, monkeypatch):
    seen = []
    import libvirt
    original = libvirt.virStoragePool.createXMLFrom

    def spy(self, xml, source, flags=0):
        seen.append(_xml.text_of(_xml.parse(xml), 'target/permissions/mode'))
        return original(self, xml, source, flags)
    monkeypatch.setattr(libvirt.virStoragePool, 'createXMLFrom', spy)
    register(run_module, node_uri)
    assert seen == ['0444']


def test_register_from_node_file_with_checksum(run_module, node_uri, store):
    args = dict(uri=node_uri, name='deb', pool='p1', source=dict(path='/pool1/v1.qcow2', checksum=V1_SUM.upper()))
    first, applied = template_four_ways(run_module, args)[:2]
    assert first['actions'] == ['import', 'write metadata']
    assert applied['template']['source']['type'] == 'file'
    assert applied['template']['source']['checksum'] == V1_SUM
    assert [c[:2] for c in store.calls if c[1] == '/pool1/v1.qcow2'] == [('download', '/pool1/v1.qcow2')]  # verified


def test_wrong_checksum_of_node_file_leaves_nothing(run_module, node_uri, store):
    msg = fail(run_module, template, dict(uri=node_uri, name='deb', pool='p1',
                                          source=dict(path='/pool1/v1.qcow2', checksum='sha256:' + '0' * 64)))
    assert "checksum mismatch for node file '/pool1/v1.qcow2'" in msg and 'nothing was created' in msg
    assert volume_names(run_module, node_uri) == ['p1/v1.qcow2']


def test_missing_node_file(run_module, node_uri, store):
    msg = fail(run_module, template, dict(uri=node_uri, name='deb', pool='p1', source=dict(path='/elsewhere/x.img')))
    assert 'is not a file on the node' in msg
    assert volume_names(run_module, node_uri) == ['p1/v1.qcow2']


def test_register_from_url_four_ways(run_module, node_uri, store, http_dir):
    served, base = http_dir
    payload = b'QFI\xfb' + bytes(100)
    (served / 'img').write_bytes(payload)
    checksum = 'sha256:' + hashlib.sha256(payload).hexdigest()
    url = base + '/img'
    args = dict(uri=node_uri, name='cloud', pool='p1', source=dict(url=url, checksum=checksum, url_username='me',
                                                                   url_password='hunter2'))
    first, applied = template_four_ways(run_module, args)[:2]
    assert first['actions'] == ['download', 'write metadata']
    assert applied['template']['source']['url'] == base + '/img'
    assert applied['template']['source']['checksum'] == checksum
    assert store.contents['/pool1/cloud.vmcat-template.img'] == payload
    assert 'hunter2' not in repr(applied)


def test_wrong_url_checksum_leaves_nothing(run_module, node_uri, store, http_dir):
    served, base = http_dir
    (served / 'img').write_bytes(b'x' * 100)
    msg = fail(run_module, template, dict(uri=node_uri, name='cloud', pool='p1',
                                          source=dict(url=base + '/img', checksum='sha256:' + '0' * 64)))
    assert 'checksum mismatch' in msg
    assert volume_names(run_module, node_uri) == ['p1/v1.qcow2']


def test_url_of_other_format_is_removed(run_module, node_uri, store, http_dir):
    served, base = http_dir
    (served / 'img').write_bytes(b'x' * 100)
    msg = fail(run_module, template, dict(uri=node_uri, name='cloud', pool='p1', format='qcow2', source=dict(
        url=base + '/img', checksum='sha256:' + hashlib.sha256(b'x' * 100).hexdigest())))
    assert 'the downloaded image is raw, not qcow2; it was removed again' in msg
    assert volume_names(run_module, node_uri) == ['p1/v1.qcow2']


def test_url_needs_checksum(run_module, node_uri):
    msg = fail(run_module, template, dict(uri=node_uri, name='x', pool='p1', source=dict(url='http://127.0.0.1/x')))
    assert 'checksum' in msg


def test_register_from_shut_off_vm(run_module, node_uri, store):
    add_node_vm(node_uri, 'golden', file_disk('/pool1/v1.qcow2', 'vdb', 'qcow2')
                + '<disk type="file" device="cdrom"><target dev="hdc"/></disk>')
    args = dict(uri=node_uri, name='gold', pool='p1', source=dict(vm='golden'))
    first, applied = template_four_ways(run_module, args)[:2]
    assert first['actions'] == ['copy', 'write metadata']
    assert applied['template']['source'] == dict(type='vm', vm='golden', disk='vdb', path='/pool1/v1.qcow2',
                                                 checksum=None, url=None, pool=None, volume=None)
    assert applied['template']['format'] == 'qcow2'


def test_register_from_vm_disk_by_pool_volume(run_module, node_uri, store):
    add_node_vm(node_uri, 'golden', '<disk type="volume" device="disk"><source pool="p1" volume="v1.qcow2"/>'
                '<target dev="sda"/></disk>')
    res = run_module(template, dict(uri=node_uri, name='gold', pool='p1', source=dict(vm='golden', disk='sda')))
    assert res['template']['source']['pool'] == 'p1' and res['template']['source']['volume'] == 'v1.qcow2'


@pytest.mark.parametrize('source, running, text', [
    (dict(vm='golden'), True, "VM 'golden' on test://"),
    (dict(vm='golden', disk='vdz'), False, "VM 'golden' on test://"),
    (dict(vm='nope'), False, "VM 'nope' not found"),
])
def test_vm_source_refusals(run_module, node_uri, store, source, running, text):
    add_node_vm(node_uri, 'golden', file_disk('/pool1/v1.qcow2', 'vda', 'qcow2'), running=running)
    msg = fail(run_module, template, dict(uri=node_uri, name='gold', pool='p1', source=source))
    assert text in msg
    if running:
        assert 'is running (or paused)' in msg and 'shut it down first' in msg
    if source.get('disk'):
        assert 'has no disk vdz; its disks: vda' in msg
    assert volume_names(run_module, node_uri) == ['p1/v1.qcow2']


def test_vm_without_disk_source(run_module, node_uri, store):
    msg = fail(run_module, template, dict(uri=node_uri, name='gold', pool='p1', source=dict(vm='d1')))
    assert "VM 'd1'" in msg and 'has no disk (any)' in msg


@pytest.mark.parametrize('args, text', [
    (dict(name='../x', pool='p1', source=dict(volume='v1.qcow2')), 'is not a valid template name'),
    (dict(name='x'), 'give pool and source'),
    (dict(name='x', pool='p1'), 'give pool and source'),
    (dict(name='x', pool='nope', source=dict(volume='v1.qcow2')), 'existing pools: p1'),
    (dict(name='x', pool='p1', source=dict(volume='v1.qcow2', vm='d1')), 'mutually exclusive'),
    (dict(name='x', pool='p1', source=dict(checksum='sha256:' + '0' * 64)), 'one of the following is required'),
    (dict(name='x', pool='p1', source=dict(path='rel/x')), 'must be an absolute path'),
    (dict(name='x', pool='p1', source=dict(url='ftp://x/y', checksum='sha256:' + '0' * 64)), 'http:// or https://'),
    (dict(name='x', pool='p1', source=dict(volume='v1.qcow2', checksum='sha257:00')), 'must be'),
    (dict(name='x', pool='p1', source=dict(volume='nope')), "volume 'nope' not found in pool 'p1'"),
    (dict(name='x', pool='p1', source=dict(disk='vda', volume='v1.qcow2')), 'missing parameter(s) required by'),
    (dict(name='x', pool='p1', source=dict(volume='v1.qcow2'), tags=['a', ' ']), 'tags must not be empty'),
    (dict(name='x', pool='p1', source=dict(url='http://x/y', checksum='sha256:' + '0' * 64), sysprep=True),
     'sysprep applies to path, volume and vm sources'),
    (dict(name='x', pool='p1', source=dict(volume='v1.qcow2'), sysprep=True), 'works only on the node itself'),
])
def test_bad_input_changes_nothing(run_module, node_uri, store, args, text):
    args = dict(args, uri=node_uri)
    msg = fail(run_module, template, args)
    assert text in msg
    assert volume_names(run_module, node_uri) == ['p1/v1.qcow2']


def test_reserved_volume_name_is_refused(run_module, node_uri, store):
    run_module(volume, dict(uri=node_uri, pool='p1', name='deb.vmcat-template.img', capacity='1M'))
    msg = fail(run_module, template, dict(uri=node_uri, name='deb', pool='p1', source=dict(volume='v1.qcow2')))
    assert "volume 'deb.vmcat-template.img' already exists in pool 'p1'" in msg and 'interrupted registration' in msg


def test_failed_metadata_write_removes_the_image(run_module, node_uri, store, monkeypatch):
    def broken(*args):
        raise VmcatError('disk full')
    monkeypatch.setattr(_template_store, 'write_new_sidecar', broken)
    assert fail(run_module, template, dict(uri=node_uri, name='deb', pool='p1', source=dict(volume='v1.qcow2'))) == \
        'disk full'
    assert volume_names(run_module, node_uri) == ['p1/v1.qcow2']


# -- metadata ------------------------------------------------------------------------------------------
def test_metadata_update_four_ways(run_module, node_uri, store, clock):
    register(run_module, node_uri, os=dict(name='debian', version='11'), features=dict(virtio=True), tags=['x'])
    args = dict(uri=node_uri, name='deb', os=dict(version='12'), features=dict(guest_agent=True), tags=['y', 'x'],
                description='new')
    first, applied = template_four_ways(run_module, args)[:2]
    assert first['actions'] == ['update metadata'] == applied['actions']
    got = applied['template']
    assert got['os'] == dict(name='debian', version='12', arch=None)
    assert got['features'] == dict(cloud_init=False, guest_agent=True, virtio=True, uefi=False)
    assert (got['tags'], got['description']) == (['x', 'y'], 'new')
    assert (got['created'], got['updated']) == ('T1', 'T3')
    assert applied['diff']['before']['tags'] == ['x'] and applied['diff']['after']['tags'] == ['x', 'y']
    assert first['diff']['after']['tags'] == ['x', 'y']
    assert templates(run_module, node_uri, name='deb') == [got]
    assert [c for c in store.calls if c[0] == 'upload' and 'img' in c[1]] == []  # the image was never written


def test_pool_may_be_left_out_and_unset_options_change_nothing(run_module, node_uri, store):
    register(run_module, node_uri, tags=['x'], description='d')
    res = run_module(template, dict(uri=node_uri, name='deb'))
    assert res['changed'] is False and res['template']['tags'] == ['x'] and res['template']['description'] == 'd'
    assert run_module(template, dict(uri=node_uri, name='deb', pool='p1', source=dict(volume='v1.qcow2')))['changed'] \
        is False


@pytest.mark.parametrize('args, text', [
    (dict(source=dict(volume='v1.qcow2', checksum='sha256:' + '1' * 64)), 'the task gives checksum sha256:1111'),
    (dict(source=dict(path='/pool1/v1.qcow2')), 'was registered from volume p1/v1.qcow2; the task names node file'),
    (dict(source=dict(volume='other.qcow2')), 'the task names volume p1/other.qcow2'),
    (dict(pool='p2'), "is registered in pool 'p1', not 'p2'; templates do not move"),
    (dict(format='raw'), 'has a qcow2 image; changing its format is not possible'),
    (dict(sysprep=True), 'was registered without sysprep'),
])
def test_templates_are_immutable(run_module, node_uri, store, args, text):
    register(run_module, node_uri, source=dict(volume='v1.qcow2', checksum=V1_SUM))
    msg = fail(run_module, template, dict(args, uri=node_uri, name='deb'))
    assert text in msg
    assert 'templates are immutable' in msg or 'templates do not move' in msg


def test_checksums_are_compared_when_both_exist(run_module, node_uri, store):
    register(run_module, node_uri, source=dict(volume='v1.qcow2', checksum=V1_SUM))
    same_bytes_elsewhere = dict(uri=node_uri, name='deb', source=dict(path='/somewhere/else.img', checksum=V1_SUM))
    assert run_module(template, same_bytes_elsewhere)['changed'] is False
    other_algorithm = dict(volume='v1.qcow2', checksum='md5:' + '0' * 32)
    msg = fail(run_module, template, dict(uri=node_uri, name='deb', source=other_algorithm))
    assert 'give source.checksum as sha256 too' in msg


def test_broken_template_is_refused_until_removed(run_module, node_uri, store):
    register(run_module, node_uri)
    run_module(volume, dict(uri=node_uri, pool='p1', name='deb.vmcat-template.img', state='absent'))
    info = templates(run_module, node_uri)
    assert info[0]['path'] is None and 'its image volume' in info[0]['problems'][0]
    msg = fail(run_module, template, dict(uri=node_uri, name='deb', tags=['x']))
    assert 'is broken' in msg and 'remove it (state: absent) and register it again' in msg
    res = run_module(template, dict(uri=node_uri, name='deb', state='absent'))
    assert res['changed'] is True and res['actions'] == ['delete metadata']
    assert templates(run_module, node_uri) == []


# -- deleting -------------------------------------------------------------------------------------------
def test_delete_four_ways(run_module, node_uri, store):
    register(run_module, node_uri)
    first, applied = template_four_ways(run_module, dict(uri=node_uri, name='deb', state='absent'))[:2]
    assert first['actions'] == ['delete image', 'delete metadata']
    assert applied['template'] == {} and applied['diff']['before']['name'] == 'deb' and applied['diff']['after'] == {}
    assert 'orphaned' not in applied
    assert volume_names(run_module, node_uri) == ['p1/v1.qcow2']


def test_delete_used_template_needs_force(run_module, node_uri, store):
    register(run_module, node_uri)
    run_module(volume, dict(uri=node_uri, pool='p1', name='clone.qcow2', template=dict(name='deb')))
    add_node_vm(node_uri, 'web', file_disk('/pool1/clone.qcow2', 'vda', 'qcow2'))
    msg = fail(run_module, template, dict(uri=node_uri, name='deb', state='absent'))
    assert 'removal refused because volumes p1/clone.qcow2 use it as backing file and VMs web have disks on it' in msg
    assert 'force: true' in msg
    first = run_module(template, dict(uri=node_uri, name='deb', state='absent', force=True), check_mode=True)
    assert first['changed'] is True and first['orphaned'] == dict(volumes=['p1/clone.qcow2'], vms=['web'])
    res = run_module(template, dict(uri=node_uri, name='deb', state='absent', force=True))
    assert res['orphaned'] == dict(volumes=['p1/clone.qcow2'], vms=['web'])
    assert volume_names(run_module, node_uri) == ['p1/clone.qcow2', 'p1/v1.qcow2']  # the clone is not deleted


def test_running_vm_blocks_delete_even_with_force(run_module, node_uri, store):
    register(run_module, node_uri)
    run_module(volume, dict(uri=node_uri, pool='p1', name='clone.qcow2', template=dict(name='deb')))
    add_node_vm(node_uri, 'web', file_disk('/pool1/clone.qcow2', 'vda', 'qcow2'), running=True)
    msg = fail(run_module, template, dict(uri=node_uri, name='deb', state='absent', force=True))
    assert 'also with force: true, because running VMs use its image through their disks: web' in msg
    assert len(templates(run_module, node_uri)) == 1


def test_delete_missing_template_is_no_change(run_module, node_uri):
    res = run_module(template, dict(uri=node_uri, name='deb', state='absent'), diff=True)
    assert res['changed'] is False and res['template'] == {} and res['actions'] == []


# -- template_info ---------------------------------------------------------------------------------------
def test_template_info_filters(run_module, node_uri, store):
    register(run_module, node_uri, name='a1', tags=['linux', 'small'])
    register(run_module, node_uri, name='b2', tags=['linux'])
    assert [t['name'] for t in templates(run_module, node_uri)] == ['a1', 'b2']
    assert [t['name'] for t in templates(run_module, node_uri, tags=['linux', 'small'])] == ['a1']
    assert [t['name'] for t in templates(run_module, node_uri, tags=['nope'])] == []
    assert [t['name'] for t in templates(run_module, node_uri, name='b2')] == ['b2']
    assert templates(run_module, node_uri, name='zz') == []
    assert [t['name'] for t in templates(run_module, node_uri, pool='p1')] == ['a1', 'b2']
    res = run_module(template_info, dict(uri=node_uri), check_mode=True)
    assert res['changed'] is False and len(res['templates']) == 2


def test_template_info_bad_input(run_module, node_uri):
    assert 'existing pools: p1' in fail(run_module, template_info, dict(uri=node_uri, pool='nope'))
    assert 'not a valid template name' in fail(run_module, template_info, dict(uri=node_uri, name='a/b'))


def test_template_info_counts_users(run_module, node_uri, store):
    register(run_module, node_uri)
    run_module(volume, dict(uri=node_uri, pool='p1', name='c1.qcow2', template=dict(name='deb')))
    run_module(volume, dict(uri=node_uri, pool='p1', name='c2.qcow2', backing=dict(name='c1.qcow2')))
    run_module(volume, dict(uri=node_uri, pool='p1', name='full.qcow2', template=dict(name='deb', linked=False)))
    add_node_vm(node_uri, 'web', file_disk('/pool1/c2.qcow2', 'vda', 'qcow2'))
    got = templates(run_module, node_uri)[0]
    assert got['usage_count'] == 2
    assert got['used_by'] == dict(volumes=['p1/c1.qcow2', 'p1/c2.qcow2'], vms=['web'])


def test_volume_a_running_vm_writes_is_not_copied(run_module, node_uri, store):
    add_node_vm(node_uri, 'web', '<disk type="volume" device="disk"><source pool="p1" volume="v1.qcow2"/>'
                '<target dev="vda"/></disk>', running=True)
    msg = fail(run_module, template, dict(uri=node_uri, name='deb', pool='p1', source=dict(volume='v1.qcow2')))
    assert 'is a disk of the running VM web' in msg and 'shut the VM down first' in msg
    msg = fail(run_module, template, dict(uri=node_uri, name='deb', pool='p1', source=dict(path='/pool1/v1.qcow2')))
    assert 'is a disk of the running VM web' in msg
    assert volume_names(run_module, node_uri) == ['p1/v1.qcow2']


def test_read_only_disk_of_a_running_vm_may_be_copied(run_module, node_uri, store):
    add_node_vm(node_uri, 'web', file_disk('/pool1/v1.qcow2', 'vda', 'qcow2').replace('<target', '<readonly/><target'),
                running=True)
    assert register(run_module, node_uri)['changed'] is True


def test_absent_with_another_pool_is_refused(run_module, node_uri, store):
    register(run_module, node_uri)
    msg = fail(run_module, template, dict(uri=node_uri, name='deb', pool='p2', state='absent'))
    assert "is registered in pool 'p1', not 'p2'" in msg
    assert len(templates(run_module, node_uri)) == 1


def test_metadata_changed_by_another_task_since_the_read_is_read_again(
        run_module, node_uri, store, clock, monkeypatch):
    """The metadata is read again right before it is written; a change since the first read starts over."""
    register(run_module, node_uri, tags=['x'])
    real_read = _template_store.read_sidecar
    reads = []

    def read(conn, vol, pool):
        doc = real_read(conn, vol, pool)
        reads.append(doc)
        if len(reads) == 2:  # the check before the first write: another task set a description meanwhile
            return dict(doc, description='set by another task')
        return doc
    monkeypatch.setattr(_template_store, "read_sidecar", read)
    applied = run_module(template, dict(uri=node_uri, name='deb', tags=['y']))
    assert applied['changed'] is True and applied['template']['tags'] == ['y']
    assert len(reads) >= 4  # read, check (changed), then read and check again on the second try
