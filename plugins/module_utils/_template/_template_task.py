# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The template cycle as the template module runs it: with the URL source.

The cycle (``_template``) takes the downloader as an argument, so the
snapshot module (which makes templates from its images) does not ship
``_download`` and ansible's ``urls`` (about 20 KB of a module's payload).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmcat.libvirt.plugins.module_utils._template import _template
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage._download import create_from_url


def ensure(ctx):
    """``_template.ensure`` with every source, URL included."""
    return _template.ensure(ctx, download=create_from_url)
