# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files on the host that runs the module (screenshots, fetched guest files)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat
import tempfile

_SELINUX = 'security.selinux'  # the extended attribute that holds a file's SELinux context


def _keep_attributes(path, tmp):
    """Give ``tmp`` the owner, group, mode and SELinux context of ``path`` (a new file: mode 0644)."""
    try:
        old = os.stat(path)
    except FileNotFoundError:
        os.chmod(tmp, 0o644)
        return
    try:
        os.chown(tmp, old.st_uid, old.st_gid)
    except PermissionError:  # not root: the file becomes the writer's, as with AnsibleModule.atomic_move
        pass
    os.chmod(tmp, stat.S_IMODE(old.st_mode))  # after chown, which may clear setuid/setgid
    try:
        context = os.getxattr(path, _SELINUX)
    except (AttributeError, OSError):  # no xattrs on this platform or file system, or no SELinux label
        return
    try:
        os.setxattr(tmp, _SELINUX, context)
    except OSError:
        pass


def write_atomically(path, data, module=None):
    """Write ``data`` to ``path`` through a temporary file in the same directory and a rename.

    The file it replaces keeps its owner, group, mode and SELinux context, as
    with ``AnsibleModule.atomic_move``; with ``module`` (an AnsibleModule)
    that method moves the file in place.  A new file gets mode 0644 (through
    atomic_move: 0666 less the umask).  A failure leaves the old file as it
    was and no temporary file behind.
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, 'wb') as out:
            out.write(data)
        if module is not None:
            module.atomic_move(tmp, path)
        else:
            _keep_attributes(path, tmp)
            os.replace(tmp, path)
    except Exception:  # any failure: no temporary file is left behind, and the error goes on up
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
