#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: console
short_description: Open a running VM's VNC or SPICE screen in a browser through the console gateway
version_added: 0.2.0
description:
  - Gives a one-time URL that opens a running VM's screen in a browser (noVNC for VNC, spice-html5 for SPICE)
    through the console gateway that the C(vmcat.libvirt.console_gateway) role runs, and for SPICE the content
    of a virt-viewer C(.vv) file that C(remote-viewer) opens.
  - Runs on the gateway host (use C(delegate_to) when the play targets something else); it writes the token into
    the gateway's token store and reads the gateway's configuration there. The VM may be on any libvirt URI the
    gateway host can reach; when the URI is one of the gateway's SSH-tunnelled nodes, the gateway reaches the
    VM's screen on that node's loopback through the tunnel.
  - A token admits one browser connection (SPICE's extra channels get a few seconds of grace), expires after
    O(ttl) seconds when unused, and never appears in the gateway's logs.
  - An unused token of the same VM and protocol that still lives at least O(min_lifetime) seconds is handed out
    again, so an identical second run changes nothing; O(new_token=true) always issues a fresh one.
  - O(state=absent) revokes every token of the VM, used or not.
extends_documentation_fragment:
  - vmcat.libvirt.connection
  - vmcat.libvirt.connection.check_diff
options:
  name:
    description:
      - Name of the VM. With O(state=present) it must be running or paused and have VNC or SPICE graphics
        listening on TCP.
    type: str
    required: true
  state:
    description:
      - V(present) issues (or hands out again) a token and returns the URL.
      - V(absent) revokes every token of the VM.
    type: str
    choices: [present, absent]
    default: present
  protocol:
    description: Which graphics device to open; V(auto) takes the VM's first VNC or SPICE device.
    type: str
    choices: [auto, vnc, spice]
    default: auto
  gateway_config:
    description: The gateway's configuration file that the console_gateway role writes.
    type: path
    default: /etc/vmcat-console/gateway.json
  ttl:
    description: Seconds a new token stays valid until its first use. Default from the gateway's configuration.
    type: int
  min_lifetime:
    description: An unused token is handed out again only when it still lives at least this many seconds.
    type: int
    default: 60
  new_token:
    description: Always issue a new token, even when an unused one could be handed out again.
    type: bool
    default: false
  loopback_only:
    description:
      - Refuse a VM whose graphics listen beyond loopback (such as V(0.0.0.0)), where anyone who reaches the node
        could open the screen without the gateway.
      - Set V(false) to accept such a VM; the gateway still connects to it through loopback or its tunnel.
    type: bool
    default: true
  password:
    description:
      - Set this graphics password on the running VM first (live only; the saved definition keeps its own).
        V('') removes it.
      - VNC passwords are at most 8 characters; a longer one is refused before anything changes.
      - noVNC asks for it in the browser; the C(.vv) file carries it.
    type: str
  viewer_host:
    description:
      - Host name that the C(.vv) file tells C(remote-viewer) to connect to. Default the graphics listen address,
        or the node's host name from O(uri) for a tunnelled node.
    type: str
notes:
  - The URL holds the token; treat it as a secret until it has been used or has expired. Browsers may log it in
    their console.
  - The graphics password and the token are never returned in a diff.
seealso:
  - module: vmcat.libvirt.vm_screenshot
  - module: vmcat.libvirt.vm_input
'''

EXAMPLES = r'''
- name: A browser link to web1's screen, valid for 5 minutes
  vmcat.libvirt.console:
    name: web1
    ttl: 300
  delegate_to: gateway.example.com
  register: screen

- name: Show it
  ansible.builtin.debug:
    msg: "Open {{ screen.url }} before {{ screen.expires_at }}"

- name: A SPICE console with a fresh password, as a .vv file for remote-viewer
  vmcat.libvirt.console:
    name: desk1
    uri: qemu+ssh://root@node1.example.com/system
    protocol: spice
    password: "{{ lookup('ansible.builtin.password', '/dev/null length=16 chars=ascii_letters,digits') }}"
    new_token: true
  delegate_to: gateway.example.com
  register: desk

- name: Save the .vv file
  ansible.builtin.copy:
    content: "{{ desk.vv }}"
    dest: /tmp/desk1.vv
    mode: '0600'
  delegate_to: localhost

- name: Revoke every console token of web1
  vmcat.libvirt.console:
    name: web1
    state: absent
  delegate_to: gateway.example.com
'''

RETURN = r'''
url:
  description:
    - The page that opens the screen, with the token in it (in the URL's fragment for noVNC, so the gateway's
      web server never sees it). V(null) in check mode when a new token would be issued, and with O(state=absent).
  returned: always
  type: str
  sample: https://gateway.example.com:6080/novnc/vnc.html#autoconnect=true&resize=scale&path=websockify%3Ftoken%3DkS1...
expires_at:
  description: When the token stops working if nobody has used it (UTC, ISO 8601).
  returned: with O(state=present)
  type: str
  sample: '2026-12-05T10:15:00Z'
protocol:
  description: V(vnc) or V(spice).
  returned: with O(state=present)
  type: str
  sample: vnc
vv:
  description: The content of a virt-viewer file for SPICE (C(remote-viewer file.vv)); it deletes itself when opened.
  returned: with O(state=present) and SPICE graphics
  type: str
  sample: "[virt-viewer]\ntype=spice\nhost=127.0.0.1\nport=5901\ntitle=desk1\ndelete-this-file=1\nfullscreen=0\n"
revoked:
  description: How many tokens were (or in check mode would be) revoked.
  returned: with O(state=absent)
  type: int
  sample: 2
console:
  description: The VM's console as the gateway sees it after the task.
  returned: always
  type: dict
  contains:
    vm:
      description: The VM's name.
      type: str
    protocol:
      description: V(vnc) or V(spice); V(null) with O(state=absent).
      type: str
    graphics:
      description: The graphics device opened (C(type), C(listen), C(port), C(tls_port)); V(null) with O(state=absent).
      type: dict
    tokens:
      description: Unused, unexpired tokens of the VM in the store.
      type: int
    password_set:
      description: Whether the graphics device has a password; V(null) with O(state=absent).
      type: bool
  sample: {vm: web1, protocol: vnc, graphics: {type: vnc, listen: 127.0.0.1, port: 5900, tls_port: null}, tokens: 1,
           password_set: false}
actions:
  description: What was done (or in check mode would be done).
  returned: always
  type: list
  elements: str
  sample: [issue a vnc token]
'''

# First of ours: importing it installs the code cache (docs/architecture.md).
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _zip_imports  # pylint: disable=unused-import
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module import LibvirtModule
from ansible_collections.vmcat.libvirt.plugins.module_utils._console._console import console


def main():
    module = LibvirtModule(
        supports_check_mode=True,
        argument_spec=dict(
            name=dict(type='str', required=True),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            protocol=dict(type='str', default='auto', choices=['auto', 'vnc', 'spice']),
            gateway_config=dict(type='path', default='/etc/vmcat-console/gateway.json'),
            ttl=dict(type='int'),
            min_lifetime=dict(type='int', default=60),
            new_token=dict(type='bool', default=False),
            loopback_only=dict(type='bool', default=True),
            password=dict(type='str', no_log=True),
            viewer_host=dict(type='str'),
        ),
    )
    module.run_change('console', console)


if __name__ == '__main__':
    main()
