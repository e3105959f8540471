# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsers for libvirt's capabilities and domain capabilities documents.

Each function takes an lxml element (``virConnectGetCapabilities`` or
``virConnectGetDomainCapabilities`` parsed) and returns plain data for
node_info; nothing here talks to libvirt.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _sizes
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml

KIB = 1024
MIB = 1024 * 1024


def _int(value):
    return None if value in (None, '') else int(value)


def _kib_bytes(el, default=None):
    """Bytes of an element holding a size with a ``unit`` (libvirt writes KiB here)."""
    if el is None or el.text is None:
        return default
    return int(el.text.strip()) * _sizes.unit_factor(el.get('unit') or 'KiB', 'size in node XML')


# -- capabilities XML ------------------------------------------------------------
def parse_host_cpu(caps):
    """The host CPU of a capabilities document."""
    cpu = caps.find('host/cpu')
    topo = cpu.find('topology') if cpu is not None else None
    features = [f.get('name') for f in cpu.findall('feature')] if cpu is not None else []
    if cpu is not None and cpu.find('features') is not None:  # older style: <features><pae/></features>
        features.extend(child.tag for child in cpu.find('features') if isinstance(child.tag, str))
    return {
        'arch': _xml.text_of(cpu, 'arch'),
        'model': _xml.text_of(cpu, 'model'),
        'vendor': _xml.text_of(cpu, 'vendor'),
        'topology': None if topo is None else dict(
            (key, _int(topo.get(key))) for key in ('sockets', 'dies', 'cores', 'threads')),
        'features': sorted(set(features)),
        'page_sizes_kib': [int(p.get('size')) for p in cpu.findall('pages')] if cpu is not None else [],
    }


def parse_numa_cells(caps):
    """NUMA cells of a capabilities document (without free counts)."""
    cells = []
    for cell in caps.findall('host/topology/cells/cell'):
        cells.append({
            'id': int(cell.get('id')),
            'memory': _kib_bytes(cell.find('memory')),
            'cpus': [int(c.get('id')) for c in cell.findall('cpus/cpu')],
            'distances': dict((int(s.get('id')), int(s.get('value'))) for s in cell.findall('distances/sibling')),
            'pages': [{'size_kib': int(p.get('size')), 'total': int(p.text)} for p in cell.findall('pages')],
        })
    return sorted(cells, key=lambda c: c['id'])


def parse_guests(caps):
    """The guest types a capabilities document offers, with machine types."""
    guests = []
    for guest in caps.findall('guest'):
        arch = guest.find('arch')
        machines = []
        for machine in arch.findall('machine') if arch is not None else []:
            machines.append({
                'name': machine.text.strip(),
                'canonical': machine.get('canonical'),
                'max_cpus': _int(machine.get('maxCpus')),
                'deprecated': machine.get('deprecated') == 'yes',
            })
        guests.append({
            'os_type': _xml.text_of(guest, 'os_type'),
            'arch': arch.get('name') if arch is not None else None,
            'wordsize': _int(_xml.text_of(arch, 'wordsize')),
            'emulator': _xml.text_of(arch, 'emulator'),
            'domain_types': sorted(set(d.get('type') for d in arch.findall('domain'))) if arch is not None else [],
            'machines': sorted(machines, key=lambda m: m['name']),
        })
    return guests


def machine_types(guests):
    """Machine type names (aliases included) per guest architecture."""
    result = {}
    for guest in guests:
        names = result.setdefault(guest['arch'], set())
        names.update(m['name'] for m in guest['machines'])
    return dict((arch, sorted(names)) for arch, names in result.items())


def domain_types(guests, arch):
    types = set()
    for guest in guests:
        if guest['arch'] == arch:
            types.update(guest['domain_types'])
    return sorted(types)


def iommu_support(caps):
    support = _xml.attr_of(caps, 'host/iommu', 'support')
    return None if support is None else support == 'yes'


# -- domain capabilities XML -----------------------------------------------------
def _enums(el):
    return dict((e.get('name'), [v.text.strip() for v in e.findall('value') if v.text])
                for e in el.findall('enum'))


def parse_host_model(domcaps):
    """The host-model CPU of a domain capabilities document, or None when the mode is unsupported."""
    mode = domcaps.find("cpu/mode[@name='host-model']")
    if mode is None or mode.get('supported') != 'yes':
        return None
    policies = {}
    for feature in mode.findall('feature'):
        policies.setdefault(feature.get('policy') or 'require', []).append(feature.get('name'))
    return {
        'model': _xml.text_of(mode, 'model'),
        'vendor': _xml.text_of(mode, 'vendor'),
        'fallback': _xml.attr_of(mode, 'model', 'fallback'),
        'features': sorted(policies.get('require', []) + policies.get('force', [])),
        'disabled': sorted(policies.get('disable', []) + policies.get('forbid', [])),
    }


def parse_uefi(domcaps):
    """UEFI firmware the domain capabilities offer."""
    os_el = domcaps.find('os')
    if os_el is None:
        return {'available': None, 'loaders': [], 'secure_boot': None}
    firmware = _enums(os_el).get('firmware', [])
    loader = os_el.find('loader')
    loaders = [v.text.strip() for v in loader.findall('value') if v.text] if loader is not None else []
    secure = _enums(loader).get('secure', []) if loader is not None else []
    available = os_el.get('supported') != 'no' and ('efi' in firmware or bool(loaders))
    return {'available': available, 'loaders': loaders, 'secure_boot': 'yes' in secure}


def parse_domain_capabilities(domcaps):
    """A summary of a domain capabilities document: what a new VM of its type may use."""
    devices = {}
    for dev in domcaps.find('devices') if domcaps.find('devices') is not None else []:
        if isinstance(dev.tag, str) and dev.get('supported') == 'yes':
            devices[dev.tag] = _enums(dev)
    features = domcaps.find('features')
    return {
        'domain_type': _xml.text_of(domcaps, 'domain'),
        'arch': _xml.text_of(domcaps, 'arch'),
        'machine': _xml.text_of(domcaps, 'machine'),
        'emulator': _xml.text_of(domcaps, 'path'),
        'vcpu_max': _int(_xml.attr_of(domcaps, 'vcpu', 'max')),
        'cpu_modes': [m.get('name') for m in domcaps.findall('cpu/mode') if m.get('supported') == 'yes'],
        'devices': devices,
        'features': sorted(f.tag for f in (features if features is not None else [])
                           if isinstance(f.tag, str) and f.get('supported') == 'yes'),
    }
