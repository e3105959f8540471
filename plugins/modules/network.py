#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: network
short_description: Manage libvirt virtual networks, their DHCP hosts and DNS entries
version_added: 0.1.0
description:
  - Define, start, stop, autostart and remove libvirt virtual networks in the modes C(nat), C(route), C(open),
    C(isolated) (no forwarding) and C(bridge) (an existing host bridge such as C(br0)).
  - The definition is compared with the task's options and reconciled; options left unset are left as they are,
    and parts of the definition the module does not manage (C(<mac>), C(<tftp>), NAT port ranges, ...) survive an
    update.
  - Static DHCP hosts, DHCP ranges and DNS host entries are changed on a running network at once, through
    libvirt's network update API, and saved in its definition; the network is not restarted and its VMs keep
    their links.
  - Every other change of a running network (mode, bridge, addresses, MTU, domain, O(forward.dev)) is saved in
    its definition and applies when the network restarts; the module reports it in RV(pending_changes) and
    restarts the network only with O(restart=true).
  - Stopping, restarting or removing a network that running VMs use is refused unless O(force=true).
extends_documentation_fragment:
  - vmcat.libvirt.connection
  - vmcat.libvirt.connection.check_diff
options:
  name:
    description:
      - Name of the network.
      - It must not be empty, contain V(/) or control characters, be V(.) or V(..), start with V(.), start or end
        with whitespace, or be longer than 200 bytes (libvirt names the network's files after it). Such a name
        fails before anything is looked up or changed, in check mode too.
    type: str
    required: true
  state:
    description:
      - V(present) defines the network (and, for a new network, starts it unless O(active=false)).
      - V(absent) stops and undefines it. A network that does not exist is no change.
    type: str
    choices: [present, absent]
    default: present
  mode:
    description:
      - How the network reaches the outside.
      - V(isolated) has no C(<forward>) element; VMs on it reach each other and the host only.
      - V(nat) and V(route) forward through the host (masqueraded, or routed); V(open) forwards without
        libvirt adding any firewall rules.
      - V(bridge) uses an existing host bridge named by O(bridge); libvirt does not manage addresses, DHCP or DNS
        on it, so switching a network to V(bridge) drops its addresses, DHCP hosts and DNS entries.
      - A new network is V(isolated) unless set (libvirt's own default for a definition without C(<forward>)).
    type: str
    choices: [nat, route, open, isolated, bridge]
  bridge:
    description:
      - Name of the Linux bridge. For V(bridge) mode the existing host bridge (required); for the other modes the
        bridge libvirt makes (at most 15 characters). Unset on a new network lets libvirt choose one (C(virbrN)).
      - The bridge of another network of the node is refused before anything changes, unless both networks use it
        in V(bridge) mode (several networks on one existing host bridge are allowed).
    type: str
  forward:
    description: Details of forwarding for modes V(nat) and V(route).
    type: dict
    suboptions:
      dev:
        description:
          - Forward only through this host interface (such as V(eth0)). An empty string removes the restriction.
        type: str
  mtu:
    description: MTU of the network's bridge. V(0) removes the setting (libvirt's default, usually 1500).
    type: int
  domain:
    description:
      - DNS domain of the network; dnsmasq answers for names in it. An empty string removes it.
    type: str
  ips:
    description:
      - The network's own addresses, at most one per subnet, IPv4 and IPv6. Replaces the list when given; an
        existing address keeps what the module does not manage (TFTP and BOOTP settings, for example).
      - Changing the addresses of a running network needs a restart.
      - A subnet that overlaps one of another network of the node (running or not) is refused before anything
        changes; the network's own current subnets are no clash.
    type: list
    elements: dict
    suboptions:
      address:
        description: The host's address on the network, with or without C(/prefix) (V(192.168.100.1/24)).
        type: str
        required: true
      prefix:
        description: Prefix length, when O(ips[].address) has none (V(24), V(64)).
        type: int
      dhcp_range:
        description:
          - Addresses DHCP hands out on this subnet. Replaces every range of this address when given; an address
            without O(ips[].dhcp_range) has no range (static hosts are still served).
          - Only one IPv4 and one IPv6 address of a network can serve DHCP.
          - Changed on a running network without a restart.
        type: dict
        suboptions:
          start:
            description: First address of the range.
            type: str
            required: true
          end:
            description: Last address of the range.
            type: str
            required: true
  dhcp_hosts:
    description:
      - Static DHCP hosts. Each goes into the address whose subnet holds its O(dhcp_hosts[].ip).
      - Replaces the list when given (see O(purge_dhcp_hosts)); V([]) removes every static host.
      - Changed on a running network at once, without a restart, one entry at a time in the running network and
        its saved definition alike (libvirt's network update calls). An entry the task does not name is never
        rewritten, so tasks that run at the same time and each add or remove their own entries with
        O(purge_dhcp_hosts=false) keep each other's entries.
    type: list
    elements: dict
    suboptions:
      mac:
        description: MAC address of the client (IPv4 hosts; IPv6 clients are matched by O(dhcp_hosts[].name) or O(dhcp_hosts[].id)).
        type: str
      ip:
        description: The address it gets.
        type: str
        required: true
      name:
        description: Host name it gets (and is matched by, when it has no MAC).
        type: str
      id:
        description: DHCPv6 client DUID (IPv6 hosts only).
        type: str
      state:
        description:
          - V(absent) removes the static host that has every field this item gives (O(dhcp_hosts[].ip), and
            O(dhcp_hosts[].mac), O(dhcp_hosts[].name), O(dhcp_hosts[].id) when set); no such host is no change.
          - Needs O(purge_dhcp_hosts=false). With purge the task owns the list, and every host it does not list
            as V(present) is removed anyway.
        type: str
        choices: [present, absent]
        default: present
  purge_dhcp_hosts:
    description:
      - With O(dhcp_hosts) given, remove the static hosts of the network that are not in it. The task then owns
        the list; tasks that run at the same time must not each purge the same network.
      - V(false) keeps them, except those with the same MAC, IP, name or DUID as a given host (the given one
        replaces them), so several plays, or the forks of one play, can each manage their own hosts on a shared
        network.
    type: bool
    default: true
  dns_hosts:
    description:
      - DNS host entries dnsmasq answers for (like C(/etc/hosts) lines).
      - Replaces the list when given (see O(purge_dns_hosts)); V([]) removes every entry.
      - Changed on a running network at once, without a restart.
    type: list
    elements: dict
    suboptions:
      ip:
        description: The address.
        type: str
        required: true
      hostnames:
        description:
          - Its names; the first one answers reverse lookups.
          - Required for V(present) entries. For V(absent) ones, when given, only an entry with exactly these
            names is removed.
        type: list
        elements: str
      state:
        description:
          - V(absent) removes the entry for O(dns_hosts[].ip) (with O(dns_hosts[].hostnames), when given); no such
            entry is no change.
          - Needs O(purge_dns_hosts=false), as for O(dhcp_hosts[].state).
        type: str
        choices: [present, absent]
        default: present
  purge_dns_hosts:
    description:
      - With O(dns_hosts) given, remove the DNS host entries that are not in it. The task then owns the list.
      - V(false) keeps them, except those with the same IP or a name of a given entry (the given one replaces them).
    type: bool
    default: true
  active:
    description:
      - Whether the network should be running. Unset leaves an existing network as it is; a new network is started.
    type: bool
  autostart:
    description:
      - Whether libvirt starts the network when the daemon starts. Unset leaves an existing network as it is; a new
        network gets autostart.
    type: bool
  restart:
    description:
      - Restart (stop and start) a running network whose saved definition differs from the running one, so the
        changes listed in RV(pending_changes) apply now.
      - Refused when running VMs use the network, unless O(force=true).
    type: bool
    default: false
  force:
    description:
      - Stop, restart or remove the network even though running VMs use it.
      - Their NICs lose their link; libvirt does not attach them again when the network starts.
    type: bool
    default: false
notes:
  - libvirt 9 cannot modify DHCP ranges and DNS host entries in place; the module deletes the old entry and adds the
    new one, both without a restart.
seealso:
  - module: vmcat.libvirt.network_info
  - name: libvirt network XML format
    description: What each part of a network definition means.
    link: https://libvirt.org/formatnetwork.html
'''

EXAMPLES = r'''
- name: A NAT network with DHCP
  vmcat.libvirt.network:
    name: lab
    mode: nat
    bridge: virbr10
    domain: lab.example.com
    ips:
      - address: 192.168.110.1/24
        dhcp_range: {start: 192.168.110.100, end: 192.168.110.199}
      - address: fd00:110::1/64

- name: Fixed addresses and names, applied to the running network without a restart
  vmcat.libvirt.network:
    name: lab
    dhcp_hosts:
      - {mac: '52:54:00:10:00:01', ip: 192.168.110.11, name: web1}
      - {mac: '52:54:00:10:00:02', ip: 192.168.110.12, name: db1}
    dns_hosts:
      - ip: 192.168.110.5
        hostnames: [nas, nas.lab.example.com]

- name: Add one host without touching the others
  vmcat.libvirt.network:
    name: lab
    dhcp_hosts:
      - {mac: '52:54:00:10:00:03', ip: 192.168.110.13, name: cache1}
    purge_dhcp_hosts: false

- name: Each host of the play adds its own address and name to a shared network (forks run at once)
  vmcat.libvirt.network:
    name: lab
    dhcp_hosts:
      - {mac: "{{ vm_mac }}", ip: "{{ vm_ip }}", name: "{{ inventory_hostname }}"}
    purge_dhcp_hosts: false
    dns_hosts:
      - {ip: "{{ vm_ip }}", hostnames: ["{{ inventory_hostname }}.lab.example.com"]}
    purge_dns_hosts: false
  delegate_to: localhost

- name: And removes only its own entries when the VM goes
  vmcat.libvirt.network:
    name: lab
    dhcp_hosts:
      - {mac: "{{ vm_mac }}", ip: "{{ vm_ip }}", state: absent}
    purge_dhcp_hosts: false
    dns_hosts:
      - {ip: "{{ vm_ip }}", state: absent}
    purge_dns_hosts: false
  delegate_to: localhost

- name: A network on the host bridge br0
  vmcat.libvirt.network:
    name: lan
    mode: bridge
    bridge: br0

- name: A private network for tests, not started
  vmcat.libvirt.network:
    name: scratch
    mode: isolated
    ips:
      - {address: 10.99.0.1, prefix: 24}
    active: false
    autostart: false

- name: Move the network to a new subnet and restart it now
  vmcat.libvirt.network:
    name: lab
    ips:
      - address: 192.168.120.1/24
        dhcp_range: {start: 192.168.120.100, end: 192.168.120.199}
    dhcp_hosts: []
    restart: true

- name: Remove a network (refused while running VMs use it)
  vmcat.libvirt.network:
    name: scratch
    state: absent
'''

RETURN = r'''
network:
  description:
    - The network as it is after the task (as it would be, in check mode). Empty when it was removed.
    - Same keys as one element of RV(vmcat.libvirt.network_info#module:networks), without the leases.
    - For a running network this is its saved definition; RV(pending_changes) lists where the running one differs.
  returned: always
  type: dict
  sample:
    name: lab
    uuid: 4b0c8f3e-9b7a-4d51-8a43-2f1c7c0d5e21
    mode: nat
    bridge: virbr10
    forward: {dev: null}
    mtu: null
    domain: lab.example.com
    ips:
      - {address: 192.168.110.1, prefix: 24, dhcp_range: {start: 192.168.110.100, end: 192.168.110.199}}
    dhcp_hosts:
      - {mac: '52:54:00:10:00:01', ip: 192.168.110.11, name: web1, id: null}
    dns_hosts:
      - {ip: 192.168.110.5, hostnames: [nas, nas.lab.example.com]}
    active: true
    autostart: true
    persistent: true
restart_required:
  description: True when the running network differs from its saved definition and O(restart) did not restart it.
  returned: always
  type: bool
  sample: true
pending_changes:
  description: The options whose new values apply only when the network restarts (empty when none).
  returned: always
  type: list
  elements: str
  sample: [ips, mtu]
actions:
  description:
    - What the task did (or would do, in check mode), in order. Live updates read like
      C(add dhcp host 52:54:00:10:00:01,192.168.110.11,web1).
  returned: always
  type: list
  elements: str
  sample: [define, start, autostart]
'''

# First of ours: importing it installs the code cache (docs/architecture.md).
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _zip_imports  # pylint: disable=unused-import
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module import LibvirtModule
from ansible_collections.vmcat.libvirt.plugins.module_utils._network._network import ensure
from ansible_collections.vmcat.libvirt.plugins.module_utils._network._definition import MODES


def argument_spec():
    return dict(
        name=dict(type='str', required=True),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        mode=dict(type='str', choices=list(MODES)),
        bridge=dict(type='str'),
        forward=dict(type='dict', options=dict(dev=dict(type='str'))),
        mtu=dict(type='int'),
        domain=dict(type='str'),
        ips=dict(type='list', elements='dict', options=dict(
            address=dict(type='str', required=True),
            prefix=dict(type='int'),
            dhcp_range=dict(type='dict', options=dict(
                start=dict(type='str', required=True),
                end=dict(type='str', required=True),
            )),
        )),
        dhcp_hosts=dict(type='list', elements='dict', options=dict(
            mac=dict(type='str'),
            ip=dict(type='str', required=True),
            name=dict(type='str'),
            id=dict(type='str'),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
        )),
        purge_dhcp_hosts=dict(type='bool', default=True),
        dns_hosts=dict(type='list', elements='dict', options=dict(
            ip=dict(type='str', required=True),
            hostnames=dict(type='list', elements='str'),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
        )),
        purge_dns_hosts=dict(type='bool', default=True),
        active=dict(type='bool'),
        autostart=dict(type='bool'),
        restart=dict(type='bool', default=False),
        force=dict(type='bool', default=False),
    )


def main():
    module = LibvirtModule(supports_check_mode=True, argument_spec=argument_spec())
    module.run_change('network', ensure)


if __name__ == '__main__':
    main()
