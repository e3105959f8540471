# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import libvirt
import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._diff import MASK, Diff, changed_paths
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import (
    NotFound, VmcatError, WaitTimeout, default_hint, is_not_found, translated)
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._wait import backoff, wait_for
from ansible_collections.vmcat.libvirt.tests.unit.helpers import FakeClock


def test_changed_paths_lists_nested_differences():
    before = {'a': 1, 'b': {'c': 2, 'd': [1]}, 'gone': True}
    after = {'a': 1, 'b': {'c': 3, 'd': [1, 2]}, 'new': 'x'}
    assert changed_paths(before, after) == ['b.c', 'b.d', 'gone', 'new']


def test_diff_masks_secrets_everywhere():
    diff = Diff({'graphics': [{'password': 'old'}]}, {'graphics': [{'password': 'new'}]}, ['password'])
    result = diff.result()
    assert result['before']['graphics'][0]['password'] == MASK
    assert result['after']['graphics'][0]['password'] == MASK
    assert diff.changed and diff.changes == ['graphics']


def test_diff_of_creation_and_removal():
    assert Diff(None, {'name': 'x'}).result() == {'before': {}, 'after': {'name': 'x'}}
    assert Diff({'name': 'x'}, None).result() == {'before': {'name': 'x'}, 'after': {}}
    assert not Diff({'a': 1}, {'a': 1}).changed


def test_wait_for_returns_the_first_truthy_value():
    clock = FakeClock()
    answers = iter([None, False, 'up'])
    assert wait_for(lambda: next(answers), 10, 'guest', clock=clock, sleep=clock.sleep) == 'up'
    assert clock.sleeps == [0.5, 0.75]


def test_wait_for_times_out_on_the_monotonic_clock():
    clock = FakeClock()
    with pytest.raises(WaitTimeout) as err:
        wait_for(lambda: None, 3, "VM 'web1' to shut down", clock=clock, sleep=clock.sleep)
    assert "timed out after 3s waiting for VM 'web1' to shut down" in str(err.value)
    assert sum(clock.sleeps) == pytest.approx(3)


def test_wait_for_default_delay_grows_by_half_up_to_the_most():
    clock = FakeClock()
    with pytest.raises(WaitTimeout):
        wait_for(lambda: None, 30, 'guest', max_interval=2.0, clock=clock, sleep=clock.sleep)
    assert clock.sleeps[:5] == [0.5, 0.75, 1.125, 1.6875, 2.0]
    assert set(clock.sleeps[4:-1]) == {2.0}
    assert backoff(0.5, 5.0)(0, 1) == 0.5 and backoff(0.5, 5.0)(0, 10 ** 6) == 5.0


def test_wait_for_a_fixed_delay():
    clock = FakeClock()
    answers = iter([None, None, None, 'up'])
    assert wait_for(lambda: next(answers), 10, 'guest', delay=0.25, clock=clock, sleep=clock.sleep) == 'up'
    assert clock.sleeps == [0.25, 0.25, 0.25]


def test_wait_for_a_delay_policy_gets_the_time_waited_and_the_tries_made():
    clock = FakeClock(poll_cost=0.1)
    seen = []

    def predicate():
        clock.now += clock.poll_cost
        return len(seen) == 3

    def delay(elapsed, attempt):
        seen.append((round(elapsed, 6), attempt))
        return attempt

    assert wait_for(predicate, 60, 'guest', delay=delay, clock=clock, sleep=clock.sleep) is True
    assert seen == [(0.1, 1), (1.2, 2), (3.3, 3)]
    assert clock.sleeps == [1, 2, 3]


def test_wait_for_never_pauses_past_the_deadline():
    clock = FakeClock()
    polls = []

    def predicate():
        polls.append(clock.now)

    with pytest.raises(WaitTimeout):
        wait_for(predicate, 5, 'guest', delay=2, clock=clock, sleep=clock.sleep)
    assert clock.sleeps == [2, 2, 1]
    assert polls == [100.0, 102.0, 104.0, 105.0]  # the last try comes at the deadline


def test_wait_for_runs_between_after_each_miss_that_another_try_follows():
    clock = FakeClock()
    calls = []
    with pytest.raises(WaitTimeout):
        wait_for(lambda: None, 3, 'guest', delay=1, clock=clock, sleep=clock.sleep,
                 between=lambda elapsed, attempt: calls.append((elapsed, attempt)))
    assert calls == [(0.0, 1), (1.0, 2), (2.0, 3)]  # not after the last try, at the deadline
    assert clock.sleeps == [1, 1, 1]


def test_wait_for_time_spent_between_tries_shortens_the_pause_at_the_deadline():
    clock = FakeClock()
    with pytest.raises(WaitTimeout):
        wait_for(lambda: None, 2.5, 'guest', delay=1, clock=clock, sleep=clock.sleep,
                 between=lambda elapsed, attempt: clock.sleep(0.5))
    assert clock.sleeps == [0.5, 1, 0.5, 0.5]
    assert clock.now == 102.5


def test_translated_names_object_uri_and_hint(conn):
    with pytest.raises(NotFound) as err:
        with translated('look up', "VM 'nope'", 'test:///default', 'check the name'):
            conn.virt.lookupByName('nope')
    assert str(err.value).startswith("could not look up VM 'nope' on test:///default: ")
    assert str(err.value).endswith('; check the name')
    with pytest.raises(VmcatError) as err:
        with translated('define', "pool 'x'", 'test:///default'):
            conn.virt.storagePoolDefineXML('<pool type="dir"><name>x</name></pool>', 0)
    assert not isinstance(err.value, NotFound)


def test_translated_without_hint_gives_advice_from_the_error_code(conn):
    """Every translated failure ends with something to do, even where the caller had no advice."""
    with pytest.raises(VmcatError) as err:
        with translated('define', "pool 'x'", 'test:///default'):
            conn.virt.storagePoolDefineXML('<pool type="dir"><name>x</name></pool>', 0)
    assert str(err.value).startswith("could not define pool 'x' on test:///default: ")
    assert str(err.value).endswith('; ' + default_hint(err.value.__context__))
    net = conn.virt.networkLookupByName('default')
    with pytest.raises(VmcatError) as err:
        with translated('start', "network 'default'", 'test:///default'):
            net.create()  # already active
    assert str(err.value).endswith('; the object is not in a state that allows this: check whether it is running '
                                   'or active, then retry')


def test_default_hint_falls_back_to_the_log_advice():
    class Odd(Exception):
        def get_error_code(self):
            return 99999
    assert 'libvirtd' in default_hint(Odd()) and 'log' in default_hint(Odd())
    assert default_hint(ValueError('no code')) == default_hint(Odd())


def test_is_not_found(conn):
    try:
        conn.virt.networkLookupByName('nope')
    except libvirt.libvirtError as exc:
        assert is_not_found(exc)
