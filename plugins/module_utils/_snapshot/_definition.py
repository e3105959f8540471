# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Snapshot XML: read a libvirt ``<domainsnapshot>``, build one from the module's options, edit its description.

Everything here is pure (no connection): the snapshot logic in
``_snapshot`` reads XML from libvirt, and turns it into views with these
helpers.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput

# libvirt flag values (the same in every libvirt since 1.0; kept here so the
# pure code and its tests need no libvirt import).
CREATE_REDEFINE = 1
CREATE_DISK_ONLY = 16
CREATE_QUIESCE = 64
CREATE_ATOMIC = 128
REVERT_RUNNING = 1
REVERT_PAUSED = 2
DELETE_CHILDREN = 1
DELETE_METADATA_ONLY = 2
LIST_DESCENDANTS = 1
XML_SECURE = 1
DOMAIN_XML_SECURE = 1
DOMAIN_XML_INACTIVE = 2

KINDS = ('internal', 'external')
DISK_MODES = ('internal', 'external', 'no')

# virDomainState codes -> the names the collection uses for a VM's run state.
VM_STATES = {0: 'running', 1: 'running', 2: 'running', 3: 'paused', 4: 'running', 5: 'shutoff', 6: 'crashed',
             7: 'pmsuspended'}


def vm_state_name(code):
    return VM_STATES.get(code, 'unknown')


# -- reading ------------------------------------------------------------------------------
def _disk_source(el):
    """The path (file or block device) of a <disk>'s <source>, or None (network disks, empty drives)."""
    source = el.find('source') if el is not None else None
    if source is None:
        return None
    return source.get('file') or source.get('dev')


def domain_disks(domain):
    """The disks of a <domain> element: target, device, format, source path, readonly, pool/volume source."""
    disks = []
    if domain is None:
        return disks
    for disk in domain.findall('./devices/disk'):
        source = disk.find('source')
        disks.append({
            'target': _xml.attr_of(disk, 'target', 'dev'),
            'device': disk.get('device', 'disk'),
            'type': disk.get('type', 'file'),
            'format': _xml.attr_of(disk, 'driver', 'type'),
            'source': _disk_source(disk),
            'pool': source.get('pool') if source is not None else None,
            'volume': source.get('volume') if source is not None else None,
            'readonly': disk.find('readonly') is not None or disk.find('shareable') is not None,
        })
    return disks


def parse_snapshot(text):
    """The facts of one snapshot from its XML (as libvirt's getXMLDesc gives it)."""
    root = _xml.parse(text, 'snapshot XML')
    domain = root.find('domain')
    saved = dict((d['target'], d) for d in domain_disks(domain))
    disks = []
    for disk in root.findall('./disks/disk'):
        target = disk.get('name')
        mode = disk.get('snapshot') or 'no'
        base = saved.get(target, {})
        disks.append({
            'target': target,
            'snapshot': mode,
            'file': _disk_source(disk) if mode == 'external' else None,
            'format': _xml.attr_of(disk, 'driver', 'type') if mode == 'external' else base.get('format'),
            # the image holding the disk's state at snapshot time: for an external snapshot the file
            # the VM used until then (libvirt keeps this up to date when parent snapshots are deleted)
            'base': base.get('source') if mode == 'external' else None,
            # a disk defined by pool and volume names its image that way; the caller resolves it to a path
            'base_volume': (base['pool'], base['volume']) if mode == 'external' and base.get('volume') else None,
        })
    memory = root.find('memory')
    memory_mode = memory.get('snapshot') if memory is not None else None
    if memory_mode is None:  # libvirt always writes it; older metadata may lack it
        memory_mode = 'internal' if _xml.text_of(root, 'state') in ('running', 'paused') else 'no'
    description = _xml.text_of(root, 'description')
    created = _xml.int_of(root, 'creationTime')
    info = {
        'name': _xml.text_of(root, 'name'),
        'description': description or None,
        'state': _xml.text_of(root, 'state'),
        'parent': _xml.text_of(root, 'parent/name'),
        'creation_time': created,
        'created': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(created)) if created is not None else None,
        'memory': memory_mode,
        'memory_file': memory.get('file') if memory is not None and memory_mode == 'external' else None,
        'disks': disks,
    }
    info['kind'] = kind_of(info)
    info['domain_disks'] = list(saved.values())
    return info


def kind_of(info):
    """external when the memory or any disk was saved to a separate file, else internal."""
    if info['memory'] == 'external' or any(d['snapshot'] == 'external' for d in info['disks']):
        return 'external'
    return 'internal'


# -- building -------------------------------------------------------------------------------
def check_name(name):
    """libvirt keeps a snapshot's metadata in a file named after it; refuse names it would refuse."""
    if not name or not name.strip():
        raise InvalidInput('name must not be empty')
    if '/' in name or name.startswith('.'):
        raise InvalidInput("snapshot name '%s' must not contain '/' or start with '.' (libvirt stores each snapshot "
                           "in a file named after it)" % name)


def wanted_disks(kind, disks):
    """The task's disk list with every entry's mode filled in (default: the snapshot's kind); checks it."""
    result = []
    seen = set()
    files = set()
    for entry in disks or []:
        target = entry.get('target')
        if not target:
            raise InvalidInput('every entry of disks needs target (the disk, such as vda)')
        if target in seen:
            raise InvalidInput('disk %s is listed twice in disks' % target)
        seen.add(target)
        mode = entry.get('snapshot') or kind
        if mode not in (kind, 'no'):
            raise InvalidInput("disk %s: snapshot: %s does not fit kind: %s; one snapshot is either internal or "
                               "external, so each disk takes the snapshot's kind or 'no'" % (target, mode, kind))
        path = entry.get('file')
        if path is not None:
            if mode != 'external':
                raise InvalidInput('disk %s: file is only for external snapshots (the new overlay image the VM writes '
                                   'to from the snapshot on)' % target)
            if not os.path.isabs(path):
                raise InvalidInput("disk %s: file must be an absolute path on the node, got '%s'" % (target, path))
            if path in files:
                raise InvalidInput("file '%s' is given for two disks" % path)
            files.add(path)
        result.append({'target': target, 'snapshot': mode, 'file': path})
    return result


def create_xml(name, description, kind, disks):
    """The <domainsnapshot> to create: only what the task decides; libvirt fills in the rest."""
    root = _xml.element('domainsnapshot')
    _xml.sub(root, 'name', name)
    if description:
        _xml.sub(root, 'description', description)
    if kind == 'external':
        _xml.sub(root, 'memory', snapshot='no')
    if disks:
        parent = _xml.sub(root, 'disks')
        for disk in disks:
            el = _xml.sub(parent, 'disk', name=disk['target'], snapshot=disk['snapshot'])
            if disk.get('file'):
                _xml.sub(el, 'source', file=disk['file'])
    return _xml.to_string(root)


def create_flags(kind, quiesce):
    if kind == 'internal':
        return CREATE_ATOMIC
    return CREATE_DISK_ONLY | CREATE_ATOMIC | (CREATE_QUIESCE if quiesce else 0)


def with_description(text, description):
    """The snapshot XML ``text`` with its description replaced (removed when None or empty): for redefining."""
    root = _xml.parse(text, 'snapshot XML')
    _xml.remove_all(root, 'description')
    if description:
        el = _xml.element('description', description)
        name = root.find('name')
        if name is not None:
            name.addnext(el)
        else:
            root.insert(0, el)
    return _xml.to_string(root)


def generated_file(top, snapshot_name):
    """The overlay name libvirt makes when no file is given: the current image's name, extension replaced."""
    if not top:
        return None
    directory, filename = os.path.split(top)
    stem = filename.rsplit('.', 1)[0] if '.' in filename else filename
    return os.path.join(directory, '%s.%s' % (stem, snapshot_name))
