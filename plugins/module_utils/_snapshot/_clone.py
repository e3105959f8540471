# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What is made from a snapshot's saved disk state, and who depends on its image files.

- ``ensure_clone``: a new VM whose disks are qcow2 overlays (linked clones) on
  the images an external snapshot froze, defined from the snapshot's saved
  domain definition with a new name, UUID and MAC addresses.
- ``ensure_template``: a template (full copy) of one disk's frozen image,
  through the template logic.
- ``refuse_shared_images``: deleting an external snapshot merges its overlay
  into the image below and removes the overlay; refuse when another VM or
  volume (such as such a clone) uses either file.

Internal snapshots live inside a qcow2 image; libvirt has no call that
reads them out (that is ``qemu-img convert -l``, on the node only), so
they cannot be cloned through libvirt: both clone and template refuse them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.vmcat.libvirt.plugins.module_utils._snapshot import _definition as sx
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput, LibvirtError, Refused, is_not_found
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._object_names import check_object_name
from ansible_collections.vmcat.libvirt.plugins.module_utils._snapshot._tree import volume_path
from ansible_collections.vmcat.libvirt.plugins.module_utils._template import _template

CLONE_NS = 'https://vmcat.example/libvirt/snapshot-clone/1'
_FILE_POOLS = ('dir', 'fs', 'netfs')
_INTERNAL_WHY = ('internal snapshots live inside the qcow2 image and libvirt has no call that reads one out '
                 '(qemu-img convert -l does, on the node only); revert to it and copy the disk with the volume module, '
                 'or use external snapshots for this')


def _external_disks(tree, info, what):
    where = "snapshot '%s' of %s" % (info['name'], tree.where)
    if info['kind'] != 'external':
        raise Refused('%s is internal and cannot become %s: %s' % (where, what, _INTERNAL_WHY))
    disks = [d for d in info['disks'] if d['snapshot'] == 'external']
    missing = [d['target'] for d in disks if not d['base']]
    if missing:
        raise Refused('%s: the image holding the saved state of disk %s is not known (the saved definition has no file '
                      'for it), so it cannot become %s' % (where, ', '.join(missing), what))
    return disks


def _saved_domain(tree, info):
    """The snapshot's saved <domain> (the VM's current one when the snapshot is only predicted, in check mode)."""
    snap = tree.objects.get(info['name'])
    with tree.conn.translated('read', "snapshot '%s' of VM '%s'" % (info['name'], tree.vm)):
        if snap is not None:
            domain = _xml.parse(snap.getXMLDesc(sx.XML_SECURE)).find('domain')
        else:
            domain = _xml.parse(tree.dom.XMLDesc(sx.DOMAIN_XML_SECURE))
    if domain is None:
        raise Refused("snapshot '%s' of %s has no saved VM definition to clone" % (info['name'], tree.where))
    return domain


# -- clone_to_vm ----------------------------------------------------------------------------------------------
def _clone_mark(dom):
    root = _xml.parse(dom.XMLDesc(0))
    mark = root.find('metadata/{%s}clone' % CLONE_NS)
    return None if mark is None else (mark.get('vm'), mark.get('snapshot'))


def _strip_live(devices):
    """Remove what belongs to the running original: aliases, pty paths, channel sockets, ports, NIC identities."""
    for alias in devices.iter('alias'):
        if not (alias.get('name') or '').startswith('ua-'):
            alias.getparent().remove(alias)
    for iface in devices.findall('interface'):
        _xml.remove_all(iface, 'mac')
        _xml.remove_all(iface, 'target')
        source = iface.find('source')
        if source is not None and iface.get('type') == 'network':
            for attr in ('portid', 'bridge'):
                source.attrib.pop(attr, None)
    for char in devices.findall('serial') + devices.findall('console') + devices.findall('channel'):
        char.attrib.pop('tty', None)
        source = char.find('source')
        if source is not None and char.get('type') in ('pty', 'unix') and \
                (char.get('type') == 'pty' or source.get('mode') == 'bind'):
            source.attrib.pop('path', None)
    for graphics in devices.findall('graphics'):
        if graphics.get('autoport', 'yes') == 'yes':
            for attr in ('port', 'tlsPort', 'websocket'):
                graphics.attrib.pop(attr, None)


def _clone_path(path, vm, name):
    """Where the clone writes a file the original writes (serial log, ...): its own name in place of the VM's."""
    directory, filename = os.path.split(path)
    if vm and vm in filename:
        return os.path.join(directory, filename.replace(vm, name, 1))
    return os.path.join(directory, '%s-%s' % (name, filename))


def _own_char_files(devices, vm, name):
    """File-backed serial ports, consoles, channels and their logs get files of their own (virtlogd refuses to
    write one file for two VMs)."""
    for char in devices.findall('serial') + devices.findall('console') + devices.findall('channel') + \
            devices.findall('parallel'):
        source = char.find('source')
        if char.get('type') == 'file' and source is not None and source.get('path'):
            source.set('path', _clone_path(source.get('path'), vm, name))
        log = char.find('log')
        if log is not None and log.get('file'):
            log.set('file', _clone_path(log.get('file'), vm, name))


def clone_definition(domain, name, overlays, vm, snapshot):
    """The new VM's definition from a snapshot's saved <domain>.

    ``overlays``: {target: overlay path} for disks to clone; other writable
    disks are left out (returned), read-only disks and CD-ROMs are kept.
    """
    root = _xml.parse(_xml.to_string(domain))
    root.attrib.pop('id', None)
    _xml.ensure(root, 'name').text = name
    _xml.remove_all(root, 'uuid')
    _xml.remove_all(root, 'os/nvram')  # libvirt makes a fresh NVRAM for the new VM
    for seclabel in root.findall('seclabel'):
        if seclabel.get('type') == 'dynamic':
            _xml.remove_all(seclabel, 'label')
            _xml.remove_all(seclabel, 'imagelabel')
    devices = _xml.ensure(root, 'devices')
    skipped = []
    for disk in devices.findall('disk'):
        target = _xml.attr_of(disk, 'target', 'dev')
        _xml.remove_all(disk, 'backingStore')
        if target in overlays:
            disk.set('type', 'file')
            _xml.remove_all(disk, 'source')
            source = _xml.element('source', file=overlays[target])
            driver = _xml.ensure(disk, 'driver')
            driver.set('name', driver.get('name') or 'qemu')
            driver.set('type', 'qcow2')
            driver.addnext(source)
        elif disk.find('readonly') is not None or disk.find('shareable') is not None or \
                disk.get('device', 'disk') in ('cdrom', 'floppy'):
            source = disk.find('source')
            if source is not None:
                source.attrib.pop('index', None)
        else:
            skipped.append(target)
            devices.remove(disk)
    _strip_live(devices)
    _own_char_files(devices, vm, name)
    metadata = _xml.ensure(root, 'metadata')
    for old in metadata.findall('{%s}clone' % CLONE_NS):
        metadata.remove(old)
    mark = _xml.etree.SubElement(metadata, '{%s}clone' % CLONE_NS, nsmap={'vmcatclone': CLONE_NS})
    mark.set('vm', vm)
    mark.set('snapshot', snapshot)
    return root, skipped


def _require_file_pool(conn, pool_name, what):
    pool = conn.require_pool(pool_name)
    with conn.translated('read', "pool '%s'" % pool_name):
        root = _xml.parse(pool.XMLDesc(0))
        active = pool.isActive()
    if root.get('type') not in _FILE_POOLS:
        raise InvalidInput("pool '%s' on %s is of type %s; %s needs a directory pool (dir, fs or netfs) for its qcow2 "
                           "overlays" % (pool_name, conn.uri, root.get('type'), what))
    if not active:
        raise Refused("pool '%s' on %s is not running; start it first (vmcat.libvirt.pool with active: true)"
                      % (pool_name, conn.uri))
    return pool, _xml.text_of(root, 'target/path')


def _overlay_xml(name, base, base_format, capacity):
    vol = _xml.element('volume')
    _xml.sub(vol, 'name', name)
    _xml.sub(vol, 'capacity', capacity or 0, unit='bytes')
    _xml.sub(_xml.sub(vol, 'target'), 'format', type_='qcow2')
    backing = _xml.sub(vol, 'backingStore')
    _xml.sub(backing, 'path', base)
    _xml.sub(backing, 'format', type_=base_format or 'qcow2')
    return _xml.to_string(vol)


def check_clone_name(conn, name):
    """The name of a clone this task is about to make follows the rules of VM names (``_object_names``).

    Called before the snapshot itself is taken; a VM that already has the name is left to ``ensure_clone``.
    """
    if conn.domain(name) is None:
        check_object_name('VM', name, conn.uri, 'clone1')
    return name


def ensure_clone(ctx, tree, info, spec):
    """Make sure VM ``spec['name']`` exists as a linked clone of this snapshot; returns (changed, clone view)."""
    conn = ctx.conn
    name = spec['name']
    existing = conn.domain(name)
    if existing is not None:
        with conn.translated('read', "VM '%s'" % name):
            mark = _clone_mark(existing)
        if mark != (tree.vm, info['name']):
            raise Refused("VM '%s' already exists on %s and is not a clone of snapshot '%s' of VM '%s'%s; choose another "
                          "clone_to_vm.name" % (name, conn.uri, info['name'], tree.vm,
                                                " (it was cloned from snapshot '%s' of VM '%s')" % (mark[1], mark[0])
                                                if mark else ''))
        return False, _existing_clone_view(conn, existing, tree.vm, info['name'])
    disks = _external_disks(tree, info, 'a VM')
    pool, pool_path = _require_file_pool(conn, spec['pool'], 'clone_to_vm')
    domain = _saved_domain(tree, info)
    formats = dict((d['target'], d['format']) for d in sx.domain_disks(domain))
    planned = []
    for disk in disks:
        vol_name = '%s-%s.qcow2' % (name, disk['target'])
        if conn.volume(pool, vol_name) is not None:
            raise Refused("volume '%s' already exists in pool '%s' on %s; remove it (a failed clone leaves none, so it "
                          "is someone else's) or choose another clone_to_vm.name" % (vol_name, spec['pool'], conn.uri))
        base_vol = conn.volume_by_path(disk['base'])
        capacity = base_vol.info()[1] if base_vol is not None else 0
        planned.append({'target': disk['target'], 'volume': vol_name, 'pool': spec['pool'], 'base': disk['base'],
                        'path': os.path.join(pool_path, vol_name) if pool_path else None,
                        'xml': _overlay_xml(vol_name, disk['base'], formats.get(disk['target']), capacity)})
    made = []
    try:
        for disk in planned:
            with conn.translated('create', "overlay '%s' in pool '%s'" % (disk['volume'], spec['pool']),
                                 'the base image %s must be readable on the node' % disk['base']):
                vol = ctx.act('create volume %s' % disk['volume'], pool.createXML, disk['xml'], 0)
            if vol is not None:
                made.append(vol)
                disk['path'] = vol.path()
        root, skipped = clone_definition(domain, name, dict((d['target'], d['path']) for d in planned),
                                         tree.vm, info['name'])
        with conn.translated('define', "VM '%s'" % name, 'the saved definition of the snapshot did not fit this node'):
            ctx.act('define VM %s' % name, conn.virt.defineXML, _xml.to_string(root))
    except BaseException:
        for vol in made:  # a failure midway leaves nothing half-made
            try:
                vol.delete(0)
            except Exception:  # cleanup that must never hide the error that made us clean up
                pass
        raise
    result = {'name': name, 'from': {'vm': tree.vm, 'snapshot': info['name']}, 'skipped_disks': skipped,
              'disks': [dict((k, d[k]) for k in ('target', 'pool', 'volume', 'path', 'base')) for d in planned]}
    return True, result


def _existing_clone_view(conn, dom, vm, snapshot):
    with conn.translated('read', "VM '%s'" % dom.name()):
        root = _xml.parse(dom.XMLDesc(sx.DOMAIN_XML_INACTIVE if dom.isPersistent() else 0))
    disks = []
    for disk in sx.domain_disks(root):
        if disk['format'] != 'qcow2' or not disk['source']:
            continue
        vol = conn.volume_by_path(disk['source'])
        if vol is None:
            continue
        with conn.translated('read', "volume '%s'" % disk['source']):
            vroot = _xml.parse(vol.XMLDesc(0))
            pool_name = vol.storagePoolLookupByVolume().name()
        disks.append({'target': disk['target'], 'pool': pool_name, 'volume': vol.name(), 'path': disk['source'],
                      'base': _xml.text_of(vroot, 'backingStore/path')})
    return {'name': dom.name(), 'from': {'vm': vm, 'snapshot': snapshot}, 'skipped_disks': [], 'disks': disks}


# -- to_template ---------------------------------------------------------------------------------------------------
def ensure_template(ctx, tree, info, spec):
    """Make sure template ``spec['name']`` exists, copied from one disk's frozen image; (changed, template view)."""
    disks = _external_disks(tree, info, 'a template')
    target = spec.get('disk') or disks[0]['target']
    chosen = [d for d in disks if d['target'] == target]
    if not chosen:
        raise InvalidInput("snapshot '%s' of %s saved no external image of disk %s; disks it saved: %s"
                           % (info['name'], tree.where, target, ', '.join(d['target'] for d in disks)))
    found = _template.find_template(ctx.conn, spec['name'])
    source = None
    if found is None:  # the image is copied once; an existing template only gets its metadata updated
        source = dict(path=chosen[0]['base'], checksum=None, url=None, url_username=None, url_password=None,
                      validate_certs=True, use_proxy=True, timeout=30, volume=None, pool=None, vm=None, disk=None)
    params = {
        'name': spec['name'], 'state': 'present', 'pool': spec['pool'] if found is None else None, 'source': source,
        'format': spec.get('format'), 'sysprep': False, 'os': None, 'features': None, 'tags': spec.get('tags'),
        'description': spec.get('description'), 'force': False,
    }
    sub = ctx.sub(params, "template '%s'" % spec['name'])
    outcome = _template.ensure(sub)
    return outcome.changed, outcome.after


# -- who else uses the files a deletion touches ------------------------------------------------------------------------
def _resolver(conn):
    """A cached (pool, volume) -> path lookup, for disks and backing stores that name a pool volume."""
    cache = {}

    def resolve(pool_name, vol_name):
        if (pool_name, vol_name) not in cache:
            cache[(pool_name, vol_name)] = volume_path(conn, pool_name, vol_name)
        return cache[(pool_name, vol_name)]
    return resolve


def _chain_paths(root, resolve):
    """Every image a domain definition's disks use: sources and backing stores, files, devices and volumes."""
    paths = set()
    for disk in root.findall('./devices/disk'):
        for source in disk.iter('source'):
            for attr in ('file', 'dev'):
                if source.get(attr):
                    paths.add(source.get(attr))
            if source.get('pool') and source.get('volume'):
                path = resolve(source.get('pool'), source.get('volume'))
                if path:
                    paths.add(path)
    return paths


def _definitions(dom):
    try:
        xmls = [dom.XMLDesc(0)]
        if dom.isActive() and dom.isPersistent():
            xmls.append(dom.XMLDesc(sx.DOMAIN_XML_INACTIVE))
    except LibvirtError as exc:  # a VM undefined meanwhile uses nothing
        if is_not_found(exc):
            return []
        raise
    return [_xml.parse(x) for x in xmls]


def _own_paths(tree, resolve):
    """Every image of the VM itself: its disk chains and every file its snapshots name."""
    paths = set()
    for root in _definitions(tree.dom):
        paths |= _chain_paths(root, resolve)
    for info in tree.info.values():
        for disk in info['disks']:
            paths.update(p for p in (disk['file'], disk['base']) if p)
    return paths


def refuse_shared_images(conn, tree, names):
    """Refuse deleting external snapshots whose files (merged into, or removed) other VMs or volumes use."""
    touched = {}
    for name in names:
        for disk in tree.info[name]['disks']:
            if disk['snapshot'] != 'external':
                continue
            if disk['base']:
                touched.setdefault(disk['base'], "%s (snapshot '%s' is merged into it)" % (disk['base'], name))
            if disk['file']:
                touched.setdefault(disk['file'], "%s (snapshot '%s' removes it)" % (disk['file'], name))
    if not touched:
        return
    resolve = _resolver(conn)
    own = _own_paths(tree, resolve)
    users = []
    with conn.translated('look for users of', 'the image files of the snapshots'):
        uuid = tree.dom.UUIDString()
        for dom in conn.all_domains():
            if dom.UUIDString() == uuid:
                continue
            for root in _definitions(dom):
                for path in sorted(_chain_paths(root, resolve) & set(touched)):
                    users.append("VM '%s' uses %s" % (dom.name(), touched[path]))
        for pool in conn.all_pools():
            if not pool.isActive():
                continue
            for vol in pool.listAllVolumes(0):
                root = _xml.parse(vol.XMLDesc(0))
                if _xml.text_of(root, 'target/path') in own:
                    continue
                backing = _xml.text_of(root, 'backingStore/path')
                if backing in touched:
                    users.append("volume '%s' in pool '%s' has %s as backing file"
                                 % (vol.name(), pool.name(), touched[backing]))
    if users:
        raise Refused('%s: deleting snapshot(s) %s is refused because other disks depend on their image files: %s. '
                      'Remove those VMs or volumes first (or flatten them into full copies); metadata_only: true '
                      'forgets the snapshots and keeps every file' % (tree.where, ', '.join(names), '; '.join(sorted(set(users)))))
