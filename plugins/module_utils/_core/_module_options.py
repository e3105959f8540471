# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options several modules share: their argument spec, next to the doc fragment that documents them, and their checks.

A module that extends a doc fragment from here builds its spec with the
matching function, so the documented options and the accepted ones are
written once each:

* ``running_vm_options`` <-> ``vmcat.libvirt.running_vm`` (the VM that the
  guest-agent and channel modules reach into).
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
