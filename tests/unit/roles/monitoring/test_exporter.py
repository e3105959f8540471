# -*- coding: utf-8 -*-
"""The monitoring role's libvirt exporter against fake connections and agents.

What a scrape shows (names, labels, values), that it is one NOWAIT bulk call,
that a silent guest agent never holds a scrape up, that the exporter comes
back after libvirtd went away, and which of the collection's files it needs
on a node (the role installs exactly those).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import os
import threading
import time

import libvirt
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._guest_agent import AgentNotConfigured
from ansible_collections.vmcat.libvirt.tests.unit.fakes.errors import LibvirtFailure
from ansible_collections.vmcat.libvirt.tests.unit.plugins.module_utils._stats.test_readings import RUNNING
from ansible_collections.vmcat.libvirt.tests.unit.roles.monitoring.conftest import EXPORTER, ROLE

PLUGINS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(EXPORTER))), '..', 'plugins')
PREFIX = 'ansible_collections.vmcat.libvirt.plugins.'
LOST = LibvirtFailure('internal error: client socket is closed', libvirt.VIR_ERR_INTERNAL_ERROR)


def _installed_with_it():
    """The module_utils files the role copies beside the exporter (its vars/main/main.yml)."""
    with open(os.path.join(ROLE, 'vars', 'main', 'main.yml')) as handle:
        role_vars = yaml.safe_load(handle)
    return set('module_utils/' + path for path in role_vars['monitoring_exporter_module_utils'])


class FakeDom:
    def __init__(self, name, uuid):
        self._name, self._uuid = name, uuid

    def name(self):
        return self._name

    def UUIDString(self):
        return self._uuid


class FakePool:
    def name(self):
        return 'images'

    def info(self):
        return [2, 1000, 300, 700]


class FakeVirt:
    """A virConnect with two VMs (web1 running, db1 shut off) and one pool; ``lose`` makes its next call fail."""

    def __init__(self, lose=False):
        self.calls = []
        self.alive = 1
        self.lose = lose
        self.closed = False
        self.doms = [FakeDom('web1', 'u-web1'), FakeDom('db1', 'u-db1')]

    def isAlive(self):
        return self.alive

    def close(self):
        self.closed = True

    def getAllDomainStats(self, stats, flags):
        self.calls.append((stats, flags))
        if self.lose:
            self.alive = 0
            raise LOST
        return [(self.doms[0], dict(RUNNING)), (self.doms[1], {'state.state': 5, 'state.reason': 1})]

    def listAllStoragePools(self, flags):
        return [FakePool()]

    def listAllDomains(self, flags):
        return [self.doms[0]]


class Opener:
    """libvirt.openReadOnly for the exporter: hands out the given connections (or raises the given errors)."""

    def __init__(self, *connections):
        self.connections = list(connections)
        self.opened = []

    def __call__(self, uri):
        made = self.connections.pop(0)
        if isinstance(made, Exception):
            raise made
        self.opened.append(made)
        return made


def scrape(scraper):
    """{metric name: [(labels, value)]} of one scrape, read back by prometheus_client's parser of the text format."""
    found = {}
    for family in text_string_to_metric_families(scraper.page().decode('utf-8')):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def one(found, name, **labels):
    values = [v for have, v in found[name] if all(have.get(k) == w for k, w in labels.items())]
    assert len(values) == 1, (name, labels, found.get(name))
    return values[0]


def build(exporter, opener, *extra):
    args = exporter.parse_args(['--uri', 'test:///fake', '--agent-interval', '0'] + list(extra))
    return exporter.build(args, open_readonly=opener)[0]


def test_a_scrape_shows_the_vms_pools_and_node(exporter):
    virt = FakeVirt()
    found = scrape(build(exporter, Opener(virt)))
    assert one(found, 'libvirt_up') == 1
    assert one(found, 'libvirt_domains') == 2
    assert one(found, 'libvirt_domains_by_state', state='running') == 1
    assert one(found, 'libvirt_domains_by_state', state='shutdown') == 1
    assert one(found, 'libvirt_domains_by_state', state='paused') == 0
    assert one(found, 'libvirt_domain_info_state', domain='web1') == 1
    assert found['libvirt_domain_info_state'][0][0] == dict(domain='web1', state_desc='running', reason='booted')
    assert one(found, 'libvirt_domain_info_state', domain='db1', state_desc='shut off', reason='shut down') == 5
    assert one(found, 'libvirt_domain_info_cpu_time_seconds_total', domain='web1') == pytest.approx(9.283314)
    assert one(found, 'libvirt_domain_info_virtual_cpus', domain='web1') == 2
    assert one(found, 'libvirt_domain_vcpu_maximum', domain='web1') == 4
    assert one(found, 'libvirt_domain_vcpu_time_seconds_total', domain='web1', vcpu='0') == pytest.approx(4.57)
    assert one(found, 'libvirt_domain_info_maximum_memory_bytes', domain='web1') == 524288 * 1024
    assert one(found, 'libvirt_domain_info_memory_usage_bytes', domain='web1') == 262144 * 1024
    assert one(found, 'libvirt_domain_memory_stats_unused_bytes', domain='web1') == 186104 * 1024
    assert one(found, 'libvirt_domain_memory_stats_available_bytes', domain='web1') == 223632 * 1024
    assert one(found, 'libvirt_domain_memory_stats_rss_bytes', domain='web1') == 285684 * 1024
    disk = dict(domain='web1', target_device='vda')
    assert one(found, 'libvirt_domain_block_stats_read_bytes_total', **disk) == 409600
    assert one(found, 'libvirt_domain_block_stats_read_requests_total', **disk) == 100
    assert one(found, 'libvirt_domain_block_stats_write_bytes_total', **disk) == 20480
    assert one(found, 'libvirt_domain_block_stats_write_requests_total', **disk) == 5
    assert one(found, 'libvirt_domain_block_stats_capacity_bytes', **disk) == 1073741824
    nic = dict(domain='web1', target_device='vnet7')
    for name, value in (('receive_bytes', 1000), ('receive_packets', 10), ('receive_errors', 0),
                        ('receive_drops', 1), ('transmit_bytes', 2000), ('transmit_packets', 20),
                        ('transmit_errors', 0), ('transmit_drops', 0)):
        assert one(found, 'libvirt_domain_interface_stats_%s_total' % name, **nic) == value
    pool = dict(storage_pool='images')
    assert one(found, 'libvirt_storage_pool_capacity_bytes', **pool) == 1000
    assert one(found, 'libvirt_storage_pool_allocation_bytes', **pool) == 300
    assert one(found, 'libvirt_storage_pool_available_bytes', **pool) == 700
    assert one(found, 'libvirt_storage_pool_state', **pool) == 2
    db1_series = [n for n, samples in found.items() if any(have.get('domain') == 'db1' for have, v in samples)]
    assert db1_series == ['libvirt_domain_info_state']  # a shut-off VM has no numbers but its state
    assert one(found, 'process_resident_memory_bytes') > 0
    assert one(found, 'libvirt_exporter_connects_total') == 1


def test_each_scrape_is_one_bulk_call_with_nowait(exporter):
    virt = FakeVirt()
    registry = build(exporter, Opener(virt))
    for dummy in range(3):
        scrape(registry)
    nowait = libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT
    assert len(virt.calls) == 3
    assert all(flags & nowait for stats, flags in virt.calls)
    assert all(stats & libvirt.VIR_DOMAIN_STATS_BLOCK and stats & libvirt.VIR_DOMAIN_STATS_BALLOON
               for stats, flags in virt.calls)


def test_a_lost_connection_is_opened_again_in_the_same_scrape(exporter):
    lost, fresh = FakeVirt(lose=True), FakeVirt()
    opener = Opener(lost, fresh)
    registry = build(exporter, opener)
    found = scrape(registry)
    assert one(found, 'libvirt_up') == 1
    assert one(found, 'libvirt_domains') == 2
    assert lost.closed and opener.opened == [lost, fresh]
    assert one(found, 'libvirt_exporter_connects_total') == 2


def test_libvirtd_away_gives_up_0_then_it_comes_back(exporter):
    first, later = FakeVirt(), FakeVirt()
    down = LibvirtFailure("Failed to connect socket to '/var/run/libvirt/libvirt-sock-ro': Connection refused",
                          libvirt.VIR_ERR_SYSTEM_ERROR)
    opener = Opener(first, down, later)
    registry = build(exporter, opener)
    assert one(scrape(registry), 'libvirt_up') == 1
    first.alive = 0  # libvirtd stopped: the old connection is dead and a new one is refused
    away = scrape(registry)
    assert one(away, 'libvirt_up') == 0
    assert 'libvirt_domains' not in away and 'libvirt_domain_info_state' not in away
    back = scrape(registry)
    assert one(back, 'libvirt_up') == 1 and one(back, 'libvirt_domains') == 2


def test_another_error_is_not_taken_for_a_lost_connection(exporter):
    class Refusing(FakeVirt):
        def getAllDomainStats(self, stats, flags):
            self.calls.append((stats, flags))
            raise LibvirtFailure('operation forbidden: read only access prevents this', libvirt.VIR_ERR_OPERATION_DENIED)
    virt = Refusing()
    opener = Opener(virt)
    found = scrape(build(exporter, opener))
    assert one(found, 'libvirt_up') == 0
    assert len(virt.calls) == 1 and opener.opened == [virt]


class SlowAgents:
    """agent_command for the poller: web1's agent answers at once, web2's only when released (or never)."""

    def __init__(self):
        self.release = threading.Event()
        self.asked = []

    def __call__(self, dom, command, timeout=5):
        self.asked.append((dom.name(), command, timeout))
        if dom.name() == 'web2':
            self.release.wait(10)
            return []
        return [{'name': 'vda1', 'mountpoint': '/', 'type': 'ext4', 'used-bytes': 60, 'total-bytes': 100}]


def test_a_silent_agent_never_delays_a_scrape(exporter):
    virt = FakeVirt()
    virt.doms.append(FakeDom('web2', 'u-web2'))
    real = virt.getAllDomainStats
    virt.getAllDomainStats = lambda stats, flags: real(stats, flags) + [(virt.doms[2], dict(RUNNING))]
    virt.listAllDomains = lambda flags: [virt.doms[0], virt.doms[2]]
    agents_virt = FakeVirt()
    agents_virt.listAllDomains = virt.listAllDomains
    slow = SlowAgents()
    node = exporter.Node('test:///fake', Opener(virt))
    poller = exporter.AgentPoller(exporter.Node('test:///fake', Opener(agents_virt)), 60, 0.2, 2, ask=slow)
    registry = exporter.Scraper(node, poller)
    try:
        poller.poll()
        deadline = time.monotonic() + 5
        while not any(a['answered'] for a in poller.answers().values()) and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
        found = scrape(registry)
        assert time.monotonic() - started < 1.0  # web2's agent is still being asked (for up to 10 s)
        assert one(found, 'libvirt_domain_guest_agent_up', domain='web1') == 1
        fs = dict(domain='web1', mountpoint='/', device='vda1', fstype='ext4')
        assert one(found, 'libvirt_domain_guest_filesystem_size_bytes', **fs) == 100
        assert one(found, 'libvirt_domain_guest_filesystem_used_bytes', **fs) == 60
        assert 'web2' not in [have['domain'] for have, v in found['libvirt_domain_guest_agent_up']]  # not silent for long
        time.sleep(0.25)
        later = scrape(registry)
        assert one(later, 'libvirt_domain_guest_agent_up', domain='web2') == 0  # out longer than the timeout
        poller.poll()  # the next round does not ask web2 again while its question is out
        assert sorted(a[0] for a in slow.asked).count('web2') == 1
        slow.release.set()
        deadline = time.monotonic() + 5
        while poller.answers().get('u-web2', {}).get('answered') is not True and time.monotonic() < deadline:
            time.sleep(0.01)
        assert one(scrape(registry), 'libvirt_domain_guest_agent_up', domain='web2') == 1
        assert all(a[1:] == ('guest-get-fsinfo', 0.2) for a in slow.asked)
    finally:
        slow.release.set()
        poller.stop()


def test_a_stopped_vm_leaves_the_agent_answers(exporter):
    agents_virt = FakeVirt()
    poller = exporter.AgentPoller(exporter.Node('test:///fake', Opener(agents_virt)), 60, 1, 1,
                                  ask=lambda dom, command, timeout: [])
    try:
        poller.poll()
        deadline = time.monotonic() + 5
        while 'u-web1' not in poller.answers() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert poller.answers()['u-web1'] == dict(answered=True, filesystems=[])
        agents_virt.listAllDomains = lambda flags: []
        poller.poll()
        assert poller.answers() == {}
    finally:
        poller.stop()


def test_a_vm_without_an_agent_channel_has_no_agent_series(exporter):
    def no_channel(dom, command, timeout):
        raise AgentNotConfigured("VM 'web1' has no guest agent channel", reason='no_channel')
    virt = FakeVirt()
    poller = exporter.AgentPoller(exporter.Node('test:///fake', Opener(FakeVirt())), 60, 1, 1, ask=no_channel)
    try:
        poller.poll()
        deadline = time.monotonic() + 5
        while 'u-web1' not in poller.answers() and time.monotonic() < deadline:
            time.sleep(0.01)
        found = scrape(exporter.Scraper(exporter.Node('test:///fake', Opener(virt)), poller))
        assert 'libvirt_domain_guest_agent_up' not in found  # nothing to alert on: it never had an agent
        assert one(found, 'libvirt_domain_info_state', domain='web1') == 1
    finally:
        poller.stop()


def test_listen_address_and_options_are_checked(exporter):
    assert exporter.parse_args(['--listen', '[::1]:9999']).listen == ('::1', 9999)
    assert exporter.parse_args(['--listen', ':9177']).listen == ('0.0.0.0', 9177)
    with pytest.raises(SystemExit):
        exporter.parse_args(['--listen', 'localhost'])
    with pytest.raises(SystemExit):
        exporter.parse_args(['--agent-timeout', '0'])


def _imports_of_ours(path):
    with open(path) as f:
        tree = ast.parse(f.read())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or '').startswith(PREFIX):
            base = node.module[len(PREFIX):].replace('.', '/')
            for alias in node.names:
                file_path = os.path.join(PLUGINS, base, alias.name + '.py')
                found.add(os.path.relpath(file_path, PLUGINS) if os.path.exists(file_path) else base + '.py')
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            assert not any(n and (n == 'ansible' or n.startswith('ansible.')) for n in names), (path, names)
    return found


def test_the_files_installed_with_it_are_all_it_imports():
    """The role copies exactly what the exporter imports beside it; none of those files may need Ansible."""
    needed, todo = set(), [EXPORTER]
    while todo:
        for rel in _imports_of_ours(todo.pop()):
            if rel not in needed:
                needed.add(rel)
                todo.append(os.path.join(PLUGINS, rel))
    assert needed == _installed_with_it()


def test_names_with_quotes_backslashes_and_newlines_survive_the_text_format(exporter):
    virt = FakeVirt()
    odd = 'we"b\\1\nx'
    virt.doms[0] = FakeDom(odd, 'u-odd')
    found = scrape(build(exporter, Opener(virt)))
    assert one(found, 'libvirt_domain_info_virtual_cpus', domain=odd) == 2
    assert one(found, 'libvirt_domain_block_stats_read_bytes_total', domain=odd, target_device='vda') == 409600


def test_an_empty_scrape_is_still_valid_text(exporter):
    series = exporter.Series()
    assert series.text() == ''
    series.gauge('libvirt_up', 'doc', [], [], 0)
    series.counter('libvirt_x_total', 'doc', ['a'], ['1'], 2.5)
    assert series.text() == ('# HELP libvirt_up doc\n# TYPE libvirt_up gauge\nlibvirt_up 0\n'
                             '# HELP libvirt_x_total doc\n# TYPE libvirt_x_total counter\nlibvirt_x_total{a="1"} 2.5\n')
