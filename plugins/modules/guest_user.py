#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: guest_user
short_description: Set a guest user's password and SSH authorized keys through the QEMU guest agent
version_added: 0.2.0
description:
  - Changes an existing user inside a running VM through its QEMU guest agent (qemu-ga), with no network and
    no SSH, the user's password (C(guest-set-user-password)) and the keys in the user's
    C(~/.ssh/authorized_keys) (C(guest-ssh-get-authorized-keys), C(guest-ssh-add-authorized-keys),
    C(guest-ssh-remove-authorized-keys)).
  - None of these commands needs C(guest-exec) or C(guest-file-*), so the module works in guests whose agent
    blocks those. The SSH key commands need qemu-ga 5.2 or later in a Linux or other POSIX guest.
  - The user must already exist in the guest; the module does not create users.
  - B(Keys) are read first, so a run that finds the keys as wanted changes nothing. The agent compares keys as
    whole lines, and so does this module (blanks at both ends do not count), so the same key with another comment
    or other options is another line.
  - B(Passwords) cannot be read back through the agent. With O(password) (plain text) the password is set on
    every run and the task reports C(changed); that is the honest answer, as there is nothing to compare with.
    With O(password_hash) the module first reads the user's hash from C(/etc/shadow) through
    C(guest-file-open)/C(guest-file-read) and sets the password only when the hash differs, like
    M(ansible.builtin.user) with O(ansible.builtin.user#module:update_password=always). When the agent blocks
    C(guest-file-*) (or the user has no line there), the hash cannot be compared, so the password is set, the task
    reports C(changed) and warns. Give the same hash (same salt) on every run for idempotency, for example
    from C(password_hash('sha512', 'fixed salt')).
  - The agent runs C(chpasswd) (C(chpasswd -e) for a hash) in the guest; a guest without C(chpasswd) in the
    agent's C(PATH) (busybox builds without that applet) fails with the agent's error.
extends_documentation_fragment:
  - vmcat.libvirt.connection
  - vmcat.libvirt.running_vm
attributes:
  check_mode:
    description: Reads the keys (and the hash) and reports what would change, without changing it.
    support: full
  diff_mode:
    description: The user's authorized keys before and after; a password only shows as masked when it changes.
    support: full
options:
  user:
    description:
      - The guest user whose password or keys change, such as V(root) or V(debian).
      - An empty name, one with blanks around it, a V(:) or a control character (line break, tab) is refused
        before the agent is asked.
    type: str
    required: true
  password:
    description:
      - The new password in plain text. The agent gets it base64-encoded and the guest's C(chpasswd) hashes it.
      - Set on every run (reported as C(changed)), as a password cannot be read back to compare. Use
        O(password_hash) for a task that changes nothing on the second run.
      - Mutually exclusive with O(password_hash).
    type: str
  password_hash:
    description:
      - The new password as a C(crypt(3)) hash, such as the output of C(mkpasswd -m sha-512) or
        C({{ 'secret' | password_hash('sha512', 'salt') }}). Set with C(chpasswd -e).
      - Compared with the user's field in C(/etc/shadow) when the agent allows C(guest-file-open) and
        C(guest-file-read); set only when it differs. Otherwise set on every run, with a warning.
      - Mutually exclusive with O(password).
    type: str
  authorized_keys:
    description:
      - Public key lines, such as V(ssh-ed25519 AAAAC3... admin@example.com).
      - With O(state=present) they are added when missing; with O(state=absent) they are removed when there.
      - With O(exclusive=true) the file ends up with exactly these keys (V([]) removes every key).
      - Left unset, the keys are not read or changed.
    type: list
    elements: str
  state:
    description:
      - V(present) adds the O(authorized_keys) and sets the password; V(absent) removes the O(authorized_keys).
      - V(absent) does not remove the user, and does not take a password.
    type: str
    choices: [present, absent]
    default: present
  exclusive:
    description:
      - Replace all of the user's keys with O(authorized_keys) (keys not listed are removed).
      - Only with O(state=present). Comments and blank lines in the file go too; the agent rewrites it.
    type: bool
    default: false
  timeout:
    description: Seconds to wait for each agent reply.
    type: int
    default: 10
requirements:
  - qemu-guest-agent 5.2 or later running in the guest (for the SSH key commands)
notes:
  - The password never appears in results, diffs or error messages.
  - A guest whose agent blocks C(guest-set-user-password) or the C(guest-ssh-*) commands fails with the name of
    the blocked command and how to allow it.
seealso:
  - module: vmcat.libvirt.guest_fs
  - module: ansible.builtin.user
  - name: QEMU guest agent protocol
    description: The agent commands this module sends.
    link: https://www.qemu.org/docs/master/interop/qemu-ga-ref.html
'''

EXAMPLES = r'''
- name: Give the admin's SSH key to root in web1
  vmcat.libvirt.guest_user:
    name: web1
    user: root
    authorized_keys:
      - "{{ lookup('ansible.builtin.file', '~/.ssh/id_ed25519.pub') }}"

- name: Exactly these keys for deploy, no others
  vmcat.libvirt.guest_user:
    name: web1
    user: deploy
    authorized_keys: "{{ deploy_keys }}"
    exclusive: true

- name: Take an old key away
  vmcat.libvirt.guest_user:
    name: web1
    user: deploy
    authorized_keys:
      - ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7old deploy@old-laptop
    state: absent

- name: Set root's password from a hash (changes nothing when the guest has that hash)
  vmcat.libvirt.guest_user:
    name: web1
    user: root
    password_hash: "{{ vault_root_password | password_hash('sha512', vault_root_salt) }}"

- name: Reset a forgotten password in plain text (set, and reported changed, on every run)
  vmcat.libvirt.guest_user:
    name: web1
    user: debian
    password: "{{ vault_debian_password }}"
'''

RETURN = r'''
user:
  description: The user after the task (predicted in check mode).
  returned: success
  type: dict
  contains:
    user:
      description: The user's name.
      type: str
      sample: root
    authorized_keys:
      description: The user's key lines after the task, as the agent lists them.
      type: list
      elements: str
      returned: when O(authorized_keys) is given
      sample: [ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx admin@example.com]
    password:
      description: V(changed) when the password was (or in check mode would be) set. Never the password.
      type: str
      returned: when the password is set
      sample: changed
keys_added:
  description: Key lines added (or that would be added).
  returned: success
  type: list
  elements: str
  sample: [ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx admin@example.com]
keys_removed:
  description: Key lines removed (or that would be removed).
  returned: success
  type: list
  elements: str
  sample: []
password_changed:
  description: Whether the password was (or in check mode would be) set.
  returned: success
  type: bool
  sample: true
password_checked:
  description: Whether the current hash could be read from C(/etc/shadow) and compared (only with O(password_hash)).
  returned: success
  type: bool
  sample: true
'''

# First of ours: importing it installs the code cache (docs/architecture.md).
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _zip_imports  # pylint: disable=unused-import
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module import LibvirtModule
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module_options import require_positive_seconds, running_vm_options
from ansible_collections.vmcat.libvirt.plugins.module_utils._guest._guest_user import ensure_user


def main():
    module = LibvirtModule(
        supports_check_mode=True,
        secret_keys=('password_hash',),
        argument_spec=running_vm_options(
            user=dict(type='str', required=True),
            password=dict(type='str', no_log=True),
            password_hash=dict(type='str', no_log=True),
            authorized_keys=dict(type='list', elements='str', no_log=False),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            exclusive=dict(type='bool', default=False),
            timeout=dict(type='int', default=10),
        ),
        mutually_exclusive=[('password', 'password_hash')],
        required_one_of=[('password', 'password_hash', 'authorized_keys')],
    )
    require_positive_seconds(module, 'timeout')
    module.run_change('user', ensure_user)


if __name__ == '__main__':
    main()
