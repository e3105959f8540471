#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: volume_info
short_description: List libvirt storage volumes with their format, sizes, backing volume and users
version_added: 0.1.0
description:
  - Returns the volumes of one pool or of every running pool, optionally only those with a given name, in the shape
    of M(vmcat.libvirt.volume)'s options, with their size, allocation, backing volume and the VMs that use them.
extends_documentation_fragment:
  - vmcat.libvirt.connection
  - vmcat.libvirt.connection.info
options:
  pool:
    description:
      - Only volumes of this pool. The task fails, listing the pools that exist, when it is not there, and when it
        is not running (its volumes are unknown then).
      - Unset lists the volumes of every running pool; pools that are not running are skipped.
    type: str
  name:
    description:
      - Only volumes with this name. A name that no volume has gives an empty list, so this also tells whether a
        volume exists.
    type: str
seealso:
  - module: vmcat.libvirt.volume
  - module: vmcat.libvirt.pool_info
'''

EXAMPLES = r'''
- name: All volumes of the images pool
  vmcat.libvirt.volume_info:
    pool: images
  register: images

- name: Volumes nobody uses
  ansible.builtin.debug:
    msg: "{{ images.volumes | selectattr('used_by', 'equalto', []) | map(attribute='name') | list }}"

- name: Does the base image exist yet?
  vmcat.libvirt.volume_info:
    pool: images
    name: debian-12-base.qcow2
  register: base

- name: Where is a volume called web1.qcow2, in any pool?
  vmcat.libvirt.volume_info:
    name: web1.qcow2
  register: found
'''

RETURN = r'''
volumes:
  description: The volumes, sorted by pool and name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Volume name.
      type: str
    pool:
      description: Name of the pool that holds it.
      type: str
    path:
      description: Path of the volume on the node (a file or a device).
      type: str
    key:
      description: libvirt's unique key for the volume (the path, for files).
      type: str
    type:
      description: V(file), V(block), V(dir), V(network), V(netdir) or V(ploop).
      type: str
    format:
      description: Format, such as V(qcow2), V(raw) or V(iso) (null where the pool type has none).
      type: str
    capacity:
      description: Size the guest sees, in bytes.
      type: int
    allocation:
      description: Bytes allocated on the storage.
      type: int
    physical:
      description: Size of the file or device holding it, in bytes (null where libvirt does not report it).
      type: int
    backing:
      description:
        - The backing file of a qcow2 overlay, or null. C(pool) and C(name) are set when the backing file is a
          volume libvirt knows.
      type: dict
      contains:
        path:
          description: Path of the backing file.
          type: str
        format:
          description: Its format.
          type: str
        pool:
          description: Pool of the backing volume, or null.
          type: str
        name:
          description: Name of the backing volume, or null.
          type: str
    used_by:
      description:
        - Names of the VMs whose saved or running definition has a disk on this volume (by path or by pool and
          volume), sorted. VMs that reach it only through an overlay's backing chain are not listed.
      type: list
      elements: str
  sample:
    - name: web1.qcow2
      pool: images
      path: /var/lib/libvirt/images/web1.qcow2
      key: /var/lib/libvirt/images/web1.qcow2
      type: file
      format: qcow2
      capacity: 32212254720
      allocation: 200704
      physical: 196616
      backing:
        path: /var/lib/libvirt/images/debian-12-base.qcow2
        format: qcow2
        pool: images
        name: debian-12-base.qcow2
      used_by: [web1]
'''

# First of ours: importing it installs the code cache (docs/architecture.md).
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _zip_imports  # pylint: disable=unused-import
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module import LibvirtModule
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage._volume_read import list_volumes


def main():
    module = LibvirtModule(supports_check_mode=True, argument_spec=dict(pool=dict(type='str'), name=dict(type='str')))
    module.run_info(lambda ctx: dict(volumes=list_volumes(ctx, ctx.params['pool'], ctx.params['name'])))


if __name__ == '__main__':
    main()
