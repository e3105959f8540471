#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: template_info
short_description: List VM templates with their metadata, image and users
version_added: 0.1.0
description:
  - Returns the templates registered in the running pools of a node (see M(vmcat.libvirt.template)), all of them or
    those with a given name, pool or tags, in the shape of M(vmcat.libvirt.template)'s options.
  - Each comes with its image (path, format, virtual size, allocation, file mode), its metadata, and who uses it
    (overlay volumes in any pool whose backing chain reaches its image, VMs whose disks reach it) with a usage count.
  - Templates are found through libvirt alone (their metadata volumes are read with download streams), so this works
    the same over remote URIs. Templates in pools that are not running are not seen.
extends_documentation_fragment:
  - vmcat.libvirt.connection
  - vmcat.libvirt.connection.info
options:
  name:
    description: Only the template with this name (an empty list when there is none).
    type: str
  pool:
    description: Only templates in this pool. The task fails, listing the pools, when it does not exist or is not running.
    type: str
  tags:
    description: Only templates that have all of these tags.
    type: list
    elements: str
seealso:
  - module: vmcat.libvirt.template
  - module: vmcat.libvirt.volume_info
'''

EXAMPLES = r'''
- name: All templates of the node
  vmcat.libvirt.template_info:
  register: templates

- name: Debian templates with cloud-init
  vmcat.libvirt.template_info:
    tags: [debian]
  register: debian

- name: Names of the templates nothing uses
  ansible.builtin.debug:
    msg: "{{ templates.templates | selectattr('usage_count', 'equalto', 0) | map(attribute='name') | list }}"

- name: Does template debian-12 exist?
  vmcat.libvirt.template_info:
    name: debian-12
  register: found
'''

RETURN = r'''
templates:
  description: The templates, sorted by name (and pool, for a name registered twice).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Template name.
      type: str
    pool:
      description: The pool holding its image and metadata volumes.
      type: str
    volume:
      description: Name of the image volume (C(NAME.vmcat-template.img)).
      type: str
    metadata_volume:
      description: Name of the metadata volume (C(NAME.vmcat-template.json)).
      type: str
    path:
      description: Path of the image on the node (null when the image volume is missing).
      type: str
    format:
      description: Image format, such as V(qcow2) or V(raw).
      type: str
    virtual_size:
      description: Size of the disk the image holds, in bytes.
      type: int
    allocation:
      description: Bytes the image takes on the storage.
      type: int
    mode:
      description: File mode of the image (V(0444) for templates in dir, fs and netfs pools), or null.
      type: str
    os:
      description: The guest operating system.
      type: dict
      contains:
        name:
          description: Name.
          type: str
        version:
          description: Version.
          type: str
        arch:
          description: Architecture.
          type: str
    source:
      description: Where the image came from.
      type: dict
      contains:
        type:
          description: V(url), V(file), V(volume) or V(vm).
          type: str
        url:
          description: The download URL (without credentials).
          type: str
        path:
          description: The node file, or the path of the copied volume or VM disk.
          type: str
        pool:
          description: Pool of the copied volume.
          type: str
        volume:
          description: Name of the copied volume.
          type: str
        vm:
          description: The VM whose disk was copied.
          type: str
        disk:
          description: Target of that disk, such as V(vda).
          type: str
        checksum:
          description: Checksum of the source (V(algorithm:hex)), when one was given.
          type: str
    features:
      description: What the image supports.
      type: dict
      contains:
        cloud_init:
          description: Runs cloud-init.
          type: bool
        guest_agent:
          description: Runs the QEMU guest agent.
          type: bool
        virtio:
          description: Has virtio drivers.
          type: bool
        uefi:
          description: Boots with UEFI firmware.
          type: bool
    tags:
      description: Tags, sorted.
      type: list
      elements: str
    description:
      description: Free text.
      type: str
    created:
      description: When it was registered (UTC, ISO 8601).
      type: str
    updated:
      description: When its metadata last changed (UTC, ISO 8601).
      type: str
    sysprep:
      description: Null, or what sysprep did to the copy.
      type: dict
      contains:
        tool:
          description: V(debugfs).
          type: str
        filesystem_offset:
          description: Byte offset of the cleaned file system in the disk.
          type: int
        emptied:
          description: Files emptied.
          type: list
          elements: str
        removed:
          description: Files removed.
          type: list
          elements: str
    usage_count:
      description:
        - How many disk images depend on the template - the overlay volumes in C(used_by.volumes), overlay files
          outside the pools that VMs use, and the image itself once for each VM disk placed directly on it.
      type: int
    used_by:
      description: Who uses the template.
      type: dict
      contains:
        volumes:
          description:
            - C(pool/name) of the volumes whose backing chain reaches the image (linked clones, also through other
              overlays), in every running pool.
          type: list
          elements: str
        vms:
          description:
            - VMs with a disk on the image, on one of those volumes, or (running VMs, whose backing chain libvirt
              shows) on an overlay file outside the pools.
          type: list
          elements: str
    problems:
      description:
        - Why the template cannot be used, for example a missing image volume, unreadable metadata, or the same name
          in two pools. Empty for a good template.
      type: list
      elements: str
  sample:
    - name: debian-12
      pool: images
      volume: debian-12.vmcat-template.img
      metadata_volume: debian-12.vmcat-template.json
      path: /var/lib/libvirt/images/debian-12.vmcat-template.img
      format: qcow2
      virtual_size: 2147483648
      allocation: 348782592
      mode: "0444"
      os: {name: debian, version: "12", arch: x86_64}
      source: {type: url, url: "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2",
               checksum: "sha512:8c2b...", path: null, pool: null, volume: null, vm: null, disk: null}
      features: {cloud_init: true, guest_agent: true, virtio: true, uefi: false}
      tags: [cloud, debian]
      description: Debian 12 genericcloud
      created: "2024-06-01T10:00:00Z"
      updated: "2024-06-02T08:30:00Z"
      sysprep: null
      usage_count: 2
      used_by: {volumes: [images/web1.qcow2, images/web2.qcow2], vms: [web1, web2]}
      problems: []
'''

# First of ours: importing it installs the code cache (docs/architecture.md).
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _zip_imports  # pylint: disable=unused-import
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module import LibvirtModule
from ansible_collections.vmcat.libvirt.plugins.module_utils._template._template_read import list_templates


def main():
    module = LibvirtModule(supports_check_mode=True, argument_spec=dict(
        name=dict(type='str'),
        pool=dict(type='str'),
        tags=dict(type='list', elements='str'),
    ))
    module.run_info(lambda ctx: dict(templates=list_templates(ctx)))


if __name__ == '__main__':
    main()
