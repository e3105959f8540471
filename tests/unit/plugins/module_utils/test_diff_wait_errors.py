# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import libvirt
import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._diff import MASK, Diff, changed_paths
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import (
    NotFound, VmcatError, WaitTimeout, default_hint, is_not_found, translated)
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._wait import wait_for
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
