# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import struct
import zlib

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._console import _vm_input, _vm_screenshot
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _qmp
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput, VmcatError


def read_png(data):
    """A tiny independent PNG reader (8-bit RGB, no interlace, any filter): (width, height, rows of bytes)."""
    assert data[:8] == b'\x89PNG\r\n\x1a\n'
    pos, idat, header = 8, b'', None
    while pos < len(data):
        length, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        assert struct.unpack('>I', data[pos + 8 + length:pos + 12 + length])[0] == zlib.crc32(kind + body) & 0xffffffff
        if kind == b'IHDR':
            header = struct.unpack('>IIBBBBB', body)
        elif kind == b'IDAT':
            idat += body
        pos += 12 + length
    width, height, depth, color = header[:4]
    assert (depth, color) == (8, 2)
    raw, stride, rows, prev = zlib.decompress(idat), width * 3, [], bytearray(width * 3)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - 3] if i >= 3 else 0
            up, corner = prev[i], (prev[i - 3] if i >= 3 else 0)
            if kind == 1:
                line[i] = (line[i] + left) & 0xff
            elif kind == 2:
                line[i] = (line[i] + up) & 0xff
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xff
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
                line[i] = (line[i] + pred) & 0xff
        rows.append(bytes(line))
        prev = line
    return width, height, rows


def ppm(width, height, pixels, maxval=255, comment=True):
    head = b'P6\n' + (b'# made by a test\n' if comment else b'') + b'%d %d\n%d\n' % (width, height, maxval)
    return head + pixels


def test_png_encoding_round_trips_and_is_deterministic():
    rgb = bytes(bytearray((x * 40 + y) % 256 for y in range(3) for x in range(4 * 3)))
    png = _vm_screenshot.encode_png(4, 3, rgb)
    assert _vm_screenshot.png_size(png) == (4, 3)
    width, height, rows = read_png(png)
    assert (width, height) == (4, 3) and b''.join(rows) == rgb
    assert _vm_screenshot.encode_png(4, 3, rgb) == png
    with pytest.raises(InvalidInput):
        _vm_screenshot.encode_png(4, 3, rgb[:-1])


def test_ppm_headers_with_comments_and_other_depths():
    pixels = bytes(bytearray([255, 0, 0, 0, 255, 0]))
    assert _vm_screenshot.parse_ppm(ppm(2, 1, pixels)) == (2, 1, pixels)
    assert _vm_screenshot.parse_ppm(ppm(2, 1, pixels, comment=False)) == (2, 1, pixels)
    low = bytes(bytearray([15, 0, 0, 0, 15, 5]))
    assert _vm_screenshot.parse_ppm(ppm(2, 1, low, maxval=15))[2] == bytes(bytearray([255, 0, 0, 0, 255, 85]))
    wide = struct.pack('>6H', 65535, 0, 0, 0, 32768, 65535)
    assert _vm_screenshot.parse_ppm(ppm(2, 1, wide, maxval=65535))[2] == bytes(bytearray([255, 0, 0, 0, 127, 255]))


@pytest.mark.parametrize('data, message', [
    (b'P3\n1 1\n255\n0 0 0\n', 'only binary P6'),
    (b'P6\n2 1\n255\n\x00\x00\x00', 'truncated'),
    (b'P6\n2', 'truncated PPM header'),
    (b'P6\nx 1\n255\n', 'bad PPM header'),
    (b'P6\n0 1\n255\n', 'bad PPM header'),
])
def test_bad_ppm(data, message):
    with pytest.raises(InvalidInput) as err:
        _vm_screenshot.parse_ppm(data)
    assert message in str(err.value)


def test_to_png_converts_ppm_and_passes_png_through():
    pixels = bytes(bytearray(range(2 * 2 * 3)))
    png, width, height, source = _vm_screenshot.to_png('image/x-portable-pixmap', ppm(2, 2, pixels))
    assert (width, height, source) == (2, 2, 'ppm')
    assert b''.join(read_png(png)[2]) == pixels
    again, w, h, source = _vm_screenshot.to_png('image/png', png)
    assert (again, w, h, source) == (png, 2, 2, 'png')
    with pytest.raises(VmcatError) as err:
        _vm_screenshot.to_png('image/jpeg', b'\xff\xd8\xff')
    assert "type 'image/jpeg'" in str(err.value)


# -- input planning -------------------------------------------------------------

def step(**kwargs):
    base = dict(x=None, y=None, relative=False, button=None, action=None)
    base.update(kwargs)
    return base


def events_of(planned):
    return [payload for kind, payload in planned.calls]


def test_absolute_moves_scale_pixels_to_qemu_axis_range():
    planned = _vm_input._mouse_step(0, step(x=360, y=0), lambda: (720, 400))
    assert planned.description == 'mouse move to 360,0'
    assert events_of(planned) == [[{'type': 'abs', 'data': {'axis': 'x', 'value': 16383}},
                                   {'type': 'abs', 'data': {'axis': 'y', 'value': 0}}]]
    corner = _vm_input._mouse_step(0, step(x=719, y=399), lambda: (720, 400))
    assert [e['data']['value'] for e in events_of(corner)[0]] == [719 * 32767 // 720, 399 * 32767 // 400]


def test_clicks_and_relative_moves():
    planned = _vm_input._mouse_step(1, step(x=5, y=-3, relative=True, button='left', action='double_click'),
                                    lambda: pytest.fail('relative moves need no screen size'))
    assert planned.description == 'mouse move by 5,-3, double click left'
    calls = events_of(planned)
    assert calls[0] == [{'type': 'rel', 'data': {'axis': 'x', 'value': 5}},
                        {'type': 'rel', 'data': {'axis': 'y', 'value': -3}}]
    assert [c[0]['data']['down'] for c in calls[1:]] == [True, False, True, False]
    wheel = _vm_input._mouse_step(0, step(button='wheel_down'), None)
    assert events_of(wheel) == [[{'type': 'btn', 'data': {'button': 'wheel-down', 'down': True}}],
                                [{'type': 'btn', 'data': {'button': 'wheel-down', 'down': False}}]]
    press = _vm_input._mouse_step(0, step(button='right', action='press'), None)
    assert events_of(press) == [[{'type': 'btn', 'data': {'button': 'right', 'down': True}}]]


@pytest.mark.parametrize('kwargs, message', [
    (dict(), 'mouse[0] does nothing'),
    (dict(action='click'), 'has action click but no button'),
    (dict(x=10), 'needs both x and y'),
    (dict(x=720, y=1), 'x 720 is off the screen, which is 720 pixels wide (0..719)'),
    (dict(x=1, y=-1), 'y -1 is off the screen, which is 400 pixels high'),
])
def test_bad_mouse_steps(kwargs, message):
    with pytest.raises(InvalidInput) as err:
        _vm_input._mouse_step(0, step(**kwargs), lambda: (720, 400))
    assert message in str(err.value)


# -- sending, with a fake VM -------------------------------------------------------

class FakeConn:
    uri = 'qemu:///fake'

    def __init__(self, dom):
        self.dom = dom
        self.virt = self

    def require_domain(self, name):
        return self.dom

    def translated(self, action, what, hint=None):
        import contextlib
        return contextlib.suppress()  # the fake raises nothing to translate

    def newStream(self, flags):
        return FakeStream(self.dom.image)


class FakeStream:
    def __init__(self, data):
        self.data = [data[i:i + 1000] for i in range(0, len(data), 1000)]
        self.finished = False

    def recv(self, size):
        return self.data.pop(0) if self.data else b''

    def finish(self):
        self.finished = True

    def abort(self):
        pass


class FakeDom:
    def __init__(self, state=1, tablet=True, image=None, mime='image/x-portable-pixmap'):
        self._state = state
        self.tablet = tablet
        self.image = image if image is not None else ppm(720, 400, b'\x10\x20\x30' * (720 * 400))
        self.mime = mime
        self.keys = []
        self.screenshots = 0

    def name(self):
        return 'web1'

    def state(self):
        return [self._state, 0]

    def isActive(self):
        return self._state in (1, 3)

    def XMLDesc(self, flags):
        inputs = "<input type='tablet' bus='usb'/>" if self.tablet else ''
        return "<domain><name>web1</name><devices>%s<input type='mouse' bus='ps2'/></devices></domain>" % inputs

    def sendKey(self, codeset, holdtime, codes, count, flags):
        assert codeset == 2 and count == len(codes)
        self.keys.append((holdtime, list(codes)))

    def screenshot(self, stream, screen, flags):
        self.screenshots += 1
        return self.mime


@pytest.fixture
def qmp_log(monkeypatch):
    sent = []

    def fake(conn, dom, command, arguments=None):
        sent.append((command, arguments))
        return {}
    monkeypatch.setattr(_qmp, 'monitor_command', fake)
    return sent


def input_params(**kwargs):
    params = dict(name='web1', keys=None, text=None, layout='us', mouse=None, screen=0, delay=20, hold_time=0)
    params.update(kwargs)
    return params


def test_keys_and_text_become_send_key_calls_with_delays(make_ctx):
    dom = FakeDom()
    pauses = []
    result = _vm_input.send_input(make_ctx(FakeConn(dom), input_params(keys=['ctrl-alt-del', 'f2'], hold_time=50)),
                                  sleep=pauses.append)
    assert dom.keys == [(50, [29, 56, 111]), (50, [60])]
    assert pauses == [0.02]
    assert result['changed'] is True and result['sent'] == dict(key_strokes=2, mouse_events=0)
    assert result['actions'] == ['key ctrl-alt-del', 'key f2']
    dom.keys = []
    typed = _vm_input.send_input(make_ctx(FakeConn(dom), input_params(text='Ab\n', delay=0)), sleep=pauses.append)
    assert [codes for hold, codes in dom.keys] == [[42, 30], [48], [28]]
    assert typed['actions'] == ['type 3 characters']  # the text itself is never returned
    assert pauses == [0.02]  # delay 0: no pauses


def test_check_mode_checks_everything_and_sends_nothing(make_ctx, qmp_log):
    dom = FakeDom()
    ctx = make_ctx(FakeConn(dom), input_params(mouse=[step(x=10, y=10, button='left')]), check_mode=True)
    result = _vm_input.send_input(ctx, sleep=lambda s: pytest.fail('nothing is sent in check mode'))
    assert result['changed'] is True
    assert result['sent'] == dict(key_strokes=0, mouse_events=0)
    assert result['planned'] == dict(key_strokes=0, mouse_events=4)
    assert qmp_log == [] and dom.keys == []
    with pytest.raises(InvalidInput):
        _vm_input.send_input(make_ctx(FakeConn(dom), input_params(text=u'\u00fc'), check_mode=True))


def test_mouse_goes_through_qmp_input_send_event(make_ctx, qmp_log):
    dom = FakeDom()
    result = _vm_input.send_input(make_ctx(FakeConn(dom), input_params(mouse=[
        step(x=100, y=200), step(button='left'), step(x=-5, y=0, relative=True)])), sleep=lambda s: None)
    assert [c for c, a in qmp_log] == ['input-send-event'] * 4
    assert qmp_log[0][1]['events'][0] == {'type': 'abs', 'data': {'axis': 'x', 'value': 100 * 32767 // 720}}
    assert qmp_log[3][1]['events'] == [{'type': 'rel', 'data': {'axis': 'x', 'value': -5}},
                                       {'type': 'rel', 'data': {'axis': 'y', 'value': 0}}]
    assert result['sent']['mouse_events'] == 6
    assert dom.screenshots == 1  # one screenshot for the screen size, however many steps


def test_bad_input_fails_before_anything_is_sent(make_ctx, qmp_log):
    dom = FakeDom(tablet=False)
    params = input_params(mouse=[step(x=1, y=1, relative=True), step(x=1, y=1)])
    with pytest.raises(InvalidInput) as err:
        _vm_input.send_input(make_ctx(FakeConn(dom), params), sleep=lambda s: None)
    assert "VM 'web1' has no tablet input device" in str(err.value)
    assert qmp_log == []  # the relative move before it was not sent either
    with pytest.raises(InvalidInput):
        _vm_input.send_input(make_ctx(FakeConn(dom), input_params(keys=['enter', 'ctrl-nope'])))
    assert dom.keys == []
    for bad, message in ((dict(keys=[]), 'keys is empty'), (dict(text=''), 'text is empty'),
                         (dict(mouse=[]), 'mouse is empty'), (dict(keys=['a'], delay=-1), 'must not be negative')):
        with pytest.raises(InvalidInput) as err:
            _vm_input.send_input(make_ctx(FakeConn(dom), input_params(**bad)))
        assert message in str(err.value)


@pytest.mark.parametrize('state, message', [
    (5, "VM 'web1' on qemu:///fake is not running (state shutoff)"),
    (3, 'is paused; resume it first'),
])
def test_input_needs_a_running_vm(make_ctx, state, message):
    with pytest.raises(VmcatError) as err:
        _vm_input.send_input(make_ctx(FakeConn(FakeDom(state=state)), input_params(keys=['a'])))
    assert message in str(err.value)


# -- screenshots -------------------------------------------------------------------

def shot_params(dest, **kwargs):
    params = dict(name='web1', dest=str(dest), screen=0)
    params.update(kwargs)
    return params


def test_ppm_screenshots_are_saved_as_png_once(make_ctx, tmp_path):
    dest = tmp_path / 'web1.png'
    dom = FakeDom()
    checked = _vm_screenshot.take_screenshot(make_ctx(FakeConn(dom), shot_params(dest), check_mode=True))
    assert checked.changed is True and not dest.exists()
    assert checked.before is None and checked.after['width'] == 720
    made = _vm_screenshot.take_screenshot(make_ctx(FakeConn(dom), shot_params(dest)))
    assert made.changed is True and made.extra['source_format'] == 'ppm'
    data = dest.read_bytes()
    assert made.after == dict(path=str(dest), size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                              width=720, height=400)
    width, height, rows = read_png(data)
    assert (width, height) == (720, 400) and rows[0][:3] == b'\x10\x20\x30'
    assert oct(os.stat(str(dest)).st_mode & 0o777) == oct(0o644)
    again = _vm_screenshot.take_screenshot(make_ctx(FakeConn(dom), shot_params(dest)))
    assert again.changed is False and again.before == again.after
    assert again.extra['actions'] == []


def test_a_changed_screen_replaces_the_file_keeping_its_mode(make_ctx, tmp_path):
    dest = tmp_path / 'web1.png'
    dest.write_bytes(b'old content')
    os.chmod(str(dest), 0o600)
    png = _vm_screenshot.encode_png(1, 1, b'\x00\x00\x00')
    result = _vm_screenshot.take_screenshot(make_ctx(FakeConn(FakeDom(image=png, mime='image/png')), shot_params(dest)))
    assert result.changed is True
    assert result.before['size'] == 11 and result.before['width'] is None
    assert dest.read_bytes() == png and os.stat(str(dest)).st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ['web1.png']  # no temporary file left


def test_screenshot_failures(make_ctx, tmp_path):
    conn = FakeConn(FakeDom())
    with pytest.raises(InvalidInput) as err:
        _vm_screenshot.take_screenshot(make_ctx(conn, shot_params(tmp_path)))
    assert 'is a directory' in str(err.value)
    with pytest.raises(InvalidInput) as err:
        _vm_screenshot.take_screenshot(make_ctx(conn, shot_params(tmp_path / 'missing' / 'x.png')))
    assert 'the directory of dest' in str(err.value)
    with pytest.raises(InvalidInput):
        _vm_screenshot.take_screenshot(make_ctx(conn, shot_params(tmp_path / 'x.png', screen=-1)))
    with pytest.raises(VmcatError) as err:
        _vm_screenshot.take_screenshot(make_ctx(FakeConn(FakeDom(state=5)), shot_params(tmp_path / 'x.png')))
    assert 'is not running; a screenshot needs a running or paused VM' in str(err.value)
    assert list(tmp_path.iterdir()) == []
