# -*- coding: utf-8 -*-
"""Tags and metadata in the collection's own <metadata> element."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _metadata as meta

OTHER = ('<domain><name>d</name><metadata><libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/'
         'domain/1.0"><libosinfo:os id="http://debian.org/debian/12"/></libosinfo:libosinfo></metadata></domain>')


def test_representation_is_typed_xml():
    root = _xml.parse('<domain><name>d</name></domain>')
    meta.write_tags(root, ['web', 'db'])
    meta.write_metadata(root, {'owner': 'alice', 'ports': [80, 443], 'backup': {'enabled': True}, 'ratio': 0.5,
                               'none': None})
    text = _xml.to_string(root.find('metadata'), pretty=False)
    assert text.startswith('<metadata><vmcat:vm xmlns:vmcat="https://vmcat.example/libvirt/vm/1"><vmcat:tags>'
                           '<vmcat:tag>web</vmcat:tag><vmcat:tag>db</vmcat:tag></vmcat:tags><vmcat:data>')
    assert '<vmcat:item key="owner" type="str">alice</vmcat:item>' in text
    assert ('<vmcat:item key="ports" type="list"><vmcat:item type="int">80</vmcat:item>'
            '<vmcat:item type="int">443</vmcat:item></vmcat:item>') in text
    assert '<vmcat:item key="backup" type="dict"><vmcat:item key="enabled" type="bool">true</vmcat:item>' in text
    assert '<vmcat:item key="none" type="null"/>' in text
    assert meta.read_metadata(root) == {'owner': 'alice', 'ports': [80, 443], 'backup': {'enabled': True},
                                        'ratio': 0.5, 'none': None}
    assert meta.read_tags(root) == ['db', 'web']


def test_exact_round_trip_of_awkward_values():
    data = {'': 'empty key', 'spaces': '  a  ', 'multi': 'line1\nline2', 'xml': '<a b="c">&amp;</a>',
            'big': 2 ** 70, 'neg': -1, 'float': 1e-300, 'unicode': 'æøå ✓', 'empty_list': [], 'zero': 0,
            'false': False, 'str_true': 'true', 'str_num': '1'}
    root = _xml.parse('<domain/>')
    meta.write_metadata(root, data)
    again = _xml.parse(_xml.to_string(root))
    assert meta.read_metadata(again) == data
    for key in ('str_true', 'str_num'):
        assert isinstance(meta.read_metadata(again)[key], str)


def test_other_namespaces_are_left_alone_and_empty_is_removed():
    root = _xml.parse(OTHER)
    meta.write_tags(root, ['a'])
    meta.write_metadata(root, {'k': 'v'})
    assert len(root.find('metadata')) == 2
    meta.write_tags(root, [])
    meta.write_metadata(root, {})
    assert meta.own_element(root) is None
    assert len(root.find('metadata')) == 1
    root = _xml.parse('<domain><name>d</name></domain>')
    meta.write_tags(root, ['a'])
    meta.write_tags(root, [])
    assert root.find('metadata') is None


def test_own_xml_for_set_metadata(conn):
    root = _xml.parse('<domain/>')
    assert meta.own_xml(root) is None
    meta.write_tags(root, ['x'])
    meta.write_metadata(root, {'n': 1})
    dom = conn.virt.lookupByName('test')
    dom.setMetadata(2, meta.own_xml(root), meta.PREFIX, meta.NS, 0)
    try:
        stored = _xml.parse(dom.XMLDesc(0))
        assert meta.read_tags(stored) == ['x'] and meta.read_metadata(stored) == {'n': 1}
    finally:
        dom.setMetadata(2, None, None, meta.NS, 0)


def test_title_and_description():
    root = _xml.parse('<domain><name>d</name></domain>')
    meta.text_writer('title')(root, 'T')
    assert meta.text_reader('title')(root) == 'T'
    meta.text_writer('title')(root, '')
    assert meta.text_reader('title')(root) is None and root.find('title') is None
