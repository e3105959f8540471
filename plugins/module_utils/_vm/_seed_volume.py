# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A cloud-init seed (``_cloud_init``) as an ISO volume in a pool: written, rewritten in place, read back, removed.

How a seed is recognised and when it is rewritten: ``_cloud_init``'s docstring.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _iso9660 as iso
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _transfer as transfer
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput, Refused
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage._volume_plan import check_name
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage._volume_read import require_active
from ansible_collections.vmcat.libvirt.plugins.module_utils._vm._cloud_init import (
    LABEL, MARKER, render_seed, seed_disk, seed_volume_name)

_RESTORE_LIMIT = 64 * 1024 * 1024  # old seeds up to this size are kept in memory to write back on failure


def seed_image(seed):
    """The ISO9660 image of a rendered Seed, its marker in the application-use field."""
    return iso.build_iso(seed.files, LABEL, seed.marker)


def read_head(conn, vol, length=iso.HEAD_SIZE):
    """The first ``length`` bytes of a volume (fewer when it is shorter), through a libvirt stream."""
    chunks = []
    got = [0]

    class Sink:
        def data(self, chunk):
            chunks.append(chunk)
            got[0] += len(chunk)
            return got[0] < length

        def hole(self, size):
            chunks.append(bytes(min(size, length - got[0])))
            got[0] += size
            return got[0] < length

    with conn.translated('read', "volume '%s'" % vol.name()):
        transfer.receive(conn.virt, vol, Sink(), sparse=False)
    return b''.join(chunks)[:length]


def seed_marker(conn, vol):
    """The vmcat marker of an existing seed volume, or None when the volume holds no seed of ours."""
    found = iso.read_descriptor(read_head(conn, vol))
    if found is None or not found[1].startswith(MARKER):
        return None
    return found[1]


def _upload(conn, pool, name, image):
    """A new raw volume holding ``image``; deleted again if the upload fails."""
    xml = _xml.element('volume')
    _xml.sub(xml, 'name', name)
    _xml.sub(xml, 'capacity', len(image), unit='bytes')
    _xml.sub(xml, 'allocation', 0, unit='bytes')
    _xml.sub(_xml.sub(xml, 'target'), 'format', type_='raw')
    what = "volume '%s' in pool '%s'" % (name, pool.name())
    with conn.translated('create', what, 'check that the pool has room for it'):
        vol = pool.createXML(_xml.to_string(xml), 0)
    try:
        with conn.translated('upload the cloud-init seed into', what):
            transfer.send(conn.virt, vol, [('data', image)], False)
            pool.refresh(0)
    except BaseException:
        transfer.delete_quietly(vol)
        raise
    return vol


def _rewrite(conn, pool, vol, name, image):
    """Write a new seed into the existing volume, in place.

    In place, so that a running VM's QEMU, which keeps the file open, shows
    the new seed to the guest after a reboot.  The volume grows when the
    image is larger, and the rest of it is zeroed.  If the upload fails, the
    old bytes are written back.
    """
    what = "volume '%s' in pool '%s'" % (name, pool.name())
    with conn.translated('read', what):
        capacity = vol.info()[1]
    old = read_head(conn, vol, capacity) if capacity <= _RESTORE_LIMIT else None
    if len(image) > capacity:
        with conn.translated('grow', what, 'check that the pool has room for it'):
            vol.resize(len(image), 0)
    segments = [('data', image)]
    if capacity > len(image):
        segments.append(('hole', capacity - len(image)))
    try:
        with conn.translated('upload the cloud-init seed into', what):
            transfer.send(conn.virt, vol, segments, False)
    except BaseException:
        if old is not None:
            try:
                transfer.send(conn.virt, vol, [('data', old)], False)
            except Exception:  # cleanup that must never hide the error that made us clean up
                pass
        raise
    with conn.translated('refresh', "pool '%s'" % pool.name()):
        pool.refresh(0)
    return vol


def ensure_seed(ctx, vm_name, pool_name, cloud_init, machine=None, arch=None):
    """Make the pool hold the VM's seed; (changed, disk entry).  Validates everything before any change."""
    cloud_init = cloud_init or {}
    pool_name = cloud_init.get('pool') or pool_name
    if not pool_name:
        raise InvalidInput('cloud_init needs a pool to keep the seed in: set cloud_init.pool')
    name = check_name(seed_volume_name(vm_name), 'cloud-init seed volume name')
    seed = render_seed(vm_name, cloud_init)
    disk = seed_disk(vm_name, pool_name, cloud_init, machine, arch)
    conn = ctx.conn
    pool = require_active(conn, conn.require_pool(pool_name))
    image = seed_image(seed)
    vol = conn.volume(pool, name)
    if vol is None:
        ctx.act("create cloud-init seed '%s' in pool '%s'" % (name, pool_name), _upload, conn, pool, name, image)
        return True, disk
    marker = seed_marker(conn, vol)
    if marker is None:
        raise Refused("volume '%s' in pool '%s' on %s exists but is not a cloud-init seed written by vmcat.libvirt; "
                      "it is left alone: rename or remove it, or keep the seed in another pool (cloud_init.pool)"
                      % (name, pool_name, conn.uri))
    if marker == seed.marker:
        return False, disk
    ctx.act("rebuild cloud-init seed '%s' in pool '%s'" % (name, pool_name), _rewrite, conn, pool, vol, name, image)
    return True, disk


def remove_seed(ctx, vm_name, pool_name):
    """Delete a VM's seed volume if it is one of ours; changed or not.  A foreign volume is left alone."""
    conn = ctx.conn
    pool = conn.pool(pool_name)
    if pool is None or not pool.isActive():
        return False
    name = seed_volume_name(vm_name)
    vol = conn.volume(pool, name)
    if vol is None or seed_marker(conn, vol) is None:
        return False
    with conn.translated('delete', "cloud-init seed '%s' in pool '%s'" % (name, pool_name)):
        ctx.act("delete cloud-init seed '%s' in pool '%s'" % (name, pool_name), vol.delete, 0)
    return True


def read_seed_key(conn, pool_name, vm_name):
    """The sha256 key of a VM's current seed volume, or None (no pool, no volume, not ours)."""
    pool = conn.pool(pool_name)
    if pool is None or not pool.isActive():
        return None
    vol = conn.volume(pool, seed_volume_name(vm_name))
    if vol is None:
        return None
    marker = seed_marker(conn, vol)
    return marker[len(MARKER):].decode('ascii') if marker else None
