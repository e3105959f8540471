# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who uses what: the VMs that reference a volume or a network.

Used to refuse deleting storage or networks that VMs still use.  Both the
persistent and the live definition of every VM are read, so a disk that
was hot-plugged into a running VM counts too.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import is_not_found

_XML_INACTIVE = 2  # VIR_DOMAIN_XML_INACTIVE


def _definitions(dom):
    """The live and the persistent definition of a VM (one when they are the same; none when it just vanished)."""
    try:
        xmls = [dom.XMLDesc(0)]
        if dom.isActive() and dom.isPersistent():
            xmls.append(dom.XMLDesc(_XML_INACTIVE))
    except Exception as exc:  # libvirt error or test fake: a VM undefined meanwhile uses nothing; else re-raised
        if is_not_found(exc):
            return []
        raise
    return [_xml.parse(x) for x in xmls]


def disk_references(root):
    """(kind, value) pairs naming what each disk of a domain definition uses.

    kind is 'path' (file or block device) or 'volume' (value: (pool, volume)).
    """
    refs = []
    for disk in root.findall('./devices/disk'):
        source = disk.find('source')
        if source is None:
            continue
        for attr in ('file', 'dev'):
            if source.get(attr):
                refs.append(('path', source.get(attr)))
        if source.get('pool') and source.get('volume'):
            refs.append(('volume', (source.get('pool'), source.get('volume'))))
        for backing in disk.iter('backingStore'):
            bsrc = backing.find('source')
            if bsrc is not None and bsrc.get('file'):
                refs.append(('path', bsrc.get('file')))
    return refs


def volume_users(conn, pool_name, vol_name, vol_path):
    """Names of the VMs whose disks use this volume (by path or by pool/volume)."""
    users = set()
    for dom in conn.all_domains():
        for root in _definitions(dom):
            for kind, value in disk_references(root):
                if (kind == 'path' and value == vol_path) or (kind == 'volume' and value == (pool_name, vol_name)):
                    users.add(dom.name())
    return sorted(users)


def volume_users_index(conn):
    """One pass over every VM for listing many volumes: returns ``users(pool, volume, path) -> [VM names]``."""
    refs = {}
    for dom in conn.all_domains():
        for root in _definitions(dom):
            for ref in disk_references(root):
                refs.setdefault(ref, set()).add(dom.name())

    def users(pool_name, vol_name, vol_path):
        return sorted(refs.get(('path', vol_path), set()) | refs.get(('volume', (pool_name, vol_name)), set()))
    return users


def network_users(conn, net_name, bridge=None, running_only=False):
    """Names of the VMs with a NIC on this network (or on its bridge)."""
    users = set()
    for dom in conn.all_domains():
        if running_only and not dom.isActive():
            continue
        for root in _definitions(dom):
            for iface in root.findall('./devices/interface'):
                source = iface.find('source')
                if source is None:
                    continue
                if source.get('network') == net_name or (bridge and source.get('bridge') == bridge):
                    users.add(dom.name())
    return sorted(users)


def running_pool_users(conn, pool_name, volume_paths, target_dir=None):
    """{running VM name: [what it uses]} for the VMs whose disks are on a pool's volumes now.

    A disk counts when it names the pool (``<source pool=...>``), is one of
    ``volume_paths``, or is a file right inside ``target_dir`` (the directory
    of a file-based pool: a file copied there behind libvirt's back).  Only
    the live definition of a running VM is read: that is what it has open.
    """
    paths = set(volume_paths)
    users = {}
    for dom in conn.all_domains():
        try:
            if not dom.isActive():
                continue
            root = _xml.parse(dom.XMLDesc(0))
        except Exception as exc:  # libvirt error or test fake: a VM gone meanwhile uses nothing; else re-raised
            if is_not_found(exc):
                continue
            raise
        for kind, value in disk_references(root):
            if kind == 'volume' and value[0] == pool_name:
                used = value[1]
            elif kind == 'path' and (value in paths or (target_dir and os.path.dirname(os.path.normpath(value)) == target_dir)):
                used = value
            else:
                continue
            users.setdefault(dom.name(), set()).add(used)
    return dict((name, sorted(used)) for name, used in users.items())
