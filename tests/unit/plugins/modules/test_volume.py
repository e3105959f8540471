# -*- coding: utf-8 -*-
"""vmcat.libvirt.volume and volume_info run against a test:/// node file.

The node holds pool p1 (/pool1) with v1.qcow2 (1 GiB) and VM d1.  Streams,
wipe and resize, which the test driver lacks, go to the fakes in
tests/unit/fakes/volume.py through libvirt's own classes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os

import pytest

from ansible_collections.vmcat.libvirt.plugins.modules import pool, volume, volume_info
from ansible_collections.vmcat.libvirt.tests.unit.helpers import add_node_vm, fail, file_disk, four_ways

GIB = 1024 ** 3
MIB = 1024 ** 2


def volumes(run_module, uri, **kw):
    return run_module(volume_info, dict(uri=uri, **kw))['volumes']


def names(run_module, uri):
    return ['%s/%s' % (v['pool'], v['name']) for v in volumes(run_module, uri)]


# -- creating -------------------------------------------------------------------------
def test_blank_qcow2_four_ways(run_module, node_uri):
    args = dict(uri=node_uri, pool='p1', name='new.qcow2', capacity='10M')
    first, applied = four_ways(run_module, volume, args, same='volume')[:2]
    assert first['diff']['before'] == {}
    assert first['actions'] == ['create']
    predicted = first['volume']
    assert predicted['path'] == '/pool1/new.qcow2'
    assert (predicted['format'], predicted['capacity'], predicted['backing']) == ('qcow2', 10 * MIB, None)
    got = applied['volume']
    assert (got['name'], got['pool'], got['path'], got['format'], got['capacity']) == \
        ('new.qcow2', 'p1', '/pool1/new.qcow2', 'qcow2', 10 * MIB)
    assert got['used_by'] == [] and got['backing'] is None
    assert applied['diff']['after']['capacity'] == 10 * MIB


def test_blank_raw_fully_preallocated(run_module, node_uri):
    args = dict(uri=node_uri, pool='p1', name='full.raw', format='raw', capacity='4MiB', preallocation='full')
    applied = four_ways(run_module, volume, args, same='volume')[1]
    assert applied['volume']['format'] == 'raw'
    assert applied['volume']['allocation'] == applied['volume']['capacity'] == 4 * MIB


def test_linked_clone_four_ways(run_module, node_uri):
    args = dict(uri=node_uri, pool='p1', name='overlay.qcow2', backing=dict(name='v1.qcow2'))
    first, applied = four_ways(run_module, volume, args, same='volume')[:2]
    backing = dict(path='/pool1/v1.qcow2', format='qcow2', pool='p1', name='v1.qcow2')
    assert first['volume']['backing'] == backing
    assert applied['volume']['backing'] == backing
    assert applied['volume']['format'] == 'qcow2' and applied['volume']['capacity'] == GIB
    # the base cannot go while the overlay needs it
    msg = fail(run_module, volume, dict(uri=node_uri, pool='p1', name='v1.qcow2', state='absent'))
    assert 'backing volume of p1/overlay.qcow2' in msg and 'force: true' in msg


def test_linked_clone_smaller_than_backing_is_refused(run_module, node_uri):
    msg = fail(run_module, volume, dict(uri=node_uri, pool='p1', name='o.qcow2', backing=dict(name='v1.qcow2'),
                                        capacity='100M'))
    assert 'smaller than the backing volume' in msg
    assert names(run_module, node_uri) == ['p1/v1.qcow2']


def test_backing_path_outside_pools_needs_format(run_module, node_uri):
    msg = fail(run_module, volume, dict(uri=node_uri, pool='p1', name='o.qcow2', capacity='1G',
                                        backing=dict(path='/srv/base.img')))
    assert 'give backing.format' in msg
    res = run_module(volume, dict(uri=node_uri, pool='p1', name='o.qcow2', capacity='1G',
                                  backing=dict(path='/srv/base.img', format='raw')))
    assert res['volume']['backing'] == dict(path='/srv/base.img', format='raw', pool=None, name=None)


def test_full_clone_four_ways(run_module, node_uri):
    # the test driver copies within one pool only; the integration target copies across pools
    args = dict(uri=node_uri, pool='p1', name='copy.qcow2', clone_from=dict(pool='p1', name='v1.qcow2'))
    first, applied = four_ways(run_module, volume, args, same='volume')[:2]
    assert first['actions'] == ['clone']
    assert (applied['volume']['path'], applied['volume']['format'], applied['volume']['capacity']) == \
        ('/pool1/copy.qcow2', 'qcow2', GIB)
    assert applied['volume']['backing'] is None


def test_clone_of_missing_volume_lists_what_exists(run_module, node_uri):
    msg = fail(run_module, volume, dict(uri=node_uri, pool='p1', name='c.qcow2', clone_from=dict(name='nope')))
    assert "volume 'nope' not found in pool 'p1'" in msg and 'existing volumes: v1.qcow2' in msg


def test_a_copy_across_pools_on_the_test_driver_names_its_limit(run_module, node_uri):
    """The test driver looks a copy's source up in the target pool: that said 'check that the pool has room'."""
    run_module(pool, dict(uri=node_uri, name='p2', target=dict(path='/pool2')))
    for check_mode in (True, False):
        msg = fail(run_module, volume, dict(uri=node_uri, pool='p2', name='c.qcow2',
                                            clone_from=dict(pool='p1', name='v1.qcow2')), check_mode=check_mode)
        assert "libvirt's test driver cannot copy volume 'v1.qcow2' of pool 'p1' into another pool" in msg
        assert 'has room' not in msg


def test_a_clone_source_gone_meanwhile_says_so(run_module, node_uri, monkeypatch):
    """A source removed behind libvirt's back (createXMLFrom: no storage vol) got 'check that the pool has room'."""
    import libvirt

    def gone(self, xml, source, flags=0):
        exc = libvirt.libvirtError("Storage volume not found: no storage vol with matching path '/pool1/v1.qcow2'")
        exc.err = (libvirt.VIR_ERR_NO_STORAGE_VOL, libvirt.VIR_FROM_STORAGE, exc.args[0], 2, None, None, None, 0, 0)
        raise exc
    monkeypatch.setattr(libvirt.virStoragePool, 'createXMLFrom', gone)
    msg = fail(run_module, volume, dict(uri=node_uri, pool='p1', name='c.qcow2', clone_from=dict(name='v1.qcow2')))
    assert "the source volume 'v1.qcow2' is gone" in msg and 'has room' not in msg


def test_missing_volume_without_source_says_how_to_create(run_module, node_uri):
    msg = fail(run_module, volume, dict(uri=node_uri, pool='p1', name='ghost.qcow2'))
    assert 'does not exist' in msg and 'give capacity' in msg


# -- refusals before anything happens --------------------------------------------------------
@pytest.mark.parametrize('bad', ['../x', 'a/b', '', '.hidden', 'x..y'])
def test_bad_names_are_refused(run_module, node_uri, bad):
    msg = fail(run_module, volume, dict(uri=node_uri, pool='p1', name=bad, capacity='1M'))
    assert 'is not a valid volume name' in msg
    assert names(run_module, node_uri) == ['p1/v1.qcow2']


def test_bad_unit_is_refused(run_module, node_uri):
    msg = fail(run_module, volume, dict(uri=node_uri, pool='p1', name='x.qcow2', capacity='10QB'))
    assert "unknown unit 'QB'" in msg


@pytest.mark.parametrize('capacity', ['1.5', '0.5'])
def test_a_fraction_of_a_byte_is_refused(run_module, node_uri, capacity):
    """capacity: 1.5 made a 1-byte volume."""
    for check_mode in (True, False):
        msg = fail(run_module, volume, dict(uri=node_uri, pool='p1', name='x.qcow2', capacity=capacity),
                   check_mode=check_mode)
        assert 'whole numbers of bytes' in msg and '%sG' % capacity in msg
    assert names(run_module, node_uri) == ['p1/v1.qcow2']


def test_capacity_beyond_libvirts_limit_is_refused_by_the_size_parser(run_module, node_uri):
    """A 26-digit capacity reached libvirt and failed as 'malformed capacity element; check that the pool has room'."""
    msg = fail(run_module, volume, dict(uri=node_uri, pool='p1', name='x.qcow2', capacity='1' * 26))
    assert "libvirt's limit of 18446744073709551615 bytes" in msg and 'has room' not in msg


@pytest.mark.parametrize('args', [
    dict(name='x.qcow2', capacity='1E'),
    dict(name='x.raw', format='raw', capacity='100P'),
    dict(name='x.qcow2', capacity='101G'),
    dict(name='o.qcow2', backing=dict(name='v1.qcow2'), capacity='1E'),
    dict(name='c.qcow2', clone_from=dict(name='v1.qcow2'), capacity='200G'),
    dict(name='v1.qcow2', capacity='1P'),  # growing an existing volume
])
def test_capacity_larger_than_the_whole_pool_is_refused_before_any_change(run_module, node_uri, args):
    """1E and 100P were created in a 100 GiB pool without a word."""
    for check_mode in (True, False):
        msg = fail(run_module, volume, dict(uri=node_uri, pool='p1', **args), check_mode=check_mode)
        assert "volume '%s' in pool 'p1' on %s" % (args['name'], node_uri) in msg
        assert 'larger than the whole pool (100 GiB)' in msg and 'give a capacity up to 100 GiB' in msg
    assert names(run_module, node_uri) == ['p1/v1.qcow2']
    assert volumes(run_module, node_uri)[0]['capacity'] == GIB


def test_sparse_capacity_beyond_the_free_space_is_made_with_a_warning(run_module, node_uri, warnings):
    """p1 has 100 GiB, 1 GiB of it used by v1.qcow2: 99.5G does not fit now, but a sparse volume is legal."""
    args = dict(uri=node_uri, pool='p1', name='big.qcow2', capacity='99.5G')
    assert run_module(volume, args, check_mode=True)['changed'] is True
    assert len(warnings) == 1
    assert run_module(volume, args)['changed'] is True
    assert len(warnings) == 2 and warnings[0] == warnings[1]
    assert "volume 'big.qcow2' in pool 'p1'" in warnings[0]
    assert 'is more than the pool has free now (99 GiB of 100 GiB)' in warnings[0] and 'sparse' in warnings[0]
    assert run_module(volume, args)['changed'] is False and len(warnings) == 2  # no change, no warning


def test_preallocated_capacity_beyond_the_free_space_warns_that_it_needs_the_space_now(run_module, node_uri, warnings):
    run_module(volume, dict(uri=node_uri, pool='p1', name='big.raw', format='raw', capacity='99.5G',
                            preallocation='falloc'), check_mode=True)
    assert len(warnings) == 1 and 'preallocation needs all of it at once' in warnings[0]


def test_a_capacity_that_fits_gives_no_warning(run_module, node_uri, warnings):
    run_module(volume, dict(uri=node_uri, pool='p1', name='small.qcow2', capacity='10G'))
    assert warnings == []


def test_missing_pool_lists_pools(run_module, node_uri):
    msg = fail(run_module, volume, dict(uri=node_uri, pool='nope', name='x.qcow2', capacity='1M'))
    assert "pool 'nope' not found" in msg and 'existing pools: p1' in msg


def test_inactive_pool_is_reported(run_module, node_uri):
    run_module(pool, dict(uri=node_uri, name='p1', active=False))
    msg = fail(run_module, volume, dict(uri=node_uri, pool='p1', name='x.qcow2', capacity='1M'))
    assert 'is not running' in msg


@pytest.mark.parametrize('args, text', [
    (dict(format='raw', capacity='1M', preallocation='metadata'), 'metadata applies to qcow2'),
    (dict(capacity='1M', preallocation='full'), 'full is not supported for qcow2'),
    (dict(backing=dict(name='v1.qcow2'), format='raw'), 'qcow2 overlay'),
    (dict(url='ftp://example.invalid/x', checksum='sha256:' + '0' * 64), 'http:// or https://'),
    (dict(url='http://127.0.0.1/x', checksum='sha256:abc'), 'expected 64 hex digits'),
    (dict(capacity='1M', wipe=True), 'needs state: absent'),
    (dict(import_path='relative/file.img'), 'absolute path'),
    (dict(capacity='0'), 'larger than 0'),
])
def test_bad_combinations_are_refused(run_module, node_uri, args, text):
    msg = fail(run_module, volume, dict(uri=node_uri, pool='p1', name='x.img', **args))
    assert text in msg
    assert names(run_module, node_uri) == ['p1/v1.qcow2']


def test_sources_are_mutually_exclusive(run_module, node_uri):
    msg = fail(run_module, volume, dict(uri=node_uri, pool='p1', name='x', clone_from=dict(name='v1.qcow2'),
                                        backing=dict(name='v1.qcow2')))
    assert 'mutually exclusive' in msg


# -- existing volumes -----------------------------------------------------------------------
def test_other_format_is_refused_not_recreated(run_module, node_uri):
    msg = fail(run_module, volume, dict(uri=node_uri, pool='p1', name='v1.qcow2', format='raw', capacity='1G'))
    assert 'exists with format qcow2; changing format is not supported, remove it first' in msg


def test_other_backing_is_refused(run_module, node_uri):
    run_module(volume, dict(uri=node_uri, pool='p1', name='base2.qcow2', capacity='2G'))
    run_module(volume, dict(uri=node_uri, pool='p1', name='o.qcow2', backing=dict(name='v1.qcow2')))
    msg = fail(run_module, volume, dict(uri=node_uri, pool='p1', name='o.qcow2', backing=dict(name='base2.qcow2')))
    assert 'exists with backing /pool1/v1.qcow2 (qcow2); changing it to p1/base2.qcow2 is not supported' in msg
    msg = fail(run_module, volume, dict(uri=node_uri, pool='p1', name='base2.qcow2', backing=dict(name='v1.qcow2')))
    assert 'exists without a backing volume' in msg


def test_existing_volume_with_source_options_is_left_alone(run_module, node_uri):
    res = run_module(volume, dict(uri=node_uri, pool='p1', name='v1.qcow2', clone_from=dict(name='x')))
    assert res['changed'] is False and res['volume']['capacity'] == GIB


def test_unset_options_leave_volume_alone(run_module, node_uri):
    res = run_module(volume, dict(uri=node_uri, pool='p1', name='v1.qcow2'), diff=True)
    assert res['changed'] is False
    assert res['diff']['before'] == res['diff']['after'] == res['volume']


def test_shrink_is_refused(run_module, node_uri):
    msg = fail(run_module, volume, dict(uri=node_uri, pool='p1', name='v1.qcow2', capacity='512M'))
    assert 'shrinking it to 512 MiB' in msg and 'allow_shrink: true' in msg


def test_grow_and_shrink_call_resize(run_module, node_uri, store):
    grow = dict(uri=node_uri, pool='p1', name='v1.qcow2', capacity='2G')
    checked = run_module(volume, grow, check_mode=True, diff=True)
    assert checked['changed'] is True and checked['actions'] == ['resize']
    assert checked['diff']['before']['capacity'] == GIB and checked['diff']['after']['capacity'] == 2 * GIB
    assert store.calls == []
    run_module(volume, grow)
    assert store.calls == [('resize', '/pool1/v1.qcow2', 2 * GIB, 0)]
    run_module(volume, dict(uri=node_uri, pool='p1', name='v1.qcow2', capacity='512M', allow_shrink=True))
    assert store.calls[-1] == ('resize', '/pool1/v1.qcow2', 512 * MIB, 4)


def test_an_unsupported_resize_says_so_not_locks(run_module, node_uri):
    """The test driver has no virStorageVolResize: the advice was about locks held by running VMs."""
    msg = fail(run_module, volume, dict(uri=node_uri, pool='p1', name='v1.qcow2', capacity='2G'))
    assert 'could not resize' in msg and 'cannot resize volumes' in msg and "pool 'p1'" in msg
    assert 'lock' not in msg


def test_qcow2_capacity_rounding_is_not_a_change(run_module, node_uri):
    args = dict(uri=node_uri, pool='p1', name='odd.qcow2', capacity='1000')
    first = run_module(volume, args, check_mode=True)
    assert first['volume']['capacity'] == 1024


# -- deleting --------------------------------------------------------------------------------
def test_delete_four_ways(run_module, node_uri):
    args = dict(uri=node_uri, pool='p1', name='v1.qcow2', state='absent')
    first, applied = four_ways(run_module, volume, args, same='volume')[:2]
    assert first['diff']['before']['name'] == 'v1.qcow2' and first['diff']['after'] == {}
    assert applied['volume'] == {} and applied['actions'] == ['delete']
    assert names(run_module, node_uri) == []


def test_delete_in_use_is_refused_unless_forced(run_module, node_uri):
    add_node_vm(node_uri, 'web1', file_disk('/pool1/v1.qcow2'), running=True)
    args = dict(uri=node_uri, pool='p1', name='v1.qcow2', state='absent')
    msg = fail(run_module, volume, args)
    assert 'delete refused because VMs use it: web1' in msg
    assert names(run_module, node_uri) == ['p1/v1.qcow2']
    assert volumes(run_module, node_uri)[0]['used_by'] == ['web1']
    res = run_module(volume, dict(args, force=True))
    assert res['changed'] is True and names(run_module, node_uri) == []


def test_delete_with_wipe(run_module, node_uri, store):
    res = run_module(volume, dict(uri=node_uri, pool='p1', name='v1.qcow2', state='absent', wipe=True,
                                  wipe_algorithm='nnsa'))
    assert res['actions'] == ['wipe', 'delete']
    assert store.calls == [('wipe', '/pool1/v1.qcow2', 1)]
    assert run_module(volume, dict(uri=node_uri, pool='p1', name='v1.qcow2', state='absent', wipe=True))['changed'] is False


# -- wiped ---------------------------------------------------------------------------------------
def test_wiped_four_ways(run_module, node_uri, store):
    run_module(volume, dict(uri=node_uri, pool='p1', name='scratch.raw', format='raw', capacity='1M',
                            preallocation='falloc'))
    first, applied = four_ways(run_module, volume, dict(uri=node_uri, pool='p1', name='scratch.raw', state='wiped'), same='volume')[:2]
    assert first['actions'] == ['wipe']
    assert store.content('/pool1/scratch.raw') == bytes(4096)


def test_wiped_refuses_qcow2(run_module, node_uri, store):
    msg = fail(run_module, volume, dict(uri=node_uri, pool='p1', name='v1.qcow2', state='wiped'))
    assert 'has format qcow2; wiping would overwrite the qcow2 header' in msg


# -- upload, URL import, download -----------------------------------------------------------
def test_upload_four_ways_then_download(run_module, node_uri, store, tmp_path):
    src = tmp_path / 'disk.img'
    with open(str(src), 'wb') as f:
        f.write(b'\x01' * 5000)
        f.seek(3 * MIB)
        f.write(b'end')
    args = dict(uri=node_uri, pool='p1', name='up.raw', src=str(src), format='raw')
    first, applied = four_ways(run_module, volume, args, same='volume')[:2]
    assert first['actions'] == ['upload'] and first['volume']['capacity'] == os.path.getsize(str(src))
    assert applied['volume']['format'] == 'raw'
    assert store.content('/pool1/up.raw') == src.read_bytes()
    dest = tmp_path / 'copy.img'
    down = dict(uri=node_uri, pool='p1', name='up.raw', dest=str(dest))
    first, applied, dummy, again = four_ways(run_module, volume, down, same='volume')
    assert first['actions'] == ['download'] and 'checksum' not in first
    assert dest.read_bytes() == src.read_bytes()
    assert applied['checksum'] == again['checksum'] == 'sha256:' + hashlib.sha256(src.read_bytes()).hexdigest()
    assert oct(os.stat(str(dest)).st_mode & 0o777) == oct(0o600)
    dest.write_bytes(b'changed')
    assert run_module(volume, down)['changed'] is True
    assert dest.read_bytes() == src.read_bytes()


def test_upload_src_missing_fails_early(run_module, node_uri, tmp_path):
    msg = fail(run_module, volume, dict(uri=node_uri, pool='p1', name='x.raw', src=str(tmp_path / 'nope')))
    assert 'is not a file on the host running the module' in msg


def test_check_mode_upload_predicts_from_the_controller_probe(run_module, node_uri, store):
    """In check mode on a remote host the action plugin sends src's format and size, not the file."""
    args = dict(uri=node_uri, pool='p1', name='up.qcow2', src='/controller/only/disk.qcow2',
                _src_probe={'format': 'qcow2', 'size': 5 * MIB})
    result = run_module(volume, args, check_mode=True, diff=True)
    assert result['changed'] and result['actions'] == ['upload']
    assert (result['volume']['format'], result['volume']['capacity']) == ('qcow2', 5 * MIB)
    assert 'up.qcow2' not in [v['name'] for v in volumes(run_module, node_uri, pool='p1')]
    asked = run_module(volume, args, diff=True)
    assert asked['changed'] is False and asked['upload_needed'] is True and asked['actions'] == []
    assert 'up.qcow2' not in [v['name'] for v in volumes(run_module, node_uri, pool='p1')]


def test_probe_of_an_existing_volume_does_the_task_without_the_bytes(run_module, node_uri):
    args = dict(uri=node_uri, pool='p1', name='v1.qcow2', src='/controller/only/disk.qcow2',
                _src_probe={'format': 'qcow2', 'size': 5 * MIB})
    result = run_module(volume, args)
    assert result['changed'] is False and 'upload_needed' not in result and result['volume']['name'] == 'v1.qcow2'


def test_upload_of_other_format_is_removed(run_module, node_uri, store, tmp_path):
    src = tmp_path / 'disk.img'
    src.write_bytes(b'\x01' * 1000)
    msg = fail(run_module, volume, dict(uri=node_uri, pool='p1', name='x.qcow2', src=str(src), format='qcow2'))
    assert 'holds a raw image, not qcow2; the new volume was removed again' in msg
    assert names(run_module, node_uri) == ['p1/v1.qcow2']


def test_url_import_four_ways(run_module, node_uri, store, http_dir):
    served, base = http_dir
    payload = os.urandom(3000)
    (served / 'image.raw').write_bytes(payload)
    args = dict(uri=node_uri, pool='p1', name='web.raw', url=base + '/image.raw',
                checksum='sha256:' + hashlib.sha256(payload).hexdigest(), url_password='hunter2', url_username='me')
    first, applied = four_ways(run_module, volume, args, same='volume')[:2]
    assert first['actions'] == ['download']
    assert applied['volume']['format'] == 'raw' and applied['volume']['capacity'] == 3000
    assert store.content('/pool1/web.raw') == payload
    assert 'hunter2' not in repr(applied)


@pytest.mark.parametrize('algorithm', ['sha512', 'sha1', 'md5'])
def test_url_import_other_algorithms(run_module, node_uri, store, http_dir, algorithm):
    served, base = http_dir
    (served / 'a.raw').write_bytes(b'abc' * 100)
    digest = hashlib.new(algorithm, b'abc' * 100).hexdigest()
    res = run_module(volume, dict(uri=node_uri, pool='p1', name='a.raw', url=base + '/a.raw',
                                  checksum='%s:%s' % (algorithm.upper(), digest)))
    assert res['changed'] is True


def test_url_import_wrong_checksum_leaves_nothing(run_module, node_uri, store, http_dir):
    served, base = http_dir
    (served / 'image.raw').write_bytes(b'x' * 2000)
    msg = fail(run_module, volume, dict(uri=node_uri, pool='p1', name='web.raw', url=base + '/image.raw',
                                        checksum='sha256:' + '0' * 64))
    assert 'checksum mismatch' in msg and 'removed' in msg
    assert names(run_module, node_uri) == ['p1/v1.qcow2']


def test_url_import_http_error_creates_nothing(run_module, node_uri, store, http_dir):
    base = http_dir[1]
    url = base.replace('http://', 'http://me:secret@') + '/missing.raw'
    msg = fail(run_module, volume, dict(uri=node_uri, pool='p1', name='web.raw', url=url,
                                        checksum='sha256:' + '0' * 64))
    assert 'HTTP 404' in msg and 'nothing was created' in msg and 'secret' not in msg
    assert names(run_module, node_uri) == ['p1/v1.qcow2']


def test_url_needs_checksum(run_module, node_uri):
    msg = fail(run_module, volume, dict(uri=node_uri, pool='p1', name='x', url='http://127.0.0.1/x'))
    assert 'checksum' in msg


# -- import from a node file ----------------------------------------------------------------
def test_import_known_node_file_four_ways(run_module, node_uri):
    args = dict(uri=node_uri, pool='p1', name='imported.qcow2', import_path='/pool1/v1.qcow2')
    first, applied = four_ways(run_module, volume, args, same='volume')[:2]
    assert first['actions'] == ['import'] and first['volume']['capacity'] is None
    assert applied['volume']['format'] == 'qcow2' and applied['volume']['capacity'] == GIB


def test_import_missing_node_file_leaves_no_pool(run_module, node_uri):
    msg = fail(run_module, volume, dict(uri=node_uri, pool='p1', name='i.raw', import_path='/elsewhere/file.img'))
    assert "import_path '/elsewhere/file.img' is not a file on the node" in msg
    pools = run_module(pool_info_module(), dict(uri=node_uri))['pools']
    assert [p['name'] for p in pools] == ['p1']


def pool_info_module():
    from ansible_collections.vmcat.libvirt.plugins.modules import pool_info
    return pool_info


# -- volume_info ------------------------------------------------------------------------------
def test_volume_info_shapes(run_module, node_uri):
    run_module(pool, dict(uri=node_uri, name='p2', target=dict(path='/pool2')))
    run_module(volume, dict(uri=node_uri, pool='p2', name='o.qcow2', backing=dict(pool='p1', name='v1.qcow2')))
    add_node_vm(node_uri, 'web1', file_disk('/pool2/o.qcow2'), running=True)
    every = volumes(run_module, node_uri)
    assert [(v['pool'], v['name']) for v in every] == [('p1', 'v1.qcow2'), ('p2', 'o.qcow2')]
    overlay = every[1]
    assert overlay['backing'] == dict(path='/pool1/v1.qcow2', format='qcow2', pool='p1', name='v1.qcow2')
    assert overlay['used_by'] == ['web1'] and every[0]['used_by'] == []
    assert set(overlay) == {'name', 'pool', 'path', 'key', 'type', 'format', 'capacity', 'allocation', 'physical',
                            'backing', 'used_by'}
    assert [v['name'] for v in volumes(run_module, node_uri, pool='p2')] == ['o.qcow2']
    assert [v['pool'] for v in volumes(run_module, node_uri, name='v1.qcow2')] == ['p1']
    assert volumes(run_module, node_uri, name='ghost') == []
    msg = fail(run_module, volume_info, dict(uri=node_uri, pool='nope'))
    assert 'existing pools: p1, p2' in msg
    assert run_module(volume_info, dict(uri=node_uri), check_mode=True)['changed'] is False
