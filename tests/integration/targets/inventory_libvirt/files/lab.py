# -*- coding: utf-8 -*-
"""Make and remove the inventory test lab: an isolated DHCP network and two fixture guests, plus a test:/// node file.

Usage: lab.py up URI PREFIX WORKDIR GUEST_JSON   prints JSON {network, agent_vm, quiet_vm, test_uri}
       lab.py down URI PREFIX                     removes every domain and network named PREFIX*

The agent VM has the guest agent answering and two tags; the quiet VM's agent blocks guest-get-osinfo and
guest-network-get-interfaces, so its address can only come from the DHCP lease.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import sys
import time

import libvirt
from lxml import etree

from harness.fixture_vm import (add_tags, boot, connect, domain_xml, isolated_network_xml, remove_prefixed,
                                run_command, wait_agent)

SUBNET = '10.231.58'


def test_node(workdir, prefix):
    path = os.path.join(workdir, 'node.xml')
    node = etree.Element('node')
    for name, state in (('%st-run' % prefix, 1), ('%st-off' % prefix, 5)):
        dom = etree.SubElement(node, 'domain', type='test', nsmap={'test': 'http://libvirt.org/schemas/domain/test/1.0'})
        etree.SubElement(dom, 'name').text = name
        etree.SubElement(dom, 'memory').text = '131072'
        etree.SubElement(etree.SubElement(dom, 'os'), 'type').text = 'hvm'
        etree.SubElement(dom, '{http://libvirt.org/schemas/domain/test/1.0}runstate').text = str(state)
    with open(path, 'wb') as handle:
        handle.write(etree.tostring(node))
    return 'test://' + path


def lease_of(net, mac):
    for lease in net.DHCPLeases() or []:
        if lease.get('mac', '').lower() == mac.lower():
            return lease.get('ipaddr')
    return None


def mac_of(dom):
    return etree.fromstring(dom.XMLDesc(0)).find('devices/interface/mac').get('address')


def up(uri, prefix, workdir, guest_json):
    with open(guest_json) as handle:
        guest = json.load(handle)
    with connect(uri) as conn:
        return _up(conn, prefix, workdir, guest)


def _up(conn, prefix, workdir, guest):
    net = conn.networkDefineXML(isolated_network_xml('%snet' % prefix, SUBNET))
    net.create()
    agent_vm, quiet_vm = '%sga' % prefix, '%squiet' % prefix
    tagged = add_tags(etree.fromstring(domain_xml(agent_vm, guest, network=net.name())), ['web', 'prod-eu'],
                      {'owner': 'alice'})
    doms = [
        conn.defineXML(etree.tostring(tagged, encoding='unicode')),
        conn.defineXML(domain_xml(quiet_vm, guest, network=net.name(),
                                  extra_cmdline='vmcat.ga_block=guest-get-osinfo,guest-network-get-interfaces')),
    ]
    for dom in doms:
        boot(dom)
    deadline = time.monotonic() + 240
    leases = {}
    while time.monotonic() < deadline and len(leases) < 2:
        for dom in doms:
            address = lease_of(net, mac_of(dom))
            if address:
                leases[dom.name()] = address
        time.sleep(2)
    if len(leases) < 2:
        raise SystemExit('no DHCP lease for %s within 240 s' % [d.name() for d in doms if d.name() not in leases])
    try:  # the agent VM's agent must answer before the inventory is read
        wait_agent(doms[0], deadline - time.monotonic(), command='guest-get-osinfo', interval=2)
    except TimeoutError as exc:
        raise SystemExit(str(exc))
    print(json.dumps({'network': net.name(), 'agent_vm': agent_vm, 'quiet_vm': quiet_vm, 'leases': leases,
                      'test_uri': test_node(workdir, prefix)}))


def down(uri, prefix):
    with connect(uri) as conn:
        remove_prefixed(conn, prefix, libvirt.VIR_DOMAIN_UNDEFINE_NVRAM, networks=True)


if __name__ == '__main__':
    run_command(sys.argv, {'up': (up, 4), 'down': (down, 2)}, __doc__)
