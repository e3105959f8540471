# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names of libvirt objects that libvirt keeps as files (pools, networks, VMs).

libvirt stores such an object's definition as ``NAME.xml`` (networks their
dnsmasq files as ``NAME.conf``, VMs their logs, NVRAM and this collection's
cloud-init seed as ``NAME.log``, ``NAME_VARS.fd``, ``NAME-cidata.iso``): a
name with '/' or one that is '.', '..' or hidden would point those files
elsewhere, a very long one makes file names the file system refuses (255
bytes at most), and blanks or control characters make a name nobody can
type back. ``check_object_name`` refuses them before anything is made.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput

CONTROL_CHARS = re.compile(r'[\x00-\x1f\x7f]')
# A file name holds 255 bytes; this leaves room for what libvirt and this collection append to the name
# ('.xml', '.hostsfile', '-swtpm.log', '-cidata.iso', '-<disk>.qcow2', ...).
MAX_NAME_BYTES = 200


def check_object_name(kind, name, uri, example):
    """``name`` when it is a valid name for a libvirt ``kind`` ('pool', 'network', 'VM'); InvalidInput otherwise.

    The message names the object, the URI, the rule broken and a cleaned-up
    name to use instead (``example`` when nothing is left of it).
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput('%s name %r on %s is not valid: it must not be empty; give the name of the %s'
                           % (kind, name, uri, kind))
    rules = (
        ('/' in name, "it must not contain '/'"),
        (name in ('.', '..'), "it must not be '.' or '..'"),
        (name.startswith('.'), "it must not start with '.'"),
        (name != name.strip(), 'it must not start or end with whitespace'),
        (CONTROL_CHARS.search(name) is not None, 'it must not contain control characters (newline, tab, ...)'),
        (len(name.encode('utf-8')) > MAX_NAME_BYTES,
         'it must not be longer than %d bytes, it has %d (libvirt names files after it, and a file name holds at '
         'most 255)' % (MAX_NAME_BYTES, len(name.encode('utf-8')))),
    )
    for broken, rule in rules:
        if broken:
            raise InvalidInput("%s name %r on %s is not valid: %s; choose a name such as '%s'"
                               % (kind, name, uri, rule, suggested_name(name, example)))
    return name


def suggested_name(name, example):
    """``name`` without control characters, outer blanks, '/' (made '-') and leading dots, cut to
    MAX_NAME_BYTES; ``example`` if nothing is left."""
    cleaned = CONTROL_CHARS.sub('', name).strip().replace('/', '-').lstrip('.')
    cleaned = cleaned.encode('utf-8')[:MAX_NAME_BYTES].decode('utf-8', 'ignore').strip()
    return cleaned or example
