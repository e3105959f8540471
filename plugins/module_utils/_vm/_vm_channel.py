# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write to and read from a VM's named virtio-serial channel through libvirt (``vm_channel``).

``virDomainOpenChannel`` connects a libvirt stream to the channel's host side
(QEMU's unix socket or pty), on the node, so it works for remote URIs too.
The stream is non-blocking; libvirt moves its data only while an event loop
runs, so ``start_event_loop`` registers libvirt's default one (before the
connection opens) and runs it in a daemon thread.

``exchange`` is the protocol logic on top of any ``send``/``recv`` pair with
libvirt's non-blocking conventions (-2: try again, b'': end of stream), with
one deadline for the whole exchange; the unit tests drive it with fakes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import threading
import time

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput, LibvirtError, VmcatError

try:
    import libvirt
except ImportError:  # pragma: no cover - reported by the module wrapper
    libvirt = None

AGAIN = -2  # what non-blocking virStreamSend/Recv return when they would block
CHANNEL_FORCE = 1  # VIR_DOMAIN_CHANNEL_FORCE
STREAM_NONBLOCK = 1  # VIR_STREAM_NONBLOCK
CHUNK = 65536

_loop_lock = threading.Lock()
_loop_started = []


def start_event_loop():
    """Register libvirt's default event loop and run it in a daemon thread (once per process).

    Must run before the connection opens: a connection only uses the event
    loop that was registered when it was opened.
    """
    with _loop_lock:
        if _loop_started or libvirt is None:
            return
        libvirt.virEventRegisterDefaultImpl()

        def run():
            while True:
                libvirt.virEventRunDefaultImpl()
        thread = threading.Thread(target=run, name='libvirt-event-loop')
        thread.daemon = True
        thread.start()
        _loop_started.append(thread)


class TimedOut(VmcatError):
    """The read condition was not met in time; ``partial`` has what did arrive."""

    def __init__(self, msg, partial, **details):
        super(TimedOut, self).__init__(msg, **details)
        self.partial = partial


# -- input -----------------------------------------------------------------------------------
def payload(params):
    """The bytes to write (None: nothing to write), from data (UTF-8 text) or data_b64."""
    if params.get('data') is not None:
        return params['data'].encode('utf-8')
    if params.get('data_b64') is not None:
        try:
            return base64.b64decode(params['data_b64'].encode('ascii'), validate=True)
        except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
            raise InvalidInput('data_b64 is not valid base64: %s' % exc)
    return None


def read_plan(params):
    """(read_bytes, delimiter bytes, read_all) from the task; checked."""
    size = params.get('read_bytes')
    until = params.get('read_until')
    read_all = bool(params.get('read_all'))
    if size is not None and size <= 0:
        raise InvalidInput('read_bytes must be a positive number of bytes (got %d)' % size)
    if until is not None and until == '':
        raise InvalidInput('read_until must not be empty')
    if read_all and (size is not None or until is not None):
        raise InvalidInput('read_all reads whatever arrives until the timeout; it does not go with read_bytes or '
                           'read_until')
    return size, (until.encode('utf-8') if until is not None else None), read_all


# -- the exchange ----------------------------------------------------------------------------
def _split(buf, size, delimiter):
    """(done, result, remainder): where the read condition is met in ``buf``, if it is."""
    cut = None
    if delimiter is not None:
        at = buf.find(delimiter)
        if at >= 0:
            cut = at + len(delimiter)
    if size is not None and len(buf) >= size and (cut is None or size < cut):
        cut = size
    if cut is None:
        return False, buf, b''
    return True, buf[:cut], buf[cut:]


def exchange(send, recv, data=None, read_bytes=None, read_until=None, read_all=False, timeout=10.0,
             clock=time.monotonic, sleep=time.sleep, poll=0.02):
    """Write ``data``, then read until ``read_bytes`` bytes or ``read_until`` arrived (whichever comes first).

    With ``read_all``, read until the deadline or the end of the stream.  The
    deadline (``timeout`` seconds) covers both.  Returns a dict: written,
    read (bytes up to and including the delimiter), remainder (bytes that came
    after), eof, timed_out.  Raises TimedOut (with ``partial``) when a
    read condition is not met in time or the stream ends first.
    """
    deadline = clock() + timeout
    written = 0
    out = dict(written=0, read=b'', remainder=b'', eof=False, timed_out=False)
    if data:
        view = memoryview(data)
        while written < len(data):
            n = send(bytes(view[written:written + CHUNK]))
            if n == AGAIN or n == 0:
                if clock() >= deadline:
                    out['written'] = written
                    raise TimedOut('wrote %d of %d bytes before the timeout of %ss; the other side is not reading'
                                   % (written, len(data), timeout), out)
                sleep(poll)
                continue
            written += n
    out['written'] = written
    if read_bytes is None and read_until is None and not read_all:
        return out
    buf = b''
    while True:
        if not read_all:
            done, result, rest = _split(buf, read_bytes, read_until)
            if done:
                out['read'], out['remainder'] = result, rest
                return out
        chunk = recv(CHUNK)
        if chunk == AGAIN:
            if clock() >= deadline:
                out['read'], out['timed_out'] = buf, True
                if read_all:
                    return out
                wanted = _wanted(read_bytes, read_until)
                raise TimedOut('%s did not arrive within %ss (%d bytes did)' % (wanted, timeout, len(buf)), out)
            sleep(poll)
            continue
        if not chunk:
            out['read'], out['eof'] = buf, True
            if read_all:
                return out
            raise TimedOut('the channel closed before %s arrived (%d bytes did)'
                           % (_wanted(read_bytes, read_until), len(buf)), out)
        buf += chunk


def _wanted(size, delimiter):
    parts = []
    if delimiter is not None:
        parts.append('the delimiter %r' % delimiter.decode('utf-8', 'replace'))
    if size is not None:
        parts.append('%d bytes' % size)
    return ' or '.join(parts)


# -- libvirt ---------------------------------------------------------------------------------
def _text(data):
    return data.decode('utf-8', 'replace')


def _b64(data):
    return base64.b64encode(data).decode('ascii')


def shape(raw):
    """The module's result keys from an exchange's bytes."""
    return dict(
        written=raw['written'],
        read=_text(raw['read']),
        read_b64=_b64(raw['read']),
        read_length=len(raw['read']),
        remainder=_text(raw['remainder']),
        remainder_b64=_b64(raw['remainder']),
        eof=raw['eof'],
        timed_out=raw['timed_out'],
    )


def _close(stream, failed):
    try:
        if failed:
            stream.abort()
        else:
            stream.finish()
    except LibvirtError:  # the other side may have closed the stream already
        try:
            stream.abort()
        except LibvirtError:  # nothing left to close
            pass


def talk(ctx):
    """vm_channel: open the channel, write and read; returns the module result."""
    p = ctx.params
    data = payload(p)
    read_bytes, read_until, read_all = read_plan(p)
    if data is None and read_bytes is None and read_until is None and not read_all:
        raise InvalidInput('nothing to do: give data or data_b64 to write, and/or read_until, read_bytes or '
                           'read_all to read')
    if p['timeout'] <= 0:
        raise InvalidInput('timeout must be a positive number of seconds (got %s)' % p['timeout'])
    conn = ctx.conn
    name, channel = p['name'], p['channel']
    dom = conn.require_domain(name)
    result = dict(changed=bool(data), vm=name, channel=channel, sent=False)
    result.update(shape(dict(written=0, read=b'', remainder=b'', eof=False, timed_out=False)))
    if data and ctx.check_mode:
        ctx.record('write %d bytes to channel %s' % (len(data), channel))
        result['actions'] = ctx.actions
        return result
    if not dom.isActive():
        raise VmcatError("VM '%s' on %s is not running, so its channel %s cannot be opened; start it first"
                         % (name, conn.uri, channel), vm=name, channel=channel)
    stream = conn.virt.newStream(STREAM_NONBLOCK)
    hint = ('the VM needs a channel of type unix or pty with <target type="virtio" name="%s"/> (vm option '
            'channels); another client may hold a pty channel (force: true takes it over)' % channel)
    with conn.translated('open channel %s of' % channel, "VM '%s'" % name, hint):
        dom.openChannel(channel, stream, CHANNEL_FORCE if p['force'] else 0)
    failed = True
    try:
        raw = exchange(stream.send, stream.recv, data, read_bytes, read_until, read_all, float(p['timeout']))
        failed = False
    except TimedOut as exc:
        partial = shape(exc.partial)
        raise VmcatError("channel %s of VM '%s' on %s: %s; raise timeout, or check the program on the guest side"
                         % (channel, name, conn.uri, exc.msg), vm=name, channel=channel, **partial)
    finally:
        _close(stream, failed)
    if data:
        ctx.record('write %d bytes to channel %s' % (len(data), channel))  # a stream exchange, not one call
    result.update(shape(raw))
    result['sent'] = bool(data)
    result['actions'] = ctx.actions
    return result
