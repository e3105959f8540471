# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Templates: register a read-only golden image with its metadata, update the metadata, delete it safely.

The cycle: validate the options -> find the template by name in every
running pool -> register it from one source when it is missing (URL, file on
the node, volume, shut-off VM's disk; optionally cleaned by sysprep), or
update its metadata when it exists (the image itself never changes: a
different source is refused) -> report it in the shape of template_info.

Storage layout and discovery: ``_storage/_template_store``.  Sources of new
images: ``_sources``.  Sysprep: ``_sysprep``.  Views and the list:
``_template_read``.

``find_template`` (the store's lookup) also serves the snapshot module; a
VM's disk from a template is the volume cycle's template source
(``_vm/_disks``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
import time

from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _template_store as meta
from ansible_collections.vmcat.libvirt.plugins.module_utils._template import _sources as sources
from ansible_collections.vmcat.libvirt.plugins.module_utils._template import _sysprep as sysprep
from ansible_collections.vmcat.libvirt.plugins.module_utils._template._template_read import (
    NO_USERS, image_info, record_view, view)
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage._volume_plan import check_name
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage._volume_read import require_active
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _transfer as transfer
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput, Refused
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._cycle import Outcome
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._stale_check import still_as_read

SOURCE_TYPES = ('url', 'path', 'volume', 'vm')
FEATURES = meta.FEATURES
find_template = meta.find_template
_IMMUTABLE = ('templates are immutable: register the new image under a new name (and remove this template once '
              'nothing uses it)')


def now():
    """The time stamps' format: UTC, to the second, ISO 8601."""
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())


# -- input checks (before anything is looked up) -------------------------------------
def validate(params):
    meta.check_template_name(params['name'])
    source = params.get('source') or {}
    kinds = [k for k in SOURCE_TYPES if source.get(k)]
    if len(kinds) > 1:
        raise InvalidInput('source takes exactly one of url, path, volume and vm; got %s' % ', '.join(kinds))
    if source and not kinds:
        raise InvalidInput('source needs one of url, path, volume and vm')
    if source.get('url'):
        if not source['url'].lower().startswith(('http://', 'https://')):
            raise InvalidInput("source.url must be an http:// or https:// URL, got '%s'" % transfer.safe_url(source['url']))
        transfer.parse_checksum(source.get('checksum'))
        if params.get('sysprep'):
            raise InvalidInput('sysprep applies to path, volume and vm sources; a downloaded cloud image is normally '
                               'clean already')
    elif source.get('checksum'):
        transfer.parse_checksum(source['checksum'])
    if source.get('path') and not source['path'].startswith('/'):
        raise InvalidInput("source.path must be an absolute path on the node, got '%s'" % source['path'])
    if source.get('volume'):
        check_name(source['volume'], 'source.volume')
    if source.get('pool') and not source.get('volume'):
        raise InvalidInput('source.pool names the pool of source.volume; give source.volume too')
    if source.get('disk') and not source.get('vm'):
        raise InvalidInput('source.disk names a disk of source.vm; give source.vm too')
    for tag in params.get('tags') or []:
        if not str(tag).strip():
            raise InvalidInput('tags must not be empty strings')


# -- the change cycle -----------------------------------------------------------------------
def ensure(ctx, download=None):
    """Converge one template to the task's options; returns an Outcome.

    ``download`` is the URL source (see ``_sources.plan``).
    """
    params = ctx.params
    validate(params)
    records = meta.scan(ctx.conn, params['name'])
    if len(records) > 1:
        raise Refused("template '%s' is registered in several pools on %s (%s); template names must be unique on a "
                      "node: remove the extra ones" % (params['name'], ctx.conn.uri,
                                                       ', '.join(r.pool.name() for r in records)))
    record = records[0] if records else None
    if record is not None and params.get('pool') and params['pool'] != record.pool.name():
        raise Refused("%s is registered in pool '%s', not '%s'; templates do not move between pools (leave pool out, "
                      "or register a copy under a new name with source.volume)"
                      % (_where(ctx), record.pool.name(), params['pool']))
    if params['state'] == 'absent':
        return _ensure_absent(ctx, record)
    if record is None:
        return _register(ctx, download)
    return _update(ctx, record)


def _apply_metadata(doc, params):
    """Put the task's metadata options into ``doc``; options left unset are left as they are."""
    for key in ('os', 'features'):
        for sub, value in (params.get(key) or {}).items():
            if value is not None:
                doc[key][sub] = value
    if params.get('tags') is not None:
        doc['tags'] = sorted(set(str(t) for t in params['tags']))
    if params.get('description') is not None:
        doc['description'] = params['description']
    return doc


def _where(ctx, name=None):
    return "template '%s' on %s" % (name or ctx.params['name'], ctx.conn.uri)


# -- updating ------------------------------------------------------------------------------------
def _update(ctx, record):
    conn, params = ctx.conn, ctx.params
    where = _where(ctx)
    if record.problems:
        raise Refused("%s in pool '%s' is broken: %s; remove it (state: absent) and register it again"
                      % (where, record.pool.name(), '; '.join(record.problems)))
    doc = record.meta
    _refuse_other_source(ctx, doc['source'], record.pool.name())
    image = image_info(conn, record.pool, record.image)
    if params.get('format') and params['format'] != image['format']:
        raise Refused('%s has a %s image; changing its format is not possible, %s'
                      % (where, image['format'], _IMMUTABLE))
    if params.get('sysprep') and not doc['sysprep']:
        raise Refused('%s was registered without sysprep and its image is never changed afterwards; %s'
                      % (where, _IMMUTABLE))
    index = meta.UsageIndex(conn)
    before = record_view(conn, record, index)
    new = _apply_metadata(copy.deepcopy(doc), params)
    if new == doc:
        return Outcome(False, before, before, actions=[])
    new['updated'] = now()
    still_as_read(ctx, where, lambda: meta.read_sidecar(conn, record.sidecar, record.pool), doc,
                  same=lambda a, b: meta.normalise(a) == meta.normalise(b))
    ctx.act('update metadata', meta.rewrite_sidecar, conn, record.sidecar, record.pool, new)
    return Outcome(True, before, record_view(conn, record, index, new), actions=ctx.actions)


def _wanted_origin(source, pool_name):
    """The task's source in the shape of the recorded one (only the keys the task decides)."""
    if source.get('url'):
        return {'type': 'url', 'url': transfer.safe_url(source['url'])}
    if source.get('path'):
        return {'type': 'file', 'path': source['path']}
    if source.get('volume'):
        return {'type': 'volume', 'pool': source.get('pool') or pool_name, 'volume': source['volume']}
    wanted = {'type': 'vm', 'vm': source['vm']}
    if source.get('disk'):
        wanted['disk'] = source['disk']
    return wanted


def _describe_origin(have):
    kind = have.get('type')
    if kind == 'url':
        return 'URL %s' % have.get('url')
    if kind == 'file':
        return 'node file %s' % have.get('path')
    if kind == 'volume':
        return 'volume %s/%s' % (have.get('pool'), have.get('volume'))
    return "disk %s of VM '%s'" % (have.get('disk'), have.get('vm'))


def _refuse_other_source(ctx, have, pool_name):
    """A source for an existing template must be the one it was made from: same checksum, or same origin."""
    source = ctx.params.get('source')
    if not source:
        return
    where = _where(ctx)
    given, recorded = source.get('checksum'), have.get('checksum')
    if given and recorded:
        given_alg, given_hex = transfer.parse_checksum(given)
        have_alg, have_hex = transfer.parse_checksum(recorded)
        if given_alg != have_alg:
            raise Refused('%s was registered with checksum %s; give source.checksum as %s too, so the two can be '
                          'compared' % (where, recorded, have_alg))
        if given_hex != have_hex:
            raise Refused('%s was registered from %s with checksum %s, but the task gives checksum %s:%s; %s'
                          % (where, _describe_origin(have), recorded, given_alg, given_hex, _IMMUTABLE))
        return  # the same bytes, wherever they are now
    wanted = _wanted_origin(source, pool_name)
    if any(have.get(k) != v for k, v in wanted.items()):
        raise Refused('%s was registered from %s; the task names %s; %s'
                      % (where, _describe_origin(have), _describe_origin(dict(have, **wanted)), _IMMUTABLE))


# -- registering -----------------------------------------------------------------------------------
def _register(ctx, download):
    conn, params = ctx.conn, ctx.params
    name = params['name']
    if not params.get('pool') or not params.get('source'):
        raise InvalidInput("%s does not exist; to register it give pool and source (url, path, volume or vm)"
                           % _where(ctx))
    pool = require_active(conn, conn.require_pool(params['pool']))
    for vol_name in (meta.image_name(name), meta.sidecar_name(name)):
        if conn.volume(pool, vol_name) is not None:
            raise Refused("volume '%s' already exists in pool '%s' on %s, but template '%s' is not registered (an "
                          "interrupted registration can leave this); remove that volume (vmcat.libvirt.volume with "
                          "state: absent) and run the task again" % (vol_name, pool.name(), conn.uri, name))
    if params.get('sysprep'):
        sysprep.check_possible(conn.uri)
    plan = sources.plan(ctx, pool, download)
    doc = _apply_metadata(meta.new_metadata(name, now()), params)
    doc['source'].update(plan.origin)
    made = ctx.act(plan.action, plan.make)
    image, report = made if isinstance(made, tuple) else (made, None)
    try:
        if image is not None:
            info = image_info(conn, pool, image)
            if params.get('format') and not _same_format(info['format'], params['format']):
                raise Refused("%s: the downloaded image is %s, not %s; it was removed again (leave format unset to "
                              "keep the image as it is)" % (_where(ctx), info['format'], params['format']))
            doc['format'], doc['virtual_size'] = info['format'], info['capacity']
        else:
            info = {'path': _predicted_path(pool, meta.image_name(name)), 'format': plan.fmt, 'capacity': plan.size,
                    'mode': '%04o' % meta.IMAGE_MODE if meta.is_file_pool(pool) else None}
            doc['format'], doc['virtual_size'] = plan.fmt, plan.size
        if params.get('sysprep'):
            doc['sysprep'] = report or {'tool': 'debugfs', 'filesystem_offset': None, 'emptied': [], 'removed': []}
        sidecar = ctx.act('write metadata', meta.write_new_sidecar, conn, pool, name, doc)
    except BaseException:
        if image is not None:
            transfer.delete_quietly(image)
        raise
    if sidecar is None:  # check mode
        return Outcome(True, None, view(name, pool.name(), doc, info), actions=ctx.actions)
    record = meta.require_template(conn, name)
    return Outcome(True, None, record_view(conn, record, meta.UsageIndex(conn)), actions=ctx.actions)


def _same_format(have, want):
    return have == want or (want == 'raw' and have in ('iso', 'none', None))


def _predicted_path(pool, vol_name):
    root = _xml.parse(pool.XMLDesc(0))
    target = _xml.text_of(root, 'target/path')
    if root.get('type') in meta.FILE_POOLS and target:
        return os.path.join(target, vol_name)
    return None


# -- deleting ----------------------------------------------------------------------------------------
def _ensure_absent(ctx, record):
    if record is None:
        return Outcome(False, None, None, actions=[])
    conn = ctx.conn
    index = meta.UsageIndex(conn)
    before = record_view(conn, record, index)
    users = index.users(before['path']) if before['path'] else NO_USERS
    where = "%s in pool '%s'" % (_where(ctx), record.pool.name())
    if users['running_vms']:
        raise Refused('%s: removal refused, also with force: true, because running VMs use its image through their '
                      'disks: %s; shut them down (and remove or flatten their disks) first'
                      % (where, ', '.join(users['running_vms'])))
    if users['images'] and not ctx.params.get('force'):
        raise Refused('%s: removal refused because %s; those disks are overlays on the template image and become '
                      'unusable without it. Remove them first (or make full copies), or set force: true to delete it '
                      'anyway' % (where, _users_text(users)))
    if record.image is not None:
        with conn.translated('delete', "volume '%s' in pool '%s'" % (record.image.name(), record.pool.name())):
            ctx.act('delete image', record.image.delete, 0)
    with conn.translated('delete', "volume '%s' in pool '%s'" % (record.sidecar.name(), record.pool.name())):
        ctx.act('delete metadata', record.sidecar.delete, 0)
    extra = {}
    if users['images']:
        extra['orphaned'] = {'volumes': users['volumes'], 'vms': users['vms']}
        ctx.warn('%s was deleted with force: true; these disks lost their backing file and no longer work: %s'
                 % (where, _users_text(users)))
    return Outcome(True, before, None, actions=ctx.actions, **extra)


def _users_text(users):
    parts = []
    if users['volumes']:
        parts.append('volumes %s use it as backing file' % ', '.join(users['volumes']))
    if users['vms']:
        parts.append('VMs %s have disks on it' % ', '.join(users['vms']))
    return ' and '.join(parts) or 'disks use it'
