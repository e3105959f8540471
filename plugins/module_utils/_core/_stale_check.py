# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Optimistic writes: check, right before writing a definition, that it is still the one the task read.

A task computes the definition it writes from the one it read.  If another
task or tool changed the object in between, writing would undo that change.
``still_as_read`` reads the definition again just before the write and
raises ``StaleRead`` when it differs; the module wrapper then runs the whole
read-compute-write cycle again (a bounded number of times).  libvirt has no
compare-and-swap, so this narrows the window rather than closing it; the
object lock (``_object_lock``) closes it for tasks on the same machine.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import StaleRead


def still_as_read(ctx, what, read, seen, same=_xml.equal):
    """Raise StaleRead when ``read()`` (a fresh read) is not ``same`` as ``seen``; nothing in check mode.

    ``read`` returns an XML element (compared as XML) or, with ``same``
    given, any value (a template's metadata document, say).
    """
    if ctx.check_mode:
        return
    with ctx.conn.translated('read again', what, 'nothing was written; run the task again'):
        now = read()
    if not same(now, seen):
        raise StaleRead('%s on %s changed while this task worked on it (another task or tool wrote it); '
                        'nothing was overwritten' % (what, ctx.conn.uri))
