# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vm_info module: the VMs of a node, and its JMESPath ``query`` over them.

Apart from _vm_info.py (which the vm module imports too) so that only
vm_info carries the optional jmespath import.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput
from ansible_collections.vmcat.libvirt.plugins.module_utils._vm._vm_info import list_vms

try:
    import jmespath
    HAS_JMESPATH = True
    JMESPATH_IMPORT_ERROR = None
except ImportError:
    jmespath = None
    HAS_JMESPATH = False
    JMESPATH_IMPORT_ERROR = traceback.format_exc()


def vm_info(ctx):
    """The vm_info module: ``vms`` (filtered by name, state, tags) and, with ``query``, ``query_result``."""
    vms = list_vms(ctx)
    result = dict(vms=vms)
    query = ctx.params.get('query')
    if query:
        try:
            result['query_result'] = jmespath.search(query, vms)
        except jmespath.exceptions.JMESPathError as exc:
            raise InvalidInput('query %r is not a usable JMESPath expression: %s' % (query, exc))
    return result
