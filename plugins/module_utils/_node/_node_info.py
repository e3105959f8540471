# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hypervisor node as it is: identity, CPU, memory, NUMA, capabilities, counts.

``gather(ctx)`` builds what node_info returns.  Every section is read with
libvirt-python and the XML parsed with lxml; the parsers take XML
elements (in ``_node_caps``) so unit tests feed them captured samples.
Node devices live in ``_node_devices``.

Drivers answer different subsets of the API (libvirt's test driver has no
domain capabilities, memory stats or free page counts).  An optional call
that fails leaves its value null and adds an entry to ``unavailable``; only
calls every driver has (capabilities, node info) fail the task.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import (
    LibvirtError, is_unimplemented, is_unsupported, libvirt_message)
from ansible_collections.vmcat.libvirt.plugins.module_utils._node._caps import (
    KIB,
    MIB,
    domain_types,
    iommu_support,
    machine_types,
    parse_domain_capabilities,
    parse_guests,
    parse_host_cpu,
    parse_host_model,
    parse_numa_cells,
    parse_uefi,
)
from ansible_collections.vmcat.libvirt.plugins.module_utils._node._devices import devices_section

try:
    import libvirt
except ImportError:  # pragma: no cover - reported by the module wrapper
    libvirt = None

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover - Python 2
    from urlparse import urlsplit

SECTIONS = ('cpu', 'memory', 'numa', 'capabilities', 'devices', 'counts')
# Files of the kvm_intel / kvm_amd modules that say whether nested virtualization is on.
NESTED_PARAMS = ('module/kvm_intel/parameters/nested', 'module/kvm_amd/parameters/nested')
_VIRT_FEATURES = ('vmx', 'svm')


# -- small helpers ---------------------------------------------------------------
def version_string(number):
    """libvirt's packed version (major * 1,000,000 + minor * 1,000 + micro) as text; 0 or None is None."""
    if not number:
        return None
    number = int(number)
    return '%d.%d.%d' % (number // 1000000, (number // 1000) % 1000, number % 1000)


def is_local_uri(uri):
    """True when the URI reaches a daemon on this machine (no host, local socket transport)."""
    parts = urlsplit(uri or '')
    transport = parts.scheme.partition('+')[2]
    return not parts.netloc and transport in ('', 'unix')


def nested_from_sysfs(sysfs='/sys'):
    """Nested virtualization from the kvm_intel/kvm_amd module parameter, or None when neither is loaded."""
    for rel in NESTED_PARAMS:
        path = os.path.join(sysfs, rel)
        try:
            with open(path) as handle:
                value = handle.read().strip()
        except (IOError, OSError):
            continue
        return value.upper() in ('Y', '1')
    return None


def nested_from_host_model(host_model):
    """What the host-model CPU says about vmx/svm: required -> True, disabled -> False, absent -> None."""
    if not host_model:
        return None
    if any(f in host_model['features'] for f in _VIRT_FEATURES):
        return True
    if any(f in host_model['disabled'] for f in _VIRT_FEATURES):
        return False
    return None


# -- reading the node, one optional call at a time --------------------------------
class Probe:
    """The connection plus what could not be read (``unavailable``) and cached documents."""

    def __init__(self, ctx, sysfs='/sys', dev_kvm='/dev/kvm'):
        self.conn = ctx.conn
        self.virt = ctx.conn.virt
        self.warn = ctx.warn
        self.sysfs = sysfs
        self.dev_kvm = dev_kvm
        self.unavailable = []
        self._caps = None
        self._domcaps = None
        self._info = None
        self.uri = self.conn.uri
        self.uri = self.optional('host.uri', self.virt.getURI) or self.conn.uri
        self.hypervisor = self.optional('host.hypervisor', self.virt.getType)

    def optional(self, key, fn, *args):
        """``fn(*args)``, or None (noted under ``key``) when libvirt cannot answer it."""
        try:
            return fn(*args)
        except LibvirtError as exc:
            self.gap(key, libvirt_message(exc))
            if not is_unsupported(exc):  # "this driver (or host) cannot tell": no warning for those
                self.warn('%s on %s: %s' % (key, self.uri, libvirt_message(exc)))
            return None

    def gap(self, key, reason):
        self.unavailable.append({'key': key, 'reason': reason})

    @property
    def local(self):
        return is_local_uri(self.uri)

    def caps(self):
        if self._caps is None:
            with self.conn.translated('read', 'the capabilities of the node'):
                self._caps = _xml.parse(self.virt.getCapabilities(), 'capabilities')
        return self._caps

    def info(self):
        """virNodeGetInfo: [arch, memory MiB, cpus, MHz, NUMA nodes, sockets per node, cores, threads]."""
        if self._info is None:
            with self.conn.translated('read', 'node information'):
                self._info = self.virt.getInfo()
        return self._info

    def guests(self):
        return parse_guests(self.caps())

    def host_arch(self):
        return parse_host_cpu(self.caps())['arch'] or self.info()[0]

    def domcaps(self):
        """(domain type tried first, its domain capabilities element or None, kvm error message or None)."""
        if self._domcaps is None:
            self._domcaps = self._read_domcaps()
        return self._domcaps

    def _read_domcaps(self):
        arch = self.host_arch()
        guests = self.guests()
        if arch not in [g['arch'] for g in guests] and guests:
            arch = guests[0]['arch']
        types = domain_types(guests, arch)
        kvm_error = None
        order = (['kvm'] if 'kvm' in types else []) + [t for t in types if t != 'kvm']
        for virttype in order or [None]:
            try:
                text = self.virt.getDomainCapabilities(None, arch, None, virttype, 0)
                return virttype, _xml.parse(text, 'domain capabilities'), kvm_error
            except LibvirtError as exc:
                if is_unimplemented(exc):  # not is_unsupported: refusing kvm (CONFIG_UNSUPPORTED) falls back to qemu
                    self.gap('domain_capabilities', libvirt_message(exc))
                    return virttype, None, None
                if virttype == 'kvm':
                    kvm_error = libvirt_message(exc)
                else:
                    self.gap('domain_capabilities', libvirt_message(exc))
        return None, None, kvm_error


# -- sections -----------------------------------------------------------------------
def host_section(probe):
    virt = probe.virt
    return {
        'hostname': probe.optional('host.hostname', virt.getHostname),
        'uri': probe.uri,
        'local': probe.local,
        'hypervisor': probe.hypervisor,
        'hypervisor_version': version_string(probe.optional('host.hypervisor_version', virt.getVersion)),
        'libvirt_daemon_version': version_string(probe.optional('host.libvirt_daemon_version', virt.getLibVersion)),
        'libvirt_library_version': version_string(libvirt.getVersion()) if libvirt is not None else None,
    }


def cpu_section(probe):
    host = parse_host_cpu(probe.caps())
    info = probe.info()
    topology = host['topology']
    if topology is None:  # not in the capabilities: node info counts sockets per NUMA node
        topology = {'sockets': info[4] * info[5], 'dies': None, 'cores': info[6], 'threads': info[7]}
    _virttype, domcaps, _kvm_error = probe.domcaps()
    return {
        'arch': host['arch'] or info[0],
        'model': host['model'],
        'vendor': host['vendor'],
        'count': info[2],
        'mhz': info[3] or None,
        'topology': topology,
        'features': host['features'],
        'flags': _expanded_flags(probe),
        'host_model': parse_host_model(domcaps) if domcaps is not None else None,
    }


def _expanded_flags(probe):
    """Every feature of the host CPU: libvirt's baseline of it with the features expanded."""
    cpu = probe.caps().find('host/cpu')
    if cpu is None or cpu.find('model') is None:
        probe.gap('cpu.flags', 'the driver names no host CPU model to expand')
        return None
    flag = getattr(libvirt, 'VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES', 1)
    text = probe.optional('cpu.flags', probe.virt.baselineCPU, [_xml.to_string(cpu, pretty=False)], flag)
    if not text:
        return None
    baseline = _xml.parse(text, 'baseline CPU')
    return sorted(f.get('name') for f in baseline.findall('feature') if f.get('policy') in (None, 'require'))


def memory_section(probe):
    info = probe.info()
    stats = probe.optional('memory.stats', probe.virt.getMemoryStats, -1, 0)
    return {
        'total': info[1] * MIB,
        'free': probe.optional('memory.free', probe.virt.getFreeMemory),
        'stats': None if not stats else dict((key, value * KIB) for key, value in stats.items()),
    }


def numa_section(probe):
    cells = parse_numa_cells(probe.caps())
    if not cells:
        probe.gap('numa.cells', 'the capabilities describe no NUMA topology')
        return {'cell_count': probe.info()[4], 'cells': []}
    first, last = cells[0]['id'], cells[-1]['id']
    free_memory = probe.optional('numa.cells.free_memory', probe.virt.getCellsFreeMemory, first, last - first + 1)
    sizes = sorted(set(p['size_kib'] for cell in cells for p in cell['pages']))
    free_pages = probe.optional('numa.cells.pages.free', probe.virt.getFreePages, sizes, first, last - first + 1, 0)
    if free_pages == {} and sizes:
        probe.gap('numa.cells.pages.free', 'the driver returned no free page counts')
    for cell in cells:
        smallest = min([p['size_kib'] for p in cell['pages']] or [None])
        cell['free_memory'] = free_memory[cell['id'] - first] if free_memory else None
        cell['cpu_count'] = len(cell['cpus'])
        cell['distances'] = [{'cell': k, 'value': v} for k, v in sorted(cell['distances'].items())]
        per_size = (free_pages or {}).get(cell['id'], {})
        for page in cell['pages']:
            page['size'] = page['size_kib'] * KIB
            page['huge'] = page['size_kib'] != smallest
            page['free'] = per_size.get(page['size_kib'])
    return {'cell_count': len(cells), 'cells': cells}


def kvm_facts(probe, guests, arch, domcaps_result):
    """KVM: does libvirt offer it, is /dev/kvm there, is nested virtualization on."""
    virttype, domcaps, kvm_error = domcaps_result
    host_model = parse_host_model(domcaps) if domcaps is not None and virttype == 'kvm' else None
    offered = 'kvm' in domain_types(guests, arch)
    if not offered:
        available, message = False, 'the capabilities offer no kvm domain type for %s' % arch
    elif kvm_error:
        available, message = False, kvm_error
    else:
        available, message = True, None
    local_qemu = probe.local and probe.hypervisor == 'QEMU'
    nested = nested_from_sysfs(probe.sysfs) if local_qemu else None
    if nested is None:
        nested = nested_from_host_model(host_model)
    return {
        'available': available,
        'message': message,
        'device': os.path.exists(probe.dev_kvm) if local_qemu else None,
        'nested': nested,
    }


def capabilities_section(probe):
    caps = probe.caps()
    guests = probe.guests()
    arch = probe.host_arch()
    domcaps_result = probe.domcaps()
    virttype, domcaps, _kvm_error = domcaps_result
    summary = parse_domain_capabilities(domcaps) if domcaps is not None else None
    driver_max = probe.optional('capabilities.max_vcpus.hypervisor', probe.virt.getMaxVcpus, virttype)
    return {
        'host_uuid': _xml.text_of(caps, 'host/uuid'),
        'host_arch': arch,
        'iommu': iommu_support(caps),
        'domain_types': domain_types(guests, arch),
        'guests': guests,
        'machine_types': machine_types(guests),
        'kvm': kvm_facts(probe, guests, arch, domcaps_result),
        'uefi': parse_uefi(domcaps) if domcaps is not None else {'available': None, 'loaders': [], 'secure_boot': None},
        'max_vcpus': {
            'machine': summary['vcpu_max'] if summary else None,
            'hypervisor': driver_max,
        },
        'domain_capabilities': summary,
    }


def _count(probe, key, fn, flags):
    found = probe.optional(key, fn, flags)
    return None if found is None else len(found)


def counts_section(probe):
    virt = probe.virt
    vms = dict((state, _count(probe, 'counts.vms.%s' % state, virt.listAllDomains,
                              getattr(libvirt, 'VIR_CONNECT_LIST_DOMAINS_%s' % state.upper())))
               for state in ('running', 'paused', 'shutoff', 'other'))
    result = {'vms': vms}
    known = [v for v in vms.values() if v is not None]
    vms['total'] = sum(known) if len(known) == len(vms) else None
    for key, fn, prefix in (('pools', virt.listAllStoragePools, 'VIR_CONNECT_LIST_STORAGE_POOLS_'),
                            ('networks', virt.listAllNetworks, 'VIR_CONNECT_LIST_NETWORKS_')):
        active = _count(probe, 'counts.%s.active' % key, fn, getattr(libvirt, prefix + 'ACTIVE'))
        inactive = _count(probe, 'counts.%s.inactive' % key, fn, getattr(libvirt, prefix + 'INACTIVE'))
        total = None if active is None or inactive is None else active + inactive
        result[key] = {'total': total, 'active': active, 'inactive': inactive}
    return result


_SECTION_READERS = {
    'cpu': cpu_section,
    'memory': memory_section,
    'numa': numa_section,
    'capabilities': capabilities_section,
    'devices': devices_section,
    'counts': counts_section,
}


def wanted_sections(gather_option):
    wanted = set(gather_option or ['all'])
    if 'all' in wanted:
        return list(SECTIONS)
    return [s for s in SECTIONS if s in wanted]


def gather(ctx, sysfs='/sys', dev_kvm='/dev/kvm'):
    """What node_info returns: host, the sections asked for, ``gathered`` and ``unavailable``."""
    probe = Probe(ctx, sysfs=sysfs, dev_kvm=dev_kvm)
    result = {'host': host_section(probe)}
    sections = wanted_sections(ctx.params.get('gather'))
    for name in sections:
        result[name] = _SECTION_READERS[name](probe)
    result['gathered'] = sections
    result['unavailable'] = probe.unavailable
    return result
