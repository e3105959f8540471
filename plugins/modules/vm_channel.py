#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: vm_channel
short_description: Write to and read from a VM's named virtio-serial channel
version_added: 0.2.0
description:
  - Opens a named virtio-serial channel of a running VM through libvirt (C(virDomainOpenChannel) with a libvirt
    stream), writes O(data) or O(data_b64) to it, then reads the answer, up to a delimiter (O(read_until)), a
    number of bytes (O(read_bytes)), or everything that arrives until the O(timeout) (O(read_all)).
  - For a program of your own in the guest that listens on C(/dev/virtio-ports/<name>), with no network, no SSH, no
    guest agent needed. The channel is a C(unix) or C(pty) channel with a C(virtio) target; the
    M(vmcat.libvirt.vm) option O(vmcat.libvirt.vm#module:channels) adds one.
  - The stream runs through the libvirt connection, so this works with remote URIs (C(qemu+ssh://)) too; nothing
    has to be reachable on the node but libvirt.
  - A task that writes reports C(changed); one that only reads does not.
  - The guest reads end of file on its port while no host program has the channel open (Linux virtio_console), so
    a guest program should open the port again after an end of file, and expects data only while a task runs.
extends_documentation_fragment:
  - vmcat.libvirt.connection
  - vmcat.libvirt.running_vm
attributes:
  check_mode:
    description: A task that writes does not open the channel in check mode. A task that only reads does read.
    support: partial
    details: A read-only task consumes what it reads from the channel even in check mode.
  diff_mode:
    description: Bytes on a channel have no before and after.
    support: none
options:
  channel:
    description: The channel's name (its C(<target type='virtio' name='...'/>)), such as V(org.example.backup.0).
    type: str
    required: true
  data:
    description:
      - Text to write, sent as UTF-8. Nothing is added at the end; give the line break your protocol expects
        (V("status\\n") in a double-quoted YAML string).
      - Mutually exclusive with O(data_b64).
    type: str
  data_b64:
    description: Bytes to write, base64-encoded (for binary protocols). Mutually exclusive with O(data).
    type: str
  read_until:
    description:
      - After writing, read until this text (UTF-8) arrives, such as V("\\n") for one line. RV(read) ends with it.
      - With O(read_bytes) too, reading stops at whichever comes first.
    type: str
  read_bytes:
    description: After writing, read this many bytes (or up to O(read_until), whichever comes first).
    type: int
  read_all:
    description:
      - After writing, read whatever arrives until the O(timeout) (or until the channel closes), and do not fail
        when the time is up. Not with O(read_until) or O(read_bytes).
    type: bool
    default: false
  timeout:
    description:
      - Seconds for the whole exchange, writing and reading. When O(read_until) or O(read_bytes) is not met in
        time the task fails, and its result still has what did arrive.
    type: float
    default: 10
  force:
    description:
      - Open the channel even when another client holds it (C(VIR_DOMAIN_CHANNEL_FORCE)), which disconnects that
        client. Applies to V(pty) channels; a V(unix) channel's socket (QEMU's) takes one client at a time.
    type: bool
    default: false
notes:
  - Bytes that arrive after the delimiter or the byte count in the same read are returned in RV(remainder), not
    dropped.
  - Output that the guest wrote while no host program had the channel open may be waiting in QEMU's buffers and
    come first.
seealso:
  - module: vmcat.libvirt.vm
  - module: vmcat.libvirt.qmp
'''

EXAMPLES = r'''
- name: Give web1 a channel for the backup helper
  vmcat.libvirt.vm:
    name: web1
    channels:
      - name: org.example.backup.0

- name: Ask the guest-side helper for its status, one line in, one line out
  vmcat.libvirt.vm_channel:
    name: web1
    channel: org.example.backup.0
    data: "status\n"
    read_until: "\n"
    timeout: 5
  register: backup_status

- name: Show the answer without its line break
  ansible.builtin.debug:
    msg: "{{ backup_status.read | trim }}"

- name: Send a binary frame and read the 8-byte reply
  vmcat.libvirt.vm_channel:
    name: web1
    channel: org.example.backup.0
    data_b64: AAECAwQ=
    read_bytes: 8

- name: Collect whatever the guest says within 3 seconds
  vmcat.libvirt.vm_channel:
    name: web1
    channel: org.example.log.0
    read_all: true
    timeout: 3
'''

RETURN = r'''
vm:
  description: The VM.
  returned: always
  type: str
  sample: web1
channel:
  description: The channel.
  returned: always
  type: str
  sample: org.example.backup.0
sent:
  description: Whether the data was written (false in check mode).
  returned: always
  type: bool
  sample: true
written:
  description: How many bytes were written.
  returned: always
  type: int
  sample: 7
read:
  description: What was read, as UTF-8 text (bytes that are not UTF-8 become U+FFFD). With O(read_until) it ends with the delimiter.
  returned: always
  type: str
  sample: "ok 3 backups\n"
read_b64:
  description: What was read, base64-encoded (exact bytes).
  returned: always
  type: str
  sample: b2sgMyBiYWNrdXBzCg==
read_length:
  description: How many bytes were read.
  returned: always
  type: int
  sample: 14
remainder:
  description: Bytes that arrived after the delimiter or byte count in the last read, as text.
  returned: always
  type: str
  sample: ""
remainder_b64:
  description: The same, base64-encoded.
  returned: always
  type: str
  sample: ""
eof:
  description: Whether the channel closed from the other side while reading.
  returned: always
  type: bool
  sample: false
timed_out:
  description: Whether the timeout ended the read (only with O(read_all) in a successful task).
  returned: always
  type: bool
  sample: false
actions:
  description: What was written (or, in check mode, would have been).
  returned: always
  type: list
  elements: str
  sample: [write 7 bytes to channel org.example.backup.0]
'''

# First of ours: importing it installs the code cache (docs/architecture.md).
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _zip_imports  # pylint: disable=unused-import
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module import LibvirtModule
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module_options import running_vm_options
from ansible_collections.vmcat.libvirt.plugins.module_utils._vm._vm_channel import start_event_loop, talk


def main():
    module = LibvirtModule(
        supports_check_mode=True,
        argument_spec=running_vm_options(
            channel=dict(type='str', required=True),
            data=dict(type='str'),
            data_b64=dict(type='str'),
            read_until=dict(type='str'),
            read_bytes=dict(type='int'),
            read_all=dict(type='bool', default=False),
            timeout=dict(type='float', default=10),
            force=dict(type='bool', default=False),
        ),
        mutually_exclusive=[('data', 'data_b64'), ('read_all', 'read_until'), ('read_all', 'read_bytes')],
    )
    start_event_loop()  # before the connection opens: libvirt streams move data only in an event loop
    module.run_action(talk)


if __name__ == '__main__':
    main()
