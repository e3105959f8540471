# -*- coding: utf-8 -*-
"""_template_sysprep: where the file systems are, when it may run, and a real clean of an ext4 image.

The clean tests build small ext4 images with mke2fs -d (no mount, no root)
and run the real debugfs and qemu-img; they are skipped where those tools
are missing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import struct
import subprocess

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._template import _sysprep as sysprep
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput, Refused

MIB = 1024 * 1024
needs_tools = pytest.mark.skipif(not all(shutil.which(t) for t in ('mke2fs', 'debugfs', 'qemu-img')),
                                 reason='needs mke2fs, debugfs and qemu-img')


# -- when it may run ------------------------------------------------------------------------------
@pytest.mark.parametrize('uri', ['qemu:///system', 'qemu:///session', 'qemu+unix:///system?socket=/x'])
def test_local_uris_are_fine(uri):
    sysprep.check_possible(uri, which=lambda tool: '/usr/bin/' + tool)


@pytest.mark.parametrize('uri', ['qemu+ssh://root@kvm1/system', 'qemu+tls://kvm1/system', 'test:///default'])
def test_remote_uris_are_refused(uri):
    with pytest.raises(InvalidInput) as err:
        sysprep.check_possible(uri, which=lambda tool: '/usr/bin/' + tool)
    assert 'works only on the node itself with a local URI' in err.value.msg and uri in err.value.msg


def test_missing_tools_are_named(monkeypatch):
    monkeypatch.setattr(sysprep, '_SBIN', ())
    with pytest.raises(InvalidInput) as err:
        sysprep.check_possible('qemu:///system', which=lambda tool: None if tool == 'debugfs' else '/bin/' + tool)
    assert 'not found: debugfs' in err.value.msg and 'e2fsprogs' in err.value.msg


# -- partition tables ---------------------------------------------------------------------------------
def mbr(*entries):
    table = b''.join(struct.pack('<BBBBBBBBII', 0, 0, 0, 0, kind, 0, 0, 0, start, count) for kind, start, count in entries)
    table += bytes(16 * (4 - len(entries)))
    return bytes(446) + table + b'\x55\xaa'


def no_read(offset, length):
    raise AssertionError('nothing else should be read')


def test_whole_disk_without_table():
    assert sysprep.partition_offsets(bytes(4096), no_read) == [0]


def test_mbr_primaries_skip_extended_and_empty():
    head = mbr((0x83, 2048, 100), (0x05, 4096, 100), (0x00, 0, 0), (0x83, 8192, 10)) + bytes(512)
    assert sysprep.partition_offsets(head, no_read) == [0, 2048 * 512, 8192 * 512]


def test_gpt_partitions():
    header = bytearray(512)
    header[:8] = b'EFI PART'
    struct.pack_into('<QII', header, 72, 2, 4, 128)
    entries = bytearray(4 * 128)
    for i, first in ((0, 2048), (2, 40960)):
        entries[i * 128:i * 128 + 16] = b'\x01' * 16  # any non-zero type GUID
        struct.pack_into('<Q', entries, i * 128 + 32, first)
    head = mbr((0xEE, 1, 1000)) + bytes(header)
    reads = []

    def read_at(offset, length):
        reads.append((offset, length))
        return bytes(entries)
    assert sysprep.partition_offsets(head, read_at) == [0, 2048 * 512, 40960 * 512]
    assert reads == [(1024, 512)]


def test_gpt_with_bad_header_has_no_partitions():
    head = mbr((0xEE, 1, 1000)) + bytes(512)
    assert sysprep.partition_offsets(head, no_read) == [0]


# -- a real clean ----------------------------------------------------------------------------------------
def make_tree(root, machine_id=True):
    files = {
        'etc/ssh/ssh_host_ed25519_key': 'k\n', 'etc/ssh/ssh_host_ed25519_key.pub': 'p\n', 'etc/ssh/sshd_config': 'c\n',
        'var/lib/dbus/machine-id': 'abc\n', 'etc/hostname': 'golden\n',
    }
    if machine_id:
        files['etc/machine-id'] = '0123456789abcdef0123456789abcdef\n'
    for rel, text in files.items():
        path = os.path.join(str(root), rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)


def make_fs(tmp_path, name='fs.img', tree=True, size_mib=8):
    root = tmp_path / (name + '.tree')
    root.mkdir()
    if tree:
        make_tree(root)
    image = tmp_path / name
    with open(str(image), 'wb') as f:
        f.truncate(size_mib * MIB)
    subprocess.run(['mke2fs', '-q', '-F', '-t', 'ext4', '-d', str(root), str(image)], check=True,
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return str(image)


def partitioned(tmp_path, fs):
    disk = str(tmp_path / 'disk.raw')
    size = os.path.getsize(fs)
    with open(disk, 'wb') as out:
        out.write(mbr((0x83, 2048, size // 512)))
        out.truncate(MIB + size)
        out.seek(MIB)
        with open(fs, 'rb') as src:
            shutil.copyfileobj(src, out)
    return disk


def listing(device, directory):
    return sysprep.ExtImage(device, 0).listing(directory)


@needs_tools
def test_clean_partitioned_disk(tmp_path):
    disk = partitioned(tmp_path, make_fs(tmp_path))
    assert sysprep.ext_offsets(disk) == [MIB]
    report = sysprep.clean(disk, str(tmp_path))
    assert report == {'filesystem_offset': MIB, 'emptied': ['/etc/machine-id'], 'tool': 'debugfs',
                      'removed': ['/var/lib/dbus/machine-id', '/etc/ssh/ssh_host_ed25519_key',
                                  '/etc/ssh/ssh_host_ed25519_key.pub']}
    fs = sysprep.ExtImage(disk, MIB)
    assert sorted(fs.listing('/etc/ssh')) == ['sshd_config']
    assert 'machine-id' not in fs.listing('/var/lib/dbus')
    stat = fs.request('stat /etc/machine-id')[0]
    assert 'Size: 0' in stat and 'Mode:  0444' in stat
    assert fs.request('cat /etc/hostname')[0] == 'golden\n'
    part = str(tmp_path / 'part.raw')
    with open(disk, 'rb') as src, open(part, 'wb') as out:
        src.seek(MIB)
        shutil.copyfileobj(src, out)
    check = subprocess.run(['e2fsck', '-fn', part], stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    assert check.returncode == 0, check.stdout


@needs_tools
def test_clean_is_idempotent_on_a_clean_image(tmp_path):
    fs = make_fs(tmp_path)
    sysprep.clean(fs, str(tmp_path))
    again = sysprep.clean(fs, str(tmp_path))
    assert again['removed'] == [] and again['emptied'] == ['/etc/machine-id']


@needs_tools
def test_image_without_etc_is_refused(tmp_path):
    fs = make_fs(tmp_path, tree=False)
    with pytest.raises(Refused) as err:
        sysprep.clean(fs, str(tmp_path))
    assert 'found no ext2/ext3/ext4 file system with /etc' in err.value.msg


def test_image_that_is_not_ext_is_refused(tmp_path):
    image = tmp_path / 'fat.img'
    image.write_bytes(bytes(2 * MIB))
    with pytest.raises(Refused) as err:
        sysprep.clean(str(image), str(tmp_path))
    assert 'XFS, Btrfs, LVM' in err.value.msg


@needs_tools
def test_two_root_candidates_are_refused(tmp_path):
    first = make_fs(tmp_path, 'a.img', size_mib=4)
    second = make_fs(tmp_path, 'b.img', size_mib=4)
    disk = str(tmp_path / 'two.raw')
    with open(disk, 'wb') as out:
        out.write(mbr((0x83, 2048, 8192), (0x83, 2048 + 8192, 8192)))
        for i, fs in enumerate((first, second)):
            out.seek(MIB + i * 4 * MIB)
            with open(fs, 'rb') as src:
                shutil.copyfileobj(src, out)
    with pytest.raises(Refused) as err:
        sysprep.clean(disk, str(tmp_path))
    assert 'found 2 file systems with /etc' in err.value.msg


@needs_tools
def test_journal_needing_recovery_is_refused(tmp_path, monkeypatch):
    fs = make_fs(tmp_path)
    monkeypatch.setattr(sysprep.ExtImage, 'needs_recovery', lambda self: True)
    with pytest.raises(Refused) as err:
        sysprep.clean(fs, str(tmp_path))
    assert 'not shut down cleanly' in err.value.msg


@needs_tools
def test_cleaned_copy_never_touches_the_source(tmp_path):
    disk = partitioned(tmp_path, make_fs(tmp_path))
    source = str(tmp_path / 'source.qcow2')
    subprocess.run(['qemu-img', 'convert', '-q', '-f', 'raw', '-O', 'qcow2', disk, source], check=True)
    before = open(source, 'rb').read()
    seen = {}

    def use(raw):
        seen['raw'] = raw
        seen['ssh'] = sorted(sysprep.ExtImage(raw, MIB).listing('/etc/ssh'))
        return 'made'
    made, report = sysprep.cleaned_copy(source, 'qcow2', use)
    assert made == 'made' and seen['ssh'] == ['sshd_config'] and report['filesystem_offset'] == MIB
    assert not os.path.exists(os.path.dirname(seen['raw']))  # the private copy is gone
    assert open(source, 'rb').read() == before


@needs_tools
def test_cleaned_copy_of_unreadable_source(tmp_path):
    with pytest.raises(Exception) as err:
        sysprep.cleaned_copy(str(tmp_path / 'missing.qcow2'), 'qcow2', lambda raw: None)
    assert 'qemu-img could not read' in str(err.value)


def test_tools_are_found_in_sbin_too(monkeypatch, tmp_path):
    fake = tmp_path / 'debugfs'
    fake.write_text('#!/bin/sh\n')
    fake.chmod(0o755)
    monkeypatch.setattr(sysprep, '_SBIN', (str(tmp_path),))
    assert sysprep.tool('debugfs', which=lambda name: None) == str(fake)
    assert sysprep.tool('nope', which=lambda name: None) is None
    sysprep.check_possible('qemu:///system', which=lambda name: '/usr/bin/qemu-img' if name == 'qemu-img' else None)
