# -*- coding: utf-8 -*-
"""The guest_file action plugin: src read and dest written on the controller."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
from unittest.mock import MagicMock

import pytest

from ansible.errors import AnsibleActionFail

from ansible_collections.vmcat.libvirt.plugins.action.guest_file import ActionModule


def make(args, check_mode=False, diff=False, reply=None):
    task = MagicMock(args=args, async_val=0, check_mode=check_mode, diff=diff)
    action = ActionModule(task, MagicMock(), MagicMock(check_mode=check_mode), MagicMock(), MagicMock(), MagicMock())
    action.sent = []

    def execute(module_name, module_args, task_vars):
        action.sent.append((module_name, dict(module_args)))
        return dict(reply or {}, invocation={'module_args': dict(module_args)})
    action._execute_module = execute
    return action


def test_src_is_read_on_the_controller(tmp_path):
    src = tmp_path / 'f.bin'
    src.write_bytes(b'\x00\x01data')
    action = make({'name': 'vm', 'path': '/g', 'src': 'f.bin'}, reply={'changed': True})
    action._find_needle = lambda kind, name: str(tmp_path / name)
    result = action.run(task_vars={})
    name, args = action.sent[0]
    assert name == 'vmcat.libvirt.guest_file' and 'src' not in args
    assert base64.b64decode(args['content_b64']) == b'\x00\x01data'
    assert result['src'] == str(src) and result['changed']
    assert 'read on the controller' in result['invocation']['module_args']['content_b64']


def test_src_missing_fails():
    from ansible.errors import AnsibleError
    action = make({'name': 'vm', 'path': '/g', 'src': 'nope'})

    def missing(kind, name):
        raise AnsibleError('could not find nope')
    action._find_needle = missing
    with pytest.raises(AnsibleActionFail, match='src nope not found on the controller'):
        action.run(task_vars={})


def test_src_directory_fails_before_the_module_runs(tmp_path):
    action = make({'name': 'vm', 'path': '/g', 'src': str(tmp_path)})
    action._find_needle = lambda kind, name: name
    with pytest.raises(AnsibleActionFail, match='is a directory on the controller; give one regular file'):
        action.run(task_vars={})
    assert action.sent == []


@pytest.mark.parametrize('check_mode', [False, True])
def test_fetch_writes_dest_only_when_different(tmp_path, check_mode):
    data = b'guest bytes\n'
    reply = {'changed': False, 'guest_path': '/var/log/app.log', 'content_b64': base64.b64encode(data).decode(),
             'content': data.decode(), 'size': len(data)}
    args = {'name': 'vm', 'path': '/var/log/app.log', 'state': 'fetched', 'dest': str(tmp_path) + '/'}
    first = make(dict(args), check_mode=check_mode, diff=True, reply=reply).run(task_vars={})
    target = tmp_path / 'app.log'
    assert first['changed'] and first['dest'] == str(target)
    assert 'content_b64' not in first and 'content' not in first
    assert first['diff']['before'] == '' and first['diff']['after'].startswith('sha256: ')
    assert target.exists() is (not check_mode)
    if not check_mode:
        assert target.read_bytes() == data
        again = make(dict(args, return_content=True), reply=reply).run(task_vars={})
        assert not again['changed'] and again['content'] == 'guest bytes\n'


def test_fetch_passes_failures_through(tmp_path):
    action = make({'name': 'vm', 'path': '/x', 'state': 'fetched', 'dest': str(tmp_path / 'x')},
                  reply={'failed': True, 'msg': '/x does not exist'})
    result = action.run(task_vars={})
    assert result['failed'] and not (tmp_path / 'x').exists()
    assert action.sent[0][1]['return_content'] is True and 'dest' not in action.sent[0][1]
