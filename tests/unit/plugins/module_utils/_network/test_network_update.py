# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._network._update import (
    ADD_LAST,
    DELETE,
    MODIFY,
    SECTION_DNS_HOST,
    SECTION_IP_DHCP_HOST,
    SECTION_IP_DHCP_RANGE,
    sync_lists,
    update_ops,
)
from ansible_collections.vmcat.libvirt.plugins.module_utils._network._definition import apply_options, clone, compare_view

BASE = """
<network>
  <name>lab</name>
  <bridge name='virbr10'/>
  <ip family='ipv6' address='fd00::1' prefix='64'/>
  <ip address='10.0.0.1' prefix='24'>
    <dhcp>
      <range start='10.0.0.100' end='10.0.0.199'/>
      <host mac='52:54:00:00:00:01' name='a' ip='10.0.0.11'/>
      <host mac='52:54:00:00:00:02' name='b' ip='10.0.0.12'/>
    </dhcp>
  </ip>
  <dns><host ip='10.0.0.5'><hostname>nas</hostname></host></dns>
</network>
"""


def params(**kw):
    base = dict(name='lab', mode=None, bridge=None, forward=None, mtu=None, domain=None, ips=None,
                dhcp_hosts=None, purge_dhcp_hosts=True, dns_hosts=None, purge_dns_hosts=True)
    base.update(kw)
    return base


def plan(**kw):
    src = _xml.parse(BASE)
    wanted = clone(src)
    apply_options(wanted, params(**kw))
    synced = sync_lists(src, wanted)
    return src, wanted, synced, update_ops(src, synced)


def summary(ops):
    return [(op.command, op.section, op.index, op.xml) for op in ops]


def host(mac, name, ip):
    return dict(mac=mac, name=name, ip=ip)


def test_nothing_to_do():
    assert plan()[3] == []


def test_add_delete_and_modify_hosts():
    src, wanted, synced, ops = plan(dhcp_hosts=[
        host('52:54:00:00:00:01', 'a', '10.0.0.21'),   # same MAC, new IP: modify
        host('52:54:00:00:00:03', 'c', '10.0.0.13'),   # new: add
    ])                                                  # b: delete
    assert summary(ops) == [
        (DELETE, SECTION_IP_DHCP_HOST, 1, '<host mac="52:54:00:00:00:02" name="b" ip="10.0.0.12"/>'),
        (MODIFY, SECTION_IP_DHCP_HOST, 1, '<host mac="52:54:00:00:00:01" name="a" ip="10.0.0.21"/>'),
        (ADD_LAST, SECTION_IP_DHCP_HOST, 1, '<host mac="52:54:00:00:00:03" name="c" ip="10.0.0.13"/>'),
    ]
    assert compare_view(synced) == compare_view(wanted)
    assert ops[0].describe() == 'delete dhcp host 52:54:00:00:00:02,10.0.0.12,b'


def test_swapped_addresses_fall_back_to_delete_and_add():
    ops = plan(dhcp_hosts=[host('52:54:00:00:00:01', 'a', '10.0.0.12'),
                           host('52:54:00:00:00:02', 'b', '10.0.0.11')])[3]
    commands = [op.command for op in ops]
    # libvirt's MODIFY would find the wrong entry (or clash) for at least one of them
    assert commands.count(DELETE) >= 1 and commands.index(DELETE) == 0
    assert all(commands.index(DELETE) < i for i, c in enumerate(commands) if c == ADD_LAST)
    # replaying the calls on a list the way libvirt does ends with the wanted hosts and never clashes
    entries = [host('52:54:00:00:00:01', 'a', '10.0.0.11'), host('52:54:00:00:00:02', 'b', '10.0.0.12')]
    for op in ops:
        new = dict(mac=op.el.get('mac'), name=op.el.get('name'), ip=op.el.get('ip'))
        clash = [e for e in entries if e['mac'] == new['mac'] or e['ip'] == new['ip'] or e['name'] == new['name']]
        if op.command == DELETE:
            entries.remove(new)
        elif op.command == MODIFY:
            assert len(clash) == 1
            entries[entries.index(clash[0])] = new
        else:
            assert clash == []
            entries.append(new)
    assert sorted(e['ip'] for e in entries) == ['10.0.0.11', '10.0.0.12']
    assert dict((e['name'], e['ip']) for e in entries) == {'a': '10.0.0.12', 'b': '10.0.0.11'}


def test_range_change_is_delete_then_add():
    ops = plan(ips=[{'address': 'fd00::1/64', 'prefix': None, 'dhcp_range': None},
                    {'address': '10.0.0.1/24', 'prefix': None, 'dhcp_range': {'start': '10.0.0.50', 'end': '10.0.0.60'}}])[3]
    assert summary(ops) == [
        (DELETE, SECTION_IP_DHCP_RANGE, 1, '<range start="10.0.0.100" end="10.0.0.199"/>'),
        (ADD_LAST, SECTION_IP_DHCP_RANGE, 1, '<range start="10.0.0.50" end="10.0.0.60"/>'),
    ]


def test_dns_change_is_delete_then_add():
    ops = plan(dns_hosts=[{'ip': '10.0.0.5', 'hostnames': ['nas', 'files']}])[3]
    assert summary(ops) == [
        (DELETE, SECTION_DNS_HOST, -1, '<host ip="10.0.0.5"><hostname>nas</hostname></host>'),
        (ADD_LAST, SECTION_DNS_HOST, -1, '<host ip="10.0.0.5"><hostname>nas</hostname><hostname>files</hostname></host>'),
    ]


def test_moved_subnet_is_not_live_updatable():
    src, wanted, synced, ops = plan(
        ips=[{'address': '10.1.0.1/24', 'prefix': None, 'dhcp_range': None}],
        dhcp_hosts=[host('52:54:00:00:00:01', 'a', '10.1.0.11')])
    assert ops == []
    assert compare_view(synced) == compare_view(src)


def test_bridge_mode_has_no_live_lists():
    src = _xml.parse("<network><name>x</name><forward mode='bridge'/><bridge name='br0'/></network>")
    wanted = clone(src)
    assert update_ops(src, sync_lists(src, wanted)) == []
