# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._sizes import MAX_BYTES, format_size, parse_size, unit_factor


@pytest.mark.parametrize('value, expected', [
    (0, 0),
    (4096, 4096),
    ('4096', 4096),
    ('10G', 10 * 1024 ** 3),
    ('10g', 10 * 1024 ** 3),
    ('10GiB', 10 * 1024 ** 3),
    ('10 gib', 10 * 1024 ** 3),
    ('10GB', 10 * 10 ** 9),
    ('512M', 512 * 1024 ** 2),
    ('512MB', 512 * 10 ** 6),
    ('1.5 TiB', int(1.5 * 1024 ** 4)),
    ('1.5T', int(1.5 * 1024 ** 4)),
    ('2k', 2048),
    ('2KB', 2000),
    ('7 bytes', 7),
    ('7b', 7),
    ('1E', 1024 ** 6),
])
def test_parse_size_follows_libvirt_units(value, expected):
    assert parse_size(value) == expected


def test_bare_numbers_use_the_default_unit():
    assert parse_size(1024, default_unit='KiB') == 1024 * 1024
    assert parse_size('2', default_unit='M') == 2 * 1024 ** 2
    assert parse_size('2G', default_unit='KiB') == 2 * 1024 ** 3


@pytest.mark.parametrize('value, fragment', [
    ('10QB', "unknown unit 'QB'"),
    ('10 gigs', "unknown unit 'gigs'"),
    ('ten', 'is not a size'),
    ('-1G', 'is not a size'),
    ('', 'is not a size'),
    (-5, 'must not be negative'),
    (True, 'not a boolean'),
])
def test_bad_sizes_fail_with_a_clear_message(value, fragment):
    with pytest.raises(InvalidInput) as err:
        parse_size(value, what='capacity')
    assert fragment in str(err.value)
    assert 'capacity' in str(err.value)


@pytest.mark.parametrize('value', ['1.5', 1.5, '0.5', '2.25 B', '1.5 bytes'])
def test_a_fraction_of_a_byte_is_refused_as_a_forgotten_unit(value):
    """capacity: 1.5 used to make a 1-byte volume."""
    with pytest.raises(InvalidInput) as err:
        parse_size(value, what='capacity')
    assert 'whole numbers of bytes' in str(err.value) and 'G for' in str(err.value)


@pytest.mark.parametrize('value, expected', [
    ('1.0', 1), ('1.1K', 1126), ('0.5K', 512), (1.0, 1),
])
def test_fractions_of_a_unit_are_rounded_down_to_whole_bytes(value, expected):
    assert parse_size(value) == expected


def test_a_bare_fraction_takes_the_default_unit():
    assert parse_size('1.5', default_unit='KiB') == 1536


@pytest.mark.parametrize('value', ['1' * 26, '16E', '16EiB', '18.5EB', MAX_BYTES + 1, str(MAX_BYTES + 1)])
def test_sizes_above_libvirts_unsigned_64_bit_limit_are_refused(value):
    """A 26-digit capacity used to reach libvirt and fail as 'malformed capacity element'."""
    with pytest.raises(InvalidInput) as err:
        parse_size(value, what='capacity')
    assert "libvirt's limit of 18446744073709551615 bytes" in str(err.value)


def test_the_limit_itself_is_accepted():
    assert parse_size(MAX_BYTES) == MAX_BYTES
    assert parse_size('%d B' % MAX_BYTES) == MAX_BYTES


def test_the_unit_message_lists_exactly_the_units_accepted():
    """E, EiB and EB are accepted, so the message about units names them too."""
    with pytest.raises(InvalidInput) as err:
        unit_factor('QB', 'capacity')
    msg = str(err.value)
    for prefix in 'KMGTPE':
        for unit in (prefix, prefix + 'iB', prefix + 'B'):
            assert unit_factor(unit) > 1
            assert unit in msg


def test_none_is_unset():
    assert parse_size(None) is None


@pytest.mark.parametrize('n, text', [
    (0, '0 B'), (1023, '1023 B'), (1024, '1 KiB'), (1536, '1.5 KiB'), (10 * 1024 ** 3, '10 GiB'),
    (1024 ** 7, '1024 EiB'),
])
def test_format_size(n, text):
    assert format_size(n) == text
