# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Disks of a domain (and the helpers every device kind shares): read them as option-shaped dicts, merge options in.

A disk is identified by its ``target`` (``vda``, ``sdb``, ``hdc``): a disk
the task names is changed in place (its PCI address, alias, backing chain
and any part the module does not manage stay); disks the task does not name
stay unless ``purge_disks``.  NICs are in ``_domain_nics``, graphics in
``_domain_graphics``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput

DISK_DEVICES = ('disk', 'cdrom')
DISK_BUSES = ('virtio', 'scsi', 'sata', 'ide', 'usb')
DISK_FORMATS = ('raw', 'qcow2', 'vmdk', 'vdi', 'vpc', 'qed')
DISK_CACHE = ('default', 'none', 'writethrough', 'writeback', 'directsync', 'unsafe')
DISK_IO = ('native', 'threads', 'io_uring')
DISK_DISCARD = ('unmap', 'ignore')

# The option-shaped keys of each kind (what is compared); read-only extras are added by _vm_info.
DISK_KEYS = ('target', 'device', 'bus', 'pool', 'volume', 'path', 'format', 'cache', 'io', 'discard',
             'readonly', 'serial', 'boot_order')

_TARGET_RE = re.compile(r'^(vd|sd|hd|xvd)[a-z]{1,3}$')
_PREFIX_BUS = {'vd': 'virtio', 'hd': 'ide', 'sd': 'scsi', 'xvd': 'xen'}
_BUS_PREFIXES = {'virtio': ('vd',), 'ide': ('hd',), 'scsi': ('sd',), 'sata': ('sd',), 'usb': ('sd',)}

DISK_SPEC = dict(type='list', elements='dict', options=dict(
    target=dict(type='str', required=True),
    device=dict(type='str', choices=list(DISK_DEVICES)),
    bus=dict(type='str', choices=list(DISK_BUSES)),
    pool=dict(type='str'),
    volume=dict(type='str'),
    path=dict(type='str'),
    create=dict(type='dict', options=dict(
        pool=dict(type='str', required=True),
        name=dict(type='str', required=True),
        capacity=dict(type='raw'),
        format=dict(type='str', choices=['raw', 'qcow2']),
        template=dict(type='str'),
        linked=dict(type='bool', default=True),
    )),
    # Checked in normalise_disks rather than with choices, so that a result's disks (where
    # these are often null) can be given back to the module.
    format=dict(type='str'),
    cache=dict(type='str'),
    io=dict(type='str'),
    discard=dict(type='str'),
    readonly=dict(type='bool'),
    serial=dict(type='str'),
    boot_order=dict(type='int'),
    capacity=dict(type='int'),
    allocation=dict(type='int'),
))


AFFECT_LIVE = 1  # VIR_DOMAIN_AFFECT_LIVE: a change to the running VM only


def devices_of(root):
    return _xml.ensure(root, 'devices')


def insert_device(root, el):
    """Append ``el`` after the last device of the same kind (or at the end), for a tidy definition."""
    devices = devices_of(root)
    same = devices.findall(el.tag)
    if same:
        same[-1].addnext(el)
    else:
        devices.append(el)
    return el


def strip_runtime(el):
    """A copy of a device element without the parts libvirt assigns (address, alias), for hot-plug."""
    out = copy.deepcopy(el)
    for tag in ('address', 'alias'):
        for found in out.findall(tag):
            out.remove(found)
    return out


# -- disks ------------------------------------------------------------------------
def check_target(target):
    if not target or not _TARGET_RE.match(target):
        raise InvalidInput("disk target '%s' is not a device name such as vda, sdb or hdc" % target)
    return target


def default_bus(target):
    prefix = re.match(r'^(xvd|vd|sd|hd)', target).group(1)
    return _PREFIX_BUS[prefix]


def check_bus(target, bus):
    prefix = re.match(r'^(xvd|vd|sd|hd)', target).group(1)
    if bus in _BUS_PREFIXES and prefix not in _BUS_PREFIXES[bus]:
        raise InvalidInput("disk %s: bus %s needs a target named %sX (libvirt refuses %s on bus %s)"
                           % (target, bus, _BUS_PREFIXES[bus][0], target, bus))


def disk_elements(root):
    """{target: <disk>} of a definition."""
    found = {}
    for el in root.findall('devices/disk'):
        target = _xml.attr_of(el, 'target', 'dev')
        if target:
            found[target] = el
    return found


def read_disk(el):
    source = el.find('source')
    kind = el.get('type')
    driver = el.find('driver')
    view = dict.fromkeys(DISK_KEYS)
    view.update(
        target=_xml.attr_of(el, 'target', 'dev'),
        device=el.get('device') or 'disk',
        bus=_xml.attr_of(el, 'target', 'bus'),
        readonly=el.find('readonly') is not None,
        serial=_xml.text_of(el, 'serial'),
    )
    if source is not None:
        if kind == 'volume':
            view.update(pool=source.get('pool'), volume=source.get('volume'))
        else:
            view['path'] = source.get('file') or source.get('dev') or source.get('dir') or source.get('name')
    if driver is not None:
        view.update(format=driver.get('type'), cache=driver.get('cache'), io=driver.get('io'),
                    discard=driver.get('discard'))
    order = _xml.attr_of(el, 'boot', 'order')
    view['boot_order'] = int(order) if order else None
    return view


def read_disks(root):
    return [read_disk(el) for el in root.findall('devices/disk')]


def _set_source(el, disk):
    """Point a <disk> at pool/volume, a path, or nothing (an empty CD-ROM drive)."""
    for old in el.findall('source') + el.findall('backingStore'):
        el.remove(old)
    source = _xml.element('source')
    if disk.get('pool') and disk.get('volume'):
        el.set('type', 'volume')
        source.set('pool', disk['pool'])
        source.set('volume', disk['volume'])
    elif disk.get('path'):
        block = disk['path'].startswith('/dev/')
        el.set('type', 'block' if block else 'file')
        source.set('dev' if block else 'file', disk['path'])
    else:
        el.set('type', 'file')
        return
    _xml.insert_after(el, source, el.find('driver'))


def _set_driver(el, disk):
    wanted = dict((k, disk.get(k)) for k in ('format', 'cache', 'io', 'discard') if disk.get(k) is not None)
    if not wanted:
        return
    driver = el.find('driver')
    if driver is None:
        driver = _xml.element('driver', name='qemu')
        el.insert(0, driver)
    names = {'format': 'type'}
    for key, value in wanted.items():
        driver.set(names.get(key, key), value)


def _set_flag(el, tag, on):
    present = el.find(tag)
    if on and present is None:
        _xml.sub(el, tag)
    elif not on and present is not None:
        el.remove(present)


def update_disk(el, disk):
    """Set the given keys of ``disk`` on an existing <disk> (None keys are left alone)."""
    current = read_disk(el)
    source_keys = ('pool', 'volume', 'path')
    if any(disk.get(k) is not None for k in source_keys) and \
            tuple(disk.get(k) for k in source_keys) != tuple(current[k] for k in source_keys):
        _set_source(el, disk)
    if disk.get('device') is not None:
        el.set('device', disk['device'])
    if disk.get('bus') is not None:
        _xml.ensure(el, 'target').set('bus', disk['bus'])
    _set_driver(el, disk)
    if disk.get('readonly') is not None:
        _set_flag(el, 'readonly', disk['readonly'])
    elif disk.get('device') == 'cdrom':
        _set_flag(el, 'readonly', True)
    if disk.get('serial') is not None:
        _xml.remove_all(el, 'serial')
        if disk['serial']:
            _xml.sub(el, 'serial', disk['serial'])
    if disk.get('boot_order') is not None:
        _xml.remove_all(el, 'boot')
        if disk['boot_order'] > 0:
            _xml.sub(el, 'boot', order=disk['boot_order'])
    return el


def build_disk(disk):
    """A new <disk> for an option-shaped disk (defaults: device disk, bus from the target name)."""
    device = disk.get('device') or 'disk'
    el = _xml.element('disk', type='file', device=device)
    _xml.sub(el, 'driver', name='qemu', type=disk.get('format') or 'raw')
    _set_source(el, disk)
    _xml.sub(el, 'target', dev=disk['target'], bus=disk.get('bus') or default_bus(disk['target']))
    filled = dict(disk)
    if device == 'cdrom' and filled.get('readonly') is None:
        filled['readonly'] = True
    return update_disk(el, filled)


def _ensure_scsi_controller(root):
    devices = devices_of(root)
    if devices.find("controller[@type='scsi']") is None:
        insert_device(root, _xml.element('controller', type='scsi', index=0, model='virtio-scsi'))


def write_disks(root, disks, env):
    """Merge option-shaped disks into the definition; with env.purge_disks drop the others."""
    current = disk_elements(root)
    for disk in disks:
        el = current.get(disk['target'])
        if el is None:
            el = insert_device(root, build_disk(disk))
        else:
            update_disk(el, disk)
        if _xml.attr_of(el, 'target', 'bus') == 'scsi':
            _ensure_scsi_controller(root)
    if getattr(env, 'purge_disks', False):
        keep = set(d['target'] for d in disks)
        for target, el in current.items():
            if target not in keep:
                el.getparent().remove(el)


def normalise_disks(value, current, env):
    seen = set()
    out = []
    for disk in value:
        target = check_target(disk['target'])
        if target in seen:
            raise InvalidInput('disks: target %s is listed more than once' % target)
        seen.add(target)
        if disk.get('bus'):
            check_bus(target, disk['bus'])
        if bool(disk.get('pool')) != bool(disk.get('volume')):
            raise InvalidInput('disk %s: pool and volume go together (a volume of a pool)' % target)
        sources = [k for k in ('volume', 'path', 'create') if disk.get(k)]
        if len(sources) > 1:
            raise InvalidInput('disk %s: give one source: pool and volume, path, or create (got %s)'
                               % (target, ', '.join(sources)))
        if disk.get('path') and not disk['path'].startswith('/'):
            raise InvalidInput('disk %s: path must be an absolute path on the node, got %r' % (target, disk['path']))
        for key, allowed in (('format', DISK_FORMATS), ('cache', DISK_CACHE),
                             ('io', DISK_IO), ('discard', DISK_DISCARD)):
            if disk.get(key) is not None and disk[key] not in allowed:
                raise InvalidInput('disk %s: %s must be one of %s, got %r' % (target, key, ', '.join(allowed), disk[key]))
        if disk.get('boot_order') is not None and disk['boot_order'] < 0:
            raise InvalidInput('disk %s: boot_order must not be negative' % target)
        item = dict((k, disk.get(k)) for k in DISK_KEYS)
        if disk.get('create'):
            item.update(pool=disk['create']['pool'], volume=disk['create']['name'])
        out.append(item)
    return out
