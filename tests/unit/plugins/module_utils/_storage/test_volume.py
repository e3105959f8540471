# -*- coding: utf-8 -*-
"""Pure helpers of _volume: names, sizes, preallocation, XML, and describe() on the test driver."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _volume
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _volume_read
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _volume_plan
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._connection import Connection
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput

MIB = 1024 ** 2


def params(**kw):
    base = dict(name='v.qcow2', pool='p1', state='present', format=None, capacity=None, preallocation=None,
                backing=None, clone_from=None, import_path=None, url=None, checksum=None, src=None, dest=None,
                wipe=False, wipe_algorithm='zero')
    base.update(kw)
    return base


@pytest.mark.parametrize('name', ['disk.qcow2', 'a-b_c.1.raw', 'x', 'web1 data.img'])
def test_good_names(name):
    assert _volume.check_name(name) == name


@pytest.mark.parametrize('name', ['', None, '.', '..', '../x', 'a/b', '/abs', '.hidden', 'x..y', 'nul\0'])
def test_bad_names(name):
    with pytest.raises(InvalidInput) as err:
        _volume.check_name(name, 'clone_from.name')
    assert 'clone_from.name' in err.value.msg


@pytest.mark.parametrize('fmt, mode, expected', [
    ('qcow2', None, (0, 0)),
    ('qcow2', 'off', (0, 0)),
    ('qcow2', 'metadata', (0, 1)),
    ('qcow2', 'falloc', (10 * MIB, 1)),
    ('raw', 'off', (0, 0)),
    ('raw', 'falloc', (10 * MIB, 0)),
    ('raw', 'full', (10 * MIB, 0)),
])
def test_allocation_plan(fmt, mode, expected):
    assert _volume.allocation_plan(fmt, 10 * MIB, mode) == expected


@pytest.mark.parametrize('fmt, mode, text', [
    ('qcow2', 'full', 'use falloc'),
    ('raw', 'metadata', 'qcow2 volumes only'),
])
def test_allocation_plan_refusals(fmt, mode, text):
    with pytest.raises(InvalidInput) as err:
        _volume.allocation_plan(fmt, MIB, mode)
    assert text in err.value.msg


@pytest.mark.parametrize('value, expected', [
    ('10G', 10 * 1024 ** 3), ('10GB', 10 * 10 ** 9), ('512MiB', 512 * MIB), ('1.5 TiB', 3 * 1024 ** 4 // 2),
    ('4096', 4096), (None, None),
])
def test_validate_parses_capacity(value, expected):
    assert _volume.validate(params(capacity=value)) == expected


@pytest.mark.parametrize('value', ['10QB', 'ten', '-1G', '1G2'])
def test_validate_rejects_sizes(value):
    with pytest.raises(InvalidInput):
        _volume.validate(params(capacity=value))


def test_validate_checks_state_specific_options():
    with pytest.raises(InvalidInput, match='state: wiped always writes zeros'):
        _volume.validate(params(state='wiped', wipe_algorithm='random'))
    with pytest.raises(InvalidInput, match='dest'):
        _volume.validate(params(state='absent', dest='/tmp/x'))
    with pytest.raises(InvalidInput, match='preallocation applies to volumes libvirt creates'):
        _volume.validate(params(src='/tmp/x', preallocation='falloc'))
    with pytest.raises(InvalidInput, match='backing.path must be an absolute path'):
        _volume.validate(params(backing=dict(path='base.img')))
    assert _volume.validate(params(state='absent', wipe=True, wipe_algorithm='gutmann')) is None


def test_volume_xml_blank():
    got = _volume_plan.volume_xml('d.qcow2', 10 * MIB, 'qcow2', 0)
    expected = _xml.parse(
        "<volume><name>d.qcow2</name><capacity unit='bytes'>10485760</capacity>"
        "<allocation unit='bytes'>0</allocation><target><format type='qcow2'/></target></volume>")
    assert _xml.equal(got, expected)


def test_volume_xml_overlay_escapes_names():
    got = _volume_plan.volume_xml('a&b<c>', MIB, 'qcow2', None, dict(path='/p/base "1".img', format='raw'))
    root = _xml.parse(_xml.to_string(got))
    assert _xml.text_of(root, 'name') == 'a&b<c>'
    assert root.find('allocation') is None
    assert _xml.text_of(root, 'backingStore/path') == '/p/base "1".img'
    assert _xml.attr_of(root, 'backingStore/format', 'type') == 'raw'


@pytest.mark.parametrize('wanted, fmt, expected', [
    (1000, 'qcow2', 1024), (1024, 'qcow2', 1024), (1000, 'raw', 1000), (None, 'qcow2', None), (1, None, 1),
])
def test_target_capacity(wanted, fmt, expected):
    assert _volume.target_capacity(wanted, fmt) == expected


def test_same_format_treats_iso_as_raw():
    assert _volume._same_format('iso', 'raw')
    assert _volume._same_format('qcow2', 'qcow2')
    assert not _volume._same_format('raw', 'qcow2')
    assert not _volume._same_format('qcow2', 'raw')


def test_describe_and_dependents(node_uri):
    with Connection(node_uri) as conn:
        pool = conn.require_pool('p1')
        pool.createXML(_xml.to_string(_volume_plan.volume_xml(
            'o.qcow2', 1024 ** 3, 'qcow2', 0, dict(path='/pool1/v1.qcow2', format='qcow2'))), 0)
        view = _volume_read.describe(conn, 'p1', conn.volume(pool, 'o.qcow2'))
        assert view['backing'] == dict(path='/pool1/v1.qcow2', format='qcow2', pool='p1', name='v1.qcow2')
        assert (view['type'], view['key'], view['allocation']) == ('file', '/pool1/o.qcow2', 0)
        assert _volume_read.backing_dependents(conn, '/pool1/v1.qcow2') == ['p1/o.qcow2']
        assert _volume_read.backing_dependents(conn, '/pool1/o.qcow2') == []


class _GoneError(Exception):
    def get_error_code(self):
        import libvirt
        return libvirt.VIR_ERR_NO_DOMAIN


class _Dom:
    def __init__(self, name, xml=None):
        self._name, self._xml = name, xml

    def name(self):
        return self._name

    def XMLDesc(self, flags=0):
        if self._xml is None:
            raise _GoneError('Domain not found')
        return self._xml

    def isActive(self):
        return False

    def isPersistent(self):
        return True


def test_users_index_skips_vms_that_vanish():
    from ansible_collections.vmcat.libvirt.plugins.module_utils._core._usage import volume_users_index

    class Conn:
        def all_domains(self):
            return [_Dom('gone'), _Dom('web1', "<domain><devices><disk><source file='/p/a.img'/></disk>"
                                               "<disk><source pool='p' volume='b.img'/></disk></devices></domain>")]
    users = volume_users_index(Conn())
    assert users('p', 'a.img', '/p/a.img') == ['web1']
    assert users('p', 'b.img', '/p/b.img') == ['web1']
    assert users('p', 'c.img', '/p/c.img') == []


class _SizedPool:
    """A pool that reports ``info()`` like virStoragePool: [state, capacity, allocation, available]."""

    def __init__(self, capacity, available):
        self._info = [2, capacity, capacity - available, available]

    def name(self):
        return 'p'

    def info(self):
        return list(self._info)


def _room_ctx(make_ctx, **params):
    return make_ctx(Connection('test:///default', virconnect=object()), dict(params))


@pytest.mark.parametrize('capacity', [10 ** 18, 1])
def test_check_room_leaves_pools_without_a_size_alone(make_ctx, capacity):
    """Pool types that report capacity 0 (no meaningful size) must not refuse nor warn."""
    warned = []
    ctx = _room_ctx(make_ctx)
    ctx.warn = warned.append
    _volume.check_room(ctx, _SizedPool(0, 0), 'v', capacity)
    assert warned == []


def test_check_room_counts_only_the_growth_against_the_free_space(make_ctx):
    warned = []
    ctx = _room_ctx(make_ctx)
    ctx.warn = warned.append
    pool = _SizedPool(100 * MIB, 10 * MIB)
    _volume.check_room(ctx, pool, 'v', 60 * MIB, current=55 * MIB)  # grows by 5 MiB of 10 free
    assert warned == []
    _volume.check_room(ctx, pool, 'v', 60 * MIB, current=40 * MIB)  # grows by 20 MiB
    assert len(warned) == 1 and 'needs 20 MiB' in warned[0] and '(10 MiB of 100 MiB)' in warned[0]
    _volume.check_room(ctx, pool, 'v', 100 * MIB)  # exactly the pool: legal, with a warning
    assert len(warned) == 2
    with pytest.raises(InvalidInput, match='larger than the whole pool'):
        _volume.check_room(ctx, pool, 'v', 100 * MIB + 1, current=99 * MIB)
    _volume.check_room(ctx, pool, 'v', 10 ** 18, current=10 ** 18)  # no growth: nothing to check
