# -*- coding: utf-8 -*-
"""How often _exec.wait asks guest-exec-status, on a fake clock."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._guest import _exec
from ansible_collections.vmcat.libvirt.tests.unit.helpers import FakeClock


def _status_until(clock, exits_at):
    polls = []

    def call(command, arguments):
        assert command == 'guest-exec-status' and arguments == {'pid': 7}
        clock.now += clock.poll_cost
        polls.append(clock.now)
        if clock.now >= exits_at:
            return {'exited': True, 'exitcode': 0}
        return {'exited': False}
    return call, polls


def test_poll_delay_is_a_tenth_of_the_wait_between_2ms_and_1s():
    assert _exec.poll_delay(0) == _exec.POLL_FIRST == 0.002
    assert _exec.poll_delay(0.5) == pytest.approx(0.05)
    assert _exec.poll_delay(3600) == _exec.POLL_MAX == 1.0


def test_a_short_command_is_seen_to_exit_within_a_tenth_of_its_time():
    clock = FakeClock(poll_cost=0.004)
    call, polls = _status_until(clock, exits_at=100.030)
    result = _exec.wait(call, 7, timeout=5, sleep=clock.sleep, clock=clock)
    assert result.rc == 0
    overshoot = polls[-1] - 100.030
    assert 0 <= overshoot <= max(0.1 * 0.030, 0.002) + clock.poll_cost
    assert len(polls) < 10


def test_a_long_command_costs_few_polls_and_pauses_are_capped():
    clock = FakeClock(poll_cost=0.004)
    call, polls = _status_until(clock, exits_at=100 + 120.0)
    _exec.wait(call, 7, timeout=600, sleep=clock.sleep, clock=clock)
    assert max(clock.sleeps) == 1.0
    assert len(polls) < 200  # ~75 to reach 1 s pauses, then one a second
    assert polls[-1] - 220.0 <= 1.0 + clock.poll_cost


def test_the_timeout_names_the_pid_and_is_kept():
    clock = FakeClock(poll_cost=0.004)
    call, polls = _status_until(clock, exits_at=10 ** 6)
    with pytest.raises(_exec.GuestExecTimeout) as err:
        _exec.wait(call, 7, timeout=3, what='command sleep 99', sleep=clock.sleep, clock=clock)
    assert 'command sleep 99 (pid 7 in the guest) did not finish within 3s' in str(err.value)
    assert err.value.details['pid'] == 7
    assert 103.0 < clock.now < 103.0 + 0.01 + 2 * clock.poll_cost
