# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: libvirt
short_description: Libvirt VMs of one or more nodes as inventory hosts
version_added: 0.1.0
author: [vmcat.libvirt developers (@vmcat)]
description:
  - Reads the VMs (domains) of one or more libvirt nodes and adds them as hosts, with small C(vmcat_*) host
    variables, C(ansible_host) from the guest agent, DHCP leases or the ARP table, and groups by node, state and tag.
  - The nodes are asked in parallel, each with its own connection and a deadline (O(node_timeout)). A node that
    cannot be read is reported as a warning and the others still load, unless O(strict_nodes=true).
  - Guest-agent questions (addresses, C(guest-get-osinfo)) use a short timeout (O(agent_timeout)) and run in a
    bounded pool per node, so one slow guest does not hold up the inventory.
  - Hosts are named by the VM name (default), its UUID, or C(node/name) (O(hostname_format)). When two nodes have a VM
    of the same name, the node listed first keeps the plain name and the later one is renamed C(node/name), with
    a warning.
  - Every string read from libvirt or a guest is marked unsafe, so VM names, tags and metadata are never templated.
  - The configuration file name must end in C(.libvirt.yml) or C(.libvirt.yaml).
  - Needs libvirt-python on the controller.
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin; must be V(vmcat.libvirt.libvirt) for this file to be used.
    type: str
    required: true
    choices: [vmcat.libvirt.libvirt]
  nodes:
    description:
      - The libvirt nodes to read, each a URI string or a dict with C(uri) and an optional C(name).
      - The node name appears in C(vmcat_node), the C(node_<name>) group and renamed duplicates. Without one it is
        the URI's host (V(kvm1) for V(qemu+ssh://root@kvm1/system)), or the scheme and path for a local URI
        (V(qemu_system) for V(qemu:///system)). Node names must be unique.
    type: list
    elements: raw
    default: [qemu:///system]
  strict_nodes:
    description: Fail the whole inventory when one node cannot be read, instead of warning and going on.
    type: bool
    default: false
  node_timeout:
    description: Seconds to wait for each node (all are asked at the same time) before reporting it as failed.
    type: float
    default: 30
  hostname_format:
    description: How hosts are named; V(name) is the VM name, V(uuid) the VM UUID, V(node_name) is C(node/name).
    type: str
    choices: [name, uuid, node_name]
    default: name
  group_by:
    description:
      - The default groups to make; V(node) gives C(node_<node>), V(state) gives C(state_<state>) (like
        C(state_running), C(state_shutoff)), V(tag) gives C(tag_<tag>) per tag of the vm module's O(vmcat.libvirt.vm#module:tags).
      - Names are sanitized to letters, digits and underscores. Use O(keyed_groups) and O(groups) for more.
    type: list
    elements: str
    choices: [node, state, tag]
    default: [node, state, tag]
  filters:
    description:
      - Which VMs become hosts. C(include) and C(exclude) are lists; each entry is a Jinja expression evaluated
        against the host variables (like V(vmcat_memory > 1073741824)), or a dict with one key, C(state) (a state
        or a list of states), C(name) (an fnmatch pattern on the VM name) or C(tag).
      - A VM is kept when it matches at least one C(include) entry (or C(include) is empty) and no C(exclude) entry.
    type: dict
    default: {}
  skip_shutoff:
    description: Leave out VMs that are not active (shut off), without asking about them at all.
    type: bool
    default: false
  use_agent:
    description:
      - Ask running VMs' guest agents (addresses, C(guest-get-osinfo) in C(vmcat_os)).
      - Agent commands need a read-write libvirt connection; with V(false) the nodes are opened read-only and the
        V(agent) address source is skipped.
    type: bool
    default: true
  agent_timeout:
    description: Seconds each guest-agent command may take; a guest that does not answer in time gets no C(vmcat_os).
    type: int
    default: 2
  workers:
    description:
      - How many VMs of one node are described at the same time.
      - On a local node (a URI without a host, like V(qemu:///system)) only VMs whose guest agent is asked use these
        workers; the others are described one after the other, which is faster there.
    type: int
    default: 8
  address_sources:
    description: Where C(ansible_host) comes from, in order; the first address found is used.
    type: list
    elements: str
    choices: [agent, lease, arp]
    default: [agent, lease, arp]
  address_networks:
    description: Only addresses inside these networks (CIDR) are used for C(ansible_host) and listed in C(vmcat_nics).
    type: list
    elements: str
    default: []
  details:
    description:
      - Also set C(vmcat_vcpus), C(vmcat_memory), C(vmcat_metadata), C(vmcat_nics) and C(vmcat_graphics) as host
        variables (earlier versions always set them).
      - O(filters), O(compose), O(groups) and O(keyed_groups) see these variables either way; V(false) only leaves
        them out of the hosts' variables, which makes loading and C(ansible-inventory --list) of many VMs faster.
    type: bool
    default: false
    version_added: 0.2.0
  want_xml:
    description: Add the live domain XML as C(vmcat_xml) (large; off by default).
    type: bool
    default: false
  use_qga_connection:
    description:
      - Set C(ansible_connection=vmcat.libvirt.qga) with C(vmcat_qga_uri) and C(vmcat_qga_vm), so tasks run through
        the guest agent instead of SSH. Left alone by default.
    type: bool
    default: false
notes:
  - Host variables are C(vmcat_node), C(vmcat_uri), C(vmcat_name), C(vmcat_uuid), C(vmcat_state), C(vmcat_tags),
    C(vmcat_os) (the agent's C(guest-get-osinfo), or null; its keys use underscores as the C(os) section of
    M(vmcat.libvirt.guest_info) does, like C(kernel_release), where earlier versions kept the agent's dashes),
    with O(details) also C(vmcat_vcpus), C(vmcat_memory)
    (bytes), C(vmcat_metadata), C(vmcat_nics) (C(mac), C(network), C(bridge), C(addresses)) and C(vmcat_graphics)
    (C(type), C(listen), C(port)), and with O(want_xml) C(vmcat_xml).
seealso:
  - module: vmcat.libvirt.vm_info
'''

EXAMPLES = r'''
# lab.libvirt.yml: the local node, hosts reachable through their DHCP lease
#
#   plugin: vmcat.libvirt.libvirt
#   nodes:
#     - qemu:///system
#   address_sources: [lease, agent]

# fleet.libvirt.yml: two nodes, running VMs only, web VMs in a group
plugin: vmcat.libvirt.libvirt
nodes:
  - {uri: qemu+ssh://root@kvm1/system, name: kvm1}
  - {uri: qemu+ssh://root@kvm2/system, name: kvm2}
skip_shutoff: true
address_networks: [192.0.2.0/24]
filters:
  exclude:
    - name: 'tmp-*'
    - vmcat_memory < 268435456
keyed_groups:
  - key: vmcat_os.id | default('unknown')
    prefix: os
groups:
  web: "'web' in vmcat_tags"
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: /tmp/vmcat-inventory
cache_timeout: 300
'''

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

# community.docker's make_unsafe is a wrapper of this.  ansible-core 2.19 and later never trust what an inventory
# plugin sets (trusted_by_default is False), so wrapping every variable there is only cost (about a third of the
# plugin's own time for 1000 VMs); it is kept for older ansible-core.
from ansible.utils.unsafe_proxy import wrap_var as make_unsafe

_CORE_MARKS_UNTRUSTED = getattr(BaseInventoryPlugin, 'trusted_by_default', None) is False

from ansible_collections.vmcat.libvirt.plugins.plugin_utils import _inventory as inv


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = 'vmcat.libvirt.libvirt'

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and path.endswith(('.libvirt.yml', '.libvirt.yaml'))

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        self._read_config_data(path)
        try:
            nodes = inv.parse_nodes(self.get_option('nodes'))
            filters = inv.check_filters(self.get_option('filters'))
        except inv.InventoryInputError as exc:
            raise AnsibleParserError('%s: %s' % (path, exc))
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option('cache') and cache
        update_cache = self.get_option('cache') and not cache
        results = None
        if use_cache:
            try:
                results = self._cache[cache_key]
            except KeyError:
                update_cache = True
        if results is None:
            results = self._collect(path, nodes)
        if update_cache:
            self._cache[cache_key] = results
        self._populate(results, filters)

    def _collect(self, path, nodes):
        """Ask the nodes. The collecting code is imported here, not at the top, so that a run served from a warm
        cache never loads libvirt, lxml and the definition readers (about 60 ms of every ansible-inventory run;
        bench/README.md, issue 15). The address networks are checked here for the same reason. Those files come
        from the code cache, not compiled again in every run (_source_imports)."""
        from ansible_collections.vmcat.libvirt.plugins.plugin_utils import _source_imports
        _source_imports.install()
        from ansible_collections.vmcat.libvirt.plugins.module_utils._vm._addresses import parse_networks
        from ansible_collections.vmcat.libvirt.plugins.plugin_utils._inventory_collect import collect_nodes
        from ansible_collections.vmcat.libvirt.plugins.plugin_utils._libvirt import ansible_errors, require_libvirt
        with ansible_errors(AnsibleParserError, '%s: ' % path):
            parse_networks(self.get_option('address_networks'), 'address_networks')
        require_libvirt(self.NAME)
        return collect_nodes(nodes, self._collect_options())

    def _collect_options(self):
        return {key: self.get_option(key) for key in (
            'skip_shutoff', 'use_agent', 'agent_timeout', 'workers', 'address_sources', 'address_networks',
            'want_xml', 'node_timeout')}

    def _populate(self, results, filters):
        for node in results:
            for warning in node.get('warnings') or []:
                self.display.warning('vmcat.libvirt.libvirt: node %s: %s' % (node['name'], warning))
            if node.get('error'):
                message = 'vmcat.libvirt.libvirt: node %s (%s) skipped: %s' % (node['name'], node['uri'], node['error'])
                if self.get_option('strict_nodes'):
                    raise AnsibleError(message)
                self.display.warning(message)
        entries, warnings = inv.host_entries(results, self.get_option('hostname_format'))
        for warning in warnings:
            self.display.warning('vmcat.libvirt.libvirt: %s' % warning)
        strict = self.get_option('strict')
        details = self.get_option('details')
        for host, variables in entries:
            if not _CORE_MARKS_UNTRUSTED:
                variables = make_unsafe(variables)
            if self.get_option('use_qga_connection'):
                variables.update(ansible_connection='vmcat.libvirt.qga', vmcat_qga_uri=variables['vmcat_uri'],
                                 vmcat_qga_vm=variables['vmcat_name'])
            if not inv.keep_host(variables, filters, self._evaluate):
                continue
            host = make_unsafe(host)
            self.inventory.add_host(host)
            for key, value in inv.stored_vars(variables, details).items():
                self.inventory.set_variable(host, key, value)
            for group in inv.default_groups(variables, self.get_option('group_by')):
                self.inventory.add_group(group)
                self.inventory.add_child(group, host)
            self._set_composite_vars(self.get_option('compose'), variables, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option('groups'), variables, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option('keyed_groups'), variables, host, strict=strict)

    def _evaluate(self, expression, variables):
        try:
            return self._compose(expression, variables)
        except Exception as exc:  # a user's Jinja2 expression can fail with any error: name the filter that did
            raise AnsibleError('vmcat.libvirt.libvirt: filter %r failed: %s' % (expression, exc))
