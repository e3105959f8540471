# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""NICs of a domain: read them as option-shaped dicts, merge options into the definition.

A NIC the task gives a ``mac`` is the VM's NIC with that MAC; one without is
matched with the VM's NICs on the same network or bridge, in document order.
Matched NICs are changed in place (PCI address, target device and unmanaged
parts stay), others are added; NICs not named stay unless ``purge_nics``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain._devices import insert_device
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput

LINK_STATES = ('up', 'down')
NIC_KEYS = ('mac', 'network', 'bridge', 'model', 'link_state')
_MAC_RE = re.compile(r'^[0-9a-f]{2}(:[0-9a-f]{2}){5}$')
NIC_SPEC = dict(type='list', elements='dict', options=dict(
    mac=dict(type='str'),
    network=dict(type='str'),
    bridge=dict(type='str'),
    model=dict(type='str'),
    link_state=dict(type='str', choices=list(LINK_STATES)),
    addresses=dict(type='list', elements='dict'),
))


def mac_text(value):
    if value is None:
        return None
    text = str(value).strip().lower().replace('-', ':')
    if not _MAC_RE.match(text):
        raise InvalidInput("'%s' is not a MAC address (six hex pairs such as 52:54:00:12:34:56)" % value)
    if int(text[:2], 16) & 1:
        raise InvalidInput("MAC address %s is a multicast address; a NIC needs a unicast one (the first "
                           "byte must be even, as in 52:54:00:...)" % text)
    return text


def nic_elements(root):
    return root.findall('devices/interface')


def read_nic(el):
    source = el.find('source')
    kind = el.get('type')
    link = _xml.attr_of(el, 'link', 'state')
    return {
        'mac': (_xml.attr_of(el, 'mac', 'address') or '').lower() or None,
        'network': source.get('network') if (source is not None and kind == 'network') else None,
        'bridge': source.get('bridge') if (source is not None and kind == 'bridge') else None,
        'model': _xml.attr_of(el, 'model', 'type'),
        'link_state': 'down' if link == 'down' else 'up',
    }


def read_nics(root):
    return [read_nic(el) for el in nic_elements(root)]


def match_nics(elements, nics):
    """[(nic, element or None)] pairing wanted NICs with existing ones: by MAC, else by source in order."""
    used = set()
    pairs = [None] * len(nics)
    views = [read_nic(el) for el in elements]
    for index, nic in enumerate(nics):
        if nic.get('mac'):
            for pos, view in enumerate(views):
                if pos not in used and view['mac'] == nic['mac']:
                    used.add(pos)
                    pairs[index] = (nic, elements[pos])
                    break
            else:
                pairs[index] = (nic, None)
    for index, nic in enumerate(nics):
        if pairs[index] is not None:
            continue
        for pos, view in enumerate(views):
            if pos in used:
                continue
            if (nic.get('network') and view['network'] == nic['network']) or \
                    (nic.get('bridge') and view['bridge'] == nic['bridge']):
                used.add(pos)
                pairs[index] = (nic, elements[pos])
                break
        else:
            pairs[index] = (nic, None)
    return pairs


def _set_nic_source(el, nic):
    _xml.remove_all(el, 'source')
    if nic.get('network'):
        el.set('type', 'network')
        source = _xml.element('source', network=nic['network'])
    else:
        el.set('type', 'bridge')
        source = _xml.element('source', bridge=nic['bridge'])
    _xml.insert_after(el, source, el.find('mac'))


def update_nic(el, nic):
    current = read_nic(el)
    if (nic.get('network') and nic['network'] != current['network']) or \
            (nic.get('bridge') and nic['bridge'] != current['bridge']):
        _set_nic_source(el, nic)
    if nic.get('mac') and nic['mac'] != current['mac']:
        _xml.ensure(el, 'mac').set('address', nic['mac'])
    if nic.get('model') and nic['model'] != current['model']:
        _xml.ensure(el, 'model').set('type', nic['model'])
    if nic.get('link_state') and nic['link_state'] != current['link_state']:
        _xml.ensure(el, 'link').set('state', nic['link_state'])
    return el


def build_nic(nic):
    el = _xml.element('interface', type='network' if nic.get('network') else 'bridge')
    if nic.get('mac'):
        _xml.sub(el, 'mac', address=nic['mac'])
    _set_nic_source(el, nic)
    _xml.sub(el, 'model', type=nic.get('model') or 'virtio')
    if nic.get('link_state') == 'down':
        _xml.sub(el, 'link', state='down')
    return el


def write_nics(root, nics, env):
    elements = nic_elements(root)
    pairs = match_nics(elements, nics)
    kept = set()
    for nic, el in pairs:
        if el is None:
            insert_device(root, build_nic(nic))
        else:
            kept.add(id(el))
            update_nic(el, nic)
    if getattr(env, 'purge_nics', False):
        for el in elements:
            if id(el) not in kept:
                el.getparent().remove(el)


def normalise_nics(value, current, env):
    macs = set()
    out = []
    for index, nic in enumerate(value):
        item = dict((k, nic.get(k)) for k in NIC_KEYS)
        item['mac'] = mac_text(nic.get('mac'))
        if item['mac']:
            if item['mac'] in macs:
                raise InvalidInput('nics: MAC address %s is listed more than once' % item['mac'])
            macs.add(item['mac'])
        if item['network'] and item['bridge']:
            raise InvalidInput('nics[%d]: give network or bridge, not both' % index)
        if not (item['mac'] or item['network'] or item['bridge']):
            raise InvalidInput('nics[%d]: give network or bridge (or the mac of an existing NIC)' % index)
        out.append(item)
    return out
