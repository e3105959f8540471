# -*- coding: utf-8 -*-
"""Drive the vmcat.libvirt.qga connection plugin directly, as Ansible would, against a running guest.

Usage: drive.py URI VM WORKDIR   prints JSON of what each step saw; exits 1 when a check fails

Loads the plugin through ansible's connection_loader with a PlayContext, then: exec_command with stdin and
an environment variable, a failing command's rc and stderr, put_file of a 300 KiB random file, fetch_file
back and a byte comparison, and a command that outlives vmcat_qga_command_timeout.  All of it as each task
connects (the default), again with vmcat_qga_checksum (the guest's sha256sum must match after the put and the
fetch), and through the persistent relay (vmcat_qga_persistent), which also gets
100 KiB of stdin (the guest temp file path), a 2 MiB put and fetch, reset() (the relay exits, the next
command starts another), a killed relay (the task fails saying so, the next one starts a new relay), a
guest reboot under the relay (the same relay serves again once the agent is back), the idle timeout
and a missing VM.
"""

from __future__ import absolute_import, division, print_function

import glob
import json
import os
import signal
import sys
import time

from ansible import constants as C
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


def _relay_module():
    from ansible_collections.vmcat.libvirt.plugins.plugin_utils import _qga_relay
    return _qga_relay


def relay_pids():
    """Pids of this process's relays (started by the plugin, children of nobody once detached)."""
    found = []
    for status in glob.glob('/proc/[0-9]*/cmdline'):
        try:
            with open(status, 'rb') as handle:
                if b'_qga_relay_server' in handle.read():
                    found.append(int(status.split('/')[2]))
        except OSError:
            pass
    return found


def settled(read, count, seconds=5):
    """read() once it has ``count`` items (a relay that was told to stop exits within a second), or its last value."""
    deadline = time.monotonic() + seconds
    while True:
        found = read()
        if len(found) == count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def round_trip(conn, check, workdir, prefix, size):
    """exec with stdin and env, rc and stderr, put/fetch of ``size`` random bytes compared; the put/fetch seconds."""
    rc, out, err = conn.exec_command("FOO='a b' sh -c 'echo \"$FOO\"; cat; echo oops >&2; exit 7'",
                                     in_data=b'from stdin\n')
    check(prefix + 'exec', (rc, out, err) == (7, b'a b\nfrom stdin\n', b'oops\n'), [rc, out.decode(), err.decode()])
    payload = os.urandom(size)
    src = os.path.join(workdir, prefix + 'payload.bin')
    back = os.path.join(workdir, prefix + 'payload.back')
    with open(src, 'wb') as handle:
        handle.write(payload)
    started = time.monotonic()
    conn.put_file(src, '/tmp/payload.bin')
    put_seconds = time.monotonic() - started
    rc, out, err = conn.exec_command('wc -c < /tmp/payload.bin')
    check(prefix + 'put_size', out.strip() == str(len(payload)).encode(), out.decode().strip())
    started = time.monotonic()
    conn.fetch_file('/tmp/payload.bin', back)
    fetch_seconds = time.monotonic() - started
    with open(back, 'rb') as handle:
        check(prefix + 'fetch_same', handle.read() == payload, True)
    return round(put_seconds, 2), round(fetch_seconds, 2)


def timeout_case(uri, vm, check, prefix, **extra):
    slow = connect(uri, vm, vmcat_qga_command_timeout=2, **extra)
    started = time.monotonic()
    try:
        slow.exec_command('sleep 20')
        check(prefix + 'timeout', False, 'no error')
    except AnsibleConnectionFailure as exc:
        check(prefix + 'timeout', 'did not finish within 2s' in str(exc) and time.monotonic() - started < 10, str(exc))
    finally:
        slow.close()


def reboot_case(conn, check):
    """The guest reboots under a running relay: tasks fail with the agent's message meanwhile, then work again."""
    pids = relay_pids()
    conn.exec_command('(sleep 1; reboot -f) >/dev/null 2>&1 &')
    time.sleep(2)
    deadline, errors, out = time.monotonic() + 90, set(), b''
    while time.monotonic() < deadline:
        try:
            rc, out, err = conn.exec_command('cut -d. -f1 /proc/uptime')
            if rc == 0 and out.strip().isdigit() and int(out) < 60:
                break
        except AnsibleConnectionFailure as exc:
            errors.add(str(exc).split(':')[1].strip()[:60])
        time.sleep(1)
    check('relay_after_reboot', out.strip().isdigit() and int(out) < 60 and relay_pids() == pids
          and not any('relay' in e for e in errors), [out.decode(), sorted(errors), pids, relay_pids()])


def persistent_cases(uri, vm, check, workdir):
    """What only the relay has: big stdin, reset, a killed relay, a missing VM's message."""
    conn = connect(uri, vm, vmcat_qga_persistent=True)
    try:
        big = os.urandom(50 * 1024).hex().encode()  # 100 KiB: more than fits in guest-exec, spooled through a file
        rc, out, err = conn.exec_command('cat | wc -c; cat /proc/self/status >/dev/null', in_data=big)
        check('relay_big_stdin', (rc, out.strip()) == (0, str(len(big)).encode()), [rc, out.decode(), err.decode()])
        before = relay_pids()
        conn.reset()
        rc, out, err = conn.exec_command('echo again')
        after = settled(relay_pids, 1)
        check('relay_reset', out == b'again\n' and len(before) == 1 and len(after) == 1 and before != after,
              [before, after, out.decode()])
        for pid in after:
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
        try:
            conn.exec_command('true')
            check('relay_killed', False, 'no error')
        except AnsibleConnectionFailure as exc:
            check('relay_killed', 'ended during exec' in str(exc) and vm in str(exc), str(exc))
        rc, out, err = conn.exec_command('echo new relay')
        check('relay_restarted', out == b'new relay\n' and len(settled(relay_pids, 1)) == 1, [out.decode(), relay_pids()])
        reboot_case(conn, check)
    finally:
        conn.reset()
    idle = connect(uri, vm, vmcat_qga_persistent=True, vmcat_qga_persistent_idle_timeout=2)
    idle.exec_command('true')
    idle.close()
    check('relay_idle_exit', settled(relay_pids, 0, seconds=3.5 + 1.5) == [], relay_pids())
    missing = connect(uri, vm, vmcat_qga_persistent=True, vmcat_qga_vm=vm + '-missing')
    try:
        missing.exec_command('true')
        check('relay_missing_vm', False, 'no error')
    except AnsibleConnectionFailure as exc:
        check('relay_missing_vm', "'%s-missing' not found on %s" % (vm, uri) in str(exc), str(exc))
    check('relay_none_left', settled(relay_pids, 0) == [], relay_pids())
    directory = os.path.expanduser(C.PERSISTENT_CONTROL_PATH_DIR)
    left = [p + suffix for name in (vm, vm + '-missing') for suffix in ('', '.lock')
            for p in [_relay_module().socket_path(directory, os.getpid(), uri, name)] if os.path.lexists(p + suffix)]
    check('relay_files_left', left == [], left)  # sockets and lock files go with their relay, or with a failed start


def main(argv):
    uri, vm, workdir = argv[1:4]
    init_plugin_loader([])
    seen, failed = {}, []

    def check(name, ok, value):
        seen[name] = value
        if not ok:
            failed.append(name)

    timings = {}
    for prefix, extra, size in (('', {}, 300 * 1024), ('checksum_', {'vmcat_qga_checksum': True}, 300 * 1024),
                                ('relay_', {'vmcat_qga_persistent': True}, 300 * 1024),
                                ('relay_2m_', {'vmcat_qga_persistent': True}, 2 * 1024 * 1024)):
        conn = connect(uri, vm, **extra)
        try:
            timings[prefix + 'put_fetch'] = round_trip(conn, check, workdir, prefix, size)
        finally:
            conn.reset() if extra else conn.close()
        timeout_case(uri, vm, check, prefix, **extra)
    persistent_cases(uri, vm, check, workdir)
    seen['timings'] = timings
    for pid in relay_pids():  # none should be left; never leave one behind a failed check
        os.kill(pid, signal.SIGTERM)

    print(json.dumps({'seen': seen, 'failed': failed}, indent=1))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
