# -*- coding: utf-8 -*-
"""A QEMU/KVM node for unit tests: its virConnect answers from the capabilities captured in tests/unit/fixtures.

No test functions here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib

from ansible_collections.vmcat.libvirt.tests.unit.fakes.errors import LibvirtFailure
from ansible_collections.vmcat.libvirt.tests.unit.helpers import fixture_text


class FixtureVirt:
    """The virConnect of an x86_64 node with ``cpus`` CPUs and ``memory_mib`` of memory.

    Its domain capabilities (KVM) and capabilities (QEMU) are the captured ones; ``asked`` lists the
    (arch, machine, virt type) of every domain capabilities request.  ``domcaps=False``: a driver without domain
    capabilities (it raises libvirt's "not supported").
    """

    def __init__(self, cpus=4, memory_mib=8192, mhz=2000, domcaps=True):
        self.info = ['x86_64', memory_mib, cpus, mhz, 1, 1, cpus, 1]
        self.domcaps = domcaps
        self.asked = []

    def getInfo(self):
        return list(self.info)

    def getCapabilities(self):
        return fixture_text('node_capabilities_qemu.xml')

    def getDomainCapabilities(self, emulator, arch, machine, virttype, flags):
        self.asked.append((arch, machine, virttype))
        if not self.domcaps:
            raise LibvirtFailure('this function is not supported by the connection driver', 3)  # VIR_ERR_NO_SUPPORT
        return fixture_text('node_domcapabilities_kvm.xml')


class FixtureConn:
    """A connection to qemu:///system over a FixtureVirt; ``translated`` lets every error through."""

    uri = 'qemu:///system'

    def __init__(self, virt):
        self.virt = virt

    @contextlib.contextmanager
    def translated(self, *args):
        yield
