# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Collecting for the vmcat.libvirt.libvirt inventory plugin: what every node's VMs are.

``collect_nodes`` asks every node in parallel (one thread and one libvirt
connection per node, a deadline per node) and returns plain, JSON-safe
records (what the inventory cache stores; ``_inventory.host_entries`` names
them and makes their variables).  Within a node, each running VM's
guest-agent questions run in a bounded pool with a short timeout.  The plugin
imports this file only when it asks the nodes, not on a warm cache.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

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
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import VmcatError, is_not_found
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._guest_agent import AgentError, agent_command

XML_INACTIVE = 2  # libvirt.VIR_DOMAIN_XML_INACTIVE; _vm_info has it too, but importing it costs 0.1 s


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
