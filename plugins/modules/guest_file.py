#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: guest_file
short_description: Put, remove or fetch a file inside a VM through its guest agent
version_added: 0.1.0
description:
  - Manages one regular file inside a running VM through the QEMU guest agent, without network, SSH or Python
    in the guest.
  - V(present) puts O(content), O(content_b64) or the controller file O(src) at O(path) in the guest, and sets
    O(mode), O(owner) and O(group) when given. A file whose SHA-256 already matches is not written again
    (C(changed=false)).
  - V(absent) removes the guest file O(path).
  - V(fetched) copies the guest file O(path) to O(dest) on the controller, like M(ansible.builtin.fetch)
    (changed when the local copy differs); without O(dest) it returns the file's content.
  - Data moves in chunks of 128 KiB (bigger agent messages break libvirt's agent channel); expect a few MB/s.
    Every write is checked with the guest's C(sha256sum), or by reading the file back when the guest cannot
    run it.
  - O(src) and O(dest) are on the B(controller), handled by the collection's C(guest_file) action plugin, even when
    the module itself runs on a remote libvirt host (C(delegate_to)). A relative O(src) is looked up like
    M(ansible.builtin.copy) does (the role's C(files/), the playbook's directory).
extends_documentation_fragment:
  - vmcat.libvirt.connection
  - vmcat.libvirt.running_vm
attributes:
  check_mode:
    description: Compares the guest file (checksum, mode, owner) and reports what would change without writing.
    support: full
  diff_mode:
    description:
      - Shows the file's content before and after for text files up to 64 KiB, else their SHA-256 and sizes;
        a second diff shows mode, owner and group when they are managed. For V(fetched), the checksums of the
        local copy.
    support: full
  action:
    description: An action plugin reads O(src) and writes O(dest) on the controller.
    support: full
options:
  path:
    description: Absolute path of the file inside the guest.
    type: str
    required: true
  state:
    description:
      - V(present) makes the guest file hold the given data (and mode/owner/group).
      - V(absent) removes it; needs C(guest-exec) unless the file is already absent.
      - V(fetched) reads it and copies it to O(dest) (or returns it).
    type: str
    choices: [present, absent, fetched]
    default: present
  content:
    description: The file's text (written as UTF-8) for V(present). One of O(content), O(content_b64), O(src).
    type: str
  content_b64:
    description: The file's bytes, base64-encoded, for V(present) (for binary data from a variable).
    type: str
  src:
    description:
      - A file on the controller whose bytes to put into the guest for V(present).
    type: path
  dest:
    description:
      - For V(fetched), where to store the copy on the controller. A directory (or a path ending in C(/)) gets the
        guest file's base name inside it. Its parent directory must exist.
    type: path
  return_content:
    description: For V(fetched) with O(dest), also return RV(content) and RV(content_b64).
    type: bool
    default: false
  mode:
    description:
      - Octal permissions of the guest file, like V('0644') (quote it in YAML). Needs C(guest-exec) in the guest.
      - Unset, an existing file keeps its mode and a new one gets qemu-ga's V(0600).
    type: raw
  owner:
    description: User (name or uid) to own the guest file. Needs C(guest-exec). A new file is owned by root.
    type: str
  group:
    description: Group (name or gid) of the guest file. Needs C(guest-exec).
    type: str
  agent_timeout:
    description: Seconds to wait for each guest agent answer (each 128 KiB chunk, each check).
    type: int
    default: 30
notes:
  - Without C(guest-exec) in the guest, V(present) still works (the checksum then comes from reading the file
    back) but O(mode), O(owner) and O(group) cannot be set or compared, and V(absent) fails for an existing file;
    the error says how to enable the command. C(guest-file-open), C(guest-file-read), C(guest-file-write) and
    C(guest-file-close) are always needed. See the collection's C(docs/modules/guest_agent.md).
  - Only regular files. Symbolic links are followed. Parent directories must exist in the guest.
  - The write replaces the file in place (the agent has no rename); a reader in the guest may see it half-written.
seealso:
  - module: vmcat.libvirt.guest_exec
  - module: vmcat.libvirt.guest_info
  - module: ansible.builtin.copy
  - module: ansible.builtin.fetch
'''

EXAMPLES = r'''
- name: Put a text file with mode and owner
  vmcat.libvirt.guest_file:
    name: web1
    path: /etc/motd
    content: |
      Managed by Ansible
    mode: '0644'
    owner: root
    group: root

- name: Put a controller file (from the role's files/) into the guest
  vmcat.libvirt.guest_file:
    name: web1
    path: /usr/local/bin/healthcheck
    src: healthcheck.sh
    mode: '0755'

- name: Fetch the guest's log to the controller
  vmcat.libvirt.guest_file:
    name: web1
    path: /var/log/app.log
    state: fetched
    dest: "{{ playbook_dir }}/logs/web1-app.log"

- name: Read a small guest file into a variable
  vmcat.libvirt.guest_file:
    name: web1
    path: /etc/os-release
    state: fetched
  register: os_release

- name: Show it
  ansible.builtin.debug:
    msg: "{{ os_release.content }}"

- name: Remove a file
  vmcat.libvirt.guest_file:
    name: web1
    path: /tmp/setup.sh
    state: absent
'''

RETURN = r'''
vm:
  description: Name of the VM.
  returned: always
  type: str
  sample: web1
guest_path:
  description: The guest file (O(path)).
  returned: always
  type: str
  sample: /etc/motd
state:
  description: The O(state) asked for.
  returned: always
  type: str
  sample: present
file:
  description:
    - The guest file after the task (predicted in check mode); C(mode), C(owner), C(group), C(uid), C(gid) are
      V(null) when the guest has no C(guest-exec).
    - With V(fetched), the file that was read; C(exists), C(type), C(size) and C(sha256) only.
  returned: always
  type: dict
  contains:
    exists:
      description: Whether the file exists.
      type: bool
    type:
      description: V(file), or V(null) when it does not exist.
      type: str
    mode:
      description: Octal permissions.
      type: str
    owner:
      description: Owner name.
      type: str
    group:
      description: Group name.
      type: str
    uid:
      description: Owner id.
      type: int
    gid:
      description: Group id.
      type: int
    size:
      description: Size in bytes.
      type: int
    sha256:
      description: SHA-256 of the content.
      type: str
  sample: {exists: true, type: file, mode: '0644', owner: root, group: root, uid: 0, gid: 0, size: 19,
           sha256: 5f0c0a2ac1c1b0b7a1b4fe9c1e3e2f70c2c5c5c0b3f1e2d4a6b8c0d2e4f6a8b0}
before:
  description: The guest file before the task, same keys as RV(file).
  returned: with V(present) and V(absent)
  type: dict
  sample: {exists: false, type: null, mode: null, owner: null, group: null, uid: null, gid: null, size: null,
           sha256: null}
via:
  description: How the guest file was inspected; V(exec) (stat and sha256sum in the guest) or V(file) (read back).
  returned: with V(present) and V(absent)
  type: str
  sample: exec
actions:
  description: What was (or in check mode would be) done.
  returned: always
  type: list
  elements: str
  sample: [write 19 bytes to /etc/motd, chmod 0644 /etc/motd]
dest:
  description: The local copy written (or compared) by V(fetched), on the controller.
  returned: with V(fetched) and O(dest)
  type: str
  sample: /srv/logs/web1-app.log
size:
  description: Size of the fetched file in bytes.
  returned: with V(fetched)
  type: int
  sample: 4096
sha256:
  description: SHA-256 of the fetched file.
  returned: with V(fetched)
  type: str
  sample: 5f0c0a2ac1c1b0b7a1b4fe9c1e3e2f70c2c5c5c0b3f1e2d4a6b8c0d2e4f6a8b0
content:
  description: The fetched file as text; V(null) when it is not UTF-8 (use RV(content_b64)).
  returned: with V(fetched), without O(dest) or with O(return_content)
  type: str
  sample: "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
content_b64:
  description: The fetched file's bytes, base64-encoded.
  returned: with V(fetched), without O(dest) or with O(return_content)
  type: str
  sample: UFJFVFRZX05BTUU9IkRlYmlhbiBHTlUvTGludXggMTIgKGJvb2t3b3JtKSIK
'''

# First of ours: importing it installs the code cache (docs/architecture.md).
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _zip_imports  # pylint: disable=unused-import
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module import LibvirtModule
from ansible_collections.vmcat.libvirt.plugins.module_utils._guest._guest_file import guest_file
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module_options import require_positive_seconds, running_vm_options


def main():
    module = LibvirtModule(
        supports_check_mode=True,
        argument_spec=running_vm_options(
            path=dict(type='str', required=True),
            state=dict(type='str', default='present', choices=['present', 'absent', 'fetched']),
            content=dict(type='str'),
            content_b64=dict(type='str'),
            src=dict(type='path'),
            dest=dict(type='path'),
            return_content=dict(type='bool', default=False),
            mode=dict(type='raw'),
            owner=dict(type='str'),
            group=dict(type='str'),
            agent_timeout=dict(type='int', default=30),
        ),
        mutually_exclusive=[('content', 'content_b64', 'src')],
        required_if=[('state', 'present', ('content', 'content_b64', 'src'), True)],
    )
    require_positive_seconds(module, 'agent_timeout')
    module.run_change('file', guest_file)


if __name__ == '__main__':
    main()
