# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Input checks for the vm module, all before anything changes.

Three layers: ``check_params`` (the options alone), ``check_node`` (against
the node: networks exist, MAC addresses free) and ``check_wanted`` (the
definition the options produce: vCPUs within the machine type's maximum and
warned about above the node's CPUs, memory within its maximum and the host,
CPU topology, boot order).  ``check_new_name``: the name of a VM the task
makes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _devices as devices
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _nics as nics
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _options as options
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import (
    InvalidInput, LibvirtError, is_not_found)
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._object_names import check_object_name
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._sizes import format_size

from ansible_collections.vmcat.libvirt.plugins.module_utils._vm import _runtime_options

_XML_INACTIVE = 2  # VIR_DOMAIN_XML_INACTIVE


def check_params(params, uri=None):
    """The options on their own: exclusive options, timeouts, an empty name."""
    name = params['name']
    if not name or not name.strip():
        raise InvalidInput('VM name %r on %s is not valid: it must not be empty; give the name of the VM' % (name, uri))
    if params.get('xml'):
        structured = [n for n in options.NAMES if params.get(n) is not None]
        if params.get('cloud_init') is not None:
            structured.append('cloud_init')
        if structured:
            raise InvalidInput('xml is a complete definition; it cannot be combined with the structured options %s. '
                               'Use one or the other' % ', '.join(structured))
    for key in ('shutdown_timeout', 'unplug_timeout'):
        if params.get(key) is not None and params[key] <= 0:
            raise InvalidInput('%s must be larger than 0 seconds' % key)
    if params.get('remove_storage') and params['state'] != 'absent':
        raise InvalidInput('remove_storage applies to state: absent (the VM and the volumes it owns are removed)')
    if params.get('title') and '\n' in params['title']:
        raise InvalidInput('title must be a single line (libvirt refuses line breaks in it)')
    _runtime_options.validate_extras(params)


def check_new_name(name, uri):
    """The name of a VM this task is about to make: the rules pools and networks follow (``_object_names``).

    Only for a VM that does not exist yet: one made elsewhere under such a name can still be changed, stopped and
    removed.
    """
    return check_object_name('VM', name, uri, 'vm1')


def _definitions(dom):
    try:
        roots = [_xml.parse(dom.XMLDesc(0))]
        if dom.isActive() and dom.isPersistent():
            roots.append(_xml.parse(dom.XMLDesc(_XML_INACTIVE)))
    except LibvirtError as exc:
        if is_not_found(exc):  # a VM undefined while we look has no MACs
            return []
        raise
    return roots


def mac_owners(conn, name):
    """{mac: other VM name} for every NIC of every other VM on the node (saved and running definitions)."""
    owners = {}
    for dom in conn.all_domains():
        if dom.name() == name:
            continue
        for root in _definitions(dom):
            for nic in nics.read_nics(root):
                if nic['mac']:
                    owners.setdefault(nic['mac'], dom.name())
    return owners


def check_node(ctx, task_nics, name):
    """The task's NICs against the node: their networks exist, their MACs are not another VM's."""
    conn = ctx.conn
    for nic in task_nics or []:
        if nic.get('network'):
            conn.require_network(nic['network'])
    macs = [n['mac'] for n in task_nics or [] if n.get('mac')]
    if macs:
        with conn.translated('list the MAC addresses of', 'the other VMs'):
            owners = mac_owners(conn, name)
        clashes = ['%s (VM %s)' % (mac, owners[mac]) for mac in macs if mac in owners]
        if clashes:
            raise InvalidInput("VM '%s' on %s: MAC addresses already used by other VMs: %s; every NIC on a node needs "
                               "its own MAC (leave mac unset and libvirt picks a free one)"
                               % (name, conn.uri, ', '.join(clashes)))


def host_memory(conn):
    """The node's memory in bytes (None when libvirt cannot tell)."""
    try:
        return int(conn.virt.getInfo()[1]) * 1024 * 1024
    except LibvirtError:  # best-effort read for a check: None skips the check, the define itself still validates
        return None


def host_cpus(conn):
    """The node's logical CPUs (None when libvirt cannot tell)."""
    try:
        return int(conn.virt.getInfo()[2])
    except LibvirtError:  # best-effort read for a check: None skips the check, the define itself still validates
        return None


def machine_vcpu_limit(conn, root):
    """(most vCPUs, machine type) the VM's machine type takes with its virt type, from the domain capabilities.

    libvirt's ``<vcpu max>`` there is the machine type's limit (for KVM also the kernel's). (None, None) when
    libvirt cannot tell: drivers without domain capabilities (the test driver), a virt type the node lacks (the
    define then fails with libvirt's own message).
    """
    try:
        text = conn.virt.getDomainCapabilities(None, options.read_arch(root), options.read_machine(root),
                                               options.read_virt_type(root), 0)
    except LibvirtError:  # not supported, or no such machine or virt type here
        return None, None
    caps = _xml.parse(text, 'domain capabilities')
    limit = caps.find('vcpu')
    if limit is None or not (limit.get('max') or '').isdigit():
        return None, None
    return int(limit.get('max')), _xml.text_of(caps, 'machine') or options.read_machine(root)


def _same_vcpu_setup(before_root, root):
    """Same maximum vCPUs, virt type, arch and machine type (an arch or machine the definition leaves out stays)."""
    if before_root is None:
        return False
    for read in (options.read_max_vcpus, options.read_virt_type, options.read_arch, options.read_machine):
        if read(root) is not None and read(root) != read(before_root):
            return False
    return True


def check_vcpus(ctx, root, name, before_root=None):
    """vCPUs within the machine type's maximum (else InvalidInput), and a warning when more than the node's CPUs.

    Only for a new VM, or when its maximum (the warning) or virt type, arch or machine type (the limit) change: an
    existing VM is not asked about again on every run.
    """
    if _same_vcpu_setup(before_root, root):
        return
    conn = ctx.conn
    vcpus, max_vcpus = options.read_vcpus(root), options.read_max_vcpus(root)
    counts = 'max_vcpus %d' % max_vcpus if vcpus == max_vcpus else 'max_vcpus %d (vcpus %d)' % (max_vcpus, vcpus)
    limit, machine = machine_vcpu_limit(conn, root)
    if limit is not None and max_vcpus > limit:
        raise InvalidInput("VM '%s' on %s: %s is more than machine type %s with %s allows (%d, libvirt's domain "
                           "capabilities); lower vcpus and max_vcpus to %d at most, or choose a machine type that "
                           "allows more (node_info lists each machine type's max_cpus)"
                           % (name, conn.uri, counts, machine or 'default', options.read_virt_type(root), limit,
                              limit))
    if before_root is not None and options.read_max_vcpus(before_root) == max_vcpus:
        return
    cpus = host_cpus(conn)
    if cpus and max_vcpus > cpus:
        ctx.warn("VM '%s' on %s: %s is more than the %d CPUs of the node. libvirt allows it (the vCPUs are "
                 "overcommitted), but they then wait for each other and the guest runs slower than with fewer; lower "
                 "max_vcpus to %d at most unless this is meant" % (name, conn.uri, counts, cpus, cpus))


def check_wanted(ctx, root, name, before_root=None):
    """The definition the task's options make: consistent, and within what the node has.

    ``before_root``: the VM's saved definition (None for a new VM), to ask the node about vCPUs only when they change.
    """
    what = "VM '%s'" % name
    vcpus, max_vcpus = options.read_vcpus(root), options.read_max_vcpus(root)
    if vcpus > max_vcpus:
        raise InvalidInput('%s: vcpus %d is above max_vcpus %d; raise max_vcpus too' % (what, vcpus, max_vcpus))
    check_vcpus(ctx, root, name, before_root)
    memory, max_memory = options.read_memory(root), options.read_max_memory(root)
    if memory is None:
        raise InvalidInput('%s: memory is not set; a new VM needs memory (such as 2G)' % what)
    if memory > max_memory:
        raise InvalidInput('%s: memory %s is above max_memory %s; raise max_memory too'
                           % (what, format_size(memory), format_size(max_memory)))
    total = host_memory(ctx.conn)
    if total and max_memory > total:
        raise InvalidInput('%s: max_memory %s is more than the node has (%s)'
                           % (what, format_size(max_memory), format_size(total)))
    cpu = options.read_cpu(root)
    topology = cpu and cpu.get('topology')
    if topology:
        product = topology['sockets'] * topology['dies'] * topology['cores'] * topology['threads']
        if product != max_vcpus:
            raise InvalidInput('%s: cpu.topology gives %d vCPUs (sockets x dies x cores x threads) but max_vcpus is '
                               '%d; they must be equal' % (what, product, max_vcpus))
    for disk in devices.read_disks(root):
        if disk['io'] == 'native' and disk['cache'] not in (None, 'none', 'directsync'):
            raise InvalidInput("%s: disk %s has io native with cache %s; io native needs cache none or directsync "
                               "(libvirt refuses the rest)" % (what, disk['target'], disk['cache']))
    boot_orders = [d for d in devices.read_disks(root) if d['boot_order']]
    if boot_orders and options.read_boot(root):
        raise InvalidInput('%s: boot (the boot device list) and disks[].boot_order exclude each other (libvirt '
                           'refuses both); set boot: [] when using boot_order' % what)
    orders = [d['boot_order'] for d in boot_orders]
    if len(set(orders)) != len(orders):
        raise InvalidInput('%s: two disks have the same boot_order' % what)
