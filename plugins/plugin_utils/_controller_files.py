# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side files for action plugins: find a task's ``src`` on the controller.

``runs_on_controller`` tells whether a task's module runs on the controller
itself (connection local), so a controller path can be passed as it is.
``find_src`` is the one place that turns a task's ``src`` into a regular
file on the controller, searched like ansible.builtin.copy's (a role's
``files/``, the play's ``files/``, then the play's directory), with a
message that names the path when it is missing or not a file.

Private to vmcat.libvirt: may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.text.converters import to_text


def find_src(action, src, option='src', purpose='a regular file'):
    """The absolute controller path of ``src`` for ``action`` (an ActionBase); AnsibleActionFail otherwise."""
    try:
        found = action._find_needle('files', src)
    except AnsibleError as exc:
        raise AnsibleActionFail('%s %s not found on the controller: %s' % (option, src, to_text(exc)))
    if os.path.isdir(found):
        raise AnsibleActionFail('%s %s is a directory on the controller; give %s' % (option, found, purpose))
    if not os.path.isfile(found):
        raise AnsibleActionFail('%s %s is not a regular file on the controller; give %s' % (option, found, purpose))
    return os.path.abspath(found)


def runs_on_controller(connection):
    """True when modules of this connection run on the controller: ansible.builtin.local, or a network
    connection (whose modules run locally)."""
    return getattr(connection, 'transport', None) == 'local' or bool(getattr(connection, '_remote_is_local', False))
