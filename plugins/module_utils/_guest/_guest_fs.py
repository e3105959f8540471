# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Freeze, thaw and trim a guest's filesystems through the guest agent.

The agent knows one freeze state for the whole guest (guest-fsfreeze-status:
``thawed`` or ``frozen``), not which filesystems are frozen, so the state
machine is:

==========  ==========  ==================================================
current     wanted      action
==========  ==========  ==================================================
thawed      frozen      guest-fsfreeze-freeze (or -freeze-list mountpoints)
frozen      frozen      none (whatever mountpoints the task names)
frozen      thawed      guest-fsfreeze-thaw
thawed      thawed      none
==========  ==========  ==================================================

A frozen guest stays frozen until someone thaws it: the agent has no
timeout that thaws by itself (qemu-ga only thaws when it restarts).
While frozen, the agent refuses every command but a handful (status, thaw,
ping, info), so a trim needs a thawed guest.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._guest_agent import agent_command
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._cycle import Outcome
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._sizes import parse_size

FROZEN, THAWED = 'frozen', 'thawed'


def freeze_status(dom, timeout):
    return agent_command(dom, 'guest-fsfreeze-status', timeout=timeout)


def plan_freeze(current, wanted):
    """The agent command that moves ``current`` to ``wanted`` (None: nothing to do)."""
    if wanted is None or wanted == current:
        return None
    if wanted == FROZEN:
        return 'freeze'
    if wanted == THAWED:
        return 'thaw'
    raise InvalidInput('state must be frozen or thawed, got %r' % wanted)


def freeze(dom, mountpoints, timeout):
    """Freeze all filesystems, or those under ``mountpoints``; returns how many the agent froze."""
    if mountpoints:
        return agent_command(dom, 'guest-fsfreeze-freeze-list', {'mountpoints': list(mountpoints)}, timeout=timeout)
    return agent_command(dom, 'guest-fsfreeze-freeze', timeout=timeout)


def thaw(dom, timeout):
    return agent_command(dom, 'guest-fsfreeze-thaw', timeout=timeout)


def trim(dom, minimum, timeout):
    """guest-fstrim: the agent's list of {path, trimmed, minimum, error} per filesystem."""
    args = {'minimum': minimum} if minimum else None
    reply = agent_command(dom, 'guest-fstrim', args, timeout=timeout) or {}
    return [dict(path=p.get('path'), trimmed=p.get('trimmed'), minimum=p.get('minimum'), error=p.get('error'))
            for p in reply.get('paths') or []]


def _check(params):
    state, mountpoints = params['state'], params['mountpoints']
    if mountpoints and state != FROZEN:
        raise InvalidInput('mountpoints applies to state frozen only (thaw always thaws every frozen filesystem)')
    for path in mountpoints or []:
        if not path.startswith('/'):
            raise InvalidInput("mountpoints: %r is not an absolute guest path such as '/' or '/srv'" % path)
    if params['trim'] and state == FROZEN:
        raise InvalidInput('trim needs thawed filesystems; a frozen guest cannot be trimmed (state: thawed, or '
                           'trim in another task before freezing)')
    if state is None and not params['trim']:
        raise InvalidInput('give state (frozen or thawed), trim: true, or both')
    minimum = params['minimum']
    if minimum is not None and not params['trim']:
        raise InvalidInput('minimum applies with trim: true only')
    return parse_size(minimum, 'minimum') if minimum is not None else None


def ensure_fs(ctx):
    """guest_fs: converge the freeze state, then trim when asked; returns an Outcome (key ``fsfreeze``)."""
    p = ctx.params
    minimum = _check(p)
    timeout = p['timeout']
    dom = ctx.conn.require_domain(p['name'])
    current = freeze_status(dom, timeout)
    if p['trim'] and current == FROZEN and p['state'] != THAWED:
        raise InvalidInput("VM '%s' has frozen filesystems, so they cannot be trimmed; thaw them first "
                           '(state: thawed with trim: true does both)' % p['name'])
    step = plan_freeze(current, p['state'])
    extra = dict(frozen_filesystems=None, thawed_filesystems=None, trimmed=None)
    after = current
    if step == 'freeze':
        extra['frozen_filesystems'] = ctx.act('freeze filesystems' + (' under %s' % ', '.join(p['mountpoints'])
                                                                      if p['mountpoints'] else ''),
                                              freeze, dom, p['mountpoints'], timeout)
        after = FROZEN
    elif step == 'thaw':
        extra['thawed_filesystems'] = ctx.act('thaw filesystems', thaw, dom, timeout)
        after = THAWED
    if p['trim']:
        extra['trimmed'] = ctx.act('trim filesystems', trim, dom, minimum, timeout)
        failed = [t for t in extra['trimmed'] or [] if t.get('error')]
        if failed:
            ctx.warn('the agent could not trim %s' % '; '.join('%s (%s)' % (t['path'], t['error']) for t in failed))
    if not ctx.check_mode and step is not None:
        after = freeze_status(dom, timeout)
    changed = step is not None or bool(p['trim'])
    return Outcome(changed, dict(status=current), dict(status=after), **extra)
