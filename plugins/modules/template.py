#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: template
short_description: Manage VM templates (read-only golden images with metadata) in libvirt storage pools
version_added: 0.1.0
description:
  - Registers a golden image as a template, updates its metadata, or deletes it.
  - "A template C(NAME) is two volumes in one running pool: the image C(NAME.vmcat-template.img) (raw or qcow2,
    file mode 0444 in dir, fs and netfs pools) and the metadata C(NAME.vmcat-template.json) (JSON, written and read
    through libvirt streams). Nothing else is stored anywhere, so M(vmcat.libvirt.template_info) finds the templates
    of any node over any URI."
  - "The image comes from exactly one O(source): an http(s) download verified by checksum, a file on the node, a
    volume, or a disk of a shut-off VM (a full, flattened copy). The image is never written after registration; VMs
    use it only as a backing file (linked clones) or as the source of full copies, made with
    M(vmcat.libvirt.volume)'s O(vmcat.libvirt.volume#module:template) option or the vm module's disk options."
  - "An existing template keeps its image. O(os), O(features), O(tags) and O(description) update the metadata only.
    A different source (another checksum, or another origin when no checksum is given) is refused, as is another
    O(format): register the new image under a new name."
  - Deleting a template that disks still use (overlay volumes in any pool, or VMs whose disks reach its image) is
    refused unless O(force=true). When a running VM uses it, deleting is refused even with O(force=true).
extends_documentation_fragment:
  - vmcat.libvirt.connection
  - vmcat.libvirt.connection.check_diff
options:
  name:
    description:
      - Name of the template, unique on the node (in all pools).
      - Letters, digits, V(.), V(_), V(+) and V(-), starting with a letter or digit, up to 100 characters.
    type: str
    required: true
  state:
    description:
      - V(present) registers the template when it is missing and updates its metadata.
      - V(absent) deletes the template's image and metadata volumes (never the disks made from it; see O(force)).
    type: str
    choices: [present, absent]
    default: present
  pool:
    description:
      - The running pool that holds the template; required to register one.
      - For an existing template it may be left out (the template is found by name); when given it must be the
        template's pool, templates do not move.
    type: str
  source:
    description:
      - Where the image of a new template comes from; exactly one of O(source.url), O(source.path), O(source.volume)
        and O(source.vm).
      - Used only to register a missing template. For an existing template it must name the same image (same
        O(source.checksum), or the same origin when no checksum is given), or the task fails.
    type: dict
    suboptions:
      url:
        description:
          - Download the image over http or https. The host running the module downloads it and streams it into the
            new volume; the volume is deleted again when the download breaks off or the checksum does not match, so a
            new run starts cleanly (downloads are not resumed).
        type: str
      checksum:
        description:
          - Checksum of the source, as V(sha256:<hex>) (V(sha512), V(sha1) and V(md5) work too). Required with
            O(source.url).
          - For O(source.path), O(source.volume) and O(source.vm) it is optional; when given, the source is read once
            through a libvirt stream (a full read, over the connection) and must match before anything is created.
          - It is kept in the metadata and is what an existing template is compared with.
        type: str
      url_username:
        description: User name for HTTP basic authentication of O(source.url).
        type: str
      url_password:
        description: Password for HTTP basic authentication of O(source.url). Never logged or returned.
        type: str
      validate_certs:
        description: Check the TLS certificate of an https O(source.url).
        type: bool
        default: true
      use_proxy:
        description: Use the proxy from the environment for O(source.url).
        type: bool
        default: true
      timeout:
        description: Seconds to wait for the O(source.url) server to answer or send more data.
        type: int
        default: 30
      path:
        description:
          - Copy a file on the node (an absolute path on the host libvirt runs on). A file libvirt does not know is
            reached through a transient directory pool, removed right after the copy.
          - Refused while a running VM has it as a writable disk (the copy would not be consistent).
        type: str
      volume:
        description:
          - Copy this volume (a full copy; a qcow2 backing chain is flattened).
          - Refused while a running VM has it as a writable disk (the copy would not be consistent).
        type: str
      pool:
        description: Pool of O(source.volume); defaults to O(pool).
        type: str
      vm:
        description:
          - Copy a disk of this VM, which must be shut off (the task fails while it runs or is paused). The copy is
            flattened, so the template does not depend on the VM's disk.
        type: str
      disk:
        description: Target (such as V(vda)) of the disk of O(source.vm) to copy; defaults to its first disk.
        type: str
  format:
    description:
      - Format of the image. For O(source.path), O(source.volume) and O(source.vm) the copy is converted to it;
        default is the source's format (V(qcow2) after sysprep when the source's format is unknown).
      - For O(source.url) the bytes are stored as downloaded; this is then a check, and a download of another
        format is removed again and the task fails.
      - For an existing template a different format is refused.
    type: str
    choices: [raw, qcow2]
  sysprep:
    description:
      - Remove the machine identity from the copy before it becomes the template. This empties C(/etc/machine-id)
        and removes C(/var/lib/dbus/machine-id) and C(/etc/ssh/ssh_host_*). The source is never changed.
      - Works for Linux images whose root file system is ext2, ext3 or ext4 (on the whole disk, an MBR primary
        partition or a GPT partition), with C(qemu-img) and C(debugfs) (e2fsprogs) on the node. Other file systems
        (XFS, Btrfs, LVM) are refused; use virt-sysprep on them before registering.
      - Only on the node itself with a local URI such as C(qemu:///system), because it edits a temporary raw copy in
        C(/var/tmp) with local tools; a remote URI fails before anything is created.
      - Only for O(source.path), O(source.volume) and O(source.vm). For an existing template, V(true) is refused when
        it was registered without sysprep.
    type: bool
    default: false
  os:
    description: The guest operating system, kept in the metadata. Suboptions left unset are left as they are.
    type: dict
    suboptions:
      name:
        description: Name, such as V(debian).
        type: str
      version:
        description: Version, such as V(12).
        type: str
      arch:
        description: Architecture, such as V(x86_64).
        type: str
  features:
    description:
      - What the image supports, kept in the metadata (false for a new template unless set). Suboptions left unset
        are left as they are.
    type: dict
    suboptions:
      cloud_init:
        description: The image runs cloud-init (a NoCloud seed configures it).
        type: bool
      guest_agent:
        description: The image runs the QEMU guest agent.
        type: bool
      virtio:
        description: The image has virtio drivers (disk, network).
        type: bool
      uefi:
        description: The image boots with UEFI firmware (else BIOS).
        type: bool
  tags:
    description: Tags for finding the template; replace the current ones when given (kept sorted, without duplicates).
    type: list
    elements: str
  description:
    description: Free text about the template.
    type: str
  force:
    description:
      - With O(state=absent), delete the template although disks still use its image (overlay volumes, VMs that are
        shut off). Those disks lose their backing file and no longer work; they are listed in RV(orphaned).
      - Never deletes while a running VM uses the image.
    type: bool
    default: false
notes:
  - In check mode nothing is downloaded or copied; the format and size of a new template are predicted when libvirt
    knows the source, else null.
  - Names ending in C(.vmcat-template.img) and C(.vmcat-template.json) are reserved for templates. The vm module never
    deletes template volumes when it removes a VM's storage.
seealso:
  - module: vmcat.libvirt.template_info
  - module: vmcat.libvirt.volume
'''

EXAMPLES = r'''
- name: Register the Debian 12 cloud image as a template
  vmcat.libvirt.template:
    name: debian-12
    pool: images
    source:
      url: https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2
      checksum: "sha512:{{ debian_sha512 }}"
    format: qcow2
    os:
      name: debian
      version: "12"
      arch: x86_64
    features:
      cloud_init: true
      guest_agent: false
      virtio: true
    tags: [debian, cloud]
    description: Debian 12 genericcloud, as published

- name: A template from a VM that was prepared by hand and shut down, cleaned of its machine identity
  vmcat.libvirt.template:
    name: web-base-2024-06
    pool: images
    source:
      vm: web-golden
    sysprep: true
    tags: [web]

- name: A template from an image file already on the node
  vmcat.libvirt.template:
    name: appliance-3.1
    pool: images
    source:
      path: /srv/images/appliance-3.1.qcow2
      checksum: "sha256:{{ appliance_sha256 }}"

- name: Update only the metadata
  vmcat.libvirt.template:
    name: debian-12
    features:
      guest_agent: true
    tags: [debian, cloud, agent]

- name: A VM disk as a linked clone of the template, 20 GiB
  vmcat.libvirt.volume:
    pool: images
    name: web1.qcow2
    template:
      name: debian-12
    capacity: 20G

- name: Remove a template nothing uses any more
  vmcat.libvirt.template:
    name: appliance-3.1
    state: absent
'''

RETURN = r'''
template:
  description:
    - The template after the task (as it would be, in check mode). Empty when it was deleted.
    - Same keys as one element of RV(vmcat.libvirt.template_info#module:templates).
  returned: always
  type: dict
  sample:
    name: debian-12
    pool: images
    volume: debian-12.vmcat-template.img
    metadata_volume: debian-12.vmcat-template.json
    path: /var/lib/libvirt/images/debian-12.vmcat-template.img
    format: qcow2
    virtual_size: 2147483648
    allocation: 348782592
    mode: "0444"
    os: {name: debian, version: "12", arch: x86_64}
    source:
      type: url
      url: https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2
      checksum: "sha512:8c2b..."
      path: null
      pool: null
      volume: null
      vm: null
      disk: null
    features: {cloud_init: true, guest_agent: false, virtio: true, uefi: false}
    tags: [cloud, debian]
    description: Debian 12 genericcloud, as published
    created: "2024-06-01T10:00:00Z"
    updated: "2024-06-01T10:00:00Z"
    sysprep: null
    usage_count: 0
    used_by: {volumes: [], vms: []}
    problems: []
orphaned:
  description: The disks that lost their backing file when a used template was deleted with O(force=true).
  returned: when a template that disks used was deleted
  type: dict
  contains:
    volumes:
      description: Overlay volumes, as C(pool/name).
      type: list
      elements: str
    vms:
      description: VMs with disks on the template's image.
      type: list
      elements: str
actions:
  description: What the task did (or would do, in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: [download, write metadata]
'''

# First of ours: importing it installs the code cache (docs/architecture.md).
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _zip_imports  # pylint: disable=unused-import
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module import LibvirtModule
from ansible_collections.vmcat.libvirt.plugins.module_utils._template._template_task import ensure


def main():
    module = LibvirtModule(
        supports_check_mode=True,
        argument_spec=dict(
            name=dict(type='str', required=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            pool=dict(type='str'),
            source=dict(type='dict', options=dict(
                url=dict(type='str'),
                checksum=dict(type='str'),
                url_username=dict(type='str'),
                url_password=dict(type='str', no_log=True),
                validate_certs=dict(type='bool', default=True),
                use_proxy=dict(type='bool', default=True),
                timeout=dict(type='int', default=30),
                path=dict(type='str'),
                volume=dict(type='str'),
                pool=dict(type='str'),
                vm=dict(type='str'),
                disk=dict(type='str'),
            ), mutually_exclusive=[('url', 'path', 'volume', 'vm')], required_one_of=[('url', 'path', 'volume', 'vm')],
                required_by=dict(pool='volume', disk='vm', url='checksum')),
            format=dict(type='str', choices=['raw', 'qcow2']),
            sysprep=dict(type='bool', default=False),
            os=dict(type='dict', options=dict(
                name=dict(type='str'),
                version=dict(type='str'),
                arch=dict(type='str'),
            )),
            features=dict(type='dict', options=dict(
                cloud_init=dict(type='bool'),
                guest_agent=dict(type='bool'),
                virtio=dict(type='bool'),
                uefi=dict(type='bool'),
            )),
            tags=dict(type='list', elements='str'),
            description=dict(type='str'),
            force=dict(type='bool', default=False),
        ),
        secret_keys=('url_password',),
    )
    module.run_change('template', ensure)


if __name__ == '__main__':
    main()
