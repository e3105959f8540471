# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How a missing volume is made: blank, on a backing volume, a full clone, a node file, a template, a URL or an upload.

``make`` picks the task's one source and returns the new volume (None in
check mode) with its predicted view; the volume cycle (``_volume``) then
checks and grows it, and removes it again when that fails.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import uuid

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _rehearsal_node
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import (
    InvalidInput, NotFound, Refused, VmcatError, is_libvirt_error, is_not_found)
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._sizes import format_size
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _template_store
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _transfer as transfer
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage._volume_plan import (
    FILE_POOLS, GONE_HINT, allocation_plan, check_room, predicted, target_capacity, volume_xml, what)


def make(ctx, pool, capacity, download=None):
    """Create the missing volume from its one source.

    Returns (vol or None in check mode, predicted view, settled): a blank
    volume is settled (made with exactly the format and capacity asked for);
    any other source's volume still has its format checked and its capacity
    converged by the caller.  ``download`` makes a volume from a URL
    (``_download.create_from_url``): only the volume module passes it.
    """
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
        vol, view = _create_upload(ctx, pool, download)
    elif capacity is not None:
        fmt = params.get('format') or 'qcow2'
        check_room(ctx, pool, name, target_capacity(capacity, fmt))
        allocation, flags = allocation_plan(fmt, capacity, params.get('preallocation'))
        xml = _xml.to_string(volume_xml(name, capacity, fmt, allocation))
        with ctx.conn.translated('create', what(pool, name), 'check that the pool has room for it'):
            vol = ctx.act('create', pool.createXML, xml, flags)
        return vol, predicted(ctx, pool, fmt, capacity, allocation), True
    else:
        raise InvalidInput("volume '%s' does not exist in pool '%s' on %s; to create it give capacity (a blank "
                           "volume), backing, clone_from, import_path, url or src"
                           % (name, pool.name(), ctx.conn.uri))
    return vol, view, False


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
    with conn.translated('read', "backing volume '%s'" % source.name(), GONE_HINT):
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
    with ctx.conn.translated('create', what(pool, params['name']), 'check that the backing volume is readable'):
        vol = ctx.act('create', pool.createXML, xml, flags)
    return vol, predicted(ctx, pool, 'qcow2', size, allocation, store)


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
    with conn.translated('read', "volume '%s'" % source.name(), GONE_HINT):
        source_pool = source.storagePoolLookupByVolume().name()
    if source_pool != pool.name():
        raise VmcatError("%s on %s: libvirt's test driver cannot copy volume '%s' of pool '%s' into another pool (it "
                         "looks the source up by name in the target pool); on a rehearsal node copy within pool '%s', "
                         "or rehearse this copy on a real node" % (what(pool, name), conn.uri, source.name(),
                                                                   source_pool, source_pool))


def _clone(conn, pool, name, xml, source, flags):
    _refuse_test_driver_cross_pool(conn, pool, name, source)
    with conn.translated('read', "volume '%s'" % source.name(), GONE_HINT):
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
        with conn.translated('copy %s into' % source_path, what(pool, name), hint):
            raise


def _create_clone(ctx, pool, source, capacity=None):
    """A full copy of ``source`` (converted when format asks for it) through createXMLFrom.

    ``capacity``, when larger than the source, is what the copy grows to right after.
    """
    name = ctx.params['name']
    with ctx.conn.translated('read', "volume '%s'" % source.name(), GONE_HINT):
        xml, flags, fmt, size, allocation = _clone_plan(ctx.params, source)
    check_room(ctx, pool, name, target_capacity(max(size or 0, capacity or 0), fmt) or None)
    _refuse_test_driver_cross_pool(ctx.conn, pool, name, source)
    vol = ctx.act('clone', _clone, ctx.conn, pool, name, xml, source, flags)
    return vol, predicted(ctx, pool, fmt, size, allocation)


def copy_volume(conn, pool, name, source, fmt=None, mode=None):
    """A new volume ``name`` in ``pool``: a full copy of the volume ``source`` (converted to ``fmt``)."""
    with conn.translated('read', "volume '%s'" % source.name(), GONE_HINT):
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
    return vol, predicted(ctx, pool, ctx.params.get('format'), None)


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
        if root.get('type') not in FILE_POOLS or not target or os.path.normpath(target) != directory:
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


def _create_upload(ctx, pool, download):
    """A new volume filled with the bytes of a URL or of a file on the module host."""
    params = ctx.params
    if params.get('url'):
        if download is None:
            raise InvalidInput('url is a source of the vmcat.libvirt.volume module only')
        vol = ctx.act('download', download, ctx.conn, pool, params)
        fmt, size = params.get('format'), None
    else:
        fmt, size = _src_format_and_size(ctx)
        vol = ctx.act('upload', transfer.create_from_file, ctx.conn, pool, params['name'], params['src'])
    return vol, predicted(ctx, pool, fmt, size)


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
