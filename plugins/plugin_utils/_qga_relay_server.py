# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The qga connection's persistent relay: one process per VM and ansible-playbook run (see ``_qga_relay``).

It holds one libvirt connection (with keepalive, so a restarted libvirtd is
noticed) and serves the workers' requests with the same ``QgaTransport`` the
plugin uses without the relay.  Before each request it looks the VM up again
(one cheap libvirt call), so a VM that was redefined is found, and it opens a
new libvirt connection when the old one died (libvirtd restarted); when that
fails the request fails with the URI and what to check.  The agent's own
state needs nothing: libvirt reconnects to qemu-ga after a guest reboot, and
until then a request fails with the agent core's "not connected" message.

It exits when no request came for ``idle_timeout`` seconds, when the
ansible-playbook process that started it is gone, or when asked (``stop``,
from ``meta: reset_connection``).  It logs nothing: commands and their output
may hold secrets.

Private to vmcat.libvirt: may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import socket
import struct
import sys
import threading
import time

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._connection import Connection
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import VmcatError
from ansible_collections.vmcat.libvirt.plugins.plugin_utils._qga_relay import GREETING, locked, recv_frame, send_frame
from ansible_collections.vmcat.libvirt.plugins.plugin_utils._qga_transport import QgaTransport

TICK = 1.0  # seconds between checks of the idle timeout and of the ansible-playbook process
_PEERCRED = struct.Struct('3i')  # struct ucred: pid, uid, gid


class Relay:
    """The libvirt side: a connection, the VM looked up per request, and the operations the workers ask for."""

    def __init__(self, uri, vm, connection_factory=Connection):
        self.uri, self.vm = uri, vm
        self._factory = connection_factory
        self._conn = None
        self._lock = threading.Lock()

    def domain(self):
        """The VM, over a live connection: a dead one (libvirtd restarted) is replaced once."""
        with self._lock:
            for attempt in (1, 2):
                if self._conn is None or not self._conn.alive():
                    self.close()
                    self._conn = self._factory(self.uri, keepalive=True).open()
                try:
                    return self._conn.require_domain(self.vm)
                except VmcatError as exc:
                    if attempt == 2 or not self._conn.lost(exc):
                        raise
                    self.close()

    def transport(self, request):
        return QgaTransport(self.domain(), agent_timeout=request.get('agent_timeout', 10),
                            command_timeout=request.get('command_timeout', 600))

    def handle(self, request):
        """The reply to one request (a dict); collection errors become ``{"error": message}``."""
        op = request.get('op')
        try:
            if op == 'ping':
                self.transport(request).call('guest-ping')
                return {'ok': True}
            if op == 'exec':
                stdin = request.get('stdin')
                rc, out, err = self.transport(request).run(request['shell'], ['-c', request['cmd']],
                                                           stdin=base64.b64decode(stdin) if stdin else None)
                return {'ok': True, 'rc': rc, 'stdout': base64.b64encode(out).decode('ascii'),
                        'stderr': base64.b64encode(err).decode('ascii')}
            if op == 'put':
                return self._put(request)
            if op == 'fetch':
                return self._fetch(request)
        except VmcatError as exc:
            return {'error': exc.msg}
        except (OSError, KeyError, TypeError, ValueError) as exc:
            return {'error': 'the persistent relay for %s could not %s: %s' % (self._where(), op, exc)}
        return {'error': 'the persistent relay for %s does not know the request %r' % (self._where(), op)}

    def _put(self, request):
        transport = self.transport(request)
        with open(request['src'], 'rb') as handle:  # the worker's file on this host, read by the same user
            data = handle.read()
        transport.put(data, request['dest'], checksum=request.get('checksum', False))
        return {'ok': True}

    def _fetch(self, request):
        data = self.transport(request).fetch(request['src'], checksum=request.get('checksum', False))
        with open(request['dest'], 'wb') as handle:
            handle.write(data)
        return {'ok': True}

    def _where(self):
        return "VM '%s' on %s" % (self.vm, self.uri)

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class Server:
    """The socket side: accepts workers of this uid, one thread each, and decides when to exit."""

    def __init__(self, relay, path, idle_timeout, playbook_pid=None, clock=time.monotonic):
        self.relay, self.path = relay, path
        self.idle_timeout = idle_timeout
        self.playbook_pid = playbook_pid
        self._clock = clock
        self._active = 0
        self._last = clock()
        self._state = threading.Lock()
        self.stopping = False
        self.listener = None
        self._inode = None

    def listen(self):
        old = os.umask(0o177)  # the socket file: rw for this user only
        try:
            self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.listener.bind(self.path)
        finally:
            os.umask(old)
        self._inode = os.stat(self.path).st_ino
        self.listener.listen(16)
        self.listener.settimeout(TICK)

    def _playbook_gone(self):
        if not self.playbook_pid:
            return False
        try:
            os.kill(int(self.playbook_pid), 0)
        except ProcessLookupError:
            return True
        except (PermissionError, ValueError):
            return False
        return False

    def should_exit(self):
        with self._state:
            if self.stopping:
                return True
            if self._active:
                return False
            return self._clock() - self._last > self.idle_timeout or self._playbook_gone()

    def serve_forever(self):
        try:
            while not self.should_exit():
                try:
                    sock, _addr = self.listener.accept()
                except socket.timeout:
                    continue
                except OSError:  # stop() shut the listener down
                    continue
                if self.stopping or not self._same_user(sock):  # no greeting: the client starts another relay
                    sock.close()
                    continue
                with self._state:
                    self._active += 1
                thread = threading.Thread(target=self._serve_client, args=(sock,))
                thread.daemon = True
                thread.start()
        finally:
            self.shutdown()

    def _same_user(self, sock):
        try:
            _pid, uid, _gid = _PEERCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size))
        except (OSError, AttributeError):  # not Linux: the 0700 directory is the only guard
            return True
        return uid == os.getuid()

    def _serve_client(self, sock):
        try:
            sock.settimeout(None)
            send_frame(sock, GREETING)
            while True:
                request = recv_frame(sock)
                if request is None:
                    break
                if request.get('op') == 'stop':
                    self.stop()
                    send_frame(sock, {'ok': True})
                    break
                reply = self.relay.handle(request)
                with self._state:
                    self._last = self._clock()
                send_frame(sock, reply)
        except (OSError, ValueError):
            pass  # the worker went away; nothing to answer
        finally:
            sock.close()
            with self._state:
                self._active -= 1
                self._last = self._clock()

    def stop(self):
        """No new connections from now on (meta: reset_connection): the next task's worker starts a new relay."""
        with self._state:
            self.stopping = True
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes accept(); refuses new connections
        except OSError:
            pass

    def shutdown(self):
        if self.listener is not None:
            self.listener.close()
            self.listener = None
            with locked(self.path + '.lock'):
                try:
                    ours = os.stat(self.path).st_ino == self._inode
                except OSError:
                    ours = False
                if ours:  # not a socket a newer relay made at the same path after this one stopped listening
                    os.unlink(self.path)
                    os.unlink(self.path + '.lock')
                elif not os.path.lexists(self.path):  # no relay there now: the lock file locked() made must go too
                    os.unlink(self.path + '.lock')
        self.relay.close()


def _detach_output():
    """After the ready line: nothing may write to the worker's pipes any more (it has closed them)."""
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)


def main(config, stdout=None):
    """Run the relay described by ``config`` (socket, uri, vm, idle_timeout, playbook_pid, agent_timeout).

    Says ``{"ok": true}`` on stdout once it listens, or ``{"error": message}`` when
    it cannot open libvirt, find the VM or hear its agent, then serves until it exits.
    """
    out = stdout or sys.stdout
    relay = Relay(config['uri'], config['vm'])
    server = Server(relay, config['socket'], config['idle_timeout'], config.get('playbook_pid'))
    try:
        relay.transport(config).call('guest-ping')  # as the plugin does without the relay: a clear error at once
        server.listen()
    except VmcatError as exc:
        relay.close()
        out.write(json.dumps({'error': exc.msg}) + '\n')
        out.flush()
        return 1
    except OSError as exc:
        relay.close()
        out.write(json.dumps({'error': 'the persistent relay for VM %r on %s could not listen on %s: %s'
                                       % (config['vm'], config['uri'], config['socket'], exc)}) + '\n')
        out.flush()
        return 1
    out.write(json.dumps({'ok': True}) + '\n')
    out.flush()
    if stdout is None:
        _detach_output()
    server.serve_forever()
    return 0
