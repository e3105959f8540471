# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one table of domain options: argument spec, XML mapping, comparison and live behaviour.

Every structured option of the ``vm`` module is one ``Option`` in
``OPTIONS``.  An option knows

- ``spec``: its entry in the module's argument spec;
- ``read(root)``: its value in a ``<domain>`` definition, in the shape of
  the option (sizes in bytes, MACs in lower case, ...);
- ``normalise(value, current, env)``: the task's value in that same shape,
  completed from the current value where the task leaves parts unset, and
  checked (InvalidInput before anything changes);
- ``write(root, value, env)``: edit the definition in place so that
  ``read`` gives ``value``, leaving every part it does not manage alone;
- ``live``: how a running VM takes a change: ``RESTART`` (only at the next
  boot; reported in ``pending_changes``) or the name of a live handler in
  ``_domain_live`` (``metadata``, ``vcpus``, ``memory``, ``disks``, ``nics``,
  ``graphics``);
- ``same_live(live, config)``: whether the running VM already has the saved
  value (the live XML spells some things differently);
- ``partial``: the task's value is merged into the definition (device lists)
  rather than compared as a whole.

The readers and writers of devices live beside this table: disks in
``_domain_devices``, NICs in ``_domain_nics``, graphics in
``_domain_graphics``, named virtio-serial channels in ``_domain_channels``, the agent channel, serial, inputs, RNG, TPM and watchdog in
``_domain_peripherals``, vCPUs, memory and CPU in ``_domain_resources``,
tags and metadata in ``_domain_metadata``; the OS-level ones are here.

``view(root)`` is every option read from a definition: the shape that
``vm`` returns and ``vm_info`` lists.  ``apply_options(root, params, env)``
writes the options a task sets; comparing ``view`` before and after says
whether the definition changes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _channels as channels
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _devices as devices
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _graphics as graphics
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _nics as nics
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _metadata as meta
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _peripherals as periph
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain._resources import (
    CPU_MODES,
    normalise_cpu,
    positive,
    read_cpu,
    read_max_memory,
    read_max_vcpus,
    read_memory,
    read_vcpus,
    same_cpu_live,
    size_of,
    write_cpu,
    write_max_memory,
    write_max_vcpus,
    write_memory,
    write_vcpus,
)
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput

RESTART = 'restart'
VIRT_TYPES = ('auto', 'kvm', 'qemu')
FIRMWARES = ('bios', 'uefi')
BOOT_DEVICES = ('hd', 'cdrom', 'network', 'fd')
LIFECYCLE_ACTIONS = ('destroy', 'restart', 'preserve', 'rename-restart')
CRASH_ACTIONS = LIFECYCLE_ACTIONS + ('coredump-destroy', 'coredump-restart')
LIFECYCLE_DEFAULTS = (('on_poweroff', 'destroy'), ('on_reboot', 'restart'), ('on_crash', 'destroy'))
_FIRMWARE_HINTS = ('ovmf', 'edk2', 'aavmf', 'qemu_efi')


class Env:
    """What option writers may need beyond the values: purge switches and node lookups.

    ``canonical_machine(name, arch)`` maps a machine alias (``pc``) to the name
    libvirt stores (``pc-i440fx-7.2``); ``auto_virt_type()`` picks kvm or qemu.
    """

    def __init__(self, purge_disks=False, purge_nics=False, new=False, canonical_machine=None,
                 auto_virt_type=None):
        self.purge_disks = purge_disks
        self.purge_nics = purge_nics
        self.new = new
        self.canonical_machine = canonical_machine or (lambda name, arch: name)
        self.auto_virt_type = auto_virt_type or (lambda: 'qemu')


class Option:
    def __init__(self, name, spec, read, write, normalise=None, live=RESTART, same_live=None, partial=False):
        self.name = name
        self.spec = spec
        self.read = read
        self.write = write
        self.normalise = normalise or (lambda value, current, env: value)
        self.live = live
        self.same_live = same_live or (lambda live_value, config_value: live_value == config_value)
        self.partial = partial


# -- small readers and writers ----------------------------------------------------------
def _os(root):
    return _xml.ensure(root, 'os')


def _os_type(root):
    os_el = _os(root)
    found = os_el.find('type')
    if found is None:
        found = _xml.element('type', 'hvm')
        os_el.insert(0, found)
    return found


def read_virt_type(root):
    return root.get('type')


def normalise_virt_type(value, current, env):
    if value == 'auto':
        return current if (current and not env.new) else env.auto_virt_type()
    return value


def write_virt_type(root, value, env=None):
    root.set('type', value)


def read_arch(root):
    return _xml.attr_of(root, 'os/type', 'arch')


def write_arch(root, value, env=None):
    _os_type(root).set('arch', value)


def read_machine(root):
    return _xml.attr_of(root, 'os/type', 'machine')


def _machine_family(name):
    """pc-q35-7.2 -> pc-q35: the machine type without its QEMU version."""
    return re.sub(r'-[0-9]+(\.[0-9]+)*$', '', name or '')


def normalise_machine(value, current, env):
    """An alias (pc, q35) is its canonical name for a new VM, and any version of that type for an existing one.

    So ``machine: q35`` does not move a VM made with QEMU 6.2 (pc-q35-6.2) to the machine of QEMU 7.2 just
    because QEMU was upgraded; a versioned name must match exactly.
    """
    canonical = env.canonical_machine(value, None)
    if canonical != value and current and _machine_family(current) == _machine_family(canonical):
        return current
    return canonical


def write_machine(root, value, env=None):
    _os_type(root).set('machine', value)


def read_firmware(root):
    os_el = root.find('os')
    if os_el is None:
        return 'bios'
    if os_el.get('firmware') == 'efi':
        return 'uefi'
    loader = os_el.find('loader')
    if loader is not None and (loader.get('type') == 'pflash' or
                               any(h in (loader.text or '').lower() for h in _FIRMWARE_HINTS)):
        return 'uefi'
    return 'bios'


def write_firmware(root, value, env=None):
    os_el = _os(root)
    for tag in ('loader', 'nvram', 'firmware'):
        _xml.remove_all(os_el, tag)
    if value == 'uefi':
        os_el.set('firmware', 'efi')
    elif 'firmware' in os_el.attrib:
        del os_el.attrib['firmware']


def read_boot(root):
    return [el.get('dev') for el in root.findall('os/boot')]


def normalise_boot(value, current, env):
    for dev in value:
        if dev not in BOOT_DEVICES:
            raise InvalidInput('boot: %r is not one of %s' % (dev, ', '.join(BOOT_DEVICES)))
    if len(set(value)) != len(value):
        raise InvalidInput('boot lists %s more than once' % ', '.join(sorted(set(d for d in value if value.count(d) > 1))))
    return list(value)


def write_boot(root, value, env=None):
    os_el = _os(root)
    _xml.remove_all(os_el, 'boot')
    for dev in value:
        _xml.sub(os_el, 'boot', dev=dev)


def read_kernel(root):
    path = _xml.text_of(root, 'os/kernel')
    if not path:
        return None
    return {'path': path, 'initrd': _xml.text_of(root, 'os/initrd') or None,
            'cmdline': _xml.text_of(root, 'os/cmdline') or None}


def normalise_kernel(value, current, env):
    if value.get('path') == '':
        return None
    out = dict(current or {'path': None, 'initrd': None, 'cmdline': None})
    for key in ('path', 'initrd', 'cmdline'):
        if value.get(key) is not None:
            out[key] = value[key] or None
    if not out['path']:
        raise InvalidInput('kernel.path is needed for direct kernel boot (an absolute path on the node)')
    for key in ('path', 'initrd'):
        if out[key] and not out[key].startswith('/'):
            raise InvalidInput('kernel.%s must be an absolute path on the node, got %r' % (key, out[key]))
    return out


def write_kernel(root, value, env=None):
    os_el = _os(root)
    for tag in ('kernel', 'initrd', 'cmdline'):
        _xml.remove_all(os_el, tag)
    if not value:
        return
    anchor = os_el.find('type')
    for tag in ('kernel', 'initrd', 'cmdline'):
        if value.get(tag if tag != 'kernel' else 'path'):
            el = _xml.element(tag, value[tag if tag != 'kernel' else 'path'])
            if anchor is not None:
                anchor.addnext(el)
            else:
                os_el.insert(0, el)
            anchor = el


def lifecycle_option(tag, choices):
    def read(root):
        return _xml.text_of(root, tag)

    def write(root, value, env=None):
        el = root.find(tag)
        if el is None:
            el = _xml.sub(root, tag)
        el.text = value
    return Option(tag, dict(type='str', choices=list(choices)), read, write)


def _switch_option(name, read, write, normalise):
    return Option(name, dict(type='raw'), read, write,
                  normalise=lambda value, current, env: normalise(value, current or None))


# -- the table ------------------------------------------------------------------------------
OPTIONS = (
    Option('virt_type', dict(type='str', choices=list(VIRT_TYPES)), read_virt_type, write_virt_type,
           normalise=normalise_virt_type),
    Option('arch', dict(type='str'), read_arch, write_arch),
    Option('machine', dict(type='str'), read_machine, write_machine, normalise=normalise_machine),
    Option('firmware', dict(type='str', choices=list(FIRMWARES)), read_firmware, write_firmware),
    Option('kernel', dict(type='dict', options=dict(
        path=dict(type='str'),
        initrd=dict(type='str'),
        cmdline=dict(type='str'),
    )), read_kernel, write_kernel, normalise=normalise_kernel),
    Option('boot', dict(type='list', elements='str'), read_boot, write_boot, normalise=normalise_boot),
    Option('max_vcpus', dict(type='int'), read_max_vcpus, write_max_vcpus, normalise=positive('max_vcpus')),
    Option('vcpus', dict(type='int'), read_vcpus, write_vcpus, normalise=positive('vcpus'), live='vcpus'),
    Option('cpu', dict(type='dict', options=dict(
        mode=dict(type='str', choices=list(CPU_MODES)),
        model=dict(type='str'),
        topology=dict(type='dict', options=dict(
            sockets=dict(type='int', required=True),
            dies=dict(type='int'),
            cores=dict(type='int', required=True),
            threads=dict(type='int', required=True),
        )),
    )), read_cpu, write_cpu, normalise=normalise_cpu, same_live=same_cpu_live),
    Option('max_memory', dict(type='raw'), read_max_memory, write_max_memory, normalise=size_of('max_memory')),
    Option('memory', dict(type='raw'), read_memory, write_memory, normalise=size_of('memory'), live='memory',
           same_live=lambda live_value, config_value: True),
    Option('title', dict(type='str'), meta.text_reader('title'), meta.text_writer('title'),
           normalise=lambda value, current, env: meta.normalise_text(value), live='metadata'),
    Option('description', dict(type='str'), meta.text_reader('description'), meta.text_writer('description'),
           normalise=lambda value, current, env: meta.normalise_text(value), live='metadata'),
    Option('tags', dict(type='list', elements='str'), meta.read_tags, meta.write_tags,
           normalise=lambda value, current, env: meta.normalise_tags(value), live='metadata'),
    Option('metadata', dict(type='dict'), meta.read_metadata, meta.write_metadata,
           normalise=lambda value, current, env: meta.normalise_metadata(value), live='metadata'),
    lifecycle_option('on_poweroff', LIFECYCLE_ACTIONS),
    lifecycle_option('on_reboot', LIFECYCLE_ACTIONS),
    lifecycle_option('on_crash', CRASH_ACTIONS),
    Option('disks', devices.DISK_SPEC, devices.read_disks, devices.write_disks, normalise=devices.normalise_disks,
           live='disks', partial=True),
    Option('nics', nics.NIC_SPEC, nics.read_nics, nics.write_nics, normalise=nics.normalise_nics,
           live='nics', partial=True),
    Option('graphics', graphics.GRAPHICS_SPEC, graphics.read_graphics, graphics.write_graphics,
           normalise=graphics.normalise_graphics_list, live='graphics'),
    Option('guest_agent', dict(type='bool'), periph.read_guest_agent, periph.write_guest_agent),
    Option('channels', channels.CHANNELS_SPEC, channels.read_channels, channels.write_channels,
           normalise=lambda value, current, env: channels.normalise_channels(value, current), live='channels',
           same_live=channels.same_channels_live),
    Option('serial', periph.SERIAL_SPEC, periph.read_serial, periph.write_serial,
           normalise=lambda value, current, env: periph.normalise_serial(value, current)),
    Option('inputs', periph.INPUTS_SPEC, periph.read_inputs, periph.write_inputs,
           normalise=lambda value, current, env: periph.normalise_inputs(value)),
    _switch_option('rng', periph.read_rng, periph.write_rng, periph.normalise_rng),
    _switch_option('tpm', periph.read_tpm, periph.write_tpm, periph.normalise_tpm),
    _switch_option('watchdog', periph.read_watchdog, periph.write_watchdog, periph.normalise_watchdog),
)

BY_NAME = dict((opt.name, opt) for opt in OPTIONS)
NAMES = tuple(opt.name for opt in OPTIONS)


def argument_spec():
    """The argument spec of every option in the table."""
    return dict((opt.name, dict(opt.spec)) for opt in OPTIONS)


def view(root):
    """Every option read from a definition (the shape ``vm`` returns)."""
    return dict((opt.name, opt.read(root)) for opt in OPTIONS)


def given(params):
    """The table options a task sets."""
    return [opt for opt in OPTIONS if params.get(opt.name) is not None]


def apply_options(root, params, env):
    """Write the options ``params`` sets into ``root`` (in place); returns {name: normalised value}."""
    wanted = {}
    for opt in given(params):
        current = opt.read(root)
        value = opt.normalise(params[opt.name], current, env)
        wanted[opt.name] = value
        if opt.partial or value != current:
            opt.write(root, value, env)
    return wanted


def libvirt_defaults(root, arch=None, machine=None, canonical_machine=None, current=None):
    """A copy of ``root`` with what libvirt fills in when it stores it, as far as ``view`` shows: the prediction
    of a define in check mode.

    The lifecycle actions (destroy, restart, destroy); ``<boot dev='hd'/>`` for an hvm guest with neither a boot
    device list nor a per-device boot order; the ``arch`` and ``machine`` libvirt picks when the definition names
    none (the caller asks the node); a machine alias (``pc``) as its canonical name (``canonical_machine``).
    Without ``<cpu>``, QEMU's default CPU model of the machine type, which only the ``current`` definition of the
    VM can tell: libvirt wrote it there with ``check='none'`` (kept when virt type, arch and machine stay).
    """
    out = copy.deepcopy(root)
    os_type = out.find('os/type')
    if os_type is not None:
        if not os_type.get('arch') and arch:
            os_type.set('arch', arch)
        if os_type.get('machine') and canonical_machine is not None:
            os_type.set('machine', canonical_machine(os_type.get('machine')))
        elif not os_type.get('machine') and machine:
            os_type.set('machine', machine)
    hvm = os_type is None or (os_type.text or 'hvm').strip() == 'hvm'
    if hvm and out.find('os/boot') is None and out.find('devices/*/boot[@order]') is None:
        _xml.sub(_os(out), 'boot', dev='hd')
    for tag, action in LIFECYCLE_DEFAULTS:
        if out.find(tag) is None:
            _xml.sub(out, tag, action)
    default_cpu = current.find('cpu') if current is not None else None
    if out.find('cpu') is None and default_cpu is not None and default_cpu.get('check') == 'none' and \
            _platform(out) == _platform(current):
        out.append(copy.deepcopy(default_cpu))
    return out


def _platform(root):
    return read_virt_type(root), read_arch(root), read_machine(root)


def new_definition(name, virt_type, arch=None):
    """The skeleton of a new domain; options are applied over it."""
    root = _xml.element('domain', type=virt_type)
    _xml.sub(root, 'name', name)
    os_el = _xml.sub(root, 'os')
    _xml.sub(os_el, 'type', 'hvm', arch=arch)
    if (arch or 'x86_64') in ('x86_64', 'i686'):
        features = _xml.sub(root, 'features')
        _xml.sub(features, 'acpi')
        _xml.sub(features, 'apic')
    _xml.sub(root, 'clock', offset='utc')
    for tag, action in LIFECYCLE_DEFAULTS:
        _xml.sub(root, tag, action)  # libvirt's defaults, written out so a check-mode prediction shows them
    _xml.sub(root, 'devices')
    return root
