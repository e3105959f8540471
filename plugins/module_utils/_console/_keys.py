# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Key names, key combinations and keyboard layouts for sending input to a VM.

Keys are Linux input key codes (``KEY_*`` of linux/input-event-codes.h),
which libvirt takes with ``VIR_KEYCODE_SET_LINUX`` and translates for the
hypervisor.  libvirt presses every key code of one ``sendKey`` call
together and releases them together, so:

- a combination ("ctrl-alt-del") is ONE call with all its codes;
- a sequence (typing "hello") is one call per key stroke: in one call the
  second "l" of "hello" would be lost.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput

# libvirt refuses more codes in one virDomainSendKey call (VIR_DOMAIN_SEND_KEY_MAX_KEYS).
MAX_KEYS_PER_CALL = 16

# Linux key codes (linux/input-event-codes.h), by their name without "KEY_".
LINUX_KEYS = {
    'ESC': 1, '1': 2, '2': 3, '3': 4, '4': 5, '5': 6, '6': 7, '7': 8, '8': 9, '9': 10, '0': 11,
    'MINUS': 12, 'EQUAL': 13, 'BACKSPACE': 14, 'TAB': 15,
    'Q': 16, 'W': 17, 'E': 18, 'R': 19, 'T': 20, 'Y': 21, 'U': 22, 'I': 23, 'O': 24, 'P': 25,
    'LEFTBRACE': 26, 'RIGHTBRACE': 27, 'ENTER': 28, 'LEFTCTRL': 29,
    'A': 30, 'S': 31, 'D': 32, 'F': 33, 'G': 34, 'H': 35, 'J': 36, 'K': 37, 'L': 38,
    'SEMICOLON': 39, 'APOSTROPHE': 40, 'GRAVE': 41, 'LEFTSHIFT': 42, 'BACKSLASH': 43,
    'Z': 44, 'X': 45, 'C': 46, 'V': 47, 'B': 48, 'N': 49, 'M': 50,
    'COMMA': 51, 'DOT': 52, 'SLASH': 53, 'RIGHTSHIFT': 54, 'KPASTERISK': 55, 'LEFTALT': 56,
    'SPACE': 57, 'CAPSLOCK': 58,
    'F1': 59, 'F2': 60, 'F3': 61, 'F4': 62, 'F5': 63, 'F6': 64, 'F7': 65, 'F8': 66, 'F9': 67, 'F10': 68,
    'NUMLOCK': 69, 'SCROLLLOCK': 70,
    'KP7': 71, 'KP8': 72, 'KP9': 73, 'KPMINUS': 74, 'KP4': 75, 'KP5': 76, 'KP6': 77, 'KPPLUS': 78,
    'KP1': 79, 'KP2': 80, 'KP3': 81, 'KP0': 82, 'KPDOT': 83,
    '102ND': 86, 'F11': 87, 'F12': 88,
    'KPENTER': 96, 'RIGHTCTRL': 97, 'KPSLASH': 98, 'SYSRQ': 99, 'RIGHTALT': 100,
    'HOME': 102, 'UP': 103, 'PAGEUP': 104, 'LEFT': 105, 'RIGHT': 106, 'END': 107, 'DOWN': 108,
    'PAGEDOWN': 109, 'INSERT': 110, 'DELETE': 111,
    'MUTE': 113, 'VOLUMEDOWN': 114, 'VOLUMEUP': 115, 'POWER': 116, 'KPEQUAL': 117, 'PAUSE': 119,
    'KPCOMMA': 121, 'LEFTMETA': 125, 'RIGHTMETA': 126, 'COMPOSE': 127, 'MENU': 139,
    'SLEEP': 142, 'WAKEUP': 143,
    'F13': 183, 'F14': 184, 'F15': 185, 'F16': 186, 'F17': 187, 'F18': 188,
    'F19': 189, 'F20': 190, 'F21': 191, 'F22': 192, 'F23': 193, 'F24': 194,
}

# Friendly names (lower case) for the Linux names above.
ALIASES = {
    'esc': 'ESC', 'escape': 'ESC',
    'enter': 'ENTER', 'return': 'ENTER', 'ret': 'ENTER',
    'tab': 'TAB', 'space': 'SPACE', 'spc': 'SPACE', 'backspace': 'BACKSPACE', 'bs': 'BACKSPACE',
    'ctrl': 'LEFTCTRL', 'control': 'LEFTCTRL', 'lctrl': 'LEFTCTRL', 'rctrl': 'RIGHTCTRL',
    'alt': 'LEFTALT', 'lalt': 'LEFTALT', 'ralt': 'RIGHTALT', 'altgr': 'RIGHTALT',
    'shift': 'LEFTSHIFT', 'lshift': 'LEFTSHIFT', 'rshift': 'RIGHTSHIFT',
    'meta': 'LEFTMETA', 'super': 'LEFTMETA', 'win': 'LEFTMETA', 'windows': 'LEFTMETA', 'cmd': 'LEFTMETA',
    'lmeta': 'LEFTMETA', 'rmeta': 'RIGHTMETA', 'rsuper': 'RIGHTMETA', 'rwin': 'RIGHTMETA',
    'del': 'DELETE', 'ins': 'INSERT', 'pgup': 'PAGEUP', 'pgdn': 'PAGEDOWN',
    'caps': 'CAPSLOCK', 'print': 'SYSRQ', 'printscreen': 'SYSRQ', 'prtsc': 'SYSRQ', 'break': 'PAUSE',
    'bracketleft': 'LEFTBRACE', 'bracketright': 'RIGHTBRACE', 'quote': 'APOSTROPHE',
    'backquote': 'GRAVE', 'backtick': 'GRAVE', 'period': 'DOT', 'less': '102ND',
    'kpmultiply': 'KPASTERISK', 'kpdivide': 'KPSLASH', 'kpdecimal': 'KPDOT', 'wake': 'WAKEUP',
}

# Unshifted symbols that may be written as themselves in a combination ("ctrl-/").
# "-" and "+" separate keys: write "minus" and "shift-equal" for them.
SYMBOL_KEYS = {
    '=': 'EQUAL', '[': 'LEFTBRACE', ']': 'RIGHTBRACE', ';': 'SEMICOLON', "'": 'APOSTROPHE',
    '`': 'GRAVE', '\\': 'BACKSLASH', ',': 'COMMA', '.': 'DOT', '/': 'SLASH',
}

LAYOUTS = ('us',)

# US layout: character -> (Linux name, shift held).
_US_SHIFTED_DIGITS = ')!@#$%^&*('
_US_SYMBOLS = {
    '-': ('MINUS', False), '_': ('MINUS', True), '=': ('EQUAL', False), '+': ('EQUAL', True),
    '[': ('LEFTBRACE', False), '{': ('LEFTBRACE', True), ']': ('RIGHTBRACE', False), '}': ('RIGHTBRACE', True),
    '\\': ('BACKSLASH', False), '|': ('BACKSLASH', True), ';': ('SEMICOLON', False), ':': ('SEMICOLON', True),
    "'": ('APOSTROPHE', False), '"': ('APOSTROPHE', True), ',': ('COMMA', False), '<': ('COMMA', True),
    '.': ('DOT', False), '>': ('DOT', True), '/': ('SLASH', False), '?': ('SLASH', True),
    '`': ('GRAVE', False), '~': ('GRAVE', True), ' ': ('SPACE', False), '\n': ('ENTER', False),
    '\t': ('TAB', False),
}


def _us_layout():
    table = dict(_US_SYMBOLS)
    for letter in 'abcdefghijklmnopqrstuvwxyz':
        table[letter] = (letter.upper(), False)
        table[letter.upper()] = (letter.upper(), True)
    for index, shifted in enumerate(_US_SHIFTED_DIGITS):
        table[str(index)] = (str(index), False)
        table[shifted] = (str(index), True)
    return table


_LAYOUT_TABLES = {'us': _us_layout()}

_SEPARATOR = re.compile(r'\s*[-+]\s*')


def key_code(name):
    """The Linux key code for one key name; InvalidInput naming the accepted forms otherwise."""
    text = name.strip()
    if text in SYMBOL_KEYS:
        return LINUX_KEYS[SYMBOL_KEYS[text]]
    low = text.lower()
    if low.startswith('key_'):
        low = low[4:]
    linux = ALIASES.get(low, low.upper())
    if linux in LINUX_KEYS:
        return LINUX_KEYS[linux]
    raise InvalidInput(
        "unknown key '%s'; use a letter or digit, a name such as enter, esc, tab, space, backspace, delete, "
        "insert, home, end, pageup, pagedown, up, down, left, right, f1..f24, ctrl, alt, altgr, shift, meta, "
        "menu, capslock, minus, equal, kp0..kp9, kpenter, or a Linux name such as KEY_SYSRQ" % name)


def parse_combination(spec):
    """Key codes of one combination such as ``ctrl-alt-del``, ``ctrl+c`` or ``f2`` (pressed together)."""
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidInput("a key combination must be a non-empty string such as 'enter' or 'ctrl-alt-del'")
    parts = _SEPARATOR.split(spec.strip())
    if any(not part for part in parts):
        raise InvalidInput("key combination '%s' has an empty key name; keys are separated by '-' or '+', "
                           "so write 'minus' for the - key and 'shift-equal' for +" % spec)
    codes = [key_code(part) for part in parts]
    if len(set(codes)) != len(codes):
        raise InvalidInput("key combination '%s' names the same key twice" % spec)
    if len(codes) > MAX_KEYS_PER_CALL:
        raise InvalidInput("key combination '%s' has %d keys; libvirt presses at most %d keys together"
                           % (spec, len(codes), MAX_KEYS_PER_CALL))
    return codes


def text_strokes(text, layout='us'):
    """One list of key codes per character of ``text`` for a keyboard ``layout``.

    Upper-case letters and shifted symbols come with LEFTSHIFT in the same
    stroke; a newline is Enter and a tab is Tab.  A character the layout
    cannot type is InvalidInput naming it and its position, before anything
    is sent.
    """
    if layout not in _LAYOUT_TABLES:
        raise InvalidInput("keyboard layout '%s' is not supported; supported: %s" % (layout, ', '.join(LAYOUTS)))
    table = _LAYOUT_TABLES[layout]
    shift = LINUX_KEYS['LEFTSHIFT']
    strokes = []
    for position, char in enumerate(text):
        if char not in table:
            raise InvalidInput(
                'character %r at position %d of the text cannot be typed with the %s keyboard layout; '
                'it types ASCII letters, digits, punctuation, space, newline (Enter) and tab; '
                'send other keys with the keys option' % (char, position, layout))
        name, shifted = table[char]
        code = LINUX_KEYS[name]
        strokes.append([shift, code] if shifted else [code])
    return strokes
