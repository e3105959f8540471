# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guest_user MODULE (main()) against a fake qemu-ga behind libvirt_qemu.qemuAgentCommand.

The domain is test:///default's running 'test'; only the agent is faked.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json

import pytest

from ansible.module_utils import basic

from ansible_collections.vmcat.libvirt.plugins.modules import guest_user
from ansible_collections.vmcat.libvirt.tests.unit.helpers import DIFF_ALWAYS, four_ways, module_failure
from ansible_collections.vmcat.libvirt.tests.unit.fakes.errors import AgentReplyError
from ansible_collections.vmcat.libvirt.tests.unit.fakes.guest_agent import HASH, K1, K2, K3

URI = 'test:///default'
READS = ('guest-ssh-get-authorized-keys', 'guest-file-open', 'guest-file-read', 'guest-file-close')
SECRET = 'Sup3r-s3cret pass'


def _args(**kw):
    kw.setdefault('uri', URI)
    kw.setdefault('name', 'test')
    kw.setdefault('user', 'alice')
    return kw


def writes(guest):
    """The agent commands that change something in the guest."""
    return [c for c, a in guest.sent if c not in READS]


def no_secret_in(result, *secrets):
    text = json.dumps(result)
    for secret in secrets:
        assert secret not in text
        assert base64.b64encode(secret.encode()).decode() not in text


# -- keys ---------------------------------------------------------------------------------------
def test_add_keys_four_ways(guest, run_module):
    guest.keys = [K1]
    check, applied, again_check, again = four_ways(run_module, guest_user, _args(authorized_keys=[K1, ' %s ' % K2]), diff=DIFF_ALWAYS, changes=None)
    assert check['changed'] and check['keys_added'] == [K2] and check['keys_removed'] == []
    assert check['user'] == {'user': 'alice', 'authorized_keys': [K1, K2]}
    assert check['diff'] == {'before': {'user': 'alice', 'authorized_keys': [K1]},
                             'after': {'user': 'alice', 'authorized_keys': [K1, K2]}}
    assert applied['changed'] and applied['keys_added'] == [K2] and applied['diff'] == check['diff']
    assert guest.keys == [K1, K2]
    for r in (again_check, again):
        assert not r['changed'] and r['keys_added'] == [] and r['keys_removed'] == []
        assert r['diff']['before'] == r['diff']['after'] == {'user': 'alice', 'authorized_keys': [K1, K2]}
    # one write in all four runs: check mode sent nothing, the second apply found the key there
    assert writes(guest) == ['guest-ssh-add-authorized-keys']
    assert ('guest-ssh-add-authorized-keys', {'username': 'alice', 'keys': [K2]}) in guest.sent


def test_first_key_for_a_user_without_a_key_file(guest, run_module):
    assert guest.keys is None
    check = run_module(guest_user, _args(authorized_keys=[K1]), check_mode=True, diff=True)
    assert check['changed'] and check['diff']['before']['authorized_keys'] == [] and writes(guest) == []
    applied = run_module(guest_user, _args(authorized_keys=[K1]))
    assert applied['changed'] and guest.keys == [K1]


def test_remove_keys_four_ways(guest, run_module):
    guest.keys = [K1, K2]
    check, applied, again_check, again = four_ways(run_module, guest_user, _args(authorized_keys=[K2, K3], state='absent'), diff=DIFF_ALWAYS, changes=None)
    assert check['changed'] and check['keys_removed'] == [K2] and check['keys_added'] == []
    assert check['diff'] == {'before': {'user': 'alice', 'authorized_keys': [K1, K2]},
                             'after': {'user': 'alice', 'authorized_keys': [K1]}}
    assert applied['changed'] and applied['diff'] == check['diff'] and guest.keys == [K1]
    assert not again_check['changed'] and not again['changed'] and again['keys_removed'] == []
    assert writes(guest) == ['guest-ssh-remove-authorized-keys']


def test_exclusive_four_ways(guest, run_module):
    guest.keys = [K1, K2, K3]
    check, applied, again_check, again = four_ways(run_module, guest_user, _args(authorized_keys=[K1], exclusive=True), diff=DIFF_ALWAYS, changes=None)
    assert check['changed'] and check['keys_removed'] == [K2, K3] and check['keys_added'] == []
    assert check['diff']['after'] == {'user': 'alice', 'authorized_keys': [K1]}
    assert applied['changed'] and applied['keys_removed'] == [K2, K3] and guest.keys == [K1]
    assert not again_check['changed'] and not again['changed']
    assert writes(guest) == ['guest-ssh-add-authorized-keys']
    assert ('guest-ssh-add-authorized-keys', {'username': 'alice', 'keys': [K1], 'reset': True}) in guest.sent


def test_exclusive_same_keys_in_another_order_is_not_a_change(guest, run_module):
    guest.keys = [K1, K2]
    r = run_module(guest_user, _args(authorized_keys=[K2, K1], exclusive=True))
    assert not r['changed'] and writes(guest) == [] and guest.keys == [K1, K2]


def test_exclusive_empty_list_removes_every_key(guest, run_module):
    guest.keys = [K1, K2]
    check = run_module(guest_user, _args(authorized_keys=[], exclusive=True), check_mode=True)
    assert check['changed'] and writes(guest) == [] and guest.keys == [K1, K2]
    applied = run_module(guest_user, _args(authorized_keys=[], exclusive=True))
    assert applied['changed'] and guest.keys == [] and applied['keys_removed'] == [K1, K2]
    assert not run_module(guest_user, _args(authorized_keys=[], exclusive=True))['changed']


# -- passwords ----------------------------------------------------------------------------------
def test_plain_password_set_every_run_never_echoed(guest, run_module):
    check = run_module(guest_user, _args(password=SECRET), check_mode=True, diff=True)
    assert check['changed'] and check['password_changed'] and writes(guest) == []
    applied = run_module(guest_user, _args(password=SECRET), diff=True)
    again = run_module(guest_user, _args(password=SECRET), diff=True)
    for r in (check, applied, again):
        assert r['changed'] and r['user']['password'] == 'changed' and not r['password_checked']
        assert r['diff']['after']['password'] != SECRET and 'password' not in r['diff']['before']
        no_secret_in(r, SECRET)
    assert writes(guest) == ['guest-set-user-password'] * 2
    sent = [a for c, a in guest.sent if c == 'guest-set-user-password'][0]
    assert sent['crypted'] is False and base64.b64decode(sent['password']).decode() == SECRET


def test_password_and_hash_are_no_log_values(guest, run_module, monkeypatch):
    # Ansible masks no_log values in the task's invocation, its output and the callback's text
    made = []
    original = basic.AnsibleModule.__init__

    def record(self, *a, **kw):
        original(self, *a, **kw)
        made.append(self)
    monkeypatch.setattr(basic.AnsibleModule, '__init__', record)
    run_module(guest_user, _args(password=SECRET))
    run_module(guest_user, _args(password_hash=HASH, authorized_keys=[K1]))
    assert SECRET in made[0].no_log_values and HASH in made[1].no_log_values
    assert K1 not in made[1].no_log_values  # public keys stay visible


def test_password_hash_four_ways(guest, run_module):
    check, applied, again_check, again = four_ways(run_module, guest_user, _args(password_hash=HASH), diff=DIFF_ALWAYS, changes=None)
    assert check['changed'] and check['password_checked'] and check['password_changed']
    assert applied['changed'] and 'alice:%s:' % HASH in guest.shadow
    for r in (again_check, again):
        assert not r['changed'] and r['password_checked'] and not r['password_changed']
        assert 'password' not in r['user'] and r['diff']['before'] == r['diff']['after']
    for r in (check, applied, again_check, again):
        no_secret_in(r, HASH)
    assert writes(guest) == ['guest-set-user-password']
    sent = [a for c, a in guest.sent if c == 'guest-set-user-password'][0]
    assert sent['crypted'] is True and base64.b64decode(sent['password']).decode() == HASH


def test_password_hash_without_file_access_warns_and_sets(guest, run_module, warnings):
    guest.blocked = {'guest-file-open'}
    guest.shadow = 'alice:%s:20000:0:99999:7:::\n' % HASH
    r = run_module(guest_user, _args(password_hash=HASH))
    assert r['changed'] and r['password_changed'] and not r['password_checked']
    assert len(warnings) == 1 and '/etc/shadow' in warnings[0] and 'guest-file' in warnings[0]
    no_secret_in(r, HASH)
    no_secret_in({'w': warnings}, HASH)


def test_keys_and_password_hash_together(guest, run_module):
    guest.keys = [K1]
    guest.shadow = 'alice:%s:20000:0:99999:7:::\n' % HASH
    r = run_module(guest_user, _args(password_hash=HASH, authorized_keys=[K2]), diff=True)
    assert r['changed'] and r['keys_added'] == [K2] and not r['password_changed']
    assert writes(guest) == ['guest-ssh-add-authorized-keys']


# -- errors -------------------------------------------------------------------------------------
@pytest.mark.parametrize('kw, words', [
    (dict(authorized_keys=[K1], state='absent', exclusive=True), 'exclusive: true applies to state present only'),
    (dict(password=SECRET, exclusive=True), 'exclusive: true needs authorized_keys'),
    (dict(password=SECRET, state='absent'), 'apply to state present only'),
    (dict(password='two\nlines'), 'line break'),
    (dict(password_hash='$6$a:b'), "no ':'"),
    (dict(authorized_keys=['# a comment']), 'authorized_keys[0] is empty or a comment'),
    (dict(authorized_keys=[K1, K2 + '\n' + K3]), 'authorized_keys[1] holds more than one line'),
    (dict(password=SECRET, password_hash=HASH), 'mutually exclusive'),
    (dict(), 'one of the following is required'),
    (dict(user='', authorized_keys=[K1]), "user '' is not a guest user name for VM 'test' on test:///default: it is "
                                          "empty; give the name of an existing user"),
    (dict(user='  ', password=SECRET), 'it is empty'),
    (dict(user='alice ', authorized_keys=[K1], state='absent'), 'it starts or ends with a blank'),
    (dict(user='root:x', password=SECRET), "it contains ':'"),
    (dict(user='root\nbob', password_hash=HASH), 'it contains a control character'),
])
def test_bad_input_fails_before_the_agent_is_asked(guest, run_module, kw, words):
    result = module_failure(run_module, guest_user, _args(**kw))
    assert words in result['msg']
    no_secret_in(result, SECRET, HASH)
    assert guest.sent == []


@pytest.mark.parametrize('reply, fragments', [
    ('child process has failed to set user password', ('guest-set-user-password', "'test'")),
    ("cannot find 'passwd' program in PATH", ('install it in the guest',)),  # no chpasswd: the fix is named
])
def test_agent_failure_never_shows_the_password(guest, run_module, monkeypatch, reply, fragments):
    def refuse(args):
        raise AgentReplyError('guest-set-user-password', reply)
    monkeypatch.setattr(guest, 'guest_set_user_password', refuse)
    result = module_failure(run_module, guest_user, _args(password=SECRET))
    for fragment in fragments:
        assert fragment in result['msg']
    no_secret_in(result, SECRET)


def test_blocked_key_command_names_it(guest, run_module):
    guest.blocked = {'guest-ssh-add-authorized-keys'}
    result = module_failure(run_module, guest_user, _args(authorized_keys=[K1]))
    assert 'guest-ssh-add-authorized-keys' in result['msg']
    assert guest.keys is None
