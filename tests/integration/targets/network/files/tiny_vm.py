# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start or remove a tiny TCG VM with one NIC on a network, for "network in use" tests.

The VM has no disk: it sits in the firmware (SeaBIOS, then the NIC's PXE ROM
asking the network's DHCP server for an address), which is all a test of
"a running VM uses this network" needs.  64 MiB, one vCPU, TCG only
(harness.fixture_vm.firmware_vm_xml).

Usage: tiny_vm.py URI NAME start NETWORK [MAC]
       tiny_vm.py URI NAME state     (prints running, shut off, ... or missing)
       tiny_vm.py URI NAME remove
"""

from __future__ import absolute_import, division, print_function

import sys

import libvirt

from harness.fixture_vm import boot, define, firmware_vm_xml, lookup, remove, run_on_vm

_STATES = {
    libvirt.VIR_DOMAIN_RUNNING: 'running',
    libvirt.VIR_DOMAIN_PAUSED: 'paused',
    libvirt.VIR_DOMAIN_SHUTOFF: 'shut off',
    libvirt.VIR_DOMAIN_CRASHED: 'crashed',
}


def start(conn, name, network, mac=None):
    boot(define(conn, name, lambda: firmware_vm_xml(name, network=network, mac=mac))[0])
    print('started %s' % name)


def state(conn, name):
    dom = lookup(conn, name)
    print('missing' if dom is None else _STATES.get(dom.state()[0], 'other'))


def remove_vm(conn, name):
    if remove(conn, name):
        print('removed %s' % name)


if __name__ == '__main__':
    run_on_vm(sys.argv, {'start': start, 'state': state, 'remove': remove_vm}, vm_first=True)
