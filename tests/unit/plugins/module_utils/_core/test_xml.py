# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput


def test_element_and_sub_skip_none_and_map_booleans():
    root = _xml.element('pool', type_='dir')
    _xml.sub(root, 'name', 'images')
    _xml.sub(root, 'feature', enabled=True, extra=None)
    assert _xml.to_string(root, pretty=False) == '<pool type="dir"><name>images</name><feature enabled="yes"/></pool>'


def test_equal_ignores_whitespace_attribute_order_and_comments():
    a = _xml.parse('<a x="1" y="2">\n  <b> text </b><!-- note -->\n</a>')
    b = _xml.parse('<a y="2" x="1"><b>text</b></a>')
    assert _xml.equal(a, b)
    assert not _xml.equal(a, _xml.parse('<a x="1" y="3"><b>text</b></a>'))


def test_getters():
    root = _xml.parse('<pool><name> images </name><capacity unit="bytes">42</capacity></pool>')
    assert _xml.text_of(root, 'name') == 'images'
    assert _xml.int_of(root, 'capacity') == 42
    assert _xml.attr_of(root, 'capacity', 'unit') == 'bytes'
    assert _xml.text_of(root, 'missing', 'x') == 'x'
    assert _xml.attr_of(root, 'missing', 'unit') is None


def test_ensure_replace_and_remove():
    root = _xml.parse('<a><b/><c n="1"/><c n="2"/></a>')
    assert _xml.ensure(root, 'b') is root.find('b')
    assert _xml.ensure(root, 'd').getparent() is root
    _xml.replace_child(root, _xml.element('b', 'new'))
    assert _xml.text_of(root, 'b') == 'new'
    _xml.remove_all(root, 'c')
    assert root.find('c') is None


def test_bad_xml_is_invalid_input():
    with pytest.raises(InvalidInput) as err:
        _xml.parse('<a><b></a>', what='domain XML')
    assert 'domain XML is not well-formed' in str(err.value)


def test_entities_are_not_resolved():
    text = '<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>'
    root = _xml.parse(text)
    assert 'root:' not in _xml.to_string(root)
