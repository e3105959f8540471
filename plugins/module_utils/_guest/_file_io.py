# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Move bytes in and out of a guest file through its QEMU guest agent (guest-file-open/write/read/close).

Chunks of 128 KiB: bigger agent messages make libvirt's agent channel fail
with "Guest agent not available for now".  ``call(command, arguments)``
sends one agent command (see ``_guest_agent.agent_caller``).  Nothing here runs a
command in the guest, so ``_exec`` can use it to spool a large stdin.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import VmcatError
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._guest_agent import AgentCommandFailed

CHUNK = 128 * 1024


class GuestFileError(VmcatError):
    """A guest file could not be written, read or verified."""


def _close(call, handle):
    try:
        call('guest-file-close', {'handle': handle})
    except VmcatError:
        pass  # closing must never hide the real error


def write_file(call, path, data, chunk=CHUNK, progress=None):
    """Write ``data`` (bytes) to ``path`` in the guest, replacing it; chunks of ``chunk`` bytes."""
    handle = call('guest-file-open', {'path': path, 'mode': 'w'})
    try:
        for offset in range(0, len(data), chunk):
            piece = data[offset:offset + chunk]
            written = call('guest-file-write', {'handle': handle, 'buf-b64': base64.b64encode(piece).decode('ascii')})
            count = (written or {}).get('count')
            if count != len(piece):
                raise GuestFileError('short write to %s in the guest: %s of %d bytes at offset %d'
                                     % (path, count, len(piece), offset), guest_path=path)
            if progress is not None:
                progress(offset + len(piece))
    finally:
        _close(call, handle)


def read_file(call, path, chunk=CHUNK, limit=None):
    """The bytes of ``path`` in the guest (at most ``limit`` bytes when given)."""
    handle = call('guest-file-open', {'path': path, 'mode': 'r'})
    parts, total = [], 0
    try:
        while limit is None or total < limit:
            count = chunk if limit is None else min(chunk, limit - total)
            reply = call('guest-file-read', {'handle': handle, 'count': count}) or {}
            data = base64.b64decode(reply.get('buf-b64') or '')
            parts.append(data)
            total += len(data)
            if reply.get('eof') or not reply.get('count'):
                break
    finally:
        _close(call, handle)
    return b''.join(parts)


def is_missing(exc):
    """True for the agent's answer to opening a file that does not exist."""
    return isinstance(exc, AgentCommandFailed) and 'No such file' in exc.msg
