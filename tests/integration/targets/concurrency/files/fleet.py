# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helper of the concurrency target: a fleet of Ansible hosts that work on one node at the same time.

Usage:
  fleet.py plan PREFIX SUBNET NETWORK POOL HOSTS ROUNDS INVENTORY
      Write the fleet's inventory (HOSTS hosts, connection local) and print the
      plan as JSON: every entry (round r, host h) with its name, MAC, IP and
      the keys observe prints for it, and the entries the target itself owns
      (made before the fleet runs; no host may touch them).
  fleet.py run INVENTORY PLAYBOOK FORKS LOG EXTRA_JSON
      Run the nested ansible-playbook with FORKS forks and print its recap as
      JSON: {rc, seconds, hosts: {host: {ok, changed, failed, ...}}, errors}.
  fleet.py observe URI NETWORK POOL PREFIX
      Print what libvirt holds, as JSON: the network's DHCP hosts and DNS
      entries in its running definition (XMLDesc(0)) and in its saved one
      (XMLDesc(VIR_NETWORK_XML_INACTIVE)), the pool's volumes and the VMs
      whose names start with PREFIX.
  fleet.py cleanup URI PREFIX
      Undefine every VM whose name starts with PREFIX (the fleet's and the
      target's own); prints ``changed`` when it removed one.

Keys: a DHCP host is ``mac,ip,name``, a DNS entry ``ip=name[,name...]``, a
VM ``name|network|mac|pool/volume of its disk|state``.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import re
import subprocess
import sys
import time

_RECAP = re.compile(r'^(\S+)\s+:\s+(.*)$')
_COUNT = re.compile(r'(\w+)=(\d+)')


def dhcp_key(mac, ip, name):
    return ','.join(v for v in (mac, ip, name) if v)


def dns_key(ip, hostnames):
    return '%s=%s' % (ip, ','.join(hostnames))


def vm_key(name, network, mac, disk, state='shut off'):
    return '|'.join((name, network, mac, disk, state))


def _entry(prefix, subnet, network, pool, name, mac, last_octet, round_no, host):
    ip = '%s.%d' % (subnet, last_octet)
    dns = '%s-dns' % name
    volume = '%s.qcow2' % name
    return {
        'round': round_no, 'host': host, 'name': name, 'mac': mac, 'ip': ip, 'volume': volume,
        'dhcp': {'mac': mac, 'ip': ip, 'name': name},
        'dns': {'ip': ip, 'hostnames': [dns]},
        'dhcp_key': dhcp_key(mac, ip, name),
        'dns_key': dns_key(ip, [dns]),
        'vm_key': vm_key(name, network, mac, '%s/%s' % (pool, volume)),
    }


def plan(prefix, subnet, network, pool, hosts, rounds, inventory):
    hosts, rounds = int(hosts), int(rounds)
    mac_byte = int(subnet.split('.')[2])
    entries = []
    fleet = {}
    for h in range(hosts):
        host = 'h%d' % h
        mine = []
        for r in range(1, rounds + 1):
            mac = '52:54:00:%02x:%02x:%02x' % (mac_byte, r, h)
            mine.append(_entry(prefix, subnet, network, pool, '%sr%dh%d' % (prefix, r, h), mac,
                               10 + 10 * r + h, r, host))
        entries += mine
        fleet[host] = {'fleet_entries': mine}
    kept = _entry(prefix, subnet, network, pool, '%skeep' % prefix, '52:54:00:%02x:00:fe' % mac_byte, 5, 0, None)
    with open(inventory, 'w') as f:
        local = {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}
        json.dump({'fleet': {'hosts': fleet, 'vars': local}}, f, indent=1)
    return {'entries': entries, 'kept': kept, 'hosts': sorted(fleet)}


def run(inventory, playbook, forks, log, extra):
    cmd = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', inventory, '-f', str(forks),
           '-e', extra, playbook]
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0', ANSIBLE_RETRY_FILES_ENABLED='0')
    start = time.monotonic()
    with open(log, 'w') as out:
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, check=False)
    seconds = round(time.monotonic() - start, 1)
    with open(log) as f:
        lines = f.read().splitlines()
    hosts, errors, in_recap = {}, [], False
    for line in lines:
        if line.startswith('PLAY RECAP'):
            in_recap = True
            continue
        if in_recap:
            match = _RECAP.match(line)
            if match:
                hosts[match.group(1)] = dict((k, int(v)) for k, v in _COUNT.findall(match.group(2)))
        elif line.startswith(('fatal:', 'failed:', 'ERROR!', '[ERROR]')):
            errors.append(line[:600])
    return {'rc': proc.returncode, 'seconds': seconds, 'hosts': hosts, 'errors': errors[:20], 'log': log}


def _libvirt():
    import libvirt
    libvirt.registerErrorHandler(lambda *args: None, None)
    return libvirt


def _network_entries(xml):
    from lxml import etree
    root = etree.fromstring(xml)
    dhcp = [dhcp_key(h.get('mac'), h.get('ip'), h.get('name')) for h in root.findall('ip/dhcp/host')]
    dns = [dns_key(h.get('ip'), [n.text for n in h.findall('hostname')]) for h in root.findall('dns/host')]
    return {'dhcp_hosts': sorted(dhcp), 'dns_hosts': sorted(dns)}


def _disk(conn, source):
    """pool/volume of a disk source, whether the definition names the volume or its file."""
    if source is None:
        return ''
    if source.get('volume'):
        return '%s/%s' % (source.get('pool'), source.get('volume'))
    try:
        vol = conn.storageVolLookupByPath(source.get('file') or source.get('dev') or '')
        return '%s/%s' % (vol.storagePoolLookupByVolume().name(), vol.name())
    except Exception:  # libvirt.libvirtError: not a volume of any pool
        return source.get('file') or ''


def _vm(conn, dom, states):
    from lxml import etree
    root = etree.fromstring(dom.XMLDesc(2))  # VIR_DOMAIN_XML_INACTIVE
    nic = root.find('devices/interface')
    source = nic.find('source') if nic is not None else None
    mac = nic.find('mac') if nic is not None else None
    return vm_key(dom.name(), source.get('network') if source is not None else '',
                  mac.get('address') if mac is not None else '',
                  _disk(conn, root.find("devices/disk[@device='disk']/source")),
                  states.get(dom.state()[0], 'other'))


def observe(uri, network, pool, prefix):
    libvirt = _libvirt()
    states = {libvirt.VIR_DOMAIN_RUNNING: 'running', libvirt.VIR_DOMAIN_PAUSED: 'paused',
              libvirt.VIR_DOMAIN_SHUTOFF: 'shut off'}
    conn = libvirt.open(uri)
    try:
        net = conn.networkLookupByName(network)
        active = bool(net.isActive())
        live = _network_entries(net.XMLDesc(0)) if active else None
        saved = _network_entries(net.XMLDesc(libvirt.VIR_NETWORK_XML_INACTIVE))
        store = conn.storagePoolLookupByName(pool)
        store.refresh(0)
        volumes = sorted(store.listVolumes())
        vms = sorted(_vm(conn, d, states) for d in conn.listAllDomains(0) if d.name().startswith(prefix))
    finally:
        conn.close()
    return {'network_active': active, 'live': live, 'saved': saved, 'volumes': volumes, 'vms': vms}


def cleanup(uri, prefix):
    from harness.fixture_vm import connect, remove_prefixed  # tests/integration is on PYTHONPATH (run.py)
    with connect(uri) as conn:
        return remove_prefixed(conn, prefix)


def main(argv):
    action, args = argv[1], argv[2:]
    if action == 'plan':
        print(json.dumps(plan(*args)))
    elif action == 'run':
        print(json.dumps(run(*args)))
    elif action == 'observe':
        print(json.dumps(observe(*args)))
    elif action == 'cleanup':
        if cleanup(*args):
            print('changed')
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main(sys.argv)
