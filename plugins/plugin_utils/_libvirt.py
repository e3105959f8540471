# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side adapter of the libvirt core for inventory, connection and callback plugins.

Modules fail with ``fail_json``; plugins raise ``AnsibleError``.  Both use
the same ``Connection`` and error translation from module_utils; this file
only changes how errors are raised.

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
def plugin_connection(uri, username=None, password=None, readonly=True):
    """A Connection whose collection errors surface as AnsibleError."""
    try:
        with Connection(uri, username=username, password=password, readonly=readonly) as conn:
            yield conn
    except VmcatError as exc:
        raise AnsibleError(exc.msg)
