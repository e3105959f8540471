# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Storage volumes: create them from one source, grow, wipe and delete them safely.

The cycle: validate the options (before anything is looked up) -> read the
volume -> when it is missing, create it from exactly one source (blank,
backing volume, full clone, node file, controller file, URL) -> converge the
capacity -> optionally copy its content to a file -> report the volume as an
option-shaped dict.  An existing volume is never recreated: a different
format or backing volume is refused.  Byte streams (upload, download, the
zero check) live in ``_transfer``; how a new volume is made from its source
in ``_volume_sources``; its plan (allocation, XML, room in the pool) in
``_volume_plan``; reading volumes in ``_volume_read``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _template_store
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _transfer as transfer
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _volume_sources
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage._volume_plan import (
    allocation_plan, check_name, check_room, target_capacity, what)
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage._volume_read import (
    backing_dependents, describe, require_active)
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import (
    InvalidInput, Refused, is_libvirt_error, is_unsupported, libvirt_message)
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._cycle import Outcome
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._sizes import format_size, parse_size

WIPE_ALGORITHMS = ('zero', 'nnsa', 'dod', 'bsi', 'gutmann', 'schneier', 'pfitzner7', 'pfitzner33', 'random', 'trim')
SOURCES = ('backing', 'clone_from', 'import_path', 'url', 'src', 'template')

_RESIZE_ALLOCATE = 1  # VIR_STORAGE_VOL_RESIZE_ALLOCATE
_RESIZE_SHRINK = 4  # VIR_STORAGE_VOL_RESIZE_SHRINK
# Formats whose bytes are the guest's bytes: the only ones state=wiped may zero.
_PLAIN_FORMATS = (None, 'raw', 'iso', 'none')
_LVM_EXTENT = 4 * 1024 * 1024  # LVM rounds logical volumes up to its extent size (4 MiB by default)


# -- input checks (before anything is looked up) --------------------------------
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


# -- the change cycle -----------------------------------------------------------
def ensure(ctx, download=None):
    """Converge a volume to the task's options; returns an Outcome.

    ``download`` is the URL source (see ``_volume_sources.make``).
    """
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
        vol, after = _create(ctx, pool, capacity, download)
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
    where = "volume '%s' in pool '%s'" % (view['name'], view['pool'])
    if target < current:
        if not params.get('allow_shrink'):
            raise Refused("%s on %s has capacity %s (%d bytes); shrinking it to %s cuts off the end of the "
                          "disk and is refused; shrink the guest's file systems first and set allow_shrink: true"
                          % (where, ctx.conn.uri, format_size(current), current, format_size(target)))
        flags = _RESIZE_SHRINK
    else:
        raw = view.get('format') in ('raw', None)
        flags = _RESIZE_ALLOCATE if raw and params.get('preallocation') in ('falloc', 'full') else 0
    try:
        ctx.act('resize', _resize, vol, target, flags)
    except Exception as exc:  # a libvirt error (or a test fake); anything else is re-raised
        if not is_libvirt_error(exc):
            raise
        with ctx.conn.translated('resize', where, _resize_hint(exc, view, target)):
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


def _create(ctx, pool, capacity, download):
    """Create the missing volume from its one source; returns (vol or None in check mode, view)."""
    vol, view, settled = _volume_sources.make(ctx, pool, capacity, download)
    if settled:
        return vol, view
    name = ctx.params['name']
    if vol is None:  # check mode
        _converge_capacity(ctx, None, view, capacity)
        return None, view
    try:  # a volume made by this task is removed again when a later step fails
        view = describe(ctx.conn, pool.name(), vol)
        fmt = ctx.params.get('format')
        if fmt and not _same_format(view['format'], fmt):
            raise Refused("%s on %s holds a %s image, not %s; the new volume was removed again"
                          % (what(pool, name), ctx.conn.uri, view['format'], fmt))
        _converge_capacity(ctx, vol, view, capacity)
    except BaseException:
        transfer.delete_quietly(vol)
        raise
    return vol, view


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
    where = what(pool, before['name'])
    if ctx.params.get('wipe'):
        algorithm = WIPE_ALGORITHMS.index(ctx.params.get('wipe_algorithm') or 'zero')
        with conn.translated('wipe', where, 'algorithms other than zero need the scrub tool on the node'):
            ctx.act('wipe', vol.wipePattern, algorithm, 0)
    with conn.translated('delete', where, 'check that the pool is running and the node may write to its '
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
    with conn.translated('wipe', what(pool, before['name']), "check that the node may write to the pool's "
                         "storage and that no running VM holds the image"):
        ctx.act('wipe', vol.wipePattern, 0, 0)
    after = before if ctx.check_mode else describe(conn, pool.name(), vol)
    return Outcome(True, before, after, actions=ctx.actions)
