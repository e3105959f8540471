# -*- coding: utf-8 -*-
"""Define (or remove) a shut-off VM whose disk is a given file, so tests can prove "in use" refusals.

``start`` runs the defined VM (TCG; it sits in the firmware, as the disk is blank), ``stop`` powers it off,
``undefine`` powers it off when it runs and removes it.

Usage: disk_user.py URI define NAME DISK_PATH | disk_user.py URI start|stop|undefine NAME
"""

import sys

import libvirt
from lxml import etree


def domain_xml(name, disk_path):
    dom = etree.Element('domain', type='qemu')
    etree.SubElement(dom, 'name').text = name
    etree.SubElement(dom, 'memory', unit='MiB').text = '64'
    etree.SubElement(dom, 'vcpu').text = '1'
    os_el = etree.SubElement(dom, 'os')
    etree.SubElement(os_el, 'type').text = 'hvm'
    devices = etree.SubElement(dom, 'devices')
    disk = etree.SubElement(devices, 'disk', type='file', device='disk')
    etree.SubElement(disk, 'driver', name='qemu', type='qcow2')
    etree.SubElement(disk, 'source', file=disk_path)
    etree.SubElement(disk, 'target', dev='vda', bus='virtio')
    etree.SubElement(devices, 'memballoon', model='none')
    return etree.tostring(dom, encoding='unicode')


def main(uri, action, name, disk_path=None):
    libvirt.registerErrorHandler(lambda *args: None, None)
    conn = libvirt.open(uri)
    try:
        if action == 'define':
            conn.defineXML(domain_xml(name, disk_path))
        elif action == 'start':
            conn.lookupByName(name).create()
        else:
            try:
                dom = conn.lookupByName(name)
            except libvirt.libvirtError:
                return
            if dom.isActive():
                dom.destroy()
            if action == 'undefine':
                dom.undefine()
    finally:
        conn.close()


if __name__ == '__main__':
    main(*sys.argv[1:])
