# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Define, boot or remove a test-guest VM whose disk is a given image, for the template tests.

The domain comes from the guest fixture's ``domain_xml`` (TCG, machine pc,
QEMU as root, BIOS boot from the disk, serial console to a file).

Usage: guest_vm.py URI define NAME DISK GUEST_JSON SERIAL_LOG
       guest_vm.py URI start  NAME DISK GUEST_JSON SERIAL_LOG
       guest_vm.py URI remove NAME

``start`` defines the VM when needed, boots it, waits for its guest agent and
runs ``echo`` through guest-exec; it prints JSON with the agent's wait time
and the command's output.  ``remove`` destroys and undefines it.  Prints
"changed" (define/remove) when something changed.
"""

from __future__ import absolute_import, division, print_function

import json
import sys

from harness import fixture_vm
from harness.fixture_vm import boot, decoded, domain_xml, guest_exec, run_on_vm, say_changed, wait_agent


def define(conn, name, disk, guest_json, serial_log):
    guest = json.loads(guest_json)
    dom, changed = fixture_vm.define(
        conn, name, lambda: domain_xml(name, guest, disk=disk, kernel_boot=False, serial_log=serial_log))
    say_changed(changed)
    return dom


def start(conn, name, disk, guest_json, serial_log):
    dom = define(conn, name, disk, guest_json, serial_log)
    boot(dom)
    try:
        waited = wait_agent(dom, 180)
        result = guest_exec(dom, '/bin/sh', ['-c', 'echo vmcat-template-boot-ok'], check=False)
    except Exception:
        sys.stderr.write(fixture_vm.serial_tail(serial_log))
        raise
    print(json.dumps({'agent_seconds': round(waited, 1), 'stdout': decoded(result), 'exitcode': result.get('exitcode')}))


def remove(conn, name):
    say_changed(fixture_vm.remove(conn, name))


if __name__ == '__main__':
    run_on_vm(sys.argv, {'define': define, 'start': start, 'remove': remove})
