# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checksums and state of guest files (the bytes move through ``_file_io``).

* ``guest_digest``/``verify``: sha256sum (else md5sum) run in the guest;
  without either (or without guest-exec) the file is read back and hashed here.
* ``file_state``: does a guest file exist, its type, mode, owner, size and
  sha256: with guest-exec (busybox/coreutils stat and sha256sum), else from
  guest-file-open/read alone (no mode and owner then).

``call(command, arguments)`` sends one agent command (see
``_guest_agent.agent_caller``) and raises the typed errors of ``_guest_agent``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import shlex

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import VmcatError
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._guest_agent import (
    AgentCommandDisabled,
    AgentCommandError,
    AgentCommandFailed,
    AgentCommandNotFound,
)
from ansible_collections.vmcat.libvirt.plugins.module_utils._guest import _exec
from ansible_collections.vmcat.libvirt.plugins.module_utils._guest._file_io import GuestFileError, is_missing, read_file


# -- checksums -----------------------------------------------------------------------------
def guest_digest(call, path, timeout=120):
    """(algorithm, hex digest) of a guest file from sha256sum or md5sum; (None, None) when neither runs."""
    for algorithm, tool in (('sha256', 'sha256sum'), ('md5', 'md5sum')):
        try:
            result = _exec.run(call, '/bin/sh', ['-c', '%s %s' % (tool, shlex.quote(path))],
                                     timeout=timeout)
        except VmcatError:
            return None, None
        words = result.stdout.split()
        if result.rc == 0 and words:
            return algorithm, words[0].decode('ascii', 'replace')
    return None, None


def verify(call, path, data):
    """Fail unless the guest file ``path`` holds exactly ``data``."""
    algorithm, digest = guest_digest(call, path)
    if algorithm is None:
        same = read_file(call, path) == data
    else:
        same = hashlib.new(algorithm, data).hexdigest() == digest
    if not same:
        raise GuestFileError('checksum of %s in the guest does not match the data sent/received (%s)'
                             % (path, algorithm or 'read back'), guest_path=path)


# -- the state of one guest file -------------------------------------------------------------
# Exit 2: nothing there; 3: not a regular file (type on stdout); else "mode owner group size uid gid" and a sha256.
_STATE_SCRIPT = r'''
if [ ! -e "$1" ]; then
  if [ -L "$1" ]; then echo link; exit 3; fi
  exit 2
fi
if [ ! -f "$1" ]; then
  if [ -d "$1" ]; then echo directory; else echo other; fi
  exit 3
fi
stat -L -c '%a %U %G %s %u %g' "$1" || exit 4
sha256sum < "$1" || echo -
'''


def _missing():
    return dict(exists=False, type=None, mode=None, owner=None, group=None, uid=None, gid=None, size=None, sha256=None)


def _state_by_exec(call, path, timeout):
    result = _exec.shell(call, _STATE_SCRIPT, [path], timeout=timeout)
    if result.rc == 2:
        return _missing()
    if result.rc == 3:
        state = _missing()
        state.update(exists=True, type=result.stdout.decode('utf-8', 'replace').strip() or 'other')
        return state
    lines = result.stdout.decode('utf-8', 'replace').splitlines()
    words = lines[0].split() if lines else []
    if result.rc != 0 or len(words) != 6:
        raise GuestFileError('could not read the mode, owner and size of %s in the guest (stat exited with %s: %s); '
                             'the guest needs a POSIX shell, stat and sha256sum (busybox or coreutils)'
                             % (path, result.rc, result.stderr.decode('utf-8', 'replace').strip()[:300]), guest_path=path)
    digest = lines[1].split()[0] if len(lines) > 1 and lines[1].split() else '-'
    return dict(exists=True, type='file', mode='0%s' % words[0].lstrip('0').rjust(3, '0'), owner=words[1],
                group=words[2], size=int(words[3]), uid=int(words[4]), gid=int(words[5]),
                sha256=None if digest == '-' else digest)


def _state_by_read(call, path):
    try:
        data = read_file(call, path)
    except AgentCommandFailed as exc:
        if is_missing(exc):
            return _missing()
        raise
    state = _missing()
    state.update(exists=True, type='file', size=len(data), sha256=hashlib.sha256(data).hexdigest())
    state['_data'] = data
    return state


def file_state(call, path, use_exec=True, timeout=120):
    """exists, type, mode ('0644'), owner, group, size, sha256 of a guest file, and ``via``: exec or read.

    With ``use_exec`` (and guest-exec enabled) one shell in the guest answers
    everything; otherwise the file is read through guest-file-read and mode,
    owner and group are None.  A file read that way keeps its bytes in ``_data``.
    """
    if use_exec:
        try:
            state = _state_by_exec(call, path, timeout)
            state['via'] = 'exec'
            if state['sha256'] is not None or not state['exists'] or state['type'] != 'file':
                return state
            # no sha256sum in the guest: hash what the agent reads
            read = _state_by_read(call, path)
            state.update(sha256=read['sha256'], _data=read.get('_data'))
            return state
        except (AgentCommandDisabled, AgentCommandNotFound):
            pass
    state = _state_by_read(call, path)
    state['via'] = 'read'
    return state


def exec_enabled(call):
    """True when guest-exec and guest-exec-status are enabled in the guest's agent (from guest-info)."""
    try:
        info = call('guest-info') or {}
    except AgentCommandError:
        return True  # cannot tell: try, and let the command itself say why not
    enabled = dict((c.get('name'), c.get('enabled', True)) for c in info.get('supported_commands') or [])
    return enabled.get('guest-exec', False) and enabled.get('guest-exec-status', False)
