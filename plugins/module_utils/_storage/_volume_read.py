# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading volumes: one volume as volume/volume_info return it, the list, the checks other resources ask.

Apart from the volume cycle (``_volume``) so that volume_info and the
template cycle do not ship it, the sources of new volumes and what they
import.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage._volume_plan import GONE_HINT, LIST_HINT, check_name
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import LibvirtError, NotFound, VmcatError
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._usage import volume_users, volume_users_index


def _backing_view(conn, root):
    path = _xml.text_of(root, 'backingStore/path')
    if not path:
        return None
    view = {'path': path, 'format': _xml.attr_of(root, 'backingStore/format', 'type'), 'pool': None, 'name': None}
    found = conn.volume_by_path(path)
    if found is not None:
        with conn.translated('read', "volume at '%s'" % path, 'the backing volume may have been deleted '
                             'meanwhile; run the task again'):
            view.update(pool=found.storagePoolLookupByVolume().name(), name=found.name())
    return view


def describe(conn, pool_name, vol, users=None):
    """Everything volume/volume_info return about one volume (option-shaped)."""
    with conn.translated('read', "volume '%s' in pool '%s'" % (vol.name(), pool_name), GONE_HINT):
        root = _xml.parse(vol.XMLDesc(0))
    path = _xml.text_of(root, 'target/path')
    name = _xml.text_of(root, 'name')
    users = users or (lambda p, n, pa: volume_users(conn, p, n, pa))
    return {
        'name': name,
        'pool': pool_name,
        'path': path,
        'key': _xml.text_of(root, 'key'),
        'type': root.get('type'),
        'format': _xml.attr_of(root, 'target/format', 'type'),
        'capacity': _xml.int_of(root, 'capacity'),
        'allocation': _xml.int_of(root, 'allocation'),
        'physical': _xml.int_of(root, 'physical'),
        'backing': _backing_view(conn, root),
        'used_by': users(pool_name, name, path),
    }


def list_volumes(ctx, pool_name=None, name=None):
    """Volumes of one pool or of every running pool, optionally only those called ``name``."""
    conn = ctx.conn
    if name is not None:
        check_name(name)
    if pool_name:
        pool = conn.require_pool(pool_name)
        require_active(conn, pool)
        pools = [pool]
    else:
        pools = [p for p in conn.all_pools() if p.isActive()]
    users = volume_users_index(conn)
    found = []
    for pool in sorted(pools, key=lambda p: p.name()):
        try:
            with conn.translated('list volumes of', "pool '%s'" % pool.name(), LIST_HINT):
                vols = [conn.volume(pool, name)] if name is not None else pool.listAllVolumes(0)
        except VmcatError:
            if pool_name or _still_active(pool):
                raise
            continue  # stopped or removed while we listed
        for vol in vols:
            try:
                if vol is not None:
                    found.append(describe(conn, pool.name(), vol, users))
            except NotFound:  # deleted while we listed
                continue
    return sorted(found, key=lambda v: (v['pool'], v['name']))


def _still_active(pool):
    try:
        return bool(pool.isActive())
    except LibvirtError:  # a pool removed or broken while we look is not active
        return False


def require_active(conn, pool):
    if not pool.isActive():
        raise VmcatError("pool '%s' on %s is not running, so its volumes are unknown; start it first "
                         "(vmcat.libvirt.pool with active: true)" % (pool.name(), conn.uri))
    return pool


def backing_dependents(conn, path):
    """'pool/volume' names of the volumes whose backing file is ``path``."""
    found = []
    for pool in conn.all_pools():
        if not pool.isActive():
            continue
        with conn.translated('list volumes of', "pool '%s'" % pool.name(), LIST_HINT):
            vols = pool.listAllVolumes(0)
        for vol in vols:
            try:
                root = _xml.parse(vol.XMLDesc(0))
            except (LibvirtError, VmcatError):  # a volume deleted meanwhile (or unreadable) is no dependent
                continue
            if _xml.text_of(root, 'backingStore/path') == path:
                found.append('%s/%s' % (pool.name(), vol.name()))
    return sorted(found)
