# -*- coding: utf-8 -*-
"""Start and remove the guests of the qga connection test.

Usage: lab.py up URI PREFIX GUEST_JSON   two fixture guests, no network: PREFIXqga (agent allows everything)
                                         and PREFIXnoexec (agent blocks guest-exec); waits for both agents
       lab.py down URI PREFIX            removes every domain named PREFIX*
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


def quiet(*args):
    """libvirt prints every error on stderr by default."""


def up(uri, prefix, guest_json):
    with open(guest_json) as handle:
        guest = json.load(handle)
    conn = libvirt.open(uri)
    doms = [conn.defineXML(domain_xml('%sqga' % prefix, guest)),
            conn.defineXML(domain_xml('%snoexec' % prefix, guest, extra_cmdline='vmcat.ga_block=guest-exec'))]
    for dom in doms:
        dom.create()
    deadline = time.monotonic() + 240
    for dom in doms:
        while True:
            try:
                libvirt_qemu.qemuAgentCommand(dom, '{"execute": "guest-ping"}', 5, 0)
                break
            except libvirt.libvirtError:
                if time.monotonic() > deadline:
                    raise SystemExit('agent of %s did not answer within 240 s' % dom.name())
                time.sleep(2)
    print(json.dumps({'vm': doms[0].name(), 'noexec_vm': doms[1].name()}))


def down(uri, prefix):
    conn = libvirt.open(uri)
    for dom in conn.listAllDomains(0):
        if dom.name().startswith(prefix):
            if dom.isActive():
                dom.destroy()
            dom.undefine()


def main(argv):
    libvirt.registerErrorHandler(quiet, None)
    if argv[1:2] == ['up'] and len(argv) == 5:
        up(*argv[2:])
    elif argv[1:2] == ['down'] and len(argv) == 4:
        down(*argv[2:])
    else:
        raise SystemExit(__doc__)


if __name__ == '__main__':
    main(sys.argv)
