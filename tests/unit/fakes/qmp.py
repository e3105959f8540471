# -*- coding: utf-8 -*-
"""A QMP server on a unix socket for unit tests (what QEMU 7.2 answers).  No test functions here."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import socket
import tempfile
import threading


class FakeQmpServer:
    """A QMP server on a unix socket: greeting, capabilities negotiation, canned replies.

    ``replies`` maps a command to its return value, or to ('error', class, desc);
    ``silent`` commands get no answer.  ``received`` lists every message seen.
    """

    GREETING = {'QMP': {'version': {'qemu': {'major': 7, 'minor': 2, 'micro': 22}, 'package': 'fake'},
                        'capabilities': ['oob']}}

    def __init__(self, replies=None, silent=(), closing=()):
        self.dir = tempfile.mkdtemp(prefix='vmcat-qmp-')
        self.path = os.path.join(self.dir, 'qmp.sock')
        self.replies = dict(replies or {})
        self.silent = set(silent)
        self.closing = set(closing)
        self.received = []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(1)
        self.server.settimeout(0.2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve)
        self.thread.daemon = True
        self.thread.start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                client, dummy = self.server.accept()
            except socket.timeout:
                continue
            with client:
                self._talk(client)

    def _talk(self, client):
        client.sendall(json.dumps(self.GREETING).encode() + b'\n')
        buf = b''
        client.settimeout(5)
        while True:
            try:
                data = client.recv(4096)
            except (socket.timeout, OSError):
                return
            if not data:
                return
            buf += data
            while buf.strip():
                try:  # qemu.qmp does not end its messages with a newline
                    msg, end = json.JSONDecoder().raw_decode(buf.decode().lstrip())
                except ValueError:
                    break
                buf = buf.decode().lstrip()[end:].encode()
                self.received.append(msg)
                command = msg['execute']
                if command in self.silent:
                    continue
                if command == 'qmp_capabilities':
                    reply = {'return': {}}
                elif command not in self.replies:
                    reply = {'error': {'class': 'CommandNotFound', 'desc': 'The command %s has not been found' % command}}
                elif isinstance(self.replies[command], tuple):
                    reply = {'error': {'class': self.replies[command][1], 'desc': self.replies[command][2]}}
                else:
                    reply = {'return': self.replies[command]}
                if 'id' in msg:
                    reply['id'] = msg['id']
                client.sendall(json.dumps(reply).encode() + b'\n')
                if command in self.closing:
                    return  # like QEMU after 'quit'

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.server.close()
        os.unlink(self.path)
        os.rmdir(self.dir)

    def commands(self):
        return [m['execute'] for m in self.received if m['execute'] != 'qmp_capabilities']
