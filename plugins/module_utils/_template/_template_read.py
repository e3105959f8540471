# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading templates: one template as template/template_info return it, and the list template_info shows.

Apart from the template cycle (``_template``) so that template_info does not
ship the sources of new images (downloads, sysprep) and the volume cycle.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _template_store as meta
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml


def image_info(conn, pool, vol):
    with conn.translated('read', "volume '%s' in pool '%s'" % (vol.name(), pool.name())):
        root = _xml.parse(vol.XMLDesc(0))
    return {
        'path': _xml.text_of(root, 'target/path'),
        'format': _xml.attr_of(root, 'target/format', 'type'),
        'capacity': _xml.int_of(root, 'capacity'),
        'allocation': _xml.int_of(root, 'allocation'),
        'mode': _xml.text_of(root, 'target/permissions/mode'),
    }


NO_USERS = {'volumes': [], 'vms': [], 'running_vms': [], 'images': set()}


def view(name, pool_name, doc, image=None, users=None, problems=(), sidecar=None):
    """Everything template/template_info return about one template."""
    doc = doc or meta.new_metadata(name, None)
    image = image or {}
    users = users or NO_USERS
    return {
        'name': name,
        'pool': pool_name,
        'volume': meta.image_name(name),
        'metadata_volume': sidecar or meta.sidecar_name(name),
        'path': image.get('path'),
        'format': image.get('format') or doc['format'],
        'virtual_size': image.get('capacity') if image.get('capacity') is not None else doc['virtual_size'],
        'allocation': image.get('allocation'),
        'mode': image.get('mode'),
        'os': dict(doc['os']),
        'source': dict(doc['source']),
        'features': dict(doc['features']),
        'tags': list(doc['tags']),
        'description': doc['description'],
        'created': doc['created'],
        'updated': doc['updated'],
        'sysprep': copy.deepcopy(doc['sysprep']),
        'usage_count': len(users['images']),
        'used_by': {'volumes': list(users['volumes']), 'vms': list(users['vms'])},
        'problems': list(problems),
    }


def record_view(conn, record, index, doc=None):
    image = image_info(conn, record.pool, record.image) if record.image is not None else {}
    users = index.users(image['path']) if index is not None and image.get('path') else None
    return view(record.name, record.pool.name(), doc or record.meta, image, users, record.problems,
                record.sidecar.name())


def list_templates(ctx):
    """template_info: the templates of the running pools, filtered by name, pool and tags."""
    params = ctx.params
    if params.get('name'):
        meta.check_template_name(params['name'])
    records = meta.scan(ctx.conn, params.get('name'), params.get('pool'))
    index = meta.UsageIndex(ctx.conn) if records else None
    views = [record_view(ctx.conn, r, index) for r in records]
    wanted = set(params.get('tags') or [])
    return [v for v in views if wanted.issubset(v['tags'])]
