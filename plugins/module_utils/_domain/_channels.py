# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Named virtio-serial channels of a domain (the ``channels`` option of ``vm``).

A channel here is a ``<channel type='unix'|'pty'>`` whose target is
``<target type='virtio' name='...'/>``: the guest sees it as
``/dev/virtio-ports/<name>``, the host as a unix socket or a pty that
``vm_channel`` (``virDomainOpenChannel``) talks to.

The option manages those channels only: the guest-agent channel
(``org.qemu.guest_agent.0``, option ``guest_agent``), SPICE agent channels,
guestfwd and other kinds are never touched.  A given list is the complete set
of managed channels: channels not listed are removed, ``[]`` removes them
all.  Values are sorted by name, so order does not count.

``path`` of a unix channel is the socket on the node; left unset, libvirt
picks one when the VM starts (under /var/lib/libvirt/qemu/channel/), which
the live definition then shows, so a running VM whose live path differs
only that way counts as the same (``same_live``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain._devices import insert_device
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput

AGENT_CHANNEL = 'org.qemu.guest_agent.0'
RESERVED = (AGENT_CHANNEL, 'com.redhat.spice.0', 'org.spice-space.webdav.0')
CHANNEL_TYPES = ('unix', 'pty')
_NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]*$')

CHANNELS_SPEC = dict(type='list', elements='dict', options=dict(
    name=dict(type='str', required=True),
    type=dict(type='str', choices=list(CHANNEL_TYPES), default='unix'),
    path=dict(type='str'),
))


def channel_elements(root):
    """{name: <channel>} of the managed channels in a definition."""
    out = {}
    for el in root.findall('devices/channel'):
        name = _xml.attr_of(el, 'target', 'name')
        if (el.get('type') in CHANNEL_TYPES and _xml.attr_of(el, 'target', 'type') == 'virtio' and name and
                name not in RESERVED):
            out[name] = el
    return out


def read_channel(el):
    kind = el.get('type')
    return {
        'name': _xml.attr_of(el, 'target', 'name'),
        'type': kind,
        'path': _xml.attr_of(el, 'source', 'path') if kind == 'unix' else None,
    }


def read_channels(root):
    return [read_channel(el) for name, el in sorted(channel_elements(root).items())]


def normalise_channels(value, current=None):
    """The task's list, checked, sorted by name; a unix channel without path keeps its current path."""
    current = dict((c['name'], c) for c in current or [])
    out = {}
    for index, item in enumerate(value or []):
        name = item.get('name')
        if not name or not _NAME_RE.match(name):
            raise InvalidInput("channels[%d]: name %r must be letters, digits, '.', '_' or '-', such as "
                               "org.example.backup.0" % (index, name))
        if name in RESERVED:
            raise InvalidInput('channels[%d]: %s is reserved (the guest agent channel is the guest_agent option)'
                               % (index, name))
        if name in out:
            raise InvalidInput('channels lists %s more than once' % name)
        kind = item.get('type') or 'unix'
        if kind not in CHANNEL_TYPES:
            raise InvalidInput('channels[%d].type must be one of %s, got %r' % (index, ', '.join(CHANNEL_TYPES), kind))
        path = item.get('path') or None
        if path and kind != 'unix':
            raise InvalidInput('channels[%d].path applies to type unix only (a pty gets its path when the VM '
                               'starts)' % index)
        if path and not path.startswith('/'):
            raise InvalidInput('channels[%d].path must be an absolute path on the node, got %r' % (index, path))
        if kind == 'unix' and not path:
            have = current.get(name)
            path = have['path'] if have and have['type'] == 'unix' else None
        out[name] = {'name': name, 'type': kind, 'path': path}
    return [out[name] for name in sorted(out)]


def channel_element(channel):
    el = _xml.element('channel', type=channel['type'])
    if channel['type'] == 'unix' and channel.get('path'):
        _xml.sub(el, 'source', mode='bind', path=channel['path'])
    _xml.sub(el, 'target', type_='virtio', name=channel['name'])
    return el


def write_channels(root, channels, env=None):
    """Make the managed channels of ``root`` exactly ``channels``; unchanged ones keep their elements."""
    have = channel_elements(root)
    wanted = dict((c['name'], c) for c in channels)
    for name, el in have.items():
        if name not in wanted or read_channel(el) != wanted[name]:
            el.getparent().remove(el)
    for channel in channels:
        el = have.get(channel['name'])
        if el is None or read_channel(el) != channel:
            insert_device(root, channel_element(channel))


def same_channel(live, config):
    """A running channel matches the saved one; an unset unix path matches the path libvirt picked."""
    if config['type'] == 'unix' and not config['path']:
        return dict(live, path=None) == config
    return live == config


def same_channels_live(live_value, config_value):
    live = dict((c['name'], c) for c in live_value or [])
    config = dict((c['name'], c) for c in config_value or [])
    return set(live) == set(config) and all(same_channel(live[n], config[n]) for n in config)


def plan_channels(live_root, config_root):
    """The live steps for channels: [('attach'|'detach', name, element)], detaches first.

    A changed channel is detached and attached again.
    """
    live, config = channel_elements(live_root), channel_elements(config_root)
    detach, attach = [], []
    for name in sorted(set(live) | set(config)):
        lel, cel = live.get(name), config.get(name)
        if cel is None:
            detach.append(('detach', name, lel))
        elif lel is None:
            attach.append(('attach', name, cel))
        elif not same_channel(read_channel(lel), read_channel(cel)):
            detach.append(('detach', name, lel))
            attach.append(('attach', name, cel))
    return detach + attach
