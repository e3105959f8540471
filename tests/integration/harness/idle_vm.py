# -*- coding: utf-8 -*-
"""Define or undefine a minimal, never started VM with one disk, for the "volume in use" tests.

Usage: idle_vm.py URI define NAME DISK_PATH
       idle_vm.py URI undefine NAME
Prints "changed" when it changed something.
"""

import sys

import libvirt
from lxml import etree


def domain_xml(name, path):
    dom = etree.Element('domain', type='qemu')
    etree.SubElement(dom, 'name').text = name
    etree.SubElement(dom, 'memory', unit='MiB').text = '64'
    os_el = etree.SubElement(dom, 'os')
    etree.SubElement(os_el, 'type', arch='x86_64').text = 'hvm'
    devices = etree.SubElement(dom, 'devices')
    disk = etree.SubElement(devices, 'disk', type='file', device='disk')
    etree.SubElement(disk, 'driver', name='qemu', type='qcow2')
    etree.SubElement(disk, 'source', file=path)
    etree.SubElement(disk, 'target', dev='vda', bus='virtio')
    return etree.tostring(dom, encoding='unicode')


def main():
    libvirt.registerErrorHandler(lambda *_: None, None)
    uri, action, name = sys.argv[1:4]
    conn = libvirt.open(uri)
    try:
        try:
            dom = conn.lookupByName(name)
        except libvirt.libvirtError:
            dom = None
        if action == 'define' and dom is None:
            conn.defineXML(domain_xml(name, sys.argv[4]))
            print('changed')
        elif action == 'undefine' and dom is not None:
            dom.undefine()
            print('changed')
    finally:
        conn.close()


if __name__ == '__main__':
    main()
