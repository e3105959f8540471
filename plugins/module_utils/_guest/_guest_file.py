# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guest_file module: a file inside a guest present (with content, mode, owner), absent, or fetched.

What each state needs from the guest's agent:

* present: guest-file-open/write/read/close; guest-exec for mode/owner/group
  (chmod, chown) and for a fast checksum (sha256sum), else the file is read back.
* absent: guest-exec (rm); a file that is already gone needs only guest-file-open.
* fetched: guest-file-open/read/close.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import hashlib
import os
import re

from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.vmcat.libvirt.plugins.module_utils._guest import _file_io
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._cycle import Outcome
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput, VmcatError
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._guest_agent import AgentCommandFailed, agent_caller
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._local_files import write_atomically
from ansible_collections.vmcat.libvirt.plugins.module_utils._guest import _exec
from ansible_collections.vmcat.libvirt.plugins.module_utils._guest import _files

EXEC_HINT = ('enable them in the guest: remove them from block-rpcs (or add them to allow-rpcs) in '
             '/etc/qemu/qemu-ga.conf, or from --block-rpcs/--allow-rpcs (BLOCK_RPCS/FILTER_RPC_ARGS in '
             '/etc/sysconfig/qemu-ga on RHEL), then restart qemu-guest-agent')
DIFF_LIMIT = 64 * 1024  # larger files, or binary ones, show as checksums in a diff
_MODE = re.compile(r'^0?[0-7]{3,4}$')
_NAME = re.compile(r'^[A-Za-z0-9_.][A-Za-z0-9_.-]*\$?$')


class GuestFile:
    """The task's view of one guest file: ``call`` sends agent commands, ``where`` names the VM."""

    def __init__(self, call, params, where, check_mode, act, want_diff=False, module=None):
        self.call = call
        self.p = params
        self.path = params['path']
        self.where = where
        self.check_mode = check_mode
        self.act = act
        self.want_diff = want_diff
        self.module = module  # the AnsibleModule, for atomic_move (None on the controller and in tests)
        self._exec_ok = None

    # -- what the agent allows ----------------------------------------------------------------
    def exec_ok(self):
        if self._exec_ok is None:
            self._exec_ok = _files.exec_enabled(self.call)
        return self._exec_ok

    def require_exec(self, why):
        if not self.exec_ok():
            raise VmcatError(
                "%s needs guest-exec and guest-exec-status, which the guest agent of %s has disabled; %s. "
                "Without them, leave out mode, owner and group (and do not use state=absent)"
                % (why, self.where, EXEC_HINT),
                reason='disabled', command='guest-exec')

    def state(self, keep_for_diff=False):
        """The file's state; with ``keep_for_diff`` a small file's bytes too (``_data``), read now."""
        state = _files.file_state(self.call, self.path, use_exec=self.exec_ok())
        if state['exists'] and state['type'] != 'file':
            raise VmcatError('%s in %s is a %s, not a regular file; guest_file handles regular files only'
                             % (self.path, self.where, state['type']), guest_path=self.path)
        if (keep_for_diff and self.want_diff and state['exists'] and state.get('_data') is None
                and state['size'] is not None and state['size'] <= DIFF_LIMIT):
            state['_data'] = _file_io.read_file(self.call, self.path, limit=DIFF_LIMIT + 1)
        return state

    def run_shell(self, what, script, *args):
        result = _exec.shell(self.call, script, list(args), timeout=120)
        if result.rc != 0:
            raise VmcatError('%s in %s failed (exit %s): %s'
                             % (what, self.where, result.rc, to_text(result.stderr).strip()[:500]),
                             guest_path=self.path)

    # -- diff ---------------------------------------------------------------------------------
    def shown(self, state, data=None):
        """A guest file as diff text: its content when small text, else its checksum and size."""
        if not state or not state.get('exists'):
            return ''
        if data is None:
            data = state.get('_data')
        if data is not None and len(data) <= DIFF_LIMIT and b'\0' not in data:
            try:
                return data.decode('utf-8')
            except UnicodeDecodeError:
                pass
        return 'sha256: %s, %s bytes (binary or larger than %d bytes: not shown)\n' % (
            state.get('sha256'), state.get('size'), DIFF_LIMIT)

    def diff(self, before, after, before_data=None, after_data=None):
        header = '%s (in %s)' % (self.path, self.where)
        diffs = [dict(before=self.shown(before, before_data), after=self.shown(after, after_data),
                      before_header=header, after_header=header)]
        keys = ('mode', 'owner', 'group')
        if any(self.p.get(k) for k in keys) and after and after.get('exists'):
            diffs.append(dict(before=dict((k, (before or {}).get(k)) for k in keys),
                              after=dict((k, after.get(k)) for k in keys)))
        return diffs


def public(state):
    """A file state for the result (without the bytes read)."""
    if state is None:
        return None
    return dict((k, v) for k, v in state.items() if not k.startswith('_') and k != 'via')


def normalise_mode(mode):
    """'0644' for 0644, '644', 420 (YAML's int for 0644); InvalidInput for symbolic modes."""
    if mode is None:
        return None
    if isinstance(mode, int):
        return '0%o' % mode if mode < 0o10000 else None
    text = to_text(mode).strip()
    if not _MODE.match(text):
        raise InvalidInput("mode must be octal like '0644' (quoted in YAML), not %r; symbolic modes are not "
                           "supported" % (mode,))
    return '0' + text.lstrip('0').rjust(3, '0')


def payload(params):
    """The bytes to put: content (text), content_b64, or the file src on the host that runs the module."""
    if params.get('content') is not None:
        return to_bytes(params['content'], errors='surrogate_or_strict')
    if params.get('content_b64') is not None:
        try:
            return base64.b64decode(params['content_b64'], validate=True)
        except (binascii.Error, ValueError, TypeError) as exc:
            raise InvalidInput('content_b64 is not valid base64: %s' % exc)
    src = params.get('src')
    if not src:
        raise InvalidInput('state=present needs content, content_b64 or src')
    try:
        with open(src, 'rb') as handle:
            return handle.read()
    except (IOError, OSError) as exc:
        raise InvalidInput('could not read src %s: %s' % (src, exc))


def validate(params):
    if not params['path'] or not params['path'].startswith('/'):
        raise InvalidInput("path must be an absolute path inside the guest, like /etc/motd (got %r)" % params['path'])
    mode = normalise_mode(params.get('mode'))
    if params.get('mode') is not None and mode is None:
        raise InvalidInput('mode %r is out of range; give it as an octal string like 0644' % (params['mode'],))
    for key in ('owner', 'group'):
        if params.get(key) is not None and not _NAME.match(params[key]):
            raise InvalidInput('%s %r is not a user/group name or number' % (key, params[key]))
    if params['state'] != 'present':
        for key in ('content', 'content_b64', 'src', 'mode', 'owner', 'group'):
            if params.get(key) is not None:
                raise InvalidInput('%s applies to state=present only (state is %s)' % (key, params['state']))
    if params['state'] != 'fetched' and params.get('dest'):
        raise InvalidInput('dest (the local copy of a guest file) applies to state=fetched only')
    return mode


def _owner_matches(state, wanted, name_key, id_key):
    return wanted is None or wanted == state.get(name_key) or wanted == str(state.get(id_key))


# -- present ---------------------------------------------------------------------------------
def ensure_present(gf, mode):
    p = gf.p
    data = payload(p)
    want_sha = hashlib.sha256(data).hexdigest()
    if mode or p['owner'] or p['group']:
        gf.require_exec('setting mode, owner or group')
    before = gf.state(keep_for_diff=True)
    # qemu-ga creates new files 0600, owned by the agent's user (root)
    base = before if before['exists'] else dict(mode='0600', owner='root', group='root', uid=0, gid=0)
    write = not before['exists'] or before['sha256'] != want_sha
    chmod = mode is not None and mode != base['mode']
    chown = not (_owner_matches(base, p['owner'], 'owner', 'uid') and _owner_matches(base, p['group'], 'group', 'gid'))
    if write:
        gf.act('write %d bytes to %s' % (len(data), gf.path), _file_io.write_file, gf.call, gf.path, data)
    if chown:
        spec = (p['owner'] or '') + (':' + p['group'] if p['group'] else '')
        gf.act('chown %s %s' % (spec, gf.path), gf.run_shell, 'chown', 'chown "$1" "$2"', spec, gf.path)
    if chmod:
        gf.act('chmod %s %s' % (mode, gf.path), gf.run_shell, 'chmod', 'chmod "$1" "$2"', mode, gf.path)
    changed = write or chmod or chown
    if changed and not gf.check_mode:
        after = gf.state()
        if after['sha256'] != want_sha:
            raise VmcatError('%s in %s does not hold what was written (sha256 %s, expected %s); the write was cut '
                             'short or something else changed the file' % (gf.path, gf.where, after['sha256'], want_sha),
                             guest_path=gf.path)
    else:
        after = dict(base, exists=True, type='file', size=len(data), sha256=want_sha)
        if chmod:
            after['mode'] = mode
        if chown:
            for key, id_key in (('owner', 'uid'), ('group', 'gid')):
                if p[key]:
                    after[key] = p[key]
                    after[id_key] = int(p[key]) if p[key].isdigit() else None
    if gf.exec_ok() is False:
        for key in ('mode', 'owner', 'group', 'uid', 'gid'):
            after[key] = None
    return changed, before, after, dict(after_data=data)


# -- absent ----------------------------------------------------------------------------------
def ensure_absent(gf, mode):
    before = gf.state(keep_for_diff=True)
    after = before
    if before['exists']:
        gf.require_exec('removing a guest file')
        gf.act('remove %s' % gf.path, gf.run_shell, 'rm', 'rm -f -- "$1"', gf.path)
        after = dict((k, None) for k in before if not k.startswith('_'))
        after['exists'] = False
    return before['exists'], before, after, {}


# -- fetched ---------------------------------------------------------------------------------
def _local_sha256(path):
    digest = hashlib.sha256()
    try:
        with open(path, 'rb') as handle:
            for block in iter(lambda: handle.read(1 << 20), b''):
                digest.update(block)
    except (IOError, OSError):
        return None
    return digest.hexdigest()


def local_dest(dest, guest_path):
    """The local file for a fetched guest file: ``dest``, or dest/basename when dest is a directory."""
    if dest.endswith('/') or os.path.isdir(dest):
        return os.path.join(dest, os.path.basename(guest_path))
    return dest


def write_local(path, data, module=None):
    """Write ``data`` to the local ``path`` atomically (a temporary file, then rename; see write_atomically)."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise InvalidInput('dest directory %s does not exist on this host; create it first' % directory)
    write_atomically(path, data, module)


def fetch(gf):
    """(data, state) of the guest file, read through guest-file-read and checked with sha256sum when it can."""
    try:
        data = _file_io.read_file(gf.call, gf.path)
    except AgentCommandFailed as exc:
        if _file_io.is_missing(exc):
            raise VmcatError('%s does not exist in %s; nothing to fetch' % (gf.path, gf.where), guest_path=gf.path)
        raise
    if gf.exec_ok():
        _files.verify(gf.call, gf.path, data)
    state = dict(exists=True, type='file', size=len(data), sha256=hashlib.sha256(data).hexdigest())
    return data, state


def ensure_fetched(gf, mode):
    data, state = fetch(gf)
    extra = dict(data=data, sha256=state['sha256'], state=state)
    dest = gf.p.get('dest')
    if not dest:
        return False, state, state, extra
    target = local_dest(dest, gf.path)
    extra['dest'] = target
    old = _local_sha256(target)
    changed = old != state['sha256']
    if changed:
        gf.act('write %d bytes to %s on this host' % (len(data), target), write_local, target, data, gf.module)
    return changed, dict(path=target, sha256=old), dict(path=target, sha256=state['sha256']), extra


ACTIONS = dict(present=ensure_present, absent=ensure_absent, fetched=ensure_fetched)


def converge(call, params, where, check_mode, act, want_diff=False, module=None):
    """The Outcome for one guest file (key ``file``; without ``vm``).

    Its diff is the file's text (or checksum), which the dict diff of other
    resources cannot show, so the Outcome carries it ready-made.
    """
    mode = validate(params)
    gf = GuestFile(call, params, where, check_mode, act, want_diff, module)
    changed, before, after, extra = ACTIONS[params['state']](gf, mode)
    # not 'path': AnsibleModule would add the stat of a same-named file on the module's host
    shaped = dict(guest_path=gf.path, state=params['state'])
    if params['state'] == 'fetched':
        shaped.update(size=len(extra['data']), sha256=extra['sha256'])
        if 'dest' in extra:
            shaped['dest'] = extra['dest']
        if params.get('return_content') or not extra.get('dest'):
            shaped['content_b64'] = base64.b64encode(extra['data']).decode('ascii')
            try:
                shaped['content'] = extra['data'].decode('utf-8')
            except UnicodeDecodeError:
                shaped['content'] = None
        outcome = Outcome(changed, None, extra['state'], **shaped)
        if want_diff and 'dest' in extra:
            outcome.diff = dict(before='sha256: %s\n' % before['sha256'] if before['sha256'] else '',
                                after='sha256: %s\n' % after['sha256'], before_header=extra['dest'],
                                after_header=extra['dest'])
        return outcome
    shaped.update(via='exec' if gf.exec_ok() else 'file')
    outcome = Outcome(changed, None, public(after), **shaped)
    outcome.extra['before'] = public(before)  # the result's key; Outcome's own before stays unused
    if want_diff:
        outcome.diff = gf.diff(before, after, after_data=extra.get('after_data'))
    return outcome


def guest_file(ctx):
    """The guest_file module."""
    p = ctx.params
    validate(p)
    dom = ctx.conn.require_domain(p['name'])
    call = agent_caller(dom, p['agent_timeout'])
    want_diff = bool(ctx.module is not None and getattr(ctx.module, '_diff', False))
    outcome = converge(call, p, "VM '%s' on %s" % (dom.name(), ctx.conn.uri), ctx.check_mode, ctx.act, want_diff,
                       ctx.module)
    outcome.extra.update(vm=dom.name(), actions=ctx.actions)
    return outcome
