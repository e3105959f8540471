# -*- coding: utf-8 -*-
"""Look at a running test VM from outside the vm module: its live definition and, through its agent, the guest.

Usage: vm_probe.py URI NAME live           JSON: vcpus, memory_kib, disks, nics, graphics passwords, state
       vm_probe.py URI NAME wait-agent [S]  wait until the guest agent answers (default 120 s)
       vm_probe.py URI NAME sh COMMAND      run /bin/sh -c COMMAND in the guest; print its output
       vm_probe.py URI NAME wait-memory KIB [S]  wait until the live balloon shows KIB
       vm_probe.py URI NAME snapshot SNAP   make an internal snapshot of a shut-off VM (qcow2 disks)

Everything goes through libvirt (libvirt_qemu.qemuAgentCommand for the agent), so the checks see what the
hypervisor and the guest see, not what the module reports.
"""

from __future__ import absolute_import, division, print_function

import base64
import json
import sys
import time

import libvirt
import libvirt_qemu
from lxml import etree


def agent(dom, command, arguments=None, timeout=5):
    payload = {'execute': command}
    if arguments is not None:
        payload['arguments'] = arguments
    return json.loads(libvirt_qemu.qemuAgentCommand(dom, json.dumps(payload), timeout, 0)).get('return')


def wait_agent(dom, timeout):
    deadline = time.monotonic() + timeout
    while True:
        try:
            agent(dom, 'guest-ping')
            return
        except libvirt.libvirtError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def sh(dom, command):
    started = agent(dom, 'guest-exec', {'path': '/bin/sh', 'arg': ['-c', command], 'capture-output': True})
    deadline = time.monotonic() + 30
    while True:
        status = agent(dom, 'guest-exec-status', {'pid': started['pid']})
        if status['exited']:
            break
        if time.monotonic() > deadline:
            sys.exit('guest command still running after 30 s: %s' % command)
        time.sleep(0.05)
    out = base64.b64decode(status.get('out-data', '')).decode(errors='replace')
    if status.get('exitcode'):
        error = base64.b64decode(status.get('err-data', '')).decode(errors='replace')
        sys.exit('guest command failed (%s): %s\n%s' % (status.get('exitcode'), command, error))
    return out


def live(dom):
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


def main(argv):
    uri, name, action = argv[1:4]
    libvirt.registerErrorHandler(lambda *args: None, None)
    conn = libvirt.open(uri)
    try:
        dom = conn.lookupByName(name)
        if action == 'live':
            print(json.dumps(live(dom)))
        elif action == 'wait-agent':
            wait_agent(dom, float(argv[4]) if len(argv) > 4 else 120)
            print('agent answers')
        elif action == 'sh':
            wait_agent(dom, 60)
            sys.stdout.write(sh(dom, argv[4]))
        elif action == 'wait-memory':
            want = int(argv[4])
            deadline = time.monotonic() + (float(argv[5]) if len(argv) > 5 else 60)
            while live(dom)['memory_kib'] != want:
                if time.monotonic() > deadline:
                    sys.exit('balloon at %d KiB, not %d' % (live(dom)['memory_kib'], want))
                time.sleep(0.5)
            print(json.dumps(live(dom)))
        elif action == 'snapshot':
            xml = etree.Element('domainsnapshot')
            etree.SubElement(xml, 'name').text = argv[4]
            dom.snapshotCreateXML(etree.tostring(xml, encoding='unicode'), 0)
            print('snapshot %s' % argv[4])
        else:
            sys.exit('unknown action %s' % action)
    finally:
        conn.close()


if __name__ == '__main__':
    main(sys.argv)
