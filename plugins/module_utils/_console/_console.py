# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A VM's console: keyboard and mouse input, and screenshots.

Input (vm_input):

- keys go through ``virDomainSendKey`` with Linux key codes: one call per
  combination (its keys pressed together), one call per typed character;
- the mouse has no libvirt API: moves and buttons are QMP
  ``input-send-event`` commands sent through libvirt's monitor passthrough
  (see _qmp.py; this taints the domain).  Absolute moves need a tablet
  (``<input type='tablet'>``) and are given in screen pixels, scaled to
  QEMU's 0..32767 axis range with the current screen size.

Everything is planned and checked first (key names, typeable characters,
VM running, tablet present, coordinates on the screen), then sent, each
step behind the one check-mode guard.

Screenshots (vm_screenshot): ``virDomainScreenshot`` streams the screen as
PNG (QEMU 7.1+) or PPM (older QEMU); PPM is converted to PNG here in pure
Python (zlib + struct).  The file is replaced only when its bytes differ.

Private to vmcat.libvirt: may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import struct
import time
import zlib

from ansible_collections.vmcat.libvirt.plugins.module_utils._console import _keys
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _qmp
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput, VmcatError
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._local_files import write_atomically
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module import Outcome

KEYCODE_SET_LINUX = 2  # VIR_KEYCODE_SET_LINUX
ABS_MAX = 0x7fff  # QEMU's absolute axis range is 0..32767
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
_CHUNK = 256 * 1024

BUTTONS = {
    'left': 'left', 'middle': 'middle', 'right': 'right', 'wheel_up': 'wheel-up',
    'wheel_down': 'wheel-down', 'side': 'side', 'extra': 'extra',
}
BUTTON_ACTIONS = ('click', 'double_click', 'press', 'release')


# -- images -------------------------------------------------------------------

def png_size(data):
    """(width, height) from a PNG's IHDR chunk; InvalidInput when it is not a PNG."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b'IHDR':
        raise InvalidInput('not a PNG image')
    return struct.unpack('>II', data[16:24])


def _ppm_tokens(data, count):
    """The first ``count`` header tokens of a PPM and the offset of the pixel data."""
    tokens, pos = [], 0
    while len(tokens) < count:
        while pos < len(data) and data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b'#':
            while pos < len(data) and data[pos:pos + 1] not in (b'\n', b'\r'):
                pos += 1
            continue
        start = pos
        while pos < len(data) and not data[pos:pos + 1].isspace() and data[pos:pos + 1] != b'#':
            pos += 1
        if start == pos:
            raise InvalidInput('truncated PPM header')
        tokens.append(data[start:pos])
    return tokens, pos + 1  # one whitespace byte ends the header


def parse_ppm(data):
    """(width, height, rgb_bytes) of a binary PPM (P6) image with 8 or 16 bits per sample."""
    tokens, offset = _ppm_tokens(data, 4)
    if tokens[0] != b'P6':
        raise InvalidInput('unsupported PPM variant %r (only binary P6 is read)' % tokens[0].decode('ascii', 'replace'))
    try:
        width, height, maxval = (int(t) for t in tokens[1:])
    except ValueError:
        raise InvalidInput('bad PPM header')
    if width <= 0 or height <= 0 or not 0 < maxval < 65536:
        raise InvalidInput('bad PPM header: %dx%d, maxval %d' % (width, height, maxval))
    samples = width * height * 3
    if maxval < 256:
        pixels = data[offset:offset + samples]
        if len(pixels) != samples:
            raise InvalidInput('PPM pixel data is truncated (%d of %d bytes)' % (len(pixels), samples))
        if maxval != 255:
            pixels = bytes(bytearray(v * 255 // maxval for v in bytearray(pixels)))
    else:
        wide = data[offset:offset + 2 * samples]
        if len(wide) != 2 * samples:
            raise InvalidInput('PPM pixel data is truncated (%d of %d bytes)' % (len(wide), 2 * samples))
        values = struct.unpack('>%dH' % samples, wide)
        pixels = bytes(bytearray(v * 255 // maxval for v in values))
    return width, height, pixels


def _png_chunk(kind, body):
    return struct.pack('>I', len(body)) + kind + body + struct.pack('>I', zlib.crc32(kind + body) & 0xffffffff)


def encode_png(width, height, rgb):
    """A PNG (8-bit RGB, no interlace, filter None on every row) of raw RGB bytes; deterministic."""
    stride = width * 3
    if len(rgb) != stride * height:
        raise InvalidInput('pixel data has %d bytes, a %dx%d RGB image needs %d'
                           % (len(rgb), width, height, stride * height))
    raw = b''.join(b'\x00' + rgb[row * stride:(row + 1) * stride] for row in range(height))
    header = struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)
    return (PNG_SIGNATURE + _png_chunk(b'IHDR', header) + _png_chunk(b'IDAT', zlib.compress(raw, 6))
            + _png_chunk(b'IEND', b''))


def to_png(mime, data):
    """(png_bytes, width, height, source_format) for what libvirt's screenshot gave."""
    kind = (mime or '').split(';')[0].strip().lower()
    if kind == 'image/png' or data.startswith(PNG_SIGNATURE):
        width, height = png_size(data)
        return data, width, height, 'png'
    if kind in ('image/x-portable-pixmap', 'image/x-portable-anymap') or data[:2] == b'P6':
        width, height, rgb = parse_ppm(data)
        return encode_png(width, height, rgb), width, height, 'ppm'
    raise VmcatError("the hypervisor sent a screenshot of type '%s', which this module cannot convert to PNG "
                     "(it reads PNG and PPM)" % mime)


def capture(conn, dom, screen=0):
    """(mime, bytes) of the VM's screen ``screen`` through a libvirt stream."""
    what = "VM '%s'" % dom.name()
    with conn.translated('take a screenshot of', what, 'the VM needs a graphics device and a video card'):
        stream = conn.virt.newStream(0)
        try:
            mime = dom.screenshot(stream, screen, 0)
            chunks = []
            while True:
                chunk = stream.recv(_CHUNK)
                if not chunk:
                    break
                chunks.append(chunk)
            stream.finish()
        except Exception:
            try:
                stream.abort()
            except Exception:  # the stream may be finished already; the first error is what counts
                pass
            raise
    return mime, b''.join(chunks)


def screen_size(conn, dom, screen=0):
    """(width, height) of the VM's screen in pixels, from a screenshot's header."""
    mime, data = capture(conn, dom, screen)
    if data.startswith(PNG_SIGNATURE):
        return png_size(data)
    width, height, dummy = parse_ppm(data)
    return width, height


# -- screenshots --------------------------------------------------------------

def _file_view(path):
    """What is at ``path`` now: None when nothing, else path, size, sha256 (and width/height of a PNG)."""
    if not os.path.exists(path):
        return None
    with open(path, 'rb') as f:
        data = f.read()
    view = dict(path=path, size=len(data), sha256=hashlib.sha256(data).hexdigest())
    try:
        view['width'], view['height'] = png_size(data)
    except InvalidInput:
        view['width'] = view['height'] = None
    return view


def check_dest(dest):
    if os.path.isdir(dest):
        raise InvalidInput("dest '%s' is a directory; give the path of the PNG file to write, such as %s"
                           % (dest, os.path.join(dest, 'screen.png')))
    directory = os.path.dirname(os.path.abspath(dest))
    if not os.path.isdir(directory):
        raise InvalidInput("the directory of dest '%s' does not exist on the host that runs the module" % dest)
    if os.path.exists(dest) and not os.path.isfile(dest):
        raise InvalidInput("dest '%s' exists and is not a regular file" % dest)


def take_screenshot(ctx):
    """vm_screenshot: save the screen as PNG at ``dest`` when its bytes differ from the file there."""
    p = ctx.params
    dest = p['dest']
    if p['screen'] < 0:
        raise InvalidInput('screen must be 0 or more (got %d)' % p['screen'])
    check_dest(dest)
    dom = ctx.conn.require_domain(p['name'])
    if not dom.isActive():
        raise VmcatError("VM '%s' on %s is not running; a screenshot needs a running or paused VM"
                         % (dom.name(), ctx.conn.uri), state='shutoff')
    mime, data = capture(ctx.conn, dom, p['screen'])
    png, width, height, source = to_png(mime, data)
    before = _file_view(dest)
    digest = hashlib.sha256(png).hexdigest()
    after = dict(path=dest, size=len(png), sha256=digest, width=width, height=height)
    changed = before is None or before['sha256'] != digest
    if changed:
        ctx.act('write %s' % dest, write_atomically, dest, png)
    else:
        after = before
    return Outcome(changed, before, after, vm=dom.name(), screen=p['screen'], source_format=source,
                   actions=ctx.actions)


# -- input ----------------------------------------------------------------------

class _Step:
    """One planned input step: a description and the calls that send it."""

    def __init__(self, description, calls):
        self.description = description
        self.calls = calls  # list of ('key', codes) or ('mouse', events)


def _key_steps(keys):
    steps = []
    for combo in keys:
        codes = _keys.parse_combination(combo)
        steps.append(_Step('key %s' % combo.strip(), [('key', codes)]))
    return steps


def _text_steps(text, layout):
    if text == '':
        raise InvalidInput('text is empty; give the text to type')
    strokes = _keys.text_strokes(text, layout)
    return [_Step('type %d character%s' % (len(text), '' if len(text) == 1 else 's'),
                  [('key', codes) for codes in strokes])]


def _btn(button, down):
    return [{'type': 'btn', 'data': {'button': button, 'down': down}}]


def _axis_events(kind, x, y):
    events = []
    for axis, value in (('x', x), ('y', y)):
        if value is not None:
            events.append({'type': kind, 'data': {'axis': axis, 'value': value}})
    return events


def _scale(value, size, axis):
    if not 0 <= value < size:
        raise InvalidInput('%s %d is off the screen, which is %d pixels %s (0..%d)'
                           % (axis, value, size, 'wide' if axis == 'x' else 'high', size - 1))
    return value * ABS_MAX // size  # as QEMU scales its own VNC and SDL pointer


def _mouse_step(index, step, size_of):
    x, y, relative = step.get('x'), step.get('y'), step.get('relative')
    button, action = step.get('button'), step.get('action')
    label = 'mouse[%d]' % index
    if action and not button:
        raise InvalidInput('%s has action %s but no button' % (label, action))
    if x is None and y is None and button is None:
        raise InvalidInput('%s does nothing: give x and y to move, a button to press, or both' % label)
    calls, parts = [], []
    if x is not None or y is not None:
        if relative:
            calls.append(('mouse', _axis_events('rel', x or 0, y or 0)))
            parts.append('move by %d,%d' % (x or 0, y or 0))
        else:
            if x is None or y is None:
                raise InvalidInput('%s moves to an absolute position and needs both x and y '
                                   '(or relative: true to move by an offset)' % label)
            width, height = size_of()
            calls.append(('mouse', _axis_events('abs', _scale(x, width, 'x'), _scale(y, height, 'y'))))
            parts.append('move to %d,%d' % (x, y))
    if button:
        qmp_button = BUTTONS[button]
        action = action or 'click'
        presses = {'click': [True, False], 'double_click': [True, False, True, False],
                   'press': [True], 'release': [False]}[action]
        calls.extend(('mouse', _btn(qmp_button, down)) for down in presses)
        parts.append('%s %s' % (action.replace('_', ' '), button))
    return _Step('mouse %s' % ', '.join(parts), calls)


def _has_tablet(conn, dom):
    with conn.translated('read the definition of', "VM '%s'" % dom.name()):
        root = _xml.parse(dom.XMLDesc(0))
    return root.find("./devices/input[@type='tablet']") is not None


def plan_input(ctx, dom):
    """The steps of a vm_input task, all checked before anything is sent."""
    p = ctx.params
    if p['delay'] < 0 or p['hold_time'] < 0:
        raise InvalidInput('delay and hold_time must not be negative')
    if p['keys'] is not None:
        if not p['keys']:
            raise InvalidInput('keys is empty; give at least one key or combination such as enter or ctrl-alt-del')
        return _key_steps(p['keys'])
    if p['text'] is not None:
        return _text_steps(p['text'], p['layout'])
    if not p['mouse']:
        raise InvalidInput('mouse is empty; give at least one mouse step')
    size = []

    def size_of():
        if not size:
            if not _has_tablet(ctx.conn, dom):
                raise InvalidInput(
                    "VM '%s' has no tablet input device, so absolute mouse positions cannot be sent; add "
                    "<input type='tablet' bus='usb'/> (or bus='virtio') to the VM, or move with relative: true"
                    % dom.name())
            size.extend(screen_size(ctx.conn, dom, p['screen']))
        return size
    steps = [_mouse_step(i, step, size_of) for i, step in enumerate(p['mouse'])]
    return steps


class _Sender:
    """Sends planned calls with ``delay`` ms between them."""

    def __init__(self, conn, dom, hold_time, delay, sleep=time.sleep):
        self.conn = conn
        self.dom = dom
        self.hold_time = hold_time
        self.delay = delay
        self.sleep = sleep
        self.first = True
        self.counts = dict(key_strokes=0, mouse_events=0)

    def _pause(self):
        if not self.first and self.delay:
            self.sleep(self.delay / 1000.0)
        self.first = False

    def send(self, calls):
        for kind, payload in calls:
            self._pause()
            if kind == 'key':
                with self.conn.translated('send keys to', "VM '%s'" % self.dom.name()):
                    self.dom.sendKey(KEYCODE_SET_LINUX, self.hold_time, payload, len(payload), 0)
                self.counts['key_strokes'] += 1
            else:
                _qmp.monitor_command(self.conn, self.dom, 'input-send-event', {'events': payload})
                self.counts['mouse_events'] += len(payload)


def send_input(ctx, sleep=time.sleep):
    """vm_input: plan and check every step, then send them in order (nothing in check mode)."""
    p = ctx.params
    dom = ctx.conn.require_domain(p['name'])
    _qmp.require_monitor(ctx.conn, dom, allow_paused=False)
    steps = plan_input(ctx, dom)
    sender = _Sender(ctx.conn, dom, p['hold_time'], p['delay'], sleep)
    for step in steps:
        ctx.act(step.description, sender.send, step.calls)
    planned = dict(key_strokes=sum(1 for s in steps for c in s.calls if c[0] == 'key'),
                   mouse_events=sum(len(c[1]) for s in steps for c in s.calls if c[0] == 'mouse'))
    return dict(changed=True, vm=dom.name(), sent=sender.counts, planned=planned, actions=ctx.actions)
