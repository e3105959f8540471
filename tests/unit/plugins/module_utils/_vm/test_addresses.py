# -*- coding: utf-8 -*-
"""VM addresses from the agent, DHCP leases and ARP, with fake domains and the test driver."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._vm._addresses import (
    check_sources, parse_networks, vm_addresses)
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput
from ansible_collections.vmcat.libvirt.tests.unit.fakes.domain import AGENT, LEASE, MAC, AddressDom
from ansible_collections.vmcat.libvirt.tests.unit.fakes.errors import NOT_CONNECTED, NOT_RUNNING, LibvirtFailure

ARP = {'vnet3': {'hwaddr': MAC.lower(), 'addrs': [{'addr': '10.0.0.7', 'prefix': 0, 'type': 0}]}}
ARP_BROKEN = LibvirtFailure('internal error: wrong nlmsg len')


def test_agent_addresses_without_loopback_and_link_local():
    found = vm_addresses(None, AddressDom(agent=AGENT), ['agent'])
    assert found == [
        {'mac': MAC.lower(), 'interface': 'eth0', 'ip': '10.0.0.5', 'prefix': 24, 'family': 'ipv4', 'source': 'agent'},
        {'mac': MAC.lower(), 'interface': 'eth0', 'ip': '2001:db8::5', 'prefix': 64, 'family': 'ipv6', 'source': 'agent'},
    ]


def test_loopback_and_link_local_on_request():
    found = vm_addresses(None, AddressDom(agent=AGENT), ['agent'], include_loopback=True, include_link_local=True)
    ips = [a['ip'] for a in found]
    assert ips == ['10.0.0.5', '2001:db8::5', 'fe80::5054:ff:feaa:bb01', '169.254.3.4', '127.0.0.1', '::1']
    lo = [a for a in found if a['interface'] == 'lo']
    assert all(a['mac'] is None for a in lo)


def test_sources_in_order_each_address_once():
    dom = AddressDom(agent=AGENT, lease=LEASE, arp=ARP)
    found = vm_addresses(None, dom)
    assert [(a['ip'], a['source']) for a in found] == [
        ('10.0.0.5', 'agent'), ('2001:db8::5', 'agent'), ('10.0.0.6', 'lease'), ('10.0.0.7', 'arp')]
    assert dom.asked == [1, 0, 2]
    arp = found[-1]
    assert arp['prefix'] is None and arp['interface'] == 'vnet3'
    lease_first = vm_addresses(None, AddressDom(agent=AGENT, lease=LEASE), ['lease', 'agent'])
    assert [(a['ip'], a['source']) for a in lease_first] == [
        ('10.0.0.5', 'lease'), ('10.0.0.6', 'lease'), ('2001:db8::5', 'agent')]


def test_a_missing_agent_or_a_stopped_vm_yields_nothing_and_never_raises():
    problems = []
    dom = AddressDom(agent=NOT_CONNECTED, lease=LEASE, arp=ARP_BROKEN)
    found = vm_addresses(None, dom, problems=problems)
    assert [a['ip'] for a in found] == ['10.0.0.5', '10.0.0.6']
    assert problems == ['agent: Guest agent is not responding: QEMU guest agent is not connected',
                        'arp: internal error: wrong nlmsg len']
    assert vm_addresses(None, AddressDom(agent=NOT_RUNNING, lease=NOT_RUNNING, arp=NOT_RUNNING)) == []


def test_network_filter():
    dom = AddressDom(agent=AGENT, lease=LEASE)
    assert [a['ip'] for a in vm_addresses(None, dom, networks=['2001:db8::/32'])] == ['2001:db8::5']
    assert [a['ip'] for a in vm_addresses(None, dom, networks=parse_networks(['10.0.0.6/32', '192.0.2.0/24']))] == [
        '10.0.0.6']
    assert vm_addresses(None, dom, networks=['192.0.2.0/24']) == []


def test_bad_sources_and_networks():
    with pytest.raises(InvalidInput) as err:
        check_sources(['agent', 'dns'])
    assert 'unknown: dns' in str(err.value)
    with pytest.raises(InvalidInput):
        check_sources([])
    with pytest.raises(InvalidInput) as err:
        parse_networks(['10.0.0.0/33'])
    assert "'10.0.0.0/33' is not a network in CIDR notation" in str(err.value)
    assert [str(n) for n in parse_networks(['10.1.2.3/24'])] == ['10.1.2.0/24']


def test_the_test_driver(conn):
    """Real libvirt: the test driver answers every source with one fake address."""
    dom = conn.virt.lookupByName('test')
    found = vm_addresses(conn, dom)
    assert found == [{'mac': 'aa:bb:cc:dd:ee:ff', 'interface': 'testnet0', 'ip': '192.168.122.3', 'prefix': 24,
                      'family': 'ipv4', 'source': 'agent'}]


# -- ARP from /proc/net/arp when libvirt's netlink read fails on a local node --------------------
ARP_FILE = '''IP address       HW type     Flags       HW address            Mask     Device
10.0.0.7         0x1         0x2         52:54:00:aa:bb:01     *        virbr1
10.0.0.8         0x1         0x0         52:54:00:aa:bb:01     *        virbr1
10.0.0.9         0x1         0x2         52:54:00:cc:cc:cc     *        virbr1
bad line
'''
DOM_XML = '''<domain><devices>
  <interface type='network'><mac address='52:54:00:AA:BB:01'/><target dev='vnet3'/></interface>
  <interface type='network'><mac address='52:54:00:aa:bb:02'/><target dev='vnet4'/></interface>
</devices></domain>'''


class FakeConn:
    def __init__(self, uri):
        self.uri = uri

    def getURI(self):
        return self.uri


class ArpBrokenDom(AddressDom):
    def __init__(self, uri):
        super(ArpBrokenDom, self).__init__(arp=ARP_BROKEN)
        self._conn = FakeConn(uri)

    def connect(self):
        return self._conn

    def XMLDesc(self, flags=0):
        return DOM_XML


def test_read_arp_table_keeps_complete_entries(tmp_path):
    from ansible_collections.vmcat.libvirt.plugins.module_utils._vm._addresses import read_arp_table
    path = tmp_path / 'arp'
    path.write_text(ARP_FILE)
    assert read_arp_table(str(path)) == {'52:54:00:aa:bb:01': [('10.0.0.7', 'virbr1')],
                                         '52:54:00:cc:cc:cc': [('10.0.0.9', 'virbr1')]}


@pytest.mark.parametrize('uri, expected', [
    ('qemu:///system', [('vnet3', '10.0.0.7')]),
    ('qemu:///session', [('vnet3', '10.0.0.7')]),
    ('qemu+ssh://root@node1/system', []),  # another host's table is not ours to read
    ('test:///default', []),
])
def test_arp_falls_back_to_the_local_table(tmp_path, monkeypatch, uri, expected):
    from ansible_collections.vmcat.libvirt.plugins.module_utils._vm import _addresses
    path = tmp_path / 'arp'
    path.write_text(ARP_FILE)
    monkeypatch.setattr(_addresses, 'PROC_ARP', str(path))
    problems = []
    found = vm_addresses(None, ArpBrokenDom(uri), ['arp'], problems=problems)
    assert [(a['interface'], a['ip']) for a in found] == expected
    assert all(a['source'] == 'arp' and a['prefix'] is None and a['mac'] == '52:54:00:aa:bb:01' for a in found)
    assert problems == ([] if expected else ['arp: internal error: wrong nlmsg len'])
