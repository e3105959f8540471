# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._errors import InvalidInput
from ansible_collections.vmcat.libvirt.plugins.module_utils._sizes import format_size, parse_size


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


def test_none_is_unset():
    assert parse_size(None) is None


@pytest.mark.parametrize('n, text', [
    (0, '0 B'), (1023, '1023 B'), (1024, '1 KiB'), (1536, '1.5 KiB'), (10 * 1024 ** 3, '10 GiB'),
    (1024 ** 7, '1024 EiB'),
])
def test_format_size(n, text):
    assert format_size(n) == text
