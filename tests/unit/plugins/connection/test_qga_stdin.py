# -*- coding: utf-8 -*-
"""Large stdin (pipelined modules) goes through a private guest temp file, not inside guest-exec."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

import pytest

from ansible.errors import AnsibleConnectionFailure

from ansible_collections.vmcat.libvirt.plugins.module_utils._guest import _exec
from ansible_collections.vmcat.libvirt.plugins.plugin_utils import _qga_transport as transport

from .test_qga import FakeAgent, _plugin


class SpoolAgent(FakeAgent):
    """FakeAgent whose mktemp prints a path (or fails) and whose shell records each script."""

    def __init__(self, mktemp_rc=0):
        super(SpoolAgent, self).__init__()
        self.mktemp_rc = mktemp_rc
        self.scripts = []

    def guest_exec(self, args):
        script = args['arg'][1] if args['arg'][:1] == ['-c'] else args['path']
        self.scripts.append(script)
        if script == 'umask 077 && mktemp':
            pid = len(self.procs) + 100
            out = b'/tmp/tmp.AbC123\n' if self.mktemp_rc == 0 else b''
            self.procs[pid] = [1, (self.mktemp_rc, out, b'mktemp: no space' if self.mktemp_rc else b'')]
            return {'pid': pid}
        return super(SpoolAgent, self).guest_exec(args)


@pytest.fixture
def spool_agent(monkeypatch):
    fake = SpoolAgent()
    monkeypatch.setattr(transport, 'agent_command', fake)
    return fake


def _conn():
    return _plugin({'inventory_hostname': 'test', 'vmcat_qga_uri': 'test:///default'})


def _exec_args(agent):
    return [args for command, args in agent.calls if command == 'guest-exec']


def test_small_stdin_travels_inline(spool_agent):
    data = b'x' * _exec.INLINE_STDIN_MAX
    rc, out, err = _conn().exec_command('cat', in_data=data)
    assert out.startswith(b'out:' + data)
    assert [base64.b64decode(a['input-data']) for a in _exec_args(spool_agent)] == [data]
    assert spool_agent.files == {}


def test_large_stdin_goes_through_a_guest_file(spool_agent):
    data = b'y' * (_exec.INLINE_STDIN_MAX + 1)
    rc, out, err = _conn().exec_command("/usr/bin/python3 && sleep 0", in_data=data)
    assert spool_agent.files['/tmp/tmp.AbC123'] == data
    assert not any('input-data' in a for a in _exec_args(spool_agent))
    assert spool_agent.scripts[0] == 'umask 077 && mktemp'
    # the shell opens the file as stdin and removes it before the command runs
    last = _exec_args(spool_agent)[-1]
    assert last['path'] == '/bin/sh' and last['arg'][0] == '-c'
    assert last['arg'][1] == 'exec < "$1" || exit 125\nrm -f "$1"\nshift\nexec "$@"'
    assert last['arg'][2:] == ['sh', '/tmp/tmp.AbC123', '/bin/sh', '-c', '/usr/bin/python3 && sleep 0']
    assert rc == 3 and out.startswith(b'out::')


def test_mktemp_failure_names_the_fix(monkeypatch):
    fake = SpoolAgent(mktemp_rc=1)
    monkeypatch.setattr(transport, 'agent_command', fake)
    with pytest.raises(AnsibleConnectionFailure, match=r'temporary file in the guest for 49153 bytes.*mktemp: no space'):
        _conn().exec_command('cat', in_data=b'z' * (48 * 1024 + 1))
