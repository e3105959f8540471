#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: guest_exec
short_description: Run a command inside a VM through its guest agent
version_added: 0.1.0
description:
  - Runs one program (O(argv)) or one shell command line (O(cmd)) inside a running VM through the QEMU guest
    agent (C(guest-exec) and C(guest-exec-status)), waits for it, and returns its exit code and output, like
    M(ansible.builtin.command) does on a host. No network, SSH or Python is needed in the guest.
  - The task fails when the command exits with a code other than 0, as with M(ansible.builtin.command);
    use C(failed_when) or C(ignore_errors) to accept other codes.
  - The guest's agent must have C(guest-exec) and C(guest-exec-status) enabled. RHEL and its rebuilds block
    them by default; the error says which setting to change.
extends_documentation_fragment:
  - vmcat.libvirt.connection
  - vmcat.libvirt.running_vm
attributes:
  check_mode:
    description:
      - The command is not run; the result predicts C(changed=true). O(creates) and O(removes) are still checked
        in the guest, so a command they would skip reports C(changed=false).
    support: full
  diff_mode:
    description: Running a command has no before and after.
    support: none
options:
  argv:
    description:
      - The program and its arguments, as a list. The program is looked up in the agent's C(PATH) when it has
        no C(/). No shell is involved, so arguments need no quoting.
      - Exactly one of O(argv) and O(cmd) is required.
    type: list
    elements: str
  cmd:
    description:
      - A shell command line, run with O(executable) C(-c) (pipes, redirections, C(&&) and variables work).
        Unlike M(ansible.builtin.command), this is always run by a shell.
      - Exactly one of O(argv) and O(cmd) is required.
    type: str
  executable:
    description: The shell that runs O(cmd) (and O(chdir) with O(argv)), a path inside the guest.
    type: str
    default: /bin/sh
  chdir:
    description: Change into this guest directory before running the command (through O(executable)).
    type: str
  env:
    description:
      - Environment variables for the process. When set, they B(replace) the agent's environment; C(PATH) is
        set to C(/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin) unless given here.
      - Unset, the process inherits the guest agent's environment.
    type: dict
  stdin:
    description:
      - Text to feed to the command's standard input.
      - Up to 48 KiB travels inside the C(guest-exec) command. Larger input is first written to a private
        temporary file in the guest (C(mktemp) under umask 077, so C(guest-file-*) must be enabled too), which
        the command reads and which is removed before the command starts.
    type: str
  stdin_add_newline:
    description: Add a newline to O(stdin).
    type: bool
    default: true
  strip_empty_ends:
    description: Strip trailing newlines from RV(stdout) and RV(stderr).
    type: bool
    default: true
  creates:
    description:
      - A path or glob inside the guest. When something matches, the command is not run (C(changed=false)).
        Checked in the guest with C(test -e) through the agent, in check mode too.
    type: str
  removes:
    description:
      - A path or glob inside the guest. When nothing matches, the command is not run (C(changed=false)).
    type: str
  timeout:
    description:
      - Seconds to wait for the command to exit. When it has not exited by then, the task fails with its RV(pid);
        the process keeps running in the guest.
    type: int
    default: 600
  wait:
    description:
      - Wait for the command to exit and return its output. With V(false), the command is started with its
        output discarded and the task returns its RV(pid) at once (C(changed=true)).
    type: bool
    default: true
  agent_timeout:
    description: Seconds to wait for each guest agent answer (starting the command, each status poll).
    type: int
    default: 10
notes:
  - qemu-ga keeps at most 16 MiB of each output stream; beyond that the output is cut,
    RV(stdout_truncated)/RV(stderr_truncated) are set and the task warns.
  - Output is decoded as UTF-8; bytes that are not UTF-8 become replacement characters.
  - What the guest agent needs enabled, and how RHEL defaults differ, is in the collection's
    C(docs/modules/guest_agent.md).
seealso:
  - module: vmcat.libvirt.guest_file
  - module: vmcat.libvirt.guest_info
  - module: ansible.builtin.command
'''

EXAMPLES = r'''
- name: Run a program with arguments (no shell)
  vmcat.libvirt.guest_exec:
    name: web1
    argv: [/usr/bin/systemctl, restart, nginx]

- name: A shell line, with a pipe
  vmcat.libvirt.guest_exec:
    name: web1
    cmd: df -h / | tail -n 1
  register: root_fs
  changed_when: false

- name: Initialise once; skipped when the marker exists
  vmcat.libvirt.guest_exec:
    name: db1
    cmd: /usr/local/bin/init-db && touch /var/lib/db/.initialised
    creates: /var/lib/db/.initialised
    timeout: 1800

- name: Feed standard input and set the environment
  vmcat.libvirt.guest_exec:
    name: web1
    argv: [/bin/sh, -c, 'cat > /etc/motd']
    stdin: Managed by Ansible
    env:
      LANG: C.UTF-8

- name: Accept exit code 1 from grep
  vmcat.libvirt.guest_exec:
    name: web1
    argv: [grep, -q, nginx, /etc/passwd]
  register: has_nginx_user
  failed_when: has_nginx_user.rc not in [0, 1]
  changed_when: false

- name: Start a long job without waiting
  vmcat.libvirt.guest_exec:
    name: web1
    cmd: /usr/local/bin/reindex > /var/log/reindex.log 2>&1
    wait: false
  register: reindex
'''

RETURN = r'''
vm:
  description: Name of the VM.
  returned: always
  type: str
  sample: web1
cmd:
  description: The program and arguments given to the guest agent (a shell and C(-c) for O(cmd) and O(chdir)).
  returned: always
  type: list
  elements: str
  sample: [/bin/sh, -c, df -h / | tail -n 1]
rc:
  description: The exit code; 128 + the signal number when a signal killed it; V(null) when not run.
  returned: always
  type: int
  sample: 0
stdout:
  description: Standard output, as text.
  returned: always
  type: str
  sample: /dev/vda1 10G 1.1G 8.4G 12% /
stderr:
  description: Standard error, as text.
  returned: always
  type: str
  sample: ''
stdout_lines:
  description: RV(stdout) split into lines.
  returned: always
  type: list
  elements: str
  sample: [/dev/vda1 10G 1.1G 8.4G 12% /]
stderr_lines:
  description: RV(stderr) split into lines.
  returned: always
  type: list
  elements: str
  sample: []
stdout_truncated:
  description: Whether the guest agent cut standard output (at 16 MiB).
  returned: when the command ran and was waited for
  type: bool
  sample: false
stderr_truncated:
  description: Whether the guest agent cut standard error.
  returned: when the command ran and was waited for
  type: bool
  sample: false
signal:
  description: The signal that killed the process, or V(null).
  returned: when the command ran and was waited for
  type: int
  sample: null
pid:
  description: The process id in the guest.
  returned: when the command was started
  type: int
  sample: 1234
start:
  description: When the command started (host clock).
  returned: when the command ran and was waited for
  type: str
  sample: '2026-11-22 03:40:01.123456'
end:
  description: When it ended (host clock).
  returned: when the command ran and was waited for
  type: str
  sample: '2026-11-22 03:40:01.173456'
delta:
  description: How long it took, as M(ansible.builtin.command) shows it.
  returned: when the command ran and was waited for
  type: str
  sample: '0:00:00.050000'
duration:
  description: How long it took, in seconds (agent round trips included).
  returned: when the command ran and was waited for
  type: float
  sample: 0.05
msg:
  description: Why the command did not run (O(creates), O(removes), check mode), or C(non-zero return code).
  returned: when the command did not run, or failed
  type: str
  sample: Did not run command since '/var/lib/db/.initialised' exists
skipped_by_creates_removes:
  description: True when O(creates) or O(removes) kept the command from running.
  returned: when so
  type: bool
  sample: true
'''

# First of ours: importing it installs the code cache (docs/architecture.md).
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _zip_imports  # pylint: disable=unused-import
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module import LibvirtModule
from ansible_collections.vmcat.libvirt.plugins.module_utils._guest._guest_exec import guest_exec
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module_options import running_vm_options


def main():
    module = LibvirtModule(
        supports_check_mode=True,
        argument_spec=running_vm_options(
            argv=dict(type='list', elements='str'),
            cmd=dict(type='str'),
            executable=dict(type='str', default='/bin/sh'),
            chdir=dict(type='str'),
            env=dict(type='dict'),
            stdin=dict(type='str'),
            stdin_add_newline=dict(type='bool', default=True),
            strip_empty_ends=dict(type='bool', default=True),
            creates=dict(type='str'),
            removes=dict(type='str'),
            timeout=dict(type='int', default=600),
            wait=dict(type='bool', default=True),
            agent_timeout=dict(type='int', default=10),
        ),
        mutually_exclusive=[('argv', 'cmd')],
        required_one_of=[('argv', 'cmd')],
    )
    # With creates or removes the command checks its own effect first: running it again after a lost
    # connection is safe. Without them it may have run already, so it is never repeated.
    module.run_action(guest_exec, replay=bool(module.params['creates'] or module.params['removes']))


if __name__ == '__main__':
    main()
