#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: vm_input
short_description: Send keys, text and mouse events to a VM's console
version_added: 0.1.0
description:
  - Presses keys and key combinations, types text, and moves and clicks the mouse on a running VM, as a
    person at its graphical console would. Useful for firmware setup screens, boot loaders, installers and
    login prompts before the guest has a network or an agent.
  - Give one of O(keys), O(text) or O(mouse) per task. Use several tasks for a sequence of different kinds.
  - Everything is checked before anything is sent. A bad key name, a character that cannot be typed, a stopped
    or paused VM, an absolute position without a tablet device or off the screen all fail the task with nothing
    sent.
  - Keys go through libvirt's C(virDomainSendKey) as Linux key codes (C(VIR_KEYCODE_SET_LINUX)); libvirt
    presses all keys of one call together, so each combination is one call and each typed character is one call.
  - libvirt has no mouse API. Mouse events are QMP C(input-send-event) commands sent through libvirt's monitor
    passthrough, which marks the domain as tainted (C(custom-monitor)) in libvirt's log; see
    M(vmcat.libvirt.qmp). Input events change nothing libvirt tracks.
  - Sending input is an action, so the task always reports C(changed=true). In check mode nothing is sent,
    the task still checks everything and reports C(changed=true).
extends_documentation_fragment:
  - vmcat.libvirt.connection
attributes:
  check_mode:
    description: Checks the input and the VM and sends nothing; reports C(changed=true) like a real run.
    support: full
  diff_mode:
    description: Input has no before and after, so there is no diff.
    support: none
options:
  name:
    description: Name of the VM. It must be running (not paused).
    type: str
    required: true
  keys:
    description:
      - Keys to press, in order. Each item is one key (V(enter), V(f2), V(esc), V(a)) or a combination whose keys
        are pressed together, written with C(-) or C(+) between the keys (V(ctrl-alt-del), V(ctrl+c),
        V(alt-f4), V(shift-tab)).
      - 'Key names: letters, digits, V(enter), V(esc), V(tab), V(space), V(backspace), V(delete), V(insert),
        V(home), V(end), V(pageup), V(pagedown), V(up), V(down), V(left), V(right), V(f1) to V(f24), V(ctrl),
        V(alt), V(altgr), V(shift), V(meta) (also V(super), V(win)), V(menu), V(capslock), V(numlock),
        V(scrolllock), V(print) (SysRq), V(pause), V(minus), V(equal), V(comma), V(dot), V(slash),
        V(semicolon), V(apostrophe), V(grave), V(backslash), V(kp0) to V(kp9), V(kpenter), V(kpplus),
        V(kpminus), V(power), and any Linux name such as V(KEY_RIGHTCTRL) or V(KEY_102ND).'
      - The keys C(-) and C(+) separate keys; write V(minus) and V(shift-equal) for them.
      - Keys are given as key positions, not characters. Which character a key produces depends on the guest's
        keyboard layout.
    type: list
    elements: str
  text:
    description:
      - Text to type, one key stroke per character, with Shift for upper case letters and shifted symbols.
        A newline presses Enter and a tab presses Tab.
      - Only characters that O(layout) can type are accepted (for V(us), printable ASCII, newline and tab); any
        other character fails the task before anything is sent.
      - The text is never returned. Set C(no_log) on the task when it is a secret, such as a password typed at a
        login prompt.
    type: str
  layout:
    description:
      - The keyboard layout the guest uses, which decides the keys that type each character of O(text).
      - Only V(us) (US QWERTY) is supported for now.
    type: str
    choices: [us]
    default: us
  mouse:
    description:
      - Mouse steps, in order. Each step moves the pointer, uses a button, or moves and then uses a button.
      - Absolute positions are screen pixels from the top left corner, scaled to QEMU's pointer range with the
        current size of O(screen) (read from a screenshot). They need a tablet device in the VM
        (C(<input type='tablet' bus='usb'/>) or C(bus='virtio')); a VM without one fails with a clear message.
      - Relative moves go to the relative pointing device (the PS/2 or virtio mouse) and move by an offset; the
        guest may apply pointer acceleration.
    type: list
    elements: dict
    suboptions:
      x:
        description: Horizontal position in pixels, or the horizontal offset with O(mouse[].relative=true).
        type: int
      y:
        description: Vertical position in pixels, or the vertical offset with O(mouse[].relative=true).
        type: int
      relative:
        description: Move by an offset instead of to a position.
        type: bool
        default: false
      button:
        description: Button to use after the move (if any). V(wheel_up) and V(wheel_down) scroll one step per click.
        type: str
        choices: [left, middle, right, wheel_up, wheel_down, side, extra]
      action:
        description:
          - What to do with O(mouse[].button). V(press) and V(release) allow dragging over several steps.
          - Defaults to V(click) when O(mouse[].button) is set.
        type: str
        choices: [click, double_click, press, release]
  screen:
    description: The VM's screen (video head) whose size scales absolute mouse positions.
    type: int
    default: 0
  delay:
    description:
      - Milliseconds to wait between two events sent (key strokes, combinations and mouse events).
      - QEMU queues key strokes in order, so a small value is enough for most guests; raise it for firmware and
        boot loaders that drop keys typed fast.
    type: int
    default: 20
  hold_time:
    description: Milliseconds each key (or combination) is held down. V(0) uses the hypervisor's default.
    type: int
    default: 0
  report_events:
    description:
      - Also return RV(input_events), the Linux input events the steps cause in the guest, to compare with what the
        guest itself read (the C(playbooks/ocv_input.yml) scenario of this collection does).
      - Typed text can be read back from those events, so leave this off for passwords and other secrets.
    type: bool
    default: false
notes:
  - Input reaches the console the guest shows on its first graphics device and keyboard, whether or not anybody
    watches it. It does not go to a serial console.
  - The guest receives queued key strokes a little after the task returns.
seealso:
  - module: vmcat.libvirt.vm_screenshot
  - module: vmcat.libvirt.qmp
'''

EXAMPLES = r'''
- name: Reboot from the console
  vmcat.libvirt.vm_input:
    name: web1
    keys: [ctrl-alt-del]

- name: Enter the firmware setup while the VM boots
  vmcat.libvirt.vm_input:
    name: web1
    keys: [f2, f2, f2]
    delay: 300

- name: Log in on the console
  vmcat.libvirt.vm_input:
    name: web1
    text: "root\n"

- name: Type the password without logging it
  vmcat.libvirt.vm_input:
    name: web1
    text: "{{ console_password }}\n"
  no_log: true

- name: Click a button at 400,300, then scroll down twice
  vmcat.libvirt.vm_input:
    name: desktop1
    mouse:
      - x: 400
        y: 300
        button: left
      - button: wheel_down
      - button: wheel_down

- name: Drag from one place to another
  vmcat.libvirt.vm_input:
    name: desktop1
    mouse:
      - {x: 100, y: 100, button: left, action: press}
      - {x: 300, y: 200}
      - {button: left, action: release}
'''

RETURN = r'''
vm:
  description: Name of the VM.
  returned: always
  type: str
  sample: web1
sent:
  description: What was sent. All zero in check mode.
  returned: always
  type: dict
  contains:
    key_strokes:
      description: C(sendKey) calls made (one per combination or typed character).
      type: int
      sample: 5
    mouse_events:
      description: Mouse events (axis moves and button changes) sent.
      type: int
      sample: 4
  sample: {key_strokes: 5, mouse_events: 0}
planned:
  description: What the task sends, or would send in check mode; same keys as RV(sent).
  returned: always
  type: dict
  sample: {key_strokes: 5, mouse_events: 0}
input_events:
  description:
    - With O(report_events=true), the Linux input events (C(linux/input-event-codes.h)) that the steps make a Linux
      guest's evdev devices (C(/dev/input/event*)) report, in order, each as C([type, code, value]); in check mode
      the events the task would cause.
    - A key combination presses its keys in order and releases them in reverse order (C(EV_KEY)=1, value 1 and 0).
      Absolute moves are C(EV_ABS)=3 on axis 0 (x) and 1 (y) with the scaled value (0..32767) the tablet reports;
      relative moves C(EV_REL)=2 with the offset; buttons C(EV_KEY) with C(BTN_LEFT)=272, C(BTN_RIGHT)=273,
      C(BTN_MIDDLE)=274, C(BTN_SIDE)=275, C(BTN_EXTRA)=276; a wheel press is one notch of C(REL_WHEEL)=8 (1 up, -1
      down) and its release nothing.
    - Like a Linux guest, the list leaves out events that change nothing; a relative move of 0, and an absolute
      position or a key state the same as the last one of this task. (An absolute move to where the pointer
      already was before the task is listed, but the guest does not report it.)
    - The synchronisation and scan-code events a guest adds (C(EV_SYN), C(EV_MSC)) and key repeats (value 2) are
      not listed; which device reports an event (keyboard, tablet or mouse) depends on the guest.
  returned: when O(report_events=true)
  type: list
  elements: list
  sample: [[1, 42, 1], [1, 30, 1], [1, 30, 0], [1, 42, 0], [3, 0, 4551], [3, 1, 4095], [1, 272, 1], [1, 272, 0]]
actions:
  description: The steps, in order. Typed text is shown by its length only.
  returned: always
  type: list
  elements: str
  sample: [type 5 characters]
'''

# First of ours: importing it installs the code cache (docs/architecture.md).
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _zip_imports  # pylint: disable=unused-import
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module import LibvirtModule
from ansible_collections.vmcat.libvirt.plugins.module_utils._console._vm_input import BUTTON_ACTIONS, BUTTONS, send_input
from ansible_collections.vmcat.libvirt.plugins.module_utils._console._keys import LAYOUTS


def main():
    module = LibvirtModule(
        supports_check_mode=True,
        argument_spec=dict(
            name=dict(type='str', required=True),
            keys=dict(type='list', elements='str', no_log=False),
            text=dict(type='str'),
            layout=dict(type='str', choices=list(LAYOUTS), default='us'),
            mouse=dict(type='list', elements='dict', options=dict(
                x=dict(type='int'),
                y=dict(type='int'),
                relative=dict(type='bool', default=False),
                button=dict(type='str', choices=list(BUTTONS)),
                action=dict(type='str', choices=list(BUTTON_ACTIONS)),
            )),
            screen=dict(type='int', default=0),
            delay=dict(type='int', default=20),
            hold_time=dict(type='int', default=0),
            report_events=dict(type='bool', default=False),
        ),
        mutually_exclusive=[('keys', 'text', 'mouse')],
        required_one_of=[('keys', 'text', 'mouse')],
    )
    module.run_action(send_input)


if __name__ == '__main__':
    main()
