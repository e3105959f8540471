# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Collecting for the vmcat.libvirt.libvirt inventory plugin: what every node's VMs are.

``collect_nodes`` asks every node in parallel (one thread and one libvirt
connection per node, a deadline per node) and returns plain, JSON-safe
records (what the inventory cache stores; ``_inventory.host_entries`` names
them and makes their variables).  Within a node, each running VM's
guest-agent questions run in a bounded set of worker threads with a short
timeout.  The plugin imports this file only when it asks the nodes, not on a
warm cache.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
import time
from collections import deque

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
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._guest_agent import AgentCommandError, agent_command

XML_INACTIVE = 2  # libvirt.VIR_DOMAIN_XML_INACTIVE; _vm_info has it too, but importing it costs 0.1 s


# -- collecting (runs in threads) --------------------------------------------------------------
def _ask_agent(dom, timeout):
    """(answers, osinfo): whether the agent answers within ``timeout`` seconds, and its guest-get-osinfo.

    The one question is also the liveness check: a reply, or the agent's
    refusal of the command (an older agent without it, or blocked by the
    guest's configuration), shows the agent answers, so no guest-ping comes
    first (one agent round trip less per VM).  osinfo is None when the agent
    refused or did not answer.

    libvirt (9.0 at least) first sends the agent a guest-sync and waits up to
    5 s for it whatever the command's timeout, so a connected but silent agent
    would cost 5 s.  The question therefore runs in a daemon thread that is
    left behind after ``timeout``; it ends on its own when libvirt gives up.
    """
    answer = []

    def ask():
        try:
            answer.append((True, agent_command(dom, 'guest-get-osinfo', timeout=timeout) or None))
        except AgentCommandError:  # the agent answered "no": it is there
            answer.append((True, None))
        except Exception:  # broad: a daemon thread; AgentUnavailable or any other failure (the connection went away)
            answer.append((False, None))

    thread = threading.Thread(target=ask, name='vmcat-agent-osinfo')
    thread.daemon = True
    thread.start()
    thread.join(timeout)
    return answer[0] if answer else (False, None)


class _Workers(object):
    """At most ``count`` daemon threads run the jobs given to ``submit``, in order; ``results`` waits for them.

    Plain threads rather than concurrent.futures, whose import is about 2 ms
    of every inventory run, and daemon ones, which never hold up the end of
    ansible-inventory.  A worker takes jobs until none is left; ``submit``
    starts one when fewer than ``count`` are running (both under one lock, so
    no job is left without a worker).
    """

    def __init__(self, count):
        self._count = max(1, count)
        self._lock = threading.Lock()
        self._queue = deque()
        self._running = 0
        self._threads = []
        self._slots = []

    def submit(self, key, func, *args):
        """Run ``func(*args)`` in a worker; ``key`` comes back with its result in ``results``."""
        slot = {'key': key, 'result': None, 'error': None}
        self._slots.append(slot)
        with self._lock:
            self._queue.append((slot, func, args))
            if self._running >= self._count:
                return
            self._running += 1
        thread = threading.Thread(target=self._work, name='vmcat-inventory-worker')
        thread.daemon = True
        thread.start()
        self._threads.append(thread)

    def _work(self):
        while True:
            with self._lock:
                if not self._queue:
                    self._running -= 1
                    return
                slot, func, args = self._queue.popleft()
            try:
                slot['result'] = func(*args)
            except Exception as exc:  # broad: handed to the caller with its job's key, like a future's exception
                slot['error'] = exc

    def results(self):
        """[(key, result, exception or None)] in submit order, once every job is done."""
        for thread in self._threads:
            thread.join()
        return [(slot['key'], slot['result'], slot['error']) for slot in self._slots]


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
    agent, osinfo = _ask_agent(dom, options['agent_timeout']) if _asks_agent(view, options) else (False, None)
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
        'graphics': view['graphics'], 'os': osinfo,
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
            workers = _Workers(options['workers'])
            try:
                for dom in doms:
                    if not local:
                        workers.submit(dom, describe_vm, conn, dom, options)
                        continue
                    # A local node answers in well under a millisecond and describing is CPU-bound: threads
                    # would only contend for the GIL.  Only the VMs whose agents are asked go to the workers.
                    try:
                        view = _view(conn, dom)
                        if _asks_agent(view, options):
                            workers.submit(dom, describe_vm, conn, dom, options, view)
                        else:
                            result['vms'].append(describe_vm(conn, dom, options, view))
                    except Exception as exc:  # one VM going away or failing must not hide the others
                        _vm_failed(result, dom, exc)
            finally:
                done = workers.results()  # every worker is done before the connection closes
            for dom, record, exc in done:
                if exc is None:
                    result['vms'].append(record)
                else:  # one VM going away or failing must not hide the others
                    _vm_failed(result, dom, exc)
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
