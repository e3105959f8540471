# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the image of a new template comes from: URL, node file, volume or a shut-off VM's disk.

``plan(ctx, pool)`` checks the task's source with read-only lookups (before
anything changes) and returns a ``Plan``: the action name, a function that
makes the image volume (called through ``ctx.act``, so not in check mode),
what the source was (for the metadata) and the predicted format and size.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _template_store as meta
from ansible_collections.vmcat.libvirt.plugins.module_utils._template import _sysprep as sysprep
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _volume_sources
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _transfer as transfer
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput, LibvirtError, Refused, VmcatError


class Plan:
    """How the image of a new template is made: action name, a function making it, and what it will be."""

    def __init__(self, action, make, origin, fmt=None, size=None):
        self.action = action
        self.make = make
        self.origin = origin
        self.fmt = fmt
        self.size = size


def _volume_facts(conn, vol):
    with conn.translated('read', "volume '%s'" % vol.name()):
        root = _xml.parse(vol.XMLDesc(0))
    return _xml.text_of(root, 'target/path'), _xml.attr_of(root, 'target/format', 'type'), _xml.int_of(root, 'capacity')


def plan(ctx, pool, download=None):
    """Check the source (read-only lookups) and say how the image will be made.

    ``download`` makes a volume from a URL (``_download.create_from_url``): only the template module passes it.
    """
    conn, params = ctx.conn, ctx.params
    source = params['source']
    mode = meta.IMAGE_MODE if meta.is_file_pool(pool) else None
    image = meta.image_name(params['name'])
    fmt = params.get('format')
    checksum = source.get('checksum')
    if checksum:
        algorithm, digest = transfer.parse_checksum(checksum)
        checksum = '%s:%s' % (algorithm, digest)
    if source.get('url'):
        url_params = dict(source, name=image)
        origin = {'type': 'url', 'url': transfer.safe_url(source['url']), 'checksum': checksum}
        if download is None:
            raise InvalidInput('source.url is a source of the vmcat.libvirt.template module only')
        return Plan('download', lambda: download(conn, pool, url_params, mode), origin, fmt)
    if source.get('volume'):
        src_pool = source.get('pool') or pool.name()
        src = conn.require_volume(src_pool, source['volume'])
        path, src_fmt, size = _volume_facts(conn, src)
        origin = {'type': 'volume', 'pool': src_pool, 'volume': source['volume'], 'path': path, 'checksum': checksum}
        return _copy_plan(ctx, pool, image, origin, src, path, src_fmt, size, mode)
    if source.get('path'):
        known = conn.volume_by_path(source['path'])
        src_fmt, size = _volume_facts(conn, known)[1:] if known is not None else (None, None)
        origin = {'type': 'file', 'path': source['path'], 'checksum': checksum}
        return _copy_plan(ctx, pool, image, origin, None, source['path'], src_fmt, size, mode)
    return _vm_plan(ctx, pool, image, checksum, mode)


def _vm_plan(ctx, pool, image, checksum, mode):
    conn, source = ctx.conn, ctx.params['source']
    dom = conn.require_domain(source['vm'])
    with conn.translated('read', "VM '%s'" % source['vm']):
        active = dom.isActive()
        root = _xml.parse(dom.XMLDesc(2 if dom.isPersistent() else 0))  # VIR_DOMAIN_XML_INACTIVE
    if active:
        raise Refused("VM '%s' on %s is running (or paused); a template is copied only from a shut-off VM, so that its "
                      "disk is consistent: shut it down first" % (source['vm'], conn.uri))
    disks = [d for d in root.findall('./devices/disk') if d.get('device', 'disk') == 'disk']
    targets = [_xml.attr_of(d, 'target', 'dev') for d in disks]
    wanted = source.get('disk') or (targets[0] if targets else None)
    if wanted not in targets:
        raise InvalidInput("VM '%s' on %s has no disk %s; its disks: %s"
                           % (source['vm'], conn.uri, wanted or '(any)', ', '.join(t for t in targets if t) or '(none)'))
    disk = disks[targets.index(wanted)]
    src_el = disk.find('source')
    src_fmt = _xml.attr_of(disk, 'driver', 'type')
    origin = {'type': 'vm', 'vm': source['vm'], 'disk': wanted, 'checksum': checksum}
    if src_el is not None and src_el.get('pool') and src_el.get('volume'):
        src = conn.require_volume(src_el.get('pool'), src_el.get('volume'))
        path, vol_fmt, size = _volume_facts(conn, src)
        origin.update(pool=src_el.get('pool'), volume=src_el.get('volume'), path=path)
        return _copy_plan(ctx, pool, image, origin, src, path, src_fmt or vol_fmt, size, mode)
    path = src_el.get('file') or src_el.get('dev') if src_el is not None else None
    if not path:
        raise InvalidInput("disk %s of VM '%s' has no file, block device or volume source (network disks and empty "
                           "drives cannot become templates)" % (wanted, source['vm']))
    origin['path'] = path
    known = conn.volume_by_path(path)  # a disk file in a pool is copied as that volume
    size = _volume_facts(conn, known)[2] if known is not None else None
    return _copy_plan(ctx, pool, image, origin, known, path, src_fmt, size, mode)


def _refuse_running_writers(conn, path, volume_ref=None):
    """A disk image that a running VM has open for writing would be copied half-written.

    ``volume_ref`` is (pool, volume) for disks that name the volume instead of its path.
    """
    running = []
    for dom in conn.all_domains():
        try:
            if not dom.isActive():
                continue
            root = _xml.parse(dom.XMLDesc(0))
        except (LibvirtError, VmcatError):  # gone meanwhile (or its XML unreadable)
            continue
        for disk in root.findall('./devices/disk'):
            source = disk.find('source')
            if source is None or disk.find('readonly') is not None:
                continue
            if path in (source.get('file'), source.get('dev')) or \
                    (volume_ref and (source.get('pool'), source.get('volume')) == volume_ref):
                running.append(dom.name())
    if running:
        raise Refused("%s is a disk of the running VM %s on %s; a copy made now would not be consistent: shut the VM "
                      "down first" % (path, ', '.join(sorted(set(running))), conn.uri))


def _copy_plan(ctx, pool, image, origin, src, path, src_fmt, size, mode):
    """A full copy of a volume (``src``) or node file (``path``), optionally cleaned by sysprep."""
    conn = ctx.conn
    if path:
        ref = None
        known = src or conn.volume_by_path(path)
        if known is not None:
            with conn.translated('read', "volume '%s'" % known.name()):
                ref = (known.storagePoolLookupByVolume().name(), known.name())
        _refuse_running_writers(conn, path, ref)
    out_fmt = ctx.params.get('format') or src_fmt
    checksum = origin.get('checksum')
    if ctx.params.get('sysprep'):
        def make():
            if checksum:
                _verify_local(path, checksum)
            return sysprep.cleaned_copy(path, src_fmt, lambda raw: _copy_file(
                conn, pool, image, raw, out_fmt or 'qcow2', mode, None))
        return Plan('sysprep copy', make, origin, out_fmt or 'qcow2', size)
    if src is not None:
        return Plan('copy', lambda: _copy_volume(conn, pool, image, src, out_fmt, mode, checksum), origin, out_fmt, size)
    return Plan('import', lambda: _copy_file(conn, pool, image, path, out_fmt, mode, checksum), origin, out_fmt, size)


def _verify(conn, vol, checksum, what):
    algorithm, expected = transfer.parse_checksum(checksum)
    got = transfer.volume_checksum(conn, vol, algorithm)
    if got != '%s:%s' % (algorithm, expected):
        raise transfer.ChecksumMismatch('checksum mismatch for %s: expected %s:%s, got %s; nothing was created'
                                        % (what, algorithm, expected, got))


def _verify_local(path, checksum):
    algorithm, expected = transfer.parse_checksum(checksum)
    got = transfer.file_checksum(path, algorithm)
    if got != '%s:%s' % (algorithm, expected):
        raise transfer.ChecksumMismatch('checksum mismatch for %s: expected %s:%s, got %s; nothing was created'
                                        % (path, algorithm, expected, got))


def _copy_volume(conn, pool, image, src, fmt, mode, checksum):
    if checksum:
        _verify(conn, src, checksum, "volume '%s'" % src.name())
    return _volume_sources.copy_volume(conn, pool, image, src, fmt, mode)


def _copy_file(conn, pool, image, path, fmt, mode, checksum):
    src, cleanup = _volume_sources.node_file_volume(conn, path)
    try:
        if checksum:
            _verify(conn, src, checksum, "node file '%s'" % path)
        return _volume_sources.copy_volume(conn, pool, image, src, fmt, mode)
    finally:
        if cleanup is not None:
            cleanup()
