# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading storage pools: one pool as pool/pool_info return it, and the list pool_info shows.

Apart from the pool cycle (``_pool``) so that pool_info does not ship it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._definitions import definition_xml

_STATES = {0: 'inactive', 1: 'building', 2: 'running', 3: 'degraded', 4: 'inaccessible'}
INACTIVE_XML = 1  # VIR_STORAGE_XML_INACTIVE
READ_HINT = ('another client may have changed or removed the pool meanwhile: run the task again, and see '
             "libvirtd's log on the node if it keeps failing")


def spec_of(root):
    """The option-shaped view of a pool definition (only what the module manages)."""
    source = root.find('source')
    src = {}
    if source is not None:
        host = source.find('host')
        src = {
            'host': host.get('name') if host is not None else None,
            'port': int(host.get('port')) if host is not None and host.get('port') else None,
            'dir': _xml.attr_of(source, 'dir', 'path'),
            'device': [d.get('path') for d in source.findall('device')] or None,
            'name': _xml.text_of(source, 'name'),
            'format': _xml.attr_of(source, 'format', 'type'),
        }
    perms = root.find('target/permissions')
    return {
        'name': _xml.text_of(root, 'name'),
        'type': root.get('type'),
        'target': {
            'path': _xml.text_of(root, 'target/path'),
            'owner': _int_or_none(_xml.text_of(perms, 'owner')),
            'group': _int_or_none(_xml.text_of(perms, 'group')),
            'mode': _mode(_xml.text_of(perms, 'mode')),
        },
        'source': dict((k, v) for k, v in src.items() if v is not None),
    }


def _int_or_none(text):
    if text is None or int(text) < 0:  # libvirt writes -1 for "not set"
        return None
    return int(text)


def _mode(text):
    return None if text is None else '%04o' % int(text, 8)


def describe(pool, with_volumes=True):
    """Everything pool/pool_info return about one pool."""
    root = _xml.parse(definition_xml(pool, INACTIVE_XML))
    state, capacity, allocation, available = pool.info()
    info = spec_of(root)
    active = bool(pool.isActive())
    info.update(
        uuid=pool.UUIDString(),
        state=_STATES.get(state, str(state)),
        active=active,
        autostart=bool(pool.autostart()),
        persistent=bool(pool.isPersistent()),
        capacity=capacity,
        allocation=allocation,
        available=available,
    )
    if with_volumes:
        names = sorted(pool.listVolumes()) if active else []
        info.update(volume_count=len(names) if active else None, volumes=names)
    return info


def list_pools(ctx, name=None):
    pools = [ctx.conn.require_pool(name)] if name else ctx.conn.all_pools()
    with ctx.conn.translated('read', 'storage pools', READ_HINT):
        return [describe(p) for p in sorted(pools, key=lambda p: p.name())]
