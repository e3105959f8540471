# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The storage side of a VM: volumes for its disks, and which volumes it owns when it goes.

``plan_disks`` checks every disk source of a task against the node (pools
running, volumes there, templates known) and fills in the format of new
sources, before anything changes; ``create_volumes`` then makes the missing
volumes (blank through the volume logic's XML, clones of a template through
the volume cycle's template source) and returns them so a later failure can
remove them again.

``storage_plan`` decides, for ``state: absent`` with ``remove_storage``,
which volumes a VM owns: never a template image, a volume another VM uses,
the backing file of another volume, a shareable disk, a plain path libvirt
does not know as a volume, or a CD-ROM (install media are usually shared)
except the VM's own cloud-init seed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _devices as devices
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput, NotFound
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._sizes import parse_size
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._usage import volume_users
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage._volume_read import backing_dependents, require_active
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage._volume_plan import check_name, check_room, volume_xml

# The volume cycle, the template store and the transfers are imported in the functions that make, clone or remove
# a volume, not here: a vm task that makes and removes no disk (every run after the first) never needs them, and
# importing them (from the AnsiballZ zip, compiled on every task) is about 25 ms of each vm task (bench/README.md,
# issue 15 target 3).

SEED_SUFFIX = '-cidata.iso'


class Creation:
    """A volume a task makes for a disk: blank (capacity, format) or from a template."""

    def __init__(self, target, pool, name, fmt, capacity=None, template=None, linked=True):
        self.target = target
        self.pool = pool
        self.name = name
        self.format = fmt
        self.capacity = capacity
        self.template = template
        self.linked = linked

    def describe(self):
        if self.template:
            return "create volume '%s/%s' from template '%s' (%s)" % (
                self.pool, self.name, self.template, 'linked clone' if self.linked else 'full copy')
        return "create volume '%s/%s'" % (self.pool, self.name)


def _volume_format(conn, vol):
    with conn.translated('read', "volume '%s'" % vol.name()):
        root = _xml.parse(vol.XMLDesc(0))
    fmt = _xml.attr_of(root, 'target/format', 'type')
    return 'raw' if fmt in (None, 'iso', 'none') else fmt


def _template_format(conn, name, linked):
    from ansible_collections.vmcat.libvirt.plugins.module_utils._storage._template_store import find_template  # lazy: see the imports
    found = find_template(conn, name)
    if found is None:
        raise NotFound("template '%s' not found on %s (disks[].create.template); register it with "
                       "vmcat.libvirt.template first" % (name, conn.uri))
    vol = found[1]
    if linked or vol is None:
        return 'qcow2'
    return _volume_format(conn, vol)


def plan_disks(ctx, disks):
    """(disks with formats filled in, [Creation]) for the task's disks; NotFound/InvalidInput before any change."""
    conn = ctx.conn
    planned = []
    creations = []
    for disk in disks or []:
        disk = dict(disk)
        target = disk['target']
        create = disk.get('create')
        if create:
            check_name(create['name'], 'disk %s: create.name' % target)
            pool = require_active(conn, conn.require_pool(create['pool']))
            vol = conn.volume(pool, create['name'])
            if vol is not None:
                fmt = _volume_format(conn, vol)
            elif create.get('template'):
                fmt = _template_format(conn, create['template'], create.get('linked', True))
                if create.get('format') and create['format'] != fmt:
                    raise InvalidInput("disk %s: a %s of template '%s' has format %s, not %s"
                                       % (target, 'linked clone' if create.get('linked', True) else 'full copy',
                                          create['template'], fmt, create['format']))
                capacity = parse_size(create.get('capacity'), 'disk %s: create.capacity' % target)
                check_room(ctx, pool, create['name'], capacity)
                creations.append(Creation(target, create['pool'], create['name'], fmt, capacity,
                                          create['template'], create.get('linked', True)))
            else:
                capacity = parse_size(create.get('capacity'), 'disk %s: create.capacity' % target)
                if not capacity:
                    raise InvalidInput("disk %s: volume '%s' does not exist in pool '%s'; create needs capacity "
                                       "(a blank volume) or template" % (target, create['name'], create['pool']))
                check_room(ctx, pool, create['name'], capacity)
                fmt = create.get('format') or 'qcow2'
                creations.append(Creation(target, create['pool'], create['name'], fmt, capacity))
            if disk.get('format') and disk['format'] != fmt:
                raise InvalidInput("disk %s: format %s does not match the %s volume '%s'"
                                   % (target, disk['format'], fmt, create['name']))
            disk['format'] = fmt
        elif disk.get('pool') and disk.get('volume'):
            pool = require_active(conn, conn.require_pool(disk['pool']))
            vol = conn.volume(pool, disk['volume'])
            if vol is None:
                conn.require_volume(disk['pool'], disk['volume'])  # raises NotFound listing the volumes
            if not disk.get('format'):
                disk['format'] = _volume_format(conn, vol)
        elif disk.get('path') and not disk.get('format'):
            vol = conn.volume_by_path(disk['path'])
            if vol is not None:
                disk['format'] = _volume_format(conn, vol)
        planned.append(disk)
    return planned, creations


def _create_blank(conn, pool_name, creation):
    pool = conn.require_pool(pool_name)
    xml = _xml.to_string(volume_xml(creation.name, creation.capacity, creation.format, 0))
    with conn.translated('create', "volume '%s' in pool '%s'" % (creation.name, pool_name),
                         'check that the pool has room for it'):
        return pool.createXML(xml, 0)


def create_disk_from_template(ctx, pool_name, volume_name, template_name, linked=True, capacity=None):
    """Make sure volume ``volume_name`` in pool ``pool_name`` is a clone of template ``template_name``.

    ``linked``: a qcow2 overlay on the template's image (instant) or a full
    copy; ``capacity`` (bytes or a size such as ``20G``) grows the new volume.
    An existing volume is kept (grown when smaller than ``capacity``), and
    refused when it is not that kind of clone of that template.  Mutations go
    through ``ctx.act`` (labelled "volume 'pool/name': ..."), so check mode
    predicts.  Returns (changed, volume as vmcat.libvirt.volume returns it).
    """
    size = parse_size(capacity, 'capacity')
    params = {
        'name': volume_name, 'pool': pool_name, 'state': 'present', 'format': None, 'preallocation': None,
        'capacity': None if size is None else str(size), 'template': {'name': template_name, 'linked': bool(linked)},
    }
    from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _volume  # lazy: see the imports
    sub = ctx.sub(params, "volume '%s/%s'" % (pool_name, volume_name))
    outcome = _volume.ensure(sub)
    return outcome.changed, outcome.after


def create_volumes(ctx, creations):
    """Make the planned volumes; returns the virStorageVol objects made (none in check mode)."""
    made = []
    conn = ctx.conn
    try:
        for creation in creations:
            if creation.template:
                changed, dummy = create_disk_from_template(
                    ctx, creation.pool, creation.name, creation.template, creation.linked, creation.capacity)
                if changed and not ctx.check_mode:
                    vol = conn.volume(conn.require_pool(creation.pool), creation.name)
                    if vol is not None:
                        made.append(vol)
            else:
                vol = ctx.act(creation.describe(), _create_blank, conn, creation.pool, creation)
                if vol is not None:
                    made.append(vol)
    except BaseException:
        remove_made(made)
        raise
    return made


def remove_made(volumes):
    """Delete volumes this task made (after a later step failed), keeping the original error."""
    if not volumes:
        return
    from ansible_collections.vmcat.libvirt.plugins.module_utils._storage._transfer import delete_quietly  # lazy: see the imports
    for vol in volumes:
        delete_quietly(vol)


# -- what a VM owns ------------------------------------------------------------------------
def _disk_volume(conn, el):
    """(virStorageVol or None, pool name, path) of one <disk>."""
    source = el.find('source')
    if source is None:
        return None, None, None
    if el.get('type') == 'volume' and source.get('pool') and source.get('volume'):
        pool = conn.pool(source.get('pool'))
        if pool is None or not pool.isActive():
            return None, source.get('pool'), None
        vol = conn.volume(pool, source.get('volume'))
        if vol is None:
            return None, source.get('pool'), None
        with conn.translated('read', "volume '%s'" % source.get('volume')):
            return vol, pool.name(), vol.path()
    path = source.get('file') or source.get('dev')
    if not path:
        return None, None, None
    vol = conn.volume_by_path(path)
    if vol is None:
        return None, None, path
    with conn.translated('read', "volume at '%s'" % path):
        return vol, vol.storagePoolLookupByVolume().name(), path


def storage_plan(ctx, name, roots):
    """([(vol, label)] to delete, [{target, volume, reason}] kept) for the disks in ``roots`` (definitions)."""
    conn = ctx.conn
    seen = set()
    remove, kept = [], []
    templates = None
    for root in roots:
        for el in root.findall('devices/disk'):
            view = devices.read_disk(el)
            key = (view['target'], view['pool'], view['volume'], view['path'])
            if key in seen or not (view['volume'] or view['path']):
                continue
            seen.add(key)
            vol, pool_name, path = _disk_volume(conn, el)
            label = '%s/%s' % (pool_name, vol.name()) if vol is not None else (path or '%s/%s' % (view['pool'], view['volume']))
            reason = None
            if vol is None:
                reason = 'not a volume libvirt knows (a plain path, or its pool is not running)'
            elif view['device'] == 'cdrom' and vol.name() != name + SEED_SUFFIX:
                reason = 'CD-ROM media are kept (install images are usually shared)'
            elif el.find('shareable') is not None:
                reason = 'the disk is marked shareable'
            else:
                if templates is None:
                    from ansible_collections.vmcat.libvirt.plugins.module_utils._storage._template_store import template_volume_paths  # lazy: see the imports
                    templates = template_volume_paths(conn)
                users = [u for u in volume_users(conn, pool_name, vol.name(), path) if u != name]
                dependents = backing_dependents(conn, path) if path else []
                if path in templates:
                    reason = 'it is a template image'
                elif users:
                    reason = 'other VMs use it: %s' % ', '.join(users)
                elif dependents:
                    reason = 'it is the backing volume of %s' % ', '.join(dependents)
            if reason:
                kept.append({'target': view['target'], 'volume': label, 'reason': reason})
            elif all(label != other for dummy, other in remove):
                remove.append((vol, label))
    return remove, kept


def delete_volumes(ctx, remove):
    """Delete the planned volumes through the check-mode guard; returns their labels."""
    for vol, label in remove:
        with ctx.conn.translated('delete', "volume '%s'" % label,
                                 'the VM is already removed; delete the volume with vmcat.libvirt.volume'):
            ctx.act('delete volume %s' % label, vol.delete, 0)
    return [label for dummy, label in remove]
