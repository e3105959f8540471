# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a new or grown volume will be: its name, allocation, XML, the room it needs in its pool.

Pure plans and the pool-room check, shared by the volume cycle (``_volume``),
the sources a new volume is made from (``_volume_sources``) and the disks a
VM creates (``_vm``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._sizes import format_size

FORMATS = ('raw', 'qcow2')
PREALLOCATION = ('off', 'metadata', 'falloc', 'full')
FILE_POOLS = ('dir', 'fs', 'netfs')
GONE_HINT = 'the volume may have been deleted or its pool stopped meanwhile; check the pool and run the task again'
LIST_HINT = 'check that the pool is running (vmcat.libvirt.pool with active: true) and its storage is reachable'

_PREALLOC_METADATA = 1  # VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA


def check_name(name, what='name'):
    """Refuse volume names that are empty, hidden, or could leave the pool's directory."""
    if not name or name.startswith('.') or '/' in name or '..' in name or '\0' in name:
        raise InvalidInput("%s '%s' is not a valid volume name: it must not be empty, start with '.', or "
                           "contain '/' or '..'" % (what, name))
    return name


def allocation_plan(fmt, capacity, preallocation):
    """(allocation, createXML flags) giving ``preallocation`` for a new volume of ``fmt``.

    raw: off is sparse; falloc and full both ask libvirt to allocate every
    byte (fallocate where the file system has it, zeros written otherwise);
    metadata does not exist.  qcow2: metadata preallocates the qcow2 tables,
    falloc also reserves the data clusters; full is not offered by libvirt.
    """
    mode = preallocation or 'off'
    if mode == 'off':
        return 0, 0
    if fmt == 'qcow2':
        if mode == 'metadata':
            return 0, _PREALLOC_METADATA
        if mode == 'falloc':
            return capacity, _PREALLOC_METADATA
        raise InvalidInput("preallocation full is not supported for qcow2 volumes by libvirt; use falloc "
                           "(space reserved) or metadata (qcow2 tables only), or format raw")
    if mode == 'metadata':
        raise InvalidInput("preallocation metadata applies to qcow2 volumes only; a raw volume is either "
                           "sparse (off) or fully allocated (falloc or full)")
    return capacity, 0


def target_capacity(wanted, fmt):
    """The capacity libvirt will really give: qcow2 sizes are whole 512-byte sectors."""
    if wanted is not None and fmt == 'qcow2' and wanted % 512:
        return wanted + 512 - wanted % 512
    return wanted


# -- XML ------------------------------------------------------------------------
def volume_xml(name, capacity, fmt, allocation=None, backing=None, mode=None):
    """A <volume> definition for createXML/createXMLFrom (capacity and allocation in bytes).

    ``mode`` (an int such as 0o444) sets the file mode of volumes in file-based pools.
    """
    root = _xml.element('volume')
    _xml.sub(root, 'name', name)
    _xml.sub(root, 'capacity', capacity, unit='bytes')
    if allocation is not None:
        _xml.sub(root, 'allocation', allocation, unit='bytes')
    target = _xml.sub(root, 'target')
    _xml.sub(target, 'format', type_=fmt)
    if mode is not None:
        _xml.sub(_xml.sub(target, 'permissions'), 'mode', '%04o' % mode)
    if backing:
        store = _xml.sub(root, 'backingStore')
        _xml.sub(store, 'path', backing['path'])
        _xml.sub(store, 'format', type_=backing['format'])
    return root


def check_room(ctx, pool, name, capacity, current=0):
    """Refuse a volume larger than its whole pool; warn when it grows by more than the pool has free now.

    Volumes are sparse unless preallocated, so a volume larger than the free
    space is legal (thin provisioning) and only warned about: the guest gets
    I/O errors once the pool fills up.  One larger than the pool itself can
    never be filled and is almost surely a typo (1E, 100P).  Pools that do not
    report their size (capacity 0) are not checked.
    """
    if capacity is None or capacity <= current:
        return
    conn = ctx.conn
    with conn.translated('read the size of', "pool '%s'" % pool.name(), LIST_HINT):
        pool_capacity, available = pool.info()[1::2]
    if not pool_capacity:
        return
    where = "volume '%s' in pool '%s' on %s" % (name, pool.name(), conn.uri)
    if capacity > pool_capacity:
        raise InvalidInput("%s: capacity %s (%d bytes) is larger than the whole pool (%s), so it could never be "
                           "filled; give a capacity up to %s, or put the volume in a larger pool"
                           % (where, format_size(capacity), capacity, format_size(pool_capacity),
                              format_size(pool_capacity)))
    if capacity - current > available:
        preallocated = ctx.params.get('preallocation') in ('falloc', 'full')
        ctx.warn("%s: capacity %s %s more than the pool has free now (%s of %s); %s"
                 % (where, format_size(capacity), 'needs %s,' % format_size(capacity - current) if current else 'is',
                    format_size(available), format_size(pool_capacity),
                    'preallocation needs all of it at once, so libvirt will fail to allocate it unless space is '
                    'freed first' if preallocated else
                    'the volume is sparse, so this works until the pool fills up, then its guest gets I/O errors; '
                    'free space in the pool or choose a smaller capacity'))


def what(pool, name):
    return "volume '%s' in pool '%s'" % (name, pool.name())


# -- a new volume -------------------------------------------------------------------
def predicted(ctx, pool, fmt, capacity, allocation=None, backing=None):
    """What volume returns for a volume created in check mode."""
    root = _xml.parse(pool.XMLDesc(0))
    path = None
    if root.get('type') in FILE_POOLS and _xml.text_of(root, 'target/path'):
        path = os.path.join(_xml.text_of(root, 'target/path'), ctx.params['name'])
    return {
        'name': ctx.params['name'], 'pool': pool.name(), 'path': path, 'key': path,
        'type': 'file' if path else None, 'format': fmt, 'capacity': target_capacity(capacity, fmt),
        'allocation': allocation, 'physical': None, 'backing': backing, 'used_by': [],
    }
