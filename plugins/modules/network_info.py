#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: network_info
short_description: List libvirt virtual networks with their addresses, DHCP hosts and leases
version_added: 0.1.0
description:
  - Returns every virtual network of a node, or one by name, with its saved definition in the shape of
    M(vmcat.libvirt.network)'s options, its state, the changes waiting for a restart, and the DHCP leases
    handed out on it.
extends_documentation_fragment:
  - vmcat.libvirt.connection
  - vmcat.libvirt.connection.info
options:
  name:
    description: Only this network. The task fails, listing the networks that exist, when it is not there.
    type: str
seealso:
  - module: vmcat.libvirt.network
'''

EXAMPLES = r'''
- name: All networks of the local node
  vmcat.libvirt.network_info:
  register: result

- name: The lab network
  vmcat.libvirt.network_info:
    name: lab
  register: lab

- name: Who has a lease on it
  ansible.builtin.debug:
    msg: "{{ lab.networks[0].dhcp_leases | map(attribute='hostname') | list }}"
'''

RETURN = r'''
networks:
  description: The networks, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Network name.
      type: str
    uuid:
      description: Network UUID.
      type: str
    mode:
      description:
        - V(isolated), V(nat), V(route), V(open) or V(bridge); other libvirt forward modes (V(passthrough),
          V(hostdev), ...) are reported by their libvirt name.
      type: str
    bridge:
      description: Name of the Linux bridge (made by libvirt, or the host bridge in V(bridge) mode).
      type: str
    forward:
      description: C(dev), the host interface forwarding is limited to (null when not limited).
      type: dict
    mtu:
      description: MTU of the bridge, null when libvirt's default.
      type: int
    domain:
      description: DNS domain of the network.
      type: str
    ips:
      description:
        - The network's addresses, sorted (IPv4 first), each with C(address), C(prefix) and C(dhcp_range)
          (C(start), C(end); null without DHCP range; the first range when libvirt has several).
      type: list
      elements: dict
    dhcp_hosts:
      description: Static DHCP hosts (C(mac), C(ip), C(name), C(id)), sorted by address.
      type: list
      elements: dict
    dns_hosts:
      description: DNS host entries (C(ip), C(hostnames)), sorted by address.
      type: list
      elements: dict
    active:
      description: Whether the network is running.
      type: bool
    autostart:
      description: Whether libvirt starts it with the daemon.
      type: bool
    persistent:
      description: Whether the network has a saved definition.
      type: bool
    restart_required:
      description: Whether the running network differs from its saved definition.
      type: bool
    pending_changes:
      description: The options where the saved definition differs from the running network.
      type: list
      elements: str
    dhcp_leases:
      description:
        - Leases handed out by DHCP on the running network, each with C(mac), C(ip), C(prefix), C(family)
          (V(ipv4) or V(ipv6)), C(hostname), C(client_id) and C(expiry_time) (seconds since the epoch).
        - Empty when the network is not running or the driver does not track leases (libvirt's test driver).
      type: list
      elements: dict
  sample:
    - name: default
      uuid: 0f1c1bd5-6a55-4d5c-9d8d-5ac1b0b1c3a4
      mode: nat
      bridge: virbr0
      forward: {dev: null}
      mtu: null
      domain: null
      ips:
        - {address: 192.168.122.1, prefix: 24, dhcp_range: {start: 192.168.122.2, end: 192.168.122.254}}
      dhcp_hosts: []
      dns_hosts: []
      active: true
      autostart: true
      persistent: true
      restart_required: false
      pending_changes: []
      dhcp_leases:
        - mac: '52:54:00:6b:3c:58'
          ip: 192.168.122.45
          prefix: 24
          family: ipv4
          hostname: web1
          client_id: 01:52:54:00:6b:3c:58
          expiry_time: 1764000000
'''

# First of ours: importing it installs the code cache (docs/architecture.md).
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _zip_imports  # pylint: disable=unused-import
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module import LibvirtModule
from ansible_collections.vmcat.libvirt.plugins.module_utils._network._network_read import list_networks


def main():
    module = LibvirtModule(supports_check_mode=True, argument_spec=dict(name=dict(type='str')))
    module.run_info(lambda ctx: dict(networks=list_networks(ctx, ctx.params['name'])))


if __name__ == '__main__':
    main()
