# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Describe VMs in the shape of the vm module's options, plus what only the node knows.

``describe(conn, dom)`` is what ``vm`` returns and ``vm_info`` lists: every
option of the table read from the saved definition (graphics passwords
never), and read-only facts: ``uuid``, ``id``, ``state`` (in the ``state``
option's words) and ``state_reason``, ``persistent``, ``autostart``,
``snapshot_count``, ``uptime``, ``restart_required``/``pending_changes``;
disks get ``capacity``/``allocation``, NICs their ``addresses``, graphics of
a running VM the port it listens on.  The vm module ignores those read-only
keys when a result is fed back to it.

Uptime: libvirt has no boot time.  For ``qemu:///system`` on this host the
start time of the QEMU process (``/run/libvirt/qemu/<name>.pid`` and
``/proc/<pid>/stat``) gives it; elsewhere it is null.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _graphics as graphics
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _options as options
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _state as states
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain._live import pending_changes
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import LibvirtError, NotFound, VmcatError, is_not_found

from ansible_collections.vmcat.libvirt.plugins.module_utils._vm import _addresses

XML_SECURE, XML_INACTIVE = 1, 2
_PID_DIR = '/run/libvirt/qemu'
_SYSTEM_URIS = ('qemu:///system', 'qemu+unix:///system')


def config_xml(dom, secure=False):
    """The saved definition (the live one for a transient VM); ``secure`` includes passwords."""
    flags = XML_SECURE if secure else 0
    if dom.isActive() and dom.isPersistent():
        flags |= XML_INACTIVE
    return dom.XMLDesc(flags)


def config_root(dom, secure=False):
    return _xml.parse(config_xml(dom, secure), "definition of VM '%s'" % dom.name())


def live_root(dom, secure=False):
    return _xml.parse(dom.XMLDesc(XML_SECURE if secure else 0), "running definition of VM '%s'" % dom.name())


def option_view(root):
    """The option-shaped view of a definition, without passwords."""
    view = options.view(root)
    view['graphics'] = [dict(g, password=None) for g in view['graphics']]
    return view


# -- runtime facts ----------------------------------------------------------------------
def uptime(uri, name, proc='/proc', pid_dir=_PID_DIR):
    """Seconds since the VM's QEMU process started, for the local system daemon; None elsewhere."""
    if (uri or '').split('?')[0] not in _SYSTEM_URIS:
        return None
    try:
        with open(os.path.join(pid_dir, '%s.pid' % name)) as handle:
            pid = int(handle.read().strip())
        with open(os.path.join(proc, str(pid), 'stat')) as handle:
            stat = handle.read()
        with open(os.path.join(proc, 'uptime')) as handle:
            system_uptime = float(handle.read().split()[0])
    except (IOError, OSError, ValueError):
        return None
    fields = stat[stat.rindex(')') + 2:].split()
    start_ticks = int(fields[19])  # field 22 of /proc/<pid>/stat; fields[0] is field 3
    ticks = os.sysconf('SC_CLK_TCK') if hasattr(os, 'sysconf') else 100
    return max(0, int(system_uptime - start_ticks / float(ticks)))


def _disk_sizes(conn, dom, disk):
    """(capacity, allocation) in bytes of one disk: from its volume, else from blockInfo; (None, None) when unknown."""
    if not (disk['volume'] or disk['path']):
        return None, None
    try:
        if disk['volume']:
            pool = conn.pool(disk['pool'])
            vol = conn.volume(pool, disk['volume']) if pool is not None and pool.isActive() else None
        else:
            vol = conn.volume_by_path(disk['path'])
        if vol is not None:
            info = vol.info()  # [type, capacity, allocation]
            return int(info[1]), int(info[2])
    except (LibvirtError, VmcatError):  # the pool or volume is gone or unreadable: ask the hypervisor
        pass
    try:
        info = dom.blockInfo(disk['target'], 0)
        return int(info[0]), int(info[1])
    except LibvirtError:  # a disk QEMU has not opened (VM shut off, no medium) has no size to tell
        return None, None


def addresses(conn, dom, root):
    """The running VM's addresses (a paused guest's agent cannot answer: none then)."""
    if dom.state()[0] != states.RUNNING:
        return []
    return _addresses.vm_addresses(conn, dom)


def _snapshots(dom):
    try:
        return dom.snapshotNum(0)
    except LibvirtError:  # drivers without snapshots: the count is unknown (null)
        return None


def describe(conn, dom, with_addresses=True):
    """Everything vm/vm_info return about one VM."""
    name = dom.name()
    with conn.translated('read', "VM '%s'" % name):
        root = config_root(dom)
        code, reason = dom.state()
        active = code != states.SHUTOFF
        live = live_root(dom) if active else None
        view = option_view(root)
        view.update(
            name=name,
            uuid=dom.UUIDString(),
            id=dom.ID() if active and dom.ID() >= 0 else None,
            state=states.state_name(code),
            state_reason=states.state_reason(code, reason),
            persistent=bool(dom.isPersistent()),
            autostart=bool(dom.autostart()) if dom.isPersistent() else False,
            snapshot_count=_snapshots(dom),
            uptime=uptime(conn.uri, name) if active else None,
        )
        pending = pending_changes(live, root) if (live is not None and dom.isPersistent()) else []
        view.update(restart_required=bool(pending), pending_changes=pending)
        for disk in view['disks']:
            disk['capacity'], disk['allocation'] = _disk_sizes(conn, dom, disk)
        found = addresses(conn, dom, live if live is not None else root) if with_addresses else []
        for nic in view['nics']:
            nic['addresses'] = [a for a in found if nic['mac'] and a.get('mac') == nic['mac']]
        if live is not None:
            running = graphics.read_graphics(live)
            for item in view['graphics']:
                match = next((g for g in running if g['type'] == item['type']), None)
                if match is not None and item['autoport'] and match['listen'] == item['listen']:
                    port = _xml.attr_of(live, "devices/graphics[@type='%s']" % item['type'], 'port')
                    item['port'] = int(port) if port and int(port) > 0 else None
    return view


# -- vm_info ----------------------------------------------------------------------------
def _matches(view, params):
    if params.get('state') and view['state'] not in params['state']:
        return False
    tags = params.get('tags') or []
    return all(tag in view['tags'] for tag in tags)


def list_vms(ctx):
    """vm_info: the VMs (all, or by name), filtered by state and tags, optionally through a JMESPath query."""
    conn = ctx.conn
    params = ctx.params
    if params.get('name'):
        doms = [conn.require_domain(params['name'])]
    else:
        doms = conn.all_domains()
    vms = []
    for dom in sorted(doms, key=lambda d: d.name()):
        try:
            view = describe(conn, dom)
        except NotFound:
            continue  # undefined while we listed
        except LibvirtError as exc:
            if is_not_found(exc):
                continue  # undefined while we listed
            raise
        if _matches(view, params):
            vms.append(view)
    return vms
