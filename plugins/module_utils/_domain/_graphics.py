# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Graphics (VNC, SPICE) of a domain: read them as option-shaped dicts, write the task's list.

Entries are identified by ``type`` in document order; the task's list
replaces the VM's graphics, editing an entry of the same type in place (so
children the module does not manage, such as SPICE channels, stay).
Passwords are read only from a secure definition and never returned.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain._devices import AFFECT_LIVE, insert_device, strip_runtime
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput

GRAPHICS_TYPES = ('vnc', 'spice')
GRAPHICS_KEYS = ('type', 'listen', 'socket', 'autoport', 'port', 'password')
GRAPHICS_SPEC = dict(type='list', elements='dict', options=dict(
    type=dict(type='str', required=True, choices=list(GRAPHICS_TYPES)),
    listen=dict(type='str'),
    socket=dict(type='str'),
    password=dict(type='str', no_log=True),
    autoport=dict(type='bool'),
    port=dict(type='int'),
))


def read_graphics_one(el):
    listen_el = el.find("listen[@type='address']")
    socket_el = el.find("listen[@type='socket']")
    socket = el.get('socket') or (socket_el.get('socket') if socket_el is not None else None)
    listen = None
    if listen_el is not None:
        listen = listen_el.get('address')
    elif not socket:
        listen = el.get('listen')
    port = el.get('port')
    autoport = None
    if not socket:
        autoport = el.get('autoport') == 'yes' or port in (None, '-1')
    return {
        'type': el.get('type'),
        'listen': listen,
        'socket': socket,
        'autoport': autoport,
        'port': None if (socket or autoport) else int(port),
        'password': el.get('passwd'),
    }


def graphics_elements(root):
    return [el for el in root.findall('devices/graphics') if el.get('type') in GRAPHICS_TYPES]


def read_graphics(root):
    return [read_graphics_one(el) for el in graphics_elements(root)]


def normalise_graphics(item, current=None):
    """A wanted graphics entry completed from the current one of the same type, and checked.

    With ``autoport: true`` a given ``port`` is ignored (vm_info reports the port a running VM got).
    """
    out = dict(current) if current else dict.fromkeys(GRAPHICS_KEYS)
    out['type'] = item['type']
    what = 'graphics %s' % item['type']
    if item.get('socket'):
        if item.get('listen') or item.get('port') is not None or item.get('autoport'):
            raise InvalidInput('%s: socket excludes listen, port and autoport' % what)
        out.update(socket=item['socket'], listen=None, port=None, autoport=None)
    else:
        if item.get('listen') or item.get('port') is not None or item.get('autoport') is not None:
            out['socket'] = None
        if item.get('listen'):
            out['listen'] = item['listen']
        if item.get('autoport'):
            out.update(autoport=True, port=None)
        elif item.get('port') is not None:
            if not 5900 <= item['port'] <= 65535:
                raise InvalidInput('%s: port %d is outside 5900-65535' % (what, item['port']))
            out.update(port=item['port'], autoport=False)
        elif item.get('autoport') is False:
            if out.get('port') is None:
                raise InvalidInput('%s: autoport false needs a port' % what)
            out['autoport'] = False
        if not out.get('socket') and out.get('autoport') is None:
            out.update(autoport=True, port=None)
    if item.get('password') is not None:
        if item['type'] == 'vnc' and len(item['password']) > 8:
            raise InvalidInput('graphics vnc: the VNC protocol takes passwords of at most 8 characters (got %d)'
                               % len(item['password']))
        out['password'] = item['password'] or None
    return out


def build_graphics(item):
    el = _xml.element('graphics', type=item['type'])
    if item.get('socket'):
        _xml.sub(el, 'listen', type_='socket', socket=item['socket'])
    else:
        if item.get('autoport'):
            el.set('autoport', 'yes')
        else:
            el.set('port', str(item['port']))
            el.set('autoport', 'no')
        if item.get('listen'):
            el.set('listen', item['listen'])
            _xml.sub(el, 'listen', type_='address', address=item['listen'])
    if item.get('password'):
        el.set('passwd', item['password'])
    return el


def set_password(el, password):
    if password:
        el.set('passwd', password)
    elif 'passwd' in el.attrib:
        del el.attrib['passwd']


def set_live_password(dom, live_el, password):
    """Give the running VM's graphics device ``live_el`` this password ('' or None removes it); live only."""
    el = strip_runtime(live_el)
    set_password(el, password)
    dom.updateDeviceFlags(_xml.to_string(el, pretty=False), AFFECT_LIVE)


def write_graphics(root, items, env=None):
    """Make the VM's graphics exactly ``items`` (normalised), editing matches in place."""
    existing = graphics_elements(root)
    used = set()
    for item in items:
        match = next((el for el in existing if id(el) not in used and el.get('type') == item['type']), None)
        if match is not None:
            used.add(id(match))
            if read_graphics_one(match) == item:
                continue
            view = read_graphics_one(match)
            if dict(view, password=None) == dict(item, password=None):
                set_password(match, item.get('password'))
                continue
            fresh = build_graphics(item)
            for child in match:
                if child.tag != 'listen':
                    fresh.append(copy.deepcopy(child))
            match.getparent().replace(match, fresh)
        else:
            insert_device(root, build_graphics(item))
    for el in existing:
        if id(el) not in used:
            el.getparent().remove(el)


def normalise_graphics_list(value, current, env):
    current = list(current or [])
    out = []
    for item in value:
        match = next((c for c in current if c['type'] == item['type']), None)
        if match is not None:
            current.remove(match)
        out.append(normalise_graphics(item, match))
    return out
