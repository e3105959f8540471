# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start or remove a tiny TCG VM with one NIC on a network, for "network in use" tests.

The VM has no disk: it sits in the firmware (SeaBIOS, then the NIC's PXE ROM
asking the network's DHCP server for an address), which is all a test of
"a running VM uses this network" needs.  64 MiB, one vCPU, TCG only.

Usage: tiny_vm.py URI NAME start NETWORK [MAC]
       tiny_vm.py URI NAME state     (prints running, shut off, ... or missing)
       tiny_vm.py URI NAME remove
"""

from __future__ import absolute_import, division, print_function

import sys

import libvirt
from lxml import etree


_STATES = {
    libvirt.VIR_DOMAIN_RUNNING: 'running',
    libvirt.VIR_DOMAIN_PAUSED: 'paused',
    libvirt.VIR_DOMAIN_SHUTOFF: 'shut off',
    libvirt.VIR_DOMAIN_CRASHED: 'crashed',
}


def domain_xml(name, network, mac):
    dom = etree.Element('domain', type='qemu')
    etree.SubElement(dom, 'name').text = name
    etree.SubElement(dom, 'memory', unit='MiB').text = '64'
    etree.SubElement(dom, 'vcpu').text = '1'
    os_el = etree.SubElement(dom, 'os')
    etree.SubElement(os_el, 'type', arch='x86_64', machine='pc').text = 'hvm'
    etree.SubElement(os_el, 'boot', dev='network')
    features = etree.SubElement(dom, 'features')
    etree.SubElement(features, 'acpi')
    etree.SubElement(dom, 'on_poweroff').text = 'destroy'
    devices = etree.SubElement(dom, 'devices')
    iface = etree.SubElement(devices, 'interface', type='network')
    etree.SubElement(iface, 'source', network=network)
    etree.SubElement(iface, 'model', type='e1000')
    if mac:
        etree.SubElement(iface, 'mac', address=mac)
    etree.SubElement(devices, 'graphics', type='vnc', listen='127.0.0.1', autoport='yes')
    etree.SubElement(devices, 'memballoon', model='none')
    return etree.tostring(dom, encoding='unicode')


def main(argv):
    uri, name, action = argv[1:4]
    libvirt.registerErrorHandler(lambda *_: None, None)
    conn = libvirt.open(uri)
    try:
        try:
            dom = conn.lookupByName(name)
        except libvirt.libvirtError:
            dom = None
        if action == 'start':
            if dom is None:
                dom = conn.defineXML(domain_xml(name, argv[4], argv[5] if len(argv) > 5 else None))
            if not dom.isActive():
                dom.create()
            print('started %s' % name)
        elif action == 'state':
            if dom is None:
                print('missing')
            else:
                print(_STATES.get(dom.state()[0], 'other'))
        elif action == 'remove':
            if dom is not None:
                if dom.isActive():
                    dom.destroy()
                dom.undefine()
                print('removed %s' % name)
        else:
            sys.exit('unknown action %s' % action)
    finally:
        conn.close()


if __name__ == '__main__':
    main(sys.argv)
