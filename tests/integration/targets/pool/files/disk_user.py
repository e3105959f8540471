# -*- coding: utf-8 -*-
"""Define (or remove) a shut-off VM whose disk is a given file, so tests can prove "in use" refusals.

Usage: disk_user.py URI define NAME DISK_PATH | disk_user.py URI undefine NAME
"""

import sys

import libvirt
from lxml import etree


def domain_xml(name, disk_path):
    dom = etree.Element('domain', type='qemu')
    etree.SubElement(dom, 'name').text = name
    etree.SubElement(dom, 'memory', unit='MiB').text = '64'
    os_el = etree.SubElement(dom, 'os')
    etree.SubElement(os_el, 'type').text = 'hvm'
    devices = etree.SubElement(dom, 'devices')
    disk = etree.SubElement(devices, 'disk', type='file', device='disk')
    etree.SubElement(disk, 'driver', name='qemu', type='qcow2')
    etree.SubElement(disk, 'source', file=disk_path)
    etree.SubElement(disk, 'target', dev='vda', bus='virtio')
    return etree.tostring(dom, encoding='unicode')


def main(uri, action, name, disk_path=None):
    libvirt.registerErrorHandler(lambda *args: None, None)
    conn = libvirt.open(uri)
    try:
        if action == 'define':
            conn.defineXML(domain_xml(name, disk_path))
        else:
            try:
                conn.lookupByName(name).undefine()
            except libvirt.libvirtError:
                pass
    finally:
        conn.close()


if __name__ == '__main__':
    main(*sys.argv[1:])
