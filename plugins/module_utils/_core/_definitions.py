# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading the saved definition of a libvirt object, whatever the driver supports; dropping a half-made one."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    import libvirt
except ImportError:  # pragma: no cover - reported by the connection layer
    libvirt = None

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import is_flag_refused


def definition_xml(obj, inactive_flag):
    """The persistent definition of a libvirt object (pool, network, domain) as XML text.

    ``inactive_flag`` is the object kind's *_XML_INACTIVE flag.  Drivers that
    do not know the flag (libvirt's test driver for pools) give the live
    definition, which is then the only one there is.
    """
    if obj.isActive() and obj.isPersistent():
        try:
            return obj.XMLDesc(inactive_flag)
        except libvirt.libvirtError as exc:
            if not is_flag_refused(exc):
                raise
    return obj.XMLDesc(0)


def drop_quietly(obj):
    """Stop and undefine a pool or network this task just defined and could not finish (nothing half-made).

    Called while another error is on its way up: a failure here must not hide it.
    """
    try:
        if obj.isActive():
            obj.destroy()
        obj.undefine()
    except Exception:  # cleanup that must never hide the error that made us clean up
        pass
