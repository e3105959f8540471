# -*- coding: utf-8 -*-
"""Look at a running test VM from outside the vm module: its live definition and, through its agent, the guest.

Usage: vm_probe.py URI NAME live           JSON: vcpus, memory_kib, disks, nics, graphics passwords, state
       vm_probe.py URI NAME wait-agent [S]  wait until the guest agent answers (default 120 s)
       vm_probe.py URI NAME sh COMMAND      run /bin/sh -c COMMAND in the guest; print its output
       vm_probe.py URI NAME wait-memory KIB [S]  wait until the live balloon shows KIB
       vm_probe.py URI NAME snapshot SNAP   make an internal snapshot of a shut-off VM (qcow2 disks)

Everything goes through libvirt (libvirt_qemu.qemuAgentCommand for the agent, through harness.fixture_vm), so
the checks see what the hypervisor and the guest see, not what the module reports.
"""

from __future__ import absolute_import, division, print_function

import json
import sys
import time

import libvirt
from lxml import etree

from harness.fixture_vm import run_on_vm, shell, wait_agent


def describe(dom):
    root = etree.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_SECURE).encode())
    vcpu = root.find('vcpu')
    return {
        'state': dom.state()[0],
        'vcpus': int(vcpu.get('current') or vcpu.text),
        'max_vcpus': int(vcpu.text),
        'memory_kib': int(root.find('currentMemory').text),
        'disks': [d.find('target').get('dev') for d in root.findall('devices/disk')],
        'nics': [{'mac': n.find('mac').get('address'),
                  'link': n.find('link').get('state') if n.find('link') is not None else 'up'}
                 for n in root.findall('devices/interface')],
        'passwords': [g.get('passwd') for g in root.findall('devices/graphics')],
        'cpu_mode': root.find('cpu').get('mode') if root.find('cpu') is not None else None,
    }


def live(conn, name):
    print(json.dumps(describe(conn.lookupByName(name))))


def wait_for_agent(conn, name, seconds='120'):
    wait_agent(conn.lookupByName(name), float(seconds))
    print('agent answers')


def sh(conn, name, command):
    dom = conn.lookupByName(name)
    wait_agent(dom, 60)
    sys.stdout.write(shell(dom, command))


def wait_memory(conn, name, kib, seconds='60'):
    dom, want = conn.lookupByName(name), int(kib)
    deadline = time.monotonic() + float(seconds)
    while describe(dom)['memory_kib'] != want:
        if time.monotonic() > deadline:
            sys.exit('balloon at %d KiB, not %d' % (describe(dom)['memory_kib'], want))
        time.sleep(0.5)
    print(json.dumps(describe(dom)))


def snapshot(conn, name, snap):
    xml = etree.Element('domainsnapshot')
    etree.SubElement(xml, 'name').text = snap
    conn.lookupByName(name).snapshotCreateXML(etree.tostring(xml, encoding='unicode'), 0)
    print('snapshot %s' % snap)


ACTIONS = {'live': live, 'wait-agent': wait_for_agent, 'sh': sh, 'wait-memory': wait_memory, 'snapshot': snapshot}

if __name__ == '__main__':
    run_on_vm(sys.argv, ACTIONS, vm_first=True)
