# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import subprocess
import sys
import threading
import time

import pytest
import yaml

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible import constants as C
from ansible.plugins.loader import fragment_loader
from ansible.template import Templar

try:
    from ansible.template import trust_as_template as trusted  # ansible-core 2.19+: only trusted text is templated
except ImportError:  # pragma: no cover - older cores template every str
    def trusted(text):
        return text
from ansible.utils.plugin_docs import add_fragments

from ansible_collections.vmcat.libvirt.plugins.inventory import libvirt as inventory_module
from ansible_collections.vmcat.libvirt.plugins.inventory.libvirt import InventoryModule
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _guest_agent as guest_agent
from ansible_collections.vmcat.libvirt.plugins.module_utils._guest import _guest_info as guest_info
from ansible_collections.vmcat.libvirt.plugins.plugin_utils import _inventory as inv
from ansible_collections.vmcat.libvirt.plugins.plugin_utils import _inventory_collect as collect


META = ('<metadata><vmcat:vm xmlns:vmcat="https://vmcat.example/libvirt/vm/1"><vmcat:tags>%s</vmcat:tags>'
        '<vmcat:data><vmcat:item key="owner" type="str">%s</vmcat:item></vmcat:data></vmcat:vm></metadata>')


def _domain(name, uuid, state=1, tags=(), owner='alice', mac=None):
    tag_xml = ''.join('<vmcat:tag>%s</vmcat:tag>' % t for t in tags)
    nic = ("<devices><interface type='network'><mac address='%s'/><source network='n1'/></interface></devices>" % mac
           if mac else '')
    return ('<domain type="test" xmlns:test="http://libvirt.org/schemas/domain/test/1.0"><name>%s</name><uuid>%s</uuid>'
            '<memory>262144</memory><vcpu>1</vcpu><os><type>hvm</type></os>%s%s<test:runstate>%d</test:runstate></domain>'
            % (name, uuid, META % (tag_xml, owner), nic, state))


NET = ('<network><name>n1</name><bridge name="virbr9"/><ip address="192.168.100.1" netmask="255.255.255.0">'
       '<dhcp><range start="192.168.100.2" end="192.168.100.254"/></dhcp></ip></network>')


def _node_file(tmp_path, name, domains):
    path = tmp_path / ('%s.xml' % name)
    path.write_text('<node><cpu><mhz>2000</mhz><model>i686</model><nodes>1</nodes><sockets>1</sockets><cores>2</cores>'
                    '<threads>1</threads><active>2</active></cpu><memory>8388608</memory>%s%s</node>'
                    % (''.join(domains), NET))
    return 'test://' + str(path)


@pytest.fixture
def nodes(tmp_path):
    a = _node_file(tmp_path, 'a', [
        _domain('web1', '11111111-1111-1111-1111-111111111111', 1, ['web', 'prod-eu'], mac='52:54:00:00:00:01'),
        _domain('db1', '22222222-2222-2222-2222-222222222222', 5, ['db']),
        _domain('shared', '33333333-3333-3333-3333-333333333333', 1),
    ])
    b = _node_file(tmp_path, 'b', [
        _domain('shared', '44444444-4444-4444-4444-444444444444', 1),
        _domain('{{ lookup("pipe", "id") }}', '55555555-5555-5555-5555-555555555555', 1, owner='{{ 7 * 7 }}'),
    ])
    return a, b


def run_inventory(tmp_path, config, cache=True):
    path = tmp_path / 'x.libvirt.yml'
    path.write_text(yaml.safe_dump(dict(config, plugin='vmcat.libvirt.libvirt')))
    plugin = _loaded_plugin()
    warnings = []
    plugin.display = type('D', (), {'warning': lambda self, msg: warnings.append(msg),
                                    'debug': lambda self, msg: None, 'vvv': lambda self, msg: None,
                                    'v': lambda self, msg: None, 'vv': lambda self, msg: None,
                                    'deprecated': lambda self, *a, **k: None})()
    inventory = InventoryData()
    loader = DataLoader()
    plugin.templar = Templar(loader=loader)
    assert plugin.verify_file(str(path))
    plugin.parse(inventory, loader, str(path), cache=cache)
    if getattr(plugin, "_cache", None) is not None:  # what InventoryManager does after parse
        plugin.update_cache_if_changed()
    return inventory, warnings, plugin


def _loaded_plugin():
    """The plugin through Ansible's loader, so its documented options and defaults apply."""
    doc = yaml.safe_load(inventory_module.DOCUMENTATION)
    add_fragments(doc, inventory_module.__file__, fragment_loader=fragment_loader)
    C.config.initialize_plugin_configuration_definitions('inventory', InventoryModule.NAME, doc['options'])
    plugin = InventoryModule()
    plugin._load_name = InventoryModule.NAME
    return plugin


def test_verify_file_by_suffix(tmp_path):
    plugin = InventoryModule()
    for name, ok in (('a.libvirt.yml', True), ('a.libvirt.yaml', True), ('a.yml', False), ('libvirt.yml', False)):
        path = tmp_path / name
        path.write_text('plugin: vmcat.libvirt.libvirt\n')
        assert plugin.verify_file(str(path)) is ok, name


def test_node_names_and_input_errors():
    assert inv.default_node_name('qemu+ssh://root@kvm-1:22/system') == 'kvm_1'
    assert inv.default_node_name('qemu:///system') == 'qemu_system'
    assert inv.parse_nodes(['qemu:///system', {'uri': 'test:///default', 'name': 't'}]) == [
        {'uri': 'qemu:///system', 'name': 'qemu_system'}, {'uri': 'test:///default', 'name': 't'}]
    with pytest.raises(inv.InventoryInputError, match='unique'):
        inv.parse_nodes(['qemu:///system', 'qemu:///system'])
    with pytest.raises(inv.InventoryInputError, match='unknown keys'):
        inv.parse_nodes([{'uri': 'x:///', 'nmae': 'y'}])
    with pytest.raises(inv.InventoryInputError, match='one of state, name, tag'):
        inv.check_filters({'include': [{'colour': 'red'}]})


def test_hosts_groups_vars_and_duplicates(tmp_path, nodes):
    a, b = nodes
    inventory, warnings, _p = run_inventory(tmp_path, {'nodes': [{'uri': a, 'name': 'a'}, {'uri': b, 'name': 'b'}],
                                                       'details': True})
    hosts = sorted(inventory.hosts)
    assert 'web1' in hosts and 'db1' in hosts and 'shared' in hosts and 'b/shared' in hosts
    assert any("'shared'" in w and "b/shared" in w for w in warnings)
    assert inventory.hosts['shared'].vars['vmcat_uuid'] == '33333333-3333-3333-3333-333333333333'
    assert inventory.hosts['b/shared'].vars['vmcat_node'] == 'b'
    web = inventory.hosts['web1'].vars
    assert web['vmcat_state'] == 'running' and web['vmcat_memory'] == 268435456 and web['vmcat_vcpus'] == 1
    assert sorted(web['vmcat_tags']) == ['prod-eu', 'web'] and web['vmcat_metadata'] == {'owner': 'alice'}
    assert web['vmcat_nics'][0]['mac'] == '52:54:00:00:00:01'
    assert 'vmcat_xml' not in web and 'ansible_connection' not in web
    groups = inventory.groups
    assert sorted(h.name for h in groups['node_a'].get_hosts()) == ['db1', 'shared', 'web1']
    assert 'db1' in [h.name for h in groups['state_shutdown'].get_hosts()]
    assert [h.name for h in groups['tag_prod_eu'].get_hosts()] == ['web1']


def test_details_off_by_default(tmp_path, nodes):
    a, b = nodes
    inventory, _w, _p = run_inventory(tmp_path, {'nodes': [{'uri': a, 'name': 'a'}]})
    web = inventory.hosts['web1'].vars
    assert web['vmcat_state'] == 'running' and sorted(web['vmcat_tags']) == ['prod-eu', 'web']
    assert web['vmcat_name'] == 'web1' and web['vmcat_node'] == 'a' and 'vmcat_os' in web
    assert not set(inv.DETAIL_VARS) & set(web)


def test_hostname_formats(tmp_path, nodes):
    a, b = nodes
    inventory, warnings, _p = run_inventory(tmp_path, {'nodes': [{'uri': a, 'name': 'a'}, {'uri': b, 'name': 'b'}],
                                                       'hostname_format': 'node_name'})
    assert {'a/web1', 'a/shared', 'b/shared'} <= set(inventory.hosts) and not warnings
    inventory, _w, _p = run_inventory(tmp_path, {'nodes': [a], 'hostname_format': 'uuid', 'want_xml': True})
    assert '11111111-1111-1111-1111-111111111111' in inventory.hosts
    assert '<name>web1</name>' in inventory.hosts['11111111-1111-1111-1111-111111111111'].vars['vmcat_xml']


def test_filters_skip_shutoff_and_constructed(tmp_path, nodes):
    a, b = nodes
    inventory, _w, _p = run_inventory(tmp_path, {
        'nodes': [a], 'filters': {'include': [{'tag': 'web'}, {'name': 'db*'}], 'exclude': ["vmcat_state == 'shutdown'"]},
        'keyed_groups': [{'key': 'vmcat_metadata.owner', 'prefix': 'owner'}], 'compose': {'big': 'vmcat_memory > 1'}})
    assert sorted(inventory.hosts) == ['web1']
    assert 'owner_alice' in inventory.groups and inventory.hosts['web1'].vars['big'] is True
    # without details, the constructed options still saw vmcat_metadata and vmcat_memory; the host does not get them
    assert 'vmcat_metadata' not in inventory.hosts['web1'].vars and 'vmcat_memory' not in inventory.hosts['web1'].vars
    inventory, _w, _p = run_inventory(tmp_path, {'nodes': [a], 'skip_shutoff': True})
    assert 'db1' not in inventory.hosts and 'web1' in inventory.hosts
    inventory, _w, _p = run_inventory(tmp_path, {'nodes': [a], 'filters': {'include': [{'state': ['shutdown']}]}})
    assert sorted(inventory.hosts) == ['db1']


def test_remote_strings_are_unsafe(tmp_path, nodes):
    a, b = nodes
    inventory, _w, _p = run_inventory(tmp_path, {'nodes': [{'uri': b, 'name': 'b'}], 'details': True,
                                                 'compose': {'owner_copy': 'vmcat_metadata.owner'}})
    evil = '{{ lookup("pipe", "id") }}'
    assert evil in inventory.hosts
    owner = inventory.hosts[evil].vars['vmcat_metadata']['owner']
    assert owner == '{{ 7 * 7 }}'
    templar = Templar(loader=DataLoader(), variables=inventory.hosts[evil].vars)
    # templating the variable gives the text back, never 49
    assert str(templar.template(trusted('{{ vmcat_metadata.owner }}'))) == '{{ 7 * 7 }}'
    assert str(templar.template(trusted('{{ inventory_hostname_short | default(vmcat_name) }}'))) == evil
    assert str(inventory.hosts[evil].vars['owner_copy']) == '{{ 7 * 7 }}'


def test_failing_node_warns_or_fails(tmp_path, nodes):
    a, _b = nodes
    bad = 'test:///nonexistent/node.xml'
    inventory, warnings, _p = run_inventory(tmp_path, {'nodes': [a, bad]})
    assert 'web1' in inventory.hosts
    assert any('test:///nonexistent/node.xml' in w and 'skipped' in w for w in warnings)
    with pytest.raises(AnsibleError, match='nonexistent'):
        run_inventory(tmp_path, {'nodes': [a, bad], 'strict_nodes': True})
    with pytest.raises(AnsibleParserError, match='unique'):
        run_inventory(tmp_path, {'nodes': [a, a]})


def test_node_timeout_and_parallel():
    def slow(node, options):
        time.sleep(5 if node['name'] == 'slow' else 0.5)
        return {'name': node['name'], 'uri': node['uri'], 'vms': [], 'error': None, 'warnings': []}
    started = time.monotonic()
    nodes = [{'name': 'slow', 'uri': 'x:///1'}, {'name': 'fast', 'uri': 'x:///2'}, {'name': 'fast2', 'uri': 'x:///3'}]
    results = collect.collect_nodes(nodes, {'node_timeout': 1.5}, collect=slow)
    assert time.monotonic() - started < 2.5
    assert 'within 1.5s' in results[0]['error'] and results[1]['error'] is None and results[2]['error'] is None


def test_cache_is_used(tmp_path, nodes, monkeypatch):
    a, _b = nodes
    config = {'nodes': [a], 'cache': True, 'cache_plugin': 'jsonfile',
              'cache_connection': str(tmp_path / 'cache'), 'cache_timeout': 600}
    first, _w, _p = run_inventory(tmp_path, config, cache=False)  # refresh: reads nodes and writes the cache
    assert 'web1' in first.hosts
    calls = []
    monkeypatch.setattr(collect, 'collect_nodes', lambda *args, **kw: calls.append(1) or [])
    second, _w, _p = run_inventory(tmp_path, config, cache=True)
    assert calls == [] and sorted(second.hosts) == sorted(first.hosts)
    third, _w, _p = run_inventory(tmp_path, config, cache=False)
    assert calls == [1] and not third.hosts


def test_a_warm_cache_run_loads_neither_libvirt_nor_lxml():
    """The plugin and what it imports at the top leave libvirt and lxml to the collecting code (issue 15)."""
    code = ('import sys; import ansible_collections.vmcat.libvirt.plugins.inventory.libvirt; '
            'print(sorted(m for m in ("libvirt", "lxml", "lxml.etree") if m in sys.modules))')
    out = subprocess.run([sys.executable, '-c', code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True, check=True).stdout
    assert out.strip() == '[]'


def test_os_keys_spelled_as_guest_info_does(tmp_path, nodes):
    """vmcat_os keys use underscores like guest_info's os section, also for a record cached with the agent's dashes."""
    reply = {'id': 'debian', 'kernel-release': '6.1.0-27-cloud-amd64', 'pretty-name': 'Debian GNU/Linux 12',
             'version-id': '12', 'machine': 'x86_64'}
    vm = {'name': 'web1', 'uuid': 'u', 'state': 'running', 'vcpus': 1, 'memory': 1, 'tags': [], 'metadata': {},
          'nics': [], 'graphics': [], 'os': reply}
    variables = inv.host_vars({'name': 'a', 'uri': 'test:///default'}, vm)
    assert variables['vmcat_os'] == {'id': 'debian', 'kernel_release': '6.1.0-27-cloud-amd64',
                                     'pretty_name': 'Debian GNU/Linux 12', 'version_id': '12', 'machine': 'x86_64'}
    assert variables['vmcat_os'] == guest_info.snake(reply)  # the module's own spelling
    assert inv.host_vars({'name': 'a', 'uri': 'test:///default'}, dict(vm, os=None))['vmcat_os'] is None

    a, _b = nodes
    config = {'nodes': [a], 'cache': True, 'cache_plugin': 'jsonfile',
              'cache_connection': str(tmp_path / 'cache'), 'cache_timeout': 600}
    run_inventory(tmp_path, config, cache=False)  # writes the cache

    cache_files = list((tmp_path / 'cache').iterdir())
    assert len(cache_files) == 1
    stored = json.loads(cache_files[0].read_text())
    wrapped = isinstance(stored, dict) and '__payload__' in stored  # ansible-core 2.19 wraps the cached value
    records = json.loads(stored['__payload__']) if wrapped else stored
    records[0]['vms'][0]['os'] = reply  # as a version that kept the agent's dashes cached it
    if wrapped:
        stored['__payload__'] = json.dumps(records)
    cache_files[0].write_text(json.dumps(stored if wrapped else records))
    inventory, _w, _p = run_inventory(tmp_path, config, cache=True)
    os_vars = [h.vars['vmcat_os'] for h in inventory.hosts.values() if h.vars['vmcat_os']]
    assert os_vars == [variables['vmcat_os']]


# -- the guest agent: one question per running VM, and a silent agent costs agent_timeout --------------------------
class _FakeDom(object):
    def name(self):
        return 'vm1'


def _agent_view():
    return {'name': 'vm1', 'uuid': 'u', 'state': 'running', 'vcpus': 1, 'memory': 1, 'tags': [], 'metadata': {},
            'nics': [{'mac': '52:54:00:00:00:01', 'network': 'n1', 'bridge': None}], 'graphics': [],
            'guest_agent': True}


_AGENT_OPTIONS = {'use_agent': True, 'agent_timeout': 2, 'address_sources': ['agent', 'lease', 'arp'],
                  'address_networks': [], 'want_xml': False}


def _described(monkeypatch, agent, options=None):
    """describe_vm of a running VM with an agent channel; ``agent(command)`` stands for the agent."""
    asked, sources = [], []

    def agent_command(dom, command, arguments=None, timeout=5):
        asked.append(command)
        return agent(command)

    def vm_addresses(conn, dom, wanted, networks=None):
        sources.append(list(wanted))
        return [{'mac': '52:54:00:00:00:01', 'interface': 'eth0', 'ip': '192.0.2.5', 'prefix': 24,
                 'family': 'ipv4', 'source': wanted[0]}]
    monkeypatch.setattr(collect, 'agent_command', agent_command)
    monkeypatch.setattr(collect._addresses, 'vm_addresses', vm_addresses)
    record = collect.describe_vm(None, _FakeDom(), dict(_AGENT_OPTIONS, **(options or {})), _agent_view())
    return record, asked, sources


def test_an_answering_agent_is_asked_one_question(monkeypatch):
    """guest-get-osinfo is the liveness check too: no guest-ping before it; the agent address source is used."""
    reply = {'id': 'debian', 'kernel-release': '6.1.0'}
    record, asked, sources = _described(monkeypatch, lambda command: reply)
    assert asked == ['guest-get-osinfo']
    assert record['os'] == reply and sources == [['agent', 'lease', 'arp']]
    assert record['address'] == '192.0.2.5' and record['nics'][0]['addresses'][0]['source'] == 'agent'


def test_an_agent_refusing_osinfo_still_gives_addresses(monkeypatch):
    """An agent that answers "no" to guest-get-osinfo (blocked, or too old) is there: no vmcat_os, agent addresses."""
    def refuse(command):
        raise guest_agent.AgentCommandDisabled('command %s is disabled' % command)
    record, asked, sources = _described(monkeypatch, refuse)
    assert asked == ['guest-get-osinfo'] and record['os'] is None and sources == [['agent', 'lease', 'arp']]


def test_an_unavailable_agent_leaves_the_agent_source_out(monkeypatch):
    def not_connected(command):
        raise guest_agent.AgentNotConnected('guest agent of vm1 is not connected')
    record, asked, sources = _described(monkeypatch, not_connected)
    assert asked == ['guest-get-osinfo'] and record['os'] is None and sources == [['lease', 'arp']]


def test_a_silent_agent_costs_agent_timeout_not_libvirts_wait(monkeypatch):
    """libvirt waits 5 s for a connected but silent agent's guest-sync; the inventory gives up after agent_timeout."""
    def silent(command):
        time.sleep(3)
        return {'id': 'late'}
    started = time.monotonic()
    record, asked, sources = _described(monkeypatch, silent, {'agent_timeout': 0.5})
    assert time.monotonic() - started < 1.5
    assert record['os'] is None and sources == [['lease', 'arp']]


def test_workers_keep_submit_order_bound_threads_and_hand_back_errors():
    running, most = [0], [0]
    lock = threading.Lock()

    def job(index):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        if index == 3:
            raise ValueError('job 3 failed')
        return index * 10
    workers = collect._Workers(2)
    for index in range(6):
        workers.submit('k%d' % index, job, index)
    results = workers.results()
    assert [key for key, _r, _e in results] == ['k0', 'k1', 'k2', 'k3', 'k4', 'k5']
    assert [r for _k, r, e in results if e is None] == [0, 10, 20, 40, 50]
    assert str(results[3][2]) == 'job 3 failed'
    assert most[0] == 2
    single = collect._Workers(0)  # at least one worker
    single.submit('only', job, 1)
    assert single.results() == [('only', 10, None)]
