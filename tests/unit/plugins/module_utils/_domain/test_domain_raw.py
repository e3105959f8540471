# -*- coding: utf-8 -*-
"""The xml option: preparing a given definition, predicting and detecting changes."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _raw as raw
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput

GIVEN = """
<domain type='test'>
  <name>vmcat-unit-raw</name>
  <memory unit='MiB'>64</memory>
  <os><type arch='i686'>hvm</type></os>
  <!-- a comment is not part of the definition -->
  <devices>
    <disk type='file' device='disk'><source file='/guest/diskimage1'/><target dev='vda' bus='virtio'/></disk>
    <interface type='network'><source network='default'/></interface>
  </devices>
</domain>
"""

CURRENT = """
<domain type='qemu'>
  <name>web1</name>
  <uuid>0c7a9f5e-3f5e-4b1e-9f7a-2f6d1b0e8a11</uuid>
  <memory unit='KiB'>262144</memory>
  <currentMemory unit='KiB'>262144</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type><boot dev='hd'/></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <interface type='network'><mac address='52:54:00:00:00:07'/><source network='lab'/><model type='virtio'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/></interface>
    <controller type='usb' index='0'/>
    <input type='mouse' bus='ps2'/>
    <memballoon model='virtio'/>
  </devices>
</domain>
"""

SAME_AS_CURRENT = """
<domain type='qemu'>
  <name>web1</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><interface type='network'><source network='lab'/><model type='virtio'/></interface></devices>
</domain>
"""


def canonical(name):
    return {'pc': 'pc-i440fx-7.2'}.get(name, name)


def test_prepare_names_and_inherits_uuid_and_macs():
    current = _xml.parse(CURRENT)
    root = raw.prepare(SAME_AS_CURRENT, 'web1', current)
    assert _xml.text_of(root, 'uuid') == '0c7a9f5e-3f5e-4b1e-9f7a-2f6d1b0e8a11'
    assert root.find('devices/interface/mac').get('address') == '52:54:00:00:00:07'
    nameless = raw.prepare(SAME_AS_CURRENT.replace('<name>web1</name>', ''), 'web1')
    assert nameless[0].tag == 'name' and nameless[0].text == 'web1'


@pytest.mark.parametrize('text, message', [
    ('<network><name>x</name></network>', 'must be a <domain>'),
    (SAME_AS_CURRENT.replace('web1', 'web2'), "names the VM 'web2'"),
    (SAME_AS_CURRENT.replace('<vcpu>', '<uuid>11111111-2222-3333-4444-555555555555</uuid><vcpu>'), 'keeps its UUID'),
    ('<domain><name>web1</name>', 'not well-formed'),
])
def test_prepare_refuses(text, message):
    with pytest.raises(InvalidInput) as err:
        raw.prepare(text, 'web1', _xml.parse(CURRENT))
    assert message in str(err.value)


def test_covers_tolerates_what_libvirt_adds():
    current = _xml.parse(CURRENT)
    given = raw.prepare(SAME_AS_CURRENT, 'web1', current)
    assert raw.covers(current, given, canonical)
    assert not raw.covers(current, given)  # without the alias table, 'pc' is a different machine


@pytest.mark.parametrize('change', [
    ("<memory unit='MiB'>256</memory>", "<memory unit='MiB'>512</memory>"),
    ("<vcpu>1</vcpu>", "<vcpu>2</vcpu>"),
    ("<model type='virtio'/>", "<model type='e1000'/>"),
    ("</devices>", "<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng></devices>"),
    ("<interface type='network'><source network='lab'/><model type='virtio'/></interface>", ""),
    ("<vcpu>1</vcpu>", "<vcpu>1</vcpu><description>new</description>"),
])
def test_covers_sees_changes(change):
    current = _xml.parse(CURRENT)
    given = raw.prepare(SAME_AS_CURRENT.replace(*change), 'web1', current)
    assert not raw.covers(current, given, canonical)


def test_same_definition_ignores_whitespace_order_and_aliases():
    a = _xml.parse("<domain><name>a</name><devices><disk type='file' device='disk'><alias name='x'/>"
                   "<target dev='vda' bus='virtio'/></disk></devices></domain>")
    b = _xml.parse("<domain>\n  <name>a</name>\n  <devices><disk device='disk' type='file'>"
                   "<target bus='virtio' dev='vda'/></disk></devices></domain>")
    assert raw.same_definition(a, b)
    c = _xml.parse("<domain><name>a</name><devices><disk type='file' device='cdrom'>"
                   "<target dev='vda' bus='virtio'/></disk></devices></domain>")
    assert not raw.same_definition(a, c)


def test_covers_a_definition_libvirt_normalised(conn):
    given = raw.prepare(GIVEN, 'vmcat-unit-raw')
    dom = conn.virt.defineXML(_xml.to_string(given))
    try:
        stored = _xml.parse(dom.XMLDesc(1 | 2))
        again = raw.prepare(GIVEN, 'vmcat-unit-raw', stored)
        assert raw.covers(stored, again)
        dom2 = conn.virt.defineXML(_xml.to_string(again))
        assert raw.same_definition(stored, _xml.parse(dom2.XMLDesc(1 | 2)))
    finally:
        dom.undefine()
