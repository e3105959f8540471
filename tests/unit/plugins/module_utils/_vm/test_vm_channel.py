# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vm_channel: the write/read exchange over a fake non-blocking stream and a fake clock, and the module cycle."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._vm import _vm_channel as vc
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput, VmcatError
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module import Context
from ansible_collections.vmcat.libvirt.tests.unit.fakes.channel import FakeStream
from ansible_collections.vmcat.libvirt.tests.unit.helpers import FakeClock

AGAIN = vc.AGAIN


def run(stream, clock=None, **kw):
    clock = clock or FakeClock(start=0.0)
    return vc.exchange(stream.send, stream.recv, clock=clock, sleep=clock.sleep, **kw)


def test_write_only_in_pieces():
    stream = FakeStream(accept=3)
    out = run(stream, data=b'hello world')
    assert stream.sent == b'hello world' and out['written'] == 11 and out['read'] == b''


def test_read_until_delimiter_split_across_chunks_keeps_the_rest():
    stream = FakeStream([b'got:pi', AGAIN, b'ng\nextra', b'never read'])
    out = run(stream, data=b'ping\n', read_until=b'\n')
    assert out['read'] == b'got:ping\n' and out['remainder'] == b'extra'
    assert stream.script == [b'never read']


def test_read_bytes_and_delimiter_whichever_first():
    assert run(FakeStream([b'abcdef\n']), read_bytes=3, read_until=b'\n')['read'] == b'abc'
    out = run(FakeStream([b'ab\ncdef']), read_bytes=5, read_until=b'\n')
    assert out['read'] == b'ab\n' and out['remainder'] == b'cdef'


def test_multibyte_delimiter():
    out = run(FakeStream([b'a', b'bEN', b'Dc']), read_until=b'END')
    assert out['read'] == b'abEND' and out['remainder'] == b'c'


def test_timeout_raises_with_what_arrived():
    clock = FakeClock(start=0.0)
    with pytest.raises(vc.TimedOut) as caught:
        run(FakeStream([b'partial']), clock=clock, read_until=b'\n', timeout=2)
    assert caught.value.partial['read'] == b'partial' and caught.value.partial['timed_out']
    assert 2 <= clock.now < 2.1


def test_eof_before_the_delimiter_raises():
    with pytest.raises(vc.TimedOut, match='closed'):
        run(FakeStream([b'x', b'']), read_until=b'\n')


def test_read_all_returns_at_the_deadline_or_eof():
    out = run(FakeStream([b'a', AGAIN, b'b']), read_all=True, timeout=1)
    assert out['read'] == b'ab' and out['timed_out'] and not out['eof']
    out = run(FakeStream([b'a', b'']), read_all=True, timeout=1)
    assert out['read'] == b'a' and out['eof'] and not out['timed_out']


def test_write_that_nobody_reads_times_out():
    with pytest.raises(vc.TimedOut, match='wrote 0 of 3'):
        run(FakeStream(accept=0), data=b'abc', timeout=1)


@pytest.mark.parametrize('params, match', [
    (dict(data_b64='***'), 'base64'),
    (dict(read_bytes=0), 'positive'),
    (dict(read_until=''), 'empty'),
    (dict(read_all=True, read_until='\n'), 'does not go'),
])
def test_bad_input(params, match):
    with pytest.raises(InvalidInput, match=match):
        vc.payload(params)
        vc.read_plan(params)


def test_payload_text_and_b64():
    assert vc.payload(dict(data='h\u00e9\n')) == b'h\xc3\xa9\n'
    assert vc.payload(dict(data_b64='AAEC')) == b'\x00\x01\x02'
    assert vc.payload(dict()) is None


# -- the module cycle with a fake domain --------------------------------------------------------
class FakeDom:
    def __init__(self, stream, active=True):
        self.stream = stream
        self.active = active
        self.opened = []

    def isActive(self):
        return self.active

    def openChannel(self, name, stream, flags):
        self.opened.append((name, flags))


class FakeVirt:
    def __init__(self, stream):
        self.stream = stream

    def newStream(self, flags):
        assert flags == vc.STREAM_NONBLOCK
        return self.stream


class FakeConn:
    uri = 'qemu+ssh://node1/system'

    def __init__(self, stream, active=True):
        self.virt = FakeVirt(stream)
        self.dom = FakeDom(stream, active)

    def require_domain(self, name):
        return self.dom

    def translated(self, *args):
        import contextlib
        return contextlib.contextmanager(lambda: (yield))()


def params(**kw):
    out = dict(name='web1', channel='org.example.a', data=None, data_b64=None, read_until=None, read_bytes=None,
               read_all=False, timeout=5.0, force=False)
    out.update(kw)
    return out


def test_talk_writes_reads_and_closes_cleanly():
    stream = FakeStream([b'\xff ok\n'])
    conn = FakeConn(stream)
    out = vc.talk(Context(conn, params(data='st\n', read_until='\n', force=True), False))
    assert out['changed'] and out['sent'] and stream.sent == b'st\n' and stream.closed == 'finish'
    assert out['read'] == u'\ufffd ok\n' and base64.b64decode(out['read_b64']) == b'\xff ok\n'
    assert conn.dom.opened == [('org.example.a', vc.CHANNEL_FORCE)]


def test_talk_check_mode_does_not_open_when_writing():
    conn = FakeConn(FakeStream())
    out = vc.talk(Context(conn, params(data='x'), True))
    assert out['changed'] and not out['sent'] and conn.dom.opened == []


def test_talk_read_only_is_not_a_change():
    conn = FakeConn(FakeStream([b'hi\n']))
    out = vc.talk(Context(conn, params(read_until='\n'), True))
    assert not out['changed'] and out['read'] == 'hi\n'


def test_talk_timeout_fails_with_partial_read_and_aborts():
    stream = FakeStream([b'half'])
    with pytest.raises(VmcatError) as caught:
        vc.talk(Context(FakeConn(stream), params(read_until='\n', timeout=0.1), False))
    assert caught.value.details['read'] == 'half' and stream.closed == 'abort'
    assert 'org.example.a' in caught.value.msg and 'web1' in caught.value.msg


def test_talk_needs_something_to_do_and_a_running_vm():
    with pytest.raises(InvalidInput, match='nothing to do'):
        vc.talk(Context(FakeConn(FakeStream()), params(), False))
    with pytest.raises(VmcatError, match='not running'):
        vc.talk(Context(FakeConn(FakeStream(), active=False), params(data='x'), False))
