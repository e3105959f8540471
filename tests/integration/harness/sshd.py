# -*- coding: utf-8 -*-
"""A private OpenSSH server on 127.0.0.1 for the remote_ssh target.

Usage: sshd.py start DIRECTORY   start it; print its facts as JSON
       sshd.py stop DIRECTORY    stop it (no error when it is not running)

``start`` makes, under DIRECTORY (which it creates): a host key; two
client key pairs whose public halves are the only authorized keys (root,
from 127.0.0.1 only), the second encrypted with the passphrase in the
environment variable SSHD_KEY_PASSPHRASE; a known_hosts file that pins the
host key to the server's address; an ``ssh`` wrapper that uses that
known_hosts file with strict checking and no other (for libvirt's
``command=`` URI parameter); and the server's config.  The server listens
on 127.0.0.1 only, on a free port, accepts public keys only and logs to
DIRECTORY/sshd.log.  Nothing in the user's ~/.ssh is read or written.
"""

import json
import os
import socket
import subprocess
import sys
import time

SSHD = '/usr/sbin/sshd'


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _keygen(path, passphrase=''):
    if not os.path.exists(path):
        subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', passphrase, '-C', 'vmcat-it', '-f', path],
                       check=True)
    with open(path + '.pub') as f:
        return f.read().strip()


def _write(path, text, mode=0o600):
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, mode)


def _listening(port, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=1) as sock:
                if sock.recv(64).startswith(b'SSH-'):
                    return True
        except OSError:
            time.sleep(0.1)
    return False


def start(directory):
    if not os.path.exists(SSHD):
        sys.exit('%s is missing: install the Debian package openssh-server (make test does when root)' % SSHD)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    os.makedirs('/run/sshd', mode=0o755, exist_ok=True)  # sshd's privilege separation directory

    def path(name):
        return os.path.join(directory, name)

    host_pub = _keygen(path('host_ed25519'))
    client_pub = _keygen(path('client_ed25519'))
    # a second client key, encrypted with the passphrase in SSHD_KEY_PASSPHRASE (libvirt asks for it)
    locked_pub = _keygen(path('locked_ed25519'), os.environ['SSHD_KEY_PASSPHRASE'])
    _write(path('authorized_keys'), ''.join('from="127.0.0.1" %s\n' % pub for pub in (client_pub, locked_pub)))
    _write(path('ssh'), '#!/bin/sh\nexec ssh -o UserKnownHostsFile=%s -o GlobalKnownHostsFile=/dev/null '
                        '-o StrictHostKeyChecking=yes -o BatchMode=yes "$@"\n' % path('known_hosts'), 0o755)
    for _attempt in range(3):
        port = _free_port()
        _write(path('known_hosts'), '[127.0.0.1]:%d %s\n' % (port, ' '.join(host_pub.split()[:2])))
        _write(path('sshd_config'), '\n'.join([
            'Port %d' % port,
            'ListenAddress 127.0.0.1',
            'HostKey %s' % path('host_ed25519'),
            'PidFile %s' % path('sshd.pid'),
            'AuthorizedKeysFile %s' % path('authorized_keys'),
            'StrictModes no',
            'PubkeyAuthentication yes',
            'PasswordAuthentication no',
            'KbdInteractiveAuthentication no',
            'UsePAM no',
            'PermitRootLogin prohibit-password',
            'AllowUsers root',
            'X11Forwarding no',
            'AllowTcpForwarding no',
            'Subsystem sftp /usr/lib/openssh/sftp-server',
            'LogLevel VERBOSE',
            '',
        ]))
        subprocess.run([SSHD, '-t', '-f', path('sshd_config')], check=True)
        subprocess.run([SSHD, '-f', path('sshd_config'), '-E', path('sshd.log')], check=True)
        if _listening(port, 10):
            print(json.dumps({
                'port': port,
                'key': path('client_ed25519'),
                'locked_key': path('locked_ed25519'),
                'known_hosts': path('known_hosts'),
                'ssh': path('ssh'),
                'log': path('sshd.log'),
            }))
            return
        stop(directory)
    sys.exit('sshd did not listen on 127.0.0.1 after 3 tries; see %s' % path('sshd.log'))


def stop(directory):
    pidfile = os.path.join(directory, 'sshd.pid')
    try:
        with open(pidfile) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, 15)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    try:
        os.unlink(pidfile)
    except OSError:
        pass


if __name__ == '__main__':
    if len(sys.argv) != 3 or sys.argv[1] not in ('start', 'stop'):
        sys.exit(__doc__)
    (start if sys.argv[1] == 'start' else stop)(sys.argv[2])
