# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""guest_user and guest_fs logic against a fake qemu-ga that behaves like qemu-ga 7.2 (key lines, shadow, freeze)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _guest_agent as ga
from ansible_collections.vmcat.libvirt.plugins.module_utils._guest import _guest_fs as gfs
from ansible_collections.vmcat.libvirt.plugins.module_utils._guest import _guest_user as gu
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module import Context
from ansible_collections.vmcat.libvirt.tests.unit.fakes.errors import AgentReplyError
from ansible_collections.vmcat.libvirt.tests.unit.fakes.guest_agent import HASH, K1, K2, K3


class FakeConn:
    uri = 'qemu:///system'

    def __init__(self, guest):
        self.guest = guest

    def require_domain(self, name):
        return self.guest


def user_params(**kw):
    params = dict(name='web1', user='alice', password=None, password_hash=None, authorized_keys=None,
                  state='present', exclusive=False, timeout=5)
    params.update(kw)
    return params


def run_user(guest, check_mode=False, **kw):
    return gu.ensure_user(Context(FakeConn(guest), user_params(**kw), check_mode))


READS = ('guest-ssh-get-authorized-keys', 'guest-file-open', 'guest-file-read', 'guest-file-close',
         'guest-fsfreeze-status')


def changes(guest):
    return [c for c, a in guest.sent if c not in READS]


# -- key planning -------------------------------------------------------------------------------
@pytest.mark.parametrize('current, wanted, state, exclusive, expected', [
    ([K1], [K1, K2], 'present', False, ([K2], [], False, [K1, K2])),
    ([K1, K2], [K1], 'present', False, ([], [], False, [K1, K2])),
    ([K1, K2], [K2, K3], 'absent', False, ([], [K2], False, [K1])),
    ([K1, K2], [K2, K1], 'present', True, ([], [], False, [K1, K2])),
    ([K1, K2, K3], [K1], 'present', True, ([K1], [K2, K3], True, [K1])),
    ([K1], [], 'present', True, ([], [K1], True, [])),
    ([], [], 'present', True, ([], [], False, [])),
])
def test_plan_keys(current, wanted, state, exclusive, expected):
    assert gu.plan_keys(current, wanted, state, exclusive) == expected


def test_normalise_keys_trims_and_dedups():
    assert gu.normalise_keys(['  %s\n' % K1, K1, K2]) == [K1, K2]


@pytest.mark.parametrize('keys', [[''], ['# comment'], [K1 + '\n' + K2], [3]])
def test_normalise_keys_rejects(keys):
    with pytest.raises(InvalidInput):
        gu.normalise_keys(keys)


# -- guest_user -----------------------------------------------------------------------------------
def test_keys_four_ways(guest):
    out = run_user(guest, check_mode=True, authorized_keys=[K1, K2])
    assert out.changed and guest.keys is None and out.after['authorized_keys'] == [K1, K2]
    assert out.before['authorized_keys'] == []
    out = run_user(guest, authorized_keys=[K1, K2])
    assert out.changed and guest.keys == [K1, K2] and out.extra['keys_added'] == [K1, K2]
    for check_mode in (True, False):
        out = run_user(guest, check_mode=check_mode, authorized_keys=[K2, K1])
        assert not out.changed
    assert changes(guest) == ['guest-ssh-add-authorized-keys']


def test_absent_and_exclusive(guest):
    guest.keys = [K1, K2, K3]
    out = run_user(guest, authorized_keys=[K2], state='absent')
    assert out.changed and guest.keys == [K1, K3] and out.extra['keys_removed'] == [K2]
    out = run_user(guest, authorized_keys=[K2], exclusive=True)
    assert out.changed and guest.keys == [K2]
    assert guest.sent[-2] == ('guest-ssh-add-authorized-keys', {'username': 'alice', 'keys': [K2], 'reset': True})
    assert not run_user(guest, authorized_keys=[K2], exclusive=True).changed


def test_plain_password_is_always_set_and_never_shown(guest):
    for dummy in range(2):
        out = run_user(guest, password='s3cret')
        assert out.changed and out.extra['password_changed'] and not out.extra['password_checked']
    assert 's3cret' not in repr(out.before) + repr(out.after) + repr(out.extra)
    assert changes(guest) == ['guest-set-user-password'] * 2
    assert guest.sent[-1][1]['crypted'] is False


def test_password_hash_compared_with_shadow(guest):
    out = run_user(guest, check_mode=True, password_hash=HASH)
    assert out.changed and out.extra['password_checked'] and changes(guest) == []
    out = run_user(guest, password_hash=HASH)
    assert out.changed and ':%s:' % HASH in guest.shadow
    assert guest.sent[-1][1]['crypted'] is True
    out = run_user(guest, password_hash=HASH)
    assert not out.changed and out.extra['password_checked']
    assert changes(guest) == ['guest-set-user-password']


def test_password_hash_without_file_access_is_set_every_time(guest):
    guest.blocked = {'guest-file-open'}
    warnings = []
    ctx = Context(FakeConn(guest), user_params(password_hash=HASH), False)
    ctx.warn = warnings.append
    out = gu.ensure_user(ctx)
    assert out.changed and not out.extra['password_checked'] and warnings
    assert changes(guest) == ['guest-set-user-password']


@pytest.mark.parametrize('kw, match', [
    (dict(authorized_keys=[K1], state='absent', exclusive=True), 'state present only'),
    (dict(password='x', state='absent'), 'present only'),
    (dict(password='a\nb'), 'line break'),
    (dict(password_hash='abc:def'), 'crypt'),
    (dict(password='x', exclusive=True), 'needs authorized_keys'),
])
def test_user_bad_input_fails_before_any_command(guest, kw, match):
    with pytest.raises(InvalidInput, match=match):
        run_user(guest, **kw)
    assert guest.sent == []


def test_missing_chpasswd_names_the_fix(monkeypatch, guest):
    def no_chpasswd(args):
        raise AgentReplyError('guest-set-user-password', "cannot find 'passwd' program in PATH")
    monkeypatch.setattr(guest, 'guest_set_user_password', no_chpasswd)
    with pytest.raises(ga.AgentCommandFailed, match='install it in the guest'):
        run_user(guest, password='x')


# -- guest_fs -------------------------------------------------------------------------------------
def fs_params(**kw):
    params = dict(name='web1', state=None, mountpoints=None, trim=False, minimum=None, timeout=5)
    params.update(kw)
    return params


def run_fs(guest, check_mode=False, **kw):
    return gfs.ensure_fs(Context(FakeConn(guest), fs_params(**kw), check_mode))


@pytest.mark.parametrize('current, wanted, step', [
    ('thawed', 'frozen', 'freeze'), ('frozen', 'frozen', None), ('frozen', 'thawed', 'thaw'),
    ('thawed', 'thawed', None), ('frozen', None, None),
])
def test_freeze_state_machine(current, wanted, step):
    assert gfs.plan_freeze(current, wanted) == step


def test_freeze_thaw_four_ways(guest):
    out = run_fs(guest, check_mode=True, state='frozen')
    assert out.changed and out.after == {'status': 'frozen'} and not guest.frozen
    out = run_fs(guest, state='frozen')
    assert out.changed and guest.frozen and out.extra['frozen_filesystems'] == 2
    assert not run_fs(guest, check_mode=True, state='frozen').changed
    assert not run_fs(guest, state='frozen', mountpoints=['/srv']).changed
    out = run_fs(guest, check_mode=True, state='thawed')
    assert out.changed and guest.frozen
    out = run_fs(guest, state='thawed')
    assert out.changed and not guest.frozen and out.before == {'status': 'frozen'}
    assert not run_fs(guest, state='thawed').changed
    assert changes(guest) == ['guest-fsfreeze-freeze', 'guest-fsfreeze-thaw']


def test_freeze_list_and_thaw_then_trim(guest):
    run_fs(guest, state='frozen', mountpoints=['/srv'])
    assert ('guest-fsfreeze-freeze-list', {'mountpoints': ['/srv']}) in guest.sent
    warnings = []
    ctx = Context(FakeConn(guest), fs_params(state='thawed', trim=True, minimum='1MiB'), False)
    ctx.warn = warnings.append
    out = gfs.ensure_fs(ctx)
    assert changes(guest)[-2:] == ['guest-fsfreeze-thaw', 'guest-fstrim']
    assert guest.sent[-2] == ('guest-fstrim', {'minimum': 1048576})
    assert out.extra['trimmed'][0] == {'path': '/srv', 'trimmed': 4096, 'minimum': 1048576, 'error': None}
    assert '/boot' in warnings[0]


def test_trim_check_mode_does_not_trim(guest):
    out = run_fs(guest, check_mode=True, trim=True)
    assert out.changed and changes(guest) == []


@pytest.mark.parametrize('kw, match', [
    (dict(state='frozen', trim=True), 'thawed'),
    (dict(state='thawed', mountpoints=['/']), 'frozen only'),
    (dict(state='frozen', mountpoints=['srv']), 'absolute'),
    (dict(), 'give state'),
    (dict(state='thawed', minimum=10), 'trim: true only'),
])
def test_fs_bad_input_fails_before_any_command(guest, kw, match):
    with pytest.raises(InvalidInput, match=match):
        run_fs(guest, **kw)
    assert guest.sent == []


def test_trim_of_a_frozen_guest_is_refused(guest):
    guest.frozen = True
    with pytest.raises(InvalidInput, match='thaw them first'):
        run_fs(guest, trim=True)
