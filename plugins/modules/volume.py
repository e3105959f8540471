#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: volume
short_description: Manage libvirt storage volumes
version_added: 0.1.0
description:
  - Create a storage volume in a running pool from exactly one source, grow it, copy it to a file, erase it or
    delete it.
  - "Sources: a blank volume (O(capacity)), a qcow2 overlay on a backing volume (O(backing), a linked clone), a
    full copy of another volume (O(clone_from)), a file on the node (O(import_path)), a file on the controller
    (O(src), or on the host running the module with O(remote_src=true)), an http(s) download verified by checksum
    (O(url)), or a template (O(template)), as a linked clone or a full copy."
  - A source is used only to create a missing volume. An existing volume is never recreated or overwritten; when it
    has a different format or backing volume than asked for, the task fails and says so.
  - Options left unset are left as they are. O(capacity) on an existing volume grows it; shrinking is refused
    unless O(allow_shrink=true).
  - Deleting or wiping a volume that a VM uses (in its saved or its running definition, by path or by pool and
    volume name) or that other volumes use as backing file is refused unless O(force=true).
extends_documentation_fragment:
  - vmcat.libvirt.connection
  - vmcat.libvirt.connection.check_diff
options:
  name:
    description:
      - Name of the volume in the pool; for directory pools also its file name.
      - Names that are empty, start with V(.), or contain V(/) or V(..) are refused before anything is looked up.
    type: str
    required: true
  pool:
    description:
      - The running pool that holds the volume. When it does not exist the task fails and lists the pools that do.
    type: str
    required: true
  state:
    description:
      - V(present) makes sure the volume exists (created from its source when missing) with the capacity asked for.
      - V(absent) deletes it (after overwriting it when O(wipe=true)).
      - V(wiped) makes sure the volume exists and reads as zeros. A volume that already reads as zeros is left
        alone, so the task is idempotent; see O(wipe) for the cost of that check. Only raw volumes can be wiped
        this way (zeroing a qcow2 file would destroy its header).
    type: str
    choices: [present, absent, wiped]
    default: present
  format:
    description:
      - Format of the volume. For a blank volume the default is V(qcow2); a full copy or a node file import keeps
        the source's format unless this converts it; an overlay on a backing volume is always V(qcow2).
      - For O(url) and O(src) the bytes are stored as they are; this is then a check, and a download or upload of
        another format is removed again and the task fails.
      - On an existing volume a different format is refused, never converted in place.
    type: str
    choices: [raw, qcow2]
  capacity:
    description:
      - Size the guest sees, such as V(10G), V(512MiB), V(1.5 TiB) or a number of bytes. V(K) to V(E) and V(KiB) to
        V(EiB) are powers of 1024, V(KB) to V(EB) powers of 1000. A fraction of a unit is rounded down to whole bytes;
        a fraction of a byte (V(1.5) without a unit) is refused, as is anything above libvirt's limit of
        2^64 - 1 bytes.
      - A capacity larger than the whole pool is refused (before anything changes, also in check mode); one larger
        than the space the pool has free now is created with a warning, as volumes are sparse unless preallocated.
        Pools that report no size (capacity 0) are not checked. The same holds for growing a volume.
      - Needed to create a blank volume. For the other sources it defaults to the source's size and, when larger,
        grows the new volume.
      - Larger than the existing volume grows it (virStorageVolResize). Smaller is refused unless O(allow_shrink=true).
      - qcow2 capacities are rounded up to whole 512-byte sectors, as qemu-img does.
    type: str
  preallocation:
    description:
      - How much space a volume libvirt creates (blank, O(backing), O(clone_from), O(import_path)) reserves at once.
        Only used when the volume is created.
      - V(off) (default) is sparse. V(metadata) preallocates the qcow2 tables (qcow2 only). V(falloc) reserves all
        the space (for qcow2 through qemu-img C(preallocation=falloc)).
      - V(full) is for raw volumes and currently the same as V(falloc) there, as in libvirt - B(no zeros are
        written). The space is reserved with fallocate, so the blocks are allocated but read as zeros without ever
        having been written; libvirt writes zeros only on file systems that have no fallocate. When every block
        must really be written (to scrub old data, or on storage that is thin-provisioned below the file system),
        write zeros on the node or from the guest; O(state=wiped) does not help there, as it skips a volume that
        already reads as zeros.
      - With V(falloc) or V(full), growing a raw volume allocates the new space too.
    type: str
    choices: ['off', metadata, falloc, full]
  allow_shrink:
    description:
      - Allow O(capacity) to make an existing volume smaller. Whatever lies beyond the new end is lost; libvirt
        refuses to shrink below the space already allocated.
    type: bool
    default: false
  backing:
    description:
      - Create the volume as a qcow2 overlay (linked clone) on this backing volume, which stays read-only and must
        not be changed or removed while overlays use it.
      - Same shape as C(backing) in the returned RV(volume).
    type: dict
    suboptions:
      name:
        description: Backing volume by name.
        type: str
      pool:
        description: Pool of the backing volume named by O(backing.name); defaults to O(pool).
        type: str
      path:
        description: Backing file by path on the node, for a file that is in no pool.
        type: str
      format:
        description:
          - Format of the backing file. Taken from the backing volume when libvirt knows it; required for a
            O(backing.path) outside any pool (libvirt does not guess backing formats).
        type: str
  clone_from:
    description:
      - Create the volume as a full, independent copy of another volume (virStorageVolCreateXMLFrom), in this or
        another pool on the same node. A qcow2 source with a backing chain is flattened.
    type: dict
    suboptions:
      name:
        description: The volume to copy.
        type: str
        required: true
      pool:
        description: Its pool; defaults to O(pool).
        type: str
  template:
    description:
      - Create the volume from a template registered with M(vmcat.libvirt.template), found by name in any running
        pool of the node; the new volume goes into O(pool).
      - A linked clone (default) is a qcow2 overlay on the template's read-only image, made at once; O(capacity)
        makes it larger than the template's virtual size (never smaller). A full copy (O(template.linked=false)) is
        independent of the template, keeps the template's format unless O(format) converts it, and is grown to
        O(capacity) when that is larger.
      - An existing volume is kept; it must be that kind of clone of that template (a linked clone must have the
        template's image as backing file, a full copy must not), or the task fails.
    type: dict
    suboptions:
      name:
        description: The template's name.
        type: str
        required: true
      linked:
        description: V(true) for a qcow2 overlay on the template's image, V(false) for a full copy.
        type: bool
        default: true
  import_path:
    description:
      - Create the volume as a copy of this file on the node (the host libvirt runs on, not the one running the
        module). An absolute path, not expanded on the host running the module.
      - libvirt can only copy volumes, so a file libvirt does not know yet is reached through a transient directory
        pool over its directory (named C(vmcat-import-*)), which is destroyed right after the copy; a file in the
        directory of an existing pool is found by refreshing that pool.
    type: str
  url:
    description:
      - Create the volume from an http or https download. The host running the module downloads the file and streams
        it into the volume as it arrives; the volume is deleted again when the download breaks off or the checksum
        does not match.
      - Requires O(checksum).
    type: str
  checksum:
    description:
      - Checksum of the O(url) download, as V(sha256:<hex>); V(sha512), V(sha1) and V(md5) work too.
    type: str
  url_username:
    description: User name for HTTP basic authentication of O(url).
    type: str
  url_password:
    description: Password for HTTP basic authentication of O(url). Never logged or returned.
    type: str
  validate_certs:
    description: Check the TLS certificate of an https O(url).
    type: bool
    default: true
  use_proxy:
    description: Use the proxy from the environment (C(https_proxy), C(http_proxy), C(no_proxy)) for O(url).
    type: bool
    default: true
  timeout:
    description: Seconds to wait for the O(url) server to answer or send more data.
    type: int
    default: 30
  src:
    description:
      - Create the volume from this file, streamed into it with virStorageVolUpload (holes stay holes).
      - With O(remote_src=false) (default) the file is on the controller. A relative path is searched like
        M(ansible.builtin.copy)'s O(ansible.builtin.copy#module:src) (a role's C(files/) directory, the playbook's
        C(files/) directory, then the playbook directory). With a local connection (C(localhost),
        C(delegate_to=localhost)) the file is read where it is. When the task runs on another host, the action
        plugin first asks the module whether the volume exists; only when it is missing is the file copied into
        that host's Ansible temp directory (holes are not kept by that copy), uploaded from there, and the copy
        removed again afterwards, also when the task fails.
      - With O(remote_src=true) the file is on the host that runs the module; nothing is copied.
      - Only used when the volume is missing (an existing volume is never overwritten, so the task is idempotent
        by the volume's name). In check mode nothing is copied or uploaded; the file's header is read on the
        controller to predict the volume's format and size.
      - The volume gets the file's format and virtual size, as libvirt detects them.
    type: path
  remote_src:
    description:
      - Where O(src) is. V(false) (default) means on the controller, V(true) means on the host that runs the module
        (which may be the libvirt node itself or a host that reaches it through O(uri)).
      - As with M(ansible.builtin.copy)'s O(ansible.builtin.copy#module:remote_src).
      - The volume's data always travels from the host running the module to the node through libvirt
        (virStorageVolUpload), so with a remote O(uri) it crosses the network once more.
    type: bool
    default: false
  _src_probe:
    description:
      - Internal; do not set. The action plugin passes the format and size of O(src), read on the controller, in
        place of a copy of the file when the module runs on another host (check mode, or a volume that already
        exists). A value given in the task is dropped by the action plugin.
    type: dict
  dest:
    description:
      - Copy the volume's bytes to this file on the host running the module (virStorageVolDownload, holes kept).
      - Unlike O(src), O(dest) is never on the controller unless the module runs there (C(localhost) or
        C(delegate_to=localhost), for a remote node with a C(qemu+ssh://) O(uri)). To bring a copy to the
        controller from another host, write it there and use M(ansible.builtin.fetch).
      - Idempotent by checksum. An existing file is compared with the volume's content (a full read of the volume)
        and written again only when they differ. New files are made with mode 0600.
      - A qcow2 volume is copied as the qcow2 file it is.
    type: path
  force:
    description:
      - Delete or wipe the volume even when VMs use it or other volumes use it as their backing file. Those VMs and
        overlays break.
    type: bool
    default: false
  wipe:
    description:
      - With O(state=absent), overwrite the volume's content (with O(wipe_algorithm)) before deleting it, so that its
        data does not stay on the storage. Happens at most once, since the volume is gone afterwards.
      - To erase a volume and keep it, use O(state=wiped) instead; it checks the content first, reading the volume
        until the first non-zero byte (a volume with data stops at once; a sparse file that was wiped is all holes
        and is skipped quickly; a fully allocated zero volume is read completely).
    type: bool
    default: false
  wipe_algorithm:
    description:
      - How O(wipe=true) overwrites the volume. V(zero) writes zeros; the others are libvirt's scrub patterns and need
        the C(scrub) tool on the node. O(state=wiped) always uses V(zero).
    type: str
    choices: [zero, nnsa, dod, bsi, gutmann, schneier, pfitzner7, pfitzner33, random, trim]
    default: zero
notes:
  - The content options (O(backing), O(clone_from), O(import_path), O(url), O(src), O(template)) are mutually
    exclusive and only used when the volume is created. To replace the content of an existing volume, delete it first.
  - In check mode nothing is downloaded, uploaded or copied; the size of a O(url) or O(import_path) volume is then
    unknown (null) unless O(capacity) is given.
  - O(dest) and O(state=wiped) read the volume also in check mode, to tell whether anything would change.
  - This module has an action plugin, which runs on the controller first. It finds O(src) on the controller and copies
    it to the host running the module. O(dest) stays a path on the host running the module.
seealso:
  - module: vmcat.libvirt.volume_info
  - module: vmcat.libvirt.pool
'''

EXAMPLES = r'''
- name: A blank 20 GiB qcow2 disk
  vmcat.libvirt.volume:
    pool: images
    name: web1-data.qcow2
    capacity: 20G

- name: A fully allocated raw disk
  vmcat.libvirt.volume:
    pool: images
    name: db1-data.raw
    format: raw
    capacity: 50G
    preallocation: full

- name: Download a cloud image once, verified
  vmcat.libvirt.volume:
    pool: images
    name: debian-12-base.qcow2
    url: https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-generic-amd64.qcow2
    checksum: "sha512:{{ debian_image_sha512 }}"
    format: qcow2

- name: A linked clone of it for one VM, with a bigger disk
  vmcat.libvirt.volume:
    pool: images
    name: web1.qcow2
    backing:
      name: debian-12-base.qcow2
    capacity: 30G

- name: A VM disk made from a template, as a linked clone with a bigger disk
  vmcat.libvirt.volume:
    pool: images
    name: web2.qcow2
    template:
      name: debian-12
    capacity: 30G

- name: An independent raw copy of a template
  vmcat.libvirt.volume:
    pool: fast
    name: db1.raw
    format: raw
    template:
      name: debian-12
      linked: false

- name: A full copy in another pool
  vmcat.libvirt.volume:
    pool: fast
    name: web1-copy.qcow2
    clone_from:
      pool: images
      name: web1.qcow2

- name: Upload an ISO from the controller to a remote node, through libvirt's SSH transport
  vmcat.libvirt.volume:
    uri: qemu+ssh://admin@kvm1.example.com/system
    pool: isos
    name: installer.iso
    src: /srv/isos/installer.iso

- name: Upload a role's files/seed.img to the libvirt host the play runs on (copied there first)
  vmcat.libvirt.volume:
    pool: images
    name: seed.img
    src: seed.img

- name: Upload a file that is already on the host running the module
  vmcat.libvirt.volume:
    pool: images
    name: build.qcow2
    src: /var/tmp/build/output.qcow2
    remote_src: true

- name: Import an image that is already on the node
  vmcat.libvirt.volume:
    pool: images
    name: appliance.qcow2
    import_path: /root/appliance.qcow2

- name: Grow a disk
  vmcat.libvirt.volume:
    pool: images
    name: web1.qcow2
    capacity: 40G

- name: Back a volume up to a file on the host running the module
  vmcat.libvirt.volume:
    pool: images
    name: db1-data.raw
    dest: /backup/db1-data.raw

- name: Erase a scratch disk and keep it
  vmcat.libvirt.volume:
    pool: images
    name: scratch.raw
    state: wiped

- name: Overwrite a disk, then delete it
  vmcat.libvirt.volume:
    pool: images
    name: old-db.raw
    state: absent
    wipe: true
'''

RETURN = r'''
volume:
  description:
    - The volume after the task (as it would be, in check mode). Empty when it was deleted.
    - Same keys as one element of RV(vmcat.libvirt.volume_info#module:volumes).
  returned: always
  type: dict
  sample:
    name: web1.qcow2
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
checksum:
  description: C(sha256:<hex>) of the volume's bytes, when O(dest) was compared or written.
  returned: when O(dest) is set and the volume was read
  type: str
  sample: sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
src:
  description: The absolute path of O(src) on the controller, as the action plugin found it.
  returned: when O(src) is set and O(remote_src=false)
  type: str
  sample: /home/admin/play/roles/isos/files/installer.iso
actions:
  description: What the task did (or would do, in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: [create, resize]
'''

# First of ours: importing it installs the code cache (docs/architecture.md).
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _zip_imports  # pylint: disable=unused-import
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module import LibvirtModule
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage._volume import SOURCES, WIPE_ALGORITHMS
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage._volume_task import ensure
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage._volume_plan import FORMATS, PREALLOCATION


def main():
    module = LibvirtModule(
        supports_check_mode=True,
        argument_spec=dict(
            name=dict(type='str', required=True),
            pool=dict(type='str', required=True),
            state=dict(type='str', choices=['present', 'absent', 'wiped'], default='present'),
            format=dict(type='str', choices=list(FORMATS)),
            capacity=dict(type='str'),
            preallocation=dict(type='str', choices=list(PREALLOCATION)),
            allow_shrink=dict(type='bool', default=False),
            backing=dict(type='dict', options=dict(
                name=dict(type='str'),
                pool=dict(type='str'),
                path=dict(type='str'),
                format=dict(type='str'),
            ), mutually_exclusive=[('name', 'path')], required_one_of=[('name', 'path')]),
            clone_from=dict(type='dict', options=dict(
                name=dict(type='str', required=True),
                pool=dict(type='str'),
            )),
            import_path=dict(type='str'),
            template=dict(type='dict', options=dict(
                name=dict(type='str', required=True),
                linked=dict(type='bool', default=True),
            )),
            url=dict(type='str'),
            checksum=dict(type='str'),
            url_username=dict(type='str'),
            url_password=dict(type='str', no_log=True),
            validate_certs=dict(type='bool', default=True),
            use_proxy=dict(type='bool', default=True),
            timeout=dict(type='int', default=30),
            src=dict(type='path'),
            remote_src=dict(type='bool', default=False),
            _src_probe=dict(type='dict'),  # set by the action plugin in check mode: src's format and size
            dest=dict(type='path'),
            force=dict(type='bool', default=False),
            wipe=dict(type='bool', default=False),
            wipe_algorithm=dict(type='str', choices=list(WIPE_ALGORITHMS), default='zero'),
        ),
        mutually_exclusive=[SOURCES],
        required_together=[('url', 'checksum')],
        secret_keys=('url_password',),
    )
    module.run_change('volume', ensure)


if __name__ == '__main__':
    main()
