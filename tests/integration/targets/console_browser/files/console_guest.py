# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The console_browser target's guest: one test VM with VNC and SPICE on 127.0.0.1, and what the target asks of it.

Usage: console_guest.py URI start  NAME GUEST_JSON WORKDIR   define, boot, wait for the agent; JSON ports
       console_guest.py URI read   NAME EXPECTED [TIMEOUT]   JSON {"text"}: lines typed on the VGA console
       console_guest.py URI pause|resume|remove NAME        (resume: only when paused)
       console_guest.py listeners PORT...                    JSON {port: [listening addresses]}
       console_guest.py free-port                            a free TCP port on 127.0.0.1

The VM is the guest fixture's (``harness.guest.domain_xml``: TCG, VGA,
VNC on 127.0.0.1, serial console to a file) with a SPICE display beside the
VNC one, also on 127.0.0.1, and the kernel option ``vmcat.console_reader=1``:
the guest appends every line typed on its VGA console to a file, read back
through the guest agent.  ``listeners`` reads /proc/net/tcp and tcp6, so it
sees every socket on the machine whoever owns it.
Prints "changed" (or a JSON "changed" key) when something changed.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import socket
import sys
import time

import libvirt
from lxml import etree

from harness import fixture_vm
from harness.guest import CONSOLE_INPUT_FILE
from harness.smoke_guest import guest_exec

LISTEN = '0A'  # TCP_LISTEN in /proc/net/tcp


def define(conn, name, guest, workdir):
    def make_xml():
        text = fixture_vm.domain_xml(name, guest, extra_cmdline='vmcat.console_reader=1',
                                     serial_log=os.path.join(workdir, '%s.serial.log' % name))
        root = etree.fromstring(text.encode())
        spice = etree.SubElement(root.find('devices'), 'graphics', type='spice', autoport='yes', listen='127.0.0.1')
        etree.SubElement(spice, 'listen', type='address', address='127.0.0.1')
        return etree.tostring(root, encoding='unicode')

    return fixture_vm.define(conn, name, make_xml)


def ports(dom):
    """The VNC and SPICE ports of the running VM."""
    root = etree.fromstring(dom.XMLDesc(0))
    return {'%s_port' % g.get('type'): int(g.get('port')) for g in root.findall('devices/graphics')}


def start(conn, name, guest, workdir):
    dom, changed = define(conn, name, guest, workdir)
    changed = fixture_vm.boot(dom) or changed
    waited = fixture_vm.wait_agent(dom, 180, serial_log=os.path.join(workdir, '%s.serial.log' % name))
    return dict(ports(dom), changed=changed, agent_seconds=round(waited, 1))


def read(conn, name, expected, timeout):
    """The console-input file, once it holds expected (or after timeout)."""
    dom = conn.lookupByName(name)
    deadline = time.monotonic() + timeout
    while True:
        text = guest_exec(dom, '/bin/sh', ['-c', 'cat %s 2>/dev/null; true' % CONSOLE_INPUT_FILE])['stdout']
        if expected in text or time.monotonic() > deadline:
            return {'text': text}
        time.sleep(0.3)


def _address(hex_address):
    """'0100007F:1770' -> '127.0.0.1'; IPv6 addresses as /proc shows them (32 hex digits) -> '::...' form."""
    host = hex_address.split(':')[0]
    if len(host) == 8:
        return socket.inet_ntop(socket.AF_INET, bytes.fromhex(host)[::-1])
    words = b''.join(bytes.fromhex(host[i:i + 8])[::-1] for i in range(0, 32, 8))
    return socket.inet_ntop(socket.AF_INET6, words)


def listeners(wanted):
    """For each port, the local addresses with a listening TCP socket on it (IPv4 and IPv6)."""
    found = {str(port): [] for port in wanted}
    for table in ('/proc/net/tcp', '/proc/net/tcp6'):
        with open(table) as f:
            next(f)
            for line in f:
                fields = line.split()
                local, state = fields[1], fields[3]
                port = str(int(local.split(':')[1], 16))
                if state == LISTEN and port in found:
                    found[port].append(_address(local))
    return found


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def main(argv):
    if argv[1] == 'listeners':
        print(json.dumps(listeners(argv[2:])))
        return
    if argv[1] == 'free-port':
        print(free_port())
        return
    uri, action, name = argv[1:4]
    with fixture_vm.connect(uri) as conn:
        if action == 'start':
            print(json.dumps(start(conn, name, json.loads(argv[4]), argv[5])))
        elif action == 'read':
            print(json.dumps(read(conn, name, argv[4], float(argv[5]) if len(argv) > 5 else 30.0)))
        elif action == 'pause':
            conn.lookupByName(name).suspend()
            print('changed')
        elif action == 'resume':  # only a paused VM: also the cleanup after a failure
            dom = fixture_vm.lookup(conn, name)
            if dom is not None and dom.state()[0] == libvirt.VIR_DOMAIN_PAUSED:
                dom.resume()
                print('changed')
        elif action == 'remove':
            if fixture_vm.remove(conn, name):
                print('changed')
        else:
            sys.exit('unknown action %s\n%s' % (action, __doc__))


if __name__ == '__main__':
    main(sys.argv)
