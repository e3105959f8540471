# -*- coding: utf-8 -*-
"""A non-blocking libvirt stream of a VM channel for unit tests.  No test functions here."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmcat.libvirt.plugins.module_utils._vm._vm_channel import AGAIN


class FakeStream:
    """Non-blocking stream: ``script`` is what recv returns in turn (bytes, AGAIN, or b'' for the end)."""

    def __init__(self, script=(), accept=None):
        self.script = list(script)
        self.accept = accept  # max bytes per send; 0 means the peer does not read
        self.sent = b''
        self.closed = None

    def send(self, data):
        if self.accept == 0:
            return AGAIN
        n = len(data) if self.accept is None else min(self.accept, len(data))
        self.sent += data[:n]
        return n

    def recv(self, n):
        if not self.script:
            return AGAIN
        item = self.script.pop(0)
        return item

    def finish(self):
        self.closed = 'finish'

    def abort(self):
        self.closed = 'abort'
