# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: qga
short_description: Run tasks inside a libvirt VM through its QEMU guest agent
version_added: 0.1.0
author: [vmcat.libvirt developers (@vmcat)]
description:
  - Runs commands in a libvirt VM with the guest agent's C(guest-exec) (stdin included) and copies files with
    C(guest-file-open)/C(write)/C(read)/C(close) in 128 KiB chunks, checked with C(sha256sum) (or C(md5sum)) in
    the guest, or by reading the file back when neither exists. No network path to the guest is needed.
  - The guest must run qemu-guest-agent with C(guest-exec), C(guest-exec-status) and the C(guest-file-*) commands
    enabled; a blocked command fails with a message saying which qemu-ga setting to change.
  - Modules other than M(ansible.builtin.raw) need Python in the guest, as with any connection.
  - Standard input up to 48 KiB travels inside the C(guest-exec) command. Larger input (a pipelined module is
    often 100-300 KiB) is first written to a private temporary file in the guest (C(mktemp) under umask 077),
    because the agent channel fails on commands of a few hundred KiB; the command reads it from there and the
    file is removed before the command starts.
  - The agent runs commands as root. Become plugins wrap the command as usual, but password prompts are not
    supported (guest-exec has no terminal and takes all input up front); use become methods that need no password.
  - Needs libvirt-python on the controller and a read-write libvirt connection (agent commands are refused on
    read-only ones).
options:
  vmcat_qga_uri:
    description: The libvirt URI of the node the VM runs on.
    type: str
    default: qemu:///system
    vars:
      - name: vmcat_qga_uri
    env:
      - name: VMCAT_QGA_URI
  vmcat_qga_vm:
    description: The VM (domain) name; the inventory host name by default.
    type: str
    vars:
      - name: inventory_hostname
      - name: vmcat_qga_vm
  vmcat_qga_agent_timeout:
    description: Seconds each guest-agent command may take before the task fails.
    type: int
    default: 10
    vars:
      - name: vmcat_qga_agent_timeout
  vmcat_qga_command_timeout:
    description: Seconds a command run in the guest may take before the task fails (the process is not killed).
    type: int
    default: 600
    vars:
      - name: vmcat_qga_command_timeout
  vmcat_qga_shell:
    description: The shell in the guest that runs each command (C(shell -c command)).
    type: str
    default: /bin/sh
    vars:
      - name: vmcat_qga_shell
'''

EXAMPLES = r'''
# inventory: hosts that are libvirt VMs, reached through their agents
# vms.libvirt.yml
#   plugin: vmcat.libvirt.libvirt
#   use_qga_connection: true

- name: Look inside the guests without SSH
  hosts: node_qemu_system
  gather_facts: false
  tasks:
    - name: Who runs commands in the guest
      ansible.builtin.raw: id -u
      changed_when: false

- name: One VM by name
  hosts: myvm
  gather_facts: false
  vars:
    ansible_connection: vmcat.libvirt.qga
    vmcat_qga_uri: qemu:///system
  tasks:
    - name: Kernel version
      ansible.builtin.raw: uname -r
      changed_when: false
'''

import os

from ansible.errors import AnsibleConnectionFailure, AnsibleError, AnsibleFileNotFound
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.connection import ConnectionBase

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._connection import Connection as LibvirtConnection
from ansible_collections.vmcat.libvirt.plugins.plugin_utils._libvirt import ansible_errors, require_libvirt
from ansible_collections.vmcat.libvirt.plugins.plugin_utils._qga_transport import QgaTransport

PREFIX = 'vmcat.libvirt.qga: '


class Connection(ConnectionBase):
    transport = 'vmcat.libvirt.qga'
    has_pipelining = True
    has_tty = False

    def __init__(self, *args, **kwargs):
        super(Connection, self).__init__(*args, **kwargs)
        self._libvirt = None
        self._qga = None

    def _connect(self):
        if self._connected:
            return self
        require_libvirt(self.transport)
        uri = self.get_option('vmcat_qga_uri')
        name = self.get_option('vmcat_qga_vm')
        with ansible_errors(AnsibleConnectionFailure, PREFIX, cleanup=self.close):
            self._libvirt = LibvirtConnection(uri).open()
            dom = self._libvirt.require_domain(name)
            self._qga = QgaTransport(dom, agent_timeout=self.get_option('vmcat_qga_agent_timeout'),
                                     command_timeout=self.get_option('vmcat_qga_command_timeout'))
            self._qga.call('guest-ping')
        self._display.vvv('QGA CONNECTED TO %s ON %s' % (name, uri), host=name)
        self._connected = True
        return self

    def exec_command(self, cmd, in_data=None, sudoable=True):
        super(Connection, self).exec_command(cmd, in_data=in_data, sudoable=sudoable)
        self._connect()
        self._display.vvv('QGA EXEC %s' % to_text(cmd), host=self.get_option('vmcat_qga_vm'))
        with ansible_errors(AnsibleConnectionFailure, PREFIX):
            return self._qga.run(self.get_option('vmcat_qga_shell'), ['-c', to_text(cmd)], stdin=in_data)

    def put_file(self, in_path, out_path):
        super(Connection, self).put_file(in_path, out_path)
        self._connect()
        self._display.vvv('QGA PUT %s TO %s' % (in_path, out_path), host=self.get_option('vmcat_qga_vm'))
        if not os.path.exists(to_bytes(in_path, errors='surrogate_or_strict')):
            raise AnsibleFileNotFound('file or module does not exist: %s' % in_path)
        with open(to_bytes(in_path, errors='surrogate_or_strict'), 'rb') as handle:
            data = handle.read()
        with ansible_errors(AnsibleError, '%scould not put %s to %s: ' % (PREFIX, in_path, out_path)):
            self._qga.put(data, to_text(out_path))

    def fetch_file(self, in_path, out_path):
        super(Connection, self).fetch_file(in_path, out_path)
        self._connect()
        self._display.vvv('QGA FETCH %s TO %s' % (in_path, out_path), host=self.get_option('vmcat_qga_vm'))
        with ansible_errors(AnsibleError, '%scould not fetch %s to %s: ' % (PREFIX, in_path, out_path)):
            data = self._qga.fetch(to_text(in_path))
        with open(to_bytes(out_path, errors='surrogate_or_strict'), 'wb') as handle:
            handle.write(data)

    def close(self):
        if self._libvirt is not None:
            self._libvirt.close()
        self._libvirt = None
        self._qga = None
        self._connected = False
