# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._console import _keys
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput

HEADER = '/usr/include/linux/input-event-codes.h'


def test_every_code_matches_the_kernel_header_or_the_known_values():
    known = {'ESC': 1, 'ENTER': 28, 'LEFTCTRL': 29, 'LEFTSHIFT': 42, 'LEFTALT': 56, 'F1': 59, 'F12': 88,
             'DELETE': 111, 'SYSRQ': 99, 'LEFTMETA': 125, 'F24': 194}
    for name, code in known.items():
        assert _keys.LINUX_KEYS[name] == code
    if os.path.exists(HEADER):  # Debian's linux-libc-dev: check the whole table
        with open(HEADER) as f:
            header = dict((m.group(1), int(m.group(2), 0))
                          for m in re.finditer(r'#define KEY_(\w+)\s+(0x[0-9a-f]+|\d+)', f.read()))
        wrong = dict((n, (c, header.get(n))) for n, c in _keys.LINUX_KEYS.items() if header.get(n) != c)
        assert wrong == {}
    assert len(set(_keys.LINUX_KEYS.values())) == len(_keys.LINUX_KEYS)
    assert all(alias_target in _keys.LINUX_KEYS for alias_target in _keys.ALIASES.values())


@pytest.mark.parametrize('name, code', [
    ('a', 30), ('A', 30), ('1', 2), ('0', 11), ('enter', 28), ('Return', 28), ('esc', 1), ('f2', 60),
    ('F11', 87), ('ctrl', 29), ('rctrl', 97), ('altgr', 100), ('del', 111), ('KEY_SYSRQ', 99),
    ('key_102nd', 86), ('/', 53), ('=', 13), ('minus', 12), ('super', 125), ('kpenter', 96),
])
def test_key_names(name, code):
    assert _keys.key_code(name) == code


def test_unknown_key_names_the_forms_accepted():
    with pytest.raises(InvalidInput) as err:
        _keys.key_code('hyper')
    assert "unknown key 'hyper'" in str(err.value) and 'f1..f24' in str(err.value)


def test_combinations_press_together():
    assert _keys.parse_combination('ctrl-alt-del') == [29, 56, 111]
    assert _keys.parse_combination('Ctrl + Alt + Delete') == [29, 56, 111]
    assert _keys.parse_combination(' f2 ') == [60]
    assert _keys.parse_combination('shift-equal') == [42, 13]
    assert _keys.parse_combination('ctrl-/') == [29, 53]


@pytest.mark.parametrize('spec, message', [
    ('', 'non-empty string'),
    ('ctrl--', "write 'minus' for the - key"),
    ('ctrl-+', 'empty key name'),
    ('ctrl-ctrl', 'names the same key twice'),
    ('ctrl-bogus', "unknown key 'bogus'"),
    ('-'.join('abcdefghijklmnopq'), 'at most 16 keys'),
])
def test_bad_combinations(spec, message):
    with pytest.raises(InvalidInput) as err:
        _keys.parse_combination(spec)
    assert message in str(err.value)


def test_text_is_one_stroke_per_character_with_shift():
    shift = 42
    assert _keys.text_strokes('Hi!\n') == [[shift, 35], [23], [shift, 2], [28]]
    assert _keys.text_strokes('ll') == [[38], [38]]  # the same key twice: two strokes
    assert _keys.text_strokes('a_b\t') == [[30], [shift, 12], [48], [15]]
    assert _keys.text_strokes('~`|\\') == [[shift, 41], [41], [shift, 43], [43]]


def test_every_printable_ascii_character_can_be_typed():
    printable = ''.join(chr(c) for c in range(32, 127))
    strokes = _keys.text_strokes(printable)
    assert len(strokes) == len(printable)
    assert sum(1 for s in strokes if s[0] == 42 and len(s) == 2) == 26 + 21  # capitals and shifted symbols


@pytest.mark.parametrize('text, shown, position', [
    (u'caf\u00e9', u"'\u00e9'", 3),
    ('a\rb', r"'\r'", 1),
    ('\x1b', r"'\x1b'", 0),
])
def test_untypeable_characters_are_refused_with_their_position(text, shown, position):
    with pytest.raises(InvalidInput) as err:
        _keys.text_strokes(text)
    assert shown in str(err.value)
    assert 'at position %d' % position in str(err.value)
    assert 'us keyboard layout' in str(err.value)


def test_only_the_us_layout_exists():
    with pytest.raises(InvalidInput) as err:
        _keys.text_strokes('abc', layout='de')
    assert "layout 'de' is not supported; supported: us" in str(err.value)
