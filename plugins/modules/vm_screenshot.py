#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: vm_screenshot
short_description: Save a VM's screen as a PNG file
version_added: 0.1.0
description:
  - Takes a screenshot of a running or paused VM's graphical console and saves it as a PNG file on the host that
    runs the module (the controller for a remote O(uri)). The image comes over the libvirt connection, so this
    works with remote nodes too.
  - libvirt gives PNG (QEMU 7.1 and later) or PPM (older QEMU); PPM is converted to PNG in pure Python.
  - The file is written only when its content differs from the file already at O(dest), so a screen that did not
    change reports C(changed=false). A running guest's screen often changes between two screenshots (a blinking
    cursor is enough); a paused VM's screen does not.
  - In check mode the screenshot is taken and compared, and nothing is written.
extends_documentation_fragment:
  - vmcat.libvirt.connection
  - vmcat.libvirt.connection.check_diff
options:
  name:
    description: Name of the VM. It must be running or paused, and have a graphics device and a video card.
    type: str
    required: true
  dest:
    description:
      - Path of the PNG file to write on the host that runs the module. Its directory must exist.
      - An existing file is replaced (keeping its permissions) when the new screenshot differs.
    type: path
    required: true
  screen:
    description: The VM's screen (video head) to capture; V(0) is the first.
    type: int
    default: 0
notes:
  - The image shows what the VM's first graphics device shows, whether or not a viewer is connected.
seealso:
  - module: vmcat.libvirt.vm_input
'''

EXAMPLES = r'''
- name: Save what web1 shows
  vmcat.libvirt.vm_screenshot:
    name: web1
    dest: /srv/screens/web1.png
  register: shot

- name: Show its size
  ansible.builtin.debug:
    msg: "{{ shot.screenshot.width }}x{{ shot.screenshot.height }}, {{ shot.screenshot.size }} bytes"

- name: A screenshot of a remote VM, saved on the controller
  vmcat.libvirt.vm_screenshot:
    uri: qemu+ssh://admin@kvm1.example.com/system
    name: db1
    dest: "{{ playbook_dir }}/screens/db1.png"
  delegate_to: localhost
'''

RETURN = r'''
screenshot:
  description: The PNG file at O(dest) after the task (in check mode, the screenshot that would be written).
  returned: success
  type: dict
  contains:
    path:
      description: Path of the file.
      type: str
      sample: /srv/screens/web1.png
    size:
      description: Size of the PNG file in bytes.
      type: int
      sample: 2433
    width:
      description: Width of the image in pixels.
      type: int
      sample: 720
    height:
      description: Height of the image in pixels.
      type: int
      sample: 400
    sha256:
      description: SHA-256 of the PNG file.
      type: str
      sample: 6b3e06d16f6c0f8e3bbd4f7b8f24d1b5d0a8e1b6c1d9a3e5f7c2b4a6d8e0f1a2
vm:
  description: Name of the VM.
  returned: success
  type: str
  sample: web1
screen:
  description: The screen that was captured.
  returned: success
  type: int
  sample: 0
source_format:
  description: What the hypervisor sent, V(png) or V(ppm) (converted to PNG).
  returned: success
  type: str
  sample: png
actions:
  description: What the task did (or would do, in check mode).
  returned: always
  type: list
  elements: str
  sample: [write /srv/screens/web1.png]
'''

# First of ours: importing it installs the code cache (docs/architecture.md).
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _zip_imports  # pylint: disable=unused-import
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module import LibvirtModule
from ansible_collections.vmcat.libvirt.plugins.module_utils._console._vm_screenshot import take_screenshot


def main():
    module = LibvirtModule(
        supports_check_mode=True,
        argument_spec=dict(
            name=dict(type='str', required=True),
            dest=dict(type='path', required=True),
            screen=dict(type='int', default=0),
        ),
    )
    module.run_change('screenshot', take_screenshot)


if __name__ == '__main__':
    main()
