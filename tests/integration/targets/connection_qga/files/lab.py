# -*- coding: utf-8 -*-
"""Start and remove the guests of the qga connection test.

Usage: lab.py up URI PREFIX GUEST_JSON   two fixture guests, no network: PREFIXqga (agent allows everything)
                                         and PREFIXnoexec (agent blocks guest-exec); waits for both agents
       lab.py down URI PREFIX            removes every domain named PREFIX*
"""

from __future__ import absolute_import, division, print_function

import json
import sys

from harness.fixture_vm import boot, connect, domain_xml, remove_prefixed, run_command, wait_agent


def up(uri, prefix, guest_json):
    with open(guest_json) as handle:
        guest = json.load(handle)
    with connect(uri) as conn:
        doms = [conn.defineXML(domain_xml('%sqga' % prefix, guest)),
                conn.defineXML(domain_xml('%snoexec' % prefix, guest, extra_cmdline='vmcat.ga_block=guest-exec'))]
        for dom in doms:
            boot(dom)
        waited = 0.0
        for dom in doms:  # both boot at once: one 240 s budget for the two
            try:
                waited += wait_agent(dom, 240 - waited, interval=2)
            except TimeoutError as exc:
                raise SystemExit(str(exc))
        print(json.dumps({'vm': doms[0].name(), 'noexec_vm': doms[1].name()}))


def down(uri, prefix):
    with connect(uri) as conn:
        remove_prefixed(conn, prefix)


if __name__ == '__main__':
    run_command(sys.argv, {'up': (up, 3), 'down': (down, 2)}, __doc__)
