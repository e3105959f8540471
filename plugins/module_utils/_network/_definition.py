# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Virtual network definitions: read them as option-shaped dicts, edit them in place.

``spec_of`` turns a ``<network>`` definition into the shape of the network
module's options; ``apply_options`` edits a definition with the options a
task sets, leaving everything else (and every part of the XML the module
does not manage, such as ``<mac>``, ``<tftp>`` or ``<nat>`` port ranges)
as it was.

Addresses are compared through Python's ``ipaddress``, so ``fd00::1`` and
``fd00:0::1`` are the same address, and MAC addresses in lower case.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import ipaddress

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._diff import changed_paths

MODES = ('nat', 'route', 'open', 'isolated', 'bridge')
# Modes where libvirt makes and owns the bridge (and runs dnsmasq for addresses).
MANAGED_MODES = ('nat', 'route', 'open', 'isolated')
# Elements libvirt refuses in a network that uses an existing host bridge.
_NOT_IN_BRIDGE_MODE = ('ip', 'dns', 'domain', 'mac', 'mtu')
# The parts whose change needs the network restarted (everything but the live-updatable lists).
RESTART_KEYS = ('mode', 'bridge', 'forward', 'mtu', 'domain', 'ips')


# -- values ------------------------------------------------------------------
def ip_text(value):
    """The canonical text of an IP address (raises ValueError when it is none)."""
    return str(ipaddress.ip_address(str(value).strip()))


def mac_text(value):
    return None if value is None else str(value).strip().lower().replace('-', ':')


def _ip_key(text):
    addr = ipaddress.ip_address(text)
    return (addr.version, int(addr))


def _classful_prefix(addr):
    """libvirt's default prefix for an <ip> with neither prefix nor netmask."""
    if addr.version == 6:
        return 64
    first = int(addr) >> 24
    return 8 if first < 128 else 16 if first < 192 else 24


def ip_interface_of(ip_el):
    """The ipaddress interface (address + prefix) of an <ip> element, or None when it has no address."""
    address = ip_el.get('address')
    if not address:
        return None
    addr = ipaddress.ip_address(address)
    if ip_el.get('prefix'):
        prefix = int(ip_el.get('prefix'))
    elif ip_el.get('netmask'):
        prefix = ipaddress.IPv4Network('0.0.0.0/%s' % ip_el.get('netmask')).prefixlen
    else:
        prefix = _classful_prefix(addr)
    return ipaddress.ip_interface('%s/%d' % (addr, prefix))


# -- reading -------------------------------------------------------------------
def mode_of(root):
    forward = root.find('forward')
    if forward is None:
        return 'isolated'
    return forward.get('mode') or 'nat'


def host_of(el):
    """The option-shaped view of a <host> in <ip><dhcp>."""
    return {
        'mac': mac_text(el.get('mac')),
        'ip': ip_text(el.get('ip')) if el.get('ip') else None,
        'name': el.get('name'),
        'id': el.get('id'),
    }


def dns_host_of(el):
    return {
        'ip': ip_text(el.get('ip')) if el.get('ip') else None,
        'hostnames': [(h.text or '').strip() for h in el.findall('hostname')],
    }


def range_of(el):
    return {'start': ip_text(el.get('start')), 'end': ip_text(el.get('end'))}


def _sorted_hosts(hosts):
    return sorted(hosts, key=lambda h: (_ip_key(h['ip']) if h.get('ip') else (0, 0), h.get('mac') or '', h.get('name') or ''))


def ip_view(ip_el):
    iface = ip_interface_of(ip_el)
    ranges = [range_of(r) for r in ip_el.findall('dhcp/range')]
    return {
        'address': str(iface.ip) if iface is not None else None,
        'prefix': iface.network.prefixlen if iface is not None else None,
        'dhcp_range': ranges[0] if ranges else None,
    }


def spec_of(root):
    """The option-shaped view of a network definition (only what the module manages)."""
    mtu = root.find('mtu')
    ip_els = [el for el in root.findall('ip') if el.get('address')]
    ips = sorted((ip_view(el) for el in ip_els), key=lambda i: _ip_key(i['address']))
    hosts = [host_of(h) for el in ip_els for h in el.findall('dhcp/host')]
    dns_hosts = [dns_host_of(h) for h in root.findall('dns/host')]
    return {
        'name': _xml.text_of(root, 'name'),
        'mode': mode_of(root),
        'bridge': _xml.attr_of(root, 'bridge', 'name'),
        'forward': {'dev': _xml.attr_of(root, 'forward', 'dev')},
        'mtu': int(mtu.get('size')) if mtu is not None and mtu.get('size') else None,
        'domain': _xml.attr_of(root, 'domain', 'name'),
        'ips': ips,
        'dhcp_hosts': _sorted_hosts(hosts),
        'dns_hosts': sorted(dns_hosts, key=lambda h: _ip_key(h['ip']) if h['ip'] else (0, 0)),
    }


def compare_view(root):
    """spec_of plus what it leaves out but a change must see (every DHCP range, not just the first)."""
    view = spec_of(root)
    view['dhcp_ranges'] = dict(
        (str(ip_interface_of(el)), [range_of(r) for r in el.findall('dhcp/range')])
        for el in root.findall('ip') if el.get('address'))
    return view


def restart_view(view):
    """The parts of a view that only a restart brings to a running network."""
    out = dict((k, view.get(k)) for k in RESTART_KEYS)
    out['ips'] = [{'address': i['address'], 'prefix': i['prefix']} for i in view.get('ips') or []]
    return out


def changed_option_paths(before, after):
    """Option paths ('mode', 'forward.dev', 'ips', ...) whose values differ between two compare views."""
    paths = []
    for path in changed_paths(before, after):
        top = path.split('.', 1)[0]
        if top == 'dhcp_ranges':
            path = 'ips'
        elif top in ('ips', 'dhcp_hosts', 'dns_hosts'):
            path = top
        if path not in paths:
            paths.append(path)
    return sorted(paths)


# -- the wanted lists ------------------------------------------------------------
def host_from_param(item):
    return {
        'mac': mac_text(item.get('mac')) or None,
        'ip': ip_text(item['ip']),
        'name': item.get('name') or None,
        'id': item.get('id') or None,
    }


def dns_host_from_param(item):
    return {'ip': ip_text(item['ip']), 'hostnames': [str(h).strip() for h in item.get('hostnames') or []]}


def is_absent(item):
    """Whether a dhcp_hosts or dns_hosts item asks to remove its entry (``state: absent``)."""
    return item.get('state') == 'absent'


def _host_named_by(host, gone):
    """True when the DHCP host has every field the ``state: absent`` item ``gone`` gives."""
    return all(host.get(k) == v for k, v in gone.items() if v is not None)


def _dns_host_named_by(host, gone):
    return host['ip'] == gone['ip'] and (not gone['hostnames'] or host['hostnames'] == gone['hostnames'])


def _host_clash(a, b):
    """True when two DHCP hosts would collide in libvirt (same MAC, IP, name or DUID)."""
    return any(a.get(k) is not None and a.get(k) == b.get(k) for k in ('mac', 'ip', 'name', 'id'))


def _dns_clash(a, b):
    return a['ip'] == b['ip'] or bool(set(a['hostnames']) & set(b['hostnames']))


def merged_hosts(current, given, purge):
    """The DHCP host list a task asks for: ``given`` alone, or with the current entries that do not clash."""
    if purge:
        return list(given)
    kept = [h for h in current if not any(_host_clash(h, g) for g in given)]
    return kept + list(given)


def merged_dns_hosts(current, given, purge):
    if purge:
        return list(given)
    kept = [h for h in current if not any(_dns_clash(h, g) for g in given)]
    return kept + list(given)


# -- building XML pieces --------------------------------------------------------
def host_element(host):
    return _xml.element('host', mac=host.get('mac'), id=host.get('id'), name=host.get('name'), ip=host['ip'])


def dns_host_element(host):
    el = _xml.element('host', ip=host['ip'])
    for name in host['hostnames']:
        _xml.sub(el, 'hostname', name)
    return el


def range_element(rng):
    return _xml.element('range', start=rng['start'], end=rng['end'])


def ip_element(address, prefix):
    addr = ipaddress.ip_address(address)
    return _xml.element('ip', family='ipv6' if addr.version == 6 else None, address=str(addr), prefix=prefix)


# -- editing a definition ----------------------------------------------------------
def _set_forward(root, mode, old_mode):
    forward = root.find('forward')
    if mode == 'isolated':
        if forward is not None:
            root.remove(forward)
        return
    if forward is None:
        forward = _xml.element('forward')
        name = root.find('name')
        position = list(root).index(name) + 1 if name is not None else 0
        uuid = root.find('uuid')
        if uuid is not None:
            position = max(position, list(root).index(uuid) + 1)
        root.insert(position, forward)
    forward.set('mode', mode)
    if mode != 'nat':
        _xml.remove_all(forward, 'nat')
    if mode not in ('nat', 'route'):
        _set_forward_dev(forward, '')
    if mode == 'bridge':
        for tag in _NOT_IN_BRIDGE_MODE:
            _xml.remove_all(root, tag)
        bridge = root.find('bridge')
        if bridge is not None:
            for attr in ('stp', 'delay', 'macTableManager'):
                bridge.attrib.pop(attr, None)
    elif old_mode == 'bridge':
        # The old bridge was a host bridge, not one for libvirt to make: let libvirt pick a name.
        _xml.remove_all(root, 'bridge')


def _set_forward_dev(forward, dev):
    """Set or ('') remove <forward dev>; the <interface> children libvirt derives from it go with it."""
    if (forward.get('dev') or '') == dev:
        return
    _xml.remove_all(forward, 'interface')
    if dev:
        forward.set('dev', dev)
    else:
        forward.attrib.pop('dev', None)


def _set_optional(root, tag, attr, value, empty):
    """Set <tag attr=value/>; the ``empty`` value removes the element."""
    if value is None:
        return
    if value == empty:
        _xml.remove_all(root, tag)
    else:
        _xml.ensure(root, tag).set(attr, str(value))


def _set_ips(root, ips):
    """Make the <ip> elements those of ``ips`` ([(interface, dhcp_range or None)]), keeping unmanaged parts."""
    existing = [el for el in root.findall('ip') if el.get('address')]
    by_address = dict((ipaddress.ip_address(el.get('address')), el) for el in existing)
    wanted = set(iface.ip for iface, rng in ips)
    for addr, el in by_address.items():
        if addr not in wanted:
            root.remove(el)
    last = None
    for iface, rng in ips:
        el = by_address.get(iface.ip)
        if el is None:
            el = ip_element(str(iface.ip), iface.network.prefixlen)
            anchor = last if last is not None else (root.findall('ip') or [None])[-1]
            if anchor is not None:
                anchor.addnext(el)
            else:
                root.append(el)
        elif ip_interface_of(el) != iface:
            if el.get('netmask') and iface.version == 4:
                el.set('netmask', str(iface.network.netmask))
            else:
                el.attrib.pop('netmask', None)
                el.set('prefix', str(iface.network.prefixlen))
        last = el
        _set_range(el, rng)


def _set_range(ip_el, rng):
    current = [range_of(r) for r in ip_el.findall('dhcp/range')]
    if rng is None:
        _xml.remove_all(ip_el, 'dhcp/range')
    elif current != [rng]:
        dhcp = _xml.ensure(ip_el, 'dhcp')
        _xml.remove_all(dhcp, 'range')
        dhcp.insert(0, range_element(rng))
    _xml.drop_if_empty(ip_el, 'dhcp')


def block_for(root, ip):
    """The <ip> element whose subnet holds the address ``ip`` (text), or None."""
    addr = ipaddress.ip_address(ip)
    for el in root.findall('ip'):
        iface = ip_interface_of(el)
        if iface is not None and iface.version == addr.version and addr in iface.network:
            return el
    return None


def set_hosts(root, hosts):
    """Make the static DHCP hosts of the definition exactly ``hosts``, each in the <ip> of its subnet.

    Entries already there are kept as they are (with any child elements).
    Returns the hosts that fit no address of the network.
    """
    blocks = root.findall('ip')
    orphans = []
    placed = [[] for dummy in blocks]
    for host in hosts:
        el = block_for(root, host['ip'])
        if el is None:
            orphans.append(host)
        else:
            placed[blocks.index(el)].append(host)
    for ip_el, mine in zip(blocks, placed):
        _set_entries(ip_el, 'dhcp', mine, host_of, host_element)
    return orphans


def set_dns_hosts(root, hosts):
    _set_entries(root, 'dns', hosts, dns_host_of, dns_host_element)


def _set_entries(parent, tag, wanted, view_of, make):
    """Make the <host> entries of parent's <tag> exactly ``wanted`` (views, as ``view_of`` reads an entry).

    An entry already there stays as it is (with any child elements), a missing
    one is made with ``make``; a <tag> left empty goes.
    """
    container = parent.find(tag)
    keep = []
    for el in container.findall('host') if container is not None else []:
        view = view_of(el)
        if view in wanted and view not in keep:
            keep.append(view)
        else:
            container.remove(el)
    for item in wanted:
        if item not in keep:
            _xml.ensure(parent, tag).append(make(item))
    _xml.drop_if_empty(parent, tag)


def wanted_ips(params):
    """[(ip_interface, dhcp_range or None)] from the task's ``ips`` (already validated)."""
    out = []
    for item in params['ips']:
        iface = interface_from_param(item)
        rng = item.get('dhcp_range')
        out.append((iface, {'start': ip_text(rng['start']), 'end': ip_text(rng['end'])} if rng else None))
    return out


def interface_from_param(item):
    """The ipaddress interface of an ``ips`` entry: ``address`` with its ``/prefix`` or ``prefix``."""
    address = str(item['address']).strip()
    if '/' in address:
        return ipaddress.ip_interface(address)
    return ipaddress.ip_interface('%s/%s' % (address, item['prefix']))


def apply_options(root, params):
    """Edit a network definition in place with the options the task sets.

    Returns the DHCP hosts (kept from the definition) that fit none of the
    network's addresses any more; the caller refuses the change then.
    """
    current = spec_of(root)
    old_mode = current['mode']
    mode = params.get('mode')
    if mode is not None and mode != old_mode:
        _set_forward(root, mode, old_mode)
    if params.get('bridge') is not None:
        _xml.ensure(root, 'bridge').set('name', params['bridge'])
    forward = params.get('forward') or {}
    if forward.get('dev') is not None and root.find('forward') is not None:
        _set_forward_dev(root.find('forward'), forward['dev'])
    _set_optional(root, 'mtu', 'size', params.get('mtu'), 0)
    _set_optional(root, 'domain', 'name', params.get('domain'), '')
    if params.get('ips') is not None:
        _set_ips(root, wanted_ips(params))

    orphans = []
    if mode_of(root) != 'bridge' and (params.get('dhcp_hosts') is not None or params.get('ips') is not None):
        hosts = current['dhcp_hosts']
        if params.get('dhcp_hosts') is not None:
            items = params['dhcp_hosts']
            given = [host_from_param(h) for h in items if not is_absent(h)]
            gone = [host_from_param(h) for h in items if is_absent(h)]
            hosts = merged_hosts(hosts, given, params.get('purge_dhcp_hosts', True))
            hosts = [h for h in hosts if not any(_host_named_by(h, g) for g in gone)]
        orphans = set_hosts(root, hosts)
    if params.get('dns_hosts') is not None:
        items = params['dns_hosts']
        given = [dns_host_from_param(h) for h in items if not is_absent(h)]
        gone = [dns_host_from_param(h) for h in items if is_absent(h)]
        hosts = merged_dns_hosts(current['dns_hosts'], given, params.get('purge_dns_hosts', True))
        set_dns_hosts(root, [h for h in hosts if not any(_dns_host_named_by(h, g) for g in gone)])
    return orphans


def new_definition(params):
    root = _xml.element('network')
    _xml.sub(root, 'name', params['name'])
    apply_options(root, dict(params, mode=params.get('mode') or 'isolated'))
    return root


def clone(root):
    return copy.deepcopy(root)
