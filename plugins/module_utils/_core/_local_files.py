# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files on the host that runs the module (screenshots, fetched guest files).

Private to vmcat.libvirt: may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile


def write_atomically(path, data, mode=None):
    """Write ``data`` to ``path`` through a temporary file in the same directory and a rename.

    ``mode``: the new file's mode; None keeps the mode of the file it replaces (0644 for a new one).
    A failure leaves the old file as it was and no temporary file behind.
    """
    directory = os.path.dirname(os.path.abspath(path))
    if mode is None:
        mode = (os.stat(path).st_mode & 0o7777) if os.path.exists(path) else 0o644
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, 'wb') as out:
            out.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except Exception:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
