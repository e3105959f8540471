# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Template "sysprep": a copy of a Linux disk image without its machine identity.

What it does, on a private copy (the source is never written):

1. ``qemu-img convert`` the source image to a sparse raw file in a private
   temporary directory;
2. find the ext2/ext3/ext4 file system that holds ``/etc`` (on the whole
   disk, or on an MBR primary or GPT partition);
3. with ``debugfs -w`` (e2fsprogs): empty ``/etc/machine-id`` (systemd makes
   a new one at first boot), remove a ``/var/lib/dbus/machine-id`` file, and
   remove ``/etc/ssh/ssh_host_*`` (sshd's packages make new host keys at
   first boot); then check that it worked;
4. the template image is then made from that raw file.

It needs local access to the image files: it works only when the module
runs on the node itself with a local URI (``qemu:///system``); libvirt has
no API to edit a file system.  Other file systems (XFS, Btrfs, LVM inside
the image) are refused with a clear message: virt-sysprep (libguestfs) would
handle them but needs a kernel appliance this collection does not depend on.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import shutil
import struct
import subprocess
import tempfile

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput, Refused, VmcatError

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover - Python 2
    from urlparse import urlsplit

TOOLS = ('qemu-img', 'debugfs')
_SBIN = ('/usr/sbin', '/sbin')  # debugfs lives there, and a non-root PATH often lacks them
_SECTOR = 512
_EXT_MAGIC = 0xEF53
_EXTENDED = (0x05, 0x0F, 0x85)
_GPT_PROTECTIVE = 0xEE
_REGULAR = 0o100000
_TYPE_MASK = 0o170000


# -- can it run here? -------------------------------------------------------------------
def check_possible(uri, which=shutil.which):
    """Refuse (before any change) when sysprep cannot run: a remote URI or missing tools."""
    parts = urlsplit(uri or '')
    if parts.netloc or parts.scheme.startswith('test'):
        raise InvalidInput("sysprep edits the copied image with qemu-img and debugfs on the host running the module, so "
                           "it works only on the node itself with a local URI such as qemu:///system (got %s); "
                           "run the task on the node, or register the template without sysprep" % uri)
    missing = [t for t in TOOLS if not tool(t, which)]
    if missing:
        raise InvalidInput('sysprep needs %s on the node (Debian packages qemu-utils and e2fsprogs); not found: %s'
                           % (' and '.join(TOOLS), ', '.join(missing)))


def tool(name, which=shutil.which):
    """Full path of a tool, looked up in PATH and in the sbin directories; None when missing."""
    found = which(name)
    if found:
        return found
    for directory in _SBIN:
        path = os.path.join(directory, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def _run(argv):
    argv = [tool(argv[0]) or argv[0]] + list(argv[1:])
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    return proc.returncode, proc.stdout.decode('utf-8', 'replace'), proc.stderr.decode('utf-8', 'replace')


# -- where the file systems are ---------------------------------------------------------------
def partition_offsets(head, read_at):
    """Byte offsets of the candidate file systems of a disk: 0, MBR primaries, GPT partitions.

    ``head`` is the first 1 MiB of the disk; ``read_at(offset, length)`` reads more.
    """
    offsets = [0]
    if len(head) < _SECTOR * 2 or head[510:512] != b'\x55\xaa':
        return offsets
    entries = [struct.unpack_from('<BBBBBBBBII', head, 446 + 16 * i) for i in range(4)]
    if any(e[4] == _GPT_PROTECTIVE for e in entries):
        return offsets + _gpt_offsets(head, read_at)
    for entry in entries:
        kind, start, count = entry[4], entry[8], entry[9]
        if kind and kind not in _EXTENDED and start and count:
            offsets.append(start * _SECTOR)
    return offsets


def _gpt_offsets(head, read_at):
    header = head[_SECTOR:_SECTOR * 2]
    if header[:8] != b'EFI PART':
        return []
    entries_lba, count, size = struct.unpack_from('<QII', header, 72)
    if not 0 < size <= 4096 or not 0 < count <= 1024:
        return []
    table = read_at(entries_lba * _SECTOR, count * size)
    offsets = []
    for i in range(count):
        entry = table[i * size:(i + 1) * size]
        if len(entry) < 48 or entry[:16] == bytes(16):
            continue
        first = struct.unpack_from('<Q', entry, 32)[0]
        if first:
            offsets.append(first * _SECTOR)
    return offsets


def ext_offsets(path):
    """Offsets (in bytes) of the ext2/3/4 file systems in a raw disk image."""
    with open(path, 'rb') as f:
        head = f.read(1024 * 1024)

        def read_at(offset, length):
            f.seek(offset)
            return f.read(length)

        found = []
        for offset in partition_offsets(head, read_at):
            magic = read_at(offset + 1024 + 56, 2)
            if len(magic) == 2 and struct.unpack('<H', magic)[0] == _EXT_MAGIC:
                found.append(offset)
        return found


# -- debugfs --------------------------------------------------------------------------------
class ExtImage:
    """One ext file system inside a raw image, edited with debugfs."""

    def __init__(self, raw, offset):
        self.raw = raw
        self.offset = offset
        self.device = '%s?offset=%d' % (raw, offset) if offset else raw

    def request(self, command, write=False):
        argv = ['debugfs'] + (['-w'] if write else []) + ['-R', command, self.device]
        rc, out, err = _run(argv)
        if rc != 0:
            raise VmcatError('sysprep: debugfs %r failed on the copy: %s' % (command, err.strip()))
        return out, err

    def listing(self, directory):
        """{name: mode} of a directory, or None when it does not exist."""
        out, err = self.request('ls -p %s' % directory)
        if 'not found' in err.lower() or 'not a directory' in err.lower():
            return None
        entries = {}
        for line in out.splitlines():
            fields = line.strip().split('/')
            if len(fields) >= 7 and fields[5] not in ('.', '..', ''):
                entries[fields[5]] = int(fields[2], 8)
        return entries

    def needs_recovery(self):
        out = self.request('features')[0]
        return 'needs_recovery' in out.split()

    def run_script(self, lines, workdir):
        script = os.path.join(workdir, 'debugfs.cmds')
        with open(script, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        rc, out, err = _run(['debugfs', '-w', '-f', script, self.device])
        if rc != 0:
            raise VmcatError('sysprep: debugfs failed on the copy: %s' % err.strip())
        return out, err


def _regular(mode):
    return mode is not None and mode & _TYPE_MASK == _REGULAR


def clean(raw, workdir):
    """Remove the machine identity from the raw image ``raw``; returns a report dict."""
    roots = [ExtImage(raw, off) for off in ext_offsets(raw)]
    roots = [fs for fs in roots if fs.listing('/etc') is not None]
    if not roots:
        raise Refused('sysprep: found no ext2/ext3/ext4 file system with /etc in the image (on the whole disk, an MBR '
                      'primary or a GPT partition); other file systems (XFS, Btrfs, LVM) cannot be cleaned here. '
                      'Register the template without sysprep, or clean the image with virt-sysprep first')
    if len(roots) > 1:
        raise Refused('sysprep: found %d file systems with /etc in the image; cannot tell which one is the root '
                      'file system. Register the template without sysprep' % len(roots))
    fs = roots[0]
    if fs.needs_recovery():
        raise Refused('sysprep: the file system in the image was not shut down cleanly (its journal needs recovery); '
                      'boot the VM and shut it down cleanly first, or register without sysprep')
    etc = fs.listing('/etc')
    ssh = fs.listing('/etc/ssh') or {}
    dbus = fs.listing('/var/lib/dbus') or {}
    empty = os.path.join(workdir, 'empty')
    open(empty, 'w').close()
    lines, removed, emptied = [], [], []
    if _regular(etc.get('machine-id')):
        lines += ['rm /etc/machine-id', 'write %s /etc/machine-id' % empty,
                  'sif /etc/machine-id mode 0100444', 'sif /etc/machine-id uid 0', 'sif /etc/machine-id gid 0']
        emptied.append('/etc/machine-id')
    if _regular(dbus.get('machine-id')):
        lines.append('rm /var/lib/dbus/machine-id')
        removed.append('/var/lib/dbus/machine-id')
    for name in sorted(ssh):
        if name.startswith('ssh_host_') and _regular(ssh[name]):
            lines.append('rm /etc/ssh/%s' % name)
            removed.append('/etc/ssh/%s' % name)
    if lines:
        fs.run_script(lines, workdir)
    _verify(fs)
    return {'filesystem_offset': fs.offset, 'emptied': emptied, 'removed': removed, 'tool': 'debugfs'}


def _verify(fs):
    ssh = fs.listing('/etc/ssh') or {}
    left = [n for n in ssh if n.startswith('ssh_host_') and _regular(ssh[n])]
    machine_id = fs.listing('/etc').get('machine-id')
    size = None
    if _regular(machine_id):
        found = re.search(r'\bSize:\s*(\d+)', fs.request('stat /etc/machine-id')[0])
        size = int(found.group(1)) if found else None
    if left or size not in (None, 0) or _regular((fs.listing('/var/lib/dbus') or {}).get('machine-id')):
        raise VmcatError('sysprep: debugfs did not clean the copy (left: %s, machine-id size %s)' % (left, size))


# -- the whole step ----------------------------------------------------------------------------
def cleaned_copy(source_path, source_format, use):
    """Convert ``source_path`` to a private raw file, clean it, and call ``use(raw_path)``.

    Returns (use's result, report).  The temporary directory is removed
    whatever happens.
    """
    base = '/var/tmp' if os.path.isdir('/var/tmp') else None
    workdir = tempfile.mkdtemp(prefix='vmcat-sysprep-', dir=base)
    try:
        raw = os.path.join(workdir, 'image.raw')
        rc, out, err = _run(['qemu-img', 'convert', '-q', '-f', source_format or 'raw', '-O', 'raw',
                             source_path, raw])
        if rc != 0:
            raise VmcatError("sysprep: qemu-img could not read %s as %s: %s"
                             % (source_path, source_format or 'raw', err.strip()))
        report = clean(raw, workdir)
        return use(raw), report
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
