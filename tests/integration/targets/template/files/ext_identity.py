# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print the machine identity inside a disk image made by mkext4.py, as JSON.

Usage: ext_identity.py IMAGE

Reads the image through a raw copy (qemu-img convert -U, so an image a VM has
open can be read too) with debugfs at the partition's offset (1 MiB):
{"machine_id": <content of /etc/machine-id>, "dbus_machine_id": <bool>,
 "ssh": [<names in /etc/ssh>], "hostname": <content of /etc/hostname>}.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import shutil
import subprocess
import sys
import tempfile

OFFSET = 1024 * 1024


def debugfs(device, command):
    return subprocess.run(['debugfs', '-R', command, device], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          check=True).stdout.decode()


def names(device, directory):
    found = []
    for line in debugfs(device, 'ls -p %s' % directory).splitlines():
        fields = line.strip().split('/')
        if len(fields) >= 7 and fields[5] not in ('.', '..', ''):
            found.append(fields[5])
    return sorted(found)


def main(image):
    work = tempfile.mkdtemp(prefix='vmcat-ext-identity-')
    try:
        raw = os.path.join(work, 'image.raw')
        subprocess.run(['qemu-img', 'convert', '-U', '-q', '-O', 'raw', image, raw], check=True)
        device = '%s?offset=%d' % (raw, OFFSET)
        print(json.dumps({
            'machine_id': debugfs(device, 'cat /etc/machine-id'),
            'dbus_machine_id': 'machine-id' in names(device, '/var/lib/dbus'),
            'ssh': names(device, '/etc/ssh'),
            'hostname': debugfs(device, 'cat /etc/hostname'),
        }))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main(sys.argv[1])
