# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._object_names import check_object_name


@pytest.mark.parametrize('name', ['images', 'lab-1', 'a.b', 'x_y', 'éé', 'x' * 200, u'\u00e9' * 100])
def test_good_names_come_back(name):
    assert check_object_name('pool', name, 'qemu:///system', 'images') == name


@pytest.mark.parametrize('name, rule, suggestion', [
    ('a/b', "must not contain '/'", 'a-b'),
    ('..', "must not be '.' or '..'", 'images'),
    ('.hidden', "must not start with '.'", 'hidden'),
    (' lab', 'must not start or end with whitespace', 'lab'),
    ('la\nb', 'must not contain control characters', 'lab'),
    ('x' * 300, 'must not be longer than 200 bytes, it has 300', 'x' * 200),
    (u'\u00e9' * 101, 'must not be longer than 200 bytes, it has 202', u'\u00e9' * 100),
])
def test_bad_names_name_kind_uri_rule_and_a_fix(name, rule, suggestion):
    with pytest.raises(InvalidInput) as err:
        check_object_name('pool', name, 'qemu:///system', 'images')
    msg = str(err.value)
    assert msg.startswith('pool name %r on qemu:///system is not valid: ' % name)
    assert rule in msg
    assert msg.endswith("choose a name such as '%s'" % suggestion)


@pytest.mark.parametrize('name', [None, '', '   ', 3])
def test_empty_or_not_text_is_refused(name):
    with pytest.raises(InvalidInput, match='network name .* on test:///default is not valid: it must not be empty; '
                                           'give the name of the network'):
        check_object_name('network', name, 'test:///default', 'lab')
