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
from harness.fixture_vm import boot, decoded, domain_xml, guest_exec, run_on_vm, say_changed, wait_agent
from harness.guest import CONSOLE_INPUT_FILE


def serial_log(workdir, name):
    return os.path.join(workdir, '%s-serial.log' % name)


def define(conn, name, guest_json, workdir, *flags):
    guest = json.loads(guest_json)

    def make_xml():
        text = domain_xml(name, guest, extra_cmdline='vmcat.console_reader=1', serial_log=serial_log(workdir, name))
        root = etree.fromstring(text.encode())
        if '--tablet' in flags:
            etree.SubElement(root.find('devices'), 'input', type='tablet', bus='usb')
        return etree.tostring(root, encoding='unicode')

    dom, changed = fixture_vm.define(conn, name, make_xml)
    say_changed(changed)
    return dom


def start(conn, name, guest_json, workdir, *flags):
    dom = define(conn, name, guest_json, workdir, *flags)
    say_changed(boot(dom))
    if '--no-agent' not in flags:
        waited = wait_agent(dom, 180, serial_log=serial_log(workdir, name))
        print(json.dumps({'agent_seconds': round(waited, 1)}))


def read(conn, name, expected=None, timeout='30'):
    dom = conn.lookupByName(name)
    deadline = time.monotonic() + float(timeout)
    while True:
        text = decoded(guest_exec(dom, '/bin/sh', ['-c', 'cat %s 2>/dev/null; true' % CONSOLE_INPUT_FILE], check=False))
        if expected is None or expected in text or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    print(json.dumps({'text': text}))


def pause(conn, name):
    conn.lookupByName(name).suspend()
    say_changed(True)


def resume(conn, name):
    conn.lookupByName(name).resume()
    say_changed(True)


def remove(conn, name):
    say_changed(fixture_vm.remove(conn, name))


if __name__ == '__main__':
    run_on_vm(sys.argv, {'define': define, 'start': start, 'read': read, 'pause': pause, 'resume': resume,
                         'remove': remove})
