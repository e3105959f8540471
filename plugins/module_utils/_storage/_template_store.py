# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where templates live and how they are found: image volume, metadata volume, users.

A template ``NAME`` is two volumes side by side in one pool:

- ``NAME.vmcat-template.img``: the golden image (raw or qcow2, mode 0444 in
  file-based pools), never written after registration;
- ``NAME.vmcat-template.json``: a raw volume holding the metadata as UTF-8
  JSON, padded with spaces to the volume's size.  It is written with a
  libvirt upload stream and read with a download stream, so templates are
  found on any node, over any URI, with nothing but libvirt: no database, no
  file access on the node.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _transfer as transfer
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import (
    InvalidInput, LibvirtError, NotFound, Refused, VmcatError)

SIDECAR_SUFFIX = '.vmcat-template.json'
IMAGE_SUFFIX = '.vmcat-template.img'
SCHEMA = 1
FEATURES = ('cloud_init', 'guest_agent', 'virtio', 'uefi')
OS_KEYS = ('name', 'version', 'arch')
SOURCE_KEYS = ('type', 'url', 'path', 'pool', 'volume', 'vm', 'disk', 'checksum')
FILE_POOLS = ('dir', 'fs', 'netfs')
IMAGE_MODE = 0o444
SIDECAR_MODE = 0o644

_NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._+-]*$')
_MAX_NAME = 100
_BLOCK = 4096
_MAX_SIDECAR = 16 * 1024 * 1024
_XML_INACTIVE = 2  # VIR_DOMAIN_XML_INACTIVE
_MAX_CHAIN = 64


# -- names ------------------------------------------------------------------------
def check_template_name(name, what='name'):
    """Template names: letters, digits, '.', '_', '+', '-', starting with a letter or digit (LVM-safe too)."""
    if not name or len(name) > _MAX_NAME or not _NAME_RE.match(name) or '..' in name \
            or name.endswith(('.vmcat-template', IMAGE_SUFFIX, SIDECAR_SUFFIX)):
        raise InvalidInput("%s '%s' is not a valid template name: use up to %d letters, digits, '.', '_', '+' and '-', "
                           "starting with a letter or digit" % (what, name, _MAX_NAME))
    return name


def image_name(name):
    return name + IMAGE_SUFFIX


def sidecar_name(name):
    return name + SIDECAR_SUFFIX


def _name_of_sidecar(volume_name):
    if volume_name.endswith(SIDECAR_SUFFIX) and len(volume_name) > len(SIDECAR_SUFFIX):
        return volume_name[:-len(SIDECAR_SUFFIX)]
    return None


# -- the metadata document ------------------------------------------------------------
def new_metadata(name, created):
    """An empty metadata document for template ``name``."""
    return normalise({'schema': SCHEMA, 'name': name, 'image': image_name(name), 'created': created,
                      'updated': created})


def _dict_of(value, keys, default=None):
    value = value if isinstance(value, dict) else {}
    return dict((k, value.get(k, default)) for k in keys)


def normalise(meta):
    """Every key present, with the right type (a document from an older writer is filled up)."""
    tags = meta.get('tags') or []
    features = _dict_of(meta.get('features'), FEATURES, False)
    return {
        'schema': meta.get('schema', SCHEMA),
        'name': meta.get('name'),
        'image': meta.get('image') or (image_name(meta['name']) if meta.get('name') else None),
        'format': meta.get('format'),
        'virtual_size': meta.get('virtual_size'),
        'os': _dict_of(meta.get('os'), OS_KEYS),
        'source': _dict_of(meta.get('source'), SOURCE_KEYS),
        'features': dict((k, bool(v)) for k, v in features.items()),
        'tags': sorted(set(str(t) for t in tags)) if isinstance(tags, list) else [],
        'description': meta.get('description'),
        'created': meta.get('created'),
        'updated': meta.get('updated'),
        'sysprep': meta.get('sysprep') if isinstance(meta.get('sysprep'), dict) else None,
    }


def encode(meta):
    """The bytes stored in the metadata volume."""
    return (json.dumps(normalise(meta), indent=2, sort_keys=True, ensure_ascii=False) + '\n').encode('utf-8')


def decode(data, what):
    """The metadata document in ``data`` (trailing padding ignored); VmcatError when it is not one."""
    try:
        text = data.split(b'\0', 1)[0].decode('utf-8').strip()
        meta, dummy = json.JSONDecoder().raw_decode(text)
    except ValueError as exc:
        raise VmcatError('%s does not hold template metadata (JSON): %s' % (what, exc))
    if not isinstance(meta, dict) or not meta.get('name'):
        raise VmcatError('%s does not hold template metadata: no template name in it' % what)
    if not isinstance(meta.get('schema'), int) or meta['schema'] > SCHEMA:
        raise VmcatError('%s holds template metadata of schema %r, which this version of vmcat.libvirt does not '
                         'know (it knows %d); use a newer vmcat.libvirt' % (what, meta.get('schema'), SCHEMA))
    return normalise(meta)


def padded(payload, capacity):
    """``payload`` followed by spaces up to ``capacity`` bytes, so an in-place rewrite leaves no old bytes."""
    return payload + b' ' * max(0, (capacity or 0) - len(payload))


def _round_up(n):
    return max(_BLOCK, (n + _BLOCK - 1) // _BLOCK * _BLOCK)


class _Collect:
    """A download sink that keeps the bytes and stops at the padding (or at a size limit)."""

    def __init__(self, what):
        self.what = what
        self.chunks = []
        self.size = 0

    def data(self, chunk):
        if self.size and not chunk.strip(b' \n\0'):
            return False  # only padding is left
        self.size += len(chunk)
        if self.size > _MAX_SIDECAR:
            raise VmcatError('%s is larger than %d bytes; it is not template metadata' % (self.what, _MAX_SIDECAR))
        self.chunks.append(chunk)
        return True

    def hole(self, length):
        return not self.size  # a hole after the document is padding too

    def bytes(self):
        return b''.join(self.chunks)


def _where(pool, name):
    return "volume '%s' in pool '%s'" % (name, pool.name())


def read_sidecar(conn, vol, pool):
    """The metadata document stored in a metadata volume."""
    what = _where(pool, vol.name())
    sink = _Collect(what)
    with conn.translated('read', what):
        transfer.receive(conn.virt, vol, sink, sparse=False)
    return decode(sink.bytes(), what)


def write_new_sidecar(conn, pool, name, meta):
    """Create the metadata volume of template ``name`` holding ``meta``; returns it.

    Removed again when the upload fails, so nothing half-written is left.
    """
    payload = encode(meta)
    root = _xml.element('volume')
    _xml.sub(root, 'name', sidecar_name(name))
    _xml.sub(root, 'capacity', _round_up(len(payload)), unit='bytes')
    _xml.sub(root, 'allocation', 0, unit='bytes')
    target = _xml.sub(root, 'target')
    _xml.sub(target, 'format', type_='raw')
    if is_file_pool(pool):
        _xml.sub(_xml.sub(target, 'permissions'), 'mode', '%04o' % SIDECAR_MODE)
    what = _where(pool, sidecar_name(name))
    with conn.translated('create', what, 'check that the pool has room for it'):
        vol = pool.createXML(_xml.to_string(root), 0)
    try:
        with conn.translated('write template metadata into', what):
            transfer.send(conn.virt, vol, [('data', padded(payload, vol.info()[1]))], False)
    except BaseException:
        transfer.delete_quietly(vol)
        raise
    return vol


def rewrite_sidecar(conn, vol, pool, meta):
    """Write ``meta`` over the metadata volume (grown first when the document got bigger)."""
    payload = encode(meta)
    what = _where(pool, vol.name())
    with conn.translated('write template metadata into', what):
        capacity = vol.info()[1]
        if len(payload) > capacity:
            vol.resize(_round_up(len(payload)), 0)
            capacity = max(vol.info()[1], len(payload))
        transfer.send(conn.virt, vol, [('data', padded(payload, capacity))], False)


def is_file_pool(pool):
    return _xml.parse(pool.XMLDesc(0)).get('type') in FILE_POOLS


# -- finding templates -------------------------------------------------------------------
class Found:
    """One registered template: its pool, metadata volume, image volume (None when missing) and metadata."""

    def __init__(self, name, pool, sidecar, image, meta, problems):
        self.name = name
        self.pool = pool
        self.sidecar = sidecar
        self.image = image
        self.meta = meta
        self.problems = problems


def _pools(conn, pool_name=None):
    if pool_name:
        pool = conn.require_pool(pool_name)
        if not pool.isActive():
            raise VmcatError("pool '%s' on %s is not running, so its templates are unknown; start it first"
                             % (pool_name, conn.uri))
        return [pool]
    return [p for p in conn.all_pools() if _active(p)]


def _active(pool):
    try:
        return bool(pool.isActive())
    except LibvirtError:  # removed while we looked
        return False


def _volume_names(conn, pool, strict):
    try:
        with conn.translated('list volumes of', "pool '%s'" % pool.name()):
            return pool.listVolumes()
    except VmcatError:
        if strict or _active(pool):
            raise
        return []  # stopped or removed while we listed


def template_names(conn, pool_name=None):
    """Names of the templates registered in the running pools (from the metadata volume names alone)."""
    names = set()
    for pool in _pools(conn, pool_name):
        names.update(n for n in map(_name_of_sidecar, _volume_names(conn, pool, bool(pool_name))) if n)
    return sorted(names)


def scan(conn, name=None, pool_name=None):
    """Found records for the templates in the running pools (only ``name`` when given), sorted by name and pool."""
    found = []
    for pool in _pools(conn, pool_name):
        for vol_name in _volume_names(conn, pool, bool(pool_name)):
            tname = _name_of_sidecar(vol_name)
            if tname is None or (name is not None and tname != name):
                continue
            record = _load(conn, pool, tname, vol_name)
            if record is not None:
                found.append(record)
    by_name = {}
    for record in found:
        by_name.setdefault(record.name, []).append(record.pool.name())
    for record in found:
        others = [p for p in by_name[record.name] if p != record.pool.name()]
        if others:
            record.problems.append('template %s is registered in more than one pool (also in %s); template names '
                                   'must be unique on a node, remove the extra ones' % (record.name, ', '.join(others)))
    return sorted(found, key=lambda r: (r.name, r.pool.name()))


def _load(conn, pool, tname, vol_name):
    sidecar = conn.volume(pool, vol_name)
    if sidecar is None:  # deleted while we listed
        return None
    problems = []
    meta = None
    try:
        meta = read_sidecar(conn, sidecar, pool)
    except VmcatError as exc:
        problems.append(exc.msg)
    if meta is not None and meta['name'] != tname:
        problems.append("the metadata in %s names template '%s'" % (_where(pool, vol_name), meta['name']))
    image = conn.volume(pool, image_name(tname))
    if image is None:
        problems.append('its image volume %s is missing' % _where(pool, image_name(tname)))
    return Found(tname, pool, sidecar, image, meta, problems)


def find_template(conn, name):
    """(pool, image volume, metadata) of template ``name`` in any running pool, or None.

    The image volume is None and the metadata may be None when the template
    is broken; a name registered in two pools is an error.
    """
    check_template_name(name)
    found = scan(conn, name)
    if not found:
        return None
    if len(found) > 1:
        raise VmcatError("template '%s' is registered in several pools on %s (%s); template names must be unique on "
                         "a node, remove the extra ones" % (name, conn.uri, ', '.join(r.pool.name() for r in found)))
    return found[0].pool, found[0].image, found[0].meta


def require_template(conn, name):
    """The Found record of a usable template ``name``: NotFound (listing the templates) or Refused when broken."""
    check_template_name(name)
    found = scan(conn, name)
    if not found:
        raise NotFound("template '%s' not found on %s; templates: %s"
                       % (name, conn.uri, ', '.join(template_names(conn)) or '(none)'))
    record = found[0]
    if len(found) > 1 or record.problems:
        raise Refused("template '%s' in pool '%s' on %s cannot be used: %s"
                      % (name, record.pool.name(), conn.uri, '; '.join(record.problems)))
    return record


def template_backing(conn, name):
    """Template ``name``'s image as a backing volume: {path, format, pool, name, capacity, volume}."""
    record = require_template(conn, name)
    with conn.translated('read', _where(record.pool, record.image.name())):
        root = _xml.parse(record.image.XMLDesc(0))
    return {
        'path': _xml.text_of(root, 'target/path'),
        'format': _xml.attr_of(root, 'target/format', 'type') or 'raw',
        'pool': record.pool.name(),
        'name': record.image.name(),
        'capacity': _xml.int_of(root, 'capacity'),
        'volume': record.image,
    }


def template_volume_paths(conn):
    """Paths of every template image (and metadata) volume in the running pools.

    Found by volume name alone (no metadata is read), so images whose
    metadata volume is missing count too.  VM removal uses this to never
    delete a template.
    """
    paths = set()
    for pool in _pools(conn):
        for vol_name in _volume_names(conn, pool, False):
            if vol_name.endswith((IMAGE_SUFFIX, SIDECAR_SUFFIX)):
                vol = conn.volume(pool, vol_name)
                if vol is not None:
                    with conn.translated('read', _where(pool, vol_name)):
                        paths.add(vol.path())
    return paths


# -- who uses a template ------------------------------------------------------------------
def _definitions(dom):
    try:
        xmls = [dom.XMLDesc(0)]
        if dom.isActive() and dom.isPersistent():
            xmls.append(dom.XMLDesc(_XML_INACTIVE))
        return [_xml.parse(x) for x in xmls]
    except (LibvirtError, VmcatError):  # a VM undefined while we look (or its XML unreadable) uses nothing
        return []


def _disk_links(disk, path_of_volume):
    """(image path, [backing paths named in the XML]) of one domain disk."""
    source = disk.find('source')
    path = None
    if source is not None:
        path = source.get('file') or source.get('dev')
        if not path and source.get('pool') and source.get('volume'):
            path = path_of_volume.get((source.get('pool'), source.get('volume')))
    backing = [b.get('file') or b.get('dev') for b in disk.findall('.//backingStore/source')]
    return path, [b for b in backing if b]


class UsageIndex:
    """One pass over every volume and VM: who uses an image, directly or through a backing chain."""

    def __init__(self, conn):
        self.label = {}  # volume path -> 'pool/name'
        self.backing_of = {}  # volume path -> its backing file
        path_of_volume = {}
        for pool in _pools(conn):
            for vol in self._volumes(conn, pool):
                try:
                    root = _xml.parse(vol.XMLDesc(0))
                except (LibvirtError, VmcatError):  # deleted meanwhile (or its XML unreadable)
                    continue
                path = _xml.text_of(root, 'target/path')
                self.label[path] = '%s/%s' % (pool.name(), _xml.text_of(root, 'name'))
                path_of_volume[(pool.name(), _xml.text_of(root, 'name'))] = path
                if _xml.text_of(root, 'backingStore/path'):
                    self.backing_of[path] = _xml.text_of(root, 'backingStore/path')
        self.disks = []  # (vm name, running, image path, backing paths from the XML)
        for dom in conn.all_domains():
            try:
                running = bool(dom.isActive())
            except LibvirtError:  # best-effort read: a VM undefined while we look uses nothing
                continue
            for root in _definitions(dom):
                for disk in root.findall('./devices/disk'):
                    path, backing = _disk_links(disk, path_of_volume)
                    self.disks.append((dom.name(), running, path, backing))

    @staticmethod
    def _volumes(conn, pool):
        try:
            with conn.translated('list volumes of', "pool '%s'" % pool.name()):
                return pool.listAllVolumes(0)
        except VmcatError:
            return []

    def chain(self, path):
        """``path`` and every backing file below it."""
        seen = []
        while path and path not in seen and len(seen) < _MAX_CHAIN:
            seen.append(path)
            path = self.backing_of.get(path)
        return seen

    def users(self, image_path):
        """{volumes, vms, running_vms, images} using ``image_path``.

        ``volumes``: 'pool/name' of overlays whose backing chain reaches it;
        ``vms``: VMs with a disk on it, on such an overlay, or on an overlay
        outside the pools whose backing chain (as libvirt shows it for a
        running VM) names it; ``images``: the distinct disk images among
        these (the overlays, and the image itself when a VM uses it directly).
        """
        images = set(p for p in self.backing_of if image_path in self.chain(p)[1:])
        volumes = sorted(self.label[p] for p in images if p in self.label)
        vms, running = set(), set()
        for vm, active, path, backing in self.disks:
            links = set(backing)
            if path:
                links.update(self.chain(path))
            for link in list(links):
                links.update(self.chain(link))
            if image_path in links:
                vms.add(vm)
                images.add(path or 'disk of VM %s' % vm)
                if active:
                    running.add(vm)
        return {'volumes': volumes, 'vms': sorted(vms), 'running_vms': sorted(running), 'images': images}
