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

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.abspath(os.path.join(HERE, '..', '..', '..')))  # tests/integration

from harness.guest import domain_xml  # noqa: E402  (needs sys.path above)

META_NS = 'https://vmcat.example/libvirt/vm/1'
SUBNET = '10.231.58'


def quiet(*args):
    """libvirt prints every error on stderr by default."""


def network_xml(name):
    net = etree.Element('network')
    etree.SubElement(net, 'name').text = name
    ip = etree.SubElement(net, 'ip', address='%s.1' % SUBNET, netmask='255.255.255.0')
    dhcp = etree.SubElement(ip, 'dhcp')
    etree.SubElement(dhcp, 'range', start='%s.10' % SUBNET, end='%s.50' % SUBNET)
    return etree.tostring(net, encoding='unicode')  # no <forward>: isolated


def with_tags(xml, tags, owner):
    root = etree.fromstring(xml)
    meta = etree.SubElement(root, 'metadata')
    own = etree.SubElement(meta, '{%s}vm' % META_NS, nsmap={'vmcat': META_NS})
    tag_list = etree.SubElement(own, '{%s}tags' % META_NS)
    for tag in tags:
        etree.SubElement(tag_list, '{%s}tag' % META_NS).text = tag
    data = etree.SubElement(own, '{%s}data' % META_NS)
    etree.SubElement(data, '{%s}item' % META_NS, key='owner', type='str').text = owner
    return etree.tostring(root, encoding='unicode')


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
    conn = libvirt.open(uri)
    net = conn.networkDefineXML(network_xml('%snet' % prefix))
    net.create()
    agent_vm, quiet_vm = '%sga' % prefix, '%squiet' % prefix
    doms = [
        conn.defineXML(with_tags(domain_xml(agent_vm, guest, network=net.name()), ['web', 'prod-eu'], 'alice')),
        conn.defineXML(domain_xml(quiet_vm, guest, network=net.name(),
                                  extra_cmdline='vmcat.ga_block=guest-get-osinfo,guest-network-get-interfaces')),
    ]
    for dom in doms:
        dom.create()
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
    import libvirt_qemu
    while True:  # the agent VM's agent must answer before the inventory is read
        try:
            libvirt_qemu.qemuAgentCommand(doms[0], '{"execute": "guest-get-osinfo"}', 5, 0)
            break
        except libvirt.libvirtError:
            if time.monotonic() > deadline:
                raise SystemExit('agent of %s did not answer within 240 s' % agent_vm)
            time.sleep(2)
    print(json.dumps({'network': net.name(), 'agent_vm': agent_vm, 'quiet_vm': quiet_vm, 'leases': leases,
                      'test_uri': test_node(workdir, prefix)}))


def down(uri, prefix):
    conn = libvirt.open(uri)
    for dom in conn.listAllDomains(0):
        if dom.name().startswith(prefix):
            if dom.isActive():
                dom.destroy()
            dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)
    for net in conn.listAllNetworks(0):
        if net.name().startswith(prefix):
            if net.isActive():
                net.destroy()
            net.undefine()


def main(argv):
    libvirt.registerErrorHandler(quiet, None)
    if argv[1:2] == ['up'] and len(argv) == 6:
        up(*argv[2:])
    elif argv[1:2] == ['down'] and len(argv) == 4:
        down(*argv[2:])
    else:
        raise SystemExit(__doc__)


if __name__ == '__main__':
    main(sys.argv)
