# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options several modules share: their spec beside their doc fragment, and their checks.

``running_vm_options`` is the spec of ``vmcat.libvirt.running_vm``: the
documented options and the accepted ones are written once each.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def running_vm_options(**more):
    """The options of the vmcat.libvirt.running_vm doc fragment, plus the module's own ``more``."""
    spec = dict(name=dict(type='str', required=True))
    spec.update(more)
    return spec


def require_positive_seconds(module, option):
    """Fail the task, before anything is asked, when the number of seconds in ``option`` is not above 0."""
    if module.params[option] <= 0:
        module.fail_json(msg='%s must be a positive number of seconds (got %d)' % (option, module.params[option]))
