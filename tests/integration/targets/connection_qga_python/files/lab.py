# -*- coding: utf-8 -*-
"""Start and remove the guests of the qga playbook test; ask a guest agent one question.

Usage: lab.py up URI PREFIX WORKDIR   two guests without network: PREFIXpy (the fixture's python3 variant,
                                      WORKDIR/guest-python.json) and PREFIXnoexec (the default fixture,
                                      WORKDIR/guest.json, agent blocks guest-exec); waits for both agents
       lab.py ask URI VM COMMAND      prints the agent's JSON "return" for COMMAND (e.g. guest-get-host-name)
       lab.py down URI PREFIX         removes every domain named PREFIX*
"""

from __future__ import absolute_import, division, print_function

import json
import os
import sys
import time

import libvirt
import libvirt_qemu

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.abspath(os.path.join(HERE, '..', '..', '..')))  # tests/integration

from harness.guest import domain_xml  # noqa: E402  (needs sys.path above)

BOOT_TIMEOUT = 240


def quiet(*args):
    """libvirt prints every error on stderr by default."""


def load(path):
    with open(path) as handle:
        return json.load(handle)


def up(uri, prefix, workdir):
    conn = libvirt.open(uri)
    python_guest = load(os.path.join(workdir, 'guest-python.json'))
    plain_guest = load(os.path.join(workdir, 'guest.json'))
    doms = [
        conn.defineXML(domain_xml('%spy' % prefix, python_guest, memory_mib=512,
                                  serial_log=os.path.join(workdir, 'py-serial.log'))),
        conn.defineXML(domain_xml('%snoexec' % prefix, plain_guest, extra_cmdline='vmcat.ga_block=guest-exec',
                                  serial_log=os.path.join(workdir, 'noexec-serial.log'))),
    ]
    started = time.monotonic()
    for dom in doms:
        dom.create()
    waited = {}
    for dom in doms:
        while True:
            try:
                libvirt_qemu.qemuAgentCommand(dom, '{"execute": "guest-ping"}', 5, 0)
                waited[dom.name()] = round(time.monotonic() - started, 1)
                break
            except libvirt.libvirtError:
                if time.monotonic() - started > BOOT_TIMEOUT:
                    raise SystemExit('agent of %s did not answer within %d s' % (dom.name(), BOOT_TIMEOUT))
                time.sleep(0.5)
    print(json.dumps({'vm': doms[0].name(), 'noexec_vm': doms[1].name(), 'boot_to_agent': waited}))


def ask(uri, vm, command):
    conn = libvirt.open(uri)
    reply = libvirt_qemu.qemuAgentCommand(conn.lookupByName(vm), json.dumps({'execute': command}), 10, 0)
    print(json.dumps(json.loads(reply)['return']))


def down(uri, prefix):
    conn = libvirt.open(uri)
    for dom in conn.listAllDomains(0):
        if dom.name().startswith(prefix):
            if dom.isActive():
                dom.destroy()
            dom.undefine()


def main(argv):
    libvirt.registerErrorHandler(quiet, None)
    actions = {'up': (up, 3), 'ask': (ask, 3), 'down': (down, 2)}
    action, count = actions.get(argv[1] if len(argv) > 1 else '', (None, 0))
    if action is None or len(argv) != count + 2:
        raise SystemExit(__doc__)
    action(*argv[2:])


if __name__ == '__main__':
    main(sys.argv)
