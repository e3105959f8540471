# -*- coding: utf-8 -*-
"""Migration: the plan for every pair of states, the flags, and migrate_vm between two test:/// nodes.

The test driver cannot migrate, so ``virDomain.migrate3``/``migrateToURI3``
are replaced by a fake that does what libvirt does to the two nodes
(define/start on the target, stop/undefine on the source).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
import time

import libvirt
import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._vm import _migrate as mig
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._connection import Connection
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import (
    InvalidInput, NotFound, Refused, VmcatError, WaitTimeout)
from ansible_collections.vmcat.libvirt.tests.unit.fakes.errors import LibvirtFailure

UUID = '11111111-2222-3333-4444-555555555555'
OPTIONS = {'uri': 'qemu+ssh://kvm2/system', 'live': True, 'copy_storage': 'none', 'persistent': True,
           'undefine_source': True, 'p2p': False, 'tunnelled': False, 'timeout': 600}


def side(state, persistent=True, uuid=UUID):
    return mig.Side(state, persistent, uuid)


def opts(**kw):
    return dict(OPTIONS, **kw)


# -- planning -----------------------------------------------------------------------------------
def test_a_running_vm_moves_live():
    p = mig.plan('web1', side('running'), None, opts())
    assert p.action == 'live'
    assert mig.flag_names(p.flags) == ['live', 'persist_dest', 'undefine_source']


def test_flags_follow_the_options():
    options = opts(live=False, copy_storage='all', p2p=True, tunnelled=True, auto_converge=True, unsafe=True,
                   undefine_source=False, persistent=False)
    p = mig.plan('web1', side('running'), None, options)
    assert p.action == 'paused'
    assert mig.flag_names(p.flags) == ['peer2peer', 'tunnelled', 'non_shared_disk', 'unsafe', 'auto_converge']
    assert mig.plan('web1', side('paused'), None, opts(copy_storage='incremental')).flags & mig.NON_SHARED_INC


def test_a_transient_vm_has_no_definition_to_undefine():
    p = mig.plan('web1', side('running', persistent=False), None, opts())
    assert not p.flags & mig.UNDEFINE_SOURCE and p.flags & mig.PERSIST_DEST


def test_a_shut_off_vm_moves_its_definition():
    p = mig.plan('web1', side('shutoff'), None, opts(p2p=True))
    assert p.action == 'offline'
    assert mig.flag_names(p.flags) == ['peer2peer', 'persist_dest', 'undefine_source', 'offline']
    keep = mig.plan('web1', side('shutoff'), None, opts(undefine_source=False))
    assert not keep.flags & mig.UNDEFINE_SOURCE


@pytest.mark.parametrize('options, message', [
    (opts(copy_storage='all'), 'copies disks (copy_storage) only through a running QEMU'),
    (opts(persistent=False), 'needs migrate_to.persistent: true'),
])
def test_what_a_shut_off_vm_cannot_do(options, message):
    with pytest.raises(InvalidInput) as err:
        mig.plan('web1', side('shutoff'), None, options)
    assert message in str(err.value)


@pytest.mark.parametrize('source, target, undefine, action', [
    (None, side('running'), True, 'none'),
    (None, side('shutoff'), True, 'none'),
    (side('shutoff'), side('running'), True, 'undefine_source'),
    (side('shutoff'), side('running'), False, 'none'),
    (side('shutoff'), side('shutoff'), True, 'undefine_source'),
    (side('shutoff'), side('shutoff'), False, 'none'),
    (side('shutoff', persistent=False), side('running'), True, 'none'),
    (side('running'), side('shutoff'), True, 'live'),  # defined on the target already: libvirt takes it over
])
def test_idempotent_states(source, target, undefine, action):
    assert mig.plan('web1', source, target, opts(undefine_source=undefine)).action == action


def test_refusals():
    with pytest.raises(NotFound) as err:
        mig.plan('web1', None, None, opts())
    assert "VM 'web1' exists on neither" in str(err.value)
    with pytest.raises(Refused) as err:
        mig.plan('web1', side('running'), side('shutoff', uuid='99999999-2222-3333-4444-555555555555'), opts())
    assert 'a different VM named' in str(err.value)
    with pytest.raises(Refused) as err:
        mig.plan('web1', side('running'), side('paused'), opts())
    assert 'runs on both nodes' in str(err.value)


@pytest.mark.parametrize('options, message', [
    (None, 'migrate_to.uri is required'),
    ({'uri': ''}, 'migrate_to.uri is required'),
    (opts(copy_storage='some'), 'copy_storage must be one of'),
    (opts(tunnelled=True), 'tunnelled needs migrate_to.p2p: true'),
    (opts(p2p=True, tunnelled=True, migration_uri='tcp://x'), 'does not apply to a tunnelled'),
    (opts(bandwidth=0), 'bandwidth must be larger than 0'),
    (opts(timeout=-1), 'timeout must be larger than 0'),
])
def test_validate(options, message):
    with pytest.raises(InvalidInput) as err:
        mig.validate(options)
    assert message in str(err.value)


def test_migrate_params():
    assert mig.migrate_params(opts()) == {}
    assert mig.migrate_params(opts(migration_uri='tcp://10.0.0.2', bandwidth=100)) == {
        libvirt.VIR_MIGRATE_PARAM_URI: 'tcp://10.0.0.2', libvirt.VIR_MIGRATE_PARAM_BANDWIDTH: 100}


def test_flag_values_are_libvirts():
    for bit, name in mig.FLAG_NAMES:
        assert getattr(libvirt, 'VIR_MIGRATE_' + name.upper()) == bit


# -- the timeout ----------------------------------------------------------------------------------
class SlowDom:
    def __init__(self, finish_on_abort=False):
        self.aborted = threading.Event()
        self.finish_on_abort = finish_on_abort

    def abortJob(self):
        self.aborted.set()
        if self.finish_on_abort:
            raise RuntimeError('no job is active')  # it finished just before

    def run(self):
        self.aborted.wait(5)
        if self.finish_on_abort:
            return 'done'
        raise RuntimeError('operation aborted: migration out job: canceled by client')


def test_a_migration_past_its_timeout_is_cancelled():
    dom = SlowDom()
    started = time.monotonic()
    with pytest.raises(WaitTimeout) as err:
        mig._with_timeout(dom, dom.run, 0.2, "migration of VM 'web1'")
    assert dom.aborted.is_set() and time.monotonic() - started < 4
    assert 'did not finish within 0.2s and was cancelled; the VM stays on the source' in str(err.value)


def test_a_migration_that_finishes_at_the_deadline_counts():
    dom = SlowDom(finish_on_abort=True)
    assert mig._with_timeout(dom, dom.run, 0.1, 'x') == 'done'


def test_errors_of_the_call_reach_the_caller():
    def boom():
        raise ValueError('bad')
    with pytest.raises(ValueError):
        mig._with_timeout(SlowDom(), boom, 5, 'x')


# -- migrate_vm between two test:/// nodes --------------------------------------------------------
NODE = '''<node>
  <cpu><mhz>2000</mhz><model>i686</model><nodes>1</nodes><sockets>1</sockets><cores>2</cores><threads>1</threads><active>2</active></cpu>
  <memory>8388608</memory>
  %s
  <pool type="dir"><name>p1</name><uuid>60b65d61-1405-5aae-bc58-d116c089ce38</uuid><target><path>/pool1</path></target></pool>
</node>'''
NETWORK = '<network><name>n1</name><uuid>2bad37e3-dded-5d32-b765-1c174ef579d2</uuid><bridge name="virbr9"/></network>'
DOMAIN = '''<domain type="test" xmlns:test="http://libvirt.org/schemas/domain/test/1.0">
  <name>web1</name><uuid>%s</uuid><memory>1048576</memory><os><type>hvm</type></os><test:runstate>5</test:runstate>
  <devices>
    <disk type="volume" device="disk"><source pool="p1" volume="web1.qcow2"/><target dev="vda"/></disk>
    <interface type="network"><source network="n1"/></interface>
  </devices></domain>''' % UUID


class FakeMigration:
    """Does to two test:/// nodes what a libvirt migration does; records the calls."""

    def __init__(self, monkeypatch, target):
        self.calls = []
        fake = self

        def migrate3(dom, dconn, params, flags):
            fake.calls.append(('migrate3', params, flags))
            return fake.move(dom, dconn, flags)

        def migrate_to_uri3(dom, uri, params, flags):
            fake.calls.append(('migrateToURI3', uri, params, flags))
            assert uri == target.getURI()
            fake.move(dom, target, flags)
        monkeypatch.setattr(libvirt.virDomain, 'migrate3', migrate3)
        monkeypatch.setattr(libvirt.virDomain, 'migrateToURI3', migrate_to_uri3)

    @staticmethod
    def move(dom, dconn, flags):
        xml = dom.XMLDesc(0)
        was_active = dom.isActive()
        moved = dconn.defineXML(xml) if flags & mig.PERSIST_DEST else None
        if was_active:
            if moved is None:
                moved = dconn.createXML(xml, 0)
            else:
                moved.create()
            dom.destroy()
        if flags & mig.UNDEFINE_SOURCE:
            dom.undefine()
        return moved


@pytest.fixture
def nodes(tmp_path, monkeypatch):
    def make(target_network=True, target_vm=None):
        src = tmp_path / 'source.xml'
        dst = tmp_path / 'target.xml'
        src.write_text(NODE % (NETWORK + DOMAIN))
        dst.write_text(NODE % ((NETWORK if target_network else '') + (target_vm or '')))
        source = Connection('test://%s' % src).open()
        target_uri = 'test://%s' % dst
        target = libvirt.open(target_uri)  # one target node for the whole test, as a real remote node would be
        fake = FakeMigration(monkeypatch, target)

        def target_conn(uri):
            assert uri == target_uri
            return Connection(uri, virconnect=target)
        monkeypatch.setattr(mig, 'Connection', target_conn)
        monkeypatch.setattr(Connection, 'close', lambda self: None)
        return source, target_uri, fake, target
    return make


def run(make_ctx, source, target_uri, check_mode=False, **options):
    ctx = make_ctx(source, {}, check_mode=check_mode)
    dom = source.domain('web1')
    result = mig.migrate_vm(ctx, dom, {'name': 'web1', 'migrate_to': opts(uri=target_uri, **options)})
    return ctx, result


def test_live_migration_four_ways(nodes, make_ctx):
    source, target_uri, fake, target = nodes()
    source.domain('web1').create()
    ctx, check = run(make_ctx, source, target_uri, check_mode=True)
    assert check['changed'] and check['action'] == 'live' and fake.calls == []
    assert check['target'] == {'state': 'running', 'persistent': True, 'uuid': UUID}
    assert ctx.actions == ["live migration of VM 'web1' to %s" % target_uri]
    assert source.domain('web1') is not None

    ctx, done = run(make_ctx, source, target_uri)
    assert done['changed'] and done['flags'] == ['live', 'persist_dest', 'undefine_source']
    assert done['target'] == {'state': 'running', 'persistent': True, 'uuid': UUID}
    assert done['source_uri'] == source.uri and done['target_uri'] == target_uri
    assert fake.calls[0][0] == 'migrate3' and fake.calls[0][1] == {}
    assert source.domain('web1') is None

    for check_mode in (True, False):
        ctx, again = run(make_ctx, source, target_uri, check_mode=check_mode)
        assert not again['changed'] and again['action'] == 'none' and ctx.actions == []
    assert len(fake.calls) == 1


def test_p2p_offline_migration(nodes, make_ctx):
    source, target_uri, fake, target = nodes()
    ctx, done = run(make_ctx, source, target_uri, p2p=True, migration_uri='tcp://127.0.0.1', bandwidth=50)
    assert done['action'] == 'offline' and done['target']['state'] == 'shutoff'
    assert fake.calls == [('migrateToURI3', target_uri, {'migrate_uri': 'tcp://127.0.0.1', 'bandwidth': 50},
                           mig.PEER2PEER | mig.PERSIST_DEST | mig.UNDEFINE_SOURCE | mig.OFFLINE)]


def test_a_left_over_source_definition_is_undefined(nodes, make_ctx):
    source, target_uri, fake, target = nodes(target_vm=DOMAIN)
    ctx, kept = run(make_ctx, source, target_uri, undefine_source=False)
    assert not kept['changed'] and source.domain('web1') is not None
    ctx, check = run(make_ctx, source, target_uri, check_mode=True)
    assert check['changed'] and check['action'] == 'undefine_source' and source.domain('web1') is not None
    ctx, done = run(make_ctx, source, target_uri)
    assert done['changed'] and source.domain('web1') is None and fake.calls == []


def test_what_the_target_lacks_is_refused_before_any_change(nodes, make_ctx):
    source, target_uri, fake, target = nodes(target_network=False)
    source.domain('web1').create()
    for check_mode in (True, False):
        with pytest.raises(Refused) as err:
            run(make_ctx, source, target_uri, check_mode=check_mode)
        assert "it needs network 'n1' there" in str(err.value)
    assert fake.calls == [] and source.domain('web1').isActive()


def test_a_vm_on_neither_node(nodes, make_ctx):
    source, target_uri, fake, target = nodes()
    ctx = make_ctx(source, {})
    with pytest.raises(NotFound):
        mig.migrate_vm(ctx, None, {'name': 'ghost', 'migrate_to': opts(uri=target_uri)})


def test_the_same_host_is_refused(nodes, make_ctx, monkeypatch):
    source, target_uri, fake, target = nodes()
    monkeypatch.setattr(mig, '_host_uuid', lambda conn: 'c9eee16f-e0b9-4ddb-8c29-4d5a0e6156d6')
    with pytest.raises(Refused) as err:
        run(make_ctx, source, target_uri)
    assert 'reaches the same host' in str(err.value)


def test_a_libvirt_failure_is_translated(nodes, make_ctx, monkeypatch):
    source, target_uri, fake, target = nodes()
    source.domain('web1').create()

    def refuse(dom, dconn, params, flags):
        raise LibvirtFailure('Migration without shared storage is unsafe', libvirt.VIR_ERR_MIGRATE_UNSAFE)
    monkeypatch.setattr(libvirt.virDomain, 'migrate3', refuse)
    with pytest.raises(VmcatError) as err:
        run(make_ctx, source, target_uri)
    assert "could not migrate VM 'web1' to %s" % target_uri in str(err.value)
    assert 'shared storage is unsafe' in str(err.value)
    assert source.domain('web1').isActive()


def test_already_migrated(nodes, make_ctx):
    source, target_uri, fake, target = nodes()
    params = {'name': 'web1', 'migrate_to': opts(uri=target_uri)}
    assert mig.already_migrated(make_ctx(source, {}), params) is None  # only on the source
    run(make_ctx, source, target_uri)
    ctx = make_ctx(source, {})
    done = mig.already_migrated(ctx, params)
    assert done['changed'] is False and done['action'] == 'none' and ctx.actions == []
    assert done['target']['uuid'] == UUID
    assert mig.already_migrated(make_ctx(source, {}), dict(params, name='other')) is None
