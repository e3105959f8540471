# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vm_input: keyboard and mouse input to a VM's console.

- keys go through ``virDomainSendKey`` with Linux key codes: one call per
  combination (its keys pressed together), one call per typed character;
- the mouse has no libvirt API: moves and buttons are QMP
  ``input-send-event`` commands sent through libvirt's monitor passthrough
  (see _core/_qmp.py; this taints the domain).  Absolute moves need a tablet
  (``<input type='tablet'>``) and are given in screen pixels, scaled to
  QEMU's 0..32767 axis range with the current screen size.

With ``report_events`` the task also returns the Linux input events
(``linux/input-event-codes.h``) the steps make a guest's evdev devices
report, so that a playbook can compare them with what the guest read.

Everything is planned and checked first (key names, typeable characters,
VM running, tablet present, coordinates on the screen), then sent, each
step behind the one check-mode guard.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.vmcat.libvirt.plugins.module_utils._console import _keys
from ansible_collections.vmcat.libvirt.plugins.module_utils._console._screen import screen_size
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _qmp
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput

KEYCODE_SET_LINUX = 2  # VIR_KEYCODE_SET_LINUX
ABS_MAX = 0x7fff  # QEMU's absolute axis range is 0..32767

BUTTONS = {
    'left': 'left', 'middle': 'middle', 'right': 'right', 'wheel_up': 'wheel-up',
    'wheel_down': 'wheel-down', 'side': 'side', 'extra': 'extra',
}
BUTTON_ACTIONS = ('click', 'double_click', 'press', 'release')

# Linux input events as [type, code, value]: EV_KEY, EV_REL and EV_ABS, the axis codes, the button codes
# (BTN_LEFT ...) and the wheel (REL_WHEEL, one notch a press, nothing on release).
EV_KEY, EV_REL, EV_ABS = 1, 2, 3
AXIS_CODES = {'x': 0, 'y': 1}
BUTTON_CODES = {'left': 0x110, 'right': 0x111, 'middle': 0x112, 'side': 0x113, 'extra': 0x114}
WHEEL = {'wheel-up': 1, 'wheel-down': -1}
REL_WHEEL = 8


# -- images -------------------------------------------------------------------


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
                    "VM '%s' has no tablet input device, so absolute mouse positions cannot be sent; give the "
                    "VM one (vmcat.libvirt.vm with inputs: [{type: tablet}], or <input type='tablet' bus='usb'/> in "
                    "its XML; it takes effect at the next start), or move with relative: true"
                    % dom.name())
            size.extend(screen_size(ctx.conn, dom, p['screen']))
        return size
    steps = [_mouse_step(i, step, size_of) for i, step in enumerate(p['mouse'])]
    return steps


def linux_events(calls):
    """The Linux input events a guest sees for planned calls.

    A combination presses its keys in order and releases them in reverse order (as QEMU's send-key does). Like
    the guest's input core, events that change nothing are left out: a relative move of 0, an absolute position
    or a key state the same as the last one this task sent (what the guest had before the task is not known).
    """
    out, last = [], {}

    def add(kind, code, value):
        if kind == EV_REL and not value or kind != EV_REL and last.get((kind, code)) == value:
            return
        if kind != EV_REL:
            last[(kind, code)] = value
        out.append([kind, code, value])

    for kind, payload in calls:
        if kind == 'key':
            for code in payload:
                add(EV_KEY, code, 1)
            for code in reversed(payload):
                add(EV_KEY, code, 0)
            continue
        for event in payload:
            data = event['data']
            if event['type'] in ('abs', 'rel'):
                add(EV_ABS if event['type'] == 'abs' else EV_REL, AXIS_CODES[data['axis']], data['value'])
            elif data['button'] in WHEEL:
                if data['down']:
                    add(EV_REL, REL_WHEEL, WHEEL[data['button']])
            else:
                add(EV_KEY, BUTTON_CODES[data['button']], int(data['down']))
    return out


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
    result = dict(changed=True, vm=dom.name(), sent=sender.counts, planned=planned, actions=ctx.actions)
    if p.get('report_events'):
        result['input_events'] = linux_events([call for step in steps for call in step.calls])
    return result
