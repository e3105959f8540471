#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: node_info
short_description: Describe a libvirt hypervisor node - CPU, memory, NUMA, capabilities, host devices and counts
version_added: 0.1.0
description:
  - Returns the hypervisor node as libvirt sees it, read through libvirt-python only.
  - Always returns RV(host) (host name, URI, hypervisor and libvirt versions).
  - The other sections are returned when asked for with O(gather) (all by default), so the slower node device
    scan can be skipped.
  - A driver that cannot answer an optional question (libvirt's test driver has no domain capabilities, memory
    statistics or free page counts; older daemons lack some calls) never fails the task; the value is null and
    the reason is listed in RV(unavailable). Only errors that are not "unsupported" are also shown as warnings.
extends_documentation_fragment:
  - vmcat.libvirt.connection
  - vmcat.libvirt.connection.info
options:
  gather:
    description:
      - The sections to return besides RV(host).
      - V(all) returns every section.
      - V(cpu) reads the capabilities, the domain capabilities (host-model CPU) and expands the CPU features.
      - V(devices) reads every node device's XML, one call per device; leave it out to save that time on
        large or remote hosts.
    type: list
    elements: str
    choices: [all, cpu, memory, numa, capabilities, devices, counts]
    default: [all]
notes:
  - Nested virtualization is read from C(/sys/module/kvm_intel/parameters/nested) or
    C(/sys/module/kvm_amd/parameters/nested) only when O(uri) reaches the local daemon (no host in the URI) of the
    QEMU driver, and C(/dev/kvm) is checked the same way; libvirt has no API for either. For a remote URI, or when
    neither module is loaded, RV(capabilities.kvm.nested) is derived from the host-model CPU of the KVM domain
    capabilities (a required C(vmx)/C(svm) feature means on, a disabled one off), and is null when that says
    nothing either; RV(capabilities.kvm.device) is null for remote URIs.
  - The memory figures come from different libvirt calls (node info, free memory, memory statistics) that the
    kernel answers from different places; inside containers they can disagree.
seealso:
  - module: vmcat.libvirt.pool_info
'''

EXAMPLES = r'''
- name: Everything about the local hypervisor
  vmcat.libvirt.node_info:
  register: node

- name: Show the QEMU version and whether KVM is usable
  ansible.builtin.debug:
    msg: "QEMU {{ node.host.hypervisor_version }}, KVM {{ node.capabilities.kvm.available }}"

- name: A remote node, without the node device scan
  vmcat.libvirt.node_info:
    uri: qemu+ssh://root@kvm1.example.com/system
    gather: [cpu, memory, numa, counts]
  register: kvm1

- name: Free 2 MiB hugepages per NUMA cell
  ansible.builtin.debug:
    msg: "{{ kvm1.numa.cells | map(attribute='pages') | flatten | selectattr('size_kib', 'equalto', 2048) | map(attribute='free') | list }}"

- name: Addresses of the GPUs that could be passed through
  ansible.builtin.debug:
    msg: "{{ node.devices.pci | selectattr('gpu') | map(attribute='address') | list }}"

- name: Pick a machine type the node offers
  ansible.builtin.set_fact:
    machine: "{{ 'q35' if 'q35' in node.capabilities.machine_types[node.capabilities.host_arch] else 'pc' }}"
'''

RETURN = r'''
host:
  description: Who the node is.
  returned: always
  type: dict
  contains:
    hostname:
      description: The node's host name, null when the driver cannot tell.
      type: str
      sample: kvm1
    uri:
      description: The canonical URI of the connection, as libvirt reports it.
      type: str
      sample: qemu:///system
    local:
      description: Whether the URI reaches a daemon on the machine that runs the module (no host part, local socket).
      type: bool
      sample: true
    hypervisor:
      description: The driver's hypervisor type, for example V(QEMU) or V(TEST).
      type: str
      sample: QEMU
    hypervisor_version:
      description: The hypervisor version; for V(QEMU) the QEMU version. Null when the driver has none.
      type: str
      sample: 7.2.22
    libvirt_daemon_version:
      description: The libvirt version of the daemon serving the connection.
      type: str
      sample: 9.0.0
    libvirt_library_version:
      description: The libvirt library version that libvirt-python uses on the host running the module.
      type: str
      sample: 9.0.0
cpu:
  description: The host CPU.
  returned: when V(cpu) or V(all) is in O(gather)
  type: dict
  contains:
    arch:
      description: CPU architecture.
      type: str
      sample: x86_64
    model:
      description: The libvirt CPU model closest to the host CPU, null when the driver names none.
      type: str
      sample: Cascadelake-Server-noTSX
    vendor:
      description: CPU vendor, null when the driver names none.
      type: str
      sample: Intel
    count:
      description: Active logical CPUs.
      type: int
      sample: 2
    mhz:
      description: CPU frequency in MHz, null when unknown.
      type: int
      sample: 2499
    topology:
      description: The CPU topology (from the capabilities, else from the node information).
      type: dict
      contains:
        sockets:
          description: Sockets.
          type: int
        dies:
          description: Dies per socket, null when the driver does not say.
          type: int
        cores:
          description: Cores per die.
          type: int
        threads:
          description: Threads per core.
          type: int
      sample: {sockets: 1, dies: 1, cores: 2, threads: 1}
    features:
      description: Features the capabilities list on top of RV(cpu.model), sorted.
      type: list
      elements: str
      sample: [arch-capabilities, hypervisor, ss]
    flags:
      description:
        - Every feature of the host CPU, sorted, as libvirt expands them from its model (a baseline of the host
          CPU with expanded features). Null when the driver cannot expand them.
      type: list
      elements: str
      sample: [abm, adx, aes, avx, avx2, sse4.2]
    host_model:
      description: The CPU a VM in C(host-model) CPU mode gets, from the domain capabilities. Null without them.
      type: dict
      contains:
        model:
          description: CPU model.
          type: str
          sample: Cascadelake-Server
        vendor:
          description: CPU vendor.
          type: str
          sample: Intel
        fallback:
          description: Whether libvirt may fall back to another model (V(allow), V(forbid)).
          type: str
          sample: forbid
        features:
          description: Features required on top of the model, sorted.
          type: list
          elements: str
          sample: [ss, tsc_adjust]
        disabled:
          description: Features of the model that are disabled, sorted.
          type: list
          elements: str
          sample: [avx512f, pcid]
memory:
  description: Memory of the node, in bytes.
  returned: when V(memory) or V(all) is in O(gather)
  type: dict
  contains:
    total:
      description: Total memory according to the node information.
      type: int
      sample: 5328863232
    free:
      description: Free memory, null when the driver cannot tell.
      type: int
      sample: 4773642240
    stats:
      description:
        - The kernel's memory statistics in bytes - C(total), C(free), C(buffers), C(cached) (whatever keys the
          driver gives). Null when the driver cannot tell.
      type: dict
      sample: {total: 5328863232, free: 4667805696, buffers: 6967296, cached: 332169216}
numa:
  description: NUMA topology with memory, CPUs and pages of each cell.
  returned: when V(numa) or V(all) is in O(gather)
  type: dict
  contains:
    cell_count:
      description: Number of NUMA cells.
      type: int
      sample: 1
    cells:
      description: The cells, by id (empty when the driver describes no NUMA topology).
      type: list
      elements: dict
      contains:
        id:
          description: Cell id.
          type: int
          sample: 0
        memory:
          description: Memory of the cell in bytes.
          type: int
          sample: 5329084416
        free_memory:
          description: Free memory of the cell in bytes, null when the driver cannot tell.
          type: int
          sample: 4773642240
        cpus:
          description: Ids of the cell's CPUs.
          type: list
          elements: int
          sample: [0, 1]
        cpu_count:
          description: Number of the cell's CPUs.
          type: int
          sample: 2
        distances:
          description: Distance to each cell.
          type: list
          elements: dict
          contains:
            cell:
              description: The other cell's id.
              type: int
            value:
              description: The distance (10 is local).
              type: int
          sample: [{cell: 0, value: 10}]
        pages:
          description: One entry per page size.
          type: list
          elements: dict
          contains:
            size_kib:
              description: Page size in KiB.
              type: int
            size:
              description: Page size in bytes.
              type: int
            huge:
              description: Whether these are huge pages (any size but the cell's smallest).
              type: bool
            total:
              description: Pages of this size in the cell.
              type: int
            free:
              description: Free pages of this size in the cell, null when the driver cannot tell.
              type: int
          sample:
            - {size_kib: 4, size: 4096, huge: false, total: 1301046, free: 1165440}
            - {size_kib: 2048, size: 2097152, huge: true, total: 512, free: 512}
capabilities:
  description: What VMs this node can run.
  returned: when V(capabilities) or V(all) is in O(gather)
  type: dict
  contains:
    host_uuid:
      description: The host UUID libvirt reports, null when none.
      type: str
      sample: c9eee16f-e0b9-4ddb-8c29-4d5a0e6156d6
    host_arch:
      description: Host architecture.
      type: str
      sample: x86_64
    iommu:
      description: Whether the host has an IOMMU enabled (needed for PCI passthrough), null when not reported.
      type: bool
      sample: false
    domain_types:
      description: Domain types offered for the host architecture.
      type: list
      elements: str
      sample: [kvm, qemu]
    guests:
      description: Each guest type the capabilities offer.
      type: list
      elements: dict
      contains:
        os_type:
          description: Guest OS type (V(hvm), V(xen), V(exe), ...).
          type: str
        arch:
          description: Guest architecture.
          type: str
        wordsize:
          description: Word size in bits.
          type: int
        emulator:
          description: The emulator binary.
          type: str
        domain_types:
          description: Domain types for this guest type.
          type: list
          elements: str
        machines:
          description:
            - Machine types by name - C(name), C(canonical) (the versioned type an alias such as C(q35) stands
              for, else null), C(max_cpus), C(deprecated).
          type: list
          elements: dict
      sample:
        - os_type: hvm
          arch: x86_64
          wordsize: 64
          emulator: /usr/bin/qemu-system-x86_64
          domain_types: [kvm, qemu]
          machines: [{name: q35, canonical: pc-q35-7.2, max_cpus: 288, deprecated: false}]
    machine_types:
      description: Machine type names (aliases such as C(pc) and C(q35) included) per architecture, sorted.
      type: dict
      sample: {x86_64: [pc, pc-i440fx-7.2, pc-q35-7.2, q35]}
    kvm:
      description: KVM on this node.
      type: dict
      contains:
        available:
          description:
            - Whether libvirt can run KVM domains for the host architecture - it offers the kvm domain type and
              gives its domain capabilities.
          type: bool
          sample: true
        message:
          description: Why KVM is not available, else null.
          type: str
          sample: null
        device:
          description: Whether C(/dev/kvm) exists; null unless O(uri) reaches the local QEMU driver.
          type: bool
          sample: true
        nested:
          description: Whether nested virtualization is on, null when it cannot be told (see the notes).
          type: bool
          sample: false
    uefi:
      description: UEFI firmware for VMs, from the domain capabilities.
      type: dict
      contains:
        available:
          description: Whether UEFI firmware can boot VMs; null without domain capabilities.
          type: bool
          sample: true
        loaders:
          description: Firmware paths offered.
          type: list
          elements: str
          sample: [/usr/share/OVMF/OVMF_CODE_4M.fd]
        secure_boot:
          description: Whether a secure-boot capable loader is offered; null without domain capabilities.
          type: bool
          sample: false
    max_vcpus:
      description: vCPU limits, null when unknown.
      type: dict
      contains:
        machine:
          description: vCPUs a VM of the default machine type may have (domain capabilities).
          type: int
          sample: 255
        hypervisor:
          description: The hypervisor's own limit for the domain type.
          type: int
          sample: 1024
    domain_capabilities:
      description:
        - Summary of the domain capabilities for the host architecture and the preferred domain type (kvm when
          offered, else the first other). Null when the driver has none.
      type: dict
      contains:
        domain_type:
          description: Domain type they describe.
          type: str
          sample: kvm
        arch:
          description: Architecture.
          type: str
          sample: x86_64
        machine:
          description: The default machine type.
          type: str
          sample: pc-i440fx-7.2
        emulator:
          description: The emulator binary.
          type: str
          sample: /usr/bin/qemu-system-x86_64
        vcpu_max:
          description: vCPUs a VM of the default machine type may have.
          type: int
          sample: 255
        cpu_modes:
          description: Supported CPU modes.
          type: list
          elements: str
          sample: [host-passthrough, maximum, host-model, custom]
        devices:
          description: Supported device kinds, each with its enums (name to list of values).
          type: dict
          sample: {disk: {bus: [ide, scsi, virtio, sata]}, video: {modelType: [vga, virtio]}}
        features:
          description: Supported features, sorted.
          type: list
          elements: str
          sample: [backup, genid, vmcoreinfo]
devices:
  description: Host devices from libvirt's node device API. Null when the driver cannot list them.
  returned: when V(devices) or V(all) is in O(gather)
  type: dict
  contains:
    total:
      description: Number of node devices of every kind.
      type: int
      sample: 12
    by_type:
      description: Number of node devices per libvirt capability type (V(pci), V(net), V(storage), V(scsi_host), ...).
      type: dict
      sample: {system: 1, pci: 6, net: 4, storage: 1}
    gpu_count:
      description: Number of PCI display controllers.
      type: int
      sample: 1
    pci:
      description: PCI devices by address.
      type: list
      elements: dict
      contains:
        <<: &node_device  # the fields every node device has; the other lists repeat them
          device:
            description: Node device name.
            type: str
          parent:
            description: Parent node device.
            type: str
          driver:
            description: Bound kernel driver, null when libvirt reports none.
            type: str
        address:
          description: PCI address (domain:bus:slot.function).
          type: str
        vendor_id:
          description: PCI vendor id.
          type: str
        vendor:
          description: Vendor name, null without a PCI ID database on the node.
          type: str
        product_id:
          description: PCI product id.
          type: str
        product:
          description: Product name, null without a PCI ID database on the node.
          type: str
        class_code:
          description: PCI class code, null when libvirt does not report it.
          type: str
        gpu:
          description: Whether it is a display controller (PCI class 0x03xxxx); null when the class is unknown.
          type: bool
        nvme:
          description: Whether it is an NVMe controller (PCI class 0x010802); null when the class is unknown.
          type: bool
        iommu_group:
          description: IOMMU group, null without an IOMMU.
          type: int
        numa_node:
          description: NUMA node of the device, null when not reported.
          type: int
        pci_express:
          description: Whether it is a PCI Express device.
          type: bool
        sriov_max_vfs:
          description: Virtual functions an SR-IOV physical function can have, else null.
          type: int
        mdev_types:
          description: Mediated device types (vGPU profiles and the like) it offers.
          type: list
          elements: str
      sample:
        - device: pci_0000_01_00_0
          parent: pci_0000_00_01_0
          driver: vfio-pci
          address: '0000:01:00.0'
          vendor_id: '0x10de'
          vendor: NVIDIA Corporation
          product_id: '0x1eb8'
          product: TU104GL [Tesla T4]
          class_code: '0x030200'
          gpu: true
          nvme: false
          iommu_group: 14
          numa_node: 0
          pci_express: true
          sriov_max_vfs: null
          mdev_types: []
    usb:
      description: USB devices (not their interfaces), by node device name.
      type: list
      elements: dict
      contains:
        <<: *node_device
        bus:
          description: USB bus number.
          type: int
        number:
          description: Device number on the bus.
          type: int
        vendor_id:
          description: USB vendor id.
          type: str
        vendor:
          description: Vendor name, null without a USB ID database.
          type: str
        product_id:
          description: USB product id.
          type: str
        product:
          description: Product name, null without a USB ID database.
          type: str
        devnode:
          description: Device node path.
          type: str
      sample:
        - {device: usb_1_5, parent: usb_usb1, driver: usb, bus: 1, number: 3, vendor_id: '0x1050', vendor: Yubico.com,
           product_id: '0x0407', product: YubiKey OTP+FIDO+CCID, devnode: /dev/bus/usb/001/003}
    net:
      description: Network interfaces by name.
      type: list
      elements: dict
      contains:
        <<: *node_device
        name:
          description: Interface name.
          type: str
        mac:
          description: MAC address.
          type: str
        link_state:
          description: Link state (V(up), V(down), V(unknown), ...).
          type: str
        link_speed:
          description: Link speed in Mbit/s, null when unknown.
          type: int
      sample:
        - {device: net_eth0_02_fc_00_00_00_01, parent: pci_0000_00_03_0, driver: null, name: eth0,
           mac: '02:fc:00:00:00:01', link_state: up, link_speed: 1000}
    disks:
      description: Block storage by path.
      type: list
      elements: dict
      contains:
        <<: *node_device
        path:
          description: Block device path.
          type: str
        bus:
          description: Bus udev reports (V(ata), V(scsi), V(nvme), V(usb), ...), null when none.
          type: str
        drive_type:
          description: V(disk), V(cdrom), ...
          type: str
        model:
          description: Model.
          type: str
        vendor:
          description: Vendor.
          type: str
        serial:
          description: Serial number.
          type: str
        size:
          description: Size in bytes (of the medium for removable drives, null without one).
          type: int
        removable:
          description: Whether the medium is removable.
          type: bool
        nvme:
          description: Whether it is an NVMe disk (bus V(nvme) or a C(/dev/nvme*) path).
          type: bool
      sample:
        - {device: block_vda, parent: pci_0000_00_02_0, driver: null, path: /dev/vda, bus: null, drive_type: disk,
           model: null, vendor: '0x1af4', serial: null, size: 274877906944, removable: false, nvme: false}
counts:
  description: How many VMs, storage pools and networks the node has (null counts when the driver cannot list them).
  returned: when V(counts) or V(all) is in O(gather)
  type: dict
  contains:
    vms:
      description: VMs by state.
      type: dict
      contains:
        total:
          description: All VMs.
          type: int
        running:
          description: Running VMs.
          type: int
        paused:
          description: Paused VMs.
          type: int
        shutoff:
          description: Shut off VMs.
          type: int
        other:
          description: VMs in any other state (blocked, shutting down, crashed, suspended to memory, ...).
          type: int
      sample: {total: 3, running: 1, paused: 0, shutoff: 2, other: 0}
    pools:
      description: Storage pools.
      type: dict
      contains: &by_activity  # networks count the same way
        total:
          description: All of them.
          type: int
        active:
          description: The running ones.
          type: int
        inactive:
          description: Those that are not running.
          type: int
      sample: {total: 2, active: 2, inactive: 0}
    networks:
      description: Networks.
      type: dict
      contains: *by_activity
      sample: {total: 1, active: 0, inactive: 1}
gathered:
  description: The sections returned besides RV(host), in a fixed order.
  returned: always
  type: list
  elements: str
  sample: [cpu, memory, numa, capabilities, devices, counts]
unavailable:
  description: What the driver could not tell; those values are null.
  returned: always
  type: list
  elements: dict
  contains:
    key:
      description: The value left null (V(domain_capabilities) stands for everything read from them).
      type: str
    reason:
      description: libvirt's message, or why the value cannot be had.
      type: str
  sample:
    - key: memory.stats
      reason: 'this function is not supported by the connection driver: virNodeGetMemoryStats'
'''

# First of ours: importing it installs the code cache (docs/architecture.md).
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _zip_imports  # pylint: disable=unused-import
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module import LibvirtModule
from ansible_collections.vmcat.libvirt.plugins.module_utils._node._node_info import SECTIONS, gather


def main():
    module = LibvirtModule(supports_check_mode=True, argument_spec=dict(
        gather=dict(type='list', elements='str', default=['all'], choices=['all'] + list(SECTIONS)),
    ))
    module.run_info(gather)


if __name__ == '__main__':
    main()
