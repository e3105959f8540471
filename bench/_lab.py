# -*- coding: utf-8 -*-
"""Fixture guests for the inventory and connection benchmarks, straight through libvirt-python.

``Lab(prefix)`` makes an isolated DHCP network and boots TCG fixture guests
(tests/integration/harness/guest.py ``domain_xml``, used as is) in one of
these agent set-ups:

- ``agent``:    qemu-ga answering;
- ``nochannel``: no org.qemu.guest_agent.0 channel at all;
- ``stopped``:  qemu-ga killed after boot (its binary moved away so init's
                respawn loop cannot start it again): the channel is there but
                nothing listens;
- ``hung``:     ``hang(name)`` later sends qemu-ga SIGSTOP: the channel is
                connected and the agent never answers.

``Lab.down()`` removes every domain and network named with the prefix.
"""

from __future__ import absolute_import, division, print_function

import base64
import json
import os
import shutil
import sys
import time

import libvirt
import libvirt_qemu
from lxml import etree

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'tests', 'integration'))

from harness import guest as fixture  # noqa: E402

META_NS = 'https://vmcat.example/libvirt/vm/1'


def _quiet(*args):
    """libvirt prints every error on stderr by default."""


libvirt.registerErrorHandler(_quiet, None)


def agent(dom, command, args=None, timeout=10):
    request = {'execute': command}
    if args is not None:
        request['arguments'] = args
    return json.loads(libvirt_qemu.qemuAgentCommand(dom, json.dumps(request), timeout, 0)).get('return')


def guest_run(dom, script, timeout=30, poll=0.05):
    """Run ``sh -c script`` through the agent, its status asked every ``poll`` s; (exitcode, stdout text)."""
    pid = agent(dom, 'guest-exec', {'path': '/bin/sh', 'arg': ['-c', script], 'capture-output': True})['pid']
    deadline = time.monotonic() + timeout
    while True:
        status = agent(dom, 'guest-exec-status', {'pid': pid})
        if status.get('exited'):
            return status.get('exitcode'), base64.b64decode(status.get('out-data', '')).decode()
        if time.monotonic() > deadline:
            raise RuntimeError('%s: %r did not finish in %ss' % (dom.name(), script, timeout))
        time.sleep(poll)


def wait_agent(dom, timeout, poll=0.5):
    """Ask guest-ping until the agent answers; the seconds it took (RuntimeError after ``timeout``)."""
    started = time.monotonic()
    while True:
        try:
            agent(dom, 'guest-ping', timeout=5)
            return time.monotonic() - started
        except libvirt.libvirtError:
            if time.monotonic() - started > timeout:
                raise RuntimeError('the agent of %s did not answer within %ss' % (dom.name(), timeout))
            time.sleep(poll)


def remove_domain(dom):
    """Destroy and undefine ``dom``; a failure is said on stderr (cleanup goes on)."""
    try:
        if dom.isActive():
            dom.destroy()
        dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)
    except libvirt.libvirtError as exc:
        sys.stderr.write('cleanup of %s: %s\n' % (dom.name(), exc))


def _free_subnet(conn):
    used = set()
    for net in conn.listAllNetworks(0):
        for ip in etree.fromstring(net.XMLDesc(0)).findall('ip'):
            if ip.get('address'):
                used.add('.'.join(ip.get('address').split('.')[:3]))
    for third in range(90, 250):
        candidate = '10.231.%d' % third
        if candidate not in used:
            return candidate
    raise RuntimeError('no free 10.231.x.0/24 subnet for the benchmark network')


def _network_xml(name, subnet):
    net = etree.Element('network')
    etree.SubElement(net, 'name').text = name
    ip = etree.SubElement(net, 'ip', address='%s.1' % subnet, netmask='255.255.255.0')
    dhcp = etree.SubElement(ip, 'dhcp')
    etree.SubElement(dhcp, 'range', start='%s.10' % subnet, end='%s.99' % subnet)
    return etree.tostring(net, encoding='unicode')  # no <forward>: isolated


def _tagged(root, tags):
    meta = etree.SubElement(root, 'metadata')
    own = etree.SubElement(meta, '{%s}vm' % META_NS, nsmap={'vmcat': META_NS})
    tag_list = etree.SubElement(own, '{%s}tags' % META_NS)
    for tag in tags:
        etree.SubElement(tag_list, '{%s}tag' % META_NS).text = tag


class Lab(object):
    def __init__(self, prefix, uri='qemu:///system'):
        self.prefix = prefix
        self.uri = uri
        libvirt.registerErrorHandler(_quiet, None)  # the harness's quiet_libvirt_errors() puts the default back
        self.conn = libvirt.open(uri)
        self.network = None
        self.doms = {}
        self.kinds = {}

    def up(self, specs, memory_mib=256, timeout=300):
        """specs: [(suffix, kind)]; boots them all, waits for the agents, stops those meant to be stopped."""
        guest = fixture.build_guest()
        libvirt.registerErrorHandler(_quiet, None)
        subnet = _free_subnet(self.conn)
        net = self.conn.networkDefineXML(_network_xml(self.prefix + 'net', subnet))
        self.network = net.name()
        net.create()
        for suffix, kind in specs:
            name = self.prefix + suffix
            root = etree.fromstring(fixture.domain_xml(name, guest, network=self.network, memory_mib=memory_mib))
            if kind == 'nochannel':
                for channel in root.findall('devices/channel'):
                    channel.getparent().remove(channel)
            _tagged(root, ['bench', kind])
            dom = self.conn.defineXML(etree.tostring(root, encoding='unicode'))
            self.doms[name] = dom
            self.kinds[name] = kind
            dom.create()
        deadline = time.monotonic() + timeout  # they boot together: one deadline for all
        for name, kind in self.kinds.items():
            if kind != 'nochannel':
                wait_agent(self.doms[name], max(0.0, deadline - time.monotonic()))
        for name, kind in self.kinds.items():
            if kind == 'stopped':
                self._stop_agent(self.doms[name])
        return self

    def _stop_agent(self, dom):
        # init (PID 1, which ignores SIGTERM) restarts qemu-ga in a loop: move the binary away, then kill it,
        # after the guest-exec reply went out.
        script = 'sleep 1; p=$(pidof qemu-ga); mv "$(command -v qemu-ga)" /qemu-ga.off; kill $p'
        agent(dom, 'guest-exec', {'path': '/bin/sh', 'arg': ['-c', script]})
        time.sleep(5)  # long enough for the respawn loop to have tried again
        try:
            agent(dom, 'guest-ping', timeout=2)
        except libvirt.libvirtError as exc:
            if 'not connected' in str(exc):
                return
            raise RuntimeError('the agent of %s: %s' % (dom.name(), exc))
        raise RuntimeError('the agent of %s is still answering' % dom.name())

    def hang(self, name):
        """SIGSTOP qemu-ga: the channel stays connected, no answer ever comes."""
        dom = self.doms[name]
        agent(dom, 'guest-exec', {'path': '/bin/sh', 'arg': ['-c', 'sleep 1; kill -STOP $(pidof qemu-ga)']})
        time.sleep(3)
        self.kinds[name] = 'hung'

    def names(self):
        return sorted(self.doms)

    def down(self):
        conn = libvirt.open(self.uri)
        for dom in conn.listAllDomains(0):
            if dom.name().startswith(self.prefix):
                remove_domain(dom)
        for net in conn.listAllNetworks(0):
            if net.name().startswith(self.prefix):
                try:
                    if net.isActive():
                        net.destroy()
                    net.undefine()
                except libvirt.libvirtError as exc:
                    sys.stderr.write('cleanup of %s: %s\n' % (net.name(), exc))


def leftovers(prefix, uri='qemu:///system'):
    conn = libvirt.open(uri)
    return ([d.name() for d in conn.listAllDomains(0) if d.name().startswith(prefix)]
            + [n.name() for n in conn.listAllNetworks(0) if n.name().startswith(prefix)])


def tear_down(lab, work, prefix):
    """Take a benchmark's lab down, remove its work directory, and say what was left behind."""
    lab.down()
    shutil.rmtree(work, ignore_errors=True)
    left = leftovers(prefix)
    if left:
        print('LEFTOVERS (remove by hand): %s' % left)


__all__ = ['Lab', 'agent', 'guest_run', 'leftovers', 'tear_down']
