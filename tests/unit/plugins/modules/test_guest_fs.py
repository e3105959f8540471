# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guest_fs MODULE (main()) against a fake qemu-ga behind libvirt_qemu.qemuAgentCommand.

The domain is test:///default's running 'test'; only the agent is faked, so
argument parsing, the run cycle, check mode, diff and error mapping are the
module's own.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vmcat.libvirt.plugins.modules import guest_fs
from ansible_collections.vmcat.libvirt.tests.unit.helpers import DIFF_ALWAYS, fail, four_ways, module_failure

URI = 'test:///default'
STATUS = 'guest-fsfreeze-status'


def _args(**kw):
    kw.setdefault('uri', URI)
    kw.setdefault('name', 'test')
    return kw


def sent(guest):
    """The agent commands sent, without the status reads."""
    return [c for c, a in guest.sent if c != STATUS]


# -- freeze / thaw ------------------------------------------------------------------------------
def test_freeze_four_ways_with_diff(guest, run_module):
    args = _args(state='frozen')
    check = run_module(guest_fs, args, check_mode=True, diff=True)
    assert check['changed'] and check['fsfreeze'] == {'status': 'frozen'}
    assert check['diff'] == {'before': {'status': 'thawed'}, 'after': {'status': 'frozen'}}
    assert check['frozen_filesystems'] is None  # nothing frozen in check mode
    assert sent(guest) == [] and not guest.frozen  # check mode only read the status

    applied = run_module(guest_fs, args, diff=True)
    assert applied['changed'] and guest.frozen and applied['frozen_filesystems'] == 2
    assert applied['diff'] == {'before': {'status': 'thawed'}, 'after': {'status': 'frozen'}}
    assert applied['fsfreeze'] == {'status': 'frozen'}

    again_check = run_module(guest_fs, args, check_mode=True, diff=True)
    again = run_module(guest_fs, args, diff=True)
    for r in (again_check, again):
        assert not r['changed'] and r['diff']['before'] == r['diff']['after'] == {'status': 'frozen'}
    assert sent(guest) == ['guest-fsfreeze-freeze']


def test_thaw_four_ways_with_diff(guest, run_module):
    guest.frozen = True
    check, applied, again_check, again = four_ways(run_module, guest_fs, _args(state='thawed'), diff=DIFF_ALWAYS, changes=None)
    assert check['changed'] and check['diff'] == {'before': {'status': 'frozen'}, 'after': {'status': 'thawed'}}
    assert check['thawed_filesystems'] is None
    assert applied['changed'] and applied['thawed_filesystems'] == 2 and applied['fsfreeze'] == {'status': 'thawed'}
    assert applied['diff'] == check['diff']
    assert not again_check['changed'] and not again['changed']
    assert again['diff'] == {'before': {'status': 'thawed'}, 'after': {'status': 'thawed'}}
    assert sent(guest) == ['guest-fsfreeze-thaw'] and not guest.frozen


def test_freeze_listed_mountpoints(guest, run_module):
    check, applied, again_check, again = four_ways(run_module, guest_fs, _args(state='frozen', mountpoints=['/srv']), diff=DIFF_ALWAYS, changes=None)
    assert check['changed'] and applied['changed'] and applied['frozen_filesystems'] == 1
    assert not again_check['changed'] and not again['changed']
    assert guest.sent.count(('guest-fsfreeze-freeze-list', {'mountpoints': ['/srv']})) == 1
    assert 'guest-fsfreeze-freeze' not in sent(guest)


def test_frozen_guest_stays_frozen_whatever_the_mountpoints(guest, run_module):
    guest.frozen = True
    r = run_module(guest_fs, _args(state='frozen', mountpoints=['/other']))
    assert not r['changed'] and sent(guest) == []


# -- trim ---------------------------------------------------------------------------------------
def test_trim_check_mode_sends_nothing_then_trims(guest, run_module, warnings):
    check = run_module(guest_fs, _args(trim=True, minimum='4K'), check_mode=True, diff=True)
    assert check['changed'] and check['trimmed'] is None and sent(guest) == []
    assert check['diff']['before'] == check['diff']['after'] == {'status': 'thawed'}
    applied = run_module(guest_fs, _args(trim=True, minimum='4K'))
    assert applied['changed']  # the agent cannot say beforehand whether anything is to discard
    assert guest.sent[-1] == ('guest-fstrim', {'minimum': 4096})
    assert applied['trimmed'][0] == {'path': '/srv', 'trimmed': 4096, 'minimum': 4096, 'error': None}
    assert applied['trimmed'][1]['error'] == 'Operation not supported'
    assert len(warnings) == 1 and '/boot (Operation not supported)' in warnings[0]


def test_thaw_and_trim_in_one_task(guest, run_module):
    guest.frozen = True
    r = run_module(guest_fs, _args(state='thawed', trim=True), diff=True)
    assert r['changed'] and sent(guest) == ['guest-fsfreeze-thaw', 'guest-fstrim']
    assert r['diff'] == {'before': {'status': 'frozen'}, 'after': {'status': 'thawed'}}


# -- errors -------------------------------------------------------------------------------------
def test_trim_while_frozen_fails_and_names_the_fix(guest, run_module):
    guest.frozen = True
    msg = fail(run_module, guest_fs, _args(trim=True))
    assert "VM 'test'" in msg and 'thaw them first' in msg and 'state: thawed' in msg
    assert sent(guest) == [] and guest.frozen


@pytest.mark.parametrize('kw, words', [
    (dict(state='thawed', mountpoints=['/srv']), 'mountpoints applies to state frozen only'),
    (dict(mountpoints=['/srv'], trim=True), 'mountpoints applies to state frozen only'),
    (dict(state='frozen', mountpoints=['srv']), 'not an absolute guest path'),
    (dict(state='frozen', trim=True), 'trim needs thawed filesystems'),
    (dict(), 'give state'),
    (dict(state='thawed', minimum='1M'), 'minimum applies with trim: true only'),
    (dict(trim=True, minimum='lots'), 'minimum'),
])
def test_bad_input_fails_before_the_agent_is_asked(guest, run_module, kw, words):
    assert words in fail(run_module, guest_fs, _args(**kw))
    assert guest.sent == []


def test_bad_timeout_and_state_choice(guest, run_module):
    result = module_failure(run_module, guest_fs, _args(state='frozen', timeout=0))
    assert 'timeout must be a positive number' in result['msg']
    result = module_failure(run_module, guest_fs, _args(state='melted'))
    assert 'frozen' in result['msg'] and 'thawed' in result['msg']
    assert guest.sent == []


def test_blocked_freeze_names_the_command_and_vm(guest, run_module):
    guest.blocked = {'guest-fsfreeze-freeze'}
    result = module_failure(run_module, guest_fs, _args(state='frozen'))
    assert 'guest-fsfreeze-freeze' in result['msg'] and "'test'" in result['msg']
    assert not guest.frozen


def test_missing_vm_is_named(guest, run_module):
    assert 'nope' in fail(run_module, guest_fs, _args(name='nope', state='frozen'))
    assert guest.sent == []
