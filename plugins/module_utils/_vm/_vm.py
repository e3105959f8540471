# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vm module's cycle: converge one VM's definition, run state and live state.

read the saved definition (or start from a skeleton for a new VM) ->
write the task's options into a copy (``_domain_options``) -> check the
result against the node (``_vm_validate``) -> compare option views: define
when they differ -> for a running VM apply live what libvirt can apply
live and report the rest as ``pending_changes`` (``_domain_live``) -> move
the run state (``_domain_state``) -> autostart -> report.

Every mutation goes through ``ctx.act``; check mode predicts.  Everything
is checked before the first change; a new VM whose start fails is removed
again with the volumes the task made for it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _nics as nics
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _options as options
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _raw as raw
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _state as states
from ansible_collections.vmcat.libvirt.plugins.module_utils._vm import _disks as storage
from ansible_collections.vmcat.libvirt.plugins.module_utils._vm import _validate as validate
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain._live import Planner, run_ops
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import (
    InvalidInput, LibvirtError, NotFound, Refused, is_unsupported)
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._cycle import Outcome
from ansible_collections.vmcat.libvirt.plugins.module_utils._node._caps import parse_guests
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._stale_check import still_as_read
from ansible_collections.vmcat.libvirt.plugins.module_utils._vm._vm_info import (
    config_root,
    describe,
    live_root,
    option_view,
)

from ansible_collections.vmcat.libvirt.plugins.module_utils._vm import _cloud_init
from ansible_collections.vmcat.libvirt.plugins.module_utils._vm import _migrate
from ansible_collections.vmcat.libvirt.plugins.module_utils._vm import _runtime_options


_UNDEFINE_MANAGED_SAVE = 1  # VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
_UNDEFINE_NVRAM = 4  # VIR_DOMAIN_UNDEFINE_NVRAM
# What to do when the node's capabilities (its guest types: architectures, machines) cannot be read.
_CAPS_HINT = ("the VM's architecture and machine type come from them: check that libvirtd runs on the node and that "
              "this user may read its capabilities (virsh capabilities), or set arch and machine in the task")


def _what(name):
    return "VM '%s'" % name


# -- the node ------------------------------------------------------------------------------
class NodeFacts:
    """Capabilities read once, on demand: machine aliases, host arch, whether KVM is offered."""

    def __init__(self, conn):
        self.conn = conn
        self._guests = None

    def guests(self):
        if self._guests is None:
            with self.conn.translated('read', 'the capabilities of the node', _CAPS_HINT):
                try:
                    text = self.conn.virt.getCapabilities()
                except LibvirtError as exc:  # only "the driver cannot tell" means no guest types; the rest is translated
                    if not is_unsupported(exc):
                        raise
                    text = None
            self._guests = parse_guests(_xml.parse(text, 'capabilities')) if text else []
        return self._guests

    def canonical_machine(self, name, arch=None):
        for guest in self.guests():
            if arch and guest['arch'] != arch:
                continue
            for machine in guest['machines']:
                if machine['name'] == name and machine['canonical']:
                    return machine['canonical']
        return name

    def auto_virt_type(self, arch=None):
        try:
            self.conn.virt.getDomainCapabilities(None, arch, None, 'kvm', 0)
            return 'kvm'
        except LibvirtError:  # probing: any refusal (no KVM here, no domain capabilities) means qemu
            return 'qemu'

    def default_arch_machine(self, virt_type, arch=None, machine=None):
        """(arch, machine) libvirt gives a definition that leaves them out: its domain capabilities say.

        Drivers without domain capabilities (the test driver) set no machine; their arch is the host's when a
        guest type has it, else the first guest type's.
        """
        try:
            caps = _xml.parse(self.conn.virt.getDomainCapabilities(None, arch, machine, virt_type, 0),
                              'domain capabilities')
            return _xml.text_of(caps, 'arch') or arch, _xml.text_of(caps, 'machine') or machine
        except (LibvirtError, InvalidInput):  # not supported, no such virt type or machine here: defaults follow
            pass
        if arch:
            return arch, machine
        arches = [g['arch'] for g in self.guests()]
        try:
            host = self.conn.virt.getInfo()[0]
        except LibvirtError:  # without the host's arch the first guest type's is taken
            host = None
        return (host if host in arches else (arches[0] if arches else None)), machine

    def as_stored(self, root, current=None):
        """``root`` as libvirt will store it when defined (as far as the option view shows): check mode's prediction.

        ``current``: the VM's definition now, for what only it can tell (the default CPU model libvirt wrote).
        """
        arch, machine = options.read_arch(root), options.read_machine(root)
        if not arch or not machine:
            arch, machine = self.default_arch_machine(root.get('type'), arch, machine)
        return options.libvirt_defaults(root, arch, machine, lambda name: self.canonical_machine(name, arch), current)


def _env(ctx, new, arch):
    facts = NodeFacts(ctx.conn)
    params = ctx.params
    return options.Env(
        purge_disks=params.get('purge_disks'), purge_nics=params.get('purge_nics'), new=new,
        canonical_machine=lambda name, dummy: facts.canonical_machine(name, arch),
        auto_virt_type=lambda: facts.auto_virt_type(arch))


# -- reading and defining --------------------------------------------------------------------
def read_config(conn, dom, secure=True):
    with conn.translated('read the definition of', _what(dom.name())):
        return config_root(dom, secure)


def read_live(conn, dom):
    with conn.translated('read the running definition of', _what(dom.name())):
        return live_root(dom, secure=True)


def _define(ctx, root, name):
    with ctx.conn.translated('define', _what(name), 'libvirt refused the definition built from the task; the '
                             'message above says which part'):
        return ctx.act('define', ctx.conn.virt.defineXML, _xml.to_string(root))


def _hotplug(conn):
    """Whether the driver can attach and detach devices of a running VM (libvirt's test driver cannot)."""
    try:
        return conn.virt.getType().lower() != 'test'
    except LibvirtError:  # assume hotplug: libvirt refuses it itself where it cannot
        return True


def undefine_flags(dom, root):
    flags = 0
    if options.read_firmware(root) == 'uefi' or root.find('os/nvram') is not None:
        flags |= _UNDEFINE_NVRAM
    try:
        if dom.hasManagedSaveImage(0):
            flags |= _UNDEFINE_MANAGED_SAVE
    except LibvirtError:  # drivers without managed save (no image to remove)
        pass
    return flags


def undefine(dom, root):
    flags = undefine_flags(dom, root)
    if flags:
        return dom.undefineFlags(flags)
    return dom.undefine()


# -- the task's values -----------------------------------------------------------------------
def _seed_pool(params, disks):
    cloud_init = params.get('cloud_init') or {}
    if cloud_init.get('pool'):
        return cloud_init['pool']
    for disk in disks or []:
        if disk.get('create'):
            return disk['create']['pool']
        if disk.get('pool'):
            return disk['pool']
    return None


def _task_values(ctx, new, base):
    """The task's options as apply_options takes them: disks planned, defaults for a new VM, seed disk added."""
    params = ctx.params
    effective = dict((name, params.get(name)) for name in options.NAMES)
    disks, creations = storage.plan_disks(ctx, params.get('disks'))
    if params.get('disks') is not None:
        effective['disks'] = disks
    if new:
        for name, default in (('guest_agent', True), ('serial', {'type': 'pty', 'path': None}),
                              ('virt_type', 'auto')):
            if effective.get(name) is None:
                effective[name] = default
    seed = None
    if params.get('cloud_init') is not None:
        pool = _seed_pool(params, params.get('disks'))
        machine = params.get('machine') or options.read_machine(base)
        seed = _cloud_init.seed_disk(params['name'], pool, params['cloud_init'], machine,
                                     params.get('arch') or options.read_arch(base))
        if seed['pool'] is None:
            raise InvalidInput('cloud_init needs a pool to keep the seed in: set cloud_init.pool (or give a disk in '
                               'a pool)')
        listed = [d for d in effective.get('disks') or [] if d['target'] == seed['target']]
        if listed and (listed[0].get('volume'), listed[0].get('path')) != (seed['volume'], None):
            raise InvalidInput('disk %s is the cloud-init seed drive; give it another target, or set '
                               'cloud_init.target' % seed['target'])
        if not listed:
            effective['disks'] = list(effective.get('disks') or []) + [dict(seed)]
    if any(d.get('boot_order') for d in effective.get('disks') or []) and effective.get('boot') is None:
        effective['boot'] = []  # per-device boot order replaces libvirt's default <boot dev='hd'/>
    return effective, creations, seed


def _predicted(before, wanted, state, autostart, pending):
    view = dict(before or {})
    view.update(option_view(wanted))
    for disk in view['disks']:
        old = next((d for d in (before or {}).get('disks', []) if d['target'] == disk['target']), {})
        disk['capacity'], disk['allocation'] = old.get('capacity'), old.get('allocation')
    for nic in view['nics']:
        old = next((n for n in (before or {}).get('nics', []) if nic['mac'] and n['mac'] == nic['mac']), {})
        nic['addresses'] = old.get('addresses', [])
    if states.state_name(state) in ('running', 'paused'):  # a running VM keeps the port QEMU was given
        for gfx in view.get('graphics') or []:
            old = next((g for g in (before or {}).get('graphics', []) if g['type'] == gfx['type']), {})
            if gfx.get('autoport') and gfx.get('port') is None:
                gfx['port'] = old.get('port')
    view.update(
        name=_xml.text_of(wanted, 'name'),
        state=states.state_name(state),
        autostart=bool(autostart),
        restart_required=bool(pending),
        pending_changes=pending,
    )
    for key in ('uuid', 'id', 'state_reason', 'persistent', 'snapshot_count', 'uptime'):
        view.setdefault(key, None)
    view['persistent'] = True
    return view


# -- present and the run states -----------------------------------------------------------------
def ensure(ctx):
    """Converge one VM to the task's options; returns an Outcome."""
    params = ctx.params
    validate.check_params(params, ctx.conn.uri)
    if params['state'] == 'absent':
        return ensure_absent(ctx)
    dom = ctx.conn.domain(params['name'])
    if dom is None and params.get('migrate_to') is not None:
        moved = _migrate.already_migrated(ctx, params)
        if moved is not None:  # an earlier run moved it: no change here
            return Outcome(False, None, None, restart_required=False, pending_changes=[], actions=[], migration=moved)
    if dom is None:  # a VM this task makes; existing ones keep whatever name they were given elsewhere
        validate.check_new_name(params['name'], ctx.conn.uri)
    if params.get('xml'):
        return XmlConverger(ctx, dom).run()
    return Converger(ctx, dom).run()


class Converger:
    def __init__(self, ctx, dom):
        self.ctx = ctx
        self.conn = ctx.conn
        self.params = ctx.params
        self.name = self.params['name']
        self.dom = dom
        self.extra = {}

    def _base(self):
        params = self.params
        if self.dom is None:
            if params.get('memory') is None and params.get('max_memory') is None:
                raise NotFound("VM '%s' does not exist on %s; to create it give at least memory (and usually vcpus, "
                               "disks and nics), or xml" % (self.name, self.conn.uri))
            arch = params.get('arch')
            virt_type = params.get('virt_type') if params.get('virt_type') not in (None, 'auto') else 'qemu'
            return None, options.new_definition(self.name, virt_type, arch), states.SHUTOFF
        before_root = read_config(self.conn, self.dom)
        with self.conn.translated('read the state of', _what(self.name)):
            state = self.dom.state()[0]
        return before_root, copy.deepcopy(before_root), state

    def run(self):
        ctx, params, conn = self.ctx, self.params, self.conn
        new = self.dom is None
        before_root, wanted, state = self._base()
        before = None if new else describe(conn, self.dom)
        effective, creations, seed = _task_values(ctx, new, wanted)
        env = _env(ctx, new, params.get('arch') or options.read_arch(wanted))
        task_values = options.apply_options(wanted, effective, env)
        validate.check_node(ctx, task_values.get('nics'), self.name)
        validate.check_wanted(ctx, wanted, self.name, before_root)
        config_changed = new or options.view(before_root) != options.view(wanted)

        made = storage.create_volumes(ctx, creations)
        try:
            if seed is not None:  # storing a seed (ISO writer, volume transfers) is imported only by tasks with one
                from ansible_collections.vmcat.libvirt.plugins.module_utils._vm import _seed_volume
                _seed_volume.ensure_seed(ctx, self.name, seed['pool'], params['cloud_init'],
                                         options.read_machine(wanted), options.read_arch(wanted))
            if config_changed:
                if not new:
                    still_as_read(ctx, _what(self.name), lambda: config_root(self.dom, True), before_root)
                defined = _define(ctx, wanted, self.name)
                self.dom = defined or self.dom
            if new and not ctx.check_mode:
                try:
                    return self._converge(before, before_root, wanted, task_values, state)
                except BaseException:
                    self._remove_new()
                    raise
        except BaseException:
            storage.remove_made(made)
            raise
        if ctx.check_mode and config_changed:  # predict what libvirt stores (its defaults filled in)
            wanted = NodeFacts(conn).as_stored(wanted)
        return self._converge(before, before_root, wanted, task_values, state)

    def _remove_new(self):
        """A new VM whose later steps failed is removed again (nothing half-made)."""
        try:
            if self.dom.isActive():
                self.dom.destroy()
            undefine(self.dom, read_config(self.conn, self.dom, secure=False))
        except Exception:  # cleanup that must never hide the error that made us clean up
            pass

    def _converge(self, before, before_root, wanted, task_values, state):
        ctx, params, conn = self.ctx, self.params, self.conn
        dom = self.dom
        target = params['state']
        if dom is None or ctx.check_mode:
            config = wanted
        elif 'define' in ctx.actions or before_root is None:
            config = read_config(conn, dom)  # what libvirt stored of what this task defined
        else:
            config = before_root  # nothing defined: the definition this task read moments ago
        active = state != states.SHUTOFF
        stays_up = target in ('present', 'running', 'paused', 'restarted')
        ops, pending = [], []
        if active and stays_up:
            live = read_live(conn, dom)
            ops, pending = Planner(ctx, dom, live, config, before_root, task_values, hotplug=_hotplug(conn)).plan()
        cold = target == 'restarted' and bool(pending)
        if not cold:
            run_ops(ctx, ops)
        machine = states.StateMachine(ctx, dom, state)
        machine.converge(target, cold_restart=cold)
        if machine.state == states.SHUTOFF or cold:
            pending = []
        autostart = before['autostart'] if before else False
        if params.get('autostart') is not None and params['autostart'] != autostart:
            with conn.translated('set autostart of', _what(self.name)):
                ctx.act('autostart %s' % ('on' if params['autostart'] else 'off'),
                        dom.setAutostart if dom is not None else None, int(params['autostart']))
            autostart = params['autostart']
        if params.get('wait_for') and dom is not None:
            self.extra['addresses'] = _runtime_options.wait_for_vm(ctx, dom, params)
        changed = bool(ctx.actions)
        if before is not None and not changed and not ctx.check_mode and not params.get('wait_for'):
            after = before  # nothing done and nothing waited for: the VM as this task read it moments ago
        else:
            # A VM's run state and addresses move without this task: read it back whenever it exists.
            after = ctx.after(dom is not None, lambda: describe(conn, dom),
                              lambda: _predicted(before, wanted, machine.state, autostart, pending))
        pending = after['pending_changes']
        if params.get('migrate_to') is not None and dom is not None:
            migration = _migrate.migrate_vm(ctx, dom, params)
            self.extra['migration'] = migration
            changed = changed or bool(migration.get('changed'))
        return Outcome(changed, before, after, restart_required=bool(pending), pending_changes=pending,
                       actions=ctx.actions, **self.extra)


class XmlConverger(Converger):
    """``xml``: the given definition replaces the saved one; a running VM takes it at the next restart."""

    def run(self):
        ctx, params, conn = self.ctx, self.params, self.conn
        new = self.dom is None
        before_root = None if new else read_config(conn, self.dom)
        state = states.SHUTOFF if new else self.dom.state()[0]
        before = None if new else describe(conn, self.dom)
        given = raw.prepare(params['xml'], self.name, before_root)
        validate.check_node(ctx, [n for n in nics.read_nics(given) if n['network'] or n['mac']], self.name)
        validate.check_wanted(ctx, given, self.name, before_root)
        if ctx.check_mode:
            arch = options.read_arch(given)
            facts = NodeFacts(conn)
            if new or not raw.covers(before_root, given, lambda machine: facts.canonical_machine(machine, arch)):
                _define(ctx, given, self.name)
                predicted = facts.as_stored(given, before_root)
            else:  # defining it changes nothing: the VM keeps the definition libvirt has
                predicted = before_root
            return self._converge(before, before_root, predicted, {}, state)
        if not new:
            still_as_read(ctx, _what(self.name), lambda: config_root(self.dom, True), before_root)
        self.dom = _define(ctx, given, self.name)
        if not new and raw.same_definition(before_root, read_config(conn, self.dom)):
            # libvirt stored what it had: defining the same definition again is no change.
            ctx.withdraw('define')
        if new:
            try:
                return self._converge(before, before_root, given, {}, state)
            except BaseException:
                self._remove_new()
                raise
        return self._converge(before, before_root, given, {}, state)


# -- absent ---------------------------------------------------------------------------------
def ensure_absent(ctx):
    conn = ctx.conn
    name = ctx.params['name']
    dom = conn.domain(name)
    if dom is None:
        return Outcome(False, None, None, restart_required=False, pending_changes=[], actions=[])
    what = _what(name)
    before = describe(conn, dom)
    roots = [read_config(conn, dom, secure=False)]
    if dom.isActive():
        roots.append(read_live(conn, dom))
    with conn.translated('count the snapshots of', what):
        snapshots = dom.snapshotNum(0)
    if snapshots and before['persistent']:
        raise Refused("%s on %s has %d snapshot(s); removing the VM would orphan them. Delete them first "
                      "(virsh snapshot-list %s), then remove the VM" % (what, conn.uri, snapshots, name))
    remove, kept = storage.storage_plan(ctx, name, roots) if ctx.params.get('remove_storage') else ([], [])
    if dom.isActive():
        with conn.translated('destroy', what):
            ctx.act('destroy', dom.destroy)
    if before['persistent']:
        with conn.translated('undefine', what):
            ctx.act('undefine', undefine, dom, roots[0])
    removed = storage.delete_volumes(ctx, remove)
    extra = {}
    if ctx.params.get('remove_storage'):
        extra['storage'] = {'removed': removed, 'kept': kept}
    return Outcome(True, before, None, restart_required=False, pending_changes=[], actions=ctx.actions, **extra)
