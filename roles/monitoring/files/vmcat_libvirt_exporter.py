# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prometheus exporter for a libvirt node: its VMs, its pools, and what the VMs' guest agents say.

Installed by the vmcat.libvirt.monitoring role on each node, with the
collection's module_utils files it imports beside it (docs/monitoring.md
says where and why).  Run from the collection's source tree it needs
``build/collections`` (or any path holding ``ansible_collections/vmcat/libvirt``)
on PYTHONPATH.

How it reads the node:

- Each scrape is one ``virConnectGetAllDomainStats`` call with the NOWAIT
  flag (state, CPU, balloon, vCPU, interface and block groups for every VM),
  read by the same code as the vm_stats module (``_stats/_readings.py``),
  plus one ``listAllStoragePools`` and an ``info()`` per pool.
- One long-lived read-only connection.  When libvirtd restarts, the next
  scrape finds the connection dead, opens a new one and tries once more;
  ``libvirt_up`` is 0 for a scrape that could not read the node.
- Guest filesystems come from each running VM's agent (``guest-get-fsinfo``)
  on a slower cadence (``--agent-interval``) in a background thread with a
  few workers and their own read-write connection (libvirt refuses agent
  commands on a read-only one).  A scrape only reads the last answers, so a
  silent agent never delays it; a VM whose agent has not answered within
  ``--agent-timeout`` has ``libvirt_domain_guest_agent_up`` 0 and no
  filesystem series until it answers again, and is not asked again while
  its earlier question is still out.

Metric names follow inovex/prometheus-libvirt-exporter where the meaning is
the same; docs/monitoring.md lists them and where this exporter differs.
"""

from __future__ import absolute_import, division, print_function

import argparse
import logging
import signal
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import libvirt
from prometheus_client.exposition import generate_latest
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import CollectorRegistry

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import answers_dead, is_connection_lost
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._guest_agent import (
    AgentCommandError, AgentError, AgentNotConfigured, agent_command)
from ansible_collections.vmcat.libvirt.plugins.module_utils._stats import _readings as readings

LOG = logging.getLogger('vmcat_libvirt_exporter')
FSINFO = 'guest-get-fsinfo'
STATES = ('running', 'paused', 'shutdown', 'crashed', 'pmsuspended')
_LIST_RUNNING = 16  # VIR_CONNECT_LIST_DOMAINS_RUNNING
CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'


def _quiet(_ctx, _err):
    """libvirt prints every error on stderr by default; the exporter logs what matters itself."""


class Node:
    """The long-lived connection the scrapes use; opened again after libvirtd went away.

    ``opener(uri)`` opens a connection (libvirt.openReadOnly for scrapes,
    libvirt.open for the guest agents).
    """

    def __init__(self, uri, opener):
        self.uri = uri
        self._opener = opener
        self.virt = None
        self.reconnects = 0
        self._lock = threading.Lock()

    def _connection(self):
        with self._lock:
            if self.virt is not None and answers_dead(self.virt.isAlive):
                self._drop()
            if self.virt is None:
                self.virt = self._opener(self.uri)
                self.reconnects += 1
            return self.virt

    def _drop(self):
        try:
            self.virt.close()
        except libvirt.libvirtError:  # a dead connection may refuse to close: it is gone either way
            pass
        self.virt = None

    def call(self, fn):
        """``fn(virConnect)``; once more on a fresh connection when the first one turns out to be lost."""
        virt = self._connection()
        try:
            return fn(virt)
        except libvirt.libvirtError as exc:
            if not (is_connection_lost(exc) or answers_dead(virt.isAlive)):
                raise
            LOG.warning('lost the connection to %s (%s); connecting again', self.uri, exc)
        with self._lock:
            if self.virt is virt:
                self._drop()
        return fn(self._connection())


class AgentPoller:
    """Asks the running VMs' guest agents for their filesystems every ``interval`` seconds, in the background."""

    def __init__(self, node, interval, timeout, workers, ask=agent_command, clock=time.monotonic):
        self.node = node
        self.interval = interval
        self.timeout = timeout
        self._ask_agent = ask
        self._clock = clock
        self._answers = {}  # uuid -> dict(answered, filesystems)
        self._asked = {}  # uuid -> when its unanswered question went out
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix='agent')
        self.last_round = None  # seconds the last round took to hand out its questions

    def start(self):
        thread = threading.Thread(target=self._run, name='agent-poller')
        thread.daemon = True
        thread.start()
        return thread

    def stop(self):
        self._stop.set()
        self._pool.shutdown(wait=False)

    def _run(self):
        while not self._stop.is_set():
            started = self._clock()
            try:
                self.poll()
            except Exception as exc:  # a round that fails (libvirtd away) must not end the thread: try next round
                LOG.warning('guest agent round failed: %s', exc)
            self._stop.wait(max(0.0, self.interval - (self._clock() - started)))

    def poll(self):
        """One round: hand each running VM's question to the workers (never waits for an answer)."""
        started = self._clock()
        doms = self.node.call(lambda virt: virt.listAllDomains(_LIST_RUNNING))
        running = set()
        for dom in doms:
            uuid = dom.UUIDString()
            running.add(uuid)
            with self._lock:
                if uuid in self._asked:
                    continue  # its last question is still out: do not pile up more behind a silent agent
                self._asked[uuid] = self._clock()
            self._pool.submit(self._ask, uuid, dom)
        with self._lock:
            for uuid in list(self._answers):
                if uuid not in running:
                    del self._answers[uuid]
        self.last_round = self._clock() - started

    def _ask(self, uuid, dom):
        answered, found = False, None
        try:
            found = readings.filesystems(self._ask_agent(dom, FSINFO, timeout=self.timeout))
            answered = True
        except AgentCommandError as exc:  # the agent is there but refuses fsinfo (blocked by its configuration)
            answered = True
            LOG.info('%s', exc)
        except AgentNotConfigured as exc:  # no agent channel: nothing to be silent, so no agent series at all
            answered = None
            LOG.debug('%s', exc)
        except AgentError as exc:  # stopped, not connected, silent
            LOG.debug('%s', exc)
        except Exception as exc:  # a worker must always clear its VM's question, whatever went wrong
            LOG.warning('asking the guest agent of %s failed: %s', uuid, exc)
        finally:
            with self._lock:
                self._answers[uuid] = dict(answered=answered, filesystems=found)
                self._asked.pop(uuid, None)

    def answers(self):
        """{uuid: dict(answered, filesystems)}: the last answers; a question out longer than the timeout is silence."""
        now = self._clock()
        with self._lock:
            found = dict(self._answers)
            for uuid, since in self._asked.items():
                if now - since > self.timeout:
                    found[uuid] = dict(answered=False, filesystems=None)
        return found


def _escaped(value):
    return value.replace('\\', '\\\\').replace('\n', '\\n').replace('"', '\\"')


def _number(value):
    return '%d' % value if isinstance(value, int) else repr(float(value))


class Series:
    """The series of one scrape, written straight into Prometheus' text format (version 0.0.4).

    prometheus_client's generic exposition spent two thirds of a scrape of
    50 VMs formatting 1400 samples (docs/monitoring.md has the figures); the
    format is simple enough to write directly.  Families keep the order in
    which their first sample came.
    """

    def __init__(self):
        self._families = {}

    def add(self, kind, name, doc, labels, values, value):
        if value is None:
            return
        family = self._families.get(name)
        if family is None:
            family = self._families[name] = ('# HELP %s %s\n# TYPE %s %s' % (name, doc, name, kind), [])
        pairs = ','.join('%s="%s"' % (label, _escaped(text)) for label, text in zip(labels, values))
        family[1].append('%s{%s} %s' % (name, pairs, _number(value)) if pairs else '%s %s' % (name, _number(value)))

    def gauge(self, name, doc, labels, values, value):
        self.add('gauge', name, doc, labels, values, value)

    def counter(self, name, doc, labels, values, value):
        self.add('counter', name, doc, labels, values, value)

    def names(self):
        return list(self._families)

    def text(self):
        out = []
        for header, lines in self._families.values():
            out.append(header)
            out.extend(lines)
        return '\n'.join(out) + '\n' if out else ''


_DISK_METRICS = (
    ('read_bytes', 'libvirt_domain_block_stats_read_bytes_total', 'Bytes read from a block device.'),
    ('read_requests', 'libvirt_domain_block_stats_read_requests_total', 'Read requests from a block device.'),
    ('write_bytes', 'libvirt_domain_block_stats_write_bytes_total', 'Bytes written to a block device.'),
    ('write_requests', 'libvirt_domain_block_stats_write_requests_total', 'Write requests to a block device.'),
)
_DISK_SIZES = (
    ('capacity', 'libvirt_domain_block_stats_capacity_bytes', 'Logical size of the block device.'),
    ('allocation', 'libvirt_domain_block_stats_allocation_bytes', 'Bytes of the block device allocated on the node.'),
)
_NIC_METRICS = tuple(
    (key, 'libvirt_domain_interface_stats_%s_%s_total' % (way, what), '%s on a network interface.' % text)
    for key, way, what, text in (
        ('rx_bytes', 'receive', 'bytes', 'Bytes received'), ('rx_packets', 'receive', 'packets', 'Packets received'),
        ('rx_errors', 'receive', 'errors', 'Receive errors'), ('rx_drops', 'receive', 'drops', 'Receive drops'),
        ('tx_bytes', 'transmit', 'bytes', 'Bytes transmitted'),
        ('tx_packets', 'transmit', 'packets', 'Packets transmitted'),
        ('tx_errors', 'transmit', 'errors', 'Transmit errors'), ('tx_drops', 'transmit', 'drops', 'Transmit drops')))
_MEMORY_METRICS = (
    ('maximum', 'libvirt_domain_info_maximum_memory_bytes', 'Most memory the VM can have.'),
    ('current', 'libvirt_domain_info_memory_usage_bytes', 'Memory the VM has now (the balloon size).'),
    ('available', 'libvirt_domain_memory_stats_available_bytes', 'Memory the guest sees (balloon driver).'),
    ('unused', 'libvirt_domain_memory_stats_unused_bytes', 'Memory the guest leaves unused (balloon driver).'),
    ('usable', 'libvirt_domain_memory_stats_usable_bytes', "Memory the guest could use without swapping (MemAvailable)."),
    ('rss', 'libvirt_domain_memory_stats_rss_bytes', "Resident memory of the VM's QEMU process on the node."),
)


def _state_words(state_reason):
    """[state, reason] of the words "shut off (destroyed)" that _domain._state gives."""
    state, dummy, reason = state_reason.partition(' (')
    return [state, reason[:-1] if reason.endswith(')') else reason]


def domain_metrics(out, name, record):
    """The per-VM series of one bulk-stats record."""
    vm = readings.reading(record)
    labels, values = ['domain'], [name]
    if vm['state_code'] is not None:
        out.gauge('libvirt_domain_info_state', 'State of the VM (virDomainState code) with its description and reason.',
                  ['domain', 'state_desc', 'reason'], [name] + _state_words(vm['state_reason']), vm['state_code'])
    cpu = vm['cpu_time']
    out.counter('libvirt_domain_info_cpu_time_seconds_total', 'CPU time the VM used (vCPUs and QEMU threads).',
                labels, values, cpu / 1e9 if cpu is not None else None)
    out.gauge('libvirt_domain_info_virtual_cpus', 'vCPUs online now.', labels, values, vm['vcpus'])
    out.gauge('libvirt_domain_vcpu_maximum', 'Most vCPUs the VM can have.', labels, values, vm['max_vcpus'])
    for index in range(vm['vcpus'] or 0):
        spent = record.get('vcpu.%d.time' % index)
        out.counter('libvirt_domain_vcpu_time_seconds_total', 'Time spent by one vCPU.', ['domain', 'vcpu'],
                    [name, str(index)], spent / 1e9 if spent is not None else None)
    memory = vm['memory']
    for key, metric, doc in _MEMORY_METRICS:
        out.gauge(metric, doc, labels, values, memory[key])
    if memory['used'] is not None and memory['available']:
        out.gauge('libvirt_domain_memory_stats_used_percent', 'Memory the guest uses, in percent of what it sees.',
                  labels, values, 100.0 * memory['used'] / memory['available'])
    for disk in vm['disks']:
        device = [name, disk['device'] or '']
        for key, metric, doc in _DISK_METRICS:
            out.counter(metric, doc, ['domain', 'target_device'], device, disk[key])
        for key, metric, doc in _DISK_SIZES:
            out.gauge(metric, doc, ['domain', 'target_device'], device, disk[key])
    for nic in vm['nics']:
        device = [name, nic['device'] or '']
        for key, metric, doc in _NIC_METRICS:
            out.counter(metric, doc, ['domain', 'target_device'], device, nic[key])
    return vm


def guest_metrics(out, name, answer):
    if answer['answered'] is None:
        return  # a VM without an agent channel
    out.gauge('libvirt_domain_guest_agent_up', "1 when the VM's guest agent answered the last filesystem question.",
              ['domain'], [name], 1 if answer['answered'] else 0)
    for fs in answer['filesystems'] or []:
        values = [name, fs['mountpoint'] or '', fs['device'] or '', fs['type'] or '']
        labels = ['domain', 'mountpoint', 'device', 'fstype']
        out.gauge('libvirt_domain_guest_filesystem_size_bytes', 'Size of a filesystem inside the guest (guest agent).',
                  labels, values, fs['total_bytes'])
        out.gauge('libvirt_domain_guest_filesystem_used_bytes', 'Bytes used on a filesystem inside the guest.',
                  labels, values, fs['used_bytes'])


def pool_metrics(out, virt):
    for pool in virt.listAllStoragePools(0):
        try:
            state, capacity, allocation, available = pool.info()
            name = pool.name()
        except libvirt.libvirtError:  # undefined since the listing: it has no numbers any more
            continue
        labels, values = ['storage_pool'], [name]
        out.gauge('libvirt_storage_pool_state', 'State of the storage pool (virStoragePoolState code).', labels, values,
                  state)
        out.gauge('libvirt_storage_pool_capacity_bytes', 'Size of the storage pool.', labels, values, capacity)
        out.gauge('libvirt_storage_pool_allocation_bytes', 'Bytes allocated in the storage pool.', labels, values,
                  allocation)
        out.gauge('libvirt_storage_pool_available_bytes', 'Bytes free in the storage pool.', labels, values, available)


class Scraper:
    """What one GET /metrics answers: the node read once (one bulk-stats call), the agents' last answers, the
    exporter's own numbers, and its process's CPU and memory (prometheus_client's process collector)."""

    def __init__(self, node, agents=None, clock=time.monotonic):
        self.node = node
        self.agents = agents
        self._clock = clock
        self.stats_seconds = None
        self.process = CollectorRegistry(auto_describe=False)
        ProcessCollector(registry=self.process)

    def _read(self, virt):
        started = self._clock()
        records = readings.bulk_stats(virt)
        self.stats_seconds = self._clock() - started
        pools = Series()  # a fresh one for each try: a try cut off by a lost connection leaves nothing behind
        pool_metrics(pools, virt)
        return [(dom.name(), dom.UUIDString(), record) for dom, record in records], pools

    def series(self):
        """The libvirt series of one scrape."""
        started = self._clock()
        out = Series()
        try:
            records, pools = self.node.call(self._read)
            up = 1
        except libvirt.libvirtError as exc:
            LOG.error('could not read %s: %s', self.node.uri, exc)
            records, pools, up = [], Series(), 0
        out.gauge('libvirt_up', 'Whether libvirtd answered this scrape.', [], [], up)
        answers = self.agents.answers() if self.agents is not None else {}
        counts = dict((state, 0) for state in STATES)
        for name, uuid, record in records:
            vm = domain_metrics(out, name, record)
            if vm['state'] in counts:
                counts[vm['state']] += 1
            if vm['state'] == 'running' and uuid in answers:
                guest_metrics(out, name, answers[uuid])
        if up:
            out.gauge('libvirt_domains', 'Number of VMs on the node.', [], [], len(records))
            for state in STATES:
                out.gauge('libvirt_domains_by_state', 'Number of VMs on the node in each run state.', ['state'],
                          [state], counts[state])
        out.counter('libvirt_exporter_connects_total', 'Connections the exporter opened to libvirtd (1 + reconnects).',
                    [], [], self.node.reconnects)
        out.gauge('libvirt_exporter_stats_call_seconds', 'Seconds the last bulk-stats call took.', [], [],
                  self.stats_seconds)
        if self.agents is not None:
            out.gauge('libvirt_exporter_agent_round_seconds', 'Seconds the last guest-agent round took to start.',
                      [], [], self.agents.last_round)
        out.gauge('libvirt_exporter_scrape_seconds', 'Seconds this scrape took to read the node and write its series.',
                  [], [], self._clock() - started)
        return out.text() + pools.text()

    def page(self):
        """The whole answer to GET /metrics, as bytes."""
        return self.series().encode('utf-8') + generate_latest(self.process)


class _MetricsHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.split('?', 1)[0] not in ('/metrics', '/'):
            self.send_error(404, 'the metrics are at /metrics')
            return
        body = self.server.scraper.page()
        self.send_response(200)
        self.send_header('Content-Type', CONTENT_TYPE)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        """No line per scrape in the log."""


def serve(scraper, host, port):
    """An HTTP server for /metrics on (host, port) in a daemon thread; returns the server."""
    class Server(ThreadingHTTPServer):
        address_family = socket.AF_INET6 if ':' in host else socket.AF_INET
        daemon_threads = True
    server = Server((host, port), _MetricsHandler)
    server.scraper = scraper
    thread = threading.Thread(target=server.serve_forever, name='http')
    thread.daemon = True
    thread.start()
    return server


def _address(text):
    host, sep, port = text.rpartition(':')
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError('give HOST:PORT, such as 127.0.0.1:9177, got %r' % text)
    return host.strip('[]') or '0.0.0.0', int(port)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--uri', default='qemu:///system', help='libvirt URI of the node (default %(default)s)')
    parser.add_argument('--listen', type=_address, default='127.0.0.1:9177',
                        help='HOST:PORT to serve /metrics on (default %(default)s)')
    parser.add_argument('--agent-interval', type=float, default=60.0,
                        help='seconds between guest-agent rounds; 0 asks no agent (default %(default)s)')
    parser.add_argument('--agent-timeout', type=float, default=2.0,
                        help='seconds after which an agent that has not answered counts as silent (default %(default)s)')
    parser.add_argument('--agent-workers', type=int, default=4,
                        help='agents asked at the same time (default %(default)s)')
    parser.add_argument('--once', action='store_true', help='print one scrape on standard output and exit')
    parser.add_argument('--log-level', default='WARNING', choices=['DEBUG', 'INFO', 'WARNING', 'ERROR'])
    args = parser.parse_args(argv)
    if args.agent_interval < 0 or args.agent_timeout <= 0 or args.agent_workers < 1:
        parser.error('--agent-interval must be 0 or more, --agent-timeout more than 0 and --agent-workers 1 or more')
    return args


def build(args, open_readonly=None, open_rw=None):
    """(Scraper, agent poller or None) for ``args``; the openers are seams for tests."""
    libvirt.registerErrorHandler(_quiet, None)
    node = Node(args.uri, open_readonly or libvirt.openReadOnly)
    agents = None
    if args.agent_interval > 0:
        agents = AgentPoller(Node(args.uri, open_rw or libvirt.open), args.agent_interval, args.agent_timeout,
                             args.agent_workers)
    return Scraper(node, agents), agents


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=args.log_level, format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    scraper, agents = build(args)
    if args.once:
        if agents is not None:
            agents.poll()
            time.sleep(min(args.agent_timeout, args.agent_interval))
        sys.stdout.write(scraper.page().decode('utf-8'))
        return 0
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    host, port = args.listen
    server = serve(scraper, host, port)
    if agents is not None:
        agents.start()
    LOG.warning('serving %s metrics on http://%s:%d/metrics', args.uri, host, port)
    while not stop.wait(3600):
        pass
    server.shutdown()
    if agents is not None:
        agents.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
