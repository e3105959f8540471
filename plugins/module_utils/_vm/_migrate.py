# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Move a VM to another libvirt node: live for a running VM, offline (the definition) for a shut-off one.

The cycle: check the options -> open the target URI -> look at the VM on
both nodes -> ``plan`` what to do (a pure function of the two states, so it
is unit-tested without libvirt) -> check what the target must have
(networks, pools) -> act through ``ctx.act`` (nothing happens in check
mode) -> describe the result.

Desired end state: the VM is defined (and, if it ran, running) on the
target, and undefined on the source (``undefine_source``).  A VM already on
the target and gone from the source is no change.

Transport: without ``p2p`` this module's connection drives the migration
(libvirt's managed direct migration: ``virDomainMigrate3`` with both
connections); with ``p2p`` the source libvirtd connects to ``uri`` itself
(``virDomainMigrateToURI3``), so that URI must work from the source node.
QEMU's migration stream goes to ``migration_uri`` (default: the target's
host name as the target libvirtd sees it).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
import time

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._connection import Connection
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import (
    InvalidInput,
    LibvirtError,
    NotFound,
    Refused,
    VmcatError,
    WaitTimeout,
    is_flag_refused,
)

COPY_STORAGE = ('none', 'all', 'incremental')

# virDomainMigrateFlags
LIVE = 1
PEER2PEER = 2
TUNNELLED = 4
PERSIST_DEST = 8
UNDEFINE_SOURCE = 16
NON_SHARED_DISK = 64
NON_SHARED_INC = 128
UNSAFE = 512
OFFLINE = 1024
AUTO_CONVERGE = 8192
FLAG_NAMES = ((LIVE, 'live'), (PEER2PEER, 'peer2peer'), (TUNNELLED, 'tunnelled'), (PERSIST_DEST, 'persist_dest'),
              (UNDEFINE_SOURCE, 'undefine_source'), (NON_SHARED_DISK, 'non_shared_disk'),
              (NON_SHARED_INC, 'non_shared_inc'), (UNSAFE, 'unsafe'), (OFFLINE, 'offline'),
              (AUTO_CONVERGE, 'auto_converge'))
PARAM_URI = 'migrate_uri'  # VIR_MIGRATE_PARAM_URI
PARAM_BANDWIDTH = 'bandwidth'  # VIR_MIGRATE_PARAM_BANDWIDTH, MiB/s

_XML_INACTIVE = 2
_UNDEFINE_KEEP_NVRAM = 8  # VIR_DOMAIN_UNDEFINE_KEEP_NVRAM
_STATES = {1: 'running', 2: 'running', 3: 'paused', 4: 'running', 5: 'shutoff', 6: 'crashed', 7: 'paused'}


def flag_names(flags):
    return [name for bit, name in FLAG_NAMES if flags & bit]


# -- options ---------------------------------------------------------------------------
def validate(options):
    """Refuse bad migrate_to options before anything is looked up."""
    if not options or not options.get('uri'):
        raise InvalidInput('migrate_to.uri is required: the libvirt URI of the node to move the VM to')
    if options.get('copy_storage', 'none') not in COPY_STORAGE:
        raise InvalidInput('migrate_to.copy_storage must be one of %s' % ', '.join(COPY_STORAGE))
    if options.get('tunnelled') and not options.get('p2p'):
        raise InvalidInput('migrate_to.tunnelled needs migrate_to.p2p: true (libvirt tunnels only peer-to-peer '
                           'migrations through its own connection)')
    if options.get('tunnelled') and options.get('migration_uri'):
        raise InvalidInput('migrate_to.migration_uri does not apply to a tunnelled migration: the data goes '
                           'through the libvirt connection')
    for key in ('bandwidth', 'timeout'):
        value = options.get(key)
        if value is not None and value <= 0:
            raise InvalidInput('migrate_to.%s must be larger than 0, got %s' % (key, value))
    return options


# -- planning (pure) ---------------------------------------------------------------------
class Side:
    """What one node knows about the VM: None (absent) or its state, persistence and UUID."""

    def __init__(self, state, persistent, uuid):
        self.state = state
        self.persistent = persistent
        self.uuid = uuid

    @property
    def active(self):
        return self.state in ('running', 'paused', 'crashed')


class Plan:
    def __init__(self, action, flags=0, reason=''):
        self.action = action  # none | live | offline | undefine_source
        self.flags = flags
        self.reason = reason


def plan(name, source, target, options):
    """What to do to move VM ``name``; Refused/NotFound/InvalidInput for what cannot be done."""
    undefine = options.get('undefine_source', True)
    copy = options.get('copy_storage') or 'none'
    if source is None and target is None:
        raise NotFound("VM '%s' exists on neither the source nor migrate_to.uri" % name)
    if source is not None and target is not None and source.uuid != target.uuid:
        raise Refused("a different VM named '%s' (UUID %s, not %s) already exists on migrate_to.uri; rename or "
                      "remove one of them" % (name, target.uuid, source.uuid))
    if source is None:
        return Plan('none', reason='already on the target and gone from the source')
    if target is not None and source.active and target.active:
        raise Refused("VM '%s' runs on both nodes (a migration in progress, or started twice?); stop one copy "
                      "(the one whose disks are not in use) before running this again" % name)
    if target is not None and target.active:
        if undefine and source.persistent:
            return Plan('undefine_source', reason='runs on the target; its old definition is left on the source')
        return Plan('none', reason='runs on the target; the source keeps its definition (undefine_source: false)')
    if not source.active:
        if target is not None:
            if undefine and source.persistent:
                return Plan('undefine_source', reason='defined on the target; the old definition is left on the source')
            return Plan('none', reason='defined on both nodes (undefine_source: false)')
        if copy != 'none':
            raise InvalidInput("VM '%s' is shut off: libvirt copies disks (copy_storage) only through a running "
                               "QEMU; start it first, or copy its volumes to the target yourself and use "
                               "copy_storage: none" % name)
        if not options.get('persistent', True):
            raise InvalidInput("VM '%s' is shut off, so only its definition can move, and that needs "
                               "migrate_to.persistent: true" % name)
        flags = OFFLINE | PERSIST_DEST | (UNDEFINE_SOURCE if undefine else 0)
        return Plan('offline', _transport_flags(options, flags), 'shut off: move the definition')
    flags = LIVE if options.get('live', True) else 0
    if options.get('persistent', True):
        flags |= PERSIST_DEST
    if undefine and source.persistent:
        flags |= UNDEFINE_SOURCE
    if copy == 'all':
        flags |= NON_SHARED_DISK
    elif copy == 'incremental':
        flags |= NON_SHARED_INC
    if options.get('auto_converge'):
        flags |= AUTO_CONVERGE
    if options.get('unsafe'):
        flags |= UNSAFE
    return Plan('live' if flags & LIVE else 'paused', _transport_flags(options, flags),
                'running: move the running VM' if flags & LIVE else 'running: pause, move, resume')


def _transport_flags(options, flags):
    if options.get('p2p'):
        flags |= PEER2PEER
    if options.get('tunnelled'):
        flags |= TUNNELLED
    return flags


def migrate_params(options):
    params = {}
    if options.get('migration_uri'):
        params[PARAM_URI] = options['migration_uri']
    if options.get('bandwidth'):
        params[PARAM_BANDWIDTH] = int(options['bandwidth'])
    return params


# -- reading both sides ----------------------------------------------------------------------
def side_of(conn, dom):
    if dom is None:
        return None
    with conn.translated('read', "VM '%s'" % dom.name()):
        state = dom.state()[0]
        return Side(_STATES.get(state, 'unknown'), bool(dom.isPersistent()), dom.UUIDString())


def _host_uuid(conn):
    with conn.translated('read the capabilities of', 'the node'):
        return _xml.text_of(_xml.parse(conn.virt.getCapabilities()), 'host/uuid')


def _needs_on_target(conn, dom):
    """(networks, pools) the VM's definition names."""
    with conn.translated('read', "VM '%s'" % dom.name()):
        root = _xml.parse(dom.XMLDesc(0))
    networks = sorted(set(s.get('network') for s in root.findall('./devices/interface/source') if s.get('network')))
    pools = sorted(set(s.get('pool') for s in root.findall('./devices/disk/source') if s.get('pool')))
    return networks, pools


def _check_other_host(source, target):
    source_host = _host_uuid(source)
    if source.uri == target.uri or (source_host is not None and source_host == _host_uuid(target)):
        raise Refused("migrate_to.uri %s reaches the same host as %s (same host UUID); a VM can only move to "
                      "another node" % (target.uri, source.uri))


def _check_target(source, target, dom, name):
    """Refuse before any change what the target cannot take."""
    networks, pools = _needs_on_target(source, dom)
    missing = []
    for net_name in networks:
        net = target.network(net_name)
        if net is None or not net.isActive():
            missing.append("network '%s'" % net_name)
    for pool_name in pools:
        pool = target.pool(pool_name)
        if pool is None or not pool.isActive():
            missing.append("pool '%s'" % pool_name)
    if missing:
        raise Refused("VM '%s' cannot run on %s: it needs %s there (missing or not running); create and start "
                      "them first" % (name, target.uri, ', '.join(missing)))


# -- acting -----------------------------------------------------------------------------------
def _with_timeout(dom, call, timeout, what):
    """Run a blocking libvirt call; past ``timeout`` seconds abort the domain's job and raise WaitTimeout."""
    outcome = {}

    def worker():
        try:
            outcome['value'] = call()
        except BaseException as exc:  # handed to the caller's thread
            outcome['error'] = exc

    thread = threading.Thread(target=worker, name='vmcat-migrate')
    thread.daemon = True
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        try:
            dom.abortJob()
        except Exception:  # best effort: the job may have finished meanwhile, the timeout is what gets reported
            pass
        thread.join(120)
        if 'value' not in outcome:
            raise WaitTimeout('%s did not finish within %ss and was cancelled; the VM stays on the source. Raise '
                              'migrate_to.timeout, give more migrate_to.bandwidth, or set auto_converge for a busy '
                              'guest' % (what, timeout), timeout=timeout)
    if 'error' in outcome:
        raise outcome['error']
    return outcome.get('value')


def _migrate(source, target, dom, name, the_plan, options):
    params = migrate_params(options)
    what = "migration of VM '%s' to %s" % (name, target.uri)
    hint = ('check that %s is reachable from the source node%s, that the target has the same disk paths '
            '(or use copy_storage), networks and CPU features' % (
                target.uri, ' (p2p: the source libvirtd connects to it)' if options.get('p2p') else ''))
    with source.translated('migrate', "VM '%s' to %s" % (name, target.uri), hint):
        if the_plan.flags & PEER2PEER:
            _with_timeout(dom, lambda: dom.migrateToURI3(target.uri, params, the_plan.flags),
                          options.get('timeout') or 600, what)
        else:
            _with_timeout(dom, lambda: dom.migrate3(target.virt, params, the_plan.flags),
                          options.get('timeout') or 600, what)


def _undefine_source(source, dom, name):
    with source.translated('undefine', "VM '%s'" % name, 'it may have snapshots or a managed save image'):
        try:
            dom.undefineFlags(_UNDEFINE_KEEP_NVRAM)
        except LibvirtError as exc:
            if not is_flag_refused(exc):
                raise
            dom.undefine()


def _result(source, target, name, the_plan, changed, dom_on_target, seconds=None):
    return {
        'changed': changed,
        'name': name,
        'source_uri': source.uri,
        'target_uri': target.uri,
        'action': the_plan.action,
        'reason': the_plan.reason,
        'flags': flag_names(the_plan.flags),
        'target': _describe(target, dom_on_target),
        'seconds': round(seconds, 2) if seconds is not None else None,
    }


def _describe(conn, dom):
    side = side_of(conn, dom) if dom is not None else None
    if side is None:
        return None
    return {'state': side.state, 'persistent': side.persistent, 'uuid': side.uuid}


def _predicted(source_side, the_plan, target_side):
    if the_plan.action in ('live', 'paused'):
        return {'state': source_side.state, 'persistent': bool(the_plan.flags & PERSIST_DEST), 'uuid': source_side.uuid}
    if the_plan.action == 'offline':
        return {'state': 'shutoff', 'persistent': True, 'uuid': source_side.uuid}
    if target_side is not None:
        return {'state': target_side.state, 'persistent': target_side.persistent, 'uuid': target_side.uuid}
    return None


def migrate_vm(ctx, dom, params):
    """Move the VM (``dom`` on ctx.conn, or None when it is not there) to params['migrate_to']['uri'].

    Returns a dict: changed, name, source_uri, target_uri, action (none,
    live, paused, offline, undefine_source), reason, flags, target (state,
    persistent and uuid on the target, predicted in check mode) and seconds.
    """
    options = validate(params.get('migrate_to'))
    name = dom.name() if dom is not None else params.get('name')
    source = ctx.conn
    target = Connection(options['uri'])
    with target:
        _check_other_host(source, target)
        target_dom = target.domain(name)
        source_side, target_side = side_of(source, dom), side_of(target, target_dom)
        the_plan = plan(name, source_side, target_side, options)
        if the_plan.action == 'none':
            return _result(source, target, name, the_plan, False, target_dom)
        if the_plan.action == 'undefine_source':
            ctx.act("undefine VM '%s' on %s (it is on %s)" % (name, source.uri, target.uri),
                    _undefine_source, source, dom, name)
            return _result(source, target, name, the_plan, True, target_dom)
        _check_target(source, target, dom, name)
        started = time.monotonic()
        ctx.act("%s migration of VM '%s' to %s" % (the_plan.action, name, target.uri),
                _migrate, source, target, dom, name, the_plan, options)
        if ctx.check_mode:
            result = _result(source, target, name, the_plan, True, None)
            result['target'] = _predicted(source_side, the_plan, target_side)
            return result
        moved = target.domain(name)
        if moved is None:
            raise VmcatError("libvirt reported the migration of VM '%s' as done, but %s does not know it"
                             % (name, target.uri))
        return _result(source, target, name, the_plan, True, moved, time.monotonic() - started)


def already_migrated(ctx, params):
    """For a VM missing on ctx.conn with migrate_to set: the no-change result when it is on the target, else None.

    The vm module calls this before treating a missing VM as one to create:
    a VM that was moved by an earlier run is no change (and, unlike
    migrate_vm, a VM on neither node is not an error here: it may be one to
    create and then move).
    """
    options = validate(params.get('migrate_to'))
    name = params.get('name')
    source = ctx.conn
    target = Connection(options['uri'])
    with target:
        _check_other_host(source, target)
        target_dom = target.domain(name)
        if target_dom is None:
            return None
        the_plan = plan(name, None, side_of(target, target_dom), options)
        return _result(source, target, name, the_plan, False, target_dom)
