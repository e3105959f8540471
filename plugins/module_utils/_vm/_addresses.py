# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The IP addresses of a VM, from the guest agent, the DHCP leases of libvirt networks, and the host's ARP table.

``vm_addresses`` asks ``virDomainInterfaceAddresses`` once per source, in
the order given, and returns each (MAC, address) once, with the first
source that knew it:

* ``agent``: what the guest itself says (every interface, with prefixes);
  ``interface`` is the guest's name (eth0).  Needs a running qemu-ga.
* ``lease``: the DHCP leases of the libvirt networks the VM's NICs are on
  (NICs on plain bridges have none); ``interface`` is the host side (vnet0).
* ``arp``: the host's ARP table for the VM's MACs; IPv4 only, no prefix.
  libvirt reads it through netlink, which fails in some containers ("wrong
  nlmsg len"); on a local URI (no host part) the table is then read from
  ``/proc/net/arp`` instead, for the MACs of the VM's running NICs.

A source that has nothing to say (no agent, VM not running, no lease, an
ARP table libvirt cannot read) yields nothing and never raises; pass
``problems=[]`` to collect why.  Loopback and link-local addresses are left
out unless asked for.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import (
    InvalidInput, LibvirtError, VmcatError, libvirt_message)

SOURCES = ('agent', 'lease', 'arp')
_SOURCE_FLAGS = {'lease': 0, 'agent': 1, 'arp': 2}  # VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_*
_NO_MAC = ('', '00:00:00:00:00:00')
PROC_ARP = '/proc/net/arp'
_ARP_COMPLETE = 0x2  # ATF_COM: the entry has a hardware address


def parse_networks(networks, what='ip_networks'):
    """ip_network objects for a list of CIDR strings; InvalidInput for a bad one."""
    parsed = []
    for text in networks or []:
        try:
            parsed.append(ipaddress.ip_network(str(text), strict=False))
        except ValueError as exc:
            raise InvalidInput("%s entry '%s' is not a network in CIDR notation (like 192.0.2.0/24 or "
                               "2001:db8::/64): %s" % (what, text, exc))
    return parsed


def check_sources(sources, what='ip_source'):
    bad = [s for s in sources or [] if s not in SOURCES]
    if bad:
        raise InvalidInput('%s must be a list of %s; unknown: %s' % (what, ', '.join(SOURCES), ', '.join(bad)))
    if not sources:
        raise InvalidInput('%s must name at least one of %s' % (what, ', '.join(SOURCES)))
    return list(sources)


def _wanted(ip, include_loopback, include_link_local, networks):
    if ip.is_loopback and not include_loopback:
        return False
    if ip.is_link_local and not include_link_local:
        return False
    return not networks or any(ip.version == n.version and ip in n for n in networks)


def _ask(dom, source, problems):
    try:
        return dom.interfaceAddresses(_SOURCE_FLAGS[source], 0) or {}
    except LibvirtError as exc:  # best-effort read: any refusal (no agent, not running ...) is noted, not raised
        if source == 'arp':
            found = _local_arp(dom)
            if found is not None:
                return found
        if problems is not None:
            problems.append('%s: %s' % (source, libvirt_message(exc)))
        return {}


def _is_local(dom):
    try:
        uri = dom.connect().getURI()
    except Exception:  # broad, best-effort read: a connection that cannot say its URI is not taken for local
        return False
    scheme, sep, rest = uri.partition('://')
    return bool(sep) and not scheme.startswith('test') and rest.startswith('/')


def read_arp_table(path=None):
    """{mac: [(ip, device)]} of the complete entries of a Linux ARP table file."""
    table = {}
    with open(path or PROC_ARP) as f:
        next(f, None)  # the header line
        for line in f:
            fields = line.split()
            if len(fields) < 6:
                continue
            try:
                complete = int(fields[2], 16) & _ARP_COMPLETE
            except ValueError:
                continue
            if complete:
                table.setdefault(fields[3].lower(), []).append((fields[0], fields[5]))
    return table


def _local_arp(dom):
    """The VM's NICs found in the host's ARP table file, shaped like interfaceAddresses; None when not local."""
    if not _is_local(dom):
        return None
    try:
        table = read_arp_table()
        root = _xml.parse(dom.XMLDesc(0))
    except (OSError, LibvirtError, VmcatError):  # best-effort read (file, libvirt, XML): ARP is only a fallback
        return None
    found = {}
    for nic in root.findall('./devices/interface'):
        mac = (_xml.attr_of(nic, 'mac', 'address') or '').lower()
        ifname = _xml.attr_of(nic, 'target', 'dev') or mac
        addrs = [{'addr': ip, 'prefix': 0, 'type': 0} for ip, dummy in table.get(mac, [])]
        if mac and addrs:
            found[ifname] = {'hwaddr': mac, 'addrs': addrs}
    return found


def vm_addresses(conn, dom, sources=SOURCES, include_loopback=False, include_link_local=False,
                 networks=None, problems=None):
    """A list of {mac, interface, ip, prefix, family, source}, each (mac, ip) once.

    ``conn`` is the collection Connection (kept for callers that need the
    node; the addresses come from ``dom``).  ``networks`` (ip_network
    objects or CIDR strings) keeps only addresses inside them.  Sorted by
    source order, then interface, then family and address.
    """
    nets = [n if hasattr(n, 'version') and hasattr(n, 'prefixlen') else parse_networks([n])[0]
            for n in (networks or [])]
    found = []
    seen = set()
    for source in check_sources(list(sources)):
        batch = []
        for ifname, info in sorted(_ask(dom, source, problems).items()):
            mac = (info.get('hwaddr') or '').lower()
            for addr in info.get('addrs') or []:
                try:
                    ip = ipaddress.ip_address(addr.get('addr'))
                except ValueError:
                    continue
                if not _wanted(ip, include_loopback, include_link_local, nets):
                    continue
                key = (mac if mac not in _NO_MAC else ifname, ip)
                if key in seen:
                    continue
                seen.add(key)
                batch.append({
                    'mac': mac if mac not in _NO_MAC else None,
                    'interface': ifname,
                    'ip': str(ip),
                    'prefix': addr.get('prefix') if source != 'arp' else None,  # ARP knows no prefix (libvirt says 0)
                    'family': 'ipv%d' % ip.version,
                    'source': source,
                })
        found.extend(sorted(batch, key=lambda a: (a['interface'], a['family'], ipaddress.ip_address(a['ip']))))
    return found
