# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run commands and move files inside a guest through its QEMU guest agent (for the qga connection plugin).

A thin adapter over the module_utils that the guest modules use too:

* ``run``: ``_exec.run`` (guest-exec with stdin, environment and
  captured output, guest-exec-status polled until the process exits or the
  command timeout passes).
* ``put``/``fetch``: ``_file_io`` (guest-file-open/write/read/close in
  128 KiB chunks, every write's count checked); with ``checksum`` also
  ``_files.verify`` (sha256sum, else md5sum in the guest; else the file is
  read back).

Every failure raises ``QgaError`` with the core's message
(``AgentCommandDisabled`` says which qemu-ga setting blocks the command).

Private to vmcat.libvirt: may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.vmcat.libvirt.plugins.module_utils._guest import _file_io
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import VmcatError
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._guest_agent import agent_command
from ansible_collections.vmcat.libvirt.plugins.module_utils._guest import _exec
from ansible_collections.vmcat.libvirt.plugins.module_utils._guest import _files

CHUNK = _file_io.CHUNK
TRUNCATED_NOTE = b'\n[vmcat.libvirt.qga: the guest agent truncated the output]'


class QgaError(VmcatError):
    """A core error met by the transport (``cause``); the plugin adapter (``_libvirt.ansible_errors``) raises it."""

    def __init__(self, msg, cause=None):
        super(QgaError, self).__init__(msg)
        self.cause = cause


class _Translated:
    """Turn the core's errors into QgaError."""

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is not None and isinstance(exc, VmcatError):
            raise QgaError(exc.msg, exc)
        return False


class QgaTransport:
    def __init__(self, dom, agent_timeout=10, command_timeout=600, sleep=time.sleep, clock=time.monotonic):
        self.dom = dom
        self.agent_timeout = agent_timeout
        self.command_timeout = command_timeout
        self._sleep = sleep
        self._clock = clock

    def _send(self, command, arguments=None):
        """One agent command; raises the core's AgentError subclasses."""
        return agent_command(self.dom, command, arguments, timeout=self.agent_timeout)

    def call(self, command, arguments=None):
        with _Translated():
            return self._send(command, arguments)

    # -- commands ---------------------------------------------------------------------------
    def run(self, path, args=(), stdin=None, env=None, timeout=None):
        """(rc, stdout bytes, stderr bytes) of one process in the guest."""
        timeout = self.command_timeout if timeout is None else timeout
        with _Translated():
            result = _exec.run(self._send, path, args, stdin=stdin, env=env, timeout=timeout,
                               sleep=self._sleep, clock=self._clock)
        err = result.stderr + (TRUNCATED_NOTE if result.truncated else b'')
        return result.rc, result.stdout, err

    def shell(self, command, **kwargs):
        return self.run('/bin/sh', ['-c', command], **kwargs)

    # -- files ------------------------------------------------------------------------------
    def put(self, data, path, checksum=False):
        """Write ``data`` to ``path``; with ``checksum``, compare a digest made in the guest afterwards."""
        with _Translated():
            _file_io.write_file(self._send, path, data)
            if checksum:
                _files.verify(self._send, path, data)

    def fetch(self, path, checksum=False):
        """The bytes of ``path``; with ``checksum``, compared with a digest made in the guest."""
        with _Translated():
            data = _file_io.read_file(self._send, path)
            if checksum:
                _files.verify(self._send, path, data)
        return data
