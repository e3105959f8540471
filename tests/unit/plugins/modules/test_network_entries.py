# -*- coding: utf-8 -*-
"""Network entries change one at a time: what tasks running at once do to each other's DHCP and DNS entries."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import StaleRead, VmcatError
from ansible_collections.vmcat.libvirt.plugins.module_utils._network._network import _apply_ops, _update_running, entry_plan
from ansible_collections.vmcat.libvirt.plugins.module_utils._network._update import (
    ADD_LAST, AFFECT_CONFIG, AFFECT_LIVE, DELETE, SECTION_IP_DHCP_HOST, UpdateOp)
from ansible_collections.vmcat.libvirt.plugins.module_utils._network._definition import apply_options, clone, spec_of
from ansible_collections.vmcat.libvirt.plugins.modules import network, network_info
from ansible_collections.vmcat.libvirt.tests.unit.helpers import ModuleFail, four_ways

NET = ("<network><name>shared</name><bridge name='vmcbrsh01'/><ip address='10.70.0.1' prefix='24'>"
       "<dhcp><host mac='52:54:00:70:00:01' ip='10.70.0.11' name='old1'/></dhcp></ip>"
       "<dns><host ip='10.70.0.11'><hostname>old1</hostname></host></dns></network>")
MINE = dict(mac='52:54:00:70:00:02', ip='10.70.0.12', name='mine')
THEIRS = "<host mac='52:54:00:70:00:03' ip='10.70.0.13' name='theirs'/>"


def _params(**kw):
    base = dict(name='shared', state='present', mode=None, bridge=None, forward=None, mtu=None, domain=None,
                ips=None, dhcp_hosts=None, purge_dhcp_hosts=False, dns_hosts=None, purge_dns_hosts=False,
                active=None, autostart=None, restart=False, force=False)
    base.update(kw)
    return base


@pytest.fixture
def shared(conn):
    net = conn.virt.networkDefineXML(NET)
    net.create()
    yield net
    if net.isActive():
        net.destroy()
    net.undefine()


def _hosts(root):
    return sorted(h['name'] for h in spec_of(root)['dhcp_hosts'])


def test_entry_another_task_added_after_this_one_read_survives(conn, make_ctx, shared):
    """The saved definition was read before another task added its host, the running one after: nothing is lost."""
    params = _params(dhcp_hosts=[MINE])
    config = _xml.parse(shared.XMLDesc(0))
    shared.update(ADD_LAST, SECTION_IP_DHCP_HOST, 0, THEIRS, AFFECT_LIVE | AFFECT_CONFIG)
    live = _xml.parse(shared.XMLDesc(0))
    wanted = clone(config)
    apply_options(wanted, params)
    ctx = make_ctx(conn, params)
    _update_running(ctx, shared, config, live, wanted, False)
    assert ctx.actions == ['add dhcp host 52:54:00:70:00:02,10.70.0.12,mine']
    assert _hosts(_xml.parse(shared.XMLDesc(0))) == ['mine', 'old1', 'theirs']


def test_drift_between_running_and_saved_is_never_copied_across(conn, make_ctx):
    """An entry only the running network has stays there; the task's own entry goes into both, one call each."""
    config = _xml.parse(NET)
    live = clone(config)
    live.find('ip/dhcp').append(_xml.parse(THEIRS))
    plan = entry_plan(_params(dhcp_hosts=[MINE]), config, live, True)
    assert [(op.describe(), flags) for op, flags in plan] == [
        ('add dhcp host 52:54:00:70:00:02,10.70.0.12,mine', AFFECT_LIVE | AFFECT_CONFIG)]
    owned = entry_plan(_params(dhcp_hosts=[MINE], purge_dhcp_hosts=True), config, live, True)
    assert [(op.describe(), flags) for op, flags in owned] == [
        ('delete dhcp host 52:54:00:70:00:01,10.70.0.11,old1', AFFECT_LIVE | AFFECT_CONFIG),
        ('delete dhcp host 52:54:00:70:00:03,10.70.0.13,theirs', AFFECT_LIVE),
        ('add dhcp host 52:54:00:70:00:02,10.70.0.12,mine', AFFECT_LIVE | AFFECT_CONFIG)]


def test_a_clashing_entry_is_modified_and_nothing_else_touched(conn, make_ctx):
    config = _xml.parse(NET)
    plan = entry_plan(_params(dhcp_hosts=[dict(mac='52:54:00:70:00:01', ip='10.70.0.21', name='old1')]),
                      config, clone(config), True)
    assert [(op.describe(), flags) for op, flags in plan] == [
        ('modify dhcp host 52:54:00:70:00:01,10.70.0.21,old1', AFFECT_LIVE | AFFECT_CONFIG)]


def test_update_refused_because_another_task_changed_the_entry_starts_over(conn, make_ctx):
    delete = UpdateOp(DELETE, SECTION_IP_DHCP_HOST, 0, _xml.parse(THEIRS))

    class Net:
        def name(self):
            return 'shared'

        def update(self, *args):
            import libvirt
            raise libvirt.libvirtError("couldn't locate a matching dhcp host entry")

    ctx = make_ctx(conn, _params())
    with pytest.raises(StaleRead) as stale:
        _apply_ops(ctx, Net(), [(delete, AFFECT_LIVE | AFFECT_CONFIG)], True, lambda: [])
    assert 'another task changed the entry' in str(stale.value)
    with pytest.raises(VmcatError) as failed:  # still wanted on a fresh read: a real error, said as it is
        _apply_ops(ctx, Net(), [(delete, AFFECT_LIVE | AFFECT_CONFIG)], True,
                   lambda: [(delete, AFFECT_LIVE | AFFECT_CONFIG)])
    assert not isinstance(failed.value, StaleRead) and 'matching dhcp host' in str(failed.value)


def test_own_entries_removed_with_state_absent_four_ways(run_module, node_uri):
    base = dict(uri=node_uri, name='n1', purge_dhcp_hosts=False, purge_dns_hosts=False)
    run_module(network, dict(base, dhcp_hosts=[dict(mac='52:54:00:00:00:01', ip='192.168.100.11', name='a'),
                                               dict(mac='52:54:00:00:00:02', ip='192.168.100.12', name='b')],
                             dns_hosts=[dict(ip='192.168.100.11', hostnames=['a']),
                                        dict(ip='192.168.100.12', hostnames=['b'])]))
    gone = dict(mac='52:54:00:00:00:01', ip='192.168.100.11', state='absent')
    args = dict(base, dhcp_hosts=[gone], dns_hosts=[dict(ip='192.168.100.11', state='absent')])
    applied = four_ways(run_module, network, args, diff=(False, True, False, False))[1]
    assert applied['actions'] == ['delete dhcp host 52:54:00:00:00:01,192.168.100.11,a',
                                  'delete dns host 192.168.100.11=a']
    assert [h['name'] for h in applied['diff']['before']['dhcp_hosts']] == ['a', 'b']
    shown = run_module(network_info, dict(uri=node_uri, name='n1'))['networks'][0]
    assert [h['name'] for h in shown['dhcp_hosts']] == ['b']
    assert shown['dns_hosts'] == [{'ip': '192.168.100.12', 'hostnames': ['b']}]


def test_absent_entry_that_names_another_host_is_no_change(run_module, node_uri):
    base = dict(uri=node_uri, name='n1', purge_dhcp_hosts=False)
    run_module(network, dict(base, dhcp_hosts=[dict(mac='52:54:00:00:00:01', ip='192.168.100.11', name='a')]))
    someone_else = dict(mac='52:54:00:00:00:09', ip='192.168.100.11', state='absent')
    other = run_module(network, dict(base, dhcp_hosts=[someone_else]))
    assert other['changed'] is False and [h['name'] for h in other['network']['dhcp_hosts']] == ['a']


@pytest.mark.parametrize('key,item', [
    ('dhcp_hosts', dict(mac='52:54:00:00:00:01', ip='192.168.100.11', state='absent')),
    ('dns_hosts', dict(ip='192.168.100.11', state='absent')),
])
def test_absent_entries_with_purge_are_refused(run_module, node_uri, key, item):
    with pytest.raises(ModuleFail) as failed:
        run_module(network, {'uri': node_uri, 'name': 'n1', key: [item]}, check_mode=True)
    msg = failed.value.result['msg']
    assert "network 'n1' on %s: %s[0] say state: absent but purge_%s is true" % (node_uri, key, key) in msg
    assert 'set purge_%s: false' % key in msg


def test_present_dns_entry_still_needs_hostnames(run_module, node_uri):
    with pytest.raises(ModuleFail) as failed:
        run_module(network, dict(uri=node_uri, name='n1', dns_hosts=[dict(ip='192.168.100.5')]))
    assert 'has no hostnames' in failed.value.result['msg']
