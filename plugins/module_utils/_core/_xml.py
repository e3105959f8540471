# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parse, build, normalise and compare libvirt XML with lxml.

No XML in this collection is built by string concatenation: builders use
``element``/``sub`` below, readers use ``parse`` and the small getters.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput

try:
    from lxml import etree
    HAS_LXML = True
    LXML_IMPORT_ERROR = None
except ImportError:
    etree = None
    HAS_LXML = False
    LXML_IMPORT_ERROR = traceback.format_exc()


def _parser():
    return etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)


def parse(text, what='XML'):
    """Parse XML text (str or bytes) into an element; bad XML is InvalidInput."""
    if isinstance(text, str):
        text = text.encode('utf-8')
    try:
        return etree.fromstring(text, _parser())
    except etree.XMLSyntaxError as exc:
        raise InvalidInput('%s is not well-formed XML: %s' % (what, exc))


def to_string(el, pretty=True):
    return etree.tostring(el, pretty_print=pretty, encoding='unicode')


def _text(value):
    if isinstance(value, bool):
        return 'yes' if value else 'no'
    return str(value)


def element(tag, text=None, **attrs):
    """A new element; attributes whose value is None are left out.

    Use a trailing underscore for Python keywords (``type_='dir'``).
    """
    el = etree.Element(tag)
    _fill(el, text, attrs)
    return el


def sub(parent, tag, text=None, **attrs):
    """A new child of ``parent`` (same rules as ``element``)."""
    el = etree.SubElement(parent, tag)
    _fill(el, text, attrs)
    return el


def _fill(el, text, attrs):
    for key, value in attrs.items():
        if value is not None:
            el.set(key.rstrip('_'), _text(value))
    if text is not None:
        el.text = _text(text)


def text_of(el, path, default=None):
    """Text of the first match of ``path`` under ``el`` (stripped), or default."""
    found = el.find(path) if el is not None else None
    if found is None or found.text is None:
        return default
    return found.text.strip()


def attr_of(el, path, name, default=None):
    found = el.find(path) if el is not None else None
    if found is None:
        return default
    return found.get(name, default)


def int_of(el, path, default=None):
    value = text_of(el, path)
    return default if value is None else int(value)


def normalise(el):
    """A copy with insignificant whitespace removed, for comparing."""
    copy = parse(etree.tostring(el))
    for node in copy.iter():
        if not isinstance(node.tag, str):  # comments and processing instructions
            parent = node.getparent()
            if parent is not None:
                parent.remove(node)
            continue
        if node.text is not None and not node.text.strip():
            node.text = None
        elif node.text is not None:
            node.text = node.text.strip()
        node.tail = None
    return copy


def canonical(el):
    """A stable string form: normalised, attributes in sorted order."""
    copy = normalise(el)
    for node in copy.iter():
        if isinstance(node.tag, str) and len(node.attrib) > 1:
            items = sorted(node.attrib.items())
            node.attrib.clear()
            for key, value in items:
                node.set(key, value)
    return etree.tostring(copy, encoding='unicode')


def equal(a, b):
    """True when two elements are the same but for whitespace and attribute order."""
    return canonical(a) == canonical(b)


def remove_all(el, path):
    """Remove every match of ``path`` under ``el``."""
    for found in el.findall(path):
        found.getparent().remove(found)


def replace_child(parent, new):
    """Put ``new`` in place of the first child with the same tag (or append it)."""
    old = parent.find(new.tag)
    if old is None:
        parent.append(new)
    else:
        parent.replace(old, new)
    return new


def ensure(parent, tag):
    """The first child ``tag`` of parent, created when missing."""
    found = parent.find(tag)
    return found if found is not None else sub(parent, tag)


def drop_if_empty(parent, tag):
    """Remove parent's child ``tag`` when it is left with no children and no attributes."""
    found = parent.find(tag)
    if found is not None and len(found) == 0 and not found.attrib:
        parent.remove(found)


def insert_after(parent, el, anchor):
    """Put ``el`` into ``parent`` right after the child ``anchor``, or as its first child when ``anchor`` is None."""
    if anchor is not None:
        anchor.addnext(el)
    else:
        parent.insert(0, el)
