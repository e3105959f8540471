# -*- coding: utf-8 -*-
"""The view a check-mode vm task predicts: for a running VM, and for a definition libvirt completes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _options as options
from ansible_collections.vmcat.libvirt.plugins.module_utils._vm import _vm
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.tests.unit.fakes.node import FixtureConn, FixtureVirt

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


# -- a define predicted in check mode: what libvirt fills in ---------------------------------------------------
GIVEN = ("<domain type='kvm'><name>raw1</name><memory unit='MiB'>64</memory><os><type>hvm</type></os>"
         "<devices/></domain>")


def test_a_definition_without_defaults_is_predicted_as_libvirt_stores_it():
    conn = FixtureConn(FixtureVirt())
    stored = _vm.NodeFacts(conn).as_stored(_xml.parse(GIVEN))
    view = options.view(stored)
    assert (view['arch'], view['machine'], view['boot']) == ('x86_64', 'pc-i440fx-7.2', ['hd'])
    assert (view['on_poweroff'], view['on_reboot'], view['on_crash']) == ('destroy', 'restart', 'destroy')
    assert conn.virt.asked == [(None, None, 'kvm')]


def test_what_the_definition_says_is_kept():
    given = _xml.parse(GIVEN.replace('<type>hvm</type>', "<type arch='x86_64' machine='pc'>hvm</type>")
                       .replace('<devices/>', "<on_reboot>destroy</on_reboot><devices><disk type='file' device="
                                "'disk'><source file='/a'/><target dev='vda'/><boot order='1'/></disk></devices>"))
    view = options.view(_vm.NodeFacts(FixtureConn(FixtureVirt())).as_stored(given))
    assert view['machine'] == 'pc-i440fx-7.2'  # the alias as libvirt stores it
    assert view['boot'] == []  # a per-device boot order: no <boot dev='hd'/>
    assert view['on_reboot'] == 'destroy' and view['on_poweroff'] == 'destroy'
    assert given.find('on_poweroff') is None  # the task's definition is not touched


def test_without_domain_capabilities_the_arch_is_the_hosts():
    conn = FixtureConn(FixtureVirt(domcaps=False))
    view = options.view(_vm.NodeFacts(conn).as_stored(_xml.parse(GIVEN)))
    assert (view['arch'], view['machine'], view['boot']) == ('x86_64', None, ['hd'])


@pytest.mark.parametrize('cpu, machine, kept', [
    ("<cpu mode='custom' match='exact' check='none'><model fallback='forbid'>qemu64</model></cpu>",
     'pc-i440fx-7.2', True),  # QEMU's default, written by libvirt: written again
    ("<cpu mode='custom' match='exact' check='partial'><model fallback='allow'>Haswell</model></cpu>",
     'pc-i440fx-7.2', False),  # the user's own CPU goes with the XML that drops it
    ("<cpu mode='custom' match='exact' check='none'><model fallback='forbid'>qemu64</model></cpu>",
     'pc-q35-7.2', False),  # another machine type may have another default
])
def test_the_default_cpu_model_libvirt_wrote_is_predicted_again(cpu, machine, kept):
    current = _xml.parse("<domain type='kvm'><name>raw1</name><memory unit='MiB'>64</memory>"
                         "<os><type arch='x86_64' machine='%s'>hvm</type><boot dev='hd'/></os>%s<devices/></domain>"
                         % (machine, cpu))
    view = options.view(_vm.NodeFacts(FixtureConn(FixtureVirt())).as_stored(_xml.parse(GIVEN), current))
    assert view['cpu'] == (options.read_cpu(current) if kept else None)
