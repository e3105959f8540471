# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run states of a domain and the transitions between them.

States are named in the ``vm`` module's vocabulary: ``running`` (libvirt's
running, blocked and "being shut down"), ``paused``, ``shutdown`` (shut off),
``crashed`` and ``pmsuspended``.  ``converge_state`` takes a VM from where it
is to the task's ``state``; every call that changes something goes through
``ctx.act`` and waiting is skipped in check mode.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import (
    LibvirtError, VmcatError, WaitTimeout, is_flag_refused)
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._wait import wait_for

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._guest_agent import agent_shutdown

# virDomainState
NOSTATE, RUNNING, BLOCKED, PAUSED, SHUTDOWN, SHUTOFF, CRASHED, PMSUSPENDED = range(8)
# flags
_START_PAUSED = 1  # VIR_DOMAIN_START_PAUSED
_SHUTDOWN_ACPI = 1  # VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN
_SHUTDOWN_AGENT = 2  # VIR_DOMAIN_SHUTDOWN_GUEST_AGENT
_REBOOT_ACPI = 1  # VIR_DOMAIN_REBOOT_ACPI_POWER_BTN
_RESEND_EVERY = 10.0  # seconds between shutdown requests while waiting (a guest may miss an early one)

RUN_STATES = ('present', 'running', 'paused', 'shutdown', 'destroyed', 'restarted')

_NAMES = {NOSTATE: 'running', RUNNING: 'running', BLOCKED: 'running', PAUSED: 'paused', SHUTDOWN: 'running',
          SHUTOFF: 'shutdown', CRASHED: 'crashed', PMSUSPENDED: 'pmsuspended'}
_LIBVIRT_NAMES = {NOSTATE: 'no state', RUNNING: 'running', BLOCKED: 'blocked', PAUSED: 'paused',
                  SHUTDOWN: 'being shut down', SHUTOFF: 'shut off', CRASHED: 'crashed', PMSUSPENDED: 'suspended by the guest'}
_REASONS = {
    RUNNING: ('unknown', 'booted', 'migrated', 'restored', 'from snapshot', 'unpaused', 'migration canceled',
              'save canceled', 'woken up', 'crashed', 'post-copy migration', 'post-copy migration failed'),
    PAUSED: ('unknown', 'paused by user', 'migrating', 'saving', 'dumping', 'I/O error', 'watchdog',
             'from snapshot', 'shutting down', 'snapshot', 'crashed', 'starting up', 'post-copy migration',
             'post-copy migration failed', 'API error'),
    SHUTOFF: ('unknown', 'shut down', 'destroyed', 'crashed', 'migrated', 'saved', 'failed to start',
              'from snapshot', 'daemon stopped it'),
    CRASHED: ('unknown', 'panicked'),
    SHUTDOWN: ('unknown', 'shutting down'),
    BLOCKED: ('unknown',),
    PMSUSPENDED: ('unknown',),
}


def state_name(code):
    return _NAMES.get(code, 'running')


def state_reason(code, reason):
    """libvirt's state and reason in words: 'shut off (destroyed)'."""
    reasons = _REASONS.get(code, ('unknown',))
    text = reasons[reason] if 0 <= reason < len(reasons) else 'reason %d' % reason
    return '%s (%s)' % (_LIBVIRT_NAMES.get(code, 'state %d' % code), text)


def _with_flags(conn, what, verb, flagged, fallback, flags):
    """Call ``flagged(flags)``; drivers that refuse the flag (the test driver) get ``fallback()``."""
    with conn.translated(verb, what):
        try:
            return flagged(flags)
        except LibvirtError as exc:
            if not is_flag_refused(exc):
                raise
        return fallback()


class StateMachine:
    """Moves one VM between run states; ``state`` is its (predicted, in check mode) libvirt state."""

    def __init__(self, ctx, dom, state):
        self.ctx = ctx
        self.dom = dom
        self.state = state
        self.name = ctx.params['name']
        self.what = "VM '%s'" % self.name

    # -- single steps --------------------------------------------------------------
    def _do(self, description, verb, fn, *args, **kwargs):
        hint = kwargs.pop('hint', None)
        with self.ctx.conn.translated(verb, self.what, hint):
            self.ctx.act(description, fn, *args)

    def start(self, paused=False):
        hint = ('the definition is saved; see the QEMU log on the node (/var/log/libvirt/qemu/%s.log) for why the '
                'VM did not start' % self.name)
        if paused:
            self.ctx.act('start paused', self._start_paused, hint)
            self.state = PAUSED
        else:
            self._do('start', 'start', self.dom.create if self.dom else None, hint=hint)
            self.state = RUNNING

    def _start_paused(self, hint):
        def started_then_paused():
            self.dom.create()
            self.dom.suspend()
        with self.ctx.conn.translated('start', self.what, hint):
            try:
                return self.dom.createWithFlags(_START_PAUSED)
            except LibvirtError as exc:
                if not is_flag_refused(exc):
                    raise
            return started_then_paused()  # drivers without START_PAUSED (the test driver)

    def resume(self):
        self._do('resume', 'resume', self.dom.resume)
        self.state = RUNNING

    def pause(self):
        self._do('pause', 'pause', self.dom.suspend)
        self.state = PAUSED

    def destroy(self):
        self._do('destroy', 'destroy', self.dom.destroy)
        self.state = SHUTOFF

    def wakeup(self):
        self._do('wake up', 'wake up', self.dom.pMWakeup, 0)
        self.state = RUNNING

    def _request_shutdown(self, mode):
        if mode == 'agent':
            return agent_shutdown(self.dom, 'powerdown')  # its errors say what the agent lacks
        flags = _SHUTDOWN_AGENT if mode == 'agent' else _SHUTDOWN_ACPI
        return _with_flags(self.ctx.conn, self.what, 'shut down', self.dom.shutdownFlags, self.dom.shutdown, flags)

    def shutdown(self):
        """Graceful shutdown (ACPI power button or guest agent), waiting up to shutdown_timeout."""
        params = self.ctx.params
        mode = params.get('shutdown_mode') or 'acpi'
        timeout = params.get('shutdown_timeout')
        if self.state == PAUSED:
            self.resume()  # a paused guest cannot see the power button
        self.ctx.act('shutdown (%s)' % mode, self._request_shutdown, mode)
        if not self.ctx.check_mode:
            try:
                self._wait_off(mode, timeout)
            except WaitTimeout:
                if not params.get('force_after_timeout'):
                    raise VmcatError(
                        "%s on %s did not shut down within %ss after the %s shutdown request; the guest may ignore "
                        "it (no ACPI daemon, or no guest agent for shutdown_mode agent). Raise shutdown_timeout, or "
                        "set force_after_timeout: true to power it off hard (state destroyed does that at once)"
                        % (self.what, self.ctx.conn.uri, timeout, 'ACPI' if mode == 'acpi' else 'guest-agent'),
                        timeout=timeout)
                self.ctx.warn('%s did not shut down within %ss; powered off (force_after_timeout)' % (self.what, timeout))
                self.destroy()
                return
        self.state = SHUTOFF

    def _wait_off(self, mode, timeout):
        sent = [0.0]  # seconds into the wait when the last request went out

        def off():
            with self.ctx.conn.translated('read the state of', self.what):
                return not self.dom.isActive()

        def resend(elapsed, _attempt):
            if elapsed - sent[0] >= _RESEND_EVERY:
                sent[0] = elapsed
                try:
                    self._request_shutdown(mode)
                except VmcatError:
                    pass  # it may be just going down
        wait_for(off, timeout, "%s to shut down" % self.what, between=resend)

    def reboot(self):
        mode = self.ctx.params.get('shutdown_mode') or 'acpi'
        if mode == 'agent':
            self.ctx.act('reboot (agent)', agent_shutdown, self.dom, 'reboot')
        else:
            self.ctx.act('reboot (%s)' % mode, _with_flags, self.ctx.conn, self.what, 'reboot', self.dom.reboot,
                         lambda: self.dom.reboot(0), _REBOOT_ACPI)
        self.state = RUNNING

    # -- the transition ----------------------------------------------------------------
    def converge(self, target, cold_restart=False):
        """Take the VM to ``target`` (a ``state`` option value other than absent)."""
        state = self.state
        if target == 'present':
            return
        if target == 'running':
            if state == SHUTOFF:
                self.start()
            elif state == PAUSED:
                self.resume()
            elif state == PMSUSPENDED:
                self.wakeup()
            elif state == CRASHED:
                self.destroy()
                self.start()
        elif target == 'paused':
            if state == SHUTOFF:
                self.start(paused=True)
            elif state == CRASHED:
                self.destroy()
                self.start(paused=True)
            elif state != PAUSED:
                if state == PMSUSPENDED:
                    self.wakeup()
                self.pause()
        elif target == 'shutdown':
            if state == CRASHED or state == PMSUSPENDED:
                self.destroy()
            elif state != SHUTOFF:
                self.shutdown()
        elif target == 'destroyed':
            if state != SHUTOFF:
                self.destroy()
        elif target == 'restarted':
            self.restart(cold_restart)

    def restart(self, cold):
        """Reboot a running VM; with ``cold`` (changes wait for a restart) shut it down and start it again."""
        if self.state == SHUTOFF:
            self.start()
            return
        if self.state in (CRASHED, PMSUSPENDED):
            self.destroy()
            self.start()
            return
        if cold:
            self.shutdown()
            self.start()
            return
        if self.state == PAUSED:
            self.resume()
        self.reboot()
