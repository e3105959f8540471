# -*- coding: utf-8 -*-
"""Drive vmcat.libvirt.qga, community.libvirt.libvirt_qemu and raw agent calls against one guest, interleaved.

Runs in the bench venv (build/bench-venv-ansible: ansible-core with community.libvirt) with
ANSIBLE_COLLECTIONS_PATH pointing at the dev tree, so both plugins load through the same
connection_loader and PlayContext as ansible-playbook would use.

Sides: ours, ours_persistent (vmcat_qga_persistent: true), ours_checksum (vmcat_qga_checksum: true), community,
raw.

Usage: _connection_driver.py CONFIG_JSON   (uri, vm, work, runs, commands, size_mib; sides: which of SIDES, default all)
Prints one JSON document on stdout.
"""

from __future__ import absolute_import, division, print_function

import base64
import hashlib
import json
import os
import statistics
import sys
import threading
import time

import libvirt
import libvirt_qemu

from ansible.playbook.play_context import PlayContext
from ansible.plugins.loader import connection_loader, init_plugin_loader

CHUNK = 128 * 1024
DEST = '/tmp/vmbench.bin'


def _quiet(*args):
    pass


libvirt.registerErrorHandler(_quiet, None)


def agent(dom, command, args=None, timeout=10):
    request = {'execute': command}
    if args is not None:
        request['arguments'] = args
    return json.loads(libvirt_qemu.qemuAgentCommand(dom, json.dumps(request), timeout, 0)).get('return')


# -- the floor: raw agent calls from Python ------------------------------------------------------
class Raw(object):
    """guest-file-open/write/close in 128 KiB chunks and guest-exec/status polled every 2 ms."""

    def __init__(self, uri, vm):
        self.conn = libvirt.open(uri)
        self.dom = self.conn.lookupByName(vm)

    def put_file(self, src, dest):
        handle = agent(self.dom, 'guest-file-open', {'path': dest, 'mode': 'wb'})
        try:
            with open(src, 'rb') as source:
                while True:
                    chunk = source.read(CHUNK)
                    if not chunk:
                        break
                    agent(self.dom, 'guest-file-write', {'handle': handle, 'buf-b64': base64.b64encode(chunk).decode()})
        finally:
            agent(self.dom, 'guest-file-close', {'handle': handle})

    def exec_command(self, cmd, in_data=None):
        args = {'path': '/bin/sh', 'arg': ['-c', cmd], 'capture-output': True}
        if in_data:
            args['input-data'] = base64.b64encode(in_data).decode()
        pid = agent(self.dom, 'guest-exec', args)['pid']
        while True:
            status = agent(self.dom, 'guest-exec-status', {'pid': pid})
            if status.get('exited'):
                return (status.get('exitcode'), base64.b64decode(status.get('out-data', '')),
                        base64.b64decode(status.get('err-data', '')))
            time.sleep(0.002)

    def close(self):
        self.conn.close()


def plugin(name, uri, vm, **extra):
    conn = connection_loader.get(name, PlayContext(), None)
    if conn is None:
        raise SystemExit('connection plugin %s not found' % name)
    if name == 'vmcat.libvirt.qga':
        conn.set_options(var_options=dict(extra, inventory_hostname=vm, vmcat_qga_uri=uri))
    else:
        conn.set_options(var_options={'inventory_hostname': vm, 'ansible_libvirt_uri': uri})
        conn._play_context.remote_addr = vm  # what the task executor sets from inventory_hostname
        conn._host = vm
    return conn


SIDES = {
    'ours': lambda uri, vm: plugin('vmcat.libvirt.qga', uri, vm),
    # one relay for the whole driver run (its "playbook" is this process): started by the first put of run 1
    'ours_persistent': lambda uri, vm: plugin('vmcat.libvirt.qga', uri, vm, vmcat_qga_persistent=True),
    # the checked copy: the guest's sha256sum compared after every put (on before 0.3.0)
    'ours_checksum': lambda uri, vm: plugin('vmcat.libvirt.qga', uri, vm, vmcat_qga_checksum=True),
    'community': lambda uri, vm: plugin('community.libvirt.libvirt_qemu', uri, vm),
    'raw': Raw,
}


def commands(count):
    """Short commands in the shape ansible.builtin.raw hands the connection (the shell executable wraps them)."""
    base = ['echo %d', 'uname -r', 'cat /proc/loadavg', 'id -u', 'ls /tmp', 'test -d /proc && echo %d']
    return ["/bin/sh -c '%s'" % (base[i % len(base)] % i if '%d' in base[i % len(base)] else base[i % len(base)])
            for i in range(count)]


def with_timeout(fn, seconds):
    box = {}

    def run():
        try:
            box['value'] = fn()
        except Exception as exc:  # report whatever happens
            box['error'] = '%s: %s' % (type(exc).__name__, exc)
    thread = threading.Thread(target=run)
    thread.daemon = True
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        return {'error': 'no answer within %ss' % seconds}
    return box


def guest_sha256(checker, path):
    rc, out, err = checker.exec_command('sha256sum %s' % path)
    return out.split()[0].decode() if rc == 0 and out else None


def main(argv):
    config = json.load(open(argv[1]))
    uri, vm, runs, count = config['uri'], config['vm'], config['runs'], config['commands']
    sides = dict((side, SIDES[side]) for side in config.get('sides') or SIDES)
    init_plugin_loader([])
    src = os.path.join(config['work'], 'payload-%dm.bin' % config['size_mib'])
    with open(src, 'wb') as handle:
        handle.write(os.urandom(config['size_mib'] * 1024 * 1024))
    local_sha = hashlib.sha256(open(src, 'rb').read()).hexdigest()
    checker = Raw(uri, vm)
    cmds = commands(count)
    times = {side: {'put_s': [], 'commands_s': []} for side in sides}
    problems = {side: [] for side in sides}
    verify_s = []
    for run in range(runs):
        order = list(sides) if run % 2 == 0 else list(reversed(list(sides)))
        for side in order:
            checker.exec_command('rm -f %s' % DEST)
            conn = sides[side](uri, vm)
            try:
                started = time.monotonic()
                box = with_timeout(lambda: conn.put_file(src, DEST), 600)
                put_s = time.monotonic() - started
                if 'error' in box:
                    problems[side].append('put_file: %s' % box['error'])
                else:
                    times[side]['put_s'].append(round(put_s, 3))
                started = time.monotonic()
                sha = guest_sha256(checker, DEST)
                verify_s.append(time.monotonic() - started)
                if 'error' not in box and sha != local_sha:
                    problems[side].append('put_file: sha256 in the guest %s, expected %s' % (sha, local_sha))
                started = time.monotonic()
                outputs = [conn.exec_command(cmd) for cmd in cmds]
                times[side]['commands_s'].append(round(time.monotonic() - started, 3))
                bad = [(c, o[0]) for c, o in zip(cmds, outputs) if o[0] != 0 or not o[1]]
                if bad:
                    problems[side].append('commands failed: %s' % bad[:3])
            finally:
                conn.close()
            sys.stderr.write('run %d %s: put %.2fs, %d commands %.2fs\n' % (
                run + 1, side, put_s, count, times[side]['commands_s'][-1]))
            sys.stderr.flush()
    checker.exec_command('rm -f %s' % DEST)

    # What each side does with stdin (the task's in_data, used by pipelining and some raw-like actions).
    stdin = {}
    for side in sides:
        conn = sides[side](uri, vm)
        box = with_timeout(lambda: conn.exec_command("/bin/sh -c 'head -c 5'", in_data=b'hello world'), 20)
        if 'value' in box:
            rc, out, err = box['value']
            stdin[side] = {'rc': rc, 'stdout': out.decode(errors='replace'), 'stderr': err.decode(errors='replace')[-200:],
                           'ok': out == b'hello'}
        else:
            stdin[side] = {'ok': False, 'error': box['error']}
        try:
            conn.close()
        except Exception:
            pass
    medians = {side: {k: round(statistics.median(v), 3) if v else None for k, v in t.items()}
               for side, t in times.items()}
    print(json.dumps({'size_mib': config['size_mib'], 'commands': count, 'runs': runs, 'times': times,
                      'median': medians, 'problems': problems, 'stdin': stdin,
                      'guest_sha256_verify_s_median': round(statistics.median(verify_s), 3)}, indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
