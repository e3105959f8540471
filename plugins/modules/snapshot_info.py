#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: snapshot_info
short_description: List the snapshot tree of a libvirt VM
version_added: 0.1.0
description:
  - Returns the snapshots of one VM, oldest first, or one snapshot by name, in the shape of
    M(vmcat.libvirt.snapshot)'s result, with name, parent and children (the tree), whether it is the current one,
    creation time, saved state, kind (internal or external), the disks with their snapshot mode and files,
    description, and sizes where libvirt knows them.
extends_documentation_fragment:
  - vmcat.libvirt.connection
  - vmcat.libvirt.connection.info
options:
  vm:
    description: Name of the VM. The task fails, listing the VMs that exist, when it is not there.
    type: str
    required: true
  name:
    description: Only this snapshot. The task fails, listing the VM's snapshots, when it is not there.
    type: str
seealso:
  - module: vmcat.libvirt.snapshot
'''

EXAMPLES = r'''
- name: The snapshot tree of web1
  vmcat.libvirt.snapshot_info:
    vm: web1
  register: tree

- name: Names of the snapshots directly below the oldest one
  ansible.builtin.debug:
    msg: "{{ tree.snapshots[0].children }}"

- name: The current snapshot's disks
  ansible.builtin.debug:
    msg: "{{ (tree.snapshots | selectattr('current') | first).disks }}"
'''

RETURN = r'''
snapshots:
  description: The snapshots, oldest first (by creation time, then name).
  returned: always
  type: list
  elements: dict
  contains:
    vm:
      description: Name of the VM.
      type: str
    name:
      description: Name of the snapshot.
      type: str
    description:
      description: Its description, or null.
      type: str
    kind:
      description: V(internal) (saved inside the qcow2 images) or V(external) (memory or a disk saved by switching to a new file).
      type: str
    state:
      description:
        - The VM's state when the snapshot was taken, as libvirt records it, V(running), V(paused), V(shutoff), or
          V(disk-snapshot) for a disk-only snapshot of a running VM.
      type: str
    memory:
      description: How the memory was saved, V(internal), V(external) or V(no).
      type: str
    memory_file:
      description: The file holding the memory of an external snapshot with memory, else null.
      type: str
    creation_time:
      description: Creation time in seconds since the epoch.
      type: int
    created:
      description: Creation time in UTC, ISO 8601.
      type: str
    parent:
      description: Name of the parent snapshot, null for a root.
      type: str
    children:
      description: Names of the snapshots directly below this one, oldest first.
      type: list
      elements: str
    current:
      description: Whether this is the VM's current snapshot (the one made or reverted to last).
      type: bool
    disks:
      description: The VM's disks as the snapshot saved them.
      type: list
      elements: dict
      contains:
        target:
          description: Target device, such as V(vda).
          type: str
        snapshot:
          description: V(internal), V(external) or V(no) (not saved).
          type: str
        file:
          description: For an external disk, the overlay the VM wrote to after the snapshot; else null.
          type: str
        format:
          description: Format of the overlay (external) or of the disk (internal).
          type: str
        base:
          description:
            - For an external disk, the image that holds the disk's state at the snapshot (the overlay's backing
              file); else null.
          type: str
        size:
          description: Bytes allocated by the overlay when libvirt knows it as a volume in a pool; else null.
          type: int
    size:
      description:
        - Bytes allocated by the snapshot's overlays when every one is known; null for internal snapshots (libvirt
          does not report the size of an internal snapshot inside an image).
      type: int
    vm_state:
      description: The VM's run state now (V(running), V(paused), V(shutoff), ...).
      type: str
  sample:
    - vm: web1
      name: before-upgrade
      description: null
      kind: external
      state: disk-snapshot
      memory: 'no'
      memory_file: null
      creation_time: 1795309187
      created: '2026-11-22T00:59:47Z'
      parent: null
      children: []
      current: true
      disks:
        - target: vda
          snapshot: external
          file: /var/lib/libvirt/images/web1.before-upgrade
          format: qcow2
          base: /var/lib/libvirt/images/web1.qcow2
          size: 1769472
      size: 1769472
      vm_state: running
current:
  description: Name of the VM's current snapshot, or null.
  returned: always
  type: str
  sample: before-upgrade
vm_state:
  description: The VM's run state.
  returned: always
  type: str
  sample: running
'''

# First of ours: importing it installs the code cache (docs/architecture.md).
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _zip_imports  # pylint: disable=unused-import
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module import LibvirtModule
from ansible_collections.vmcat.libvirt.plugins.module_utils._snapshot._tree import list_snapshots


def main():
    module = LibvirtModule(supports_check_mode=True, argument_spec=dict(
        vm=dict(type='str', required=True),
        name=dict(type='str'),
    ))
    module.run_info(list_snapshots)


if __name__ == '__main__':
    main()
