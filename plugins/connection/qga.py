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
    C(guest-file-open)/C(write)/C(read)/C(close) in 128 KiB chunks, each write's byte count checked; with
    O(vmcat_qga_checksum) also a checksum made in the guest after each copy. No network path to the guest is
    needed.
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
  vmcat_qga_checksum:
    description:
      - After each file copy (C(put_file), C(fetch_file)), compare the data with a checksum made in the guest by
        C(sha256sum) (else C(md5sum), else by reading the file back); a mismatch fails the task.
      - Off by default, as with SSH connections, since M(ansible.builtin.copy), M(ansible.builtin.template) and
        M(ansible.builtin.fetch) compare checksums end to end themselves, and every write's byte count is checked.
    type: bool
    default: false
    version_added: 0.3.0
    vars:
      - name: vmcat_qga_checksum
    env:
      - name: VMCAT_QGA_CHECKSUM
  vmcat_qga_persistent:
    description:
      - Serve the tasks of a VM from one relay process per VM and C(ansible-playbook) run instead of connecting in
        every task. The relay holds the libvirt connection; each task's worker only talks to it over a Unix socket
        in the persistent connection directory (C(~/.ansible/pc), mode 0700) and does not import libvirt.
      - Saves the per-task start (libvirt import, connection, VM lookup, agent ping); see docs/connection-qga.md for
        the measured cost. Off by default.
      - The relay exits after O(vmcat_qga_persistent_idle_timeout) seconds without a request, when the
        C(ansible-playbook) process is gone, or at a C(meta) task C(reset_connection). It reconnects to libvirtd
        after a restart and looks the VM up for every request.
    type: bool
    default: false
    version_added: 0.3.0
    vars:
      - name: vmcat_qga_persistent
    env:
      - name: VMCAT_QGA_PERSISTENT
  vmcat_qga_persistent_idle_timeout:
    description: Seconds the relay of O(vmcat_qga_persistent) waits for the next request before it exits.
    type: int
    default: 30
    version_added: 0.3.0
    vars:
      - name: vmcat_qga_persistent_idle_timeout
    env:
      - name: VMCAT_QGA_PERSISTENT_IDLE_TIMEOUT
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

import base64
import os

from ansible import constants as C
from ansible.errors import AnsibleConnectionFailure, AnsibleError, AnsibleFileNotFound
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.connection import ConnectionBase

from ansible_collections.vmcat.libvirt.plugins.plugin_utils import _qga_relay

PREFIX = 'vmcat.libvirt.qga: '
RELAY_MARGIN = 30  # seconds a relay request may take beyond the command timeout before the worker gives up


class Connection(ConnectionBase):
    transport = 'vmcat.libvirt.qga'
    has_pipelining = True
    has_tty = False

    def __init__(self, *args, **kwargs):
        super(Connection, self).__init__(*args, **kwargs)
        self._libvirt = None
        self._qga = None
        self._relay = None
        # the task executor passes the ansible-playbook pid; the strategy (meta: reset_connection) runs in that process
        self._playbook_pid = kwargs.get('ansible_playbook_pid') or os.getpid()

    def _vm(self):
        return self.get_option('vmcat_qga_vm')

    def _persistent(self):
        return self.get_option('vmcat_qga_persistent')

    def _checksum(self):
        return self.get_option('vmcat_qga_checksum')

    def _connect(self):
        if self._connected:
            return self
        if self._persistent():
            self._connect_relay()
        else:
            self._connect_direct()
        self._connected = True
        return self

    def _connect_direct(self):
        # Imported here, not at the top: with vmcat_qga_persistent a worker never needs libvirt, and importing it
        # (with the core) is most of a task's start-up time (about 45 ms, bench/README.md "Connection"). The
        # files below come from the code cache, not compiled again in every task's worker (_source_imports).
        from ansible_collections.vmcat.libvirt.plugins.plugin_utils import _source_imports
        _source_imports.install()
        from ansible_collections.vmcat.libvirt.plugins.module_utils._core._connection import (
            Connection as LibvirtConnection)
        from ansible_collections.vmcat.libvirt.plugins.plugin_utils._libvirt import require_libvirt
        from ansible_collections.vmcat.libvirt.plugins.plugin_utils._qga_transport import QgaTransport

        require_libvirt(self.transport)
        uri = self.get_option('vmcat_qga_uri')
        name = self._vm()
        with self._direct_errors(AnsibleConnectionFailure, PREFIX, cleanup=self.close):
            self._libvirt = LibvirtConnection(uri).open()
            dom = self._libvirt.require_domain(name)
            self._qga = QgaTransport(dom, agent_timeout=self.get_option('vmcat_qga_agent_timeout'),
                                     command_timeout=self.get_option('vmcat_qga_command_timeout'))
            self._qga.call('guest-ping')
        self._display.vvv('QGA CONNECTED TO %s ON %s' % (name, uri), host=name)

    @staticmethod
    def _direct_errors(error, prefix, cleanup=None):
        """The core's errors as ``error(prefix + message)`` (imported when used: see _connect_direct)."""
        from ansible_collections.vmcat.libvirt.plugins.plugin_utils._libvirt import ansible_errors
        return ansible_errors(error, prefix, cleanup=cleanup)

    # -- the persistent relay (vmcat_qga_persistent) ------------------------------------------------
    def _relay_path(self):
        directory = _qga_relay.private_dir(C.PERSISTENT_CONTROL_PATH_DIR)
        return _qga_relay.socket_path(directory, self._playbook_pid, self.get_option('vmcat_qga_uri'), self._vm())

    def _connect_relay(self):
        uri = self.get_option('vmcat_qga_uri')
        config = {'uri': uri, 'vm': self._vm(), 'agent_timeout': self.get_option('vmcat_qga_agent_timeout'),
                  'idle_timeout': self.get_option('vmcat_qga_persistent_idle_timeout'),
                  'playbook_pid': self._playbook_pid}
        try:
            self._relay = _qga_relay.RelayClient(self._relay_path(), config, _qga_relay.START_TIMEOUT).open()
        except _qga_relay.RelayError as exc:
            raise AnsibleConnectionFailure(PREFIX + exc.msg)
        self._display.vvv('QGA RELAY FOR %s ON %s AT %s' % (self._vm(), uri, self._relay.path), host=self._vm())

    def _relay_call(self, op, error, prefix, **args):
        args.update(agent_timeout=self.get_option('vmcat_qga_agent_timeout'),
                    command_timeout=self.get_option('vmcat_qga_command_timeout'))
        try:
            return self._relay.call(op, timeout=args['command_timeout'] + RELAY_MARGIN, **args)
        except _qga_relay.RelayError as exc:
            raise error(prefix + exc.msg)

    # -- the connection API ---------------------------------------------------------------------------
    def exec_command(self, cmd, in_data=None, sudoable=True):
        super(Connection, self).exec_command(cmd, in_data=in_data, sudoable=sudoable)
        self._connect()
        self._display.vvv('QGA EXEC %s' % to_text(cmd), host=self._vm())
        if self._relay is not None:
            reply = self._relay_call('exec', AnsibleConnectionFailure, PREFIX, cmd=to_text(cmd),
                                     shell=self.get_option('vmcat_qga_shell'),
                                     stdin=base64.b64encode(in_data).decode('ascii') if in_data else None)
            return reply['rc'], base64.b64decode(reply['stdout']), base64.b64decode(reply['stderr'])
        with self._direct_errors(AnsibleConnectionFailure, PREFIX):
            return self._qga.run(self.get_option('vmcat_qga_shell'), ['-c', to_text(cmd)], stdin=in_data)

    def put_file(self, in_path, out_path):
        super(Connection, self).put_file(in_path, out_path)
        self._connect()
        self._display.vvv('QGA PUT %s TO %s' % (in_path, out_path), host=self._vm())
        if not os.path.exists(to_bytes(in_path, errors='surrogate_or_strict')):
            raise AnsibleFileNotFound('file or module does not exist: %s' % in_path)
        prefix = '%scould not put %s to %s: ' % (PREFIX, in_path, out_path)
        if self._relay is not None:  # the relay reads the file itself: same host, same user
            self._relay_call('put', AnsibleError, prefix, src=os.path.abspath(to_text(in_path)), dest=to_text(out_path),
                             checksum=self._checksum())
            return
        with open(to_bytes(in_path, errors='surrogate_or_strict'), 'rb') as handle:
            data = handle.read()
        with self._direct_errors(AnsibleError, prefix):
            self._qga.put(data, to_text(out_path), checksum=self._checksum())

    def fetch_file(self, in_path, out_path):
        super(Connection, self).fetch_file(in_path, out_path)
        self._connect()
        self._display.vvv('QGA FETCH %s TO %s' % (in_path, out_path), host=self._vm())
        prefix = '%scould not fetch %s to %s: ' % (PREFIX, in_path, out_path)
        if self._relay is not None:  # the relay writes the file itself
            self._relay_call('fetch', AnsibleError, prefix, src=to_text(in_path), dest=os.path.abspath(to_text(out_path)),
                             checksum=self._checksum())
            return
        with self._direct_errors(AnsibleError, prefix):
            data = self._qga.fetch(to_text(in_path), checksum=self._checksum())
        with open(to_bytes(out_path, errors='surrogate_or_strict'), 'wb') as handle:
            handle.write(data)

    def reset(self):
        """meta: reset_connection. Without the relay there is nothing kept between tasks; with it, the relay exits
        and the next task starts a new one (a new libvirt connection)."""
        self.close()
        if self._persistent():
            try:
                stopped = _qga_relay.stop(self._relay_path())
            except (OSError, _qga_relay.RelayError) as exc:
                raise AnsibleConnectionFailure(PREFIX + getattr(exc, 'msg', str(exc)))
            self._display.vvv('QGA RELAY %s' % ('STOPPED' if stopped else 'NOT RUNNING'), host=self._vm())

    def close(self):
        if self._relay is not None:
            self._relay.close()
        if self._libvirt is not None:
            self._libvirt.close()
        self._relay = None
        self._libvirt = None
        self._qga = None
        self._connected = False
