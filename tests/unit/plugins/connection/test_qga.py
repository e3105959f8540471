# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib

import pytest
import yaml

from ansible import constants as C
from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.playbook.play_context import PlayContext
from ansible.plugins.loader import fragment_loader
from ansible.utils.plugin_docs import add_fragments

from ansible_collections.vmcat.libvirt.plugins.connection import qga as qga_plugin
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._guest_agent import AgentCommandDisabled
from ansible_collections.vmcat.libvirt.plugins.plugin_utils import _qga_transport as transport


class FakeAgent:
    """A guest agent in memory: files, processes that exit after ``polls`` status calls, a tool list."""

    def __init__(self, tools=('sha256sum',), polls=2, corrupt=False, disabled=()):
        self.files, self.calls, self.tools, self.polls = {}, [], tools, polls
        self.corrupt, self.disabled = corrupt, disabled
        self.handles, self.procs = {}, {}

    def __call__(self, dom, command, arguments=None, timeout=5):
        self.calls.append((command, arguments))
        if command in self.disabled:
            raise AgentCommandDisabled('command %s is disabled by the guest agent configuration' % command)
        return getattr(self, command.replace('-', '_'))(arguments or {})

    def guest_ping(self, args):
        return {}

    def guest_exec(self, args):
        pid = len(self.procs) + 100
        stdin = base64.b64decode(args.get('input-data', ''))
        cmd = args['arg'][-1] if args.get('arg') else args['path']
        tool = cmd.split()[0]
        if tool in ('sha256sum', 'md5sum'):
            if tool not in self.tools:
                result = (127, b'', b'not found')
            else:
                data = self.files[cmd.split(None, 1)[1].strip("'")]
                result = (0, (hashlib.new(tool[:-3], data + (b'x' if self.corrupt else b'')).hexdigest() + '  f\n').encode(), b'')
        else:
            result = (3, b'out:' + stdin + b':' + ' '.join(args.get('env', [])).encode(), b'err')
        self.procs[pid] = [self.polls, result]
        return {'pid': pid}

    def guest_exec_status(self, args):
        proc = self.procs[args['pid']]
        proc[0] -= 1
        if proc[0] > 0:
            return {'exited': False}
        rc, out, err = proc[1]
        return {'exited': True, 'exitcode': rc, 'out-data': base64.b64encode(out).decode(),
                'err-data': base64.b64encode(err).decode()}

    def guest_file_open(self, args):
        handle = len(self.handles) + 1
        if args['mode'] == 'w':
            self.files[args['path']] = b''
        self.handles[handle] = [args['path'], 0]
        return handle

    def guest_file_write(self, args):
        path = self.handles[args['handle']][0]
        data = base64.b64decode(args['buf-b64'])
        self.files[path] += data
        return {'count': len(data), 'eof': False}

    def guest_file_read(self, args):
        entry = self.handles[args['handle']]
        data = self.files[entry[0]][entry[1]:entry[1] + args['count']]
        entry[1] += len(data)
        return {'count': len(data), 'buf-b64': base64.b64encode(data).decode(), 'eof': entry[1] >= len(self.files[entry[0]])}

    def guest_file_close(self, args):
        self.handles.pop(args['handle'])
        return {}


@pytest.fixture
def agent(monkeypatch):
    fake = FakeAgent()
    monkeypatch.setattr(transport, 'agent_command', fake)
    return fake


def make(agent_timeout=10, command_timeout=600):
    clock = {'now': 0.0}

    def sleep(seconds):
        clock['now'] += seconds
    return transport.QgaTransport('dom', agent_timeout, command_timeout, sleep=sleep, clock=lambda: clock['now'])


def test_run_passes_stdin_env_and_polls(agent):
    agent.polls = 4
    rc, out, err = make().run('/bin/sh', ['-c', 'cat'], stdin=b'hello', env={'A': '1', 'B': 'x y'})
    assert (rc, out, err) == (3, b'out:hello:A=1 B=x y', b'err')
    statuses = [c for c in agent.calls if c[0] == 'guest-exec-status']
    assert len(statuses) == 4
    exec_args = agent.calls[0][1]
    assert exec_args['capture-output'] is True and exec_args['path'] == '/bin/sh'


def test_run_times_out(agent):
    agent.polls = 10 ** 6
    with pytest.raises(transport.QgaError, match='did not finish within 5s'):
        make(command_timeout=5).run('/bin/sleep', ['100'])


def test_put_in_chunks_checks_each_count_and_runs_nothing_by_default(agent):
    data = bytes(bytearray(range(256))) * 1025  # 262400 bytes: three 128 KiB writes
    make().put(data, '/tmp/f')
    writes = [c for c in agent.calls if c[0] == 'guest-file-write']
    assert [len(base64.b64decode(w[1]['buf-b64'])) for w in writes] == [131072, 131072, 256]
    assert agent.files['/tmp/f'] == data
    assert make().fetch('/tmp/f') == data
    assert not [c for c in agent.calls if c[0] == 'guest-exec']  # no checksum unless asked for
    agent.corrupt = True
    make().put(b'abc', '/tmp/f')  # what the guest's sha256sum would say is not asked


def test_short_write_fails(agent, monkeypatch):
    monkeypatch.setattr(agent, 'guest_file_write', lambda args: {'count': 5})
    with pytest.raises(transport.QgaError, match='short write to /tmp/f in the guest: 5 of 3 bytes at offset 0'):
        make().put(b'abc', '/tmp/f')


def test_put_and_fetch_with_checksum(agent):
    data = bytes(bytearray(range(256))) * 1025
    make().put(data, '/tmp/f', checksum=True)
    assert agent.files['/tmp/f'] == data
    assert make().fetch('/tmp/f', checksum=True) == data
    digests = [c for c in agent.calls if c[0] == 'guest-exec' and 'sha256sum' in c[1]['arg'][-1]]
    assert len(digests) == 2


def test_checksum_mismatch_fails(agent):
    agent.corrupt = True
    with pytest.raises(transport.QgaError, match='checksum of /tmp/f .* does not match .*sha256'):
        make().put(b'abc', '/tmp/f', checksum=True)
    with pytest.raises(transport.QgaError, match='checksum of /tmp/f .* does not match .*sha256'):
        make().fetch('/tmp/f', checksum=True)


def test_no_checksum_tool_reads_back(agent):
    agent.tools = ()
    make().put(b'abc' * 100000, '/tmp/g', checksum=True)
    reads = [c for c in agent.calls if c[0] == 'guest-file-read']
    assert reads and all(r[1]['count'] == 131072 for r in reads)


def test_disabled_exec_message(agent):
    agent.disabled = ('guest-exec',)
    with pytest.raises(transport.QgaError, match='guest-exec is disabled'):
        make().run('/bin/true')


def _plugin(variables):
    doc = yaml.safe_load(qga_plugin.DOCUMENTATION)
    add_fragments(doc, qga_plugin.__file__, fragment_loader=fragment_loader)
    C.config.initialize_plugin_configuration_definitions('connection', 'vmcat.libvirt.qga', doc['options'])
    conn = qga_plugin.Connection(PlayContext(), None)
    conn._load_name = 'vmcat.libvirt.qga'
    conn.set_options(var_options=variables)
    return conn


def test_plugin_options_and_missing_vm():
    conn = _plugin({'inventory_hostname': 'nope', 'vmcat_qga_uri': 'test:///default'})
    assert conn.get_option('vmcat_qga_vm') == 'nope' and conn.get_option('vmcat_qga_command_timeout') == 600
    with pytest.raises(AnsibleConnectionFailure, match="'nope' not found on test:///default"):
        conn.exec_command('true')
    conn = _plugin({'inventory_hostname': 'h', 'vmcat_qga_vm': 'test', 'vmcat_qga_uri': 'test:///default'})
    assert conn.get_option('vmcat_qga_vm') == 'test'
    with pytest.raises(AnsibleConnectionFailure, match='vmcat.libvirt.qga: .*guest-ping'):
        conn.exec_command('true')  # the test driver has no guest agent


def test_plugin_exec_put_fetch(agent, tmp_path):
    conn = _plugin({'inventory_hostname': 'test', 'vmcat_qga_uri': 'test:///default'})
    rc, out, err = conn.exec_command("echo hi", in_data=b'payload')
    assert rc == 3 and out.startswith(b'out:payload')
    assert [c for c in agent.calls if c[0] == 'guest-exec'][0][1]['arg'] == ['-c', 'echo hi']
    src = tmp_path / 'src'
    src.write_bytes(b'data' * 1000)
    conn.put_file(str(src), '/tmp/x')
    assert agent.files['/tmp/x'] == b'data' * 1000
    conn.fetch_file('/tmp/x', str(tmp_path / 'back'))
    assert (tmp_path / 'back').read_bytes() == b'data' * 1000
    agent.corrupt = True
    conn.put_file(str(src), '/tmp/y')  # vmcat_qga_checksum is off by default
    assert conn.get_option('vmcat_qga_checksum') is False
    conn.close()
    conn = _plugin({'inventory_hostname': 'test', 'vmcat_qga_uri': 'test:///default', 'vmcat_qga_checksum': True})
    with pytest.raises(AnsibleError, match='could not put .* checksum'):
        conn.put_file(str(src), '/tmp/y')
    with pytest.raises(AnsibleError, match='could not fetch /tmp/x .* checksum'):
        conn.fetch_file('/tmp/x', str(tmp_path / 'back'))
    conn.close()
