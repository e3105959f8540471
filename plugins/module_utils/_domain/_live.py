# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Changes to a running VM: what libvirt can apply live, and what waits for a restart.

``plan_live`` compares the running VM (its live XML) with its saved
definition, for the options the task sets, and returns the live calls that
close the gap plus the option paths that stay different until the VM is
restarted (``pending_changes``).  ``pending_changes`` alone compares every
option (``vm_info``).

Live handlers (the ``live`` column of the option table):

- ``metadata``: title, description, tags and metadata through virDomainSetMetadata;
- ``vcpus``: more vCPUs up to the running maximum (setVcpusFlags); fewer wait
  for a restart (vCPU unplug needs the guest's help, and QEMU 7.2 can crash
  when it times out);
- ``memory``: the balloon, when the task changes the memory, up to the
  running maximum (setMemoryFlags);
- ``disks`` and ``nics``: hot-plug and hot-unplug (attachDeviceFlags and
  detachDeviceFlags, then wait until the guest released the device; disks
  on virtio, SCSI and USB only, IDE and SATA cannot), CD-ROM media and NIC
  link state (updateDeviceFlags);
- ``graphics``: the password (updateDeviceFlags);
- ``channels``: named virtio-serial channels are hot-plugged and unplugged
  (attachDeviceFlags and detachDeviceFlags; a changed one is replaced).

Everything else (machine, CPU, firmware, maximum vCPUs and memory, boot,
kernel, serial, RNG, TPM, watchdog, agent channel, lifecycle actions, other
device changes) is saved and applies at the next boot.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _channels as channels
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _devices as devices
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _graphics as graphics
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _nics as nics
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _metadata as meta
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _options as options
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._diff import changed_paths
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain._resources import MIB
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import VmcatError, WaitTimeout
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._wait import wait_for

AFFECT_LIVE = devices.AFFECT_LIVE
# Buses QEMU can hot-plug disks on (IDE and AHCI/SATA cannot: such disks wait for a restart; their CD-ROM media
# can still be changed live).
HOTPLUG_BUSES = ('virtio', 'scsi', 'usb')
META_DESCRIPTION, META_TITLE, META_ELEMENT = 0, 1, 2  # virDomainMetadataType


class LiveOp:
    """One live call: ``description`` for the actions list, ``fn(*args)`` to run it."""

    def __init__(self, description, fn, *args):
        self.description = description
        self.fn = fn
        self.args = args

    def __repr__(self):
        return 'LiveOp(%s)' % self.description


# -- option paths ----------------------------------------------------------------------
def _keyed(name, items):
    if name == 'disks':
        return dict(('disks[%s]' % d['target'], d) for d in items)
    if name == 'nics':
        return dict(('nics[%s]' % (n['mac'] or 'new %d' % i), n) for i, n in enumerate(items))
    if name == 'channels':
        return dict(('channels[%s]' % c['name'], c) for c in items)
    counts = {}
    out = {}
    for item in items:
        index = counts.get(item['type'], 0)
        counts[item['type']] = index + 1
        out['graphics[%s]' % item['type'] if not index else 'graphics[%s %d]' % (item['type'], index)] = item
    return out


def option_paths(name, live_value, config_value):
    """Where two values of one option differ, as option paths: machine, cpu.mode, disks[vdb].cache."""
    if live_value == config_value:
        return []
    if name in ('disks', 'nics', 'graphics', 'channels'):
        live, config = _keyed(name, live_value or []), _keyed(name, config_value or [])
        paths = []
        for key in sorted(set(live) | set(config)):
            if key not in live or key not in config:
                paths.append(key)
            else:
                paths.extend(changed_paths(live[key], config[key], key))
        return paths
    if isinstance(live_value, dict) and isinstance(config_value, dict):
        return changed_paths(live_value, config_value, name)
    return [name]


def pending_changes(live_root, config_root):
    """Option paths where the running VM differs from its saved definition."""
    live, config = options.view(live_root), options.view(config_root)
    paths = []
    for opt in options.OPTIONS:
        if not opt.same_live(live[opt.name], config[opt.name]):
            paths.extend(option_paths(opt.name, live[opt.name], config[opt.name]))
    return paths


# -- the handlers -----------------------------------------------------------------------
class Planner:
    """Builds the live calls for one running VM."""

    def __init__(self, ctx, dom, live_root, config_root, before_root, task_values, hotplug=True):
        """``task_values``: {option: normalised value} of the options the task sets (apply_options).

        ``hotplug``: whether the driver can attach, detach and update devices (libvirt's test driver cannot;
        there device changes wait for a restart).
        """
        self.hotplug = hotplug
        self.ctx = ctx
        self.dom = dom
        self.live_root = live_root
        self.config_root = config_root
        self.before_root = before_root
        self.task = task_values
        self.ops = []
        self.pending = []
        self.unplug_timeout = ctx.params.get('unplug_timeout') or 30

    def plan(self):
        live, config = options.view(self.live_root), options.view(self.config_root)
        own_done = False
        for opt in options.OPTIONS:
            lv, cv = live[opt.name], config[opt.name]
            handler = getattr(self, '_live_%s' % opt.live, None)
            if opt.live in ('disks', 'nics', 'graphics', 'channels') and not self.hotplug:
                handler = None
            if handler is not None and opt.name in self.task:
                if opt.name in ('tags', 'metadata'):  # one element holds both: one call
                    if own_done or (live['tags'], live['metadata']) == (config['tags'], config['metadata']):
                        continue
                    own_done = True
                handler(opt, lv, cv)
            elif not opt.same_live(lv, cv):
                self.pending.extend(option_paths(opt.name, lv, cv))
        return self.ops, sorted(set(self.pending), key=self.pending.index)

    def _add(self, description, fn, *args):
        self.ops.append(LiveOp(description, fn, *args))

    # metadata
    def _live_metadata(self, opt, lv, cv):
        if opt.name in ('title', 'description'):
            if lv != cv:
                kind = META_TITLE if opt.name == 'title' else META_DESCRIPTION
                self._add('set %s' % opt.name, self.dom.setMetadata, kind, cv or None, None, None, AFFECT_LIVE)
            return
        self._add('set tags and metadata', self.dom.setMetadata, META_ELEMENT, meta.own_xml(self.config_root),
                  meta.PREFIX, meta.NS, AFFECT_LIVE)

    # vCPUs
    def _live_vcpus(self, opt, lv, cv):
        live_max = options.read_max_vcpus(self.live_root)
        if lv == cv:
            return
        if lv < cv <= live_max:
            self._add('set vcpus %d' % cv, self.dom.setVcpusFlags, cv, AFFECT_LIVE)
        else:
            self.pending.append('vcpus')

    # memory (balloon)
    def _live_memory(self, opt, lv, cv):
        before = options.read_memory(self.before_root) if self.before_root is not None else None
        if before == cv:
            return
        if cv <= options.read_max_memory(self.live_root):
            self._add('set memory %d MiB' % (cv // MIB), self.dom.setMemoryFlags, cv // 1024, AFFECT_LIVE)
        else:
            self.pending.append('memory')

    # disks
    def _live_disks(self, opt, lv, cv):
        live = devices.disk_elements(self.live_root)
        config = devices.disk_elements(self.config_root)
        named = set(d['target'] for d in self.task.get('disks') or [])
        for target in sorted(set(live) | set(config)):
            lel, cel = live.get(target), config.get(target)
            bus = devices.read_disk(cel if cel is not None else lel)['bus']
            if lel is None:
                if target in named and bus in HOTPLUG_BUSES:
                    self._add('attach disk %s' % target, self._attach, cel)
                else:
                    self.pending.append('disks[%s]' % target)
            elif cel is None:
                if self.ctx.params.get('purge_disks') and bus in HOTPLUG_BUSES:
                    self._add('detach disk %s' % target, self._detach, lel, 'disk %s' % target,
                              lambda root, t=target: t in devices.disk_elements(root))
                else:
                    self.pending.append('disks[%s]' % target)
            else:
                lview, cview = devices.read_disk(lel), devices.read_disk(cel)
                if lview == cview:
                    continue
                source_keys = ('pool', 'volume', 'path', 'format')
                only_media = all(lview[k] == cview[k] for k in devices.DISK_KEYS if k not in source_keys)
                if target in named and cview['device'] == 'cdrom' and only_media:
                    self._add('change media of %s' % target, self._update, cel)
                else:
                    self.pending.extend(changed_paths(lview, cview, 'disks[%s]' % target))

    # NICs
    def _live_nics(self, opt, lv, cv):
        live = dict((nics.read_nic(el)['mac'], el) for el in nics.nic_elements(self.live_root))
        config_els = nics.nic_elements(self.config_root)
        named = set(id(el) for nic, el in nics.match_nics(config_els, self.task.get('nics') or [])
                    if el is not None)
        task_macs = set(n['mac'] for n in self.task.get('nics') or [] if n.get('mac'))
        seen = set()
        for cel in config_els:
            cview = nics.read_nic(cel)
            mac = cview['mac']
            lel = live.get(mac) if mac else None
            if lel is None:
                if id(cel) in named or not mac:
                    # named by the MAC the task gave (a MAC libvirt picks is unknown in check mode)
                    label = mac if mac in task_macs else 'on %s' % (cview['network'] or cview['bridge'])
                    self._add('attach nic %s' % label, self._attach, cel)
                else:
                    self.pending.append('nics[%s]' % mac)
                continue
            seen.add(mac)
            lview = nics.read_nic(lel)
            if lview == cview:
                continue
            if id(cel) in named and dict(lview, link_state=None) == dict(cview, link_state=None):
                self._add('set link %s of nic %s' % (cview['link_state'], mac), self._set_link, lel, cview['link_state'])
            else:
                self.pending.extend(changed_paths(lview, cview, 'nics[%s]' % mac))
        for mac, lel in live.items():
            if mac in seen:
                continue
            if self.ctx.params.get('purge_nics'):
                self._add('detach nic %s' % mac, self._detach, lel, 'nic %s' % mac,
                          lambda root, m=mac: any(nics.read_nic(el)['mac'] == m for el in nics.nic_elements(root)))
            else:
                self.pending.append('nics[%s]' % mac)

    # graphics
    def _live_graphics(self, opt, lv, cv):
        live_els = graphics.graphics_elements(self.live_root)
        if len(lv) != len(cv) or [g['type'] for g in lv] != [g['type'] for g in cv]:
            self.pending.extend(option_paths('graphics', lv, cv))
            return
        for lel, lview, cview in zip(live_els, lv, cv):
            if lview == cview:
                continue
            if dict(lview, password=None) == dict(cview, password=None):
                self._add('set %s password' % cview['type'], self._set_password, lel, cview['password'])
            else:
                self.pending.extend(option_paths('graphics', [lview], [cview]))

    # channels
    def _live_channels(self, opt, lv, cv):
        if opt.same_live(lv, cv):
            return
        for step, name, el in channels.plan_channels(self.live_root, self.config_root):
            if step == 'attach':
                self._add('attach channel %s' % name, self._attach, el)
            else:
                self._add('detach channel %s' % name, self._detach, el, 'channel %s' % name,
                          lambda root, n=name: n in channels.channel_elements(root))

    # -- the calls -------------------------------------------------------------------------
    def _attach(self, el):
        self.dom.attachDeviceFlags(_xml.to_string(devices.strip_runtime(el), pretty=False), AFFECT_LIVE)

    def _update(self, el):
        self.dom.updateDeviceFlags(_xml.to_string(devices.strip_runtime(el), pretty=False), AFFECT_LIVE)

    def _set_link(self, live_el, state):
        el = devices.strip_runtime(live_el)
        _xml.ensure(el, 'link').set('state', state)
        self.dom.updateDeviceFlags(_xml.to_string(el, pretty=False), AFFECT_LIVE)

    def _set_password(self, live_el, password):
        graphics.set_live_password(self.dom, live_el, password)

    def _detach(self, live_el, what, still_there):
        self.dom.detachDeviceFlags(_xml.to_string(live_el, pretty=False), AFFECT_LIVE)

        def gone():
            return not still_there(_xml.parse(self.dom.XMLDesc(0)))
        try:
            wait_for(gone, self.unplug_timeout, '%s to leave the VM' % what)
        except WaitTimeout:
            raise VmcatError(
                "VM '%s' on %s: libvirt asked the guest to release %s, but it was still attached after %ss. The guest "
                "has to take part in a hot-unplug (ACPI PCI hotplug in Linux guests); it may be slow, busy or not "
                "support it. The saved definition no longer has the device, so it is gone after the next restart "
                "(state: restarted); raise unplug_timeout to wait longer"
                % (self.ctx.params['name'], self.ctx.conn.uri, what, self.unplug_timeout),
                timeout=self.unplug_timeout)


def run_ops(ctx, ops):
    """Run the live calls through the check-mode guard; libvirt errors name the VM and the step."""
    for index, op in enumerate(ops):
        hint = ('the saved definition has the change, and it applies at the next restart; the live steps before '
                'this one were done: %s' % ', '.join(o.description for o in ops[:index])) if index else \
            'the saved definition has the change, and it applies at the next restart'
        with ctx.conn.translated(op.description + ' of', "running VM '%s'" % ctx.params['name'], hint):
            ctx.act(op.description, op.fn, *op.args)
