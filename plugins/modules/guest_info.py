#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: guest_info
short_description: What a VM's guest agent says about the guest (OS, hostname, network, filesystems, ...)
version_added: 0.1.0
description:
  - Asks the QEMU guest agent (qemu-ga) inside a running VM about the guest, through libvirt, and returns
    one key per section; see O(gather).
  - Each section is one agent command. When the guest's agent has a command disabled (for example
    with C(--block-rpcs)) or does not know it (an older agent), that section is V(null) and RV(unavailable)
    says which command and why. The module fails only when the agent cannot be asked at all (VM not running,
    no agent channel, agent not connected).
  - Only reads; runs in check mode too.
extends_documentation_fragment:
  - vmcat.libvirt.connection
  - vmcat.libvirt.running_vm
attributes:
  check_mode:
    description: Only reads, so it runs and returns the same in check mode.
    support: full
  diff_mode:
    description: Reads only; there is no diff.
    support: none
options:
  gather:
    description:
      - The sections to ask for. V(all) asks for every one.
      - V(os) is C(guest-get-osinfo), V(hostname) C(guest-get-host-name), V(timezone) C(guest-get-timezone),
        V(users) C(guest-get-users), V(interfaces) C(guest-network-get-interfaces), V(filesystems)
        C(guest-get-fsinfo), V(disks) C(guest-get-disks), V(vcpus) C(guest-get-vcpus) and V(agent) C(guest-info).
    type: list
    elements: str
    choices: [all, os, hostname, timezone, users, interfaces, filesystems, disks, vcpus, agent]
    default: [all]
  timeout:
    description:
      - Seconds to wait for each agent command's answer. C(guest-get-fsinfo) can take a few seconds in a busy
        guest.
    type: int
    default: 10
notes:
  - Needs qemu-guest-agent running in the guest and the VM's C(org.qemu.guest_agent.0) channel
    (the vmcat.libvirt.vm option O(vmcat.libvirt.vm#module:guest_agent)).
  - Key names are the agent's with C(-) turned into C(_) (C(ip-addresses) becomes C(ip_addresses)).
  - Which agent commands each section needs, and how to enable them, is in the collection's
    C(docs/modules/guest_agent.md).
seealso:
  - module: vmcat.libvirt.guest_exec
  - module: vmcat.libvirt.guest_file
  - module: vmcat.libvirt.vm_info
  - name: QEMU guest agent protocol reference
    description: Every guest agent command and its reply.
    link: https://www.qemu.org/docs/master/interop/qemu-ga-ref.html
'''

EXAMPLES = r'''
- name: Everything the guest agent of web1 can tell
  vmcat.libvirt.guest_info:
    name: web1
  register: web1_guest

- name: Show the guest's OS and addresses
  ansible.builtin.debug:
    msg: >-
      {{ web1_guest.os.pretty_name | default('unknown OS') }}:
      {{ web1_guest.interfaces | default([], true) | map(attribute='ip_addresses') | flatten
         | map(attribute='ip_address') | list }}

- name: Only hostname and filesystems, with a longer timeout
  vmcat.libvirt.guest_info:
    name: db1
    gather: [hostname, filesystems]
    timeout: 30
  register: db1_guest

- name: Warn about full filesystems
  ansible.builtin.debug:
    msg: "{{ item.mountpoint }} is {{ item.used_percent }}% full"
  loop: "{{ db1_guest.filesystems | default([], true) | selectattr('used_percent', 'defined')
            | selectattr('used_percent', '>', 90) | list }}"

- name: Is guest-exec enabled in this guest?
  vmcat.libvirt.guest_info:
    name: web1
    gather: [agent]
  register: web1_agent

- name: Say so
  ansible.builtin.debug:
    msg: "guest-exec is {{ 'enabled' if 'guest-exec' in web1_agent.agent.enabled_commands else 'disabled' }}"
'''

RETURN = r'''
vm:
  description: Name of the VM.
  returned: always
  type: str
  sample: web1
unavailable:
  description: The asked-for sections the agent did not give, one entry each.
  returned: always
  type: list
  elements: dict
  contains:
    section:
      description: The section, such as V(os) or V(users).
      type: str
    command:
      description: The agent command the section needs.
      type: str
    reason:
      description:
        - V(disabled) (blocked by the guest's agent configuration), V(not_supported) (the agent does not have
          the command), V(not_found), V(failed) (the command answered with an error) or V(timeout).
      type: str
    msg:
      description: What happened and how to enable the command.
      type: str
  sample:
    - section: users
      command: guest-get-users
      reason: disabled
      msg: "guest-get-users is disabled by the guest's agent configuration in VM 'web1' on qemu:///system; ..."
os:
  description: C(guest-get-osinfo). V(null) when unavailable.
  returned: when asked for
  type: dict
  sample: {id: debian, name: Debian GNU/Linux, pretty_name: Debian GNU/Linux 12 (bookworm), version: 12 (bookworm),
           version_id: '12', kernel_release: 6.1.0-27-cloud-amd64, kernel_version: '#1 SMP PREEMPT_DYNAMIC',
           machine: x86_64}
hostname:
  description: C(guest-get-host-name). V(null) when unavailable.
  returned: when asked for
  type: str
  sample: web1
timezone:
  description: C(guest-get-timezone); C(offset) is seconds east of UTC. V(null) when unavailable.
  returned: when asked for
  type: dict
  sample: {zone: UTC, offset: 0}
users:
  description: C(guest-get-users), the users logged in; C(login_time) is seconds since the epoch. V(null) when unavailable.
  returned: when asked for
  type: list
  elements: dict
  sample: [{user: root, login_time: 1763780000.5}]
interfaces:
  description:
    - C(guest-network-get-interfaces) with C(name), C(hardware_address), C(ip_addresses) (C(ip_address),
      C(ip_address_type), C(prefix)) and C(statistics). V(null) when unavailable.
  returned: when asked for
  type: list
  elements: dict
  sample: [{name: eth0, hardware_address: '52:54:00:12:34:56',
            ip_addresses: [{ip_address: 192.0.2.10, ip_address_type: ipv4, prefix: 24}]}]
filesystems:
  description:
    - C(guest-get-fsinfo) with C(name), C(mountpoint), C(type), C(used_bytes), C(total_bytes), C(disk), and
      C(used_percent) computed here when the agent gives the sizes. V(null) when unavailable.
  returned: when asked for
  type: list
  elements: dict
  sample: [{name: vda1, mountpoint: /, type: ext4, used_bytes: 1073741824, total_bytes: 10737418240, used_percent: 10.0}]
disks:
  description: C(guest-get-disks) with C(name), C(partition), C(dependencies), C(address). V(null) when unavailable.
  returned: when asked for
  type: list
  elements: dict
  sample: [{name: /dev/vda, partition: false, dependencies: []}]
vcpus:
  description: C(guest-get-vcpus) with C(logical_id), C(online), C(can_offline). V(null) when unavailable.
  returned: when asked for
  type: list
  elements: dict
  sample: [{logical_id: 0, online: true, can_offline: false}]
agent:
  description: C(guest-info), the agent's version and its commands. V(null) when unavailable.
  returned: when asked for
  type: dict
  contains:
    version:
      description: qemu-guest-agent's version.
      type: str
    supported_commands:
      description: Every command the agent has.
      type: list
      elements: str
    enabled_commands:
      description: The commands it answers.
      type: list
      elements: str
    disabled_commands:
      description: The commands its configuration blocks.
      type: list
      elements: str
  sample: {version: 7.2.0, supported_commands: [guest-exec, guest-ping], enabled_commands: [guest-ping],
           disabled_commands: [guest-exec]}
'''

# First of ours: importing it installs the code cache (docs/architecture.md).
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _zip_imports  # pylint: disable=unused-import
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module import LibvirtModule
from ansible_collections.vmcat.libvirt.plugins.module_utils._guest._guest_info import SECTION_NAMES, guest_info
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module_options import require_positive_seconds, running_vm_options


def main():
    module = LibvirtModule(
        supports_check_mode=True,
        argument_spec=running_vm_options(
            gather=dict(type='list', elements='str', default=['all'], choices=['all'] + list(SECTION_NAMES)),
            timeout=dict(type='int', default=10),
        ),
    )
    require_positive_seconds(module, 'timeout')
    if 'all' in module.params['gather']:
        module.params['gather'] = list(SECTION_NAMES)
    module.run_info(guest_info)


if __name__ == '__main__':
    main()
