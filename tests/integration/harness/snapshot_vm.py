# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test VMs for the snapshot targets, made from the guest fixture (tests/integration/harness).

The VM boots the fixture's kernel and initramfs directly (TCG, 256 MiB,
QEMU as root) and has one virtio disk vda: a qcow2 overlay on the fixture's
disk, made in a directory given on the command line.  The guest's root file
system is the initramfs (RAM), so a file in / shows memory state, and bytes
written to /dev/vda show disk state.

Usage: snapshot_vm.py URI define NAME DISK_DIR GUEST_JSON [no-agent]
       snapshot_vm.py URI start NAME [no-wait]   start (when off) and wait for the guest agent
       snapshot_vm.py URI wait NAME              wait for the guest agent
       snapshot_vm.py URI stop NAME              power off at once (destroy)
       snapshot_vm.py URI sh NAME COMMAND        run /bin/sh -c COMMAND through the agent, print its output
       snapshot_vm.py URI write-disk NAME TEXT   write TEXT at 20 MiB into /dev/vda (synced)
       snapshot_vm.py URI read-disk NAME         print what is at 20 MiB of /dev/vda (NUL bytes dropped)
       snapshot_vm.py URI disk NAME              print the disk source of vda in the running definition
       snapshot_vm.py URI remove NAME...         destroy, forget snapshot metadata, undefine
       snapshot_vm.py URI refresh-pool NAME      let a pool see the files in its directory

The serial console goes to NAME-serial.log in the parent of DISK_DIR.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import re
import subprocess
import sys

import libvirt
from lxml import etree

from harness.fixture_vm import connect, decoded, domain_xml, guest_exec, lookup, remove, wait_agent

MARK_SECTOR = 40960  # 20 MiB into the 22 MiB fixture disk
UNDEFINE_FLAGS = libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM


def define(conn, name, disk_dir, guest_json, no_agent=False):
    if lookup(conn, name) is not None:
        print('exists %s' % name)
        return
    guest = json.loads(guest_json)
    if not os.path.isdir(disk_dir):
        os.makedirs(disk_dir)
    disk = os.path.join(disk_dir, name + '.qcow2')
    if not os.path.exists(disk):
        subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', guest['disk'], disk],
                       check=True)
    log_dir = os.path.dirname(os.path.normpath(disk_dir))  # not in a pool's directory
    xml = domain_xml(name, guest, disk=disk, serial_log=os.path.join(log_dir, name + '-serial.log'))
    if no_agent:
        xml = re.sub(r"<channel type=.unix.>.*?</channel>", '', xml, flags=re.S)
    conn.defineXML(xml)
    print('defined %s' % name)


def shell(dom, command):
    status = guest_exec(dom, '/bin/sh', ['-c', command], check=False)
    sys.stdout.write(decoded(status, 'out-data'))
    sys.stderr.write(decoded(status, 'err-data'))
    return status.get('exitcode')


def disk_source(dom):
    root = etree.fromstring(dom.XMLDesc(0).encode())
    for disk in root.findall('devices/disk'):
        if disk.find('target').get('dev') == 'vda':
            return disk.find('source').get('file')
    return None


def remove_all(conn, names):
    for name in names:
        if remove(conn, name, UNDEFINE_FLAGS):
            print('removed %s' % name)


def main(argv):
    uri, action, name = argv[1:4]
    rest = argv[4:]
    with connect(uri) as conn:
        if action == 'define':
            define(conn, name, rest[0], rest[1], 'no-agent' in rest[2:])
            return 0
        if action == 'remove':
            remove_all(conn, [name] + rest)
            return 0
        if action == 'refresh-pool':
            try:
                pool = conn.storagePoolLookupByName(name)
            except libvirt.libvirtError:
                return 0
            if pool.isActive():
                pool.refresh(0)
            return 0
        dom = conn.lookupByName(name)
        if action == 'start':
            if not dom.isActive():
                dom.create()
                print('started %s' % name)
            if 'no-wait' not in rest:
                wait_agent(dom, 120)
        elif action == 'wait':
            wait_agent(dom, 120)
        elif action == 'stop':
            if dom.isActive():
                dom.destroy()
                print('stopped %s' % name)
        elif action == 'sh':
            return shell(dom, rest[0])
        elif action == 'write-disk':
            text = rest[0][:512]  # one whole sector: the text, then zeros
            return shell(dom, "printf '%s' > /tmp/mark && dd if=/dev/zero bs=1 count=%d >> /tmp/mark 2>/dev/null && "
                              "dd if=/tmp/mark of=/dev/vda bs=512 count=1 seek=%d conv=notrunc,fsync 2>/dev/null && sync"
                         % (text, 512 - len(text), MARK_SECTOR))
        elif action == 'read-disk':
            return shell(dom, "echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/vda bs=512 skip=%d count=1 "
                              "2>/dev/null | tr -d '\\000'" % MARK_SECTOR)
        elif action == 'disk':
            print(disk_source(dom))
        else:
            sys.exit('unknown action %s' % action)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
