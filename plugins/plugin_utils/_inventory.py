# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options, naming, grouping and filtering for the vmcat.libvirt.libvirt inventory plugin.

``host_entries`` turns the records that ``_inventory_collect.collect_nodes``
returns (and the inventory cache stores) into (host name, variables).  This
file imports neither libvirt nor lxml, so that a run served from a warm cache
never loads them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import re

HOSTNAME_FORMATS = ('name', 'uuid', 'node_name')
GROUP_BY = ('node', 'state', 'tag')
_UNSAFE_CHARS = re.compile(r'[^A-Za-z0-9_]')


class InventoryInputError(ValueError):
    """The inventory source is wrong (reported before any node is asked)."""


def safe_name(text):
    """A group/node name part: letters, digits and _ only."""
    return _UNSAFE_CHARS.sub('_', str(text)).strip('_') or 'unnamed'


def default_node_name(uri):
    """qemu+ssh://kvm1/system -> kvm1; qemu:///system -> qemu_system; test:///tmp/n.xml -> test_tmp_n_xml."""
    scheme, _sep, rest = str(uri).partition('://')
    rest = rest.split('?', 1)[0]
    host, _sep, path = rest.partition('/')
    host = host.rsplit('@', 1)[-1].split(':', 1)[0]
    if host:
        return safe_name(host)
    return safe_name('%s_%s' % (scheme.split('+', 1)[0], path))


def parse_nodes(nodes):
    """[{'name', 'uri'}] from the ``nodes`` option (strings or {uri, name}); names must be unique."""
    if not nodes:
        raise InventoryInputError('nodes must list at least one libvirt URI')
    parsed = []
    for item in nodes:
        if isinstance(item, str):
            item = {'uri': item}
        if not isinstance(item, dict) or not item.get('uri'):
            raise InventoryInputError('each entry of nodes must be a URI or a dict with uri (and name), got %r' % (item,))
        unknown = sorted(set(item) - {'uri', 'name'})
        if unknown:
            raise InventoryInputError('unknown keys in nodes entry %s: %s' % (item['uri'], ', '.join(unknown)))
        parsed.append({'uri': str(item['uri']), 'name': str(item.get('name') or default_node_name(item['uri']))})
    names = [n['name'] for n in parsed]
    dupes = sorted(set(n for n in names if names.count(n) > 1))
    if dupes:
        raise InventoryInputError('node names must be unique (give each node a name:); repeated: %s' % ', '.join(dupes))
    return parsed


def check_filters(filters):
    """{'include': [...], 'exclude': [...]}: each entry a Jinja expression or {state|name|tag: value}."""
    filters = filters or {}
    unknown = sorted(set(filters) - {'include', 'exclude'})
    if unknown:
        raise InventoryInputError('filters takes include and exclude; unknown: %s' % ', '.join(unknown))
    for kind in ('include', 'exclude'):
        for entry in filters.get(kind) or []:
            if isinstance(entry, dict):
                if len(entry) != 1 or list(entry)[0] not in ('state', 'name', 'tag'):
                    raise InventoryInputError('a filters.%s entry must be a Jinja expression or a dict with one of '
                                              'state, name, tag; got %r' % (kind, entry))
            elif not isinstance(entry, str):
                raise InventoryInputError('a filters.%s entry must be a string or a dict, got %r' % (kind, entry))
    return {'include': list(filters.get('include') or []), 'exclude': list(filters.get('exclude') or [])}


# -- naming, variables, groups -------------------------------------------------------------------
def host_entries(results, hostname_format='name'):
    """[(host, vars, warnings)] in node order; a duplicate host name is renamed ``node/name``."""
    entries, seen, warnings = [], set(), []
    for node in results:
        for vm in node['vms']:
            if hostname_format == 'uuid':
                host = vm['uuid']
            elif hostname_format == 'node_name':
                host = '%s/%s' % (node['name'], vm['name'])
            else:
                host = vm['name']
            if host in seen:
                renamed = '%s/%s' % (node['name'], vm['name'])
                warnings.append("VM name '%s' on node %s is already used by an earlier node; this host is named '%s'"
                                % (host, node['name'], renamed))
                host = renamed
            seen.add(host)
            entries.append((host, host_vars(node, vm)))
    return entries, warnings


# Host variables set only with ``details: true``; filters, compose, groups and keyed_groups always see them.
# Each set variable costs ansible-core a deep walk that tags every value with its origin (2.19), and
# ``--list`` encodes it once more per host: for 1000 VMs these five cost about 0.3 s of ``--list``.
DETAIL_VARS = ('vmcat_vcpus', 'vmcat_memory', 'vmcat_metadata', 'vmcat_nics', 'vmcat_graphics')


def stored_vars(variables, details):
    """The variables to set on the host: all of them with ``details``, else all but DETAIL_VARS."""
    if details:
        return variables
    return {key: value for key, value in variables.items() if key not in DETAIL_VARS}


def underscored(osinfo):
    """guest-get-osinfo's flat reply with its keys as vmcat.libvirt.guest_info spells them (kernel_release for
    kernel-release); the records keep the agent's spelling, so caches of every version read the same.

    The one-level form of ``_guest/_guest_info.snake`` (a unit test holds them equal on an osinfo reply):
    importing that file would bring libvirt into a warm-cache run, which this file exists to avoid."""
    if not osinfo:
        return osinfo
    return {str(key).replace('-', '_'): value for key, value in osinfo.items()}


def host_vars(node, vm):
    variables = {
        'vmcat_node': node['name'], 'vmcat_uri': node['uri'], 'vmcat_name': vm['name'], 'vmcat_uuid': vm['uuid'],
        'vmcat_state': vm['state'], 'vmcat_vcpus': vm['vcpus'], 'vmcat_memory': vm['memory'],
        'vmcat_tags': vm['tags'], 'vmcat_metadata': vm['metadata'], 'vmcat_nics': vm['nics'],
        'vmcat_os': underscored(vm['os']), 'vmcat_graphics': vm['graphics'],
    }
    if 'xml' in vm:
        variables['vmcat_xml'] = vm['xml']
    if vm.get('address'):
        variables['ansible_host'] = vm['address']
    return variables


GROUP_EXTRACTORS = {
    'node': lambda v: ['node_%s' % safe_name(v['vmcat_node'])],
    'state': lambda v: ['state_%s' % safe_name(v['vmcat_state'])],
    'tag': lambda v: ['tag_%s' % safe_name(t) for t in v['vmcat_tags'] or []],
}


def default_groups(variables, group_by):
    groups = []
    for key in group_by:
        groups.extend(GROUP_EXTRACTORS[key](variables))
    return groups


def _simple_match(entry, variables):
    key, value = list(entry.items())[0]
    if key == 'state':
        return variables['vmcat_state'] in (value if isinstance(value, list) else [value])
    if key == 'tag':
        return str(value) in (variables['vmcat_tags'] or [])
    return fnmatch.fnmatchcase(variables['vmcat_name'], str(value))


def keep_host(variables, filters, evaluate):
    """True when the host passes ``filters``; ``evaluate(expression, variables)`` gives a Jinja result."""
    def matches(entry):
        if isinstance(entry, dict):
            return _simple_match(entry, variables)
        return bool(evaluate(entry, variables))
    if filters['include'] and not any(matches(e) for e in filters['include']):
        return False
    return not any(matches(e) for e in filters['exclude'])
