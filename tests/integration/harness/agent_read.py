# -*- coding: utf-8 -*-
"""Read files in a running VM through its guest agent (guest-exec cat), byte for byte.

Usage: agent_read.py URI VM read PATH [PATH ...]
       Prints JSON {PATH: base64 of the file's bytes}; exits 1 when a cat fails.
       agent_read.py URI VM sh SCRIPT
       Runs /bin/sh -c SCRIPT; prints its standard output; exits 1 when it fails.
Only libvirt is used (libvirt_qemu.qemuAgentCommand, through harness.fixture_vm), like the collection.
"""

from __future__ import absolute_import, division, print_function

import json
import sys

from harness.fixture_vm import guest_exec, run_on_vm, shell


def read(conn, name, *paths):
    dom = conn.lookupByName(name)
    print(json.dumps(dict((path, guest_exec(dom, '/bin/cat', [path])['out-data']) for path in paths)))


def sh(conn, name, script):
    sys.stdout.write(shell(conn.lookupByName(name), script))


if __name__ == '__main__':
    run_on_vm(sys.argv, {'read': read, 'sh': sh}, vm_first=True)
