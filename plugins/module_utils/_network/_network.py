# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Virtual networks: converge a definition, remove them safely (reading them: ``_network_read``).

The cycle: read the network's saved definition (and, when it runs, the
live one) -> edit a copy with the options the task sets -> compare the two
as option-shaped views -> act, each step through the check-mode guard:

- static DHCP hosts, DHCP ranges and DNS hosts go through virNetworkUpdate,
  one entry at a time, so a running network takes them at once without a
  restart.  The calls are planned for the running and the saved definition
  each from itself (LIVE|CONFIG where both need the same call, CONFIG alone
  for a stopped network): an entry the task does not name is never deleted
  or rewritten, so tasks that each manage their own entries of one network
  (``purge_*: false``) never undo each other's work;
- anything else (mode, bridge, addresses, MTU, domain, forward.dev) is
  saved with a new definition and, for a running network, reported in
  ``pending_changes`` until ``restart: true`` restarts it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._definitions import drop_quietly
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import (
    ConnectionLost,
    InvalidInput,
    Refused,
    StaleRead,
    VmcatError,
)
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._cycle import Outcome
from ansible_collections.vmcat.libvirt.plugins.module_utils._network._update import (
    AFFECT_CONFIG,
    AFFECT_LIVE,
    merge_ops,
    sync_lists,
    update_ops,
)
from ansible_collections.vmcat.libvirt.plugins.module_utils._network._validate import check_name, validate
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._stale_check import still_as_read
from ansible_collections.vmcat.libvirt.plugins.module_utils._network._definition import (
    MANAGED_MODES,
    apply_options,
    changed_option_paths,
    clone,
    compare_view,
    new_definition,
    restart_view,
    spec_of,
)
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._usage import network_users
from ansible_collections.vmcat.libvirt.plugins.module_utils._network._network_read import (
    READ_HINT, config_root, describe, live_root, pending_changes)


# What to do when a step fails after earlier steps of the same task changed the network.
_MIDWAY_HINT = ('the steps before it (see the task\'s actions) were done; fix the cause and run the task again, '
                'it picks up from the state the network is in now')


# -- acting ---------------------------------------------------------------------
def _what(name):
    return "network '%s'" % name


def _refuse_if_used(ctx, name, root, doing):
    """Stopping a network cuts running VMs off it: refuse unless force."""
    if ctx.params.get('force'):
        return
    bridge = _xml.attr_of(root, 'bridge', 'name') if spec_of(root)['mode'] in MANAGED_MODES else None
    with ctx.conn.translated('list the VMs using', _what(name),
                             "nothing was changed; check that this user may read the node's VM definitions, "
                             "or set force: true to skip this check"):
        users = network_users(ctx.conn, name, bridge, running_only=True)
    if users:
        raise Refused("%s on %s: refused to %s the network because running VMs use it: %s; their NICs would lose "
                      "their link (libvirt does not attach them again when the network starts). Shut those VMs "
                      "down or move their NICs first, or set force: true"
                      % (_what(name), ctx.conn.uri, doing, ', '.join(users)))


def _define(ctx, root, hint=None):
    name = _xml.text_of(root, 'name')
    with ctx.conn.translated('define', _what(name), hint or 'libvirt refused the definition built from the task; '
                             'check the addresses, mode and bridge'):
        return ctx.act('define', ctx.conn.virt.networkDefineXML, _xml.to_string(root))


def _redefine(ctx, net, config, wanted):
    """Write a new saved definition, unless another writer changed the saved one since this task read it."""
    still_as_read(ctx, _what(net.name()), lambda: config_root(net), config)
    _define(ctx, wanted)


def _wanted(root, params):
    """``root`` edited with the task's options (a copy), and the DHCP hosts that no longer fit an address."""
    wanted = clone(root)
    return wanted, apply_options(wanted, params)


def _list_ops(src, wanted):
    """The per-entry calls that bring the lists of ``src`` to ``wanted``, or None when calls cannot."""
    synced = sync_lists(src, wanted)
    if compare_view(synced) != compare_view(wanted):
        return None
    return update_ops(src, synced)


def entry_plan(params, config, live, persistent):
    """[(op, flags)] that give the running network and its saved definition the task's list entries.

    Each definition is planned from itself: an entry only one of them has is
    left alone (or, with purge, removed from that one), so nothing is ever
    copied from one to the other and nothing the task does not name is lost.
    """
    live_ops = update_ops(live, sync_lists(live, _wanted(live, params)[0]))
    config_ops = []
    if persistent:
        config_ops = update_ops(config, sync_lists(config, _wanted(config, params)[0]))
    return merge_ops(live_ops, config_ops)


def _scope(flags, two_definitions):
    if not two_definitions or flags == AFFECT_LIVE | AFFECT_CONFIG:
        return ''
    return ' (running network only)' if flags == AFFECT_LIVE else ' (saved definition only)'


def _apply_ops(ctx, net, planned, two_definitions, replan):
    """Make the planned virNetworkUpdate calls, in order.

    When one fails, ``replan()`` plans again from fresh reads: if the failed
    call is no longer in the plan, another task changed the entry in between
    and the task starts over (StaleRead); otherwise the error stands.
    """
    name = net.name()
    for op, flags in planned:
        if op is planned[0][0]:
            hint = ('nothing was changed; libvirt refused this entry: check it against the entries the network '
                    'already has (network_info shows them), or leave it out')
        else:
            hint = 'the network was left as the earlier updates made it; fix the entry and run the task again'
        what = op.describe() + _scope(flags, two_definitions)
        try:
            with ctx.conn.translated('update', _what(name) + ' (%s)' % what, hint):
                ctx.act(what, net.update, op.command, op.section, op.index, op.xml, flags)
        except ConnectionLost:
            raise
        except VmcatError:
            with ctx.conn.translated('read again', _what(name), READ_HINT):
                fresh = replan()
            if (op, flags) not in fresh:
                raise StaleRead('%s on %s: another task changed the entry this task was updating (%s)'
                                % (_what(name), ctx.conn.uri, op.describe()))
            raise


def _persistent(ctx, net):
    with ctx.conn.translated('read', _what(net.name()), READ_HINT):
        return bool(net.isPersistent())


def _save_config(ctx, net, config, wanted, structural):
    """Bring the saved definition of a network that is not (or no longer) running to ``wanted``."""
    if compare_view(config) == compare_view(wanted):
        return
    ops = None if structural or not _persistent(ctx, net) else _list_ops(config, wanted)
    if ops is None:
        _redefine(ctx, net, config, wanted)
        return

    def replan():
        fresh = config_root(net)
        return merge_ops([], _list_ops(fresh, _wanted(fresh, ctx.params)[0]) or [])
    _apply_ops(ctx, net, merge_ops([], ops), False, replan)


def _update_running(ctx, net, config, live, wanted, structural):
    """Change a running network that stays up: entries one by one, live and saved; the rest in the saved one."""
    persistent = _persistent(ctx, net)
    redefine = persistent and compare_view(config) != compare_view(wanted) and (
        structural or _list_ops(config, wanted) is None)
    # With a new saved definition coming, only the running network's entries are left to change one by one.
    with_config = persistent and not redefine

    def replan():
        return entry_plan(ctx.params, config_root(net), live_root(net), with_config)
    _apply_ops(ctx, net, entry_plan(ctx.params, config, live, with_config), with_config, replan)
    if redefine:
        _redefine(ctx, net, config, wanted)


def _predicted(wanted, before, active, autostart):
    view = spec_of(wanted)
    view.update(uuid=(before or {}).get('uuid'), active=active, autostart=autostart, persistent=True)
    return view


def ensure(ctx):
    """Converge a network to the task's options; returns an Outcome."""
    params = ctx.params
    conn = ctx.conn
    name = params['name']
    check_name(params, conn.uri)
    if params['state'] == 'absent':
        return _ensure_absent(ctx)
    net = conn.network(name)
    if net is None:
        validate(params, conn.uri, conn=conn)
        return _create(ctx)
    what = _what(name)
    with conn.translated('read', what, READ_HINT):
        before = describe(net)
        config = config_root(net)
        active = bool(net.isActive())
        live = live_root(net) if active else None
    validate(params, conn.uri, before, conn=conn)
    wanted, orphans = _wanted(config, params)
    if orphans:
        raise InvalidInput("%s on %s: static DHCP hosts %s would be outside every address of the network; "
                           "set dhcp_hosts (without them) together with ips"
                           % (what, conn.uri, ', '.join(h['ip'] for h in orphans)))
    structural = restart_view(spec_of(wanted)) != restart_view(spec_of(config))
    if structural and not before['persistent']:
        raise Refused("%s on %s is transient (it has no saved definition, and stopping it removes it): only DHCP "
                      "hosts, DHCP ranges and DNS hosts can change on it (%s cannot); define it persistently first, "
                      "or remove it and let this module create it"
                      % (what, conn.uri, ', '.join(changed_option_paths(restart_view(spec_of(config)),
                                                                        restart_view(spec_of(wanted))))))
    config_changed = compare_view(config) != compare_view(wanted)
    want_active = params.get('active')
    autostart = before['autostart']
    stop = active and want_active is False
    pending = []
    if active:
        pending = changed_option_paths(compare_view(sync_lists(live, _wanted(live, params)[0])), compare_view(wanted))
    restart = active and not stop and bool(pending) and params.get('restart')

    if stop or restart:
        _refuse_if_used(ctx, name, live, 'restart' if restart else 'stop')

    count = len(ctx.actions)
    if stop or restart or not active:
        _save_config(ctx, net, config, wanted, structural)
    else:
        _update_running(ctx, net, config, live, wanted, structural)
    if stop or restart:
        with conn.translated('stop', what, 'the saved definition is already written; check libvirtd\'s log for '
                             'why the network (its dnsmasq, its bridge) could not be stopped, then run the task again'):
            ctx.act('stop', net.destroy)
        pending = []
    if restart or (want_active is True and not active):
        with conn.translated('start', what, 'the saved definition is kept; check the addresses and the bridge '
                             'name against the other networks of the node'):
            ctx.act('start', net.create)
        pending = []
    if params.get('autostart') is not None and params['autostart'] != autostart:
        with conn.translated('set autostart of', what, _MIDWAY_HINT + '; a transient network cannot autostart: '
                             'define it persistently first'):
            ctx.act('autostart', net.setAutostart, int(params['autostart']))
        autostart = params['autostart']
    changed = len(ctx.actions) > count or config_changed
    now_active = (active and not stop) or want_active is True

    def read_back():
        with conn.translated('read back', what, 'the change was made (see actions); ' + READ_HINT):
            return describe(net), pending_changes(net) if (now_active and not restart) else []

    if stop and not before['persistent']:
        after = None  # a transient network is gone once stopped
    else:
        after, pending = ctx.after(changed, read_back,
                                   lambda: (_predicted(wanted, before, now_active, autostart), pending))
    return Outcome(changed, before, after, restart_required=bool(pending), pending_changes=pending,
                   actions=ctx.actions)


def _create(ctx):
    params = ctx.params
    conn = ctx.conn
    name = params['name']
    root = new_definition(params)
    active = params.get('active') is not False
    autostart = params.get('autostart') is not False
    if ctx.check_mode:
        for step in ['define'] + (['start'] if active else []) + (['autostart'] if autostart else []):
            ctx.record(step)  # the network to call does not exist yet
        return Outcome(True, None, _predicted(root, None, active, autostart), restart_required=False,
                       pending_changes=[], actions=ctx.actions)
    net = _define(ctx, root)
    try:
        if active:
            with conn.translated('start', _what(name), 'check that the addresses and the bridge name do not clash '
                                 'with another network or interface of the node'):
                ctx.act('start', net.create)
        if autostart:
            with conn.translated('set autostart of', _what(name), 'the new network was removed again; check '
                                 "libvirtd's log on the node for why its autostart link could not be made"):
                ctx.act('autostart', net.setAutostart, 1)
    except Exception:  # any failure midway (re-raised below) must not leave a half-made network
        drop_quietly(net)
        raise
    with conn.translated('read back', _what(name), 'the network was created (see actions); ' + READ_HINT):
        after = describe(net)
    return Outcome(True, None, after, restart_required=False, pending_changes=[], actions=ctx.actions)


def _ensure_absent(ctx):
    conn = ctx.conn
    name = ctx.params['name']
    net = conn.network(name)
    if net is None:
        return Outcome(False, None, None, restart_required=False, pending_changes=[], actions=[])
    what = _what(name)
    with conn.translated('read', what, READ_HINT):
        before = describe(net)
    if before['active']:
        with conn.translated('read', what, READ_HINT):
            live = live_root(net)
        _refuse_if_used(ctx, name, live, 'remove')
        with conn.translated('stop', what, 'nothing was removed; check libvirtd\'s log for why the network (its '
                             'dnsmasq, its bridge) could not be stopped, then run the task again'):
            ctx.act('stop', net.destroy)
    if before['persistent']:
        with conn.translated('undefine', what, 'the network was stopped but is still defined; check that this user '
                             "may write libvirt's network definitions on the node, then run the task again"):
            ctx.act('undefine', net.undefine)
    return Outcome(True, before, None, restart_required=False, pending_changes=[], actions=ctx.actions)
