# -*- coding: utf-8 -*-
"""Read files in a running VM through its guest agent (guest-exec cat), byte for byte.

Usage: agent_read.py URI VM read PATH [PATH ...]
       Prints JSON {PATH: base64 of the file's bytes}; exits 1 when a cat fails.
       agent_read.py URI VM sh SCRIPT
       Runs /bin/sh -c SCRIPT; prints its standard output; exits 1 when it fails.
Only libvirt is used (libvirt_qemu.qemuAgentCommand), like the collection.
"""

from __future__ import absolute_import, division, print_function

import base64
import json
import sys
import time

import libvirt
import libvirt_qemu


def agent(dom, execute, arguments=None):
    command = {'execute': execute}
    if arguments is not None:
        command['arguments'] = arguments
    return json.loads(libvirt_qemu.qemuAgentCommand(dom, json.dumps(command), 10, 0))['return']


def cat(dom, path):
    return run(dom, '/bin/cat', [path])


def run(dom, program, args):
    """Standard output (base64) of a program run in the guest; exit 1 when it fails."""
    pid = agent(dom, 'guest-exec', {'path': program, 'arg': args, 'capture-output': True})['pid']
    deadline = time.monotonic() + 30
    while True:
        status = agent(dom, 'guest-exec-status', {'pid': pid})
        if status['exited']:
            break
        if time.monotonic() > deadline:
            sys.exit('%s %s still running after 30 s' % (program, args))
        time.sleep(0.05)
    if status.get('exitcode') != 0:
        sys.exit('%s %s failed: %s' % (program, args, base64.b64decode(status.get('err-data', '')).decode(errors='replace')))
    return status.get('out-data', '')


def main(argv):
    uri, name, action = argv[1:4]
    libvirt.registerErrorHandler(lambda *args: None, None)
    conn = libvirt.open(uri)
    try:
        dom = conn.lookupByName(name)
        if action == 'read':
            print(json.dumps(dict((path, cat(dom, path)) for path in argv[4:])))
        elif action == 'sh':
            sys.stdout.write(base64.b64decode(run(dom, '/bin/sh', ['-c', argv[4]])).decode(errors='replace'))
        else:
            sys.exit('unknown action %s' % action)
    finally:
        conn.close()


if __name__ == '__main__':
    main(sys.argv)
