# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A VM defined from complete domain XML (the vm module's ``xml`` option).

libvirt rewrites every definition it is given: it adds a UUID, MAC
addresses, PCI addresses, controllers, input devices, a memory balloon,
the canonical machine name, memory in KiB.  So a given definition is
compared with the VM after libvirt's normalisation:

- ``prepare`` parses the given XML and fills in what libvirt would invent
  anew on every define (the UUID, the MACs of NICs, matched by order and
  source), so redefining the same text changes nothing;
- a real run defines it and compares the definition libvirt stored with the
  one before (``same_definition``): equal means no change;
- check mode cannot define, so ``covers`` predicts: every element and
  attribute of the given XML must be in the current definition (memory sizes
  by value, machine aliases by their canonical name), and the current
  definition must have no more devices than the given one besides those
  libvirt adds by itself.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _nics as nics
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._sizes import parse_size

# Parts libvirt adds to a definition by itself (no user would miss them when comparing).
_AUTO_TOP = ('uuid', 'currentMemory', 'resource', 'cpu', 'clock', 'on_poweroff', 'on_reboot', 'on_crash',
             'seclabel', 'pm', 'features', 'vcpu', 'metadata')
_AUTO_DEVICES = ('emulator', 'controller', 'input', 'memballoon', 'console', 'video', 'audio', 'panic')
_SIZE_TAGS = ('memory', 'currentMemory', 'maxMemory')


def prepare(text, name, current=None):
    """The given XML as an element, named ``name``, with the UUID and MACs of ``current`` where it has none."""
    root = _xml.parse(text, 'xml')
    if root.tag != 'domain':
        raise InvalidInput('xml must be a <domain> definition, got <%s>' % root.tag)
    given_name = _xml.text_of(root, 'name')
    if given_name and given_name != name:
        raise InvalidInput("xml names the VM '%s' but name is '%s'; they must agree" % (given_name, name))
    if not given_name:
        _xml.replace_child(root, _xml.element('name', name))
        root.insert(0, root.find('name'))
    if current is None:
        return root
    uuid = _xml.text_of(current, 'uuid')
    given_uuid = _xml.text_of(root, 'uuid')
    if given_uuid and uuid and given_uuid.lower() != uuid.lower():
        raise InvalidInput("xml has uuid %s but VM '%s' has uuid %s; a VM keeps its UUID (remove it first to make "
                           "a new one)" % (given_uuid, name, uuid))
    if not given_uuid and uuid:
        root.find('name').addnext(_xml.element('uuid', uuid))
    _inherit_macs(root, current)
    return root


def _inherit_macs(root, current):
    """NICs without a MAC get the MAC of the current NIC in the same place with the same source."""
    have = nics.nic_elements(current)
    used = set()
    for el in nics.nic_elements(root):
        if el.find('mac') is not None:
            used.add((el.find('mac').get('address') or '').lower())
    for el in nics.nic_elements(root):
        if el.find('mac') is not None:
            continue
        view = nics.read_nic(el)
        for other in have:
            oview = nics.read_nic(other)
            if oview['mac'] and oview['mac'] not in used and \
                    (oview['network'], oview['bridge']) == (view['network'], view['bridge']):
                used.add(oview['mac'])
                el.insert(0, _xml.element('mac', address=oview['mac']))
                break


def _strip_volatile(root):
    out = _xml.normalise(root)
    _xml.remove_all(out, 'devices/*/alias')
    return out


def same_definition(a, b):
    """Two definitions libvirt stored are the same (whitespace, attribute order and aliases aside)."""
    return _xml.equal(_strip_volatile(a), _strip_volatile(b))


def _bytes(el):
    return parse_size('%s %s' % ((el.text or '0').strip(), el.get('unit') or 'KiB'), el.tag)


def _covers(have, given, canonical_machine, path):
    for key, value in given.attrib.items():
        if given.tag in _SIZE_TAGS and key == 'unit':
            continue
        current = have.get(key)
        if current == value:
            continue
        if path == 'domain/os/type' and key == 'machine' and canonical_machine(value) == current:
            continue
        return False
    if given.tag in _SIZE_TAGS:
        if _bytes(given) != _bytes(have):
            return False
    elif (given.text or '').strip() != (have.text or '').strip():
        return False
    candidates = list(have)  # holds the element proxies, so identity comparisons stay valid
    used = []
    for child in given:
        match = None
        for candidate in candidates:
            if candidate.tag != child.tag or any(candidate is u for u in used):
                continue
            if _covers(candidate, child, canonical_machine, '%s/%s' % (path, child.tag)):
                match = candidate
                break
        if match is None:
            return False
        used.append(match)
    return True


def _counts(el, auto):
    counts = {}
    for child in el:
        if child.tag not in auto:
            counts[child.tag] = counts.get(child.tag, 0) + 1
    return counts


def covers(current, given, canonical_machine=lambda name: name):
    """Check-mode prediction: would defining ``given`` leave ``current`` as it is?"""
    have, want = _xml.normalise(current), _xml.normalise(given)
    if not _covers(have, want, canonical_machine, 'domain'):
        return False
    if _counts(have, _AUTO_TOP + ('devices', 'os')) != _counts(want, _AUTO_TOP + ('devices', 'os')):
        return False
    have_dev, want_dev = have.find('devices'), want.find('devices')
    empty = _xml.element('devices')
    return _counts(have_dev if have_dev is not None else empty, _AUTO_DEVICES) == \
        _counts(want_dev if want_dev is not None else empty, _AUTO_DEVICES)
