# -*- coding: utf-8 -*-
"""A second libvirtd on this machine, to migrate VMs to: a separate "node" for tests.

    dest_daemon.py start DIR        start it; print JSON {"uri": ..., "pid": ..., "host_uuid": ...}
    dest_daemon.py private DIR PATH from now on it (and its VMs) see an empty directory of their own at PATH
                                    (storage no longer shared); its running pools are refreshed
    dest_daemon.py stop DIR         destroy and undefine every VM and pool it has, then stop it

The daemon runs as root in a private mount namespace (unshare -m) in which
tmpfs-like directories under DIR are bind-mounted over /etc/libvirt,
/run/libvirt, /var/lib/libvirt, /var/cache/libvirt and /var/log/libvirt, so
its configuration, state, sockets of its VMs and logs are its own.  Its
client socket is DIR/sock/libvirt-sock (outside the namespace, reachable as
qemu+unix:///system?socket=DIR/sock/libvirt-sock by this host's libvirtd
too, for peer-to-peer migration).  It has its own host UUID: libvirt refuses
to migrate to a host with the same UUID.  QEMU's stdout goes to files (no
virtlogd needed) and it uses no cgroups.  The rest of the file system is
shared, as with shared storage between two real nodes.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid

import libvirt

MOUNTS = (('etc', '/etc/libvirt'), ('run', '/run/libvirt'), ('lib', '/var/lib/libvirt'),
          ('cache', '/var/cache/libvirt'), ('log', '/var/log/libvirt'))


def uri_of(directory):
    return 'qemu+unix:///system?socket=%s/sock/libvirt-sock' % directory


def start(directory):
    directory = os.path.abspath(directory)
    if os.path.exists(os.path.join(directory, 'libvirtd.pid')):
        sys.exit('a daemon seems to run from %s already' % directory)
    for sub in [m[0] for m in MOUNTS] + ['sock']:
        os.makedirs(os.path.join(directory, sub), exist_ok=True)
    host_uuid = str(uuid.uuid4())
    with open(os.path.join(directory, 'etc', 'libvirtd.conf'), 'w') as f:
        f.write('unix_sock_dir = "%s/sock"\nunix_sock_rw_perms = "0700"\nauth_unix_rw = "none"\n'
                'auth_unix_ro = "none"\nhost_uuid = "%s"\n' % (directory, host_uuid))
    with open(os.path.join(directory, 'etc', 'qemu.conf'), 'w') as f:
        f.write('stdio_handler = "file"\ncgroup_controllers = [ ]\n'
                'migration_port_min = 49400\nmigration_port_max = 49499\n')
    binds = '; '.join('mount --bind %s/%s %s' % (directory, sub, target) for sub, target in MOUNTS)
    script = 'set -e; %s; exec libvirtd -d -f /etc/libvirt/libvirtd.conf -p %s/libvirtd.pid' % (binds, directory)
    subprocess.run(['unshare', '-m', '--propagation', 'private', 'sh', '-c', script], check=True)
    uri = uri_of(directory)
    deadline = time.monotonic() + 30
    while True:
        try:
            conn = libvirt.open(uri)
            conn.close()
            break
        except libvirt.libvirtError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    with open(os.path.join(directory, 'libvirtd.pid')) as f:
        pid = int(f.read().strip())
    print(json.dumps({'uri': uri, 'pid': pid, 'host_uuid': host_uuid}))


def private(directory, path):
    """Bind a fresh directory over ``path`` inside the daemon's mount namespace."""
    directory = os.path.abspath(directory)
    with open(os.path.join(directory, 'libvirtd.pid')) as f:
        pid = int(f.read().strip())
    own = os.path.join(directory, 'private', path.strip('/').replace('/', '_'))
    os.makedirs(own, exist_ok=True)
    os.chmod(own, 0o755)
    subprocess.run(['nsenter', '-t', str(pid), '-m', 'mount', '--bind', own, path], check=True)
    conn = libvirt.open(uri_of(directory))
    try:
        for pool in conn.listAllStoragePools(0):
            if pool.isActive():
                pool.refresh(0)
    finally:
        conn.close()
    print(json.dumps({'private': own, 'path': path}))


def _clean(uri):
    try:
        conn = libvirt.open(uri)
    except libvirt.libvirtError:
        return []
    removed = []
    try:
        for kind, list_all in (('domain', conn.listAllDomains), ('pool', conn.listAllStoragePools),
                               ('network', conn.listAllNetworks)):
            for thing in list_all(0):
                if thing.isActive():
                    thing.destroy()
                if thing.isPersistent():
                    thing.undefine()
                removed.append('%s %s' % (kind, thing.name()))
    finally:
        conn.close()
    return removed


def stop(directory):
    directory = os.path.abspath(directory)
    pid_file = os.path.join(directory, 'libvirtd.pid')
    removed = _clean(uri_of(directory))
    if os.path.exists(pid_file):
        with open(pid_file) as f:
            pid = int(f.read().strip())
        try:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                os.kill(pid, 0)
                time.sleep(0.2)
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    shutil.rmtree(directory, ignore_errors=True)
    print(json.dumps({'removed': removed, 'stopped': True}))


def main(argv):
    libvirt.registerErrorHandler(lambda *args: None, None)
    action, directory = argv[1:3]
    if action == 'start':
        start(directory)
    elif action == 'private':
        private(directory, argv[3])
    elif action == 'stop':
        stop(directory)
    else:
        sys.exit('usage: dest_daemon.py start|stop DIR, or private DIR PATH')


if __name__ == '__main__':
    main(sys.argv)
