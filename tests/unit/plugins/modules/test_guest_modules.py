# -*- coding: utf-8 -*-
"""guest_info, guest_exec and guest_file against a loopback guest agent (real processes and files here)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import os

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _guest_agent
from ansible_collections.vmcat.libvirt.plugins.module_utils._guest import _file_io
from ansible_collections.vmcat.libvirt.plugins.module_utils._guest import _exec
from ansible_collections.vmcat.libvirt.plugins.module_utils._guest import _files
from ansible_collections.vmcat.libvirt.plugins.modules import guest_exec, guest_file, guest_info
from ansible_collections.vmcat.libvirt.tests.unit.helpers import ModuleFail
from ansible_collections.vmcat.libvirt.tests.unit.fakes.guest_agent import LoopbackAgent

URI = 'test:///default'
REAL_AGENT_COMMAND = _guest_agent.agent_command


@pytest.fixture
def agent(monkeypatch):
    fake = LoopbackAgent()
    monkeypatch.setattr(_guest_agent, 'agent_command', fake)
    return fake


def _args(**kw):
    kw.setdefault('uri', URI)
    kw.setdefault('name', 'test')
    return kw


# -- guest_info ------------------------------------------------------------------------------
def test_info_all_sections_snake_case(agent, run_module):
    r = run_module(guest_info, _args(), check_mode=True)
    assert r['changed'] is False and r['unavailable'] == []
    assert r['hostname'] == 'vmcat-guest' and r['os']['kernel_release'] == '6.1.0'
    assert r['interfaces'][0]['ip_addresses'][0]['ip_address'] == '127.0.0.1'
    assert r['filesystems'][0]['used_percent'] == 25.0
    assert r['vcpus'][0]['logical_id'] == 0
    assert 'guest-exec' in r['agent']['enabled_commands'] and r['agent']['disabled_commands'] == []


def test_info_degrades_per_section(agent, run_module):
    agent.disabled = {'guest-get-users', 'guest-get-fsinfo'}
    agent.missing = {'guest-get-disks'}
    r = run_module(guest_info, _args(gather=['users', 'filesystems', 'disks', 'hostname', 'agent']))
    assert r['users'] is None and r['filesystems'] is None and r['disks'] is None
    assert r['hostname'] == 'vmcat-guest' and 'os' not in r
    reasons = dict((u['section'], u['reason']) for u in r['unavailable'])
    assert reasons == {'users': 'disabled', 'filesystems': 'disabled', 'disks': 'not_supported'}
    users = [u for u in r['unavailable'] if u['section'] == 'users'][0]
    assert 'block-rpcs' in users['msg'] and "VM 'test'" in users['msg']
    assert r['agent']['disabled_commands'] == ['guest-get-fsinfo', 'guest-get-users']
    # guest-get-users was never sent: guest-info said it is disabled
    assert agent.names('guest-get-users') == []


def test_info_blocked_guest_info_still_asks(agent, run_module):
    agent.disabled = {'guest-info'}
    r = run_module(guest_info, _args(gather=['hostname', 'agent']))
    assert r['hostname'] == 'vmcat-guest' and r['agent'] is None
    assert r['unavailable'][0]['section'] == 'agent' and r['unavailable'][0]['reason'] == 'disabled'


# -- guest_exec ------------------------------------------------------------------------------
def test_exec_argv_stdin_env(agent, run_module):
    r = run_module(guest_exec, _args(argv=['/bin/sh', '-c', 'cat; echo "$FOO"; echo err >&2'], stdin='hello',
                                     env={'FOO': 'bar baz'}))
    assert r['changed'] and r['rc'] == 0 and r['stdout_lines'] == ['hello', 'bar baz'] and r['stderr'] == 'err'
    assert r['cmd'][0] == '/bin/sh' and r['pid'] > 0 and r['duration'] >= 0 and not r['stdout_truncated']
    env = [c for c in agent.calls if c[0] == 'guest-exec'][-1][1]['env']
    assert 'FOO=bar baz' in env and any(e.startswith('PATH=') for e in env)


def test_exec_large_stdin_goes_through_a_guest_file(agent, run_module):
    data = 'x' * (_exec.INLINE_STDIN_MAX + 10)
    r = run_module(guest_exec, _args(argv=['/bin/sh', '-c', 'wc -c; echo "$FOO"'], stdin=data, env={'FOO': 'kept'},
                                     stdin_add_newline=False))
    assert r['rc'] == 0 and r['stdout_lines'] == [str(len(data)), 'kept']
    execs = [c[1] for c in agent.calls if c[0] == 'guest-exec']
    assert not any('input-data' in e for e in execs)  # nothing oversized went through the agent channel
    spool = execs[-1]['arg'][3]
    assert execs[-1]['arg'][4:] == ['/bin/sh', '-c', 'wc -c; echo "$FOO"'] and not os.path.exists(spool)


def test_exec_cmd_chdir_and_failure(agent, run_module, tmp_path):
    r = run_module(guest_exec, _args(cmd='pwd; exit 3', chdir=str(tmp_path)))
    assert r['failed'] and r['rc'] == 3 and r['stdout'] == str(tmp_path) and r['msg'] == 'non-zero return code'
    r = run_module(guest_exec, _args(argv=['pwd'], chdir=str(tmp_path)))
    assert r['rc'] == 0 and r['stdout'] == str(tmp_path)


def test_exec_creates_removes_and_check_mode(agent, run_module, tmp_path):
    marker = tmp_path / 'done flag'
    args = _args(cmd='touch "%s"' % marker, creates=str(tmp_path / 'done*'))
    check = run_module(guest_exec, args, check_mode=True)
    assert check['changed'] and check['rc'] is None and not marker.exists()
    assert agent.names('guest-exec') == ['guest-exec']  # only the creates check ran
    applied = run_module(guest_exec, args)
    assert applied['changed'] and marker.exists()
    again_check = run_module(guest_exec, args, check_mode=True)
    again = run_module(guest_exec, args)
    assert not again_check['changed'] and not again['changed'] and 'exists' in again['msg']
    gone = run_module(guest_exec, _args(argv=['true'], removes=str(tmp_path / 'nothing')))
    assert not gone['changed'] and 'does not exist' in gone['msg']
    here = run_module(guest_exec, _args(argv=['true'], removes=str(marker)))
    assert here['changed'] and here['rc'] == 0


def test_exec_truncation_warns(agent, run_module, monkeypatch):
    from ansible.module_utils import basic
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda self, msg: warnings.append(msg))
    agent.truncate = 4
    r = run_module(guest_exec, _args(cmd='echo 123456789'))
    assert r['stdout'] == '1234' and r['stdout_truncated'] and not r['stderr_truncated']
    assert len(warnings) == 1 and 'truncated the output' in warnings[0] and 'stdout' in warnings[0]


def test_exec_no_wait(agent, run_module):
    r = run_module(guest_exec, _args(argv=['true'], wait=False))
    assert r['changed'] and r['pid'] > 0 and r['rc'] is None
    assert agent.calls[-1][1]['capture-output'] is False


def test_exec_disabled_says_how_to_enable(agent, run_module, monkeypatch):
    monkeypatch.setattr(_guest_agent, 'agent_command', REAL_AGENT_COMMAND)

    class Reply:
        pass

    def refuse(dom, text, timeout, flags):
        return '{"error": {"class": "CommandDisabled", "desc": "The command guest-exec has been disabled for this instance"}}'
    monkeypatch.setattr(_guest_agent.libvirt_qemu, 'qemuAgentCommand', refuse)
    with pytest.raises(ModuleFail) as failed:
        run_module(guest_exec, _args(argv=['true']))
    msg = failed.value.result['msg']
    assert 'guest-exec is disabled' in msg and 'block-rpcs' in msg and "VM 'test'" in msg
    assert failed.value.result['reason'] == 'disabled'


def test_exec_timeout_names_pid():
    clock = {'now': 0.0}

    def call(command, arguments=None):
        return {'pid': 42} if command == 'guest-exec' else {'exited': False}

    def sleep(seconds):
        clock['now'] += seconds
    with pytest.raises(_exec.GuestExecTimeout, match=r'pid 42 .* within 3s') as exc:
        _exec.run(call, '/bin/sleep', ['9'], timeout=3, sleep=sleep, clock=lambda: clock['now'])
    assert exc.value.details['pid'] == 42


def test_exec_bad_input(agent, run_module):
    with pytest.raises(ModuleFail, match='argv needs'):
        run_module(guest_exec, _args(argv=[]))
    with pytest.raises(ModuleFail, match='timeout must be positive|timeout must be a positive'):
        run_module(guest_exec, _args(argv=['true'], timeout=0))
    assert agent.calls == []


# -- guest_file ------------------------------------------------------------------------------
def test_file_put_four_ways_with_diff(agent, run_module, tmp_path):
    path = str(tmp_path / 'motd')
    args = _args(path=path, content='hello\nworld\n', mode='0640')
    check = run_module(guest_file, args, check_mode=True, diff=True)
    assert check['changed'] and not os.path.exists(path)
    assert check['diff'][0]['before'] == '' and check['diff'][0]['after'] == 'hello\nworld\n'
    assert check['file']['mode'] == '0640' and check['file']['sha256'] == hashlib.sha256(b'hello\nworld\n').hexdigest()
    applied = run_module(guest_file, args, diff=True)
    assert applied['changed'] and open(path, 'rb').read() == b'hello\nworld\n'
    assert oct(os.stat(path).st_mode & 0o7777) == '0o640' and applied['file']['mode'] == '0640'
    assert applied['file'] == check['file'] and applied['guest_path'] == path and applied['state'] == 'present'
    again_check = run_module(guest_file, args, check_mode=True)
    again = run_module(guest_file, args)
    assert not again_check['changed'] and not again['changed']
    assert agent.names('guest-file-write') == ['guest-file-write']
    changed = run_module(guest_file, dict(args, content='hello\n', mode=0o600), diff=True)
    assert changed['changed'] and changed['diff'][0]['before'] == 'hello\nworld\n'
    assert changed['diff'][1] == {'before': {'mode': '0640', 'owner': 'root', 'group': 'root'},
                                  'after': {'mode': '0600', 'owner': 'root', 'group': 'root'}}


def test_file_chunks_and_binary_diff(agent, run_module, tmp_path):
    path = str(tmp_path / 'blob')
    data = os.urandom(300 * 1024)
    r = run_module(guest_file, _args(path=path, content_b64=base64.b64encode(data).decode()), diff=True)
    writes = [c for c in agent.calls if c[0] == 'guest-file-write']
    assert [len(base64.b64decode(w[1]['buf-b64'])) for w in writes] == [131072, 131072, 45056]
    assert open(path, 'rb').read() == data and r['file']['size'] == len(data)
    assert r['diff'][0]['after'].startswith('sha256: %s' % hashlib.sha256(data).hexdigest())
    assert r['via'] == 'exec' and r['file']['mode'] == '0600'  # qemu-ga's mode for new files


def test_file_without_exec(agent, run_module, tmp_path):
    agent.disabled = {'guest-exec', 'guest-exec-status'}
    path = str(tmp_path / 'plain')
    first = run_module(guest_file, _args(path=path, content='x'))
    second = run_module(guest_file, _args(path=path, content='x'))
    assert first['changed'] and not second['changed'] and second['via'] == 'file'
    assert second['file']['mode'] is None and second['file']['sha256'] == hashlib.sha256(b'x').hexdigest()
    with pytest.raises(ModuleFail) as failed:
        run_module(guest_file, _args(path=path, content='y', mode='0644'))
    msg = failed.value.result['msg']
    assert 'guest-exec' in msg and 'block-rpcs' in msg and "VM 'test'" in msg
    assert open(path).read() == 'x'  # failed before any change
    with pytest.raises(ModuleFail, match='removing a guest file needs guest-exec'):
        run_module(guest_file, _args(path=path, state='absent'))
    assert not run_module(guest_file, _args(path=path + '.nope', state='absent'))['changed']


def test_file_absent_and_directory(agent, run_module, tmp_path):
    path = tmp_path / 'old'
    path.write_text(u'bye')
    check = run_module(guest_file, _args(path=str(path), state='absent'), check_mode=True, diff=True)
    assert check['changed'] and path.exists() and check['diff'][0]['before'] == 'bye'
    assert run_module(guest_file, _args(path=str(path), state='absent'))['changed'] and not path.exists()
    assert not run_module(guest_file, _args(path=str(path), state='absent'))['changed']
    with pytest.raises(ModuleFail, match='is a directory, not a regular file'):
        run_module(guest_file, _args(path=str(tmp_path), content='x'))


def test_file_fetched(agent, run_module, tmp_path):
    src = tmp_path / 'guest.txt'
    src.write_bytes(b'guest data\n')
    r = run_module(guest_file, _args(path=str(src), state='fetched'))
    assert not r['changed'] and r['content'] == 'guest data\n' and r['size'] == 11
    out = tmp_path / 'out'
    out.mkdir()
    args = _args(path=str(src), state='fetched', dest=str(out) + '/')
    check = run_module(guest_file, args, check_mode=True)
    assert check['changed'] and not (out / 'guest.txt').exists() and 'content' not in check
    applied = run_module(guest_file, args)
    assert applied['changed'] and (out / 'guest.txt').read_bytes() == b'guest data\n'
    assert not run_module(guest_file, args)['changed']
    with pytest.raises(ModuleFail, match='does not exist in VM'):
        run_module(guest_file, _args(path=str(tmp_path / 'missing'), state='fetched'))


def test_file_bad_input(agent, run_module):
    for args, match in ((dict(path='rel', content='x'), 'absolute path'),
                        (dict(path='/x', content='x', mode='u+x'), 'octal'),
                        (dict(path='/x', state='absent', mode='0644'), 'state=present only'),
                        (dict(path='/x', content_b64='!!'), 'not valid base64'),
                        (dict(path='/x', state='absent', dest='/tmp/x'), 'state=fetched only')):
        with pytest.raises(ModuleFail, match=match):
            run_module(guest_file, _args(**args))
    assert agent.calls == []


def test_file_state_without_sha256sum(agent, tmp_path, monkeypatch):
    path = tmp_path / 'f'
    path.write_bytes(b'abc')
    call = _guest_agent.agent_caller('dom')
    monkeypatch.setattr(_files, '_STATE_SCRIPT', _files._STATE_SCRIPT.replace('sha256sum', 'nosuchtool'))
    state = _files.file_state(call, str(path))
    assert state['sha256'] == hashlib.sha256(b'abc').hexdigest() and state['via'] == 'exec'


def test_short_write_fails():
    def call(command, arguments=None):
        return 7 if command == 'guest-file-open' else {'count': 1}
    with pytest.raises(_file_io.GuestFileError, match='short write to /x .* 1 of 3 bytes'):
        _file_io.write_file(call, '/x', b'abc')
