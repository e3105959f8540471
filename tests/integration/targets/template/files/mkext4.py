# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make a small "Linux" disk for the sysprep tests: an MBR with one ext4 partition holding a machine identity.

Usage: mkext4.py OUT.qcow2

The partition starts at 1 MiB and holds /etc/machine-id (32 hex digits),
/var/lib/dbus/machine-id, /etc/ssh/ssh_host_{ed25519,rsa}_key(.pub),
/etc/ssh/sshd_config and /etc/hostname.  Built with mke2fs -d (no mount)
and qemu-img; the MBR is written here.
"""

from __future__ import absolute_import, division, print_function

import os
import shutil
import struct
import subprocess
import sys
import tempfile

MIB = 1024 * 1024
FS_MIB = 16


def tree(root):
    files = {
        'etc/machine-id': '0123456789abcdef0123456789abcdef\n',
        'var/lib/dbus/machine-id': '0123456789abcdef0123456789abcdef\n',
        'etc/ssh/ssh_host_ed25519_key': 'private ed25519\n',
        'etc/ssh/ssh_host_ed25519_key.pub': 'public ed25519\n',
        'etc/ssh/ssh_host_rsa_key': 'private rsa\n',
        'etc/ssh/ssh_host_rsa_key.pub': 'public rsa\n',
        'etc/ssh/sshd_config': 'PermitRootLogin no\n',
        'etc/hostname': 'golden\n',
        'etc/os-release': 'ID=debian\nVERSION_ID=12\n',
    }
    for rel, text in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)


def mbr(start_sector, sectors):
    entry = struct.pack('<BBBBBBBBII', 0, 0, 0, 0, 0x83, 0, 0, 0, start_sector, sectors)
    return bytes(446) + entry + bytes(48) + b'\x55\xaa'


def main(out):
    work = tempfile.mkdtemp(prefix='vmcat-mkext4-')
    try:
        root = os.path.join(work, 'root')
        tree(root)
        fs = os.path.join(work, 'fs.img')
        with open(fs, 'wb') as f:
            f.truncate(FS_MIB * MIB)
        subprocess.run(['mke2fs', '-q', '-F', '-t', 'ext4', '-d', root, fs], check=True)
        disk = os.path.join(work, 'disk.raw')
        with open(disk, 'wb') as f:
            f.write(mbr(2048, FS_MIB * MIB // 512))
            f.truncate(MIB + FS_MIB * MIB)
            f.seek(MIB)
            with open(fs, 'rb') as src:
                shutil.copyfileobj(src, f)
        subprocess.run(['qemu-img', 'convert', '-q', '-f', 'raw', '-O', 'qcow2', disk, out], check=True)
        os.chmod(out, 0o644)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main(sys.argv[1])
