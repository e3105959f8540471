# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput
from ansible_collections.vmcat.libvirt.plugins.module_utils._network._validate import validate

URI = 'test:///default'


def params(**kw):
    base = dict(name='lab', state='present', mode=None, bridge=None, forward=None, mtu=None, domain=None,
                ips=None, dhcp_hosts=None, purge_dhcp_hosts=True, dns_hosts=None, purge_dns_hosts=True)
    base.update(kw)
    return base


def ip(address, prefix=None, start=None, end=None):
    return dict(address=address, prefix=prefix, dhcp_range=dict(start=start, end=end) if start else None)


def refused(p, current=None):
    with pytest.raises(InvalidInput) as exc:
        validate(p, URI, current)
    msg = str(exc.value)
    assert "network '%s' on %s" % (p['name'], URI) in msg or "network name %r on %s" % (p['name'], URI) in msg
    return msg


def test_good_options_pass():
    validate(params(mode='nat', bridge='vmcbrab12', mtu=9000, domain='lab.example.com',
                    ips=[ip('192.168.110.1/24', start='192.168.110.100', end='192.168.110.199'),
                         ip('fd00:110::1', 64, start='fd00:110::100', end='fd00:110::1ff')],
                    dhcp_hosts=[dict(mac='52:54:00:10:00:01', ip='192.168.110.11', name='web1'),
                                dict(ip='fd00:110::11', name='web1v6'),
                                dict(ip='fd00:110::12', id='0:3:0:1:52:54:0:0:0:1')],
                    dns_hosts=[dict(ip='192.168.110.5', hostnames=['nas', 'nas.lab'])]), URI)


def test_absent_checks_only_the_name():
    validate(params(state='absent', ips=[ip('not an address')]), URI)


def test_name_with_slash():
    msg = refused(params(name='a/b'))
    assert "must not contain '/'" in msg and "'a-b'" in msg


@pytest.mark.parametrize('name, text, suggested', [
    ('', 'must not be empty', None),
    ('   ', 'must not be empty', None),
    ('.', "must not be '.' or '..'", "'lab'"),
    ('..', "must not be '.' or '..'", "'lab'"),
    ('.hidden', "must not start with '.'", "'hidden'"),
    ('../etc', "must not contain '/'", "'-etc'"),
    (' lab', 'must not start or end with whitespace', "'lab'"),
    ('la\nb', 'must not contain control characters', "'lab'"),
])
def test_bad_names_refused(name, text, suggested):
    for state in ('present', 'absent'):
        with pytest.raises(InvalidInput) as exc:
            validate(params(name=name, state=state), URI)
        msg = str(exc.value)
        assert text in msg and URI in msg and repr(name) in msg, msg
        if suggested:
            assert 'choose a name such as %s' % suggested in msg


@pytest.mark.parametrize('name', ['lab', 'lab.1', 'a..b', 'vmcit-e1c0e3-net', 'x.'])
def test_good_names_pass(name):
    validate(params(name=name), URI)


@pytest.mark.parametrize('entry, text', [
    (ip('192.168.1.300/24'), 'is not a valid address with prefix'),
    (ip('192.168.1.1/33'), 'is not a valid address with prefix'),
    (ip('192.168.1.1'), 'has no prefix'),
    (ip('192.168.1.1/24', 16), 'disagree'),
    (ip('192.168.1.0/24'), 'is the network address'),
    (ip('192.168.1.255/24'), 'is the broadcast address'),
    (ip('192.168.1.1/24', start='192.168.2.10', end='192.168.2.20'), 'is not inside the subnet 192.168.1.0/24'),
    (ip('192.168.1.1/24', start='192.168.1.20', end='192.168.1.10'), 'after its end'),
    (ip('192.168.1.1/24', start='192.168.1.1', end='192.168.1.10'), 'holds the address of the network itself'),
    (ip('192.168.1.1/24', start='192.168.1.2', end='192.168.1.255'), 'network or broadcast'),
    (ip('192.168.1.1/24', start='fd00::2', end='fd00::3'), 'is not inside the subnet'),
    (ip('192.168.1.1/24', start='x', end='192.168.1.3'), "'x' is not an IP address"),
])
def test_bad_addresses(entry, text):
    assert text in refused(params(ips=[entry]))


def test_overlapping_subnets():
    assert 'overlap' in refused(params(ips=[ip('10.0.0.1/16'), ip('10.0.1.1/24')]))


def test_dhcp_on_two_ipv4_addresses():
    msg = refused(params(ips=[ip('10.0.0.1/24', start='10.0.0.10', end='10.0.0.20'), ip('10.1.0.1/24')],
                         dhcp_hosts=[dict(mac='52:54:00:00:00:01', ip='10.1.0.5')]))
    assert 'more than one IPv4 address' in msg


@pytest.mark.parametrize('hosts, text', [
    ([dict(mac='52:54:00:00:00:1', ip='10.0.0.5')], 'is not a MAC address'),
    ([dict(mac='52:54:00:00:00:01', ip='10.0.0.5'), dict(mac='52:54:00:00:00:01', ip='10.0.0.6')], 'same mac'),
    ([dict(mac='52:54:00:00:00:01', ip='10.0.0.5'), dict(mac='52:54:00:00:00:02', ip='10.0.0.5')], 'same ip'),
    ([dict(mac='52:54:00:00:00:01', ip='10.0.0.5', name='a'), dict(mac='52:54:00:00:00:02', ip='10.0.0.6', name='a')],
     'same name'),
    ([dict(ip='10.0.0.5')], 'neither mac nor name'),
    ([dict(ip='10.9.0.5', mac='52:54:00:00:00:01')], 'is not in any subnet'),
    ([dict(ip='10.0.0.1', mac='52:54:00:00:00:01')], 'is the address of the network itself'),
    ([dict(ip='fd00::5', mac='52:54:00:00:00:01')], 'DHCPv6 does not match clients by MAC'),
    ([dict(ip='fd00::5')], 'neither name nor id'),
])
def test_bad_dhcp_hosts(hosts, text):
    assert text in refused(params(ips=[ip('10.0.0.1/24'), ip('fd00::1/64')], dhcp_hosts=hosts))


def test_hosts_checked_against_existing_addresses():
    current = dict(mode='isolated', ips=[dict(address='10.0.0.1', prefix=24, dhcp_range=None)])
    validate(params(dhcp_hosts=[dict(mac='52:54:00:00:00:01', ip='10.0.0.5')]), URI, current)
    assert 'subnets: 10.0.0.0/24' in refused(params(dhcp_hosts=[dict(mac='52:54:00:00:00:01', ip='10.1.0.5')]), current)


@pytest.mark.parametrize('hosts, text', [
    ([dict(ip='10.0.0.5', hostnames=[])], 'has no hostnames'),
    ([dict(ip='10.0.0.5', hostnames=['bad name'])], 'is not a DNS name'),
    ([dict(ip='10.0.0.5', hostnames=['a']), dict(ip='10.0.0.5', hostnames=['b'])], 'both have the ip'),
    ([dict(ip='10.0.0.5', hostnames=['a']), dict(ip='10.0.0.6', hostnames=['a'])], 'both have the hostname'),
])
def test_bad_dns_hosts(hosts, text):
    assert text in refused(params(dns_hosts=hosts))


def test_bridge_mode_rules():
    assert 'needs the name of an existing host bridge' in refused(params(mode='bridge'))
    assert 'ips is set' in refused(params(mode='bridge', bridge='br0', ips=[ip('10.0.0.1/24')]))
    assert 'mtu is set' in refused(params(mode='bridge', bridge='br0', mtu=9000))
    validate(params(mode='bridge', bridge='br0', ips=[]), URI)
    # an existing bridge network keeps its bridge name
    validate(params(mode='bridge'), URI, dict(mode='bridge', bridge='br0'))
    # but a managed network's own bridge is not a host bridge
    assert 'existing host bridge' in refused(params(mode='bridge'), dict(mode='nat', bridge='virbr3'))


def test_other_options():
    assert 'not a valid Linux interface name' in refused(params(bridge='a-very-long-bridge-name'))
    assert 'not a valid Linux interface name' in refused(params(bridge='br 0'))
    assert 'forward.dev only applies' in refused(params(mode='isolated', forward=dict(dev='eth0')))
    assert 'out of range' in refused(params(mtu=20))
    assert 'not a DNS domain name' in refused(params(domain='bad domain'))
    assert "mode 'nat' needs an address" in refused(params(mode='nat'))
    validate(params(mtu=0, domain='', forward=dict(dev='')), URI)
