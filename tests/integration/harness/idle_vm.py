# -*- coding: utf-8 -*-
"""A VM with one disk and no system, for the "volume in use" tests: defined and never started, or running.

Started, it sits in its firmware (TCG; the disk is not bootable): enough for "a running VM uses this volume".

Usage: idle_vm.py URI define NAME DISK_PATH     define it (when it is not there yet)
       idle_vm.py URI start|stop NAME           start it / power it off
       idle_vm.py URI undefine NAME             power it off when it runs and remove it
Prints "changed" when it changed something.
"""

import sys

from harness.fixture_vm import boot, define, firmware_vm_xml, lookup, remove, run_on_vm, say_changed


def define_vm(conn, name, disk):
    say_changed(define(conn, name, lambda: firmware_vm_xml(name, disk=disk))[1])


def start(conn, name):
    say_changed(boot(conn.lookupByName(name)))


def stop(conn, name):
    dom = lookup(conn, name)
    if dom is not None and dom.isActive():
        dom.destroy()
        say_changed(True)


def undefine(conn, name):
    say_changed(remove(conn, name))


if __name__ == '__main__':
    run_on_vm(sys.argv, {'define': define_vm, 'start': start, 'stop': stop, 'undefine': undefine})
