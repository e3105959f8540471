# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-guest VMs for the vm_input target: define, boot, read what was typed, pause, remove.

The domain comes from the guest fixture's ``domain_xml`` (TCG, machine pc,
QEMU as root, direct kernel boot, serial console to a file, VGA behind VNC
on 127.0.0.1), with the kernel option ``vmcat.console_reader=1``: the guest
appends every line typed on its VGA console (tty1) to /tmp/console-input.txt.
``--tablet`` adds a USB tablet for absolute mouse positions.

Usage: console_vm.py URI define NAME GUEST_JSON WORKDIR [--tablet]
       console_vm.py URI start  NAME GUEST_JSON WORKDIR [--tablet] [--no-agent]
       console_vm.py URI read   NAME [EXPECTED [TIMEOUT]]
       console_vm.py URI pause|resume|remove NAME

``start`` defines the VM when needed, boots it and (unless --no-agent)
waits for its guest agent.  ``read`` prints the console-input file as JSON
({"text": ...}), waiting up to TIMEOUT seconds (default 30) until it
contains EXPECTED.  Prints "changed" when something changed.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import sys
import time

from lxml import etree

from harness import fixture_vm
from harness.fixture_vm import boot, connect, domain_xml
from harness.guest import CONSOLE_INPUT_FILE
from harness.smoke_guest import guest_exec, wait_for_agent


def define(conn, name, guest, workdir, tablet):
    def make_xml():
        text = domain_xml(name, guest, extra_cmdline='vmcat.console_reader=1',
                          serial_log=os.path.join(workdir, '%s-serial.log' % name))
        root = etree.fromstring(text.encode())
        if tablet:
            etree.SubElement(root.find('devices'), 'input', type='tablet', bus='usb')
        return etree.tostring(root, encoding='unicode')

    dom, changed = fixture_vm.define(conn, name, make_xml)
    if changed:
        print('changed')
    return dom


def start(conn, name, guest, workdir, tablet, agent):
    dom = define(conn, name, guest, workdir, tablet)
    if boot(dom):
        print('changed')
    if agent:
        try:
            waited = wait_for_agent(dom, timeout=180)
        except Exception:
            sys.stderr.write(fixture_vm.serial_tail(os.path.join(workdir, '%s-serial.log' % name)))
            raise
        print(json.dumps({'agent_seconds': round(waited, 1)}))


def read(conn, name, expected, timeout):
    dom = conn.lookupByName(name)
    deadline = time.monotonic() + timeout
    while True:
        result = guest_exec(dom, '/bin/sh', ['-c', 'cat %s 2>/dev/null; true' % CONSOLE_INPUT_FILE])
        text = result['stdout']
        if expected is None or expected in text or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    print(json.dumps({'text': text}))


def remove(conn, name):
    if fixture_vm.remove(conn, name):
        print('changed')


def main(argv):
    uri, action, name = argv[1:4]
    with connect(uri) as conn:
        if action in ('define', 'start'):
            guest, workdir = json.loads(argv[4]), argv[5]
            tablet = '--tablet' in argv[6:]
            if action == 'define':
                define(conn, name, guest, workdir, tablet)
            else:
                start(conn, name, guest, workdir, tablet, agent='--no-agent' not in argv[6:])
        elif action == 'read':
            read(conn, name, argv[4] if len(argv) > 4 else None, float(argv[5]) if len(argv) > 5 else 30.0)
        elif action == 'pause':
            conn.lookupByName(name).suspend()
            print('changed')
        elif action == 'resume':
            conn.lookupByName(name).resume()
            print('changed')
        elif action == 'remove':
            remove(conn, name)
        else:
            sys.exit('unknown action %s' % action)


if __name__ == '__main__':
    main(sys.argv)
