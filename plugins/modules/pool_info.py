#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: pool_info
short_description: List libvirt storage pools with their capacity and volumes
version_added: 0.1.0
description:
  - Returns every storage pool of a node, or one by name, with its definition (in the shape of
    M(vmcat.libvirt.pool)'s options), state, capacity, allocation, free space and volumes.
extends_documentation_fragment:
  - vmcat.libvirt.connection
  - vmcat.libvirt.connection.info
options:
  name:
    description: Only this pool. The task fails, listing the pools that exist, when it is not there.
    type: str
seealso:
  - module: vmcat.libvirt.pool
'''

EXAMPLES = r'''
- name: All pools of the local node
  vmcat.libvirt.pool_info:
  register: result

- name: Free space in the images pool
  vmcat.libvirt.pool_info:
    name: images
  register: images

- name: Show it
  ansible.builtin.debug:
    msg: "{{ images.pools[0].available | human_readable }} free"
'''

RETURN = r'''
pools:
  description: The pools, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Pool name.
      type: str
    uuid:
      description: Pool UUID.
      type: str
    type:
      description: Pool type (V(dir), V(fs), V(netfs), V(logical), V(disk), V(iscsi), ...).
      type: str
    state:
      description: V(running), V(inactive), V(building), V(degraded) or V(inaccessible).
      type: str
    active:
      description: Whether the pool is running.
      type: bool
    autostart:
      description: Whether libvirt starts it with the daemon.
      type: bool
    persistent:
      description: Whether the pool has a saved definition.
      type: bool
    target:
      description: Path, numeric owner and group, and octal mode (unset values are null).
      type: dict
    source:
      description: Source host, port, dir, device list, name and format, where set.
      type: dict
    capacity:
      description: Size in bytes (0 when the pool is not running).
      type: int
    allocation:
      description: Bytes in use.
      type: int
    available:
      description: Bytes free.
      type: int
    volume_count:
      description: Number of volumes, or null when the pool is not running (its volumes are unknown then).
      type: int
    volumes:
      description: Volume names, sorted.
      type: list
      elements: str
  sample:
    - name: default
      uuid: 0f1c1bd5-6a55-4d5c-9d8d-5ac1b0b1c3a4
      type: dir
      state: running
      active: true
      autostart: true
      persistent: true
      target: {path: /var/lib/libvirt/images, owner: 0, group: 0, mode: '0711'}
      source: {}
      capacity: 107374182400
      allocation: 2147483648
      available: 105226698752
      volume_count: 1
      volumes: [debian-12.qcow2]
'''

# First of ours: importing it installs the code cache (docs/architecture.md).
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _zip_imports  # pylint: disable=unused-import
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module import LibvirtModule
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage._pool_read import list_pools


def main():
    module = LibvirtModule(supports_check_mode=True, argument_spec=dict(name=dict(type='str')))
    module.run_info(lambda ctx: dict(pools=list_pools(ctx, ctx.params['name'])))


if __name__ == '__main__':
    main()
