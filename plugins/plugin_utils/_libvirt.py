# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side adapter of the libvirt core for inventory, connection and callback plugins.

Modules fail with ``fail_json``; plugins raise ``AnsibleError``.  Both use
the same ``Connection`` and error translation from module_utils; this file
is the one place where the core's errors (``VmcatError``, with libvirt's
errors already translated into it) become the ``AnsibleError`` a plugin
raises.

Private to vmcat.libvirt: may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib

from ansible.errors import AnsibleError

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._connection import (
    HAS_LIBVIRT,
    LIBVIRT_PACKAGES,
    Connection,
)
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import VmcatError


def require_libvirt(plugin_name):
    if not HAS_LIBVIRT:
        raise AnsibleError('%s needs %s on the controller' % (plugin_name, LIBVIRT_PACKAGES))


@contextlib.contextmanager
def ansible_errors(error=AnsibleError, prefix='', cleanup=None):
    """Inside the block, a collection error surfaces as ``error(prefix + its message)``.

    ``error`` is the AnsibleError subclass the caller raises (a connection
    plugin raises AnsibleConnectionFailure for a guest it cannot reach);
    ``cleanup`` runs first, for a half-opened connection.
    """
    try:
        yield
    except VmcatError as exc:
        if cleanup is not None:
            cleanup()
        raise error(prefix + exc.msg)


@contextlib.contextmanager
def plugin_connection(uri, username=None, password=None, readonly=True):
    """A Connection whose collection errors surface as AnsibleError."""
    with ansible_errors():
        with Connection(uri, username=username, password=password, readonly=readonly) as conn:
            yield conn
