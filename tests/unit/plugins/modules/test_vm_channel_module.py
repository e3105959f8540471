# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vm_channel MODULE (main()) on test:/// domains, with the libvirt stream replaced by a scripted fake.

vm_channel does not define channels (the vm module's ``channels`` option
does), so there is no definition to converge: what a user relies on is that a
writing task reports changed and does not touch the channel in check mode, a
read-only task is not a change, and failures name the VM, the channel and a fix
while keeping what did arrive.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

import libvirt
import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._vm._vm_channel import AGAIN
from ansible_collections.vmcat.libvirt.plugins.modules import vm_channel
from ansible_collections.vmcat.libvirt.tests.unit.helpers import fail, module_failure
from ansible_collections.vmcat.libvirt.tests.unit.fakes.channel import FakeStream

URI = 'test:///default'
CHANNEL = 'org.example.test.0'


class Wire:
    """What the module did with libvirt: event loop, streams made, channels opened."""

    def __init__(self):
        self.events = []
        self.streams = []
        self.script = []
        self.accept = None
        self.open_errors = []  # raised by openChannel, first one first

    def start_event_loop(self):
        self.events.append('event loop')

    def new_stream(self, conn, flags=0):
        self.events.append('stream flags=%d' % flags)
        stream = FakeStream(self.script, self.accept)
        self.streams.append(stream)
        return stream

    def open_channel(self, dom, name, stream, flags=0):
        self.events.append('open %s of %s flags=%d' % (name, dom.name(), flags))
        if self.open_errors:
            raise self.open_errors.pop(0)


@pytest.fixture
def wire(monkeypatch):
    made = Wire()
    monkeypatch.setattr(vm_channel, 'start_event_loop', made.start_event_loop)
    # plain functions, so that libvirt's objects come in as the first argument
    monkeypatch.setattr(libvirt.virConnect, 'newStream', lambda conn, flags=0: made.new_stream(conn, flags))
    monkeypatch.setattr(libvirt.virDomain, 'openChannel',
                        lambda dom, name, stream, flags=0: made.open_channel(dom, name, stream, flags))
    return made


def _args(**kw):
    kw.setdefault('uri', URI)
    kw.setdefault('name', 'test')
    kw.setdefault('channel', CHANNEL)
    return kw


# -- writing and reading ------------------------------------------------------------------------
def test_write_and_read_a_line(wire, run_module):
    wire.script = [b'ok 3 ba', AGAIN, b'ckups\nnext']
    r = run_module(vm_channel, _args(data='status\n', read_until='\n', timeout=5))
    assert r['changed'] and r['sent'] and r['written'] == 7
    assert r['read'] == 'ok 3 backups\n' and r['read_b64'] == base64.b64encode(b'ok 3 backups\n').decode()
    assert r['read_length'] == 13 and r['remainder'] == 'next' and not r['eof'] and not r['timed_out']
    assert r['vm'] == 'test' and r['channel'] == CHANNEL
    assert r['actions'] == ['write 7 bytes to channel %s' % CHANNEL]
    assert wire.streams[0].sent == b'status\n' and wire.streams[0].closed == 'finish'
    assert wire.events == ['event loop', 'stream flags=1', 'open %s of test flags=0' % CHANNEL]


def test_binary_write_and_byte_count(wire, run_module):
    wire.script = [b'\x00\x01\xff\xfe\x05']
    r = run_module(vm_channel, _args(data_b64='AAECAwQ=', read_bytes=4, force=True))
    assert wire.streams[0].sent == b'\x00\x01\x02\x03\x04' and r['written'] == 5
    assert r['read_b64'] == base64.b64encode(b'\x00\x01\xff\xfe').decode() and r['read_length'] == 4
    assert r['remainder_b64'] == base64.b64encode(b'\x05').decode()
    assert wire.events[-1].endswith('flags=1')  # force: VIR_DOMAIN_CHANNEL_FORCE


def test_check_mode_write_does_not_open_the_channel(wire, run_module):
    r = run_module(vm_channel, _args(data='reboot\n', read_until='\n'), check_mode=True)
    assert r['changed'] and not r['sent'] and r['written'] == 0 and r['read'] == ''
    assert r['actions'] == ['write 7 bytes to channel %s' % CHANNEL]
    assert wire.streams == [] and not any(e.startswith('open') for e in wire.events)


def test_read_only_task_is_not_a_change_and_reads_in_check_mode(wire, run_module):
    wire.script = [b'hello\n']
    check = run_module(vm_channel, _args(read_until='\n'), check_mode=True)
    assert not check['changed'] and not check['sent'] and check['read'] == 'hello\n' and check['actions'] == []
    wire.script = [b'again\n']
    applied = run_module(vm_channel, _args(read_until='\n'))
    assert not applied['changed'] and applied['read'] == 'again\n'


def test_read_all_until_the_timeout_is_not_a_failure(wire, run_module):
    wire.script = [b'log line 1\n', AGAIN, b'log line 2\n']
    r = run_module(vm_channel, _args(read_all=True, timeout=0.2))
    assert not r['changed'] and r['timed_out'] and r['read'] == 'log line 1\nlog line 2\n'
    assert wire.streams[0].closed == 'finish'


def test_read_all_stops_at_end_of_stream(wire, run_module):
    wire.script = [b'bye', b'']
    r = run_module(vm_channel, _args(read_all=True, timeout=5))
    assert r['eof'] and not r['timed_out'] and r['read'] == 'bye'


# -- talk errors -------------------------------------------------------------------------------
def test_timeout_fails_with_what_arrived_and_aborts(wire, run_module):
    wire.script = [b'partial ans']
    result = module_failure(run_module, vm_channel, _args(data='q\n', read_until='\n', timeout=0.1))
    assert "channel %s of VM 'test' on %s" % (CHANNEL, URI) in result['msg']
    assert 'did not arrive' in result['msg'] and 'raise timeout' in result['msg']
    assert result['read'] == 'partial ans' and result['timed_out'] and result['written'] == 2
    assert wire.streams[0].closed == 'abort'


def test_channel_closed_before_the_answer(wire, run_module):
    wire.script = [b'half', b'']
    result = module_failure(run_module, vm_channel, _args(read_bytes=10, timeout=5))
    assert 'closed before 10 bytes arrived' in result['msg'] and result['eof'] and result['read'] == 'half'


def test_nobody_reading_the_write_times_out(wire, run_module):
    wire.accept = 0
    result = module_failure(run_module, vm_channel, _args(data='x' * 10, timeout=0.1))
    assert 'wrote 0 of 10 bytes' in result['msg'] and 'not reading' in result['msg']


def test_open_failure_names_the_channel_definition_to_add(wire, run_module):
    wire.open_errors.append(libvirt.libvirtError("internal error: no channel with name '%s'" % CHANNEL))
    msg = fail(run_module, vm_channel, _args(data='x'))
    assert CHANNEL in msg and "'test'" in msg and '<target type="virtio" name="%s"/>' % CHANNEL in msg
    assert 'force: true' in msg


def test_stopped_vm_is_refused_before_opening(wire, run_module, node_uri):
    msg = fail(run_module, vm_channel, _args(uri=node_uri, name='d1', data='x'))
    assert "VM 'd1'" in msg and 'not running' in msg and 'start it first' in msg
    assert wire.streams == []


def test_missing_vm_is_named(wire, run_module):
    result = module_failure(run_module, vm_channel, _args(name='nope', data='x'))
    assert 'nope' in result['msg'] and wire.streams == []


@pytest.mark.parametrize('kw, words', [
    (dict(), 'nothing to do'),
    (dict(data_b64='not base64!'), 'data_b64 is not valid base64'),
    (dict(read_bytes=0), 'read_bytes must be a positive number'),
    (dict(read_until=''), 'read_until must not be empty'),
    (dict(data='x', timeout=0), 'timeout must be a positive number'),
    (dict(data='x', data_b64='eA=='), 'mutually exclusive'),
    (dict(read_all=True, read_until='\n'), 'mutually exclusive'),
])
def test_bad_input_fails_before_opening(wire, run_module, kw, words):
    assert words in fail(run_module, vm_channel, _args(**kw))
    assert wire.streams == []
