# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only connection: ansible.builtin.local that does not say it is local.

The volume action plugin passes a controller path as it is only for a local
connection; with this one it takes the path for another host (ask the module
first, copy src into the Ansible temp directory, remove it), so the target
exercises that path without an SSH server.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = '''
name: vmcat_not_local
short_description: Local execution that action plugins take for a remote host (tests only)
description:
  - ansible.builtin.local with another transport name.
author:
  - vmcat.libvirt developers (@vmcat)
options: {}
'''

from ansible.plugins.connection.local import Connection as LocalConnection  # noqa: E402


class Connection(LocalConnection):
    transport = 'vmcat_not_local'
