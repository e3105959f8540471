# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A guest user's password and SSH authorized keys, through the guest agent alone.

Agent commands used (none of them needs guest-exec or guest-file-*):

- ``guest-ssh-get-authorized-keys`` / ``-add-`` / ``-remove-`` (qemu-ga 5.2+):
  the agent edits ``~user/.ssh/authorized_keys`` itself (creating ``.ssh``
  with the right owner and modes).  qemu-ga matches keys as whole lines, so
  this module does too (after trimming blanks at both ends).
- ``guest-set-user-password``: qemu-ga runs ``chpasswd`` (``chpasswd -e``
  for a hash) in the guest.  A password cannot be read back through the
  agent; see ``password_state`` for when a hash can be compared.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import re

from ansible_collections.vmcat.libvirt.plugins.module_utils._guest import _file_io
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._guest_agent import (
    AgentCommandError,
    AgentCommandFailed,
    agent_caller,
    agent_command,
)
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._cycle import Outcome

SHADOW = '/etc/shadow'
_CONTROL_CHARS = re.compile(r'[\x00-\x1f\x7f]')
_SHADOW_MAX = 4 * 1024 * 1024


# -- the user -----------------------------------------------------------------------------
def check_user(user, vm_name, uri):
    """Refuse a guest user name no guest can have, before the agent is asked.

    qemu-ga hands the name to chpasswd as ``user:password`` and looks it up for the key file; an empty name, a
    ':' or a line break would make it set another line than meant, blanks around it are a typing mistake (names
    with blanks inside are kept: Windows guests have them).
    """
    rules = (
        (not user or not user.strip(), 'it is empty'),
        (user != user.strip(), 'it starts or ends with a blank'),
        (':' in user, "it contains ':'"),
        (_CONTROL_CHARS.search(user) is not None, 'it contains a control character (line break, tab, ...)'),
    )
    for broken, why in rules:
        if broken:
            raise InvalidInput("user %r is not a guest user name for VM '%s' on %s: %s; give the name of an "
                               "existing user of the guest, such as 'root'" % (user, vm_name, uri, why))
    return user


# -- keys ----------------------------------------------------------------------------------
def normalise_keys(keys):
    """The task's keys as trimmed lines, duplicates dropped, order kept; bad input raises InvalidInput."""
    out = []
    for index, key in enumerate(keys or []):
        if not isinstance(key, str):
            raise InvalidInput('authorized_keys[%d] must be a string (one public key line), got %r' % (index, key))
        line = key.strip()
        if not line or line.startswith('#'):
            raise InvalidInput('authorized_keys[%d] is empty or a comment; give public key lines such as '
                               '"ssh-ed25519 AAAA... user@host"' % index)
        if '\n' in line or '\r' in line:
            raise InvalidInput('authorized_keys[%d] holds more than one line; give one key per list item' % index)
        if line not in out:
            out.append(line)
    return out


def plan_keys(current, wanted, state, exclusive):
    """What to do with the keys: (add, remove, reset, after).

    ``current``: the guest's key lines; ``wanted``: the task's (normalised);
    ``state``: present or absent; ``exclusive``: the guest should have exactly
    ``wanted`` (state present only).  ``reset`` means "replace the file with
    ``add``" (guest-ssh-add-authorized-keys reset=true).
    """
    current = [k.strip() for k in current if k.strip()]
    if state == 'absent':
        remove = [k for k in wanted if k in current]
        return [], remove, False, [k for k in current if k not in remove]
    if exclusive:
        if current == wanted:
            return [], [], False, list(current)
        extra = [k for k in current if k not in wanted]
        if not extra and set(current) == set(wanted) and len(current) == len(set(current)):
            return [], [], False, list(current)  # same keys, other order: nothing to change
        return list(wanted), extra, True, list(wanted)
    add = [k for k in wanted if k not in current]
    return add, [], False, current + add


def _no_key_file(exc):
    """qemu-ga fails guest-ssh-get-authorized-keys when ~/.ssh/authorized_keys does not exist: no keys."""
    text = exc.details.get('agent_error') or exc.msg
    return 'authorized_keys' in text and 'No such file or directory' in text


def get_keys(dom, user, timeout):
    """The user's key lines; [] when the user has no authorized_keys file yet."""
    try:
        reply = agent_command(dom, 'guest-ssh-get-authorized-keys', {'username': user}, timeout=timeout) or {}
    except AgentCommandFailed as exc:
        if _no_key_file(exc):
            return []
        raise
    return [k.strip() for k in reply.get('keys') or [] if k.strip()]


def add_keys(dom, user, keys, reset, timeout):
    args = {'username': user, 'keys': keys}
    if reset:
        args['reset'] = True
    agent_command(dom, 'guest-ssh-add-authorized-keys', args, timeout=timeout)


def remove_keys(dom, user, keys, timeout):
    agent_command(dom, 'guest-ssh-remove-authorized-keys', {'username': user, 'keys': keys}, timeout=timeout)


# -- password ------------------------------------------------------------------------------
def set_password(dom, user, secret, crypted, timeout):
    """guest-set-user-password; the agent takes the password base64-encoded."""
    encoded = base64.b64encode(secret.encode('utf-8')).decode('ascii')
    try:
        agent_command(dom, 'guest-set-user-password',
                      {'username': user, 'password': encoded, 'crypted': bool(crypted)}, timeout=timeout)
    except AgentCommandFailed as exc:
        if "find 'passwd'" in (exc.details.get('agent_error') or ''):
            # qemu-ga looks for chpasswd but names it 'passwd' in this message
            exc.msg += ('; the agent runs chpasswd to set passwords: install it in the guest (package passwd on '
                        'Debian/Ubuntu, shadow-utils on RHEL/Fedora) in the PATH of qemu-guest-agent')
            exc.args = (exc.msg,)
        raise


def shadow_hash(shadow_text, user):
    """The password field of ``user`` in an /etc/shadow text, or None when the user has no line."""
    for line in shadow_text.splitlines():
        fields = line.split(':')
        if len(fields) > 1 and fields[0] == user:
            return fields[1]
    return None


def password_state(dom, user, password_hash, timeout):
    """Whether the guest already has ``password_hash`` for ``user``: True, False, or None (cannot tell).

    Reads /etc/shadow through guest-file-* (``_file_io.read_file``); None when those commands are
    blocked or fail, or the user has no shadow line.
    """
    try:
        call = agent_caller(dom, timeout)
        text = _file_io.read_file(call, SHADOW, limit=_SHADOW_MAX).decode('utf-8', 'replace')
    except AgentCommandError:
        return None
    current = shadow_hash(text, user)
    if current is None:
        return None
    return current == password_hash


# -- the module's cycle ------------------------------------------------------------------------
def _domain(ctx):
    return ctx.conn.require_domain(ctx.params['name'])


def ensure_user(ctx):
    """guest_user: converge the keys, set the password; returns an Outcome (key ``user``)."""
    p = ctx.params
    user = check_user(p['user'], p['name'], ctx.conn.uri)
    timeout = p['timeout']
    state = p['state']
    if p['exclusive'] and state == 'absent':
        raise InvalidInput('exclusive: true applies to state present only (it replaces all keys with the given ones)')
    if p['authorized_keys'] is None and p['exclusive']:
        raise InvalidInput('exclusive: true needs authorized_keys (the complete list; [] removes every key)')
    wanted = normalise_keys(p['authorized_keys']) if p['authorized_keys'] is not None else None
    secret = p['password'] if p['password'] is not None else p['password_hash']
    if secret is not None and state == 'absent':
        raise InvalidInput('password and password_hash apply to state present only')
    if secret is not None and (not secret or '\n' in secret or '\r' in secret):
        raise InvalidInput('the password must not be empty or contain a line break (chpasswd reads one line)')
    if p['password_hash'] is not None and (':' in p['password_hash'] or not p['password_hash'].strip()):
        raise InvalidInput("password_hash must be a crypt(3) hash such as '$6$salt$...' (no ':')")

    dom = _domain(ctx)
    result = dict(user=user)
    before = dict(user=user)
    after = dict(user=user)
    changed = False
    extra = dict(keys_added=[], keys_removed=[], password_changed=False, password_checked=False)

    if wanted is not None:
        current = get_keys(dom, user, timeout)
        add, remove, reset, predicted = plan_keys(current, wanted, state, p['exclusive'])
        before['authorized_keys'] = current
        if reset:
            ctx.act('replace authorized keys of %s' % user, add_keys, dom, user, add, True, timeout)
        else:
            if remove:
                ctx.act('remove %d authorized key(s) of %s' % (len(remove), user), remove_keys, dom, user, remove,
                        timeout)
            if add:
                ctx.act('add %d authorized key(s) for %s' % (len(add), user), add_keys, dom, user, add, False,
                        timeout)
        if add or remove or reset:
            changed = True
            after['authorized_keys'] = predicted if ctx.check_mode else get_keys(dom, user, timeout)
        else:
            after['authorized_keys'] = current
        extra['keys_added'] = [k for k in after['authorized_keys'] if k not in current]
        extra['keys_removed'] = [k for k in current if k not in after['authorized_keys']]

    if secret is not None:
        crypted = p['password_hash'] is not None
        same = password_state(dom, user, secret, timeout) if crypted else None
        extra['password_checked'] = same is not None
        if crypted and same is None:
            ctx.warn('could not read the current password hash of %s from %s through the guest agent (guest-file-* '
                     'blocked, or no shadow line); the password is set and reported as changed on every run'
                     % (user, SHADOW))
        if not same:
            ctx.act('set password of %s' % user, set_password, dom, user, secret, crypted, timeout)
            changed = True
            extra['password_changed'] = True
            after['password'] = 'changed'  # masked in the diff: only says that it changes
    result.update(after)
    return Outcome(changed, before, result, **extra)
