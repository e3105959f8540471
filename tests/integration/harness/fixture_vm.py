"""Define, boot and remove a test-guest VM for an integration target (a small reusable fixture).

Usage (from a target's tasks, with ``ansible_playbook_python``):

    fixture_vm.py URI start NAME GUEST_JSON WORKDIR [--cmdline "vmcat.ga_block=guest-exec"] [--wait-agent 120]
    fixture_vm.py URI remove NAME

``start`` defines the domain (if needed) from :func:`harness.guest.domain_xml`,
boots it, and with ``--wait-agent`` waits until its guest agent answers
``guest-ping``.  The serial console goes to ``WORKDIR/NAME.serial.log``.
Both print ``changed`` when they changed something, for ``changed_when``.

The helper scripts of the targets (``files/*.py``) and of the harness build on
the same pieces: :func:`connect`, :func:`lookup`, :func:`define`, :func:`boot`,
:func:`remove`, :func:`remove_prefixed`, :func:`agent`, :func:`wait_agent`,
:func:`guest_exec` and :func:`shell`, with the domain XML from
:func:`harness.guest.domain_xml` (a test guest) or :func:`firmware_vm_xml` (a
VM with no system that sits in its firmware), an isolated network from
:func:`isolated_network_xml`, and their command line from :func:`run_on_vm`
or :func:`run_command`.  They import them with ``from harness import
fixture_vm``: run.py puts tests/integration on ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import sys
import time

import libvirt
import libvirt_qemu
from lxml import etree

from harness.guest import domain_xml  # tests/integration is on PYTHONPATH (run.py)

__all__ = ['add_tags', 'agent', 'boot', 'connect', 'decoded', 'define', 'domain_xml', 'firmware_vm_xml', 'guest_exec',
           'isolated_network_xml', 'lookup', 'quiet', 'remove', 'remove_prefixed', 'run_command', 'run_on_vm',
           'say_changed', 'serial_tail', 'shell', 'start', 'wait_agent']

META_NS = 'https://vmcat.example/libvirt/vm/1'  # the collection's metadata namespace (tags, data)


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


def decoded(status, field='out-data'):
    """A base64 field of a guest-exec-status ('out-data', 'err-data') as text."""
    return base64.b64decode(status.get(field) or '').decode('utf-8', 'replace')


def guest_exec(dom, path, args=(), timeout=30.0, interval=0.05, check=True):
    """Run path with args in the guest through guest-exec and wait until it exits; its last guest-exec-status.

    The output stays base64 in 'out-data' and 'err-data' (:func:`decoded` makes text of it).  A command still
    running after timeout seconds raises TimeoutError; with check, one that does not exit 0 ends the script
    with its exit code and standard error.
    """
    pid = agent(dom, 'guest-exec', {'path': path, 'arg': list(args), 'capture-output': True})['pid']
    deadline = time.monotonic() + timeout
    while True:
        status = agent(dom, 'guest-exec-status', {'pid': pid})
        if status.get('exited'):
            break
        if time.monotonic() > deadline:
            raise TimeoutError('%s %s still runs in %s after %s s' % (path, list(args), dom.name(), timeout))
        time.sleep(interval)
    if check and status.get('exitcode') != 0:
        sys.exit('%s %s failed in %s (exit code %s): %s'
                 % (path, list(args), dom.name(), status.get('exitcode'), decoded(status, 'err-data')))
    return status


def shell(dom, command, timeout=30.0, interval=0.05):
    """The standard output of /bin/sh -c command run in the guest; a failing command ends the script."""
    return decoded(guest_exec(dom, '/bin/sh', ['-c', command], timeout, interval))


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
    """Destroy and undefine every domain (and with networks=True every network) whose name starts with prefix.

    Returns how many domains it removed.
    """
    removed = [remove(conn, dom.name(), flags) for dom in conn.listAllDomains(0) if dom.name().startswith(prefix)]
    for net in conn.listAllNetworks(0) if networks else ():
        if net.name().startswith(prefix):
            if net.isActive():
                net.destroy()
            net.undefine()
    return sum(removed)


def firmware_vm_xml(name, disk=None, network=None, mac=None, memory_mib=64):
    """A TCG VM with no system: started, it sits in its firmware (SeaBIOS, then the NIC's PXE ROM).

    One vCPU; ``disk`` a virtio disk (a qcow2 file; a never started VM is all that needs); ``network`` an e1000
    NIC on that libvirt network (with ``mac``), booted from; VNC on 127.0.0.1.
    """
    dom = etree.Element('domain', type='qemu')
    etree.SubElement(dom, 'name').text = name
    etree.SubElement(dom, 'memory', unit='MiB').text = str(memory_mib)
    etree.SubElement(dom, 'vcpu').text = '1'
    os_el = etree.SubElement(dom, 'os')
    etree.SubElement(os_el, 'type', arch='x86_64', machine='pc').text = 'hvm'
    etree.SubElement(os_el, 'boot', dev='network' if network else 'hd')
    etree.SubElement(etree.SubElement(dom, 'features'), 'acpi')
    etree.SubElement(dom, 'on_poweroff').text = 'destroy'
    devices = etree.SubElement(dom, 'devices')
    if disk:
        disk_el = etree.SubElement(devices, 'disk', type='file', device='disk')
        etree.SubElement(disk_el, 'driver', name='qemu', type='qcow2')
        etree.SubElement(disk_el, 'source', file=disk)
        etree.SubElement(disk_el, 'target', dev='vda', bus='virtio')
    if network:
        iface = etree.SubElement(devices, 'interface', type='network')
        etree.SubElement(iface, 'source', network=network)
        etree.SubElement(iface, 'model', type='e1000')
        if mac:
            etree.SubElement(iface, 'mac', address=mac)
    etree.SubElement(devices, 'graphics', type='vnc', listen='127.0.0.1', autoport='yes')
    etree.SubElement(devices, 'memballoon', model='none')
    return etree.tostring(dom, encoding='unicode')


def isolated_network_xml(name, subnet, last=50):
    """A network with no <forward> (nothing leaves the machine): SUBNET.1/24, DHCP from SUBNET.10 to SUBNET.last."""
    net = etree.Element('network')
    etree.SubElement(net, 'name').text = name
    ip = etree.SubElement(net, 'ip', address='%s.1' % subnet, netmask='255.255.255.0')
    etree.SubElement(etree.SubElement(ip, 'dhcp'), 'range', start='%s.10' % subnet, end='%s.%d' % (subnet, last))
    return etree.tostring(net, encoding='unicode')


def add_tags(root, tags, data=None):
    """Put the collection's metadata (tags, and data items of type str) into the domain element root."""
    own = etree.SubElement(etree.SubElement(root, 'metadata'), '{%s}vm' % META_NS, nsmap={'vmcat': META_NS})
    tag_list = etree.SubElement(own, '{%s}tags' % META_NS)
    for tag in tags:
        etree.SubElement(tag_list, '{%s}tag' % META_NS).text = tag
    if data:
        items = etree.SubElement(own, '{%s}data' % META_NS)
        for key, value in sorted(data.items()):
            etree.SubElement(items, '{%s}item' % META_NS, key=key, type='str').text = value
    return root


def say_changed(changed):
    """Print "changed" (what the targets' changed_when look for) when changed; returns changed."""
    if changed:
        print('changed')
    return changed


def run_on_vm(argv, actions, vm_first=False):
    """A helper script's command line: URI ACTION NAME [ARG...] (URI NAME ACTION [ARG...] with vm_first).

    Calls actions[ACTION](conn, NAME, *ARGS) on a quiet connection to URI and returns what it returns; an
    unknown ACTION ends the script naming the known ones.
    """
    uri, first, second = argv[1:4]
    action, name = (second, first) if vm_first else (first, second)
    if action not in actions:
        sys.exit('unknown action %s (known: %s)' % (action, ', '.join(sorted(actions))))
    with connect(uri) as conn:
        return actions[action](conn, name, *argv[4:])


def run_command(argv, actions, usage):
    """A helper script's command line: ACTION ARG...; actions maps ACTION to (function, number of ARGs).

    Calls the function with the ARGs; a wrong ACTION or number of ARGs ends the script with usage.
    """
    function, count = actions.get(argv[1] if len(argv) > 1 else '', (None, None))
    if function is None or len(argv) - 2 != count:
        raise SystemExit(usage)
    return function(*argv[2:])


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
