# -*- coding: utf-8 -*-
"""vm_stats: selection by name and tags, one sample or rates, guest filesystems, errors.

libvirt's test driver gives only the state group of the bulk stats: the
tests that need the other numbers put records in through ``FakeStats``, and
the guest agent is a function put in place of ``agent_command``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._guest_agent import (
    AgentCommandDisabled, AgentNotConfigured)
from ansible_collections.vmcat.libvirt.plugins.module_utils._stats import _readings
from ansible_collections.vmcat.libvirt.plugins.module_utils._stats import _vm_stats
from ansible_collections.vmcat.libvirt.plugins.modules import vm_stats
from ansible_collections.vmcat.libvirt.tests.unit.helpers import FakeClock, TEST_NS, edit_node, fail

META_NS = 'https://vmcat.example/libvirt/vm/1'


def add_vm(node_uri, name, tags=(), running=True):
    tag_xml = ''.join('<vmcat:tag>%s</vmcat:tag>' % t for t in tags)
    xml = ('<domain type="test" xmlns:test="%s"><name>%s</name><memory>1024</memory><os><type>hvm</type></os>'
           '<metadata><vmcat:vm xmlns:vmcat="%s"><vmcat:tags>%s</vmcat:tags></vmcat:vm></metadata>'
           '<test:runstate>%d</test:runstate></domain>' % (TEST_NS, name, META_NS, tag_xml, 1 if running else 5))
    edit_node(node_uri, lambda root: root.insert(0, _xml.parse(xml)))


def record(cpu_seconds, read_bytes=0):
    return {'state.state': 1, 'state.reason': 1, 'cpu.time': int(cpu_seconds * 1e9), 'vcpu.current': 2,
            'vcpu.maximum': 2, 'balloon.current': 1024, 'balloon.maximum': 1024, 'block.count': 1,
            'block.0.name': 'vda', 'block.0.rd.bytes': read_bytes, 'block.0.rd.reqs': 1, 'block.0.wr.bytes': 0,
            'block.0.wr.reqs': 0, 'net.count': 0}


class FakeStats:
    """Stands in for _readings.bulk_stats: the real domains, with the next of ``samples`` as their records."""

    def __init__(self, *samples):
        self.samples = list(samples)
        self.calls = []

    def __call__(self, virconn, doms=None):
        self.calls.append(sorted(d.name() for d in doms))
        numbers = self.samples.pop(0)
        return [(d, numbers.get(d.name(), {'state.state': 5, 'state.reason': 0})) for d in doms]


@pytest.fixture
def clock(monkeypatch):
    made = FakeClock()
    monkeypatch.setattr(_vm_stats, 'clock', made)
    monkeypatch.setattr(_vm_stats, 'sleep', made.sleep)
    return made


def test_one_sample_from_the_test_driver(run_module):
    result = run_module(vm_stats, dict(uri='test:///default', filesystems=False))
    assert result['changed'] is False
    assert result['interval'] is None
    vm = result['vms'][0]
    assert (vm['name'], vm['state'], vm['tags']) == ('test', 'running', [])
    assert vm['cpu_percent'] is None and vm['cpu_time'] is None
    assert vm['guest'] == dict(answered=None, filesystems=None, error=None)
    assert result['node']['cpus'] > 0 and result['node']['running_vms'] == 1
    checked = run_module(vm_stats, dict(uri='test:///default', filesystems=False), check_mode=True)
    assert checked == result


def test_rates_over_the_interval(run_module, node_uri, monkeypatch, clock):
    add_vm(node_uri, 'web1')
    fake = FakeStats({'web1': record(10, 1000)}, {'web1': record(13, 9000)})
    monkeypatch.setattr(_readings, 'bulk_stats', fake)
    result = run_module(vm_stats, dict(uri=node_uri, name='web1', interval=2, filesystems=False))
    assert clock.sleeps == [2]
    assert fake.calls == [['web1'], ['web1']]  # one call per sample, for the chosen VM only
    assert result['interval'] == 2.0
    vm = result['vms'][0]
    assert vm['cpu_time'] == 13.0
    assert vm['cpu_cores'] == 1.5 and vm['cpu_percent'] == 75.0  # 3 CPU seconds in 2 s over 2 vCPUs
    assert vm['disks'][0]['read_bytes_per_second'] == 4000.0
    assert vm['memory']['current'] == 1024 * 1024
    assert result['node']['vm_cpu_cores'] == 1.5


def test_tags_choose_the_vms(run_module, node_uri):
    add_vm(node_uri, 'web1', ['web', 'prod'])
    add_vm(node_uri, 'web2', ['web'], running=False)
    add_vm(node_uri, 'db1', ['db', 'prod'])
    web = run_module(vm_stats, dict(uri=node_uri, tags=['web'], filesystems=False))
    assert [(v['name'], v['state'], v['tags']) for v in web['vms']] == [
        ('web1', 'running', ['prod', 'web']), ('web2', 'shutdown', ['web'])]
    prod_web = run_module(vm_stats, dict(uri=node_uri, tags=['prod', 'web'], filesystems=False))
    assert [v['name'] for v in prod_web['vms']] == ['web1']
    everything = run_module(vm_stats, dict(uri=node_uri, filesystems=False))
    assert [v['name'] for v in everything['vms']] == ['d1', 'db1', 'web1', 'web2']
    assert everything['node']['running_vms'] == 2


def test_guest_filesystems_and_agents_that_cannot_answer(run_module, node_uri, monkeypatch):
    for name in ('ok', 'blocked', 'nochannel', 'silent'):
        add_vm(node_uri, name)
    add_vm(node_uri, 'off', running=False)
    release = threading.Event()
    asked = []

    def agent(dom, command, arguments=None, timeout=5):
        asked.append((dom.name(), command, timeout))
        if dom.name() == 'blocked':
            raise AgentCommandDisabled('guest-get-fsinfo is disabled in blocked: enable it', reason='disabled')
        if dom.name() == 'nochannel':
            raise AgentNotConfigured("VM 'nochannel' has no guest agent channel: add one", reason='no_channel')
        if dom.name() == 'silent':
            release.wait(10)
            return []
        return [{'name': 'vda1', 'mountpoint': '/', 'type': 'ext4', 'used-bytes': 900, 'total-bytes': 1000}]
    monkeypatch.setattr(_vm_stats, 'agent_command', agent)
    try:
        result = run_module(vm_stats, dict(uri=node_uri, agent_timeout=0.3))
    finally:
        release.set()
    guests = dict((v['name'], v['guest']) for v in result['vms'])
    assert guests['ok'] == dict(answered=True, error=None, filesystems=[dict(
        mountpoint='/', device='vda1', type='ext4', used_bytes=900, total_bytes=1000, free_bytes=100,
        used_percent=90.0)])
    assert guests['blocked']['answered'] is True and 'enable it' in guests['blocked']['error']
    assert guests['nochannel']['answered'] is False and 'add one' in guests['nochannel']['error']
    assert guests['silent']['answered'] is False and 'within 0.3s' in guests['silent']['error']
    assert guests['off'] == dict(answered=None, filesystems=None, error=None)  # a shut-off VM is not asked
    assert sorted(a[0] for a in asked) == ['blocked', 'nochannel', 'ok', 'silent']
    assert set(a[1:] for a in asked) == {('guest-get-fsinfo', 0.3)}


def test_a_missing_vm_is_named_with_those_that_exist(run_module):
    msg = fail(run_module, vm_stats, dict(uri='test:///default', name='nosuch'))
    assert "VM 'nosuch' not found" in msg and 'existing VMs: test' in msg


@pytest.mark.parametrize('args, words', [
    (dict(interval=-1), 'interval must be between 0 and 3600'),
    (dict(interval=4000), 'interval must be between 0 and 3600'),
    (dict(agent_timeout=0), 'agent_timeout must be more than 0'),
    (dict(tags=['web', ' ']), 'tags must not be empty'),
])
def test_bad_input_is_refused_before_reading(run_module, monkeypatch, args, words):
    fake = FakeStats()
    monkeypatch.setattr(_readings, 'bulk_stats', fake)
    assert words in fail(run_module, vm_stats, dict(uri='test:///default', **args))
    assert fake.calls == []
