# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._network._network import _update_running
from ansible_collections.vmcat.libvirt.plugins.module_utils._network._update import AFFECT_CONFIG, AFFECT_LIVE
from ansible_collections.vmcat.libvirt.plugins.module_utils._network._definition import apply_options, clone
from ansible_collections.vmcat.libvirt.plugins.modules import network, network_info
from ansible_collections.vmcat.libvirt.tests.unit.helpers import ModuleFail, add_node_vm, four_ways

HOSTS = [{'mac': '52:54:00:00:00:01', 'ip': '192.168.100.11', 'name': 'web1'},
         {'mac': '52:54:00:00:00:02', 'ip': '192.168.100.12', 'name': 'db1'}]


class FakeNet:
    """A persistent network 'x' that records its update() calls."""

    def __init__(self):
        self.calls = []

    def name(self):
        return 'x'

    def isPersistent(self):
        return True

    def update(self, *args):
        self.calls.append(args)


def info(run_module, uri, name):
    return run_module(network_info, dict(uri=uri, name=name))['networks'][0]


def test_create_isolated_network_four_ways(run_module, node_uri):
    args = dict(uri=node_uri, name='lab', bridge='vmcbrab12', domain='lab.test', mtu=9000,
                ips=[dict(address='10.77.0.1/24', dhcp_range=dict(start='10.77.0.100', end='10.77.0.199')),
                     dict(address='fd00:77::1', prefix=64)],
                dhcp_hosts=[dict(mac='52:54:00:77:00:01', ip='10.77.0.11', name='web1')],
                dns_hosts=[dict(ip='10.77.0.5', hostnames=['nas'])],
                active=False, autostart=False)
    first, applied = four_ways(run_module, network, args, same='network')[:2]
    assert first['diff']['before'] == {}
    assert first['actions'] == ['define']
    assert first['network']['mode'] == 'isolated'
    net = applied['network']
    assert net['ips'] == [
        {'address': '10.77.0.1', 'prefix': 24, 'dhcp_range': {'start': '10.77.0.100', 'end': '10.77.0.199'}},
        {'address': 'fd00:77::1', 'prefix': 64, 'dhcp_range': None}]
    assert net['dhcp_hosts'] == [{'mac': '52:54:00:77:00:01', 'ip': '10.77.0.11', 'name': 'web1', 'id': None}]
    assert (net['active'], net['autostart'], net['persistent']) == (False, False, True)
    assert (net['bridge'], net['domain'], net['mtu']) == ('vmcbrab12', 'lab.test', 9000)
    shown = info(run_module, node_uri, 'lab')
    assert shown['dhcp_leases'] == [] and shown['restart_required'] is False
    for key in ('mode', 'bridge', 'ips', 'dhcp_hosts', 'dns_hosts', 'uuid', 'active', 'autostart', 'persistent'):
        assert shown[key] == net[key], key


def test_structural_change_of_stopped_network_four_ways(run_module, node_uri):
    base = dict(uri=node_uri, name='lab', ips=[dict(address='10.78.0.1/24')], active=False)
    run_module(network, base)
    args = dict(base, mode='route', forward=dict(dev='eth0'), mtu=1400)
    first, applied = four_ways(run_module, network, args, same='network')[:2]
    assert first['diff']['before']['mode'] == 'isolated' and first['diff']['after']['mode'] == 'route'
    assert applied['network']['forward'] == {'dev': 'eth0'}
    assert applied['restart_required'] is False and applied['actions'] == ['define']


def test_dhcp_hosts_on_running_network_four_ways(run_module, node_uri):
    assert info(run_module, node_uri, 'n1')['active'] is True
    args = dict(uri=node_uri, name='n1', dhcp_hosts=HOSTS, dns_hosts=[dict(ip='192.168.100.5', hostnames=['nas'])])
    first, applied = four_ways(run_module, network, args, same='network')[:2]
    assert first['actions'] == ['add dhcp host 52:54:00:00:00:01,192.168.100.11,web1',
                                'add dhcp host 52:54:00:00:00:02,192.168.100.12,db1',
                                'add dns host 192.168.100.5=nas']
    assert first['diff']['before']['dhcp_hosts'] == []
    assert [h['name'] for h in first['diff']['after']['dhcp_hosts']] == ['web1', 'db1']
    assert applied['restart_required'] is False and applied['pending_changes'] == []
    assert [h['ip'] for h in info(run_module, node_uri, 'n1')['dhcp_hosts']] == ['192.168.100.11', '192.168.100.12']

    # change one, drop one: modify and delete, still live
    changed = run_module(network, dict(args, dhcp_hosts=[dict(HOSTS[0], ip='192.168.100.21')]))
    assert changed['actions'] == ['delete dhcp host 52:54:00:00:00:02,192.168.100.12,db1',
                                  'modify dhcp host 52:54:00:00:00:01,192.168.100.21,web1']
    assert [h['ip'] for h in info(run_module, node_uri, 'n1')['dhcp_hosts']] == ['192.168.100.21']


def test_purge_false_keeps_other_hosts(run_module, node_uri):
    run_module(network, dict(uri=node_uri, name='n1', dhcp_hosts=HOSTS))
    extra = dict(mac='52:54:00:00:00:03', ip='192.168.100.13', name='cache1')
    args = dict(uri=node_uri, name='n1', dhcp_hosts=[extra], purge_dhcp_hosts=False)
    four_ways(run_module, network, args, same='network')
    assert [h['name'] for h in info(run_module, node_uri, 'n1')['dhcp_hosts']] == ['web1', 'db1', 'cache1']


def test_live_updates_use_live_and_config_flags(conn, make_ctx):
    """A running network whose saved and live definitions agree gets LIVE|CONFIG updates and no redefinition."""
    live = _xml.parse("<network><name>x</name><bridge name='vmcbrzz01'/><ip address='10.9.0.1' prefix='24'/></network>")
    params = dict(name='x', dhcp_hosts=[dict(mac='52:54:00:00:00:09', ip='10.9.0.9')], purge_dhcp_hosts=True)
    wanted = clone(live)
    apply_options(wanted, params)
    ctx, net = make_ctx(conn, params), FakeNet()
    _update_running(ctx, net, clone(live), live, wanted, False)
    assert net.calls == [(3, 4, 0, '<host mac="52:54:00:00:00:09" ip="10.9.0.9"/>', AFFECT_LIVE | AFFECT_CONFIG)]
    assert 'define' not in ctx.actions

    # a pending address change: hosts go live only, and the saved definition is rewritten
    saved = clone(live)
    saved.find('ip').set('prefix', '16')
    ctx = make_ctx(conn, params, check_mode=True)
    _update_running(ctx, FakeNet(), saved, live, wanted, True)
    assert ctx.actions == ['add dhcp host 52:54:00:00:00:09,10.9.0.9', 'define']


def test_stopped_network_lists_use_config_flag(conn, make_ctx):
    from ansible_collections.vmcat.libvirt.plugins.module_utils._network._network import _save_config
    saved = _xml.parse("<network><name>x</name><ip address='10.9.0.1' prefix='24'/></network>")
    wanted = clone(saved)
    apply_options(wanted, dict(dns_hosts=[dict(ip='10.9.0.5', hostnames=['nas'])], purge_dns_hosts=True))
    ctx, net = make_ctx(conn, dict(name='x')), FakeNet()
    _save_config(ctx, net, saved, wanted, structural=False)
    assert net.calls == [(3, 10, -1, '<host ip="10.9.0.5"><hostname>nas</hostname></host>', AFFECT_CONFIG)]
    ctx = make_ctx(conn, dict(name='x'), check_mode=True)
    moved = clone(wanted)
    moved.find('ip').set('prefix', '16')
    _save_config(ctx, FakeNet(), saved, moved, structural=True)
    assert ctx.actions == ['define']


def test_address_change_of_running_network_needs_restart(run_module, node_uri):
    args = dict(uri=node_uri, name='n1', ips=[dict(address='192.168.101.1/24')])
    result = run_module(network, args, check_mode=True)
    assert result['changed'] is True
    assert result['restart_required'] is True and result['pending_changes'] == ['ips']
    assert result['actions'] == ['define']
    restarted = run_module(network, dict(args, restart=True), check_mode=True)
    assert restarted['actions'] == ['define', 'stop', 'start']
    assert restarted['restart_required'] is False and restarted['pending_changes'] == []


def test_invalid_options_fail_before_any_change(run_module, node_uri):
    with pytest.raises(ModuleFail) as failed:
        run_module(network, dict(uri=node_uri, name='n1', ips=[dict(address='192.168.100.1/40')]))
    msg = failed.value.result['msg']
    assert "network 'n1' on %s" % node_uri in msg and 'address/prefix such as' in msg
    with pytest.raises(ModuleFail) as failed:
        run_module(network, dict(uri=node_uri, name='n1', dhcp_hosts=[dict(HOSTS[0]), dict(HOSTS[1], mac=HOSTS[0]['mac'])]))
    assert 'same mac' in failed.value.result['msg']
    assert info(run_module, node_uri, 'n1')['dhcp_hosts'] == []
    # moving the subnet away from static hosts is refused unless the hosts move too
    run_module(network, dict(uri=node_uri, name='n1', dhcp_hosts=HOSTS))
    with pytest.raises(ModuleFail) as failed:
        run_module(network, dict(uri=node_uri, name='n1', ips=[dict(address='192.168.102.1/24')]))
    msg = failed.value.result['msg']
    assert '192.168.100.11, 192.168.100.12 would be outside' in msg and 'set dhcp_hosts' in msg
    moved = run_module(network, dict(uri=node_uri, name='n1', ips=[dict(address='192.168.102.1/24')],
                                     dhcp_hosts=[dict(HOSTS[0], ip='192.168.102.11')]), check_mode=True)
    assert moved['changed'] is True and moved['pending_changes'] == ['dhcp_hosts', 'ips']


def _add_running_vm(node_uri, net_name):
    add_node_vm(node_uri, 'vm-on-net', "<interface type='network'><source network='%s'/></interface>" % net_name,
                running=True, memory_kib=65536)


def test_absent_refuses_network_of_running_vm(run_module, node_uri):
    _add_running_vm(node_uri, 'n1')
    with pytest.raises(ModuleFail) as failed:
        run_module(network, dict(uri=node_uri, name='n1', state='absent'))
    msg = failed.value.result['msg']
    assert "network 'n1' on %s" % node_uri in msg and 'vm-on-net' in msg and 'force: true' in msg
    assert info(run_module, node_uri, 'n1')['active'] is True
    with pytest.raises(ModuleFail):
        run_module(network, dict(uri=node_uri, name='n1', active=False))
    removed = run_module(network, dict(uri=node_uri, name='n1', state='absent', force=True), diff=True)
    assert removed['changed'] is True and removed['actions'] == ['stop', 'undefine']
    assert removed['diff']['after'] == {} and removed['diff']['before']['name'] == 'n1'
    assert run_module(network, dict(uri=node_uri, name='n1', state='absent'))['changed'] is False


def test_absent_four_ways(run_module, node_uri):
    args = dict(uri=node_uri, name='n1', state='absent')
    first, applied = four_ways(run_module, network, args, same='network')[:2]
    assert first['actions'] == ['stop', 'undefine']
    assert applied['network'] == {}
    assert run_module(network_info, dict(uri=node_uri))['networks'] == []


def test_start_and_autostart(run_module, node_uri):
    run_module(network, dict(uri=node_uri, name='n1', active=False))
    first, applied = four_ways(run_module, network, dict(uri=node_uri, name='n1', active=True, autostart=True), same='network')[:2]
    assert first['actions'] == ['start', 'autostart']
    assert applied['network']['active'] is True and applied['network']['autostart'] is True


def test_info_unknown_network_lists_existing(run_module, node_uri):
    with pytest.raises(ModuleFail) as failed:
        run_module(network_info, dict(uri=node_uri, name='nope'))
    assert 'existing networks: n1' in failed.value.result['msg']


def test_restart_refused_while_running_vm_uses_network(run_module, node_uri):
    _add_running_vm(node_uri, 'n1')
    args = dict(uri=node_uri, name='n1', ips=[dict(address='192.168.101.1/24')], restart=True)
    with pytest.raises(ModuleFail) as failed:
        run_module(network, args, check_mode=True)
    assert 'refused to restart' in failed.value.result['msg'] and 'vm-on-net' in failed.value.result['msg']
    forced = run_module(network, dict(args, force=True), check_mode=True)
    assert forced['actions'] == ['define', 'stop', 'start']


def test_transient_network_takes_live_lists_only(conn, make_ctx):
    from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import Refused as RefusedError
    from ansible_collections.vmcat.libvirt.plugins.module_utils._network._network import ensure
    net = conn.virt.networkCreateXML("<network><name>vmc-transient</name><bridge name='vmcbrtr01'/>"
                                     "<ip address='10.66.0.1' prefix='24'/></network>")
    try:
        base = dict(name='vmc-transient', state='present', mode=None, bridge=None, forward=None, mtu=None,
                    domain=None, ips=None, dhcp_hosts=None, purge_dhcp_hosts=True, dns_hosts=None,
                    purge_dns_hosts=True, active=None, autostart=None, restart=False, force=False)
        outcome = ensure(make_ctx(conn, dict(base, dhcp_hosts=[dict(mac='52:54:00:66:00:01', ip='10.66.0.11')])))
        assert outcome.changed and outcome.extra['actions'] == ['add dhcp host 52:54:00:66:00:01,10.66.0.11']
        assert not net.isPersistent()
        assert outcome.after['dhcp_hosts'][0]['ip'] == '10.66.0.11'
        with pytest.raises(RefusedError) as refused:
            ensure(make_ctx(conn, dict(base, mtu=9000)))
        assert 'is transient' in str(refused.value) and '(mtu cannot)' in str(refused.value)
    finally:
        net.destroy()


@pytest.mark.parametrize('name', ['', '.', '..', '.n1', 'n1/..', ' n1'])
@pytest.mark.parametrize('state', ['present', 'absent'])
@pytest.mark.parametrize('check_mode', [True, False])
def test_bad_names_fail_before_any_lookup(run_module, node_uri, monkeypatch, name, state, check_mode):
    from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _connection

    def no_lookup(self, name):
        raise AssertionError('network %r was looked up before its name was checked' % name)

    before = run_module(network_info, dict(uri=node_uri))['networks']
    with monkeypatch.context() as patched:
        patched.setattr(_connection.Connection, 'network', no_lookup)
        with pytest.raises(ModuleFail) as failed:
            run_module(network, dict(uri=node_uri, name=name, state=state, mode='isolated',
                                     ips=[dict(address='10.79.0.1/24')]), check_mode=check_mode)
    msg = failed.value.result['msg']
    assert 'network name %r on %s is not valid' % (name, node_uri) in msg, msg
    assert failed.value.result.get('changed', False) is False
    assert run_module(network_info, dict(uri=node_uri))['networks'] == before


def test_every_translated_call_has_a_hint():
    """A libvirt failure in the network code names the network, the URI and what to do (a hint, not just the code)."""
    import ast
    import os
    from ansible_collections.vmcat.libvirt.plugins.module_utils._network import _network
    folder = os.path.dirname(_network.__file__)
    missing = []
    for file_name in sorted(os.listdir(folder)):
        if not file_name.endswith('.py') or file_name == '__init__.py':  # every file of the _network package
            continue
        with open(os.path.join(folder, file_name)) as source:
            tree = ast.parse(source.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, 'attr', None) == 'translated':
                hint = node.args[2] if len(node.args) > 2 else None
                if hint is None or (isinstance(hint, ast.Constant) and not hint.value):
                    missing.append('%s:%d' % (file_name, node.lineno))
    assert missing == []


def _failing(*_args):
    import libvirt
    raise libvirt.libvirtError('internal error: simulated failure')


def test_read_failure_inside_a_change_names_network_and_uri(conn, make_ctx):
    from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import VmcatError
    from ansible_collections.vmcat.libvirt.plugins.module_utils._network._network import _save_config

    class BrokenNet:
        def name(self):
            return 'x'

        isPersistent = staticmethod(_failing)

    saved = _xml.parse("<network><name>x</name><ip address='10.9.0.1' prefix='24'/></network>")
    wanted = clone(saved)
    apply_options(wanted, dict(dns_hosts=[dict(ip='10.9.0.5', hostnames=['nas'])], purge_dns_hosts=True))
    ctx = make_ctx(conn, dict(name='x'))
    with pytest.raises(VmcatError) as failed:
        _save_config(ctx, BrokenNet(), saved, wanted, structural=False)
    msg = str(failed.value)
    assert "could not read network 'x' on test:///default" in msg and 'simulated failure' in msg
    assert 'check that the network still exists' in msg
    assert ctx.actions == []


def test_read_back_failure_after_a_change_says_the_change_was_made(run_module, node_uri, monkeypatch):
    from ansible_collections.vmcat.libvirt.plugins.module_utils._network import _network as core
    real = core.describe
    calls = []

    def describe_once(net, with_leases=False):
        calls.append(net.name())
        if len(calls) > 1:
            _failing()
        return real(net, with_leases)

    with monkeypatch.context() as patched:
        patched.setattr(core, 'describe', describe_once)
        with pytest.raises(ModuleFail) as failed:
            run_module(network, dict(uri=node_uri, name='n1', autostart=True))
    msg = failed.value.result['msg']
    assert "could not read back network 'n1' on %s" % node_uri in msg
    assert 'the change was made (see actions)' in msg
    assert calls == ['n1', 'n1']  # read before the change, failed reading back after it


# -- bridge names and subnets other networks have ---------------------------------------------------
def _networks(run_module, uri):
    return sorted(n['name'] for n in run_module(network_info, dict(uri=uri))['networks'])


@pytest.mark.parametrize('args, fragments', [
    (dict(name='lab', bridge='virbr9', ips=[dict(address='10.77.0.1/24')]),
     ["bridge 'virbr9' is already the bridge of network 'n1' (running, mode isolated)", 'choose another bridge name']),
    (dict(name='lab', mode='bridge', bridge='virbr9'),
     ["bridge 'virbr9' is already the bridge of network 'n1'", "give them network 'n1'"]),
    (dict(name='lab', bridge='vmcbrlab1', ips=[dict(address='192.168.100.201/24')]),
     ["subnet 192.168.100.0/24 overlaps 192.168.100.0/24 of network 'n1' (running)", 'choose a subnet no other']),
    (dict(name='lab', ips=[dict(address='192.168.100.130/25')]),
     ["subnet 192.168.100.128/25 overlaps 192.168.100.0/24 of network 'n1'"]),
    (dict(name='lab', ips=[dict(address='192.168.0.1/16')]),
     ["subnet 192.168.0.0/16 overlaps 192.168.100.0/24 of network 'n1'", "or remove network 'n1' first"]),
])
def test_a_new_network_may_not_take_another_networks_bridge_or_subnet(run_module, node_uri, args, fragments):
    """Both were accepted without a word (on a real node libvirt fails later, or not at all for stopped networks)."""
    for check_mode in (True, False):
        with pytest.raises(ModuleFail) as failed:
            run_module(network, dict(uri=node_uri, **args), check_mode=check_mode)
        msg = failed.value.result['msg']
        assert msg.startswith("network 'lab' on %s: " % node_uri)
        for fragment in fragments:
            assert fragment in msg
    assert _networks(run_module, node_uri) == ['n1']


def test_an_existing_network_may_not_move_onto_another_networks_bridge_or_subnet(run_module, node_uri):
    run_module(network, dict(uri=node_uri, name='lab', bridge='vmcbrlab1', ips=[dict(address='10.77.0.1/24')],
                             active=False))
    for change in (dict(bridge='virbr9'), dict(ips=[dict(address='192.168.100.2/24')])):
        with pytest.raises(ModuleFail) as failed:
            run_module(network, dict(uri=node_uri, name='lab', **change))
        assert "of network 'n1'" in failed.value.result['msg']
    lab = info(run_module, node_uri, 'lab')
    assert (lab['bridge'], lab['ips'][0]['address']) == ('vmcbrlab1', '10.77.0.1')
    # the stopped network's subnet is refused to n1 as well: only one of them could run
    with pytest.raises(ModuleFail) as failed:
        run_module(network, dict(uri=node_uri, name='n1', ips=[dict(address='10.77.0.9/24')]))
    assert "overlaps 10.77.0.0/24 of network 'lab' (defined, not running)" in failed.value.result['msg']


def test_a_network_keeps_its_own_bridge_and_subnet(run_module, node_uri):
    """Stating a network's own current bridge and subnet is no clash."""
    args = dict(uri=node_uri, name='n1', bridge='virbr9', ips=[dict(address='192.168.100.1/24')])
    assert run_module(network, args, check_mode=True)['changed'] is False
    assert run_module(network, args)['changed'] is False
    moved = run_module(network, dict(args, ips=[dict(address='192.168.100.1/24'), dict(address='10.78.0.1/24')]),
                       check_mode=True)
    assert moved['changed'] is True  # a new subnet next to its own one


def test_other_families_and_other_subnets_do_not_clash(run_module, node_uri):
    args = dict(uri=node_uri, name='lab', bridge='vmcbrlab1', active=False,
                ips=[dict(address='192.168.101.1/24'), dict(address='fd00:100::1/64')])
    assert run_module(network, args)['changed'] is True
    assert _networks(run_module, node_uri) == ['lab', 'n1']


def test_two_networks_on_one_host_bridge_are_left_alone(run_module, node_uri):
    """libvirt allows several mode bridge networks on one existing host bridge."""
    run_module(network, dict(uri=node_uri, name='lan', mode='bridge', bridge='br0'))
    assert run_module(network, dict(uri=node_uri, name='lan2', mode='bridge', bridge='br0'))['changed'] is True
