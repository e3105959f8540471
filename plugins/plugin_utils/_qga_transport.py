# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run commands and move files inside a guest through its QEMU guest agent (for the qga connection plugin).

* ``run``: guest-exec with stdin (``input-data``), environment and captured
  output, then guest-exec-status polled until the process exits or the
  command timeout passes.
* ``put``/``fetch``: guest-file-open/write/read/close in 128 KiB chunks
  (libvirt refuses agent messages much larger than that), then a checksum
  (sha256sum, else md5sum in the guest; else the file is read back).

Every agent failure raises ``QgaError`` with the agent core's message
(``AgentCommandDisabled`` says which qemu-ga setting blocks the command).

Private to vmcat.libvirt: may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import time

from ansible_collections.vmcat.libvirt.plugins.module_utils._guest_agent import AgentError, agent_command

CHUNK = 128 * 1024


class QgaError(Exception):
    def __init__(self, msg, cause=None):
        super(QgaError, self).__init__(msg)
        self.msg = msg
        self.cause = cause


class QgaTransport:
    def __init__(self, dom, agent_timeout=10, command_timeout=600, sleep=time.sleep, clock=time.monotonic):
        self.dom = dom
        self.agent_timeout = agent_timeout
        self.command_timeout = command_timeout
        self._sleep = sleep
        self._clock = clock

    def call(self, command, arguments=None):
        try:
            return agent_command(self.dom, command, arguments, timeout=self.agent_timeout)
        except AgentError as exc:
            raise QgaError(exc.msg, exc)

    # -- commands ---------------------------------------------------------------------------
    def run(self, path, args=(), stdin=None, env=None, timeout=None):
        """(rc, stdout bytes, stderr bytes) of one process in the guest."""
        arguments = {'path': path, 'arg': list(args), 'capture-output': True}
        if env:
            arguments['env'] = ['%s=%s' % (k, v) for k, v in sorted(env.items())]
        if stdin is not None:
            data = stdin if isinstance(stdin, bytes) else stdin.encode('utf-8')
            arguments['input-data'] = base64.b64encode(data).decode('ascii')
        pid = self.call('guest-exec', arguments)['pid']
        timeout = self.command_timeout if timeout is None else timeout
        deadline = self._clock() + timeout
        delay = 0.05
        while True:
            status = self.call('guest-exec-status', {'pid': pid}) or {}
            if status.get('exited'):
                break
            if self._clock() > deadline:
                raise QgaError('command %s (pid %s in the guest) did not finish within %ss (command timeout); it may '
                               'still be running in the guest' % (path if not args else ' '.join([path] + list(args))[:200],
                                                                  pid, timeout))
            self._sleep(delay)
            delay = min(delay * 2, 1.0)
        out = base64.b64decode(status.get('out-data') or '')
        err = base64.b64decode(status.get('err-data') or '')
        if status.get('out-truncated') or status.get('err-truncated'):
            err += b'\n[vmcat.libvirt.qga: the guest agent truncated the output]'
        if 'exitcode' in status:
            rc = status['exitcode']
        else:  # killed by a signal
            rc = 128 + int(status.get('signal') or 0)
        return rc, out, err

    def shell(self, command, **kwargs):
        return self.run('/bin/sh', ['-c', command], **kwargs)

    # -- files ------------------------------------------------------------------------------
    def _open(self, path, mode):
        return self.call('guest-file-open', {'path': path, 'mode': mode})

    def _close(self, handle):
        try:
            self.call('guest-file-close', {'handle': handle})
        except QgaError:
            pass  # closing must never hide the real error

    def write_file(self, path, data):
        handle = self._open(path, 'w')
        try:
            for start in range(0, len(data), CHUNK):
                chunk = data[start:start + CHUNK]
                written = self.call('guest-file-write', {'handle': handle,
                                                         'buf-b64': base64.b64encode(chunk).decode('ascii')})
                if (written or {}).get('count') != len(chunk):
                    raise QgaError('short write to %s in the guest: %s of %d bytes' % (path, (written or {}).get('count'), len(chunk)))
        finally:
            self._close(handle)

    def read_file(self, path):
        handle = self._open(path, 'r')
        parts = []
        try:
            while True:
                reply = self.call('guest-file-read', {'handle': handle, 'count': CHUNK}) or {}
                parts.append(base64.b64decode(reply.get('buf-b64') or ''))
                if reply.get('eof') or not reply.get('count'):
                    break
        finally:
            self._close(handle)
        return b''.join(parts)

    def guest_digest(self, path):
        """(algorithm, hex digest) of a guest file from sha256sum or md5sum; (None, None) when neither runs."""
        quoted = "'%s'" % path.replace("'", "'\\''")
        for algorithm, tool in (('sha256', 'sha256sum'), ('md5', 'md5sum')):
            try:
                rc, out, dummy = self.shell('%s %s' % (tool, quoted), timeout=120)
            except QgaError:
                return None, None
            if rc == 0 and out.split():
                return algorithm, out.split()[0].decode('ascii', 'replace')
        return None, None

    def verify(self, path, data):
        algorithm, digest = self.guest_digest(path)
        if algorithm is None:
            same = self.read_file(path) == data
        else:
            same = hashlib.new(algorithm, data).hexdigest() == digest
        if not same:
            raise QgaError('checksum of %s in the guest does not match the data sent/received (%s)'
                           % (path, algorithm or 'read back'))

    def put(self, data, path):
        self.write_file(path, data)
        self.verify(path, data)

    def fetch(self, path):
        data = self.read_file(path)
        self.verify(path, data)
        return data
