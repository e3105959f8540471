#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: vm_info
short_description: List libvirt VMs in the shape of the vm module's options, with state, sizes and addresses
version_added: 0.1.0
description:
  - Returns every VM of a node, or those matching O(name), O(state) and O(tags), in the shape of
    M(vmcat.libvirt.vm)'s options (read from each VM's saved definition), plus what only the node knows
    (run state, disk sizes, NIC addresses, snapshots, uptime, changes waiting for a restart).
  - Graphics passwords are never returned.
  - O(query) runs a JMESPath expression over the list, for the cases the filters do not cover.
extends_documentation_fragment:
  - vmcat.libvirt.connection
  - vmcat.libvirt.connection.info
requirements:
  - jmespath (only for O(query))
options:
  name:
    description: Only this VM. The task fails, listing the VMs that exist, when it is not there.
    type: str
  state:
    description:
      - Only VMs in one of these run states (the values of RV(vms[].state)).
    type: list
    elements: str
    choices: [running, paused, shutdown, crashed, pmsuspended]
  tags:
    description: Only VMs that carry all of these tags (see O(vmcat.libvirt.vm#module:tags)).
    type: list
    elements: str
  query:
    description:
      - A JMESPath expression run over the list of VMs (after the other filters); its result is returned in
        RV(query_result). Needs the Python library C(jmespath) on the host that runs the module.
      - 'For example V([?max_memory > `1073741824`].name) or V([].{name: name, ips: nics[].addresses[].ip}).'
    type: str
notes:
  - RV(vms[].uptime) is the age of the VM's QEMU process. libvirt does not record a boot time, so it is read from
    C(/run/libvirt/qemu/<name>.pid) and C(/proc/<pid>/stat); that works only for C(qemu:///system) with the
    module running on the node itself, and is null for every other URI (and for VMs that are not running).
    A reboot inside the guest does not restart the QEMU process.
  - NIC addresses come from the guest agent, the DHCP leases of libvirt networks and the host's ARP table, in that
    order (see the vm module's O(vmcat.libvirt.vm#module:ip_source)); a source that has nothing to say is skipped.
seealso:
  - module: vmcat.libvirt.vm
'''

EXAMPLES = r'''
- name: All VMs of the node
  vmcat.libvirt.vm_info:
  register: all_vms

- name: One VM
  vmcat.libvirt.vm_info:
    name: web1
  register: web1

- name: Running web servers
  vmcat.libvirt.vm_info:
    state: [running]
    tags: [web]
  register: web

- name: Names and addresses of the VMs with more than 2 GiB
  vmcat.libvirt.vm_info:
    query: "[?max_memory > `2147483648`].{name: name, ips: nics[].addresses[].ip}"
  register: big

- name: Give web2 the tags, metadata and CPU of web1 (the result has the shape of the vm options)
  vmcat.libvirt.vm:
    name: web2
    tags: "{{ web1.vms[0].tags }}"
    metadata: "{{ web1.vms[0].metadata }}"
    cpu: "{{ web1.vms[0].cpu }}"
'''

RETURN = r'''
vms:
  description:
    - The VMs, sorted by name. Each has the keys of M(vmcat.libvirt.vm)'s options as read from the saved
      definition (the running VM may differ, see RV(vms[].pending_changes)), plus read-only facts.
    - Sizes are bytes.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the VM.
      type: str
    uuid:
      description: UUID of the VM.
      type: str
    id:
      description: libvirt's id of the running VM; null when it is not running.
      type: int
    state:
      description:
        - The run state in the words of the vm module's O(vmcat.libvirt.vm#module:state) option
          (V(shutdown) means shut off), or V(crashed) or V(pmsuspended).
      type: str
      sample: running
    state_reason:
      description: libvirt's state and the reason for it.
      type: str
      sample: shut off (destroyed)
    persistent:
      description: Whether the VM has a saved definition (a transient VM vanishes when stopped).
      type: bool
    autostart:
      description: Whether libvirt starts the VM when the daemon starts.
      type: bool
    snapshot_count:
      description: Number of snapshots; null when the driver cannot tell.
      type: int
    uptime:
      description: Seconds since the VM's QEMU process started; null when unknown (see the notes).
      type: int
    restart_required:
      description: Whether the running VM differs from its saved definition.
      type: bool
    pending_changes:
      description: Option paths where the running VM differs from its saved definition (applied at the next restart).
      type: list
      elements: str
      sample: [max_vcpus, cpu.mode, 'disks[vdb].cache']
    virt_type:
      description: Domain type, V(kvm) or V(qemu).
      type: str
    arch:
      description: Guest architecture.
      type: str
    machine:
      description: Machine type as libvirt stores it (the canonical name, such as C(pc-i440fx-7.2)).
      type: str
    firmware:
      description: V(bios) or V(uefi).
      type: str
    kernel:
      description: Direct kernel boot (C(path), C(initrd), C(cmdline)); null when the VM boots its disks.
      type: dict
    boot:
      description: Boot devices in order.
      type: list
      elements: str
    vcpus:
      description: vCPUs the VM starts with.
      type: int
    max_vcpus:
      description: Most vCPUs the VM can have.
      type: int
    cpu:
      description: CPU C(mode), C(model) (custom mode) and C(topology) (C(sockets), C(dies), C(cores), C(threads)).
      type: dict
    memory:
      description: Memory the VM starts with (the balloon target).
      type: int
    max_memory:
      description: Most memory the VM can have.
      type: int
    title:
      description: Short title.
      type: str
    description:
      description: Description.
      type: str
    tags:
      description: Tags (sorted).
      type: list
      elements: str
    metadata:
      description: Free-form metadata.
      type: dict
    on_poweroff:
      description: What libvirt does when the guest powers off.
      type: str
    on_reboot:
      description: What libvirt does when the guest reboots.
      type: str
    on_crash:
      description: What libvirt does when the guest crashes.
      type: str
    disks:
      description:
        - Disks with C(target), C(device), C(bus), the source (C(pool) and C(volume), or C(path)), C(format),
          C(cache), C(io), C(discard), C(readonly), C(serial) and C(boot_order).
        - Read-only C(capacity) and C(allocation) in bytes (null for an empty CD-ROM drive).
      type: list
      elements: dict
    nics:
      description:
        - NICs with C(mac), C(network) or C(bridge), C(model) and C(link_state).
        - Read-only C(addresses), each with C(mac), C(interface), C(ip), C(prefix), C(family) and C(source)
          (V(agent), V(lease) or V(arp)); empty when the VM is not running or no source knows one.
      type: list
      elements: dict
    graphics:
      description:
        - Graphics with C(type), C(listen) or C(socket), C(autoport) and C(port) (for a running VM with autoport,
          the port it got). C(password) is always null.
      type: list
      elements: dict
    guest_agent:
      description: Whether the VM has the guest-agent channel.
      type: bool
    channels:
      description: Named virtio-serial channels besides the agent's, each with C(name), C(type) and C(path).
      type: list
      elements: dict
    serial:
      description: Serial console C(type) and C(path).
      type: dict
    inputs:
      description: Input devices besides the PS/2 keyboard and mouse, each C(type) and C(bus).
      type: list
      elements: dict
    rng:
      description: The RNG device (C(model), C(backend)) or false.
      type: raw
    tpm:
      description: The TPM (C(model), C(backend), C(version), C(path)) or false.
      type: raw
    watchdog:
      description: The watchdog (C(model), C(action)) or false.
      type: raw
  sample:
    - name: web1
      uuid: 0c7a9f5e-3f5e-4b1e-9f7a-2f6d1b0e8a11
      id: 7
      state: running
      state_reason: running (booted)
      persistent: true
      autostart: true
      snapshot_count: 0
      uptime: 3600
      restart_required: false
      pending_changes: []
      virt_type: kvm
      arch: x86_64
      machine: pc-q35-7.2
      firmware: uefi
      kernel: null
      boot: [hd]
      vcpus: 2
      max_vcpus: 4
      cpu: {mode: host-passthrough, model: null, topology: null}
      memory: 2147483648
      max_memory: 4294967296
      title: null
      description: null
      tags: [web]
      metadata: {owner: alice}
      on_poweroff: destroy
      on_reboot: restart
      on_crash: destroy
      disks:
        - {target: vda, device: disk, bus: virtio, pool: images, volume: web1.qcow2, path: null, format: qcow2,
           cache: null, io: null, discard: unmap, readonly: false, serial: null, boot_order: null,
           capacity: 21474836480, allocation: 2147483648}
      nics:
        - mac: '52:54:00:10:00:01'
          network: lab
          bridge: null
          model: virtio
          link_state: up
          addresses:
            - {mac: '52:54:00:10:00:01', interface: eth0, ip: 192.168.110.11, prefix: 24, family: ipv4, source: agent}
      graphics:
        - {type: vnc, listen: 127.0.0.1, socket: null, autoport: true, port: 5900, password: null}
      guest_agent: true
      channels:
        - {name: org.example.backup.0, type: unix, path: null}
      serial: {type: pty, path: null}
      inputs: [{type: tablet, bus: usb}]
      rng: {model: virtio, backend: /dev/urandom}
      tpm: false
      watchdog: false
query_result:
  description: The result of O(query) over RV(vms).
  returned: when O(query) is given
  type: raw
'''

from ansible.module_utils.basic import missing_required_lib

# First of ours: importing it installs the code cache (docs/architecture.md).
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _zip_imports  # pylint: disable=unused-import
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module import LibvirtModule
from ansible_collections.vmcat.libvirt.plugins.module_utils._vm._query import (
    HAS_JMESPATH,
    JMESPATH_IMPORT_ERROR,
    vm_info,
)


def main():
    module = LibvirtModule(supports_check_mode=True, argument_spec=dict(
        name=dict(type='str'),
        state=dict(type='list', elements='str', choices=['running', 'paused', 'shutdown', 'crashed', 'pmsuspended']),
        tags=dict(type='list', elements='str'),
        query=dict(type='str'),
    ))
    if module.params['query'] and not HAS_JMESPATH:
        module.fail_json(msg=missing_required_lib('jmespath'), exception=JMESPATH_IMPORT_ERROR)
    module.run_info(vm_info)


if __name__ == '__main__':
    main()
