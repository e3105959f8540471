# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._network._definition import (
    apply_options,
    changed_option_paths,
    compare_view,
    new_definition,
    restart_view,
    spec_of,
)

FULL = """
<network>
  <name>lab</name>
  <uuid>4b0c8f3e-9b7a-4d51-8a43-2f1c7c0d5e21</uuid>
  <forward mode='nat'><nat><port start='1024' end='65535'/></nat></forward>
  <bridge name='virbr10' stp='on' delay='0'/>
  <mac address='52:54:00:0a:0b:0c'/>
  <mtu size='9000'/>
  <domain name='lab.example.com'/>
  <dns>
    <forwarder addr='9.9.9.9'/>
    <host ip='192.168.110.5'><hostname>nas</hostname><hostname>nas.lab</hostname></host>
  </dns>
  <ip address='192.168.110.1' netmask='255.255.255.0'>
    <tftp root='/srv/tftp'/>
    <dhcp>
      <range start='192.168.110.100' end='192.168.110.199'/>
      <host mac='52:54:00:10:00:01' name='web1' ip='192.168.110.11'/>
      <bootp file='pxelinux.0'/>
    </dhcp>
  </ip>
  <ip family='ipv6' address='fd00:110:0::1' prefix='64'>
    <dhcp><host name='v6' ip='fd00:110::10'/></dhcp>
  </ip>
</network>
"""


def root():
    return _xml.parse(FULL)


def params(**kw):
    base = dict(name='lab', mode=None, bridge=None, forward=None, mtu=None, domain=None, ips=None,
                dhcp_hosts=None, purge_dhcp_hosts=True, dns_hosts=None, purge_dns_hosts=True)
    base.update(kw)
    return base


def test_spec_of_reads_every_managed_part():
    spec = spec_of(root())
    assert spec == {
        'name': 'lab',
        'mode': 'nat',
        'bridge': 'virbr10',
        'forward': {'dev': None},
        'mtu': 9000,
        'domain': 'lab.example.com',
        'ips': [
            {'address': '192.168.110.1', 'prefix': 24,
             'dhcp_range': {'start': '192.168.110.100', 'end': '192.168.110.199'}},
            {'address': 'fd00:110::1', 'prefix': 64, 'dhcp_range': None},
        ],
        'dhcp_hosts': [
            {'mac': '52:54:00:10:00:01', 'ip': '192.168.110.11', 'name': 'web1', 'id': None},
            {'mac': None, 'ip': 'fd00:110::10', 'name': 'v6', 'id': None},
        ],
        'dns_hosts': [{'ip': '192.168.110.5', 'hostnames': ['nas', 'nas.lab']}],
    }


def test_spec_of_defaults():
    isolated = spec_of(_xml.parse("<network><name>x</name><ip address='10.0.0.1'/></network>"))
    assert isolated['mode'] == 'isolated'
    assert isolated['ips'][0]['prefix'] == 8  # libvirt's classful default
    assert spec_of(_xml.parse("<network><name>x</name><forward/></network>"))['mode'] == 'nat'


def test_no_options_change_nothing():
    r = root()
    before = _xml.canonical(r)
    assert apply_options(r, params()) == []
    assert _xml.canonical(r) == before


def test_unknown_parts_survive_an_update():
    r = root()
    apply_options(r, params(mtu=1400, domain='', ips=[
        {'address': '192.168.110.1/25', 'prefix': None,
         'dhcp_range': {'start': '192.168.110.100', 'end': '192.168.110.120'}}],
        dhcp_hosts=[{'mac': '52:54:00:10:00:01', 'ip': '192.168.110.11', 'name': 'web1'}]))
    assert r.find('mac').get('address') == '52:54:00:0a:0b:0c'
    assert r.find('forward/nat/port') is not None
    assert r.find('dns/forwarder') is not None
    ip = r.find('ip')
    assert ip.find('tftp').get('root') == '/srv/tftp'
    assert ip.find('dhcp/bootp').get('file') == 'pxelinux.0'
    assert ip.get('netmask') == '255.255.255.128'
    assert r.find('domain') is None
    assert r.find('mtu').get('size') == '1400'
    # the IPv6 address was not in ips: it is gone, and its host with it
    assert len(r.findall('ip')) == 1
    spec = spec_of(r)
    assert spec['ips'][0]['dhcp_range'] == {'start': '192.168.110.100', 'end': '192.168.110.120'}
    assert [h['ip'] for h in spec['dhcp_hosts']] == ['192.168.110.11']


def test_modes():
    r = root()
    apply_options(r, params(mode='isolated'))
    assert r.find('forward') is None
    apply_options(r, params(mode='route', forward={'dev': 'eth0'}))
    assert r.find('forward').get('mode') == 'route' and r.find('forward').get('dev') == 'eth0'
    # a forward element goes right after name/uuid
    assert [c.tag for c in r][:3] == ['name', 'uuid', 'forward']
    apply_options(r, params(mode='bridge', bridge='br0'))
    assert r.find('forward').get('mode') == 'bridge' and r.find('forward').get('dev') is None
    assert r.find('bridge').attrib == {'name': 'br0'}
    for tag in ('ip', 'dns', 'domain', 'mac', 'mtu'):
        assert r.find(tag) is None, tag
    # leaving bridge mode forgets the host bridge: libvirt picks its own
    apply_options(r, params(mode='open'))
    assert r.find('bridge') is None and r.find('forward').get('mode') == 'open'


def test_forward_dev_replaces_interfaces_libvirt_derived():
    r = _xml.parse("<network><name>x</name><forward mode='route' dev='eth0'><interface dev='eth0'/></forward>"
                   "<ip address='10.0.0.1' prefix='24'/></network>")
    apply_options(r, params(forward={'dev': 'eth1'}))
    assert r.find('forward').get('dev') == 'eth1' and r.find('forward/interface') is None
    apply_options(r, params(forward={'dev': ''}))
    assert r.find('forward').get('dev') is None


def test_hosts_replaced_or_merged():
    r = root()
    apply_options(r, params(dhcp_hosts=[{'mac': '52:54:00:10:00:02', 'ip': '192.168.110.12', 'name': 'db1'}]))
    assert [h['name'] for h in spec_of(r)['dhcp_hosts']] == ['db1']

    r = root()
    apply_options(r, params(purge_dhcp_hosts=False, dhcp_hosts=[
        {'mac': '52:54:00:10:00:02', 'ip': '192.168.110.12', 'name': 'db1'},
        {'mac': None, 'ip': 'fd00:110::10', 'name': 'v6b'}]))  # same IP as v6: replaces it
    assert [h['name'] for h in spec_of(r)['dhcp_hosts']] == ['web1', 'db1', 'v6b']


def test_dns_hosts_replaced_or_merged():
    r = root()
    apply_options(r, params(dns_hosts=[]))
    assert r.find('dns/host') is None and r.find('dns/forwarder') is not None
    r = root()
    apply_options(r, params(purge_dns_hosts=False, dns_hosts=[{'ip': '192.168.110.6', 'hostnames': ['git']}]))
    assert [h['ip'] for h in spec_of(r)['dns_hosts']] == ['192.168.110.5', '192.168.110.6']


def test_hosts_follow_their_subnet_and_orphans_are_reported():
    r = root()
    orphans = apply_options(r, params(ips=[{'address': '10.0.0.1', 'prefix': 24, 'dhcp_range': None}]))
    assert [h['ip'] for h in orphans] == ['192.168.110.11', 'fd00:110::10']


def test_new_definition_is_isolated_by_default():
    r = new_definition(params(name='n', ips=[{'address': 'fd00::1/64', 'prefix': None, 'dhcp_range': None}],
                              dhcp_hosts=[{'ip': 'fd00::5', 'name': 'a'}]))
    assert r.find('forward') is None
    ip = r.find('ip')
    assert ip.get('family') == 'ipv6' and ip.get('prefix') == '64'
    assert ip.find('dhcp/host').attrib == {'name': 'a', 'ip': 'fd00::5'}


def test_compare_view_sees_every_range_and_paths_are_options():
    a = root()
    b = root()
    b.find('ip/dhcp').append(_xml.element('range', start='192.168.110.200', end='192.168.110.210'))
    assert spec_of(a) == spec_of(b)
    assert compare_view(a) != compare_view(b)
    assert changed_option_paths(compare_view(a), compare_view(b)) == ['ips']
    c = root()
    apply_options(c, params(mtu=1500, mode='route', forward={'dev': 'eth0'}))
    assert changed_option_paths(compare_view(a), compare_view(c)) == ['forward.dev', 'mode', 'mtu']
    assert restart_view(spec_of(a)) != restart_view(spec_of(c))
