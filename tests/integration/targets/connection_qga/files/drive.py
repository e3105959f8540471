# -*- coding: utf-8 -*-
"""Drive the vmcat.libvirt.qga connection plugin directly, as Ansible would, against a running guest.

Usage: drive.py URI VM WORKDIR   prints JSON of what each step saw; exits 1 when a check fails

Loads the plugin through ansible's connection_loader with a PlayContext, then: exec_command with stdin and
an environment variable, a failing command's rc and stderr, put_file of a 300 KiB random file, fetch_file
back and a byte comparison, and a command that outlives vmcat_qga_command_timeout.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import sys
import time

from ansible.errors import AnsibleConnectionFailure
from ansible.playbook.play_context import PlayContext
from ansible.plugins.loader import connection_loader, init_plugin_loader


def connect(uri, vm, **extra):
    conn = connection_loader.get('vmcat.libvirt.qga', PlayContext(), None)
    if conn is None:
        raise SystemExit('vmcat.libvirt.qga not found; is ANSIBLE_COLLECTIONS_PATH set?')
    options = {'inventory_hostname': vm, 'vmcat_qga_uri': uri}
    options.update(extra)
    conn.set_options(var_options=options)
    return conn


def main(argv):
    uri, vm, workdir = argv[1:4]
    init_plugin_loader([])
    seen, failed = {}, []

    def check(name, ok, value):
        seen[name] = value
        if not ok:
            failed.append(name)

    conn = connect(uri, vm)
    try:
        rc, out, err = conn.exec_command("FOO='a b' sh -c 'echo \"$FOO\"; cat; echo oops >&2; exit 7'",
                                         in_data=b'from stdin\n')
        check('exec', (rc, out, err) == (7, b'a b\nfrom stdin\n', b'oops\n'), [rc, out.decode(), err.decode()])

        payload = os.urandom(300 * 1024)
        src = os.path.join(workdir, 'payload.bin')
        back = os.path.join(workdir, 'payload.back')
        with open(src, 'wb') as handle:
            handle.write(payload)
        started = time.monotonic()
        conn.put_file(src, '/tmp/payload.bin')
        put_seconds = time.monotonic() - started
        rc, out, err = conn.exec_command('wc -c < /tmp/payload.bin')
        check('put_size', out.strip() == str(len(payload)).encode(), out.decode().strip())
        started = time.monotonic()
        conn.fetch_file('/tmp/payload.bin', back)
        fetch_seconds = time.monotonic() - started
        with open(back, 'rb') as handle:
            check('fetch_same', handle.read() == payload, True)
        seen['timings'] = {'put_300k': round(put_seconds, 2), 'fetch_300k': round(fetch_seconds, 2)}
    finally:
        conn.close()

    slow = connect(uri, vm, vmcat_qga_command_timeout=2)
    started = time.monotonic()
    try:
        slow.exec_command('sleep 20')
        check('timeout', False, 'no error')
    except AnsibleConnectionFailure as exc:
        check('timeout', 'did not finish within 2s' in str(exc) and time.monotonic() - started < 10, str(exc))
    finally:
        slow.close()

    print(json.dumps({'seen': seen, 'failed': failed}, indent=1))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
