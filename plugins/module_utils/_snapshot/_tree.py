# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading a VM's snapshots: the tree, and each snapshot in the shape snapshot and snapshot_info return."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmcat.libvirt.plugins.module_utils._snapshot import _definition as sx
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import NotFound


def names_text(items):
    return ', '.join(sorted(items)) or '(none)'


class Tree:
    """All snapshots of one VM, read once: libvirt objects, parsed facts, the current one."""

    def __init__(self, conn, dom):
        self.conn = conn
        self.dom = dom
        self.vm = dom.name()
        self.where = "VM '%s' on %s" % (self.vm, conn.uri)
        with conn.translated('list the snapshots of', "VM '%s'" % self.vm):
            snapshots = dom.listAllSnapshots(0)
            self.objects = dict((s.getName(), s) for s in snapshots)
            self.info = dict((name, sx.parse_snapshot(s.getXMLDesc(0))) for name, s in self.objects.items())
            current = [name for name, s in self.objects.items() if s.isCurrent()]
            self.vm_state = sx.vm_state_name(dom.state()[0])
        self.current = current[0] if current else None
        for info in self.info.values():
            for disk in info['disks']:
                volume = disk.pop('base_volume', None)
                if volume and not disk['base']:
                    disk['base'] = volume_path(conn, *volume)

    def require(self, name):
        if name not in self.objects:
            raise NotFound("snapshot '%s' of %s not found; existing snapshots: %s"
                           % (name, self.where, names_text(self.objects)))
        return self.objects[name]

    def children(self, name):
        kids = [n for n, i in self.info.items() if i['parent'] == name]
        return sorted(kids, key=lambda n: (self.info[n]['creation_time'] or 0, n))

    def descendants(self, name):
        """Every snapshot below ``name``, deepest first (the order they can be deleted in one by one)."""
        found = []
        level, depth = self.children(name), 1
        while level:
            found.extend((depth, n) for n in level)
            level = [k for n in level for k in self.children(n)]
            depth += 1
        found.sort(key=lambda item: (-item[0], -(self.info[item[1]]['creation_time'] or 0), item[1]))
        return [n for dummy, n in found]

    def kinds(self):
        return set(i['kind'] for i in self.info.values())

    def ordered(self):
        return sorted(self.info, key=lambda n: (self.info[n]['creation_time'] or 0, n))


def volume_path(conn, pool_name, vol_name):
    """The path of a volume named by pool and name (how disks of type 'volume' refer to images), or None."""
    pool = conn.pool(pool_name)
    if pool is None:
        return None
    with conn.translated('read', "pool '%s'" % pool_name):
        if not pool.isActive():
            return None
    vol = conn.volume(pool, vol_name)
    if vol is None:
        return None
    with conn.translated('read', "volume '%s' in pool '%s'" % (vol_name, pool_name)):
        return vol.path()


def _file_size(conn, path):
    """Allocation of an image file that libvirt knows as a volume, else None."""
    if not path:
        return None
    vol = conn.volume_by_path(path)
    if vol is None:
        return None
    with conn.translated('read', "volume '%s'" % path):
        return vol.info()[2]


def view(tree, info, current, vm_state, sizes=True):
    """What snapshot returns and snapshot_info lists for one snapshot."""
    disks = []
    for disk in info['disks']:
        size = _file_size(tree.conn, disk['file']) if sizes and disk['file'] else None
        disks.append(dict(disk, size=size))
    external = [d for d in disks if d['snapshot'] == 'external']
    known = [d['size'] for d in external if d['size'] is not None]
    return {
        'vm': tree.vm,
        'name': info['name'],
        'description': info['description'],
        'kind': info['kind'],
        'state': info['state'],
        'memory': info['memory'],
        'memory_file': info['memory_file'],
        'creation_time': info['creation_time'],
        'created': info['created'],
        'parent': info['parent'],
        'children': tree.children(info['name']) if info['name'] in tree.info else [],
        'current': bool(current),
        'disks': disks,
        'size': sum(known) if external and len(known) == len(external) else None,
        'vm_state': vm_state,
    }


def describe(tree, name):
    return view(tree, tree.info[name], tree.current == name, tree.vm_state)


def list_snapshots(ctx):
    """snapshot_info: the VM's snapshots, oldest first, or one by name."""
    params = ctx.params
    dom = ctx.conn.require_domain(params['vm'])
    tree = Tree(ctx.conn, dom)
    if params.get('name'):
        tree.require(params['name'])
        names = [params['name']]
    else:
        names = tree.ordered()
    return {
        'snapshots': [describe(tree, n) for n in names],
        'current': tree.current,
        'vm_state': tree.vm_state,
    }
