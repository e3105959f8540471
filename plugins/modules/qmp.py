#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: qmp
short_description: Run a QMP command on a VM's QEMU
version_added: 0.1.0
description:
  - Sends one QMP (QEMU Machine Protocol) command to QEMU and returns its reply.
  - With O(name), the command goes to a VM that libvirt manages, through libvirt's monitor passthrough
    (C(virDomainQemuMonitorCommand)). libvirt then marks the domain as B(tainted) (C(custom-monitor) in the
    VM's log under C(/var/log/libvirt/qemu/)) and does B(not) track what the command changed. A device added,
    a setting changed or the VM stopped this way leaves libvirt's definition, live XML and state out of date.
    Use the collection's other modules for anything libvirt can do itself; this module is for
    queries and for QEMU features that libvirt does not expose.
  - With O(socket), the command goes to a QEMU started outside libvirt, through its QMP unix socket
    (for example C(-qmp unix:/run/qemu/vm1.sock,server=on,wait=off)), using the C(qemu.qmp) library. The
    socket is a path on the host that runs the module; O(uri) is not used then.
  - Query commands (names starting with C(query-) or C(x-query-), and C(qom-get), C(qom-list),
    C(qom-list-types), C(qom-list-properties), C(device-list-properties)) only read. They report
    C(changed=false) and run in check mode too. Every other command reports C(changed=true) and is not
    sent in check mode.
  - A command that QEMU answers with an error fails the task with QEMU's error class and description.
extends_documentation_fragment:
  - vmcat.libvirt.connection
attributes:
  check_mode:
    description: Can run in check mode; query commands run there too.
    support: partial
    details: Query commands run and return their reply; any other command is not sent and reports C(changed=true).
  diff_mode:
    description: A command has no before and after, so there is no diff.
    support: none
options:
  name:
    description:
      - Name of the libvirt VM whose QEMU receives the command. The VM must be running or paused.
      - Exactly one of O(name) and O(socket) is required.
    type: str
  socket:
    description:
      - Path of the QMP unix socket of a QEMU that libvirt does not manage, on the host that runs the module.
      - QEMU accepts one QMP client per socket at a time; the module waits up to O(timeout) seconds.
      - Exactly one of O(name) and O(socket) is required.
    type: path
  command:
    description: The QMP command, such as V(query-status), V(query-block) or V(system_powerdown).
    type: str
    required: true
  arguments:
    description:
      - The command's arguments, as a dictionary; see QEMU's QMP reference for each command.
      - Values keep their YAML types; a templated number may arrive as a string, so use C(| int) where
        QEMU expects a number.
    type: dict
  timeout:
    description: Seconds to wait for the connection and the reply with O(socket).
    type: int
    default: 30
requirements:
  - qemu.qmp on the host that runs the module (only for O(socket))
notes:
  - Does not check what a command does. O(arguments) are passed to QEMU as they are.
  - The VM's guest agent is a different protocol; use the collection's guest agent modules for that.
seealso:
  - name: QEMU QMP reference
    description: Every QMP command, its arguments and its reply.
    link: https://www.qemu.org/docs/master/interop/qemu-qmp-ref.html
  - module: vmcat.libvirt.vm_input
'''

EXAMPLES = r'''
- name: What QEMU says about the VM's state
  vmcat.libvirt.qmp:
    name: web1
    command: query-status
  register: web1_status

- name: QEMU's version
  vmcat.libvirt.qmp:
    name: web1
    command: query-version

- name: Block devices as QEMU sees them
  vmcat.libvirt.qmp:
    name: web1
    command: query-block

- name: Read one QOM property
  vmcat.libvirt.qmp:
    name: web1
    command: qom-get
    arguments:
      path: /machine
      property: type

- name: Ask a QEMU that runs outside libvirt for its state
  vmcat.libvirt.qmp:
    socket: /run/qemu/appliance.qmp
    command: query-status

- name: Press the ACPI power button of an unmanaged QEMU
  vmcat.libvirt.qmp:
    socket: /run/qemu/appliance.qmp
    command: system_powerdown
'''

RETURN = r'''
reply:
  description:
    - The command's return value (QMP's C(return) member). Its shape depends on the command.
    - V(null) when the command was not sent (check mode for a command that is not a query).
  returned: always
  type: raw
  sample: {status: running, running: true, singlestep: false}
command:
  description: The command that was (or, in check mode, would have been) sent.
  returned: always
  type: str
  sample: query-status
query:
  description: Whether the command counts as a read-only query.
  returned: always
  type: bool
  sample: true
sent:
  description: Whether the command was sent. False only in check mode, for a command that is not a query.
  returned: always
  type: bool
  sample: true
vm:
  description: Name of the VM the command went to.
  returned: with O(name)
  type: str
  sample: web1
socket:
  description: The QMP socket the command went to.
  returned: with O(socket)
  type: str
  sample: /run/qemu/appliance.qmp
qemu_version:
  description: QEMU's version from the socket's greeting.
  returned: with O(socket), when the command was sent
  type: dict
  sample: {major: 7, minor: 2, micro: 22}
actions:
  description: Commands that change something, sent (or, in check mode, that would have been sent).
  returned: always
  type: list
  elements: str
  sample: [qmp system_powerdown]
error_class:
  description: QEMU's error class when QEMU refused the command, such as C(GenericError) or C(CommandNotFound).
  returned: failure, when QEMU answered with an error
  type: str
  sample: CommandNotFound
error_desc:
  description: QEMU's error description when QEMU refused the command.
  returned: failure, when QEMU answered with an error
  type: str
  sample: The command nope has not been found
'''

from ansible.module_utils.basic import missing_required_lib

# First of ours: importing it installs the code cache (docs/architecture.md).
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _zip_imports  # pylint: disable=unused-import
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module import LibvirtModule
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._qmp import (
    HAS_QEMU_QMP,
    QEMU_QMP_IMPORT_ERROR,
    QEMU_QMP_PACKAGE,
    run_command,
)


def main():
    module = LibvirtModule(
        supports_check_mode=True,
        argument_spec=dict(
            name=dict(type='str'),
            socket=dict(type='path'),
            command=dict(type='str', required=True),
            arguments=dict(type='dict'),
            timeout=dict(type='int', default=30),
        ),
        mutually_exclusive=[('name', 'socket')],
        required_one_of=[('name', 'socket')],
    )
    if module.params['socket'] and not HAS_QEMU_QMP:
        module.fail_json(msg=missing_required_lib(QEMU_QMP_PACKAGE), exception=QEMU_QMP_IMPORT_ERROR)
    module.run_action(run_command, connect=not module.params['socket'])


if __name__ == '__main__':
    main()
