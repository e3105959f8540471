"""Define, boot and remove a test-guest VM for an integration target (a small reusable fixture).

Usage (from a target's tasks, with ``ansible_playbook_python``):

    fixture_vm.py URI start NAME GUEST_JSON WORKDIR [--cmdline "vmcat.ga_block=guest-exec"] [--wait-agent 120]
    fixture_vm.py URI remove NAME

``start`` defines the domain (if needed) from :func:`harness.guest.domain_xml`,
boots it, and with ``--wait-agent`` waits until its guest agent answers
``guest-ping``.  The serial console goes to ``WORKDIR/NAME.serial.log``.
Both print ``changed`` when they changed something, for ``changed_when``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import libvirt
import libvirt_qemu

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/integration

from harness.guest import domain_xml  # noqa: E402  (needs sys.path above)


def quiet():
    """Stop libvirt from printing every error it raises (the callers handle them)."""
    libvirt.registerErrorHandler(lambda *a: None, None)


def lookup(conn, name):
    quiet()
    try:
        return conn.lookupByName(name)
    except libvirt.libvirtError:
        return None


def wait_agent(dom, timeout):
    """Wait until the guest agent answers guest-ping; raise TimeoutError naming the serial log."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            libvirt_qemu.qemuAgentCommand(dom, json.dumps({'execute': 'guest-ping'}), 2, 0)
            return
        except libvirt.libvirtError as exc:
            if time.monotonic() > deadline:
                raise TimeoutError('the guest agent of %s did not answer within %ss: %s'
                                   % (dom.name(), timeout, exc.get_error_message()))
        time.sleep(0.5)


def start(conn, name, guest, workdir, extra_cmdline='', wait=0.0):
    """Boot the fixture VM (defining it first); True when something changed."""
    changed = False
    dom = lookup(conn, name)
    if dom is None:
        log = os.path.join(workdir, '%s.serial.log' % name)
        dom = conn.defineXML(domain_xml(name, guest, extra_cmdline=extra_cmdline, serial_log=log))
        changed = True
    if not dom.isActive():
        dom.create()
        changed = True
    if wait:
        wait_agent(dom, wait)
    return changed


def remove(conn, name):
    """Destroy and undefine the fixture VM; True when it was there."""
    dom = lookup(conn, name)
    if dom is None:
        return False
    if dom.isActive():
        dom.destroy()
    dom.undefine()
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('uri')
    parser.add_argument('action', choices=('start', 'remove'))
    parser.add_argument('name')
    parser.add_argument('guest', nargs='?', help='the vmcat_guest fixture as JSON (start)')
    parser.add_argument('workdir', nargs='?', help='where the serial log goes (start)')
    parser.add_argument('--cmdline', default='', help='extra kernel command line, e.g. vmcat.ga_block=guest-exec')
    parser.add_argument('--wait-agent', type=float, default=0, help='seconds to wait for guest-ping')
    args = parser.parse_args(argv)
    quiet()
    conn = libvirt.open(args.uri)
    try:
        if args.action == 'start':
            if not args.guest or not args.workdir:
                parser.error('start needs GUEST_JSON and WORKDIR')
            changed = start(conn, args.name, json.loads(args.guest), args.workdir, args.cmdline, args.wait_agent)
        else:
            changed = remove(conn, args.name)
    finally:
        conn.close()
    if changed:
        print('changed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
