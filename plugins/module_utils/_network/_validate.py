# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks on the network module's options, made before anything changes.

Every message names the network, the node's URI and what to do about it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._definitions import definition_xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._object_names import check_object_name
from ansible_collections.vmcat.libvirt.plugins.module_utils._network._definition import (
    MANAGED_MODES,
    interface_from_param,
    ip_interface_of,
    ip_text,
    is_absent,
    mac_text,
    mode_of,
)

_MAC_RE = re.compile(r'^[0-9a-f]{2}(:[0-9a-f]{2}){5}$')
_IFNAME_MAX = 15  # Linux IFNAMSIZ - 1
_BAD_IFNAME_CHARS = re.compile(r'[/:\s]')
_DNS_NAME_RE = re.compile(r'^[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$')


class _Checker:
    def __init__(self, params, uri):
        self.name = params['name']
        self.uri = uri

    def fail(self, problem, fix):
        raise InvalidInput("network '%s' on %s: %s; %s" % (self.name, self.uri, problem, fix))


def check_name(params, uri):
    """Refuse a network name libvirt would reject or that would clash with its files, before anything is looked up.

    libvirt keeps a network's definition and dnsmasq's files under the name
    (``/etc/libvirt/qemu/networks/NAME.xml``, ``/var/lib/libvirt/dnsmasq/NAME.conf``).
    """
    check_object_name('network', params['name'], uri, 'lab')


def _address(check, value, what):
    try:
        return ipaddress.ip_address(ip_text(value))
    except ValueError:
        check.fail("%s '%s' is not an IP address" % (what, value),
                   'write an IPv4 address such as 192.168.100.10 or an IPv6 address such as fd00:1::10')


def _interfaces(check, ips):
    """[(ip_interface, (dhcp range start, end) or None)] for the ``ips`` option, checked."""
    out = []
    for index, item in enumerate(ips):
        what = 'ips[%d]' % index
        address = str(item.get('address') or '').strip()
        if '/' in address and item.get('prefix') is not None and address.split('/', 1)[1] != str(item['prefix']):
            check.fail("%s: address '%s' and prefix %s disagree" % (what, address, item['prefix']),
                       'give the prefix once, either as address/prefix or as prefix')
        if '/' not in address and item.get('prefix') is None:
            check.fail("%s: address '%s' has no prefix" % (what, address),
                       'write it as address/prefix (192.168.100.1/24) or set prefix')
        try:
            iface = interface_from_param(item)
        except ValueError as exc:
            check.fail("%s: '%s' (prefix %s) is not a valid address with prefix (%s)" % (what, address, item.get('prefix'), exc),
                       'write an address/prefix such as 192.168.100.1/24 or fd00:1::1/64')
        net = iface.network
        if net.num_addresses > 2 and iface.ip in (net.network_address, getattr(net, 'broadcast_address', None)):
            check.fail("%s: %s is the %s address of %s, not a host address" % (
                what, iface.ip, 'network' if iface.ip == net.network_address else 'broadcast', net),
                'use an address inside the subnet for the network itself, such as %s' % next(net.hosts()))
        rng = item.get('dhcp_range')
        bounds = None
        if rng:
            start = _address(check, rng.get('start'), '%s.dhcp_range.start' % what)
            end = _address(check, rng.get('end'), '%s.dhcp_range.end' % what)
            for bound in (start, end):
                if bound.version != iface.version or bound not in net:
                    check.fail('%s.dhcp_range %s - %s is not inside the subnet %s' % (what, start, end, net),
                               'choose start and end addresses inside %s' % net)
            if start > end:
                check.fail('%s.dhcp_range starts at %s, after its end %s' % (what, start, end), 'swap start and end')
            if start <= iface.ip <= end:
                check.fail('%s.dhcp_range %s - %s holds the address of the network itself (%s)' % (what, start, end, iface.ip),
                           'start the range after it or end it before it')
            if iface.version == 4 and net.num_addresses > 2 and (start == net.network_address or end == net.broadcast_address):
                check.fail('%s.dhcp_range %s - %s includes the network or broadcast address of %s' % (what, start, end, net),
                           'keep the range between %s and %s' % (net.network_address + 1, net.broadcast_address - 1))
            bounds = (start, end)
        out.append((iface, bounds))
    ifaces = [iface for iface, bounds in out]
    for i, a in enumerate(ifaces):
        for b in ifaces[i + 1:]:
            if a.version == b.version and a.network.overlaps(b.network):
                check.fail('ips %s and %s overlap' % (a, b), 'give each address of the network its own subnet')
    return out


def _check_hosts(check, hosts, interfaces):
    seen = {}
    dhcp_blocks = set()
    for index, item in enumerate(hosts):
        what = 'dhcp_hosts[%d]' % index
        ip = _address(check, item.get('ip'), '%s.ip' % what)
        mac = mac_text(item.get('mac'))
        if mac is not None and not _MAC_RE.match(mac):
            check.fail("%s.mac '%s' is not a MAC address" % (what, item.get('mac')),
                       'write six hex pairs separated by colons, such as 52:54:00:12:34:56')
        if is_absent(item):  # a removal names an entry by any of its fields; it needs no subnet or DHCP
            continue
        if ip.version == 4 and not (mac or item.get('name')):
            check.fail('%s (%s) has neither mac nor name' % (what, ip), 'an IPv4 host needs a mac or a name to match the client')
        if ip.version == 6 and mac:
            check.fail('%s (%s) has a mac; DHCPv6 does not match clients by MAC address' % (what, ip),
                       'give a name or the client DUID as id instead')
        if ip.version == 6 and not (item.get('name') or item.get('id')):
            check.fail('%s (%s) has neither name nor id' % (what, ip), 'an IPv6 host needs a name or a DUID (id)')
        block = next((iface for iface, bounds in interfaces if iface.version == ip.version and ip in iface.network), None)
        if block is None:
            subnets = ', '.join(str(iface.network) for iface, bounds in interfaces) or 'none'
            check.fail('%s ip %s is not in any subnet of the network (subnets: %s)' % (what, ip, subnets),
                       'use an address inside one of them, or add its subnet to ips')
        if ip == block.ip:
            check.fail('%s ip %s is the address of the network itself' % (what, ip), 'give the host another address')
        dhcp_blocks.add(block)
        for key, value in (('mac', mac), ('ip', str(ip)), ('name', item.get('name')), ('id', item.get('id'))):
            if value is None:
                continue
            if (key, value) in seen:
                check.fail('dhcp_hosts[%d] and %s have the same %s %s' % (seen[(key, value)], what, key, value),
                           'every static host needs its own mac, ip, name and id')
            seen[(key, value)] = index
    return dhcp_blocks


def _check_dns_hosts(check, hosts):
    seen = {}
    for index, item in enumerate(hosts):
        what = 'dns_hosts[%d]' % index
        ip = _address(check, item.get('ip'), '%s.ip' % what)
        names = item.get('hostnames') or []
        if not names and not is_absent(item):
            check.fail('%s (%s) has no hostnames' % (what, ip), 'give at least one name for the address')
        for name in names:
            if not _DNS_NAME_RE.match(str(name)):
                check.fail("%s hostname '%s' is not a DNS name" % (what, name), 'use letters, digits, hyphens and dots')
        for key in [('ip', str(ip))] + [('hostname', str(n)) for n in names]:
            if key in seen:
                check.fail('dns_hosts[%d] and %s both have the %s %s' % (seen[key], what, key[0], key[1]),
                           'list each address once, with all its names, and each name once')
            seen[key] = index


_LIST_HINT = ("nothing was changed; check that this user may read the node's network definitions (the task compares "
              'its bridge and addresses with those of the other networks)')


def _other_networks(conn, name):
    """[(name, running, mode, bridge names, ip networks)] of the node's other networks (saved and live definitions)."""
    found = []
    with conn.translated('read the other networks of', 'the node', _LIST_HINT):
        for net in conn.all_networks():
            if net.name() == name:
                continue
            running = bool(net.isActive())
            roots = [_xml.parse(definition_xml(net, 1))]  # VIR_NETWORK_XML_INACTIVE
            if running:
                roots.append(_xml.parse(net.XMLDesc(0)))
            bridges = set(_xml.attr_of(root, 'bridge', 'name') for root in roots) - set([None])
            nets = set(iface.network for root in roots for iface in (ip_interface_of(el) for el in root.findall('ip'))
                       if iface is not None)
            found.append((net.name(), running, mode_of(roots[0]), bridges, nets))
    return found


def _check_clashes(check, conn, params, current, mode, interfaces):
    """Refuse a bridge name or a subnet another network of the node already has.

    Only what the task changes is compared (the network's own bridge and
    subnets stay allowed).  Two networks on one existing host bridge (mode
    bridge both) are legal in libvirt and left alone; a bridge libvirt makes
    for one network cannot be another's.
    """
    bridge = params.get('bridge')
    new_bridge = bridge is not None and bridge != current.get('bridge')
    have = set(ipaddress.ip_interface('%s/%s' % (i['address'], i['prefix'])).network for i in current.get('ips') or [])
    new_nets = [iface.network for iface, bounds in interfaces if iface.network not in have]
    if not (new_bridge or new_nets):
        return
    for other, running, other_mode, bridges, nets in _other_networks(conn, params['name']):
        state = 'running' if running else 'defined, not running'
        if new_bridge and bridge in bridges and (mode in MANAGED_MODES or other_mode in MANAGED_MODES):
            check.fail("bridge '%s' is already the bridge of network '%s' (%s, mode %s)" % (bridge, other, state, other_mode),
                       'choose another bridge name, or leave bridge unset on a new network to let libvirt pick a free '
                       "one; to put VMs on that bridge, give them network '%s'" % other)
        for net in new_nets:
            clash = sorted(str(n) for n in nets if n.version == net.version and n.overlaps(net))
            if clash:
                check.fail("subnet %s overlaps %s of network '%s' (%s); two networks with one subnet cannot both run, "
                           'and the host would not know which bridge to route it to' % (net, ', '.join(clash), other, state),
                           "choose a subnet no other network uses, or remove network '%s' first" % other)


def validate(params, uri, current=None, conn=None):
    """Refuse bad options; ``current`` is the network's option-shaped view when it exists.

    With ``conn``, a bridge name or subnet another network has is refused too.
    """
    check_name(params, uri)
    check = _Checker(params, uri)
    if params.get('state') == 'absent':
        return
    current = current or {}
    mode = params.get('mode') or current.get('mode') or 'isolated'
    bridge = params.get('bridge')
    if bridge is None and mode == 'bridge' and current.get('mode') == 'bridge':
        bridge = current.get('bridge')
    if mode == 'bridge' and not bridge:
        check.fail("mode 'bridge' needs the name of an existing host bridge",
                   'set bridge to it, such as br0')
    if params.get('bridge') is not None:
        name = params['bridge']
        if not name or len(name) > _IFNAME_MAX or _BAD_IFNAME_CHARS.search(name) or name in ('.', '..'):
            check.fail("bridge name '%s' is not a valid Linux interface name" % name,
                       'use at most %d characters without /, : or spaces (such as virbr10)' % _IFNAME_MAX)
    forward_dev = (params.get('forward') or {}).get('dev')
    if forward_dev and mode not in ('nat', 'route'):
        check.fail("forward.dev is set but mode is '%s'" % mode,
                   'forward.dev only applies to modes nat and route; leave it unset')
    mtu = params.get('mtu')
    if mtu is not None and mtu != 0 and not 68 <= mtu <= 65535:
        check.fail('mtu %d is out of range' % mtu, 'use a value from 68 to 65535, or 0 to remove the setting')
    domain = params.get('domain')
    if domain and not _DNS_NAME_RE.match(domain):
        check.fail("domain '%s' is not a DNS domain name" % domain, 'use a name such as lab.example.com')
    if mode == 'bridge':
        for key in ('ips', 'dhcp_hosts', 'dns_hosts'):
            if params.get(key):
                check.fail("%s is set but mode is 'bridge' (the network uses an existing host bridge; addresses, "
                           "DHCP and DNS are not libvirt's there)" % key, 'leave %s unset, or choose another mode' % key)
        for key in ('domain', 'mtu'):
            if params.get(key):
                check.fail("%s is set but mode is 'bridge'" % key, 'leave %s unset, or choose another mode' % key)

    if params.get('ips') is not None:
        interfaces = _interfaces(check, params['ips'])
    else:
        interfaces = [(ipaddress.ip_interface('%s/%s' % (item['address'], item['prefix'])), item.get('dhcp_range'))
                      for item in current.get('ips') or []]
    if mode == 'nat' and not interfaces:
        check.fail("mode 'nat' needs an address for the network", 'set ips, such as [{address: 192.168.100.1/24}]')
    dhcp_blocks = set(iface for iface, bounds in interfaces if bounds)
    for key in ('dhcp_hosts', 'dns_hosts'):
        absent = [str(i) for i, item in enumerate(params.get(key) or []) if is_absent(item)]
        if absent and params.get('purge_' + key, True):
            check.fail('%s[%s] say state: absent but purge_%s is true (the task owns the list: every entry it does '
                       'not give as present goes anyway)' % (key, ','.join(absent), key),
                       'set purge_%s: false to remove only these entries, or leave them out of the list' % key)
    if params.get('dhcp_hosts'):
        dhcp_blocks |= _check_hosts(check, params['dhcp_hosts'], interfaces)
    for version in (4, 6):
        blocks = sorted(str(b) for b in dhcp_blocks if b.version == version)
        if len(blocks) > 1:
            check.fail('DHCP is wanted on more than one IPv%d address (%s); libvirt serves DHCP on one address '
                       'per family' % (version, ', '.join(blocks)),
                       'keep dhcp_range and static hosts to one IPv%d address' % version)
    if params.get('dns_hosts'):
        _check_dns_hosts(check, params['dns_hosts'])
    if conn is not None:
        _check_clashes(check, conn, params, current, mode, interfaces)
