# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Storage volumes: describe them, create them from one source, grow, wipe and delete them safely.

The cycle: validate the options (before anything is looked up) -> read the
volume -> when it is missing, create it from exactly one source (blank,
backing volume, full clone, node file, controller file, URL) -> converge the
capacity -> optionally copy its content to a file -> report the volume as an
option-shaped dict.  An existing volume is never recreated: a different
format or backing volume is refused.  Byte streams (upload, download, the
zero check) live in ``_volume_transfer``.

Private to vmcat.libvirt: may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import uuid

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _template_store
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _rehearsal_node
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _transfer as transfer
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import (
    InvalidInput, NotFound, Refused, VmcatError, is_libvirt_error, is_not_found, is_unsupported, libvirt_message)
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._cycle import Outcome
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._sizes import format_size, parse_size
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._usage import volume_users, volume_users_index

FORMATS = ('raw', 'qcow2')
PREALLOCATION = ('off', 'metadata', 'falloc', 'full')
WIPE_ALGORITHMS = ('zero', 'nnsa', 'dod', 'bsi', 'gutmann', 'schneier', 'pfitzner7', 'pfitzner33', 'random', 'trim')
SOURCES = ('backing', 'clone_from', 'import_path', 'url', 'src', 'template')

_PREALLOC_METADATA = 1  # VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA
_RESIZE_ALLOCATE = 1  # VIR_STORAGE_VOL_RESIZE_ALLOCATE
_RESIZE_SHRINK = 4  # VIR_STORAGE_VOL_RESIZE_SHRINK
_FILE_POOLS = ('dir', 'fs', 'netfs')
# Formats whose bytes are the guest's bytes: the only ones state=wiped may zero.
_PLAIN_FORMATS = (None, 'raw', 'iso', 'none')
_GONE_HINT = 'the volume may have been deleted or its pool stopped meanwhile; check the pool and run the task again'
_LIST_HINT = 'check that the pool is running (vmcat.libvirt.pool with active: true) and its storage is reachable'
_LVM_EXTENT = 4 * 1024 * 1024  # LVM rounds logical volumes up to its extent size (4 MiB by default)


# -- input checks (before anything is looked up) --------------------------------
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


def validate(params):
    """Refuse bad options before anything is looked up; returns the capacity in bytes (or None)."""
    check_name(params['name'])
    state = params['state']
    clone_from = params.get('clone_from') or {}
    backing = params.get('backing') or {}
    if clone_from.get('name') is not None:
        check_name(clone_from['name'], 'clone_from.name')
    if backing.get('name') is not None:
        check_name(backing['name'], 'backing.name')
    template = params.get('template') or {}
    if template:
        _template_store.check_template_name(template.get('name'), 'template.name')
        if template.get('linked', True) and params.get('format') not in (None, 'qcow2'):
            raise InvalidInput("a linked clone of a template is a qcow2 overlay; format %s is only possible with "
                               "template.linked: false (a full copy)" % params['format'])
    for key, value in (('backing.path', backing.get('path')), ('import_path', params.get('import_path'))):
        if value is not None and not value.startswith('/'):
            raise InvalidInput("%s must be an absolute path on the node, got '%s'" % (key, value))
    capacity = parse_size(params.get('capacity'), 'capacity')
    if capacity == 0:
        raise InvalidInput('capacity must be larger than 0')
    if params.get('url'):
        if not params['url'].lower().startswith(('http://', 'https://')):
            raise InvalidInput("url must be an http:// or https:// URL, got '%s'" % transfer.safe_url(params['url']))
        transfer.parse_checksum(params.get('checksum'))
    if params.get('wipe') and state != 'absent':
        raise InvalidInput('wipe: true overwrites a volume before it is deleted and needs state: absent; '
                           'to erase a volume and keep it, use state: wiped')
    if state == 'wiped' and params.get('wipe_algorithm') not in (None, 'zero'):
        raise InvalidInput('state: wiped always writes zeros (that is what makes it idempotent); other '
                           'algorithms apply to state: absent with wipe: true')
    if params.get('dest') and state != 'present':
        raise InvalidInput('dest (copy the volume to a file) needs state: present')
    fmt = params.get('format')
    if backing and fmt not in (None, 'qcow2'):
        raise InvalidInput("a volume on a backing volume is a qcow2 overlay; format %s is not possible" % fmt)
    if params.get('preallocation') and (params.get('url') or params.get('src')):
        raise InvalidInput('preallocation applies to volumes libvirt creates (blank, backing, clone_from, '
                           'import_path); an uploaded image keeps the layout of its bytes')
    if params.get('preallocation') and (fmt or backing):
        allocation_plan(fmt or 'qcow2', capacity or 0, params['preallocation'])
    return capacity


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
    with conn.translated('read the size of', "pool '%s'" % pool.name(), _LIST_HINT):
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


# -- reading ------------------------------------------------------------------
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
    with conn.translated('read', "volume '%s' in pool '%s'" % (vol.name(), pool_name), _GONE_HINT):
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
            with conn.translated('list volumes of', "pool '%s'" % pool.name(), _LIST_HINT):
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
    except Exception:  # best-effort read: a pool removed or broken while we look is not active
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
        with conn.translated('list volumes of', "pool '%s'" % pool.name(), _LIST_HINT):
            vols = pool.listAllVolumes(0)
        for vol in vols:
            try:
                root = _xml.parse(vol.XMLDesc(0))
            except Exception:  # best-effort read: a volume deleted meanwhile (or unreadable) is no dependent
                continue
            if _xml.text_of(root, 'backingStore/path') == path:
                found.append('%s/%s' % (pool.name(), vol.name()))
    return sorted(found)


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


def target_capacity(wanted, fmt):
    """The capacity libvirt will really give: qcow2 sizes are whole 512-byte sectors."""
    if wanted is not None and fmt == 'qcow2' and wanted % 512:
        return wanted + 512 - wanted % 512
    return wanted


# -- the change cycle -----------------------------------------------------------
def ensure(ctx):
    """Converge a volume to the task's options; returns an Outcome."""
    params = ctx.params
    capacity = validate(params)
    if params.get('src') and not params.get('_src_probe') and not os.path.isfile(params['src']):
        raise InvalidInput("src '%s' is not a file on the host running the module (with remote_src: false the "
                           "action plugin finds it on the controller and copies it there)" % params['src'])
    conn = ctx.conn
    pool = require_active(conn, conn.require_pool(params['pool']))
    vol = conn.volume(pool, params['name'])
    if params['state'] == 'absent':
        return _ensure_absent(ctx, pool, vol)
    if params['state'] == 'wiped':
        return _ensure_wiped(ctx, pool, vol)

    extra = {}
    if vol is None and params.get('_src_probe') and not ctx.check_mode:
        # The action plugin asks first, before it copies src to this host: only a missing volume needs the bytes.
        return Outcome(False, None, None, actions=[], upload_needed=True)
    if vol is None:
        before = None
        vol, after = _create(ctx, pool, capacity)
        changed = True
    else:
        before = describe(conn, pool.name(), vol)
        _refuse_different(ctx, before)
        check_room(ctx, pool, before['name'], target_capacity(capacity, before['format']), before['capacity'] or 0)
        after = dict(before)
        changed = _converge_capacity(ctx, vol, after, capacity)
    if params.get('dest'):
        copied, checksum = transfer.sync_to_file(ctx, vol, params['dest'])
        changed = changed or copied
        if checksum:
            extra['checksum'] = checksum
    if vol is not None:
        after = ctx.after(changed, lambda: describe(conn, pool.name(), vol), lambda: after)
    return Outcome(changed, before, after, actions=ctx.actions, **extra)


def _what(pool, name):
    return "volume '%s' in pool '%s'" % (name, pool.name())


def _refuse_different(ctx, before):
    """An existing volume is never recreated: a different format or backing volume is refused."""
    params = ctx.params
    where = "volume '%s' in pool '%s' on %s" % (before['name'], before['pool'], ctx.conn.uri)
    fmt = params.get('format')
    if fmt and not _same_format(before['format'], fmt):
        raise Refused("%s exists with format %s; changing format is not supported, remove it first (state: "
                      "absent) or make a converted copy with clone_from and format: %s" % (where, before['format'], fmt))
    if params.get('template'):
        _refuse_other_template(ctx, before, where)
    backing = params.get('backing')
    if not backing:
        return
    have = before['backing']
    if have is None:
        raise Refused("%s exists without a backing volume; adding one is not supported, remove it first" % where)
    if backing.get('name'):
        same = have['name'] == backing['name'] and have['pool'] == (backing.get('pool') or before['pool'])
        wanted = '%s/%s' % (backing.get('pool') or before['pool'], backing['name'])
    else:
        same = have['path'] == backing['path']
        wanted = backing['path']
    if backing.get('format') and have['format'] and backing['format'] != have['format']:
        same = False
    if not same:
        raise Refused("%s exists with backing %s (%s); changing it to %s is not supported, remove it first"
                      % (where, have['path'], have['format'], wanted))


def _refuse_other_template(ctx, before, where):
    """An existing volume asked for as a template clone must be that kind of clone of that template."""
    spec = ctx.params['template']
    found = _template_store.template_backing(ctx.conn, spec['name'])
    have = (before['backing'] or {}).get('path')
    if spec.get('linked', True) and have != found['path']:
        raise Refused("%s exists %s; it is not a linked clone of template '%s' (%s), remove it first or use another "
                      "name" % (where, 'with backing %s' % have if have else 'without a backing volume', spec['name'],
                                found['path']))
    if not spec.get('linked', True) and have == found['path']:
        raise Refused("%s exists as a linked clone of template '%s', not as the full copy asked for (template.linked: "
                      "false); remove it first or use another name" % (where, spec['name']))


def _same_format(have, want):
    return have == want or (want == 'raw' and have in ('iso', 'none', None))


def _converge_capacity(ctx, vol, view, wanted):
    """Grow (or, with allow_shrink, shrink) to ``wanted``; updates ``view``; True when changed."""
    current = view.get('capacity')
    if wanted is None or current is None:
        if wanted is not None:
            view['capacity'] = target_capacity(wanted, view.get('format'))
        return False
    target = target_capacity(wanted, view.get('format'))
    if target == current or (view.get('type') == 'block' and 0 < current - target < _LVM_EXTENT):
        return False
    params = ctx.params
    what = "volume '%s' in pool '%s'" % (view['name'], view['pool'])
    if target < current:
        if not params.get('allow_shrink'):
            raise Refused("%s on %s has capacity %s (%d bytes); shrinking it to %s cuts off the end of the "
                          "disk and is refused; shrink the guest's file systems first and set allow_shrink: true"
                          % (what, ctx.conn.uri, format_size(current), current, format_size(target)))
        flags = _RESIZE_SHRINK
    else:
        raw = view.get('format') in ('raw', None)
        flags = _RESIZE_ALLOCATE if raw and params.get('preallocation') in ('falloc', 'full') else 0
    try:
        ctx.act('resize', _resize, vol, target, flags)
    except Exception as exc:  # a libvirt error (or a test fake); anything else is re-raised
        if not is_libvirt_error(exc):
            raise
        with ctx.conn.translated('resize', what, _resize_hint(exc, view, target)):
            raise
    view['capacity'] = target
    return True


def _resize_hint(exc, view, target):
    """What to do about a failed resize, from what libvirt said."""
    text = libvirt_message(exc).lower()
    if is_unsupported(exc):
        return ("this node's libvirt (its driver or the storage backend of pool '%s') cannot resize volumes; leave "
                "capacity unset (or at %s) for this volume, or make a copy of the size you want with clone_from "
                "and capacity in a pool that can" % (view['pool'], format_size(view['capacity'])))
    if 'lock' in text:
        return ('a running VM holds a lock on the disk image: grow it through the VM (virsh blockresize) or shut '
                'the VM down first')
    if 'shrink' in text:
        return ('libvirt cannot shrink a volume below the space already allocated to it; shrink the data inside '
                'first and make a smaller copy instead')
    if target > (view.get('capacity') or 0):
        return ("check that the pool has room for %s and that the node's file system takes files that large"
                % format_size(target))
    return 'check the volume on the node and run the task again'


def _resize(vol, capacity, flags):
    vol.resize(capacity, flags)


# -- creating -------------------------------------------------------------------
def _predicted(ctx, pool, fmt, capacity, allocation=None, backing=None):
    """What volume returns for a volume created in check mode."""
    root = _xml.parse(pool.XMLDesc(0))
    path = None
    if root.get('type') in _FILE_POOLS and _xml.text_of(root, 'target/path'):
        path = os.path.join(_xml.text_of(root, 'target/path'), ctx.params['name'])
    return {
        'name': ctx.params['name'], 'pool': pool.name(), 'path': path, 'key': path,
        'type': 'file' if path else None, 'format': fmt, 'capacity': target_capacity(capacity, fmt),
        'allocation': allocation, 'physical': None, 'backing': backing, 'used_by': [],
    }


def _create(ctx, pool, capacity):
    """Create the missing volume from its one source; returns (vol or None in check mode, view)."""
    params = ctx.params
    name = params['name']
    if params.get('backing'):
        vol, view = _create_overlay(ctx, pool, capacity)
    elif params.get('clone_from'):
        source = ctx.conn.require_volume(params['clone_from'].get('pool') or pool.name(), params['clone_from']['name'])
        vol, view = _create_clone(ctx, pool, source, capacity)
    elif params.get('import_path'):
        check_room(ctx, pool, name, capacity)
        vol, view = _create_import(ctx, pool)
    elif params.get('template'):
        vol, view = _create_from_template(ctx, pool, capacity)
    elif params.get('url') or params.get('src'):
        check_room(ctx, pool, name, capacity)
        vol, view = _create_upload(ctx, pool)
    elif capacity is not None:
        fmt = params.get('format') or 'qcow2'
        check_room(ctx, pool, name, target_capacity(capacity, fmt))
        allocation, flags = allocation_plan(fmt, capacity, params.get('preallocation'))
        xml = _xml.to_string(volume_xml(name, capacity, fmt, allocation))
        with ctx.conn.translated('create', _what(pool, name), 'check that the pool has room for it'):
            vol = ctx.act('create', pool.createXML, xml, flags)
        return vol, _predicted(ctx, pool, fmt, capacity, allocation)
    else:
        raise InvalidInput("volume '%s' does not exist in pool '%s' on %s; to create it give capacity (a blank "
                           "volume), backing, clone_from, import_path, url or src"
                           % (name, pool.name(), ctx.conn.uri))
    if vol is None:  # check mode
        _converge_capacity(ctx, None, view, capacity)
        return None, view
    try:  # a volume made by this task is removed again when a later step fails
        view = describe(ctx.conn, pool.name(), vol)
        fmt = params.get('format')
        if fmt and not _same_format(view['format'], fmt):
            raise Refused("%s on %s holds a %s image, not %s; the new volume was removed again"
                          % (_what(pool, name), ctx.conn.uri, view['format'], fmt))
        _converge_capacity(ctx, vol, view, capacity)
    except BaseException:
        transfer.delete_quietly(vol)
        raise
    return vol, view


def _resolve_backing(ctx, pool):
    """The backing volume as {path, format, pool, name, capacity}."""
    backing = ctx.params['backing']
    conn = ctx.conn
    if backing.get('name'):
        source = conn.require_volume(backing.get('pool') or pool.name(), backing['name'])
    else:
        source = conn.volume_by_path(backing['path'])
    if source is None:
        if not backing.get('format'):
            raise InvalidInput("backing.path '%s' is not a volume libvirt knows; give backing.format too (libvirt "
                               "does not guess the format of backing files)" % backing['path'])
        return {'path': backing['path'], 'format': backing['format'], 'pool': None, 'name': None, 'capacity': None}
    with conn.translated('read', "backing volume '%s'" % source.name(), _GONE_HINT):
        root = _xml.parse(source.XMLDesc(0))
        pool_name = source.storagePoolLookupByVolume().name()
    return {
        'path': _xml.text_of(root, 'target/path'),
        'format': backing.get('format') or _xml.attr_of(root, 'target/format', 'type') or 'raw',
        'pool': pool_name, 'name': source.name(), 'capacity': _xml.int_of(root, 'capacity'),
    }


def _create_overlay(ctx, pool, capacity, backing=None):
    params = ctx.params
    backing = backing or _resolve_backing(ctx, pool)
    size = capacity or backing['capacity']
    if size is None:
        raise InvalidInput("capacity is needed for an overlay on '%s' (libvirt does not know its size)" % backing['path'])
    if backing['capacity'] is not None and size < backing['capacity']:
        raise InvalidInput("capacity %s is smaller than the backing volume's %s; an overlay cannot be smaller "
                           "than its backing volume" % (format_size(size), format_size(backing['capacity'])))
    check_room(ctx, pool, params['name'], target_capacity(size, 'qcow2'))
    allocation, flags = allocation_plan('qcow2', size, params.get('preallocation'))
    store = dict((k, backing[k]) for k in ('path', 'format', 'pool', 'name'))
    xml = _xml.to_string(volume_xml(params['name'], size, 'qcow2', allocation, store))
    with ctx.conn.translated('create', _what(pool, params['name']), 'check that the backing volume is readable'):
        vol = ctx.act('create', pool.createXML, xml, flags)
    return vol, _predicted(ctx, pool, 'qcow2', size, allocation, store)


def _clone_plan(params, source, mode=None):
    """(createXMLFrom XML, flags, format, capacity, allocation) for a full copy of ``source``."""
    root = _xml.parse(source.XMLDesc(0))
    fmt = params.get('format') or _xml.attr_of(root, 'target/format', 'type') or 'raw'
    size = _xml.int_of(root, 'capacity')
    allocation, flags = allocation_plan(fmt, size, params.get('preallocation'))
    return _xml.to_string(volume_xml(params['name'], size, fmt, allocation, mode=mode)), flags, fmt, size, allocation


def _refuse_test_driver_cross_pool(conn, pool, name, source):
    """libvirt's test driver looks the source of a copy up by name in the target pool: it cannot copy across pools."""
    if not _rehearsal_node.is_test_driver(conn.virt):
        return
    with conn.translated('read', "volume '%s'" % source.name(), _GONE_HINT):
        source_pool = source.storagePoolLookupByVolume().name()
    if source_pool != pool.name():
        raise VmcatError("%s on %s: libvirt's test driver cannot copy volume '%s' of pool '%s' into another pool (it "
                         "looks the source up by name in the target pool); on a rehearsal node copy within pool '%s', "
                         "or rehearse this copy on a real node" % (_what(pool, name), conn.uri, source.name(),
                                                                   source_pool, source_pool))


def _clone(conn, pool, name, xml, source, flags):
    _refuse_test_driver_cross_pool(conn, pool, name, source)
    with conn.translated('read', "volume '%s'" % source.name(), _GONE_HINT):
        source_path = source.path()
    try:
        return pool.createXMLFrom(xml, source, flags)
    except Exception as exc:  # a libvirt error (or a test fake); anything else is re-raised
        if not is_libvirt_error(exc):
            raise
        if is_not_found(exc):
            hint = ("the source volume '%s' is gone: it was deleted meanwhile, or its file was removed behind "
                    "libvirt's back (then its pool lists it until it is refreshed); check the source and run the "
                    "task again" % source.name())
        else:
            hint = 'check that the pool has room for the copy and that nothing writes to the source'
        with conn.translated('copy %s into' % source_path, _what(pool, name), hint):
            raise


def _create_clone(ctx, pool, source, capacity=None):
    """A full copy of ``source`` (converted when format asks for it) through createXMLFrom.

    ``capacity``, when larger than the source, is what the copy grows to right after.
    """
    name = ctx.params['name']
    with ctx.conn.translated('read', "volume '%s'" % source.name(), _GONE_HINT):
        xml, flags, fmt, size, allocation = _clone_plan(ctx.params, source)
    check_room(ctx, pool, name, target_capacity(max(size or 0, capacity or 0), fmt) or None)
    _refuse_test_driver_cross_pool(ctx.conn, pool, name, source)
    vol = ctx.act('clone', _clone, ctx.conn, pool, name, xml, source, flags)
    return vol, _predicted(ctx, pool, fmt, size, allocation)


def copy_volume(conn, pool, name, source, fmt=None, mode=None):
    """A new volume ``name`` in ``pool``: a full copy of the volume ``source`` (converted to ``fmt``)."""
    with conn.translated('read', "volume '%s'" % source.name(), _GONE_HINT):
        xml, flags = _clone_plan(dict(name=name, format=fmt), source, mode)[:2]
    return _clone(conn, pool, name, xml, source, flags)


def _create_from_template(ctx, pool, capacity):
    """A linked clone (qcow2 overlay) or a full copy of a template's image volume."""
    spec = ctx.params['template']
    backing = _template_store.template_backing(ctx.conn, spec['name'])
    if spec.get('linked', True):
        return _create_overlay(ctx, pool, capacity, backing)
    return _create_clone(ctx, pool, backing['volume'], capacity)


def _create_import(ctx, pool):
    vol = ctx.act('import', import_node_file, ctx.conn, pool, ctx.params)
    return vol, _predicted(ctx, pool, ctx.params.get('format'), None)


def import_node_file(conn, pool, params):
    """Copy a file of the node into a new volume; returns the volume.

    libvirt has no call that reads an arbitrary node file, but it can clone
    any volume: a file libvirt already knows is cloned directly; a file in
    the directory of a dir pool is found after refreshing that pool; any other
    file is reached through a transient dir pool over its directory, which is
    destroyed again right after the copy (a transient pool leaves no
    definition behind).
    """
    source, cleanup = node_file_volume(conn, params['import_path'])
    try:
        with conn.translated('read', "import_path '%s'" % params['import_path'],
                             'check that libvirtd can read the file on the node'):
            xml, flags = _clone_plan(params, source)[:2]
        return _clone(conn, pool, params['name'], xml, source, flags)
    finally:
        if cleanup is not None:
            cleanup()


def node_file_volume(conn, path):
    """(volume for a node file, cleanup function or None)."""
    found = conn.volume_by_path(path)
    if found is not None:
        return found, None
    directory, filename = os.path.split(os.path.normpath(path))
    missing = "import_path '%s' is not a file on the node %s (or libvirt cannot read it)" % (path, conn.uri)
    for pool in conn.all_pools():
        root = _xml.parse(pool.XMLDesc(0))
        target = _xml.text_of(root, 'target/path')
        if root.get('type') not in _FILE_POOLS or not target or os.path.normpath(target) != directory:
            continue
        if not pool.isActive():
            raise Refused("import_path '%s' is in the directory of pool '%s', which is not running; start that "
                          "pool, or use clone_from with that pool" % (path, pool.name()))
        with conn.translated('refresh', "pool '%s'" % pool.name(), "check that the pool's directory is "
                             "readable on the node, or import the file with clone_from from that pool"):
            pool.refresh(0)
        vol = conn.volume(pool, filename)
        if vol is None:
            raise NotFound(missing)
        return vol, None
    temp = _xml.element('pool', type_='dir')
    _xml.sub(temp, 'name', 'vmcat-import-%s' % uuid.uuid4().hex[:12])
    _xml.sub(_xml.sub(temp, 'target'), 'path', directory)
    with conn.translated('open the directory of', "import_path '%s'" % path, 'the directory must exist on the node'):
        temp_pool = conn.virt.storagePoolCreateXML(_xml.to_string(temp), 0)
    vol = conn.volume(temp_pool, filename)
    if vol is None:
        temp_pool.destroy()
        raise NotFound(missing)
    return vol, temp_pool.destroy


def _create_upload(ctx, pool):
    """A new volume filled with the bytes of a URL or of a file on the module host."""
    params = ctx.params
    if params.get('url'):
        vol = ctx.act('download', transfer.create_from_url, ctx.conn, pool, params)
        fmt, size = params.get('format'), None
    else:
        fmt, size = _src_format_and_size(ctx)
        vol = ctx.act('upload', transfer.create_from_file, ctx.conn, pool, params['name'], params['src'])
    return vol, _predicted(ctx, pool, fmt, size)


def _src_format_and_size(ctx):
    """(format, virtual size) of src: probed here, or in check mode on the controller by the action plugin.

    When the module runs on another host than the controller, the action plugin first runs it with the hidden
    ``_src_probe`` (src's format and size, read on the controller) instead of a copy of src: in check mode that
    is all it needs; otherwise ``ensure`` answers ``upload_needed`` for a missing volume and the plugin copies
    src and runs the module again.
    """
    probe = ctx.params.get('_src_probe')
    if not probe:
        return transfer.probe_local_image(ctx.params['src'])
    if not ctx.check_mode:
        raise VmcatError("src '%s' was not copied to the host running the module (_src_probe is for check mode "
                         "only); this is a bug in the vmcat.libvirt.volume action plugin" % ctx.params['src'])
    return probe.get('format'), probe.get('size')


# -- absent and wiped -------------------------------------------------------------
def _refuse_in_use(ctx, before, verb):
    users = before['used_by']
    dependents = backing_dependents(ctx.conn, before['path']) if before['path'] else []
    if (users or dependents) and not ctx.params.get('force'):
        reasons = []
        if users:
            reasons.append('VMs use it: %s' % ', '.join(users))
        if dependents:
            reasons.append('it is the backing volume of %s' % ', '.join(dependents))
        raise Refused("volume '%s' in pool '%s' on %s: %s refused because %s; detach it or remove those first, or "
                      "set force: true to %s it anyway"
                      % (before['name'], before['pool'], ctx.conn.uri, verb, ' and '.join(reasons), verb))


def _ensure_absent(ctx, pool, vol):
    if vol is None:
        return Outcome(False, None, None, actions=[])
    conn = ctx.conn
    before = describe(conn, pool.name(), vol)
    _refuse_in_use(ctx, before, 'delete')
    what = _what(pool, before['name'])
    if ctx.params.get('wipe'):
        algorithm = WIPE_ALGORITHMS.index(ctx.params.get('wipe_algorithm') or 'zero')
        with conn.translated('wipe', what, 'algorithms other than zero need the scrub tool on the node'):
            ctx.act('wipe', vol.wipePattern, algorithm, 0)
    with conn.translated('delete', what, 'check that the pool is running and the node may write to its '
                         'storage (a running VM may hold a lock on the image; stop it first)'):
        ctx.act('delete', vol.delete, 0)
    return Outcome(True, before, None, actions=ctx.actions)


def _ensure_wiped(ctx, pool, vol):
    conn = ctx.conn
    if vol is None:
        vol = conn.require_volume(pool.name(), ctx.params['name'])
    before = describe(conn, pool.name(), vol)
    if before['format'] not in _PLAIN_FORMATS:
        raise Refused("volume '%s' in pool '%s' has format %s; wiping would overwrite the %s header too and leave "
                      "a broken image. Remove it (state: absent, with wipe: true to overwrite it first) and create "
                      "it again instead" % (before['name'], pool.name(), before['format'], before['format']))
    _refuse_in_use(ctx, before, 'wipe')
    if transfer.reads_as_zeros(conn, vol, before['allocation']):
        return Outcome(False, before, before, actions=[])
    with conn.translated('wipe', _what(pool, before['name']), "check that the node may write to the pool's "
                         "storage and that no running VM holds the image"):
        ctx.act('wipe', vol.wipePattern, 0, 0)
    after = before if ctx.check_mode else describe(conn, pool.name(), vol)
    return Outcome(True, before, after, actions=ctx.actions)
