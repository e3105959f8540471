# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guest_exec module: one command in a guest, with ansible.builtin.command's creates/removes and results."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import shlex

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._guest_agent import agent_caller
from ansible_collections.vmcat.libvirt.plugins.module_utils._guest import _exec

DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
_CHDIR_ARGV = 'cd "$1" || exit 1; shift; exec "$@"'


def command_line(params):
    """(path, args) that guest-exec runs for the task's argv/cmd/executable/chdir."""
    argv, cmd, shell, chdir = params['argv'], params['cmd'], params['executable'], params['chdir']
    if argv is not None:
        argv = [to_text(a) for a in argv]
        if not argv or not argv[0]:
            raise InvalidInput('argv needs at least the program to run, such as [/bin/ls, -l, /tmp]')
        if chdir:
            return shell, ['-c', _CHDIR_ARGV, 'sh', chdir] + argv
        return argv[0], argv[1:]
    if not cmd or not cmd.strip():
        raise InvalidInput('cmd is empty; give the shell command line to run, or argv')
    if chdir:
        cmd = 'cd %s || exit 1\n%s' % (shlex.quote(chdir), cmd)
    return shell, ['-c', cmd]


def validate(params):
    """(path, args) of the command; InvalidInput for bad options (before anything is sent)."""
    if params['agent_timeout'] <= 0:
        raise InvalidInput('agent_timeout must be a positive number of seconds (got %d)' % params['agent_timeout'])
    if params['timeout'] <= 0:
        raise InvalidInput('timeout must be a positive number of seconds (got %s)' % params['timeout'])
    return command_line(params)


def environment(env):
    """The process environment: ``env`` with a standard PATH unless it sets one (None: the agent's own)."""
    if not env:
        return None
    env = dict((to_text(k), to_text(v)) for k, v in env.items())
    env.setdefault('PATH', DEFAULT_PATH)
    return env


def _text(data, strip):
    text = to_text(data, errors='surrogate_or_replace')
    return text.rstrip('\r\n') if strip else text


def _skip_reason(call, params):
    """Why creates/removes say the command should not run (None: run it)."""
    if params['creates'] and _exec.path_exists(call, params['creates']):
        return "Did not run command since '%s' exists" % params['creates']
    if params['removes'] and not _exec.path_exists(call, params['removes']):
        return "Did not run command since '%s' does not exist" % params['removes']
    return None


def run_in_guest(call, params, act, warn, now=datetime.datetime.now):
    """The module's result dict.  ``act(description, fn)`` is the check-mode guard."""
    path, args = validate(params)
    stdin = params['stdin']
    if stdin is not None and params['stdin_add_newline']:
        stdin += '\n'
    env = environment(params['env'])
    shown = [path] + args
    # failed is explicit: Ansible would count a result with rc null (not run) as failed
    result = dict(cmd=shown, rc=None, stdout='', stderr='', stdout_lines=[], stderr_lines=[], changed=False,
                  failed=False)

    reason = _skip_reason(call, params)
    if reason:
        result.update(msg=reason, rc=0, skipped_by_creates_removes=True)
        return result

    result['changed'] = True
    if not params['wait']:
        pid = act('start %s' % _exec.describe(path, args),
                  lambda: _exec.start(call, path, args, stdin=stdin, env=env, capture=False))
        result.update(pid=pid, msg='started in the guest as pid %s, not waited for' % pid if pid is not None
                      else 'Command would have run if not in check mode')
        return result

    started = now()

    def execute():
        return _exec.run(call, path, args, stdin=stdin, env=env, timeout=params['timeout'])

    done = act('run %s' % _exec.describe(path, args), execute)
    if done is None:
        result['msg'] = 'Command would have run if not in check mode'
        return result
    ended = now()
    strip = params['strip_empty_ends']
    result.update(
        rc=done.rc, pid=done.pid, signal=done.signal,
        stdout=_text(done.stdout, strip), stderr=_text(done.stderr, strip),
        stdout_truncated=done.stdout_truncated, stderr_truncated=done.stderr_truncated,
        start=str(started), end=str(ended), delta=str(ended - started),
        duration=round((ended - started).total_seconds(), 3),
    )
    result['stdout_lines'] = result['stdout'].splitlines()
    result['stderr_lines'] = result['stderr'].splitlines()
    if done.truncated:
        warn('the guest agent truncated the output of %s (%s); qemu-ga keeps at most 16 MiB of each stream: '
             'write big output to a file in the guest and fetch it with vmcat.libvirt.guest_file'
             % (_exec.describe(path, args), ', '.join(n for n, t in (('stdout', done.stdout_truncated),
                                                                     ('stderr', done.stderr_truncated)) if t)))
    if done.rc != 0:
        result.update(failed=True, msg='non-zero return code')
        if done.signal:
            result['msg'] = 'killed by signal %s' % done.signal
    return result


def guest_exec(ctx):
    """The guest_exec module."""
    p = ctx.params
    validate(p)  # bad input fails before the VM is even looked up
    dom = ctx.conn.require_domain(p['name'])
    call = agent_caller(dom, p['agent_timeout'])
    result = run_in_guest(call, p, ctx.act, ctx.warn)
    result['vm'] = dom.name()
    return result
