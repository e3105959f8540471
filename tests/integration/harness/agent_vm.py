# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test guests for the guest_fs, guest_user and vm_channel targets, and a shell in them through the agent.

Usage: agent_vm.py URI start NAME GUEST_JSON WORKDIR [--cmdline ARGS] [--ext4] [--channel NAME]...
           define (if needed) and boot the test guest; --ext4 attaches vda, a 32 MiB ext4 image made with
           mke2fs -d in WORKDIR (the initramfs root cannot be frozen); --channel adds a unix virtio-serial
           channel NAME; waits until the agent answers
       agent_vm.py URI sh NAME 'COMMAND'      run COMMAND with the guest's busybox sh through guest-exec;
                                              print its stdout, fail when it exits non-zero
       agent_vm.py URI put NAME LOCAL GUEST   copy the file LOCAL to GUEST (mode 0755) through guest-file-*
       agent_vm.py URI remove NAME            destroy and undefine it

Test code: it uses libvirt_qemu directly so a target can set up and check the guest without
the modules under test. Prints "changed" when start/remove changed something.
"""

from __future__ import absolute_import, division, print_function

import argparse
import base64
import json
import os
import subprocess
import sys

from lxml import etree

from harness import fixture_vm
from harness.fixture_vm import agent, boot, connect, define, domain_xml, lookup, remove, say_changed, wait_agent


def shell(dom, command):
    sys.stdout.write(fixture_vm.shell(dom, command, timeout=60, interval=0.2))


def put(dom, local, guest_path):
    with open(local, 'rb') as f:
        data = f.read()
    handle = agent(dom, 'guest-file-open', {'path': guest_path, 'mode': 'w'})
    try:
        agent(dom, 'guest-file-write', {'handle': handle, 'buf-b64': base64.b64encode(data).decode('ascii')})
    finally:
        agent(dom, 'guest-file-close', {'handle': handle})
    shell(dom, 'chmod 0755 %s' % guest_path)


def ext4_image(workdir):
    """A 32 MiB ext4 image with one file, made without root or loop devices (mke2fs -d)."""
    path = os.path.join(workdir, 'data.ext4')
    if not os.path.exists(path):
        content = os.path.join(workdir, 'ext4-content')
        os.makedirs(content, exist_ok=True)
        with open(os.path.join(content, 'hello.txt'), 'w') as f:
            f.write('hello from the host\n')
        subprocess.run(['mke2fs', '-q', '-F', '-t', 'ext4', '-L', 'vmcatdata', '-d', content, path, '32M'],
                       check=True)
    return path


def with_channels(xml, channels):
    root = etree.fromstring(xml)
    devices = root.find('devices')
    for name in channels:
        channel = etree.SubElement(devices, 'channel', type='unix')
        etree.SubElement(channel, 'target', type='virtio', name=name)
    return etree.tostring(root, encoding='unicode')


def start(conn, args):
    guest = json.loads(args.guest)

    def make_xml():
        disk = ext4_image(args.workdir) if args.ext4 else None
        xml = domain_xml(args.name, guest, disk=disk, disk_format='raw', extra_cmdline=args.cmdline,
                         serial_log=os.path.join(args.workdir, '%s-serial.log' % args.name))
        return with_channels(xml, args.channel)

    dom = define(conn, args.name, make_xml)[0]
    say_changed(boot(dom))
    wait_agent(dom, 120, interval=1)


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument('uri')
    parser.add_argument('action', choices=['start', 'sh', 'put', 'remove'])
    parser.add_argument('name')
    parser.add_argument('rest', nargs='*')
    parser.add_argument('--cmdline', default='')
    parser.add_argument('--ext4', action='store_true')
    parser.add_argument('--channel', action='append', default=[])
    args = parser.parse_args(argv[1:])
    with connect(args.uri) as conn:
        dom = lookup(conn, args.name)
        if args.action == 'start':
            args.guest, args.workdir = args.rest
            start(conn, args)
        elif args.action == 'sh':
            shell(dom, args.rest[0])
        elif args.action == 'put':
            put(dom, args.rest[0], args.rest[1])
        else:
            say_changed(remove(conn, args.name))


if __name__ == '__main__':
    main(sys.argv)
