#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: pool
short_description: Manage libvirt storage pools
version_added: 0.1.0
description:
  - Define, start, stop, autostart and remove libvirt storage pools of type C(dir), C(fs), C(netfs),
    C(logical), C(disk) and C(iscsi).
  - The definition is compared with the task's options and reconciled; options left unset are left as they are,
    and parts of the definition the module does not manage survive an update.
  - A changed definition of a running pool is saved at once and applies when the pool restarts; the module
    reports C(restart_required) and restarts the pool only with O(restart=true).
  - Removing a pool that still holds volumes is refused unless O(purge=true); volumes used by VMs are never purged.
  - Stopping a pool whose volumes running VMs use is refused unless O(force=true), as the network module does for
    networks.
extends_documentation_fragment:
  - vmcat.libvirt.connection
  - vmcat.libvirt.connection.check_diff
options:
  name:
    description:
      - Name of the pool.
      - It must not be empty, contain V(/) or control characters, start with V(.) (so neither V(.) nor V(..)),
        start or end with whitespace, or be longer than 200 bytes; such a name fails before anything changes, in
        check mode too.
    type: str
    required: true
  state:
    description:
      - V(present) defines the pool (and, for a new pool, starts it unless O(active=false)).
      - V(absent) stops and undefines it; its directory or device is left alone unless O(purge=true).
      - An inactive pool lists no volumes, so V(absent) starts it briefly to count them, and stops it again when
        the removal is refused. A pool that cannot start is not removed; the task says how to fix it.
        In check mode it is not started; the task warns that its volumes were not counted.
    type: str
    choices: [present, absent]
    default: present
  type:
    description:
      - Pool type. Needed only when the pool is created (default V(dir)); an existing pool's type cannot change.
    type: str
    choices: [dir, fs, netfs, logical, disk, iscsi]
  target:
    description: Where the pool's volumes live on the node, and who owns that place.
    type: dict
    suboptions:
      path:
        description:
          - Absolute path of the directory (C(dir), C(fs), C(netfs)) or of the device directory (C(logical), C(disk), C(iscsi)).
          - Required to create a C(dir), C(fs) or C(netfs) pool.
        type: path
        aliases: [dir]
      owner:
        description: Numeric user id the target belongs to.
        type: int
      group:
        description: Numeric group id the target belongs to.
        type: int
      mode:
        description:
          - Permissions of the target, read like O(ansible.builtin.file#module:mode).
          - A string is octal, such as V('0755') or V('755'); quote it.
          - A number is taken as the mode it already is. YAML reads an unquoted V(0755) as octal (493, the same
            mode), but an unquoted V(755) as decimal, which is not V('0755') (it is V('1363'), above V('0777'), so
            it fails).
          - Symbolic modes such as V(u=rwx,go=rx), digits V(8) or V(9), and modes above V('0777') (libvirt keeps no
            setuid, setgid or sticky bit for a pool) fail before anything changes.
        type: raw
  source:
    description: Where the storage comes from (for every type but C(dir)).
    type: dict
    suboptions:
      host:
        description: Host name of the server (C(netfs), C(iscsi)).
        type: str
      port:
        description: Port of the server, when not the protocol's default.
        type: int
      dir:
        description: Exported directory on the server (C(netfs)).
        type: str
      device:
        description:
          - Device paths. A block device or partition (C(fs), C(disk)), physical volumes (C(logical)), or the
            target IQN (C(iscsi)). Replaces the list in the definition when given.
        type: list
        elements: str
      name:
        description: Volume group name (C(logical)).
        type: str
      format:
        description:
          - Source format. C(netfs) V(nfs), V(cifs) or V(glusterfs); C(fs) a file system such as V(ext4) or V(auto);
            C(disk) V(dos) or V(gpt); C(logical) V(lvm2).
        type: str
  active:
    description:
      - Whether the pool should be running. Unset leaves an existing pool as it is; a new pool is started.
      - Stopping a pool (V(false)) whose volumes running VMs use is refused, naming those VMs, unless
        O(force=true). Their open disks keep working, but libvirt cannot manage those volumes while the pool is
        stopped, and a C(fs) or C(netfs) pool is unmounted.
    type: bool
  autostart:
    description:
      - Whether libvirt starts the pool when the daemon starts. Unset leaves an existing pool as it is; a new pool
        gets autostart.
    type: bool
  build:
    description:
      - Build the pool's storage before it is first started (create the directory, or format the device for
        C(fs), C(disk) and C(logical)).
      - Never overwrites existing data; a device that holds a file system or a partition table fails to build.
    type: bool
    default: false
  restart:
    description:
      - Restart a running pool whose saved definition differs from the running one, so the change applies now.
      - VMs keep their open disks, but a C(netfs) or C(fs) pool is unmounted and mounted again.
    type: bool
    default: false
  purge:
    description:
      - With O(state=absent), delete the pool's volumes (and, for C(dir), its then empty directory) with it.
      - Volumes that any VM uses are never deleted; the task fails instead.
    type: bool
    default: false
  force:
    description:
      - Stop the pool with O(active=false) even when running VMs use its volumes.
      - Does not make O(purge) delete volumes that VMs use, and does not apply to O(restart).
    type: bool
    default: false
seealso:
  - module: vmcat.libvirt.pool_info
  - module: vmcat.libvirt.volume
'''

EXAMPLES = r'''
- name: A directory pool for VM disks
  vmcat.libvirt.pool:
    name: images
    type: dir
    target:
      path: /var/lib/libvirt/images/vmcat
      mode: '0711'
    build: true

- name: An NFS pool on a remote node, managed over SSH
  vmcat.libvirt.pool:
    uri: qemu+ssh://admin@kvm1.example.com/system
    name: nfs-images
    type: netfs
    source:
      host: nas.example.com
      dir: /exports/vm
      format: nfs
    target:
      path: /srv/nfs-images

- name: Apply a changed definition to a running pool now
  vmcat.libvirt.pool:
    name: images
    target:
      mode: '0755'
    restart: true

- name: Remove a pool, keeping its files
  vmcat.libvirt.pool:
    name: scratch
    state: absent

- name: Remove a pool and delete the volumes in it
  vmcat.libvirt.pool:
    name: scratch
    state: absent
    purge: true
'''

RETURN = r'''
pool:
  description:
    - The pool as it is after the task (as it would be, in check mode). Empty when it was removed.
    - Same keys as one element of RV(vmcat.libvirt.pool_info#module:pools).
  returned: always
  type: dict
  sample:
    name: images
    type: dir
    uuid: 5a6f1b7e-7d6c-4a4e-9a38-3c1b2f1f0e11
    state: running
    active: true
    autostart: true
    persistent: true
    target: {path: /var/lib/libvirt/images/vmcat, owner: 0, group: 0, mode: '0711'}
    source: {}
    capacity: 107374182400
    allocation: 2147483648
    available: 105226698752
    volume_count: 2
    volumes: [db.qcow2, web.qcow2]
restart_required:
  description: True when the saved definition of the running pool differs from the running one and O(restart) was not set.
  returned: success
  type: bool
  sample: false
actions:
  description: What the task did (or would do, in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: [define, build, start, autostart]
'''

# First of ours: importing it installs the code cache (docs/architecture.md).
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _zip_imports  # pylint: disable=unused-import
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module import LibvirtModule
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage._pool import POOL_TYPES, ensure


def main():
    module = LibvirtModule(
        supports_check_mode=True,
        argument_spec=dict(
            name=dict(type='str', required=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            type=dict(type='str', choices=list(POOL_TYPES)),
            target=dict(type='dict', options=dict(
                path=dict(type='path', aliases=['dir']),
                owner=dict(type='int'),
                group=dict(type='int'),
                mode=dict(type='raw'),
            )),
            source=dict(type='dict', options=dict(
                host=dict(type='str'),
                port=dict(type='int'),
                dir=dict(type='str'),
                device=dict(type='list', elements='str'),
                name=dict(type='str'),
                format=dict(type='str'),
            )),
            active=dict(type='bool'),
            autostart=dict(type='bool'),
            build=dict(type='bool', default=False),
            restart=dict(type='bool', default=False),
            purge=dict(type='bool', default=False),
            force=dict(type='bool', default=False),
        ),
    )
    module.run_change('pool', ensure)


if __name__ == '__main__':
    main()
