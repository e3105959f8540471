# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The worker's side of the qga connection's persistent relay (``vmcat_qga_persistent: true``).

Without the relay, every task's worker process imports libvirt, opens a
libvirt connection, looks the VM up and pings its agent (about 50 ms a task).
With it, one relay process per VM and ansible-playbook run does that once
(``_qga_relay_server``) and the workers only talk to it over a Unix socket:
this file uses the standard library only, so a worker never imports libvirt.

Ansible's own persistent connections (``ansible-connection``) were measured
first and do not fit: ansible-core starts its connection stub, a new Python
process that imports half of ansible, for every task (about 350 ms).

Protocol: a frame is a 4-byte big-endian length and that many bytes of JSON.
The relay greets each accepted connection with ``{"relay": 1}``; a client
that gets no greeting knows its request was never seen (the relay was
exiting) and may start another relay.  Then each request frame
``{"op": ..., ...}`` gets one reply frame, ``{"ok": true, ...}`` or
``{"error": message}``.  File transfers send local paths, not data: the
relay runs as the same user on the same host and reads or writes the
controller file itself.

The socket lives in ansible's persistent connection directory
(``~/.ansible/pc`` by default), which is created with mode 0700 and refused
when another user owns it or it is open to others; the socket itself is made
under umask 077 and the relay refuses peers of another uid (SO_PEERCRED).

Private to vmcat.libvirt: may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import fcntl
import hashlib
import json
import os
import socket
import stat
import struct
import subprocess
import sys

GREETING = {'relay': 1}
HEADER = struct.Struct('>I')
MAX_FRAME = 64 * 1024 * 1024
START_TIMEOUT = 120  # seconds a new relay may take to open libvirt, find the VM and hear the agent


class RelayError(Exception):
    """The relay could not be reached or started; ``msg`` says which VM, URI and what to do."""

    def __init__(self, msg):
        super(RelayError, self).__init__(msg)
        self.msg = msg


# -- frames -------------------------------------------------------------------------------------
def send_frame(sock, obj):
    data = json.dumps(obj).encode('utf-8')
    sock.sendall(HEADER.pack(len(data)) + data)


def _read_exact(sock, size):
    parts = []
    while size:
        part = sock.recv(min(size, 1024 * 1024))
        if not part:
            return None
        parts.append(part)
        size -= len(part)
    return b''.join(parts)


def recv_frame(sock):
    """The next frame's JSON value; None when the peer closed the connection between frames."""
    head = _read_exact(sock, HEADER.size)
    if head is None:
        return None
    (size,) = HEADER.unpack(head)
    if size > MAX_FRAME:
        raise ValueError('frame of %d bytes is larger than %d' % (size, MAX_FRAME))
    body = _read_exact(sock, size)
    if body is None:
        return None
    return json.loads(body.decode('utf-8'))


# -- where the socket lives ---------------------------------------------------------------------
def private_dir(path):
    """Make ``path`` (mode 0700) if needed; refuse it when another user owns it or others may enter it."""
    path = os.path.expanduser(path)
    try:
        os.makedirs(path, mode=0o700)
    except OSError as exc:
        if not os.path.isdir(path):
            raise RelayError('could not make the directory %s for the relay socket: %s; set the '
                             'persistent_control_path_dir setting to a private directory this user may write' % (path, exc))
    info = os.stat(path)
    if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
        raise RelayError('the directory %s for the relay socket must belong to uid %d with mode 0700 (it is uid %d, '
                         'mode %o); fix it with chmod 700 %s, or set the persistent_control_path_dir setting to a '
                         'private directory' % (path, os.getuid(), info.st_uid, stat.S_IMODE(info.st_mode), path))
    return path


def socket_path(directory, playbook_pid, uri, vm):
    """One socket per ansible-playbook run, URI and VM (a short name: Unix socket paths have about 100 bytes)."""
    key = hashlib.sha256(('%s\0%s\0%s' % (playbook_pid, uri, vm)).encode('utf-8')).hexdigest()[:20]
    return os.path.join(directory, 'vmcat-qga-%s' % key)


@contextlib.contextmanager
def locked(path):
    """Hold the lock file ``path``; a relay removes it when it exits, so the file locked must still be the one there."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                break
        except OSError:  # removed while this waited for it
            pass
        os.close(fd)
    try:
        yield
    finally:
        os.close(fd)  # closing drops the lock


def _connect(path, timeout):
    """A socket to the relay at ``path`` that got its greeting; None when no relay listens there."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
        hello = recv_frame(sock)
    except (OSError, ValueError):
        sock.close()
        return None
    if hello != GREETING:
        sock.close()
        return None
    return sock


# -- the relay process --------------------------------------------------------------------------
# The relay imports this collection straight from the directory that holds it (a namespace package, as the
# collection loader finds it there too): the loader itself costs about 35 ms more of the first task's start.
_BOOT = ('import sys, json\n'
         'config = json.loads(sys.stdin.readline())\n'
         'sys.path.insert(0, config["collection_root"])\n'
         'from ansible_collections.vmcat.libvirt.plugins.plugin_utils._qga_relay_server import main\n'
         'sys.exit(main(config))\n')


def collection_root():
    """The directory that holds ``ansible_collections/vmcat/libvirt`` (this file's collection)."""
    here = os.path.abspath(__file__)
    marker = os.sep + os.path.join('ansible_collections', 'vmcat', 'libvirt') + os.sep
    if marker not in here:
        raise RelayError('the persistent relay needs vmcat.libvirt installed as a directory (found at %s); set '
                         'vmcat_qga_persistent: false' % here)
    return here[:here.index(marker)]


def _start(path, config, where):
    """Start a relay for ``path`` (detached: its own session, stdin/stdout/stderr not shared) and wait for it."""
    config = dict(config, socket=path, collection_root=collection_root())
    proc = subprocess.Popen([sys.executable, '-c', _BOOT], cwd='/', stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, close_fds=True, start_new_session=True)
    try:
        proc.stdin.write((json.dumps(config) + '\n').encode('utf-8'))
        proc.stdin.close()
        line = proc.stdout.readline()  # the relay answers once it listens, or says why it cannot
        try:
            status = json.loads(line.decode('utf-8')) if line else None
        except ValueError:
            status = None
        if not isinstance(status, dict):  # it died first (a Python error: its traceback is on stderr)
            said = proc.stderr.read()[-1500:].decode('utf-8', 'replace').strip()
            proc.wait()
            raise RelayError('the persistent relay for %s ended at start (exit code %s): %s; fix that, or set '
                             'vmcat_qga_persistent: false to connect from each task'
                             % (where, proc.returncode, said or 'it said nothing'))
    finally:
        proc.stdout.close()
        proc.stderr.close()  # the relay points its stdout and stderr at /dev/null once it listens
    if status.get('error'):
        proc.wait()
        raise RelayError(status['error'])


class RelayClient:
    """One worker's connection to the relay of a VM; ``call`` sends a request and returns the reply."""

    def __init__(self, path, config, timeout):
        self.path = path
        self.config = config  # uri, vm, agent_timeout, idle_timeout, playbook_pid
        self.timeout = timeout
        self.where = "VM '%s' on %s" % (config['vm'], config['uri'])
        self._sock = None

    def open(self):
        """Reach the relay, starting one when none listens (under a lock, so parallel workers start one)."""
        if self._sock is not None:
            return self
        sock = _connect(self.path, self.timeout)
        if sock is None:
            with locked(self.path + '.lock'):
                sock = _connect(self.path, self.timeout)
                if sock is None:
                    if os.path.lexists(self.path):
                        os.unlink(self.path)  # a relay that ended without removing its socket
                    try:
                        _start(self.path, self.config, self.where)
                    except RelayError:
                        os.unlink(self.path + '.lock')  # no relay will remove it (safe under the lock: see locked)
                        raise
                    sock = _connect(self.path, self.timeout)
            if sock is None:
                raise RelayError('the persistent relay for %s started but does not answer on %s; set '
                                 'vmcat_qga_persistent: false to connect from each task' % (self.where, self.path))
        self._sock = sock
        return self

    def call(self, op, timeout=None, **args):
        self.open()
        self._sock.settimeout(timeout or self.timeout)
        try:
            send_frame(self._sock, dict(args, op=op))
            reply = recv_frame(self._sock)
        except socket.timeout:
            self.close()
            raise RelayError('no answer from the persistent relay for %s within %ss (%s); the command may still run '
                             'in the guest' % (self.where, timeout or self.timeout, op))
        except (OSError, ValueError) as exc:
            reply, why = None, ' (%s)' % exc
        else:
            why = ''
        if reply is None:
            self.close()
            raise RelayError('the persistent relay for %s ended during %s (was it killed?)%s; the next task starts a '
                             'new one' % (self.where, op, why))
        if reply.get('error'):
            raise RelayError(reply['error'])
        return reply

    def close(self):
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def stop(path, timeout=10):
    """Ask the relay at ``path`` to close libvirt and exit (meta: reset_connection); False when none listens."""
    sock = _connect(path, timeout)
    if sock is None:
        return False
    try:
        send_frame(sock, {'op': 'stop'})
        recv_frame(sock)
    except (OSError, ValueError):
        pass
    finally:
        sock.close()
    return True
