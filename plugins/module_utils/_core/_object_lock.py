# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One lock per libvirt object on the machine that runs the task (docs/reliability.md, point 3).

Tasks on one machine take turns on an object's read-compare-write; tasks on
other machines are covered by the re-read before each write
(``_stale_check``).  An ``flock`` on a file named after a hash of (URI,
kind, name), in a private directory; the files stay (removing them would
race with a waiting task) and hold nothing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import errno
import fcntl
import hashlib
import os
import stat
import tempfile

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import Conflict, VmcatError, WaitTimeout
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._wait import wait_for

# A task that holds the lock may wait for a guest to boot or a volume to copy: wait long, but not forever.
LOCK_TIMEOUT = 900
_POLL = 0.05


def lock_dir():
    """The user's private directory of lock files (made 0700; refused when someone else owns it)."""
    base = os.environ.get('XDG_RUNTIME_DIR') or tempfile.gettempdir()
    path = os.path.join(base, 'vmcat-libvirt-locks-%d' % os.getuid())
    try:
        os.mkdir(path, 0o700)
    except OSError as exc:
        if exc.errno != errno.EEXIST:
            raise VmcatError("could not make the lock directory %s: %s; check that %s is writable"
                             % (path, exc.strerror, base))
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise VmcatError("the lock directory %s is not a private directory of this user; remove it (or set "
                         "XDG_RUNTIME_DIR to a private directory) and run the task again" % path)
    return path


def lock_path(uri, kind, name):
    key = hashlib.sha256(u'\0'.join((uri, kind, name)).encode('utf-8')).hexdigest()[:40]
    return os.path.join(lock_dir(), key + '.lock')


@contextlib.contextmanager
def object_lock(uri, kind, name, timeout=LOCK_TIMEOUT):
    """Hold the lock of ``kind`` ``name`` on ``uri`` for the block; waits up to ``timeout`` seconds for it."""
    fd = os.open(lock_path(uri, kind, name), os.O_RDWR | os.O_CREAT, 0o600)

    def taken():
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except (IOError, OSError) as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
        return False
    try:
        try:
            wait_for(taken, timeout, "%s '%s' on %s to be free" % (kind, name, uri), delay=_POLL)
        except WaitTimeout:
            raise Conflict("%s '%s' on %s: another task on this machine has been working on it for %d s; "
                           "wait for it to finish (or stop it), then run this task again" % (kind, name, uri, timeout))
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
