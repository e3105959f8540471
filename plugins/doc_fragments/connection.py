# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:

    # Every module of the collection extends this fragment, so its author line is written here once.
    DOCUMENTATION = r'''
author:
  - vmcat.libvirt developers (@vmcat)
options:
  uri:
    description:
      - The libvirt connection URI of the node to manage.
      - C(qemu:///system) for the local system daemon, C(qemu+ssh://user@host/system) to manage a remote
        node with nothing but libvirt and SSH on it, C(qemu+tls://host/system) or C(qemu+tcp://host/system)
        for libvirt's own remote transports, C(test:///default) for libvirt's embedded test driver.
      - A C(test:///path/to/node.xml) URI (the test driver with a node file) keeps the changes a task makes
        in that file, so a playbook can be rehearsed without a hypervisor; see the collection's docs/test-driver.md.
      - Set it once for every module with C(module_defaults) and the C(group/vmcat.libvirt.all) action group.
    type: str
    default: qemu:///system
    aliases: [connection_uri]
  username:
    description:
      - User name given to libvirt when the connection asks for credentials (SASL, or C(qemu+tcp://)).
      - Not needed for the SSH transports (the user is the one in the URI, or the local user) or local sockets.
    type: str
  password:
    description:
      - Password given to libvirt when the connection asks for one (SASL).
      - With C(qemu+libssh://) and C(qemu+libssh2://), the passphrase of an encrypted SSH key given as
        C(keyfile=) in the URI. C(qemu+ssh://) runs the C(ssh) command, which cannot be given a passphrase;
        load such a key into C(ssh-agent) instead.
      - Never logged or returned.
    type: str
requirements:
  - libvirt-python >= 9.0 (or the distribution's C(python3-libvirt)) on the host that runs the module
  - lxml on the host that runs the module
notes:
  - Runs on the host given by the play (often C(localhost) with a remote C(uri)); libvirt-python must be installed there.
  - One libvirt connection is opened per task and closed at its end, with libvirt's keepalive set, so a node that
    stops answering is noticed in about 20 seconds.
  - When the connection to libvirtd is lost during the task (the daemon restarted), the message says so; a module
    that converges waits up to 60 seconds for the daemon, reconnects and runs the task once more, while an action
    that may already have run is not repeated. See docs/reliability.md in the collection.
'''

    CHECK_DIFF = r'''
options: {}
attributes:
  check_mode:
    description: Can run in check mode and return the changed status and the predicted resource without changing anything.
    support: full
  diff_mode:
    description: Returns the resource before and after the change in the C(diff) key when run with C(--diff).
    support: full
'''

    INFO = r'''
options: {}
attributes:
  check_mode:
    description: A read-only module; runs the same in check mode.
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: none
'''
