"""Define, boot and remove a test-guest VM for an integration target (a small reusable fixture).

Usage (from a target's tasks, with ``ansible_playbook_python``):

    fixture_vm.py URI start NAME GUEST_JSON WORKDIR [--cmdline "vmcat.ga_block=guest-exec"] [--wait-agent 120]
    fixture_vm.py URI remove NAME

``start`` defines the domain (if needed) from :func:`harness.guest.domain_xml`,
boots it, and with ``--wait-agent`` waits until its guest agent answers
``guest-ping``.  The serial console goes to ``WORKDIR/NAME.serial.log``.
Both print ``changed`` when they changed something, for ``changed_when``.

The helper scripts of the targets (``files/*.py``) build on the same pieces:
:func:`connect`, :func:`lookup`, :func:`define`, :func:`boot`, :func:`remove`,
:func:`remove_prefixed`, :func:`agent` and :func:`wait_agent`, with the domain
XML from :func:`harness.guest.domain_xml`.  They import them with ``from
harness import fixture_vm``: run.py puts tests/integration on ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time

import libvirt
import libvirt_qemu

from harness.guest import domain_xml  # tests/integration is on PYTHONPATH (run.py)

__all__ = ['agent', 'boot', 'connect', 'define', 'domain_xml', 'lookup', 'quiet', 'remove', 'remove_prefixed',
           'serial_tail', 'start', 'wait_agent']


def quiet():
    """Stop libvirt from printing every error it raises (the callers handle them)."""
    libvirt.registerErrorHandler(lambda *a: None, None)


def lookup(conn, name):
    quiet()
    try:
        return conn.lookupByName(name)
    except libvirt.libvirtError:
        return None


@contextlib.contextmanager
def connect(uri):
    """A quiet connection to uri, closed at the end of the with block."""
    quiet()
    conn = libvirt.open(uri)
    try:
        yield conn
    finally:
        conn.close()


def define(conn, name, make_xml):
    """The domain name, defined from make_xml() when it is not there yet; returns (dom, changed)."""
    dom = lookup(conn, name)
    if dom is not None:
        return dom, False
    return conn.defineXML(make_xml()), True


def boot(dom):
    """Start dom when it is off; True when it was started."""
    if dom.isActive():
        return False
    dom.create()
    return True


def agent(dom, command, arguments=None, timeout=10):
    """Send one guest agent command; its "return"."""
    payload = {'execute': command}
    if arguments is not None:
        payload['arguments'] = arguments
    return json.loads(libvirt_qemu.qemuAgentCommand(dom, json.dumps(payload), timeout, 0)).get('return')


def serial_tail(path, size=3000):
    """The end of a serial console log ('' when there is none), for the error when a guest does not come up."""
    if not path or not os.path.exists(path):
        return ''
    with open(path, errors='replace') as f:
        return f.read()[-size:]


def wait_agent(dom, timeout, command='guest-ping', interval=0.5, serial_log=None):
    """Wait until the guest agent answers command; the seconds it took.

    Raises TimeoutError naming the VM (with the end of serial_log when given).
    """
    started = time.monotonic()
    while True:
        try:
            agent(dom, command, timeout=2)
            return time.monotonic() - started
        except libvirt.libvirtError as exc:
            if time.monotonic() - started > timeout:
                tail = serial_tail(serial_log)
                raise TimeoutError('the guest agent of %s did not answer within %ss: %s%s'
                                   % (dom.name(), timeout, exc.get_error_message(),
                                      '\nserial console:\n' + tail if tail else ''))
        time.sleep(interval)


def start(conn, name, guest, workdir, extra_cmdline='', wait=0.0):
    """Boot the fixture VM (defining it first); True when something changed."""
    log = os.path.join(workdir, '%s.serial.log' % name)
    dom, changed = define(conn, name, lambda: domain_xml(name, guest, extra_cmdline=extra_cmdline, serial_log=log))
    changed = boot(dom) or changed
    if wait:
        wait_agent(dom, wait)
    return changed


def remove(conn, name, flags=0):
    """Destroy and undefine the domain name (undefineFlags(flags)); True when it was there."""
    dom = lookup(conn, name)
    if dom is None:
        return False
    if dom.isActive():
        dom.destroy()
    dom.undefineFlags(flags)
    return True


def remove_prefixed(conn, prefix, flags=0, networks=False):
    """Destroy and undefine every domain (and with networks=True every network) whose name starts with prefix."""
    for dom in conn.listAllDomains(0):
        if dom.name().startswith(prefix):
            remove(conn, dom.name(), flags)
    for net in conn.listAllNetworks(0) if networks else ():
        if net.name().startswith(prefix):
            if net.isActive():
                net.destroy()
            net.undefine()


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
    if args.action == 'start' and (not args.guest or not args.workdir):
        parser.error('start needs GUEST_JSON and WORKDIR')
    with connect(args.uri) as conn:
        if args.action == 'start':
            changed = start(conn, args.name, json.loads(args.guest), args.workdir, args.cmdline, args.wait_agent)
        else:
            changed = remove(conn, args.name)
    if changed:
        print('changed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
