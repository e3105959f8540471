# -*- coding: utf-8 -*-
"""The volume action plugin: src found on the controller, copied to a remote module host, always cleaned up."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import struct
from unittest.mock import MagicMock

import pytest

from ansible.errors import AnsibleError

from ansible_collections.vmcat.libvirt.plugins.action.volume import ActionModule


class FakeShell:
    def __init__(self):
        self.tmpdir = None

    def join_path(self, *parts):
        return '/'.join(parts)


class FakeConnection:
    """A connection plugin's surface as the action plugin uses it; local or not."""

    def __init__(self, local):
        self._shell = FakeShell()
        self.transport = 'local' if local else 'ssh'


def make(args, local=False, check_mode=False, reply=None, files=None, raise_on_run=None, volume_missing=True):
    """An ActionModule whose module runs and file copies are recorded instead of done."""
    task = MagicMock(args=args, async_val=0, check_mode=check_mode, diff=False)
    connection = FakeConnection(local)
    action = ActionModule(task, connection, MagicMock(check_mode=check_mode), MagicMock(), MagicMock(), MagicMock())
    action.sent, action.copied, action.removed, action.made = [], [], [], []

    def execute(module_name, module_args, task_vars):
        action.sent.append((module_name, dict(module_args)))
        if module_args.get('_src_probe') and not check_mode and volume_missing:  # what the module answers
            return dict(changed=False, upload_needed=True, volume={}, invocation={'module_args': dict(module_args)})
        if raise_on_run:
            raise raise_on_run
        return dict(reply or {'changed': True}, invocation={'module_args': dict(module_args)})

    def make_tmp(remote_user=None):
        connection._shell.tmpdir = '/home/u/.ansible/tmp/ansible-tmp-1'
        action.made.append(connection._shell.tmpdir)
        return connection._shell.tmpdir

    def remove_tmp(path, force=False):
        action.removed.append(path)
        connection._shell.tmpdir = None

    def find(kind, name):
        assert kind == 'files'
        if files is None or name not in files:
            raise AnsibleError('Could not find or access %s' % name)
        return files[name]

    action._execute_module = execute
    action._make_tmp_path = make_tmp
    action._remove_tmp_path = remove_tmp
    action._transfer_file = lambda local_path, remote_path: action.copied.append((local_path, remote_path)) or remote_path
    action._fixup_perms2 = lambda paths, remote_user=None, execute=True: None
    action._find_needle = find
    return action


@pytest.fixture
def image(tmp_path):
    path = tmp_path / 'disk.qcow2'
    path.write_bytes(b'QFI\xfb' + bytes(20) + struct.pack('>Q', 5 * 1024 ** 2) + bytes(100))
    return str(path)


BASE = {'pool': 'p', 'name': 'v.qcow2'}


def test_local_connection_passes_the_resolved_path(image):
    action = make(dict(BASE, src='disk.qcow2'), local=True, files={'disk.qcow2': image})
    result = action.run(task_vars={})
    (name, args), = action.sent
    assert name == 'vmcat.libvirt.volume' and args['src'] == image and '_src_probe' not in args
    assert action.copied == [] and action.made == [] and action.removed == []
    assert result['src'] == image and result['changed']


def test_remote_connection_copies_src_and_removes_it(image):
    action = make(dict(BASE, src='disk.qcow2'), files={'disk.qcow2': image})
    result = action.run(task_vars={})
    (asked_name, asked), (name, args) = action.sent
    assert asked_name == name == 'vmcat.libvirt.volume'
    assert asked['_src_probe'] == {'format': 'qcow2', 'size': 5 * 1024 ** 2} and asked['src'] == image
    assert '_src_probe' not in args and 'upload_needed' not in result
    assert action.copied == [(image, '/home/u/.ansible/tmp/ansible-tmp-1/volume-src')]
    assert args['src'] == '/home/u/.ansible/tmp/ansible-tmp-1/volume-src'
    assert action.removed == ['/home/u/.ansible/tmp/ansible-tmp-1']
    assert result['src'] == image


def test_remote_copy_is_removed_when_the_module_fails(image):
    action = make(dict(BASE, src='disk.qcow2'), files={'disk.qcow2': image},
                  reply={'failed': True, 'msg': 'pool p is not running'})
    result = action.run(task_vars={})
    assert result['failed'] and action.copied and action.removed == ['/home/u/.ansible/tmp/ansible-tmp-1']


def test_remote_copy_is_removed_when_running_the_module_raises(image):
    action = make(dict(BASE, src='disk.qcow2'), files={'disk.qcow2': image}, raise_on_run=AnsibleError('ssh broke'))
    with pytest.raises(AnsibleError, match='ssh broke'):
        action.run(task_vars={})
    assert action.removed == ['/home/u/.ansible/tmp/ansible-tmp-1']


def test_remote_copy_is_removed_when_the_transfer_fails(image):
    action = make(dict(BASE, src='disk.qcow2'), files={'disk.qcow2': image})

    def broken(local_path, remote_path):
        raise AnsibleError('failed to transfer file to %s' % remote_path)
    action._transfer_file = broken
    with pytest.raises(AnsibleError, match='failed to transfer'):
        action.run(task_vars={})
    assert len(action.sent) == 1 and action.removed == ['/home/u/.ansible/tmp/ansible-tmp-1']


def test_existing_volume_on_a_remote_host_copies_nothing(image):
    """The module is asked first; an existing volume is never overwritten, so the bytes are not needed."""
    action = make(dict(BASE, src='disk.qcow2', capacity='10M'), files={'disk.qcow2': image}, volume_missing=False,
                  reply={'changed': True, 'actions': ['resize']})
    result = action.run(task_vars={})
    (name, args), = action.sent
    assert args['_src_probe'] and action.copied == [] and action.made == []
    assert result['actions'] == ['resize'] and '_src_probe' not in result['invocation']['module_args']


def test_failed_first_run_copies_nothing(image):
    action = make(dict(BASE, src='disk.qcow2'), files={'disk.qcow2': image}, volume_missing=False,
                  reply={'failed': True, 'msg': "pool 'p' not found"})
    result = action.run(task_vars={})
    assert result['failed'] and len(action.sent) == 1 and action.copied == []


def test_check_mode_on_a_remote_host_copies_nothing(image):
    action = make(dict(BASE, src='disk.qcow2'), check_mode=True, files={'disk.qcow2': image})
    action.run(task_vars={})
    (name, args), = action.sent
    assert action.copied == [] and action.made == []
    assert args['_src_probe'] == {'format': 'qcow2', 'size': 5 * 1024 ** 2} and args['src'] == image


def test_missing_src_names_the_path():
    action = make(dict(BASE, src='files/nope.iso'), files={})
    result = action.run(task_vars={})
    assert result['failed'] and 'src files/nope.iso not found on the controller' in result['msg']
    assert action.sent == []


def test_directory_src_is_refused(tmp_path):
    action = make(dict(BASE, src='dir'), files={'dir': str(tmp_path)})
    result = action.run(task_vars={})
    assert result['failed'] and 'is a directory on the controller' in result['msg']


@pytest.mark.parametrize('args', [dict(BASE, src='/on/the/node.img', remote_src=True), dict(BASE, capacity='1G'),
                                  dict(BASE, src='/x', remote_src='yes')])
def test_other_tasks_go_to_the_module_unchanged(args):
    action = make(dict(args))
    action.run(task_vars={})
    (name, sent), = action.sent
    assert sent == args and action.copied == [] and action.made == []


def test_a_user_cannot_set_the_probe(image):
    action = make(dict(BASE, capacity='1G', _src_probe={'format': 'raw', 'size': 1}))
    action.run(task_vars={})
    assert '_src_probe' not in action.sent[0][1]


def test_bad_remote_src_fails():
    result = make(dict(BASE, src='x', remote_src='maybe')).run(task_vars={})
    assert result['failed'] and 'remote_src' in result['msg']
