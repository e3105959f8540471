# -*- coding: utf-8 -*-
"""Fake domains and module contexts for unit tests of the domain logic (live changes, power states, addresses).

``FakeCtx`` is a module context that records the actions it is asked to take
(and takes them unless in check mode) over a ``FakeConn`` whose only job is to
translate libvirt errors.  ``LiveDom`` is a running VM whose live XML follows
its device detaches; ``AddressDom`` answers interfaceAddresses() per source
(``AGENT``, ``LEASE``: what the agent and the DHCP leases said on the test
bed).  No test functions here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import translated


class FakeConn:
    """A connection to test:///default that only translates libvirt errors."""

    uri = 'test:///default'

    def translated(self, action, what, hint=None):
        return translated(action, what, self.uri, hint)


class FakeCtx:
    """A module context: ``params``, ``check_mode``, the actions it records (``act``) and its warnings."""

    def __init__(self, params, check_mode=False, conn=None):
        self.params = dict(params)
        self.check_mode = check_mode
        self.actions = []
        self.warnings = []
        self.conn = conn or FakeConn()

    def act(self, description, fn, *args):
        self.actions.append(description)
        return None if self.check_mode else fn(*args)

    def warn(self, msg):
        self.warnings.append(msg)


def live_ctx(params=None, check_mode=False):
    """The context of a vm task on web1 (unplug_timeout 2 s), with ``params`` on top."""
    return FakeCtx(dict(dict(name='web1', unplug_timeout=2, purge_disks=False, purge_nics=False), **(params or {})),
                   check_mode)


class LiveDom:
    """Records live calls; a detach takes the device out of the live XML (after ``unplug_after`` looks)."""

    def __init__(self, live, unplug_after=0):
        self.live = _xml.parse(live)
        self.calls = []
        self.unplug_after = unplug_after
        self.pending_unplug = None

    def XMLDesc(self, flags=0):
        if self.pending_unplug is not None:
            if self.unplug_after <= 0:
                target = self.pending_unplug
                for el in self.live.find('devices'):
                    if _xml.canonical(el) == target:
                        el.getparent().remove(el)
                self.pending_unplug = None
            self.unplug_after -= 1
        return _xml.to_string(self.live)

    def __getattr__(self, name):
        if name in ('setVcpusFlags', 'setMemoryFlags', 'attachDeviceFlags', 'updateDeviceFlags', 'setMetadata'):
            return lambda *args: self.calls.append((name,) + args)
        raise AttributeError(name)

    def detachDeviceFlags(self, xml, flags):
        self.calls.append(('detachDeviceFlags', xml, flags))
        self.pending_unplug = _xml.canonical(_xml.parse(xml))


# -- interface addresses ------------------------------------------------------------------------
MAC = '52:54:00:AA:BB:01'
AGENT = {
    'lo': {'hwaddr': '00:00:00:00:00:00', 'addrs': [
        {'addr': '127.0.0.1', 'prefix': 8, 'type': 0}, {'addr': '::1', 'prefix': 128, 'type': 1}]},
    'eth0': {'hwaddr': MAC, 'addrs': [
        {'addr': '10.0.0.5', 'prefix': 24, 'type': 0},
        {'addr': 'fe80::5054:ff:feaa:bb01', 'prefix': 64, 'type': 1},
        {'addr': '2001:db8::5', 'prefix': 64, 'type': 1}]},
    'eth1': {'hwaddr': '52:54:00:aa:bb:02', 'addrs': [{'addr': '169.254.3.4', 'prefix': 16, 'type': 0}]},
}
LEASE = {'vnet3': {'hwaddr': MAC.lower(), 'addrs': [{'addr': '10.0.0.5', 'prefix': 24, 'type': 0},
                                                    {'addr': '10.0.0.6', 'prefix': 24, 'type': 0}]}}


class AddressDom:
    """Answers interfaceAddresses() per source: agent (1), lease (0), arp (2); an exception is raised."""

    def __init__(self, agent=None, lease=None, arp=None):
        self.answers = {1: agent, 0: lease, 2: arp}
        self.asked = []

    def interfaceAddresses(self, source, flags=0):
        self.asked.append(source)
        answer = self.answers[source]
        if isinstance(answer, Exception):
            raise answer
        return answer or {}
