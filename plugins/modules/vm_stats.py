#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: vm_stats
short_description: CPU, memory, disk, network and guest filesystem numbers of a node's VMs, once or as rates
version_added: 0.1.0
description:
  - Reads what the VMs of a node are doing now, for playbooks that decide where a new VM goes or which VM to
    look at; all VMs, one by O(name), or those with the O(tags).
  - One sample by default (counters and sizes); with O(interval) a second sample follows that many seconds
    later and each VM gets its CPU use and its disk and network rates over that time.
  - Each sample is one libvirt call for all the chosen VMs (C(virConnectGetAllDomainStats) or
    C(virDomainListGetStats)) with its NOWAIT flag, so a VM whose QEMU is busy gives what libvirt has at once.
  - With O(filesystems), the guest agent of every running VM is asked for its filesystems (C(guest-get-fsinfo))
    in parallel; an agent that does not answer within O(agent_timeout) is reported as silent, the others still
    come back.
  - Read-only; it changes nothing, so check mode gives the same result.
extends_documentation_fragment:
  - vmcat.libvirt.connection
  - vmcat.libvirt.connection.info
options:
  name:
    description: Only this VM. The task fails, listing the VMs that exist, when it is not there.
    type: str
  tags:
    description: Only VMs that carry all of these tags (see O(vmcat.libvirt.vm#module:tags)).
    type: list
    elements: str
  interval:
    description:
      - Seconds between two samples; the result then has CPU use and per-second disk and network rates.
      - V(0) takes one sample (counters only; the rate keys are null).
    type: float
    default: 0
  filesystems:
    description: Ask each running VM's guest agent for its filesystems and their usage.
    type: bool
    default: true
  agent_timeout:
    description:
      - Seconds to wait for the guest agents' answers (all are asked at once, at the first sample).
      - An agent that has not answered by then is reported with C(answered=false) in RV(vms[].guest).
    type: float
    default: 3
notes:
  - C(used) in RV(vms[].memory) is the guest's own view (balloon statistics) and needs a virtio balloon device, its
    driver in the guest and a statistics period (C(<memballoon><stats period='10'/>)); without them it is null
    and C(rss) (the QEMU process on the node) is the best figure.
  - Counters (CPU time, bytes, requests, packets) start at 0 when the VM's QEMU process starts.
seealso:
  - module: vmcat.libvirt.vm_info
  - module: vmcat.libvirt.guest_info
  - module: vmcat.libvirt.node_info
'''

EXAMPLES = r'''
- name: CPU and I/O of every VM over 5 seconds
  vmcat.libvirt.vm_stats:
    interval: 5
  register: stats

- name: The busiest VM
  ansible.builtin.debug:
    msg: "{{ (stats.vms | selectattr('cpu_percent', 'number') | sort(attribute='cpu_percent') | last).name }}"

- name: Web servers whose root filesystem is more than 90 % full
  vmcat.libvirt.vm_stats:
    tags: [web]
    agent_timeout: 2
  register: web

- name: Show them
  ansible.builtin.debug:
    msg: "{{ item.name }}"
  loop: "{{ web.vms }}"
  when: item.guest.filesystems | default([], true) | selectattr('mountpoint', 'equalto', '/')
        | selectattr('used_percent', 'gt', 90) | list | length > 0

- name: One VM, counters only, without asking its agent
  vmcat.libvirt.vm_stats:
    name: db1
    filesystems: false
'''

RETURN = r'''
vms:
  description:
    - The chosen VMs, sorted by name, shut-off ones included (their numbers are null or 0).
    - Sizes are bytes; rates are per second over RV(interval); counters count from the start of the VM's QEMU.
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
    tags:
      description: The VM's tags (sorted).
      type: list
      elements: str
    state:
      description: Run state in the words of the vm module (V(running), V(paused), V(shutdown), V(crashed), V(pmsuspended)).
      type: str
    state_reason:
      description: libvirt's state and the reason for it.
      type: str
      sample: running (booted)
    vcpus:
      description: vCPUs online now; null when the VM is not running.
      type: int
    max_vcpus:
      description: Most vCPUs the VM can have; null when the VM is not running.
      type: int
    cpu_time:
      description: CPU seconds the VM's QEMU process used so far (vCPUs and QEMU's own threads).
      type: float
    cpu_cores:
      description: Host CPUs' worth of time the VM used over RV(interval) (1.0 is one core busy); null without O(interval).
      type: float
    cpu_percent:
      description:
        - RV(vms[].cpu_cores) as a share of the VM's vCPUs (100 is every vCPU busy; QEMU's own threads count too,
          so it can pass 100 a little); null without O(interval).
      type: float
    memory:
      description:
        - C(current) (the balloon's size, what the guest has now), C(maximum), C(rss) (the QEMU process on the
          node), and what the guest reports through the balloon driver, C(available), C(unused), C(usable)
          (MemAvailable) and C(used) (available less usable, or less unused when the guest does not report usable).
        - A key is null when libvirt or the guest does not give it.
      type: dict
      sample: {current: 268435456, maximum: 268435456, rss: 292540416, available: 228999168, unused: 190570496,
               usable: 193961984, used: 35037184}
    disks:
      description:
        - Per disk C(device) (target, such as C(vda)), C(path), C(read_bytes), C(read_requests), C(write_bytes),
          C(write_requests), C(capacity), C(allocation).
        - With O(interval) also C(read_bytes_per_second), C(read_requests_per_second), C(write_bytes_per_second)
          and C(write_requests_per_second).
      type: list
      elements: dict
    nics:
      description:
        - Per NIC C(device) (its device on the node, such as C(vnet3)), C(rx_bytes), C(rx_packets), C(rx_errors),
          C(rx_drops), C(tx_bytes), C(tx_packets), C(tx_errors), C(tx_drops).
        - With O(interval) also C(rx_bytes_per_second), C(rx_packets_per_second), C(tx_bytes_per_second)
          and C(tx_packets_per_second).
      type: list
      elements: dict
    guest:
      description:
        - What the guest agent said, for running VMs with O(filesystems).
        - C(answered) true when the agent answered (even with an error), false when it could not be asked or was
          silent, null when it was not asked (VM not running, or O(filesystems=false)).
        - C(filesystems) a list of C(mountpoint), C(device), C(type), C(used_bytes), C(total_bytes), C(free_bytes),
          C(used_percent) (sorted by mountpoint); null when the agent did not give it.
        - C(error) why there is no list, naming the VM and the fix; null otherwise.
      type: dict
      sample:
        answered: true
        filesystems:
          - {mountpoint: /, device: vda1, type: ext4, used_bytes: 1073741824, total_bytes: 10737418240,
             free_bytes: 9663676416, used_percent: 10.0}
        error: null
  sample:
    - name: web1
      uuid: 0c7a9f5e-3f5e-4b1e-9f7a-2f6d1b0e8a11
      tags: [web]
      state: running
      state_reason: running (booted)
      vcpus: 2
      max_vcpus: 2
      cpu_time: 812.35
      cpu_cores: 0.412
      cpu_percent: 20.6
      memory: {current: 2147483648, maximum: 2147483648, rss: 1610612736, available: 2090000000,
               unused: 1200000000, usable: 1500000000, used: 590000000}
      disks:
        - {device: vda, path: /var/lib/libvirt/images/web1.qcow2, read_bytes: 524288000, read_requests: 12000,
           write_bytes: 104857600, write_requests: 3000, capacity: 21474836480, allocation: 2147483648,
           read_bytes_per_second: 0.0, read_requests_per_second: 0.0, write_bytes_per_second: 40960.0,
           write_requests_per_second: 2.4}
      nics:
        - {device: vnet3, rx_bytes: 1048576, rx_packets: 900, rx_errors: 0, rx_drops: 0, tx_bytes: 2097152,
           tx_packets: 1100, tx_errors: 0, tx_drops: 0, rx_bytes_per_second: 120.0, rx_packets_per_second: 1.2,
           tx_bytes_per_second: 300.0, tx_packets_per_second: 2.0}
      guest: {answered: true, filesystems: [], error: null}
interval:
  description: Seconds between the two samples as measured (about O(interval)); null for one sample.
  returned: always
  type: float
node:
  description:
    - C(cpus) of the node, C(running_vms) among the chosen VMs, and with O(interval) C(vm_cpu_cores) (the chosen
      VMs' CPU use together, in host CPUs) and C(vm_cpu_percent) (that share of the node's CPUs).
  returned: always
  type: dict
  sample: {cpus: 16, running_vms: 5, vm_cpu_cores: 2.35, vm_cpu_percent: 14.7}
'''

# First of ours: importing it installs the code cache (docs/architecture.md).
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _zip_imports  # pylint: disable=unused-import
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module import LibvirtModule
from ansible_collections.vmcat.libvirt.plugins.module_utils._stats._vm_stats import vm_stats


def main():
    module = LibvirtModule(supports_check_mode=True, argument_spec=dict(
        name=dict(type='str'),
        tags=dict(type='list', elements='str'),
        interval=dict(type='float', default=0),
        filesystems=dict(type='bool', default=True),
        agent_timeout=dict(type='float', default=3),
    ))
    module.run_info(vm_stats)


if __name__ == '__main__':
    main()
