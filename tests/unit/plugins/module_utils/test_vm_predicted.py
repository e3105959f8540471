# -*- coding: utf-8 -*-
"""The view a check-mode vm task predicts for a running VM."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils import _vm, _xml

WANTED = '''<domain type='qemu'><name>g</name><memory unit='KiB'>1048576</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type></os>
<devices><graphics type='vnc' autoport='yes'><listen type='address' address='127.0.0.1'/></graphics></devices>
</domain>'''


def _before(port):
    return {'graphics': [{'type': 'vnc', 'listen': '127.0.0.1', 'socket': None, 'autoport': True, 'port': port,
                          'password': None}], 'disks': [], 'nics': [], 'autostart': False}


@pytest.mark.parametrize('state, port', [(1, 5901), (3, 5901), (5, None)])  # running, paused, shut off
def test_autoport_keeps_the_live_port_while_the_vm_runs(state, port):
    view = _vm._predicted(_before(5901), _xml.parse(WANTED), state, False, [])
    assert view['graphics'][0]['port'] == port
