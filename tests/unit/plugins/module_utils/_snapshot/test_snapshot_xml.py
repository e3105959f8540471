# -*- coding: utf-8 -*-
"""Snapshot XML: reading what libvirt 9 gives, building what the module asks for."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._snapshot import _definition as sx
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput

# As QEMU's driver in libvirt 9.0 writes them (shortened <domain>).
EXTERNAL = '''<domainsnapshot>
  <name>x1</name>
  <state>disk-snapshot</state>
  <parent><name>x0</name></parent>
  <creationTime>1795309187</creationTime>
  <memory snapshot='no'/>
  <disks>
    <disk name='vda' snapshot='external' type='file'>
      <driver type='qcow2'/>
      <source file='/img/vm.x1'/>
    </disk>
    <disk name='hdc' snapshot='no'/>
  </disks>
  <domain type='qemu'>
    <name>vm</name>
    <devices>
      <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/img/vm.x0'/>
        <target dev='vda' bus='virtio'/></disk>
      <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='/img/seed.iso'/>
        <target dev='hdc' bus='ide'/><readonly/></disk>
    </devices>
  </domain>
</domainsnapshot>'''

INTERNAL = '''<domainsnapshot>
  <name>s1</name>
  <description>before</description>
  <state>running</state>
  <creationTime>1795309180</creationTime>
  <memory snapshot='internal'/>
  <disks><disk name='vda' snapshot='internal'/></disks>
  <domain type='qemu'><name>vm</name><devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/img/vm.qcow2'/>
      <target dev='vda' bus='virtio'/></disk></devices></domain>
</domainsnapshot>'''


def test_external_snapshot_facts():
    info = sx.parse_snapshot(EXTERNAL)
    assert info['kind'] == 'external' and info['state'] == 'disk-snapshot' and info['memory'] == 'no'
    assert info['parent'] == 'x0' and info['creation_time'] == 1795309187
    assert info['created'] == '2026-11-22T00:59:47Z'
    assert info['disks'] == [
        {'target': 'vda', 'snapshot': 'external', 'file': '/img/vm.x1', 'format': 'qcow2', 'base': '/img/vm.x0',
         'base_volume': None},
        {'target': 'hdc', 'snapshot': 'no', 'file': None, 'format': 'raw', 'base': None, 'base_volume': None},
    ]
    assert info['description'] is None and info['memory_file'] is None


def test_internal_snapshot_facts():
    info = sx.parse_snapshot(INTERNAL)
    assert info['kind'] == 'internal' and info['memory'] == 'internal' and info['parent'] is None
    assert info['description'] == 'before'
    assert info['disks'] == [{'target': 'vda', 'snapshot': 'internal', 'file': None, 'format': 'qcow2', 'base': None,
                              'base_volume': None}]


def test_external_memory_makes_a_snapshot_external():
    info = sx.parse_snapshot('<domainsnapshot><name>m</name><state>running</state>'
                             '<memory snapshot="external" file="/img/m.mem"/></domainsnapshot>')
    assert info['kind'] == 'external' and info['memory_file'] == '/img/m.mem'


def test_create_xml_says_only_what_the_task_decides():
    assert _xml.equal(_xml.parse(sx.create_xml('s', None, 'internal', [])),
                      _xml.parse('<domainsnapshot><name>s</name></domainsnapshot>'))
    xml = sx.create_xml('n', 'nightly', 'external', [
        {'target': 'vda', 'snapshot': 'external', 'file': '/img/a.qcow2'},
        {'target': 'vdb', 'snapshot': 'no', 'file': None},
    ])
    expected = ('<domainsnapshot><name>n</name><description>nightly</description><memory snapshot="no"/><disks>'
                '<disk name="vda" snapshot="external"><source file="/img/a.qcow2"/></disk>'
                '<disk name="vdb" snapshot="no"/></disks></domainsnapshot>')
    assert _xml.equal(_xml.parse(xml), _xml.parse(expected))


def test_flags():
    assert sx.create_flags('internal', False) == sx.CREATE_ATOMIC
    assert sx.create_flags('external', False) == sx.CREATE_DISK_ONLY | sx.CREATE_ATOMIC
    assert sx.create_flags('external', True) == sx.CREATE_DISK_ONLY | sx.CREATE_ATOMIC | sx.CREATE_QUIESCE


def test_with_description_replaces_removes_and_keeps_the_rest():
    changed = _xml.parse(sx.with_description(INTERNAL, 'after'))
    assert _xml.text_of(changed, 'description') == 'after'
    assert changed[1].tag == 'description'  # right after <name>
    assert changed.find('domain/devices/disk') is not None
    dropped = _xml.parse(sx.with_description(INTERNAL, ''))
    assert dropped.find('description') is None
    added = _xml.parse(sx.with_description(EXTERNAL, 'new'))
    assert added[1].tag == 'description' and _xml.text_of(added, 'description') == 'new'


@pytest.mark.parametrize('top, expected', [
    ('/img/vm.qcow2', '/img/vm.snap'),
    ('/img/vm', '/img/vm.snap'),
    ('/img.d/vm', '/img.d/vm.snap'),
    (None, None),
])
def test_generated_file_follows_libvirt(top, expected):
    assert sx.generated_file(top, 'snap') == expected


def test_wanted_disks_fills_in_the_kind():
    assert sx.wanted_disks('external', [{'target': 'vda'}, {'target': 'vdb', 'snapshot': 'no'}]) == [
        {'target': 'vda', 'snapshot': 'external', 'file': None},
        {'target': 'vdb', 'snapshot': 'no', 'file': None},
    ]
    assert sx.wanted_disks('internal', None) == []


@pytest.mark.parametrize('kind, disks, fragment', [
    ('internal', [{'target': 'vda'}, {'target': 'vda'}], 'listed twice'),
    ('internal', [{'target': None}], 'needs target'),
    ('internal', [{'target': 'vda', 'snapshot': 'external'}], 'does not fit kind: internal'),
    ('external', [{'target': 'vda', 'snapshot': 'no', 'file': '/x'}], 'file is only for external'),
    ('external', [{'target': 'vda', 'file': 'x.qcow2'}], 'absolute path'),
    ('external', [{'target': 'vda', 'file': '/x'}, {'target': 'vdb', 'file': '/x'}], 'given for two disks'),
])
def test_wanted_disks_refuses(kind, disks, fragment):
    with pytest.raises(InvalidInput) as failed:
        sx.wanted_disks(kind, disks)
    assert fragment in str(failed.value)


@pytest.mark.parametrize('name', ['', ' ', 'a/b', '.hidden'])
def test_names_libvirt_would_refuse(name):
    with pytest.raises(InvalidInput):
        sx.check_name(name)


def test_domain_disks():
    disks = sx.domain_disks(_xml.parse(EXTERNAL).find('domain'))
    assert [(d['target'], d['device'], d['format'], d['source'], d['readonly']) for d in disks] == [
        ('vda', 'disk', 'qcow2', '/img/vm.x0', False), ('hdc', 'cdrom', 'raw', '/img/seed.iso', True)]
    assert sx.domain_disks(None) == []
    assert sx.vm_state_name(5) == 'shutoff' and sx.vm_state_name(3) == 'paused' and sx.vm_state_name(99) == 'unknown'


def test_a_volume_disk_names_its_base_by_pool_and_volume():
    xml = EXTERNAL.replace("<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/img/vm.x0'/>",
                           "<disk type='volume' device='disk'><driver name='qemu' type='qcow2'/>"
                           "<source pool='images' volume='vm.qcow2'/>")
    disk = sx.parse_snapshot(xml)['disks'][0]
    assert disk['base'] is None and disk['base_volume'] == ('images', 'vm.qcow2')
