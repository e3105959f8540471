# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:

    # The VM that modules reaching inside a running guest (guest agent, virtio-serial channel) act on.
    DOCUMENTATION = r'''
options:
  name:
    description: Name of the running VM.
    type: str
    required: true
'''
