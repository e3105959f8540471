# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The small devices of a domain: guest-agent channel, serial console, input devices, RNG, TPM and watchdog.

Each has a reader (definition -> option value), a normaliser (task value ->
the same shape, completed from the current value) and a writer that edits
the definition in place.  ``rng``, ``tpm`` and ``watchdog`` take ``true``
(a device with the defaults below), ``false`` (no device) or a dict; they
read back as ``false`` or the dict.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain._devices import insert_device
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput

AGENT_CHANNEL = 'org.qemu.guest_agent.0'
SERIAL_TYPES = ('pty', 'file', 'none')
RNG_MODELS = ('virtio', 'virtio-transitional', 'virtio-non-transitional')
TPM_MODELS = ('tpm-crb', 'tpm-tis')
TPM_BACKENDS = ('emulator', 'passthrough')
TPM_VERSIONS = ('2.0', '1.2')
WATCHDOG_MODELS = ('i6300esb', 'ib700', 'itco', 'diag288')
WATCHDOG_ACTIONS = ('reset', 'shutdown', 'poweroff', 'pause', 'none', 'dump', 'inject-nmi')

INPUT_TYPES = ('tablet', 'mouse', 'keyboard')
INPUT_BUSES = ('usb', 'virtio')
INPUTS_SPEC = dict(type='list', elements='dict', options=dict(
    type=dict(type='str', required=True, choices=list(INPUT_TYPES)),
    bus=dict(type='str', choices=list(INPUT_BUSES), default='usb'),
))

RNG_DEFAULT = {'model': 'virtio', 'backend': '/dev/urandom'}
TPM_DEFAULT = {'model': 'tpm-crb', 'backend': 'emulator', 'version': '2.0', 'path': None}
WATCHDOG_DEFAULT = {'model': 'i6300esb', 'action': 'reset'}

SERIAL_SPEC = dict(type='dict', options=dict(
    type=dict(type='str', choices=list(SERIAL_TYPES)),
    path=dict(type='str'),
))


# -- guest agent channel ------------------------------------------------------------
def _agent_channels(root):
    return [el for el in root.findall('devices/channel')
            if _xml.attr_of(el, 'target', 'type') == 'virtio' and _xml.attr_of(el, 'target', 'name') == AGENT_CHANNEL]


def read_guest_agent(root):
    return bool(_agent_channels(root))


def agent_channel_element():
    el = _xml.element('channel', type='unix')
    _xml.sub(el, 'target', type_='virtio', name=AGENT_CHANNEL)
    return el


def write_guest_agent(root, on, env=None):
    channels = _agent_channels(root)
    if on and not channels:
        insert_device(root, agent_channel_element())
    elif not on:
        for el in channels:
            el.getparent().remove(el)


# -- serial console -----------------------------------------------------------------
def read_serial(root):
    el = root.find('devices/serial')
    if el is None:
        return {'type': 'none', 'path': None}
    kind = el.get('type')
    return {'type': kind, 'path': _xml.attr_of(el, 'source', 'path') if kind != 'pty' else None}


def normalise_serial(value, current=None):
    current = current or {}
    kind = value.get('type') or ('file' if value.get('path') else None) or current.get('type') or 'pty'
    path = value.get('path')
    if kind == 'file':
        if not path and current.get('type') == 'file':
            path = current.get('path')  # type file alone keeps the current file
        if not path or not path.startswith('/'):
            raise InvalidInput('serial type file needs an absolute path on the node (serial.path)')
    elif path:
        raise InvalidInput('serial.path applies to type file only (got type %s)' % kind)
    return {'type': kind, 'path': path if kind == 'file' else None}


def write_serial(root, value, env=None):
    devices = _xml.ensure(root, 'devices')
    for el in devices.findall('serial'):
        devices.remove(el)
    for el in devices.findall('console'):
        if _xml.attr_of(el, 'target', 'type') in (None, 'serial'):
            devices.remove(el)
    if value['type'] == 'none':
        return
    el = _xml.element('serial', type=value['type'])
    if value['type'] == 'file':
        _xml.sub(el, 'source', path=value['path'])
    _xml.sub(el, 'target', port=0)
    insert_device(root, el)


# -- input devices ------------------------------------------------------------------
# The PS/2 keyboard and mouse that libvirt adds to every x86 VM by itself cannot be removed, so the option leaves
# them (and input types it does not manage, such as passthrough and evdev) out: it is the list of the others.
def _managed_inputs(root):
    return [el for el in root.findall('devices/input')
            if el.get('type') in INPUT_TYPES and el.get('bus') in INPUT_BUSES]


def _sorted_inputs(items):
    return sorted(items, key=lambda item: (item['type'], item['bus']))


def read_inputs(root):
    return _sorted_inputs({'type': el.get('type'), 'bus': el.get('bus')} for el in _managed_inputs(root))


def normalise_inputs(value):
    out = _sorted_inputs({'type': item['type'], 'bus': item.get('bus') or 'usb'} for item in value)
    for first, second in zip(out, out[1:]):
        if first == second:
            raise InvalidInput('inputs lists a %s %s twice; give each input device once' % (first['bus'], first['type']))
    return out


def write_inputs(root, value, env=None):
    for el in _managed_inputs(root):
        el.getparent().remove(el)
    for item in value:
        insert_device(root, _xml.element('input', type_=item['type'], bus=item['bus']))


# -- true / false / dict devices ----------------------------------------------------
def _switch(value, default, current, what, keys):
    """A ``true``/``false``/dict task value as False or a full dict (completed from current or default)."""
    if isinstance(value, str):
        try:
            value = boolean(value)
        except TypeError:
            raise InvalidInput('%s must be true, false or a dict, got %r' % (what, value))
    if isinstance(value, bool):
        if not value:
            return False
        return dict(current) if current else dict(default)
    if not isinstance(value, dict):
        raise InvalidInput('%s must be true, false or a dict, got %r' % (what, value))
    unknown = sorted(set(value) - set(keys))
    if unknown:
        raise InvalidInput('%s: unknown keys %s; known keys: %s' % (what, ', '.join(unknown), ', '.join(keys)))
    out = dict(current) if current else dict(default)
    out.update((k, v) for k, v in value.items() if v is not None)
    return out


def _choice(what, value, choices):
    if value not in choices:
        raise InvalidInput('%s must be one of %s, got %r' % (what, ', '.join(choices), value))


# RNG
def read_rng(root):
    el = root.find('devices/rng')
    if el is None:
        return False
    backend = el.find('backend')
    if backend is not None and backend.get('model') == 'random':
        source = (backend.text or '').strip() or '/dev/urandom'
    else:
        source = backend.get('model') if backend is not None else None
    return {'model': el.get('model'), 'backend': source}


def normalise_rng(value, current=None):
    out = _switch(value, RNG_DEFAULT, current, 'rng', RNG_DEFAULT.keys())
    if out:
        _choice('rng.model', out['model'], RNG_MODELS)
        if not str(out['backend']).startswith('/dev/'):
            raise InvalidInput("rng.backend must be a random device of the node such as /dev/urandom, got %r"
                               % out['backend'])
    return out


def write_rng(root, value, env=None):
    _xml.remove_all(root, 'devices/rng')
    if value:
        el = _xml.element('rng', model=value['model'])
        _xml.sub(el, 'backend', value['backend'], model='random')
        insert_device(root, el)


# TPM
def read_tpm(root):
    el = root.find('devices/tpm')
    if el is None:
        return False
    backend = el.find('backend')
    kind = backend.get('type') if backend is not None else None
    return {
        'model': el.get('model'),
        'backend': kind,
        'version': backend.get('version') if backend is not None else None,
        'path': _xml.attr_of(backend, 'device', 'path') if kind == 'passthrough' else None,
    }


def normalise_tpm(value, current=None):
    out = _switch(value, TPM_DEFAULT, current, 'tpm', TPM_DEFAULT.keys())
    if out:
        _choice('tpm.model', out['model'], TPM_MODELS)
        _choice('tpm.backend', out['backend'], TPM_BACKENDS)
        if out['backend'] == 'passthrough':
            if not out.get('path'):
                raise InvalidInput('tpm backend passthrough needs path (the host TPM device, such as /dev/tpm0)')
            out['version'] = out.get('version') if isinstance(value, dict) and value.get('version') else None
        else:
            out['path'] = None
            out['version'] = str(out.get('version') or '2.0')
            _choice('tpm.version', out['version'], TPM_VERSIONS)
    return out


def write_tpm(root, value, env=None):
    _xml.remove_all(root, 'devices/tpm')
    if value:
        el = _xml.element('tpm', model=value['model'])
        backend = _xml.sub(el, 'backend', type_=value['backend'], version=value.get('version'))
        if value['backend'] == 'passthrough':
            _xml.sub(backend, 'device', path=value['path'])
        insert_device(root, el)


# watchdog
def read_watchdog(root):
    el = root.find('devices/watchdog')
    if el is None:
        return False
    return {'model': el.get('model'), 'action': el.get('action') or 'reset'}


def normalise_watchdog(value, current=None):
    out = _switch(value, WATCHDOG_DEFAULT, current, 'watchdog', WATCHDOG_DEFAULT.keys())
    if out:
        _choice('watchdog.model', out['model'], WATCHDOG_MODELS)
        _choice('watchdog.action', out['action'], WATCHDOG_ACTIONS)
    return out


def write_watchdog(root, value, env=None):
    _xml.remove_all(root, 'devices/watchdog')
    if value:
        insert_device(root, _xml.element('watchdog', model=value['model'], action=value['action']))
