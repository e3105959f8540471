# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""VMs for the qmp target: a libvirt-managed test guest and a bare QEMU with a QMP socket.

Usage: qmp_vm.py URI start NAME GUEST_JSON WORKDIR   define (if needed) and boot the test guest
       qmp_vm.py URI state NAME                      print libvirt's state of the VM (running, paused, ...)
       qmp_vm.py URI stop|remove NAME                destroy it / destroy and undefine it
       qmp_vm.py - qemu-start SOCKET PIDFILE         start "qemu-system-x86_64 -machine none" with a QMP socket
       qmp_vm.py - qemu-stop SOCKET PIDFILE          kill that QEMU (only if its command line names SOCKET)

Prints "changed" when something changed.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import signal
import subprocess
import sys
import time

from harness.fixture_vm import boot, connect, define, domain_xml, lookup  # tests/integration on PYTHONPATH

STATES = {1: 'running', 3: 'paused', 5: 'shutoff'}


def qemu_start(socket_path, pidfile):
    subprocess.run(['qemu-system-x86_64', '-machine', 'none', '-nodefaults', '-display', 'none',
                    '-qmp', 'unix:%s,server=on,wait=off' % socket_path, '-daemonize', '-pidfile', pidfile],
                   check=True)
    for dummy in range(50):
        if os.path.exists(socket_path):
            break
        time.sleep(0.1)
    print('changed')


def qemu_stop(socket_path, pidfile):
    if not os.path.exists(pidfile):
        return
    with open(pidfile) as f:
        pid = int(f.read().strip())
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            cmdline = f.read().decode(errors='replace')
    except IOError:
        cmdline = ''
    if socket_path in cmdline:
        os.kill(pid, signal.SIGTERM)
        for dummy in range(50):
            if not os.path.exists('/proc/%d' % pid):
                break
            time.sleep(0.1)
        print('changed')
    os.unlink(pidfile)


def main(argv):
    uri, action, name = argv[1:4]
    if action == 'qemu-start':
        return qemu_start(name, argv[4])
    if action == 'qemu-stop':
        return qemu_stop(name, argv[4])
    with connect(uri) as conn:
        dom = lookup(conn, name)
        if action == 'start':
            guest, workdir = json.loads(argv[4]), argv[5]
            dom = define(conn, name, lambda: domain_xml(name, guest, serial_log=os.path.join(workdir, 'serial.log')))[0]
            if boot(dom):
                print('changed')
        elif action == 'state':
            print(STATES.get(dom.state()[0], dom.state()[0]))
        elif action in ('stop', 'remove'):
            if dom is not None and dom.isActive():
                dom.destroy()
                print('changed')
            if dom is not None and action == 'remove':
                dom.undefine()
                print('changed')
        else:
            sys.exit('unknown action %s' % action)
    return None


if __name__ == '__main__':
    main(sys.argv)
