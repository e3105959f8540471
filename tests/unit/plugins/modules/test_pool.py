# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _pool
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import Refused, VmcatError
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._rehearsal_node import STATE_NS
from ansible_collections.vmcat.libvirt.plugins.modules import pool, pool_info
from ansible_collections.vmcat.libvirt.tests.unit.helpers import (
    DIFF_FIRST, DIFF_NEVER, ModuleFail, add_node_vm, edit_node, file_disk, four_ways)


def test_create_four_ways(run_module, node_uri):
    args = dict(uri=node_uri, name='images', target=dict(path='/srv/images', mode='0711'))
    first, applied = four_ways(run_module, pool, args, same='pool', diff=DIFF_FIRST)[:2]
    assert first['diff']['before'] == {}
    assert first['pool']['target']['path'] == '/srv/images'
    assert first['actions'] == ['define', 'start', 'autostart']
    assert applied['pool']['active'] is True and applied['pool']['autostart'] is True
    assert applied['pool']['target']['mode'] == '0711'


def test_relative_path_is_refused_before_change(run_module, node_uri):
    with pytest.raises(ModuleFail) as failed:
        run_module(pool, dict(uri=node_uri, name='bad', target=dict(path='relative/dir')))
    assert "target.path must be absolute" in failed.value.result['msg']
    assert run_module(pool_info, dict(uri=node_uri))['pools'][0]['name'] == 'p1'


def test_unset_options_leave_the_pool_alone(run_module, node_uri):
    before = run_module(pool_info, dict(uri=node_uri, name='p1'))['pools'][0]
    result = run_module(pool, dict(uri=node_uri, name='p1'))
    assert result['changed'] is False
    assert result['pool'] == before


def test_stop_and_autostart_four_ways(run_module, node_uri):
    args = dict(uri=node_uri, name='p1', active=False, autostart=True)
    applied = four_ways(run_module, pool, args, diff=DIFF_NEVER)[1]
    assert applied['pool']['active'] is False and applied['pool']['autostart'] is True


def test_changed_definition_of_a_stopped_pool_applies_at_once(run_module, node_uri):
    # The test driver keeps no separate saved definition for running pools; the
    # running case (restart_required, restart: true) is in the integration tests.
    run_module(pool, dict(uri=node_uri, name='p1', active=False))
    args = dict(uri=node_uri, name='p1', target=dict(path='/pool1-moved'))
    checked, applied = four_ways(run_module, pool, args, diff=DIFF_FIRST)[:2]
    assert checked['diff']['before']['target']['path'] == '/pool1'
    assert checked['diff']['after']['target']['path'] == '/pool1-moved'
    assert applied['restart_required'] is False
    assert applied['pool']['target']['path'] == '/pool1-moved'
    assert applied['actions'] == ['define']


def test_type_cannot_change(run_module, node_uri):
    with pytest.raises(ModuleFail) as failed:
        run_module(pool, dict(uri=node_uri, name='p1', type='logical'))
    assert 'is of type dir; a pool\'s type cannot change to logical' in failed.value.result['msg']


def test_absent_refuses_a_pool_with_volumes_unless_purge(run_module, node_uri):
    with pytest.raises(ModuleFail) as failed:
        run_module(pool, dict(uri=node_uri, name='p1', state='absent'))
    assert 'still holds 1 volume(s): v1.qcow2' in failed.value.result['msg']
    checked = run_module(pool, dict(uri=node_uri, name='p1', state='absent', purge=True), check_mode=True)
    assert checked['changed'] is True and checked['pool'] == {}
    assert 'delete volume v1.qcow2' in checked['actions']
    assert run_module(pool_info, dict(uri=node_uri, name='p1'))['pools'][0]['volumes'] == ['v1.qcow2']
    removed = run_module(pool, dict(uri=node_uri, name='p1', state='absent', purge=True))
    assert removed['changed'] is True
    assert run_module(pool, dict(uri=node_uri, name='p1', state='absent'))['changed'] is False
    assert run_module(pool_info, dict(uri=node_uri))['pools'] == []


@pytest.mark.parametrize('args, fragment', [
    (dict(type='netfs', target=dict(path='/mnt/nfs')), 'needs source.host, source.dir'),
    (dict(type='dir'), 'needs target.path'),
    (dict(type='logical'), 'needs source.name or device'),
    (dict(target=dict(path='/x', mode='999')), "target.mode '999' is not an octal mode"),
])
def test_bad_input_fails_before_any_change(run_module, node_uri, args, fragment):
    with pytest.raises(ModuleFail) as failed:
        run_module(pool, dict(args, uri=node_uri, name='new'))
    assert fragment in failed.value.result['msg']
    assert [p['name'] for p in run_module(pool_info, dict(uri=node_uri))['pools']] == ['p1']


def test_xml_of_a_netfs_pool_keeps_unknown_parts():
    from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _pool
    from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
    root = _xml.parse('<pool type="netfs"><name>n</name><source><host name="a"/><dir path="/e"/>'
                      '<format type="nfs"/><protocol ver="4"/></source><target><path>/mnt</path></target></pool>')
    _pool.apply_options(root, dict(source=dict(host='b', port=2049, dir=None), target=dict(path=None, mode='0750')))
    spec = _pool.spec_of(root)
    assert spec['source'] == {'host': 'b', 'port': 2049, 'dir': '/e', 'format': 'nfs'}
    assert spec['target']['mode'] == '0750'
    assert root.find('source/protocol').get('ver') == '4'


def test_build_flag_is_libvirts_no_overwrite():
    """Building an fs/disk/logical pool must never ask libvirt to reformat what is there."""
    import libvirt
    from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _pool
    assert _pool._BUILD_NO_OVERWRITE == libvirt.VIR_STORAGE_POOL_BUILD_NO_OVERWRITE
    assert _pool._BUILD_NO_OVERWRITE != libvirt.VIR_STORAGE_POOL_BUILD_OVERWRITE


# -- helpers for the hardening tests ---------------------------------------------
def pools(run_module, uri):
    return dict((p['name'], p) for p in run_module(pool_info, dict(uri=uri))['pools'])


def make_inactive(node_uri, name='p1'):
    """Mark a pool of the node file inactive; its volumes stay in the file (an inactive pool keeps its files)."""
    def edit(root):
        state = _xml.etree.SubElement(root, '{%s}state' % STATE_NS)
        _xml.etree.SubElement(state, 'pool', name=name, active='no', autostart='no')
    edit_node(node_uri, edit)


# -- target.mode read like ansible.builtin.file ------------------------------------
@pytest.mark.parametrize('mode, expected', [
    ('0644', '0644'),
    ('644', '0644'),
    (420, '0644'),        # YAML's unquoted 0644: already an int
    (0o750, '0750'),
    ('0', '0000'),
    ('00711', '0711'),
])
def test_mode_strings_are_octal_and_ints_are_modes(run_module, node_uri, mode, expected):
    args = dict(uri=node_uri, name='new', target=dict(path='/srv/new', mode=mode))
    checked, applied = four_ways(run_module, pool, args, diff=DIFF_FIRST)[:2]
    assert checked['diff']['after']['target']['mode'] == expected
    assert applied['pool']['target']['mode'] == expected


def test_int_mode_of_an_existing_pool_is_compared_as_a_mode(run_module, node_uri):
    # stopped: the test driver shows the saved definition of a stopped pool only
    run_module(pool, dict(uri=node_uri, name='p1', active=False))
    run_module(pool, dict(uri=node_uri, name='p1', target=dict(mode='0644')))
    same = run_module(pool, dict(uri=node_uri, name='p1', target=dict(mode=420)))
    assert same['changed'] is False
    other = run_module(pool, dict(uri=node_uri, name='p1', target=dict(mode=0o600)), check_mode=True, diff=True)
    assert other['changed'] is True and other['diff']['after']['target']['mode'] == '0600'
    # 644 unquoted is decimal 644 = 0o1204 (as with ansible.builtin.file): above 0777, so refused, not mangled
    with pytest.raises(ModuleFail) as failed:
        run_module(pool, dict(uri=node_uri, name='p1', target=dict(mode=644)), check_mode=True)
    assert 'an unquoted number is taken as it is' in failed.value.result['msg']


@pytest.mark.parametrize('mode', ['0999', '8', 'u=rwx,go=rx', 'rwx', '', ' 0644', '0644\n', '0x1ff', '0o755', '17777',
                                  '04755', 0o2750, 0o10000, -1, True, 6.44, [7, 5, 5]])
@pytest.mark.parametrize('name', ['new', 'p1'])
def test_bad_modes_fail_before_any_change(run_module, node_uri, mode, name):
    before = pools(run_module, node_uri)
    for check_mode in (True, False):
        with pytest.raises(ModuleFail) as failed:
            run_module(pool, dict(uri=node_uri, name=name, target=dict(path='/srv/x', mode=mode)), check_mode=check_mode)
        msg = failed.value.result['msg']
        assert "pool '%s': target.mode %r is not an octal mode libvirt accepts" % (name, mode) in msg
        assert "such as '0755'" in msg and 'symbolic modes' in msg and "above '0777'" in msg
    assert pools(run_module, node_uri) == before


def test_mode_of_helper():
    assert _pool.mode_of('755') == 0o755
    assert _pool.mode_of(493) == 0o755
    with pytest.raises(VmcatError):
        _pool.mode_of('0o755')


# -- pool names ----------------------------------------------------------------------
@pytest.mark.parametrize('name, rule', [
    ('a/b', "must not contain '/'"),
    ('/abs', "must not contain '/'"),
    ('.', "must not be '.' or '..'"),
    ('..', "must not be '.' or '..'"),
    ('.hidden', "must not start with '.'"),
    ('', 'must not be empty'),
    ('   ', 'must not be empty'),
    (' lead', 'must not start or end with whitespace'),
    ('trail ', 'must not start or end with whitespace'),
    ('new\nline', 'must not contain control characters'),
    ('tab\there', 'must not contain control characters'),
])
@pytest.mark.parametrize('state', ['present', 'absent'])
def test_bad_names_fail_before_any_change(run_module, node_uri, name, rule, state):
    before = pools(run_module, node_uri)
    for check_mode in (True, False):
        with pytest.raises(ModuleFail) as failed:
            run_module(pool, dict(uri=node_uri, name=name, state=state, target=dict(path='/srv/x')),
                       check_mode=check_mode)
        msg = failed.value.result['msg']
        assert 'pool name %r on %s is not valid: it %s' % (name, node_uri, rule) in msg
    assert pools(run_module, node_uri) == before


def test_good_names_pass():
    for name in ('images', 'a.b', 'a..b', 'vm-disks_2', 'with space', u'd\u00e9j\u00e0'):
        assert _pool.check_name(name, 'test:///default') == name
    with pytest.raises(VmcatError) as failed:
        _pool.check_name('a/b', 'test:///default')
    assert "such as 'a-b'" in str(failed.value)


# -- state: absent on an inactive pool ---------------------------------------------------
def test_absent_counts_the_volumes_of_an_inactive_pool(run_module, node_uri):
    make_inactive(node_uri)
    assert pools(run_module, node_uri)['p1']['active'] is False
    with pytest.raises(ModuleFail) as failed:
        run_module(pool, dict(uri=node_uri, name='p1', state='absent'))
    msg = failed.value.result['msg']
    assert "pool 'p1' on %s still holds 1 volume(s): v1.qcow2" % node_uri in msg
    assert msg.endswith('(it was started only to count them); the pool was stopped again, as it was')
    left = pools(run_module, node_uri)['p1']
    assert left['active'] is False and left['persistent'] is True


def test_absent_purges_an_inactive_pool(run_module, node_uri):
    make_inactive(node_uri)
    removed = run_module(pool, dict(uri=node_uri, name='p1', state='absent', purge=True), diff=True)
    assert removed['changed'] is True
    assert removed['actions'] == ['start to count volumes', 'delete volume v1.qcow2', 'stop',
                                  'delete target directory', 'undefine']
    assert removed['diff']['before']['active'] is False and removed['diff']['after'] == {}
    assert pools(run_module, node_uri) == {}


def test_absent_removes_an_empty_inactive_pool(run_module, node_uri):
    run_module(pool, dict(uri=node_uri, name='empty', target=dict(path='/srv/empty'), active=False))
    assert pools(run_module, node_uri)['empty']['active'] is False
    removed = run_module(pool, dict(uri=node_uri, name='empty', state='absent'))
    assert removed['changed'] is True
    assert removed['actions'] == ['start to count volumes', 'stop', 'undefine']
    assert 'empty' not in pools(run_module, node_uri)


def test_absent_in_check_mode_does_not_start_an_inactive_pool(run_module, node_uri, warnings):
    make_inactive(node_uri)
    checked = run_module(pool, dict(uri=node_uri, name='p1', state='absent'), check_mode=True, diff=True)
    assert checked['changed'] is True and checked['pool'] == {}
    assert checked['diff']['after'] == {}
    assert checked['actions'] == ['start to count volumes', 'stop', 'undefine']
    assert len(warnings) == 1
    assert "pool 'p1' on %s is inactive: its volumes cannot be counted in check mode" % node_uri in warnings[0]
    assert pools(run_module, node_uri)['p1']['active'] is False


def test_absent_of_an_active_pool_does_not_warn(run_module, node_uri, warnings):
    checked = run_module(pool, dict(uri=node_uri, name='p1', state='absent', purge=True), check_mode=True)
    assert checked['actions'] == ['delete volume v1.qcow2', 'stop', 'delete target directory', 'undefine']
    assert warnings == []


def test_purge_of_an_inactive_pool_refuses_volumes_in_use_and_stops_it_again(run_module, node_uri):
    make_inactive(node_uri)
    add_node_vm(node_uri, 'user', file_disk('/pool1/v1.qcow2'), running=True)
    with pytest.raises(ModuleFail) as failed:
        run_module(pool, dict(uri=node_uri, name='p1', state='absent', purge=True))
    msg = failed.value.result['msg']
    assert "purge refused because VMs use its volumes: 'v1.qcow2' (used by user)" in msg
    assert msg.endswith('; the pool was stopped again, as it was')
    left = pools(run_module, node_uri)['p1']
    assert left['active'] is False
    run_module(pool, dict(uri=node_uri, name='p1', active=True))
    assert pools(run_module, node_uri)['p1']['volumes'] == ['v1.qcow2']


class _LibvirtFailure(object):
    """Raises a real libvirt.libvirtError from a proxied method."""

    def __init__(self, message):
        self.message = message

    def __call__(self, *args):
        import libvirt
        raise libvirt.libvirtError(self.message)


class _PoolProxy(object):
    """A real test-driver pool with some methods replaced."""

    def __init__(self, real, **replaced):
        self._real = real
        self._replaced = replaced
        self.calls = []

    def __getattr__(self, attr):
        if attr in self._replaced:
            self.calls.append(attr)
            return self._replaced[attr]
        real = getattr(self._real, attr)
        if callable(real):
            def call(*args):
                self.calls.append(attr)
                return real(*args)
            return call
        return real


@pytest.fixture
def inactive_pool(conn):
    """An inactive dir pool 'vmcat-off' on test:///default, removed again afterwards."""
    p = conn.virt.storagePoolDefineXML('<pool type="dir"><name>vmcat-off</name><target><path>/off</path></target>'
                                       '</pool>', 0)
    yield p
    try:
        if p.isActive():
            p.destroy()
        p.undefine()
    except Exception:
        pass


def absent_ctx(make_ctx, conn, proxy, monkeypatch, purge=False):
    monkeypatch.setattr(conn, 'pool', lambda name: proxy)
    return make_ctx(conn, dict(name='vmcat-off', state='absent', purge=purge))


def test_absent_refuses_an_inactive_pool_that_does_not_start(conn, make_ctx, inactive_pool, monkeypatch):
    proxy = _PoolProxy(inactive_pool, create=_LibvirtFailure('cannot open directory /off: No such file'))
    with pytest.raises(Refused) as failed:
        _pool.ensure(absent_ctx(make_ctx, conn, proxy, monkeypatch))
    msg = str(failed.value)
    assert "pool 'vmcat-off' on test:///default is inactive" in msg
    assert 'cannot open directory /off' in msg
    assert 'start it first (vmcat.libvirt.pool with active: true, and build: true' in msg
    assert 'undefine' not in proxy.calls and inactive_pool.isPersistent()


def test_absent_tells_when_a_counted_pool_does_not_stop_again(conn, make_ctx, inactive_pool, monkeypatch):
    inactive_pool.create(0)
    inactive_pool.createXML('<volume><name>d.raw</name><capacity>1024</capacity></volume>', 0)
    inactive_pool.destroy()
    proxy = _PoolProxy(inactive_pool, destroy=_LibvirtFailure('device busy'))
    with pytest.raises(Refused) as failed:
        _pool.ensure(absent_ctx(make_ctx, conn, proxy, monkeypatch))
    msg = str(failed.value)
    assert 'still holds 1 volume(s): d.raw' in msg
    assert msg.endswith('could not be stopped again (device busy): stop it with active: false')
    assert 'stopped again, as it was' not in msg


def test_failed_reads_name_the_pool_and_the_uri(conn, make_ctx, inactive_pool, monkeypatch):
    proxy = _PoolProxy(inactive_pool, info=_LibvirtFailure('connection reset'))
    monkeypatch.setattr(conn, 'pool', lambda name: proxy)
    for state in ('present', 'absent'):
        with pytest.raises(VmcatError) as failed:
            _pool.ensure(make_ctx(conn, dict(name='vmcat-off', state=state, active=True)))
        assert str(failed.value).startswith("could not read pool 'vmcat-off' on test:///default: connection reset; "
                                            'another client may have changed or removed the pool meanwhile')
    assert 'create' not in proxy.calls


@pytest.mark.parametrize('method, options, fragment', [
    ('destroy', dict(active=False), "could not stop pool 'vmcat-on' on test:///default: busy; stop what holds"),
    ('setAutostart', dict(autostart=True), "could not set autostart of pool 'vmcat-on' on test:///default: busy; "
                                           'only a persistent (defined) pool can autostart'),
])
def test_failed_changes_say_what_to_do(conn, make_ctx, monkeypatch, method, options, fragment):
    p = conn.virt.storagePoolDefineXML('<pool type="dir"><name>vmcat-on</name><target><path>/on</path></target>'
                                       '</pool>', 0)
    p.create(0)
    try:
        monkeypatch.setattr(conn, 'pool', lambda name: _PoolProxy(p, **{method: _LibvirtFailure('busy')}))
        with pytest.raises(VmcatError) as failed:
            _pool.ensure(make_ctx(conn, dict(options, name='vmcat-on', state='present')))
        assert fragment in str(failed.value)
    finally:
        p.destroy()
        p.undefine()


# -- stopping a pool that running VMs use ----------------------------------------------------------
def add_vm_on(node_uri, vm, source, running=True):
    """A VM (running, or shut off) with one disk whose <source> has the attributes ``source``."""
    attrs = ' '.join('%s="%s"' % item for item in sorted(source.items()))
    disk_type = 'volume' if 'pool' in source else 'file'
    add_node_vm(node_uri, vm, '<disk type="%s" device="disk"><source %s/><target dev="vda"/></disk>' % (disk_type, attrs),
                running=running)


@pytest.mark.parametrize('source, used', [
    (dict(file='/pool1/v1.qcow2'), '/pool1/v1.qcow2'),
    (dict(pool='p1', volume='v1.qcow2'), 'v1.qcow2'),
    (dict(file='/pool1/copied-by-hand.img'), '/pool1/copied-by-hand.img'),  # in the directory, not yet a volume
])
def test_stop_is_refused_while_running_vms_use_the_pool(run_module, node_uri, source, used):
    """Stopping such a pool succeeded silently, while the network module refuses the same for networks."""
    add_vm_on(node_uri, 'web1', source)
    for check_mode in (True, False):
        with pytest.raises(ModuleFail) as failed:
            run_module(pool, dict(uri=node_uri, name='p1', active=False, autostart=True), check_mode=check_mode)
        msg = failed.value.result['msg']
        assert msg.startswith("pool 'p1' on %s: refused to stop the pool because running VMs use its volumes: "
                              "web1 (%s);" % (node_uri, used))
        assert 'set force: true' in msg
    left = pools(run_module, node_uri)['p1']
    assert left['active'] is True and left['autostart'] is False  # nothing changed, autostart neither


def test_force_stops_a_pool_that_running_vms_use(run_module, node_uri):
    add_vm_on(node_uri, 'web1', dict(file='/pool1/v1.qcow2'))
    args = dict(uri=node_uri, name='p1', active=False, force=True)
    assert run_module(pool, args, check_mode=True)['changed'] is True
    assert run_module(pool, args)['pool']['active'] is False


def test_stop_is_allowed_when_only_stopped_vms_or_other_pools_use_volumes(run_module, node_uri):
    add_vm_on(node_uri, 'stopped', dict(file='/pool1/v1.qcow2'), running=False)
    add_vm_on(node_uri, 'elsewhere', dict(file='/srv/other/disk.img'))
    assert run_module(pool, dict(uri=node_uri, name='p1', active=False))['pool']['active'] is False
