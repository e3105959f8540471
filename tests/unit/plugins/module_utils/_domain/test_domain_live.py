# -*- coding: utf-8 -*-
"""Live planning: which differences of a running VM are changed live, which wait for a restart."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _options as options
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain._live import (
    Planner,
    option_paths,
    pending_changes,
    run_ops,
)
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import VmcatError
from ansible_collections.vmcat.libvirt.tests.unit.fakes.domain import LiveDom, live_ctx
from ansible_collections.vmcat.libvirt.tests.unit.helpers import fixture_text

LIVE = fixture_text('domain_live_running.xml')
CONFIG = fixture_text('domain_live_config.xml')


def plan(config, task, live=LIVE, before=None, params=None, dom=None):
    """Edit CONFIG with ``task`` (option values), plan against ``live``."""
    config_root = _xml.parse(config)
    before_root = _xml.parse(before or config)
    full = dict.fromkeys(options.NAMES)
    full.update(task)
    env = options.Env(purge_disks=(params or {}).get('purge_disks'), purge_nics=(params or {}).get('purge_nics'))
    values = options.apply_options(config_root, full, env)
    ctx = live_ctx(params)
    dom = dom or LiveDom(live)
    ops, pending = Planner(ctx, dom, _xml.parse(live), config_root, before_root, values).plan()
    return ctx, dom, ops, pending


def test_nothing_pending_for_the_same_vm():
    assert pending_changes(_xml.parse(LIVE), _xml.parse(CONFIG)) == []
    ctx, dom, ops, pending = plan(CONFIG, {})
    assert ops == [] and pending == []


def test_vcpus_up_live_down_pending():
    ctx, dom, ops, pending = plan(CONFIG, {'vcpus': 3})
    assert [op.description for op in ops] == ['set vcpus 3'] and pending == []
    run_ops(ctx, ops)
    assert dom.calls == [('setVcpusFlags', 3, 1)]
    live_two = LIVE.replace("current='1'", "current='2'")
    ctx, dom, ops, pending = plan(CONFIG, {'vcpus': 1}, live=live_two)
    assert ops == [] and pending == ['vcpus']


def test_max_vcpus_waits_and_vcpus_above_running_max_waits():
    ctx, dom, ops, pending = plan(CONFIG, {'max_vcpus': 8, 'vcpus': 6})
    assert ops == [] and pending == ['max_vcpus', 'vcpus']


def test_memory_balloon_only_when_the_task_changes_it():
    ctx, dom, ops, pending = plan(CONFIG, {'memory': '256M'})
    assert [op.description for op in ops] == ['set memory 256 MiB'] and pending == []
    run_ops(ctx, ops)
    assert dom.calls == [('setMemoryFlags', 262144, 1)]
    # the balloon has not reached the target yet: the saved value is not changed again, no call
    done = CONFIG.replace("<currentMemory unit='KiB'>524288", "<currentMemory unit='KiB'>262144")
    ctx, dom, ops, pending = plan(done, {'memory': '256M'})
    assert ops == [] and pending == []


def test_memory_above_running_max_waits():
    ctx, dom, ops, pending = plan(CONFIG, {'max_memory': '1G', 'memory': '768M'})
    assert ops == [] and pending == ['max_memory', 'memory']


def test_cpu_and_machine_wait_for_restart():
    ctx, dom, ops, pending = plan(CONFIG, {'cpu': {'mode': 'maximum'}, 'machine': 'pc-q35-7.2',
                                           'on_crash': 'restart', 'guest_agent': True, 'rng': True})
    assert ops == []
    assert pending == ['machine', 'cpu.mode', 'cpu.model', 'on_crash', 'guest_agent', 'rng']


def test_metadata_is_one_live_call():
    ctx, dom, ops, pending = plan(CONFIG, {'tags': ['a'], 'metadata': {'k': 'v'}, 'title': 'T', 'description': ''})
    assert [op.description for op in ops] == ['set title', 'set tags and metadata']
    run_ops(ctx, ops)
    assert dom.calls[0] == ('setMetadata', 1, 'T', None, None, 1)
    name, kind, text, key, uri, flags = dom.calls[1]
    assert (kind, key, uri, flags) == (2, 'vmcat', 'https://vmcat.example/libvirt/vm/1', 1)
    assert text == ('<vm><tags><tag>a</tag></tags><data><item key="k" type="str">v</item></data></vm>')


def test_disk_hotplug_and_unplug():
    ctx, dom, ops, pending = plan(CONFIG, {'disks': [{'target': 'vdb', 'path': '/i/b.raw'}]})
    assert [op.description for op in ops] == ['attach disk vdb'] and pending == []
    run_ops(ctx, ops)
    attached = _xml.parse(dom.calls[0][1])
    assert attached.find('target').get('dev') == 'vdb' and attached.find('address') is None
    ctx, dom, ops, pending = plan(CONFIG, {'disks': [{'target': 'hdc'}]}, params={'purge_disks': True})
    assert [op.description for op in ops] == ['detach disk vda']
    run_ops(ctx, ops)
    assert dom.calls[0][0] == 'detachDeviceFlags' and 'vda' not in dom.XMLDesc()


def test_unplug_timeout_is_reported():
    dom = LiveDom(LIVE, unplug_after=10 ** 6)
    ctx, dom, ops, pending = plan(CONFIG, {'disks': [{'target': 'hdc'}]}, params={'purge_disks': True,
                                                                                  'unplug_timeout': 1}, dom=dom)
    with pytest.raises(VmcatError) as err:
        run_ops(ctx, ops)
    assert 'still attached after 1s' in str(err.value) and 'next restart' in str(err.value)


def test_cdrom_media_change_is_live_other_disk_changes_wait():
    ctx, dom, ops, pending = plan(CONFIG, {'disks': [{'target': 'hdc', 'path': '/iso/d.iso'},
                                                     {'target': 'vda', 'cache': 'none'}]})
    assert [op.description for op in ops] == ['change media of hdc']
    assert pending == ['disks[vda].cache']


def test_ide_and_sata_disks_wait_for_a_restart():
    ctx, dom, ops, pending = plan(CONFIG, {'disks': [{'target': 'hdd', 'device': 'cdrom'},
                                                     {'target': 'sdb', 'bus': 'sata', 'path': '/i/s.raw'},
                                                     {'target': 'sdc', 'bus': 'scsi', 'path': '/i/t.raw'}]})
    assert [op.description for op in ops] == ['attach disk sdc']
    assert pending == ['disks[hdd]', 'disks[sdb]']
    ctx, dom, ops, pending = plan(CONFIG, {'disks': [{'target': 'vda'}]}, params={'purge_disks': True})
    assert ops == [] and pending == ['disks[hdc]']  # an IDE CD-ROM drive is not unplugged live


def test_disk_only_in_config_and_not_named_waits():
    config = CONFIG.replace('</devices>', "<disk type='file' device='disk'><source file='/i/c.raw'/>"
                                          "<target dev='vdc' bus='virtio'/></disk></devices>")
    ctx, dom, ops, pending = plan(config, {})
    assert pending == ['disks[vdc]']
    ctx, dom, ops, pending = plan(config, {'disks': [{'target': 'vdc'}]})
    assert [op.description for op in ops] == ['attach disk vdc']


def test_nic_hotplug_link_and_unplug():
    ctx, dom, ops, pending = plan(CONFIG, {'nics': [{'network': 'lab'}, {'network': 'other'}]})
    assert [op.description for op in ops] == ['attach nic on other'] and pending == []
    ctx, dom, ops, pending = plan(CONFIG, {'nics': [{'network': 'other', 'mac': '52:54:00:00:00:0a'}]})
    assert [op.description for op in ops] == ['attach nic 52:54:00:00:00:0a']
    ctx, dom, ops, pending = plan(CONFIG, {'nics': [{'mac': '52:54:00:00:00:01', 'link_state': 'down'}]})
    assert [op.description for op in ops] == ['set link down of nic 52:54:00:00:00:01']
    run_ops(ctx, ops)
    updated = _xml.parse(dom.calls[0][1])
    assert updated.find('link').get('state') == 'down' and updated.find('target').get('dev') == 'vnet0'
    ctx, dom, ops, pending = plan(CONFIG, {'nics': []}, params={'purge_nics': True})
    assert [op.description for op in ops] == ['detach nic 52:54:00:00:00:01']


def test_nic_model_change_waits():
    ctx, dom, ops, pending = plan(CONFIG, {'nics': [{'mac': '52:54:00:00:00:01', 'model': 'e1000'}]})
    assert ops == [] and pending == ['nics[52:54:00:00:00:01].model']


def test_graphics_password_live_listen_waits():
    ctx, dom, ops, pending = plan(CONFIG, {'graphics': [{'type': 'vnc', 'password': 'new'}]})
    assert [op.description for op in ops] == ['set vnc password'] and pending == []
    run_ops(ctx, ops)
    sent = _xml.parse(dom.calls[0][1])
    assert sent.get('passwd') == 'new' and sent.get('port') == '5900'
    ctx, dom, ops, pending = plan(CONFIG, {'graphics': [{'type': 'vnc', 'listen': '0.0.0.0'}]})
    assert ops == [] and pending == ['graphics[vnc].listen']


def test_check_mode_records_without_calling():
    config_root = _xml.parse(CONFIG)
    full = dict.fromkeys(options.NAMES)
    full['vcpus'] = 2
    values = options.apply_options(config_root, full, options.Env())
    ctx = live_ctx(check_mode=True)
    dom = LiveDom(LIVE)
    ops, pending = Planner(ctx, dom, _xml.parse(LIVE), config_root, copy.deepcopy(config_root), values).plan()
    run_ops(ctx, ops)
    assert ctx.actions == ['set vcpus 2'] and dom.calls == []


def test_option_paths():
    assert option_paths('machine', 'a', 'b') == ['machine']
    assert option_paths('cpu', {'mode': 'a', 'model': None}, {'mode': 'b', 'model': 'x'}) == ['cpu.mode', 'cpu.model']
    disks_a = [{'target': 'vda', 'cache': None}, {'target': 'vdb', 'cache': None}]
    disks_b = [{'target': 'vda', 'cache': 'none'}]
    assert option_paths('disks', disks_a, disks_b) == ['disks[vda].cache', 'disks[vdb]']
    graphics = [{'type': 'vnc', 'listen': 'a'}, {'type': 'vnc', 'listen': 'b'}]
    assert option_paths('graphics', graphics, graphics[:1]) == ['graphics[vnc 1]']
