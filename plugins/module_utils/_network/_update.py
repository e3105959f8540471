# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan the virNetworkUpdate calls that bring a network's lists to a wanted definition.

libvirt can change a few sections of a network without restarting it
(virNetworkUpdate): static DHCP hosts (add, delete, modify), DHCP ranges and
DNS host entries (add and delete only; libvirt 9 refuses "modify" for
these).  Everything else needs a restart.

``sync_lists(src, wanted)`` is ``src`` with those lists taken from
``wanted`` wherever the address they belong to is the same in both: what
the running network looks like after the updates.  ``update_ops(src,
synced)`` are the calls, in an order libvirt accepts: deletes first (libvirt
refuses to add an entry that clashes with one still there), then modifies,
then adds.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._network._definition import (
    MANAGED_MODES,
    clone,
    dns_host_element,
    dns_host_of,
    host_element,
    host_of,
    ip_interface_of,
    mode_of,
    range_element,
    range_of,
)

# virNetworkUpdateCommand
MODIFY, DELETE, ADD_LAST = 1, 2, 3
# virNetworkUpdateSection
SECTION_IP_DHCP_HOST, SECTION_IP_DHCP_RANGE, SECTION_DNS_HOST = 4, 5, 10
# virNetworkUpdateFlags
AFFECT_LIVE, AFFECT_CONFIG = 1, 2

_COMMAND_NAMES = {MODIFY: 'modify', DELETE: 'delete', ADD_LAST: 'add'}
_SECTION_NAMES = {SECTION_IP_DHCP_HOST: 'dhcp host', SECTION_IP_DHCP_RANGE: 'dhcp range', SECTION_DNS_HOST: 'dns host'}


class UpdateOp:
    """One virNetworkUpdate call: command, section, parent <ip> index (-1: none) and the XML element."""

    def __init__(self, command, section, index, el):
        self.command = command
        self.section = section
        self.index = index
        self.el = el

    @property
    def xml(self):
        return _xml.to_string(self.el, pretty=False)

    def key(self):
        return (self.command, self.section, self.index, _xml.canonical(self.el))

    def __eq__(self, other):
        return isinstance(other, UpdateOp) and self.key() == other.key()

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self.key())

    def describe(self):
        """A short text for the actions list: "add dhcp host 52:54:00:..,10.0.0.5"."""
        if self.section == SECTION_IP_DHCP_HOST:
            view = host_of(self.el)
            what = ','.join(v for v in (view['mac'] or view['id'], view['ip'], view['name']) if v)
        elif self.section == SECTION_IP_DHCP_RANGE:
            what = '%s-%s' % (self.el.get('start'), self.el.get('end'))
        else:
            view = dns_host_of(self.el)
            what = '%s=%s' % (view['ip'], ','.join(view['hostnames']))
        return '%s %s %s' % (_COMMAND_NAMES[self.command], _SECTION_NAMES[self.section], what)

    def __repr__(self):
        return 'UpdateOp(%s)' % self.describe()


def live_updatable(root):
    """Whether libvirt manages this network's addresses (its DHCP and DNS can be updated)."""
    return mode_of(root) in MANAGED_MODES


def _blocks(root):
    return [el for el in root.findall('ip') if el.get('address')]


def _matching_block(el, blocks):
    iface = ip_interface_of(el)
    for other in blocks:
        if ip_interface_of(other) == iface:
            return other
    return None


def _replace_lists(target, source, tag, kinds):
    """Give ``target``'s <tag> the ``kinds`` children of ``source``'s <tag>, as copies (other children stay).

    A <tag> left empty goes.
    """
    found = target.find(tag)
    if found is not None:
        for kind in kinds:
            _xml.remove_all(found, kind)
    items = [clone(el) for kind in kinds for el in source.findall('%s/%s' % (tag, kind))]
    if items:
        found = _xml.ensure(target, tag)
        for el in items:
            found.append(el)
    _xml.drop_if_empty(target, tag)


def sync_lists(src, wanted):
    """A copy of ``src`` with the live-updatable lists of ``wanted``, where libvirt can update them."""
    out = clone(src)
    if not (live_updatable(src) and live_updatable(wanted)):
        return out
    wanted_blocks = _blocks(wanted)
    for block in _blocks(out):
        match = _matching_block(block, wanted_blocks)
        if match is not None:
            _replace_lists(block, match, 'dhcp', ('range', 'host'))
    _replace_lists(out, wanted, 'dns', ('host',))
    return out


def _host_clash(a, b):
    return any(a.get(k) is not None and a.get(k) == b.get(k) for k in ('mac', 'ip', 'name'))


def _first_match(entries, host):
    """The entry libvirt's MODIFY would pick for ``host``: the first with the same MAC, IP or name."""
    for entry in entries:
        if _host_clash(entry, host):
            return entry
    return None


def _host_ops(index, current, wanted):
    """Calls that turn the host list ``current`` of <ip> number ``index`` into ``wanted``.

    A host whose MAC stays but whose IP or name changes is modified in place
    when libvirt's MODIFY (which picks the first entry with the same MAC, IP
    or name) would find it and nothing else clashes; otherwise (two hosts
    swapping addresses, say) it is deleted and added again.
    """
    removed = [h for h in current if h not in wanted]
    added = [h for h in wanted if h not in current]
    pairs = []
    for new in added:
        if not new['mac']:
            continue
        old = next((h for h in removed if h['mac'] == new['mac'] and all(h is not pair[0] for pair in pairs)), None)
        if old is not None:
            pairs.append((old, new))
    entries = list(current)
    ops, adds = [], []
    for old in removed:
        if all(old is not pair[0] for pair in pairs):
            ops.append(UpdateOp(DELETE, SECTION_IP_DHCP_HOST, index, host_element(old)))
            entries.remove(old)
    while True:
        clash = next(((old, new) for old, new in pairs
                      if _first_match(entries, new) is not old
                      or any(_host_clash(h, new) for h in entries if h is not old)), None)
        if clash is None:
            break
        pairs.remove(clash)
        ops.append(UpdateOp(DELETE, SECTION_IP_DHCP_HOST, index, host_element(clash[0])))
        entries.remove(clash[0])
        adds.append(clash[1])
    modified = [pair[1] for pair in pairs]
    ops.extend(UpdateOp(MODIFY, SECTION_IP_DHCP_HOST, index, host_element(new)) for new in modified)
    adds += [h for h in added if all(h is not n for n in modified) and all(h is not a for a in adds)]
    ops.extend(UpdateOp(ADD_LAST, SECTION_IP_DHCP_HOST, index, host_element(h)) for h in adds)
    return ops


def merge_ops(live_ops, config_ops):
    """[(op, flags)]: each call once, with LIVE|CONFIG when both definitions need the same one.

    Deletes come first, then modifies, then adds, as update_ops orders them;
    within each, the running network's calls keep their order.
    """
    out = []
    for command in (DELETE, MODIFY, ADD_LAST):
        out.extend((op, AFFECT_LIVE | (AFFECT_CONFIG if op in config_ops else 0))
                   for op in live_ops if op.command == command)
        out.extend((op, AFFECT_CONFIG) for op in config_ops if op.command == command and op not in live_ops)
    return out


def update_ops(src, synced):
    """The virNetworkUpdate calls that turn ``src`` into ``synced`` (a result of sync_lists on it)."""
    deletes, middle, adds = [], [], []
    synced_blocks = _blocks(synced)
    for index, block in enumerate(src.findall('ip')):
        if not block.get('address'):
            continue
        target = _matching_block(block, synced_blocks)
        if target is None:
            continue
        now = [range_of(r) for r in block.findall('dhcp/range')]
        then = [range_of(r) for r in target.findall('dhcp/range')]
        deletes.extend(UpdateOp(DELETE, SECTION_IP_DHCP_RANGE, index, range_element(r)) for r in now if r not in then)
        adds.extend(UpdateOp(ADD_LAST, SECTION_IP_DHCP_RANGE, index, range_element(r)) for r in then if r not in now)
        for op in _host_ops(index, [host_of(h) for h in block.findall('dhcp/host')],
                            [host_of(h) for h in target.findall('dhcp/host')]):
            (deletes if op.command == DELETE else middle if op.command == MODIFY else adds).append(op)
    now = [dns_host_of(h) for h in src.findall('dns/host')]
    then = [dns_host_of(h) for h in synced.findall('dns/host')]
    deletes.extend(UpdateOp(DELETE, SECTION_DNS_HOST, -1, dns_host_element(h)) for h in now if h not in then)
    adds.extend(UpdateOp(ADD_LAST, SECTION_DNS_HOST, -1, dns_host_element(h)) for h in then if h not in now)
    return deletes + middle + adds
