# -*- coding: utf-8 -*-
"""Run-state transitions with a fake domain."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _state as states
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import VmcatError
from ansible_collections.vmcat.libvirt.tests.unit.fakes.domain import FakeCtx
from ansible_collections.vmcat.libvirt.tests.unit.fakes.errors import LibvirtFailure


class FakeDom:
    def __init__(self, state, obeys=True, takes_flags=True):
        self.state = state
        self.calls = []
        self.obeys = obeys
        self.takes_flags = takes_flags

    def _call(self, name, *args):
        self.calls.append((name,) + args)

    def create(self):
        self._call('create')
        self.state = states.RUNNING

    def createWithFlags(self, flags):
        self._call('createWithFlags', flags)
        self.state = states.PAUSED

    def resume(self):
        self._call('resume')
        self.state = states.RUNNING

    def suspend(self):
        self._call('suspend')
        self.state = states.PAUSED

    def destroy(self):
        self._call('destroy')
        self.state = states.SHUTOFF

    def pMWakeup(self, flags):
        self._call('pMWakeup')
        self.state = states.RUNNING

    def shutdownFlags(self, flags):
        if not self.takes_flags:
            raise LibvirtFailure('fake libvirt error 8', 8)  # VIR_ERR_INVALID_ARG: the flag is refused
        self._call('shutdownFlags', flags)
        if self.obeys:
            self.state = states.SHUTOFF

    def shutdown(self):
        self._call('shutdown')
        if self.obeys:
            self.state = states.SHUTOFF

    def reboot(self, flags):
        if flags and not self.takes_flags:
            raise LibvirtFailure('fake libvirt error 8', 8)  # VIR_ERR_INVALID_ARG: the flag is refused
        self._call('reboot', flags)

    def isActive(self):
        return self.state != states.SHUTOFF


def state_ctx(check_mode=False, **params):
    """The context of a vm task on vm1 (ACPI shutdown, 1 s), with ``params`` on top."""
    return FakeCtx(dict(dict(name='vm1', shutdown_mode='acpi', shutdown_timeout=1, force_after_timeout=False),
                        **params), check_mode)


S = states
CASES = [
    (S.SHUTOFF, 'running', ['start'], S.RUNNING),
    (S.PAUSED, 'running', ['resume'], S.RUNNING),
    (S.RUNNING, 'running', [], S.RUNNING),
    (S.PMSUSPENDED, 'running', ['wake up'], S.RUNNING),
    (S.CRASHED, 'running', ['destroy', 'start'], S.RUNNING),
    (S.SHUTOFF, 'paused', ['start paused'], S.PAUSED),
    (S.RUNNING, 'paused', ['pause'], S.PAUSED),
    (S.PAUSED, 'paused', [], S.PAUSED),
    (S.RUNNING, 'shutdown', ['shutdown (acpi)'], S.SHUTOFF),
    (S.PAUSED, 'shutdown', ['resume', 'shutdown (acpi)'], S.SHUTOFF),
    (S.SHUTOFF, 'shutdown', [], S.SHUTOFF),
    (S.CRASHED, 'shutdown', ['destroy'], S.SHUTOFF),
    (S.RUNNING, 'destroyed', ['destroy'], S.SHUTOFF),
    (S.PAUSED, 'destroyed', ['destroy'], S.SHUTOFF),
    (S.SHUTOFF, 'destroyed', [], S.SHUTOFF),
    (S.RUNNING, 'restarted', ['reboot (acpi)'], S.RUNNING),
    (S.PAUSED, 'restarted', ['resume', 'reboot (acpi)'], S.RUNNING),
    (S.SHUTOFF, 'restarted', ['start'], S.RUNNING),
    (S.RUNNING, 'present', [], S.RUNNING),
    (S.SHUTOFF, 'present', [], S.SHUTOFF),
]


@pytest.mark.parametrize('start, target, actions, end', CASES)
def test_transitions(start, target, actions, end):
    for check_mode in (True, False):
        dom = FakeDom(start)
        ctx = state_ctx(check_mode)
        machine = states.StateMachine(ctx, dom, start)
        machine.converge(target)
        assert ctx.actions == actions
        assert machine.state == end
        if check_mode:
            assert dom.calls == []
        else:
            assert dom.state == end


def test_cold_restart_when_changes_wait():
    dom = FakeDom(S.RUNNING)
    ctx = state_ctx()
    states.StateMachine(ctx, dom, S.RUNNING).converge('restarted', cold_restart=True)
    assert ctx.actions == ['shutdown (acpi)', 'start']
    assert [c[0] for c in dom.calls] == ['shutdownFlags', 'create']


def test_agent_mode_flags():
    dom = FakeDom(S.RUNNING)
    ctx = state_ctx(shutdown_mode='agent')
    states.StateMachine(ctx, dom, S.RUNNING).converge('shutdown')
    assert dom.calls == [('shutdownFlags', 2)] and ctx.actions == ['shutdown (agent)']
    dom = FakeDom(S.RUNNING)
    states.StateMachine(state_ctx(shutdown_mode='agent'), dom, S.RUNNING).converge('restarted')
    assert dom.calls == [('reboot', 2)]


def test_driver_without_flags_gets_the_plain_call():
    dom = FakeDom(S.RUNNING, takes_flags=False)
    states.StateMachine(state_ctx(), dom, S.RUNNING).converge('shutdown')
    assert dom.calls == [('shutdown',)]
    dom = FakeDom(S.RUNNING, takes_flags=False)
    states.StateMachine(state_ctx(), dom, S.RUNNING).converge('restarted')
    assert dom.calls == [('reboot', 0)]


def test_shutdown_timeout_fails_with_advice():
    dom = FakeDom(S.RUNNING, obeys=False)
    with pytest.raises(VmcatError) as err:
        states.StateMachine(state_ctx(), dom, S.RUNNING).converge('shutdown')
    assert 'did not shut down within 1s' in str(err.value) and 'force_after_timeout' in str(err.value)
    assert dom.state == S.RUNNING


def test_shutdown_timeout_forced():
    dom = FakeDom(S.RUNNING, obeys=False)
    ctx = state_ctx(force_after_timeout=True)
    states.StateMachine(ctx, dom, S.RUNNING).converge('shutdown')
    assert ctx.actions == ['shutdown (acpi)', 'destroy'] and dom.state == S.SHUTOFF
    assert ctx.warnings and 'force_after_timeout' in ctx.warnings[0]


def test_names_and_reasons():
    assert states.state_name(S.SHUTOFF) == 'shutdown' and states.state_name(S.BLOCKED) == 'running'
    assert states.state_reason(S.SHUTOFF, 2) == 'shut off (destroyed)'
    assert states.state_reason(S.RUNNING, 1) == 'running (booted)'
    assert states.state_reason(S.PAUSED, 99) == 'paused (reason 99)'


def test_shutdown_request_is_sent_again_every_10s_while_waiting(monkeypatch):
    import functools
    from ansible_collections.vmcat.libvirt.tests.unit.helpers import FakeClock
    clock = FakeClock()
    monkeypatch.setattr(states, 'wait_for', functools.partial(states.wait_for, clock=clock, sleep=clock.sleep))
    dom = FakeDom(S.RUNNING, obeys=False)
    sent = []
    real = dom.shutdownFlags

    def shutdown_flags(flags):
        sent.append(clock.now)
        real(flags)
    dom.shutdownFlags = shutdown_flags
    ctx = state_ctx(shutdown_timeout=35, force_after_timeout=True)
    states.StateMachine(ctx, dom, S.RUNNING).converge('shutdown')
    assert [round(t - 100.0, 3) for t in sent] == [0.0, 10.391, 20.391, 30.391]  # then after >= 10 s each
    assert ctx.actions == ['shutdown (acpi)', 'destroy'] and clock.now == 135.0
