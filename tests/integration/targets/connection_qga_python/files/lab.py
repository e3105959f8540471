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

from harness.fixture_vm import agent, boot, connect, domain_xml, remove_prefixed, run_command, wait_agent

BOOT_TIMEOUT = 240


def load(path):
    with open(path) as handle:
        return json.load(handle)


def up(uri, prefix, workdir):
    with connect(uri) as conn:
        return _up(conn, prefix, workdir)


def _up(conn, prefix, workdir):
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
        boot(dom)
    waited = {}
    for dom in doms:
        try:
            wait_agent(dom, BOOT_TIMEOUT - (time.monotonic() - started))
        except TimeoutError as exc:
            raise SystemExit(str(exc))
        waited[dom.name()] = round(time.monotonic() - started, 1)
    print(json.dumps({'vm': doms[0].name(), 'noexec_vm': doms[1].name(), 'boot_to_agent': waited}))


def ask(uri, vm, command):
    with connect(uri) as conn:
        print(json.dumps(agent(conn.lookupByName(vm), command)))


def down(uri, prefix):
    with connect(uri) as conn:
        remove_prefixed(conn, prefix)


if __name__ == '__main__':
    run_command(sys.argv, {'up': (up, 3), 'ask': (ask, 3), 'down': (down, 2)}, __doc__)
