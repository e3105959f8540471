#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: guest_fs
short_description: Freeze, thaw and trim a VM's filesystems through the QEMU guest agent
version_added: 0.2.0
description:
  - Freezes (C(guest-fsfreeze-freeze), or C(guest-fsfreeze-freeze-list) for O(mountpoints)) or thaws
    (C(guest-fsfreeze-thaw)) the filesystems of a running VM through its QEMU guest agent, for example around a
    backup of its disks taken on the host. The current state comes from C(guest-fsfreeze-status).
  - Discards unused blocks (C(guest-fstrim)) with O(trim=true), so thin-provisioned disks give space back.
  - B(A frozen guest must be thawed.) Every write in the guest blocks until O(state=thawed) runs (or the agent
    restarts); services hang, logins may hang. The agent has no timeout that thaws by itself, so this module
    cannot offer one either. Thaw in an C(always:) section of the block that froze.
  - The agent knows one state for the whole guest, not which filesystems are frozen. O(state=frozen) on a guest
    that is frozen changes nothing, whatever O(mountpoints) say; O(state=thawed) thaws everything.
  - The agent freezes filesystems on block devices only (not C(tmpfs), C(proc) or an initramfs root).
extends_documentation_fragment:
  - vmcat.libvirt.connection
  - vmcat.libvirt.running_vm
attributes:
  check_mode:
    description: Reads the freeze state and reports what would change; nothing is frozen, thawed or trimmed.
    support: full
  diff_mode:
    description: The freeze status before and after.
    support: full
options:
  state:
    description:
      - V(frozen) freezes the guest's filesystems when they are not frozen; V(thawed) thaws them when they are.
      - Left unset, the freeze state is not changed (for O(trim) alone).
    type: str
    choices: [frozen, thawed]
  mountpoints:
    description:
      - Freeze only the filesystems mounted at these guest paths (with O(state=frozen)). Default is all of them.
    type: list
    elements: str
  trim:
    description:
      - Run C(guest-fstrim) on the guest's mounted filesystems (after a thaw when O(state=thawed)).
      - Always reports C(changed) when it runs, as the agent cannot tell beforehand whether there is anything to
        discard. Not with O(state=frozen).
    type: bool
    default: false
  minimum:
    description:
      - Skip free ranges smaller than this (C(fstrim --minimum)); bytes, or a size such as V(1M). Only with
        O(trim=true).
    type: raw
  timeout:
    description:
      - Seconds to wait for each agent reply. Freezing flushes every filesystem first and can take a while
        on a busy guest; trimming large disks too.
    type: int
    default: 60
requirements:
  - qemu-guest-agent running in the guest, with the C(guest-fsfreeze-*) and C(guest-fstrim) commands allowed
notes:
  - libvirt's own quiesced snapshots (C(vmcat.libvirt.snapshot) with quiesce) freeze and thaw by themselves;
    this module is for work that libvirt does not wrap.
seealso:
  - module: vmcat.libvirt.guest_user
  - module: vmcat.libvirt.snapshot
'''

EXAMPLES = r'''
- name: Copy the disk of a consistent, frozen guest
  block:
    - name: Freeze db1's filesystems
      vmcat.libvirt.guest_fs:
        name: db1
        state: frozen

    - name: Copy the disk while nothing writes
      ansible.builtin.command: cp --sparse=always /var/lib/libvirt/images/db1.qcow2 /backup/db1.qcow2
      changed_when: true
  always:
    - name: Thaw db1 whatever happened
      vmcat.libvirt.guest_fs:
        name: db1
        state: thawed

- name: Freeze only /srv
  vmcat.libvirt.guest_fs:
    name: db1
    state: frozen
    mountpoints: [/srv]

- name: Give unused blocks back to the thin pool, ranges of 1 MiB and more
  vmcat.libvirt.guest_fs:
    name: db1
    trim: true
    minimum: 1MiB
'''

RETURN = r'''
fsfreeze:
  description: The guest's freeze state after the task (predicted in check mode).
  returned: success
  type: dict
  contains:
    status:
      description: V(frozen) or V(thawed), as C(guest-fsfreeze-status) reports it.
      type: str
      sample: frozen
frozen_filesystems:
  description: How many filesystems the agent froze. V(null) when nothing was frozen or in check mode.
  returned: success
  type: int
  sample: 2
thawed_filesystems:
  description: How many filesystems the agent thawed. V(null) when nothing was thawed or in check mode.
  returned: success
  type: int
  sample: 2
trimmed:
  description: Per filesystem, what C(guest-fstrim) did. V(null) without O(trim) or in check mode.
  returned: success
  type: list
  elements: dict
  contains:
    path:
      description: Mount point in the guest.
      type: str
      sample: /
    trimmed:
      description: Bytes discarded (older agents report V(null)).
      type: int
      sample: 104857600
    minimum:
      description: The minimum range size used.
      type: int
      sample: 0
    error:
      description: Why this filesystem was not trimmed (V(null) when it was).
      type: str
      sample: null
'''

# First of ours: importing it installs the code cache (docs/architecture.md).
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _zip_imports  # pylint: disable=unused-import
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module import LibvirtModule
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module_options import require_positive_seconds, running_vm_options
from ansible_collections.vmcat.libvirt.plugins.module_utils._guest._guest_fs import ensure_fs


def main():
    module = LibvirtModule(
        supports_check_mode=True,
        argument_spec=running_vm_options(
            state=dict(type='str', choices=['frozen', 'thawed']),
            mountpoints=dict(type='list', elements='str'),
            trim=dict(type='bool', default=False),
            minimum=dict(type='raw'),
            timeout=dict(type='int', default=60),
        ),
    )
    require_positive_seconds(module, 'timeout')
    module.run_change('fsfreeze', ensure_fs)


if __name__ == '__main__':
    main()
