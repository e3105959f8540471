# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a process inside a guest through its QEMU guest agent (guest-exec, guest-exec-status).

Used by the guest_exec and guest_file modules and by the qga connection
plugin.  Every function takes ``call(command, arguments)``: a function that
sends one agent command and returns its ``return`` value (normally
``_guest_agent.agent_caller(dom, timeout)``, which raises the agent's typed
errors).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import shlex
import time

from ansible_collections.vmcat.libvirt.plugins.module_utils._guest._file_io import write_file
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import VmcatError, WaitTimeout
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._wait import wait_for

try:
    _monotonic = time.monotonic
except AttributeError:  # pragma: no cover - Python 2
    _monotonic = time.time

SHELL = '/bin/sh'
# guest-exec-status is polled at once, then after a pause of a tenth of the time waited so far (at least
# 2 ms, at most 1 s): a process is seen to exit at most ~10 % (or 2 ms) after it does, and a long one costs
# few polls. Doubling the pause instead overshot short commands (a round trip is ~16 ms under TCG) by up
# to 100 %: 20 short commands took 1.00 s against 0.80 s for community.libvirt (bench/README.md).
POLL_FIRST = 0.002
POLL_FRACTION = 0.1
POLL_MAX = 1.0


def poll_delay(waited):
    """Seconds to pause before the next status poll, after ``waited`` seconds of waiting."""
    return min(POLL_MAX, max(POLL_FIRST, waited * POLL_FRACTION))


def _poll_delay(waited, _attempt):
    """poll_delay as wait_for's delay policy."""
    return poll_delay(waited)


class GuestExecTimeout(VmcatError):
    """The process did not exit within the timeout; ``details`` has its pid."""


def describe(path, args):
    return ' '.join([path] + [shlex.quote(a) if (not a or set(a) & set(' \t\n\'"$`\\')) else a for a in args])[:200]


class ExecResult:
    """What a finished guest process left: rc, output bytes, truncation flags, signal."""

    def __init__(self, pid, status):
        self.pid = pid
        self.stdout = base64.b64decode(status.get('out-data') or '')
        self.stderr = base64.b64decode(status.get('err-data') or '')
        self.stdout_truncated = bool(status.get('out-truncated'))
        self.stderr_truncated = bool(status.get('err-truncated'))
        self.signal = status.get('signal')
        if 'exitcode' in status:
            self.rc = status['exitcode']
        else:  # killed by a signal: the shell's convention
            self.rc = 128 + int(self.signal or 0)

    @property
    def truncated(self):
        return self.stdout_truncated or self.stderr_truncated


def exec_arguments(path, args=(), stdin=None, env=None, capture=True):
    """guest-exec's arguments; ``env`` a dict (replaces the agent's environment), ``stdin`` bytes or text."""
    arguments = {'path': path, 'arg': list(args), 'capture-output': bool(capture)}
    if env:
        arguments['env'] = ['%s=%s' % (k, v) for k, v in sorted(env.items())]
    if stdin is not None:
        data = stdin if isinstance(stdin, bytes) else stdin.encode('utf-8')
        arguments['input-data'] = base64.b64encode(data).decode('ascii')
    return arguments


def start(call, path, args=(), stdin=None, env=None, capture=True):
    """Start the process; return its pid in the guest."""
    return call('guest-exec', exec_arguments(path, args, stdin, env, capture))['pid']


def wait(call, pid, timeout, what='the command', sleep=time.sleep, clock=_monotonic):
    """Poll guest-exec-status until the process exits; its ExecResult, or GuestExecTimeout."""
    def exited():
        status = call('guest-exec-status', {'pid': pid}) or {}
        return status if status.get('exited') else None
    # The last poll comes POLL_FIRST after the deadline: a process that ends right at it is still seen to end.
    try:
        status = wait_for(exited, timeout + POLL_FIRST, what, delay=_poll_delay, clock=clock, sleep=sleep)
    except WaitTimeout:
        raise GuestExecTimeout('%s (pid %s in the guest) did not finish within %ss; it may still be running in '
                               'the guest' % (what, pid, timeout), pid=pid, timeout=timeout)
    return ExecResult(pid, status)


def run(call, path, args=(), stdin=None, env=None, timeout=600, sleep=time.sleep, clock=_monotonic):
    """Run one process to its end; its ExecResult.

    Standard input over INLINE_STDIN_MAX bytes goes through a guest file (see _run_spooled).
    """
    data = stdin.encode('utf-8') if isinstance(stdin, type(u'')) else stdin
    if data is not None and len(data) > INLINE_STDIN_MAX:
        return _run_spooled(call, path, args, data, env, timeout, sleep, clock)
    pid = start(call, path, args, data, env)
    return wait(call, pid, timeout, 'command %s' % describe(path, args), sleep=sleep, clock=clock)


# A guest-exec carrying a few hundred KiB of input (base64) makes libvirt report "Guest agent not available for
# now" and the agent needs seconds to recover; larger input is written to a guest file first.
INLINE_STDIN_MAX = 48 * 1024
# $1 is the spooled input: it becomes stdin and is removed before the program ($2 ...) starts.
_SPOOLED_SCRIPT = 'exec < "$1" || exit 125\nrm -f "$1"\nshift\nexec "$@"'


def _run_spooled(call, path, args, data, env, timeout, sleep, clock):
    """Run ``path args`` with ``data`` as stdin, through a private temporary file in the guest."""
    made = run(call, SHELL, ['-c', 'umask 077 && mktemp'], timeout=60, sleep=sleep, clock=clock)
    spool = made.stdout.decode('utf-8', 'replace').strip()
    if made.rc != 0 or not spool.startswith('/'):
        raise VmcatError('could not make a temporary file in the guest for %d bytes of stdin (mktemp: rc %s, %s); '
                         'make sure mktemp works and /tmp is writable in the guest'
                         % (len(data), made.rc, made.stderr.decode('utf-8', 'replace').strip()))
    try:
        write_file(call, spool, data)
    except BaseException:
        try:
            run(call, SHELL, ['-c', 'rm -f "$1"', 'sh', spool], timeout=60, sleep=sleep, clock=clock)
        except Exception:  # cleanup while the write's error goes up: that error is the one to report
            pass
        raise
    pid = start(call, SHELL, ['-c', _SPOOLED_SCRIPT, 'sh', spool, path] + list(args), None, env)
    return wait(call, pid, timeout, 'command %s' % describe(path, args), sleep=sleep, clock=clock)


def shell(call, script, args=(), timeout=120, shell_path=SHELL, **kwargs):
    """Run a shell script; ``args`` become $1, $2, ... (so paths need no quoting)."""
    return run(call, shell_path, ['-c', script, 'sh'] + list(args), timeout=timeout, **kwargs)


# A glob (``IFS=`` keeps spaces) that matches at least one existing path.
_EXISTS_SCRIPT = 'IFS=; set -- $1; [ -e "$1" ] || [ -L "$1" ]'


def path_exists(call, pattern, timeout=60):
    """True when a path matching the glob ``pattern`` exists in the guest (checked with test -e)."""
    result = shell(call, _EXISTS_SCRIPT, [pattern], timeout=timeout)
    if result.rc not in (0, 1):
        raise VmcatError('could not check whether %s exists in the guest: /bin/sh exited with %s: %s'
                         % (pattern, result.rc, result.stderr.decode('utf-8', 'replace').strip()))
    return result.rc == 0
