#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: snapshot
short_description: Create, revert to and delete libvirt VM snapshots
version_added: 0.1.0
description:
  - Creates internal snapshots (stored inside the VM's qcow2 images, with the memory state when the VM runs) and
    external disk-only snapshots (each disk gets a new qcow2 overlay, the old image keeps the saved state).
  - Reverts a VM to a snapshot (O(state=current)), and deletes snapshots, alone, with their children, or their
    metadata only.
  - Snapshots are identified by name. An existing snapshot is left as it is; only its description can change
    (the snapshot's metadata is redefined). Asking for another kind or other disks for an existing snapshot fails
    instead of being ignored.
  - A VM's snapshots must all be of one kind. libvirt 9 can neither delete nor safely revert trees that mix
    internal and external snapshots, so creating a snapshot of the other kind is refused with the reason, and so
    are deletions and reverts libvirt would refuse or that would lose data. See the collection's
    docs/modules/snapshot.md for what was verified on libvirt 9.0 with QEMU 7.2.
  - Reverting to an external snapshot needs libvirt 9.7 or later; deleting one needs libvirt 9.0 or later.
  - The saved disk state of an external snapshot can become a new VM (O(clone_to_vm), qcow2 overlays on the
    frozen images) or a template (O(to_template), a full copy).
extends_documentation_fragment:
  - vmcat.libvirt.connection
  - vmcat.libvirt.connection.check_diff
options:
  vm:
    description: Name of the VM the snapshot belongs to.
    type: str
    required: true
  name:
    description:
      - Name of the snapshot, unique per VM. It must not contain C(/) or start with C(.).
    type: str
    required: true
  state:
    description:
      - V(present) creates the snapshot when it does not exist.
      - V(current) reverts the VM to the snapshot. This is no change when the snapshot is already the VM's current
        one and the VM is in the run state the revert would leave it in (see O(after_revert)). libvirt cannot tell
        whether the VM's disks changed since the snapshot or the last revert, so such changes are not detected;
        set O(force_revert=true) to revert every time.
      - V(absent) deletes the snapshot (see O(children) and O(metadata_only)). A missing snapshot, or a missing
        VM, is no change.
      - Deleting an internal snapshot removes it from the qcow2 images. Deleting an external snapshot merges its
        overlay into the image below it (block commit) and removes the overlay; the VM's original image is never
        deleted, and the deletion is refused when another VM or volume uses either file.
    type: str
    choices: [present, absent, current]
    default: present
  kind:
    description:
      - V(internal) snapshots live inside the VM's qcow2 images (every disk included must be qcow2). A running or
        paused VM's memory is saved too, so reverting resumes the guest where it was; such a snapshot must include
        every writable disk.
      - V(external) snapshots are disk-only; each included disk continues in a new qcow2 overlay file (O(disks[].file),
        or a name libvirt derives from the current image's name and the snapshot name), and the old image keeps the
        saved state.
      - Used when the snapshot is created (default V(internal)); for an existing snapshot a different kind fails.
    type: str
    choices: [internal, external]
  description:
    description:
      - Free text stored with the snapshot. Changing it on an existing snapshot redefines the snapshot's metadata
        (nothing else changes). An empty string removes it; unset leaves it as it is.
    type: str
  disks:
    description:
      - Per-disk choices, by target. Disks not listed get the default of the kind (read-only disks and CD-ROMs are
        left out).
      - For an existing snapshot the listed choices are checked against what it saved; a difference fails.
    type: list
    elements: dict
    suboptions:
      target:
        description: The disk's target device, such as V(vda).
        type: str
        required: true
      snapshot:
        description:
          - V(no) leaves the disk out; otherwise it must equal O(kind). Default is O(kind).
          - An internal snapshot of a running VM cannot leave out a writable disk (libvirt saves memory and every
            disk together).
        type: str
        choices: [internal, external, 'no']
      file:
        description:
          - For an external snapshot, the absolute path of the new overlay on the node. It must not exist yet.
          - Default is the current image's path with its extension replaced by C(.<snapshot name>).
        type: str
  quiesce:
    description:
      - Freeze the guest's file systems through the QEMU guest agent while an external snapshot is taken, and thaw
        them after (libvirt's VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE).
      - Needs O(kind=external) and a running VM whose guest agent answers; the task checks for the agent first and
        fails, naming the VM, when none answers. Nothing is made then.
      - Only used when the snapshot is created.
    type: bool
    default: false
  after_revert:
    description:
      - The VM's run state after a revert (O(state=current)).
      - V(snapshot) is the state the snapshot saved (running, paused, or shut off).
      - V(running) and V(paused) start the VM from the snapshot in that state (a snapshot of a shut-off VM boots).
      - V(shutoff) reverts and then powers the VM off (destroy); the memory state of the snapshot is then dropped.
    type: str
    choices: [snapshot, running, paused, shutoff]
    default: snapshot
  force_revert:
    description:
      - With O(state=current), revert even when the snapshot is current and the VM is in the expected run state,
        to throw away whatever changed on its disks since.
    type: bool
    default: false
  children:
    description:
      - With O(state=absent), delete the snapshots below this one too. Without it, the children are attached to
        this snapshot's parent.
      - Internal trees are deleted in one libvirt call; external snapshots one by one, deepest first (libvirt 9
        cannot delete external children in one call).
    type: bool
    default: false
  metadata_only:
    description:
      - With O(state=absent), only make libvirt forget the snapshot (and, with O(children), those below it). Every
        image file stays as it is; internal snapshot data stays inside the qcow2 images, and the VM keeps using
        the overlays of external snapshots.
    type: bool
    default: false
  clone_to_vm:
    description:
      - With O(state=present), make sure a new VM exists whose disks are linked clones (qcow2 overlays) of the disk
        state this snapshot saved. Defined from the snapshot's saved VM definition, with a new name, UUID and MAC
        addresses, and never started.
      - Only for external snapshots; internal snapshots live inside the qcow2 image and libvirt has no call that
        reads them out.
      - Writable disks the snapshot left out are left out of the clone (listed in RV(clone.skipped_disks));
        read-only disks and CD-ROMs are kept as they are.
      - File-backed serial ports, consoles and channels, and their logs, get files of their own (the VM's name in
        the file name replaced by the clone's, or the clone's name put in front); libvirt makes a new NVRAM file.
      - An existing VM of that name is no change when it is a clone of this snapshot, and fails otherwise.
      - Deleting the snapshot afterwards is refused while the clone's overlays use its images.
    type: dict
    suboptions:
      name:
        description:
          - Name of the new VM.
          - Follows the rules of O(vmcat.libvirt.vm#module:name) for a new VM (no V(/), not V(.), V(..) or
            hidden, at most 200 bytes, ...), checked before the snapshot is taken.
        type: str
        required: true
      pool:
        description:
          - A running directory pool (dir, fs or netfs) for the overlays, named C(<name>-<target>.qcow2).
        type: str
        required: true
  to_template:
    description:
      - With O(state=present), make sure a template exists that is a full copy of one disk's saved state, through
        the template logic of M(vmcat.libvirt.template); its source is the frozen image file.
      - Only for external snapshots. An existing template of that name only gets its metadata updated.
    type: dict
    suboptions:
      name:
        description: Name of the template.
        type: str
        required: true
      pool:
        description: Pool the template's image is stored in.
        type: str
        required: true
      disk:
        description: Target of the disk to copy; default the first disk the snapshot saved externally.
        type: str
      format:
        description: Format of the template image; default the frozen image's format.
        type: str
        choices: [raw, qcow2]
      description:
        description: Description of the template.
        type: str
      tags:
        description: Tags of the template.
        type: list
        elements: str
notes:
  - Internal snapshots of running VMs pause the guest while its memory is written (about 0.2 s for 256 MiB here).
  - For an external snapshot the VM's disk definition changes to the overlay; the vm module sees the overlay as the
    disk's source afterwards.
seealso:
  - module: vmcat.libvirt.snapshot_info
  - module: vmcat.libvirt.template
'''

EXAMPLES = r'''
- name: Snapshot a VM before an upgrade (memory too, as it runs)
  vmcat.libvirt.snapshot:
    vm: web1
    name: before-upgrade
    description: Debian 12.7, before apt full-upgrade

- name: Go back to it, and leave the VM running
  vmcat.libvirt.snapshot:
    vm: web1
    name: before-upgrade
    state: current
    after_revert: running
    force_revert: true

- name: A disk-only external snapshot with the file systems frozen by the guest agent
  vmcat.libvirt.snapshot:
    vm: db1
    name: nightly
    kind: external
    quiesce: true
    disks:
      - target: vda
        file: /var/lib/libvirt/images/db1-nightly.qcow2
      - target: vdb
        snapshot: 'no'

- name: A test VM from that snapshot's disk state
  vmcat.libvirt.snapshot:
    vm: db1
    name: nightly
    kind: external
    clone_to_vm:
      name: db1-test
      pool: images

- name: Delete a snapshot and everything below it
  vmcat.libvirt.snapshot:
    vm: web1
    name: before-upgrade
    state: absent
    children: true
'''

RETURN = r'''
snapshot:
  description:
    - The snapshot after the task (as it would be, in check mode); empty when it was deleted.
    - Same keys as one element of RV(vmcat.libvirt.snapshot_info#module:snapshots).
  returned: always
  type: dict
  sample:
    vm: web1
    name: before-upgrade
    description: Debian 12.7, before apt full-upgrade
    kind: internal
    state: running
    memory: internal
    memory_file: null
    creation_time: 1795309180
    created: '2026-11-22T00:59:40Z'
    parent: null
    children: []
    current: true
    disks:
      - {target: vda, snapshot: internal, file: null, format: qcow2, base: null, size: null}
    size: null
    vm_state: running
clone:
  description: The VM made (or found) by O(clone_to_vm).
  returned: when O(clone_to_vm) is set
  type: dict
  contains:
    name:
      description: Name of the clone.
      type: str
    from:
      description: VM and snapshot it was cloned from.
      type: dict
    disks:
      description: The clone's overlays, with target, pool, volume, path, and base (the frozen image they read from).
      type: list
      elements: dict
    skipped_disks:
      description: Targets of writable disks the snapshot did not save, left out of the clone.
      type: list
      elements: str
template:
  description: The template made (or found) by O(to_template), as M(vmcat.libvirt.template) returns it.
  returned: when O(to_template) is set
  type: dict
deleted:
  description: Names of the snapshots deleted (or to be deleted, in check mode), deepest first.
  returned: when O(state=absent)
  type: list
  elements: str
  sample: [after-upgrade, before-upgrade]
actions:
  description: What the task did (or would do, in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: [create internal snapshot]
'''

# First of ours: importing it installs the code cache (docs/architecture.md).
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _zip_imports  # pylint: disable=unused-import
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module import LibvirtModule
from ansible_collections.vmcat.libvirt.plugins.module_utils._snapshot._snapshot import AFTER_REVERT, STATES, ensure


def main():
    module = LibvirtModule(
        supports_check_mode=True,
        argument_spec=dict(
            vm=dict(type='str', required=True),
            name=dict(type='str', required=True),
            state=dict(type='str', choices=list(STATES), default='present'),
            kind=dict(type='str', choices=['internal', 'external']),
            description=dict(type='str'),
            disks=dict(type='list', elements='dict', options=dict(
                target=dict(type='str', required=True),
                snapshot=dict(type='str', choices=['internal', 'external', 'no']),
                file=dict(type='str'),
            )),
            quiesce=dict(type='bool', default=False),
            after_revert=dict(type='str', choices=list(AFTER_REVERT), default='snapshot'),
            force_revert=dict(type='bool', default=False),
            children=dict(type='bool', default=False),
            metadata_only=dict(type='bool', default=False),
            clone_to_vm=dict(type='dict', options=dict(
                name=dict(type='str', required=True),
                pool=dict(type='str', required=True),
            )),
            to_template=dict(type='dict', options=dict(
                name=dict(type='str', required=True),
                pool=dict(type='str', required=True),
                disk=dict(type='str'),
                format=dict(type='str', choices=['raw', 'qcow2']),
                description=dict(type='str'),
                tags=dict(type='list', elements='str'),
            )),
        ),
    )
    module.run_change('snapshot', ensure)


if __name__ == '__main__':
    main()
