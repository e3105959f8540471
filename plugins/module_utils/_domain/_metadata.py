# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's own part of a domain's ``<metadata>``: tags and free-form metadata.

libvirt keeps any namespaced element under ``<metadata>`` as it is; the
collection owns exactly one, ``<vmcat:vm>`` in the namespace ``NS``::

    <metadata>
      <vmcat:vm xmlns:vmcat="https://vmcat.example/libvirt/vm/1">
        <vmcat:tags>
          <vmcat:tag>db</vmcat:tag>
          <vmcat:tag>web</vmcat:tag>
        </vmcat:tags>
        <vmcat:data>
          <vmcat:item key="owner" type="str">alice</vmcat:item>
          <vmcat:item key="ports" type="list">
            <vmcat:item type="int">80</vmcat:item>
          </vmcat:item>
          <vmcat:item key="backup" type="dict">
            <vmcat:item key="enabled" type="bool">true</vmcat:item>
          </vmcat:item>
        </vmcat:data>
      </vmcat:vm>
    </metadata>

Every value carries its JSON type (``str``, ``int``, ``float``, ``bool``,
``null``, ``list``, ``dict``), so what is written reads back exactly; other
namespaces under ``<metadata>`` (libosinfo, cloud tools) are left alone.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput

NS = 'https://vmcat.example/libvirt/vm/1'
PREFIX = 'vmcat'
ROOT_TAG = 'vm'


def _q(tag):
    return '{%s}%s' % (NS, tag)


# -- typed values ---------------------------------------------------------------
def _value_element(value, key=None, where='metadata'):
    el = _xml.etree.Element(_q('item'))
    if key is not None:
        el.set('key', key)
    if value is None:
        el.set('type', 'null')
    elif isinstance(value, bool):
        el.set('type', 'bool')
        el.text = 'true' if value else 'false'
    elif isinstance(value, int):
        el.set('type', 'int')
        el.text = str(value)
    elif isinstance(value, float):
        el.set('type', 'float')
        el.text = repr(value)
    elif isinstance(value, str):
        el.set('type', 'str')
        el.text = value
    elif isinstance(value, (list, tuple)):
        el.set('type', 'list')
        for index, item in enumerate(value):
            el.append(_value_element(item, None, '%s[%d]' % (where, index)))
    elif isinstance(value, dict):
        el.set('type', 'dict')
        for k in sorted(value, key=str):
            if not isinstance(k, str):
                raise InvalidInput('%s: keys must be strings, got %r' % (where, k))
            el.append(_value_element(value[k], k, '%s.%s' % (where, k)))
    else:
        raise InvalidInput('%s: a %s cannot be kept in the VM metadata; use strings, numbers, booleans, null, '
                           'lists and dicts' % (where, type(value).__name__))
    return el


def _value_of(el):
    kind = el.get('type', 'str')
    text = el.text or ''
    if kind == 'null':
        return None
    if kind == 'bool':
        return text.strip() == 'true'
    if kind == 'int':
        return int(text.strip())
    if kind == 'float':
        return float(text.strip())
    if kind == 'list':
        return [_value_of(child) for child in el if child.tag == _q('item')]
    if kind == 'dict':
        return dict((child.get('key'), _value_of(child)) for child in el if child.tag == _q('item'))
    return text


def encode_data(data):
    """A ``<vmcat:data>`` element for a dict (checked: only JSON-like values)."""
    el = _value_element(dict(data or {}), None, 'metadata')
    el.tag = _q('data')
    del el.attrib['type']
    return el


def decode_data(el):
    if el is None:
        return {}
    el.set('type', 'dict')
    try:
        return _value_of(el)
    finally:
        del el.attrib['type']


# -- the <vmcat:vm> element -------------------------------------------------------
def own_element(root):
    """The collection's ``<vmcat:vm>`` under ``<metadata>``, or None."""
    meta = root.find('metadata')
    return None if meta is None else meta.find(_q(ROOT_TAG))


def _ensure_own(root):
    own = own_element(root)
    if own is not None:
        return own
    meta = _xml.ensure(root, 'metadata')
    own = _xml.etree.SubElement(meta, _q(ROOT_TAG), nsmap={PREFIX: NS})
    return own


def _drop_if_empty(root):
    own = own_element(root)
    if own is not None and len(own) == 0:
        own.getparent().remove(own)
    meta = root.find('metadata')
    if meta is not None and len(meta) == 0:
        root.remove(meta)


def read_tags(root):
    own = own_element(root)
    if own is None:
        return []
    return sorted(set((t.text or '').strip() for t in own.findall('%s/%s' % (_q('tags'), _q('tag')))))


def normalise_tags(tags):
    out = set()
    for tag in tags or []:
        text = str(tag).strip()
        if not text:
            raise InvalidInput('tags must not be empty strings')
        out.add(text)
    return sorted(out)


def write_tags(root, tags, env=None):
    own = _ensure_own(root)
    _xml.remove_all(own, _q('tags'))
    if tags:
        holder = _xml.etree.Element(_q('tags'))
        for tag in tags:
            _xml.etree.SubElement(holder, _q('tag')).text = tag
        own.insert(0, holder)
    _drop_if_empty(root)


def read_metadata(root):
    own = own_element(root)
    return decode_data(None if own is None else own.find(_q('data')))


def normalise_metadata(data):
    if not isinstance(data, dict):
        raise InvalidInput('metadata must be a dict, got %s' % type(data).__name__)
    return decode_data(encode_data(data))


def write_metadata(root, data, env=None):
    own = _ensure_own(root)
    _xml.remove_all(own, _q('data'))
    if data:
        own.append(encode_data(data))
    _drop_if_empty(root)


def own_xml(root):
    """The ``<vmcat:vm>`` element as text for virDomainSetMetadata, or None to remove it.

    virDomainSetMetadata puts the element it is given into the namespace it is
    told (and refuses one that declares it already), so the text is the
    element without its namespace: ``<vm><tags>...``.
    """
    own = own_element(root)
    if own is None:
        return None
    plain = copy.deepcopy(own)
    for el in plain.iter():
        if isinstance(el.tag, str):
            el.tag = _xml.etree.QName(el).localname
    _xml.etree.cleanup_namespaces(plain)
    return _xml.to_string(plain, pretty=False)


# -- title and description --------------------------------------------------------
def text_reader(tag):
    def read(root):
        return _xml.text_of(root, tag) or None
    return read


def text_writer(tag):
    def write(root, value, env=None):
        if value:
            el = _xml.ensure(root, tag)
            el.text = value
        else:
            _xml.remove_all(root, tag)
    return write


def normalise_text(value):
    return value if value else ''
