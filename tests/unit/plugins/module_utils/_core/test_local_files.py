# -*- coding: utf-8 -*-
"""write_atomically: the file it replaces keeps its owner, group and mode; a failure leaves it as it was."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _local_files
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._local_files import write_atomically


def test_a_replaced_file_keeps_its_owner_group_and_mode(tmp_path):
    path = tmp_path / 'shot.png'
    path.write_bytes(b'old')
    os.chmod(str(path), 0o604)
    if os.geteuid() == 0:  # root can hand the file to someone else first
        os.chown(str(path), 4321, 4322)
    before = os.stat(str(path))
    write_atomically(str(path), b'new')
    after = os.stat(str(path))
    assert path.read_bytes() == b'new' and after.st_ino != before.st_ino  # a new file, renamed in place
    assert (after.st_uid, after.st_gid, after.st_mode & 0o7777) == (before.st_uid, before.st_gid, 0o604)
    assert os.listdir(str(tmp_path)) == ['shot.png']


def test_a_new_file_gets_0644(tmp_path):
    path = tmp_path / 'new.png'
    write_atomically(str(path), b'data')
    assert path.read_bytes() == b'data' and os.stat(str(path)).st_mode & 0o7777 == 0o644


def test_with_a_module_its_atomic_move_puts_the_file_in_place(tmp_path):
    moves = []

    class Module:
        def atomic_move(self, src, dest):
            moves.append((os.path.dirname(src), open(src, 'rb').read(), dest))
            os.rename(src, dest)

    path = tmp_path / 'f'
    write_atomically(str(path), b'data', Module())
    assert moves == [(str(tmp_path), b'data', str(path))] and path.read_bytes() == b'data'


def test_a_failure_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / 'f'
    path.write_bytes(b'old')

    def refuse(src, dst):
        raise OSError(13, 'Permission denied')
    monkeypatch.setattr(_local_files.os, 'replace', refuse)
    with pytest.raises(OSError):
        write_atomically(str(path), b'new')
    assert path.read_bytes() == b'old' and os.listdir(str(tmp_path)) == ['f']
