# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading networks: one network as network/network_info return it (leases, pending changes), and the list.

Apart from the network cycle (``_network``) so that network_info does not
ship it, its entry updates and its checks.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._definitions import definition_xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import LibvirtError, is_unsupported
from ansible_collections.vmcat.libvirt.plugins.module_utils._network._definition import (
    changed_option_paths, compare_view, spec_of)

_INACTIVE_XML = 1  # VIR_NETWORK_XML_INACTIVE
_LEASE_FAMILIES = {0: 'ipv4', 1: 'ipv6'}

# What to do when reading a network fails (its definition, state, leases).
READ_HINT = ("check that the network still exists (another task or tool may have removed it) and that this user "
             "may read it on the node")


def config_root(net):
    """The saved definition (the live one for a transient network)."""
    return _xml.parse(definition_xml(net, _INACTIVE_XML), "definition of network '%s'" % net.name())


def live_root(net):
    return _xml.parse(net.XMLDesc(0), "live definition of network '%s'" % net.name())


def pending_changes(net):
    """Option paths where a running network's saved definition differs from the running one."""
    if not (net.isActive() and net.isPersistent()):
        return []
    return changed_option_paths(compare_view(live_root(net)), compare_view(config_root(net)))


def leases(net):
    """The DHCP leases dnsmasq handed out on a running network ([] when the driver does not track them)."""
    if not net.isActive():
        return []
    try:
        raw = net.DHCPLeases()
    except LibvirtError as exc:
        if is_unsupported(exc):  # the driver keeps no leases
            return []
        raise
    out = []
    for lease in raw or []:
        out.append({
            'mac': (lease.get('mac') or '').lower() or None,
            'ip': lease.get('ipaddr'),
            'prefix': lease.get('prefix'),
            'family': _LEASE_FAMILIES.get(lease.get('type'), str(lease.get('type'))),
            'hostname': lease.get('hostname') or None,
            'client_id': lease.get('clientid') or None,
            'expiry_time': lease.get('expirytime'),
        })
    return sorted(out, key=lambda lease: (lease['family'], lease['ip'] or ''))


def describe(net, with_leases=False):
    """Everything network/network_info return about one network."""
    info = spec_of(config_root(net))
    info.update(
        uuid=net.UUIDString(),
        active=bool(net.isActive()),
        autostart=bool(net.autostart()),
        persistent=bool(net.isPersistent()),
    )
    if with_leases:
        pending = pending_changes(net)
        info.update(dhcp_leases=leases(net), restart_required=bool(pending), pending_changes=pending)
    return info


def list_networks(ctx, name=None):
    nets = [ctx.conn.require_network(name)] if name else ctx.conn.all_networks()
    with ctx.conn.translated('read', "network '%s'" % name if name else 'networks', READ_HINT):
        return [describe(n, with_leases=True) for n in sorted(nets, key=lambda n: n.name())]
