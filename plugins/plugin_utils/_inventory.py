# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Collecting, naming, grouping and filtering for the vmcat.libvirt.libvirt inventory plugin.

``collect_nodes`` asks every node in parallel (one thread and one libvirt
connection per node, a deadline per node) and returns plain, JSON-safe
records (what the inventory cache stores).  Within a node, each running VM's
guest-agent questions run in a bounded pool with a short timeout.
``host_entries`` turns the records into (host name, variables, groups).

Private to vmcat.libvirt: may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.vmcat.libvirt.plugins.module_utils._vm import _addresses
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _graphics as graphics
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _metadata as meta
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _nics as nics
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _resources as resources
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _state as states
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._connection import Connection
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain._peripherals import read_guest_agent
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput, VmcatError, is_not_found
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._guest_agent import AgentError, agent_command
from ansible_collections.vmcat.libvirt.plugins.module_utils._guest._guest_info import snake

HOSTNAME_FORMATS = ('name', 'uuid', 'node_name')
GROUP_BY = ('node', 'state', 'tag')
_UNSAFE_CHARS = re.compile(r'[^A-Za-z0-9_]')
XML_INACTIVE = 2  # libvirt.VIR_DOMAIN_XML_INACTIVE; _vm_info has it too, but importing it costs 0.1 s


class InventoryInputError(InvalidInput):
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


# -- collecting (runs in threads) --------------------------------------------------------------
def _os_info(dom, timeout):
    """guest-get-osinfo, or None when the agent does not answer (no channel, blocked, silent)."""
    try:
        return agent_command(dom, 'guest-get-osinfo', timeout=timeout) or None
    except AgentError:
        return None


def _agent_answers(dom, timeout):
    """True when guest-ping answers within ``timeout`` seconds.

    libvirt (9.0 at least) first sends the agent a guest-sync and waits up to
    5 s for it whatever the command's timeout, so a connected but silent agent
    would cost 5 s.  The ping therefore runs in a daemon thread that is left
    behind after ``timeout``; it ends on its own when libvirt gives up.
    """
    answer = []

    def ping():
        try:
            agent_command(dom, 'guest-ping', timeout=timeout)
            answer.append(True)
        except AgentError:
            answer.append(False)
        except Exception:  # broad: a daemon thread; any other failure (the connection went away) is no answer either
            answer.append(False)

    thread = threading.Thread(target=ping, name='vmcat-agent-ping')
    thread.daemon = True
    thread.start()
    thread.join(timeout)
    return bool(answer and answer[0])


def _graphics(dom, root, active):
    """type/listen/port of the saved graphics; an autoport's port comes from the running definition."""
    items = graphics.read_graphics(root)
    if active and any(g['autoport'] for g in items):
        live = _xml.parse(dom.XMLDesc(0), "running definition of VM '%s'" % dom.name())
        running = graphics.read_graphics(live)
        for item in items:
            match = next((g for g in running if g['type'] == item['type']), None)
            if match is not None and item['autoport'] and match['listen'] == item['listen']:
                port = _xml.attr_of(live, "devices/graphics[@type='%s']" % item['type'], 'port')
                item['port'] = int(port) if port and int(port) > 0 else None
    return [{'type': g['type'], 'listen': g['listen'], 'port': g['port']} for g in items]


def _view(conn, dom):
    """Only what the host variables need: one saved-definition read per VM (the live one only for autoports).

    The vm_info core (``_vm_info.describe``) also reads pending changes, disk
    sizes, snapshots and uptime, which cost several libvirt calls per VM and
    are not host variables.
    """
    name = dom.name()
    with conn.translated('read', "VM '%s'" % name):
        code = dom.state()[0]
        # The saved definition; libvirt gives the live one for a transient VM, so no isActive/isPersistent
        # round trips are needed (each is one more RPC per VM on a remote node).
        root = _xml.parse(dom.XMLDesc(XML_INACTIVE), "definition of VM '%s'" % name)
        return {
            'name': name, 'uuid': dom.UUIDString(), 'state': states.state_name(code),
            'vcpus': resources.read_vcpus(root), 'memory': resources.read_memory(root),
            'tags': meta.read_tags(root), 'metadata': meta.read_metadata(root),
            'nics': [{'mac': nic['mac'], 'network': nic['network'], 'bridge': nic['bridge']}
                     for nic in nics.read_nics(root)],
            'graphics': _graphics(dom, root, code != states.SHUTOFF),
            'guest_agent': read_guest_agent(root),
        }


def _asks_agent(view, options):
    return view['state'] == 'running' and view['guest_agent'] and options['use_agent']


def describe_vm(conn, dom, options, view=None):
    """The record of one VM: the host variables before naming (plain data)."""
    view = view or _view(conn, dom)
    running = view['state'] == 'running'
    agent = _asks_agent(view, options) and _agent_answers(dom, options['agent_timeout'])
    sources = [s for s in options['address_sources'] if s != 'agent' or agent]
    found = []
    if running and sources:
        found = _addresses.vm_addresses(conn, dom, sources, networks=options['address_networks'])
    for nic in view['nics']:
        nic['addresses'] = [{k: a[k] for k in ('ip', 'prefix', 'family', 'source', 'interface')}
                            for a in found if nic['mac'] and a['mac'] == nic['mac']]
    record = {
        'name': view['name'], 'uuid': view['uuid'], 'state': view['state'], 'vcpus': view['vcpus'],
        'memory': view['memory'], 'tags': view['tags'], 'metadata': view['metadata'], 'nics': view['nics'],
        'graphics': view['graphics'], 'os': _os_info(dom, options['agent_timeout']) if agent else None,
        'address': found[0]['ip'] if found else None,
    }
    if options['want_xml']:
        record['xml'] = dom.XMLDesc(0)
    return record


def _is_local(uri):
    """True for a URI without a host (qemu:///system, test:///path): the node is on this machine."""
    rest = str(uri).partition('://')[2]
    return not rest.partition('/')[0]


def _vm_failed(result, dom, exc):
    if not is_not_found(exc):
        result['warnings'].append('VM %s: %s' % (dom.name(), getattr(exc, 'msg', exc)))


def collect_node(node, options):
    """{'name', 'uri', 'vms': [...], 'error': None|text, 'warnings': [...]} for one node."""
    result = {'name': node['name'], 'uri': node['uri'], 'vms': [], 'error': None, 'warnings': []}
    try:
        with Connection(node['uri'], readonly=not options['use_agent']) as conn:
            doms = conn.all_domains()
            if options['skip_shutoff']:
                doms = [d for d in doms if d.isActive()]
            local = _is_local(node['uri'])
            pool = ThreadPoolExecutor(max_workers=max(1, options['workers']))
            try:
                futures = []
                for dom in doms:
                    if not local:
                        futures.append((dom, pool.submit(describe_vm, conn, dom, options)))
                        continue
                    # A local node answers in well under a millisecond and describing is CPU-bound: threads
                    # would only contend for the GIL.  Only the VMs whose agents are asked go to the pool.
                    try:
                        view = _view(conn, dom)
                        if _asks_agent(view, options):
                            futures.append((dom, pool.submit(describe_vm, conn, dom, options, view)))
                        else:
                            result['vms'].append(describe_vm(conn, dom, options, view))
                    except Exception as exc:  # one VM going away or failing must not hide the others
                        _vm_failed(result, dom, exc)
                for dom, future in futures:
                    try:
                        result['vms'].append(future.result())
                    except Exception as exc:  # one VM going away or failing must not hide the others
                        _vm_failed(result, dom, exc)
            finally:
                pool.shutdown(wait=True)
    except VmcatError as exc:
        result['error'] = exc.msg
    except Exception as exc:  # broad: this runs in the node's thread, which must leave a record whatever failed
        result['error'] = 'could not read %s: %s' % (node['uri'], exc)
    result['vms'].sort(key=lambda vm: vm['name'])
    return result


def collect_nodes(nodes, options, collect=collect_node):
    """Ask every node in parallel; a node past ``options['node_timeout']`` gets an error record.

    Daemon threads (not a ThreadPoolExecutor, whose workers are joined at
    exit) so that a node that hangs cannot keep ansible-inventory alive.
    """
    results = [None] * len(nodes)

    def run(index, node):
        results[index] = collect(node, options)

    threads = []
    for index, node in enumerate(nodes):
        thread = threading.Thread(target=run, args=(index, node), name='vmcat-node-%s' % node['name'])
        thread.daemon = True
        thread.start()
        threads.append(thread)
    deadline = time.monotonic() + options['node_timeout']
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    for index, node in enumerate(nodes):
        if results[index] is None:
            results[index] = {'name': node['name'], 'uri': node['uri'], 'vms': [], 'warnings': [],
                              'error': 'no answer from %s within %ss (node_timeout)' % (node['uri'], options['node_timeout'])}
    return results


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


def host_vars(node, vm):
    variables = {
        'vmcat_node': node['name'], 'vmcat_uri': node['uri'], 'vmcat_name': vm['name'], 'vmcat_uuid': vm['uuid'],
        'vmcat_state': vm['state'], 'vmcat_vcpus': vm['vcpus'], 'vmcat_memory': vm['memory'],
        'vmcat_tags': vm['tags'], 'vmcat_metadata': vm['metadata'], 'vmcat_nics': vm['nics'],
        # keys as vmcat.libvirt.guest_info spells them (kernel_release); records cached by a version that kept
        # the agent's dashes read the same
        'vmcat_os': snake(vm['os']), 'vmcat_graphics': vm['graphics'],
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
