# -*- coding: utf-8 -*-
"""Describing a VM: uptime from the QEMU process, lease addresses, the runtime facts."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.vmcat.libvirt.plugins.module_utils._vm import _vm_info


def _fake_proc(tmp_path, pid, start_ticks, system_uptime):
    proc = tmp_path / 'proc'
    (proc / str(pid)).mkdir(parents=True)
    fields = ['S'] + ['0'] * 18 + [str(start_ticks)] + ['0'] * 30
    (proc / str(pid) / 'stat').write_text('%d (qemu-system-x86) %s\n' % (pid, ' '.join(fields)))
    (proc / 'uptime').write_text('%s 1.00\n' % system_uptime)
    run = tmp_path / 'run'
    run.mkdir()
    (run / 'web1.pid').write_text('%d\n' % pid)
    return str(proc), str(run)


def test_uptime_from_the_qemu_process(tmp_path):
    ticks = os.sysconf('SC_CLK_TCK')
    proc, run = _fake_proc(tmp_path, 4242, 100 * ticks, 1100.5)
    assert _vm_info.uptime('qemu:///system', 'web1', proc=proc, pid_dir=run) == 1000
    assert _vm_info.uptime('qemu:///session', 'web1', proc=proc, pid_dir=run) is None
    assert _vm_info.uptime('qemu+ssh://host/system', 'web1', proc=proc, pid_dir=run) is None
    assert _vm_info.uptime('qemu:///system', 'other', proc=proc, pid_dir=run) is None


def test_describe_a_running_vm(conn):
    dom = conn.virt.lookupByName('test')
    view = _vm_info.describe(conn, dom)
    assert view['name'] == 'test' and view['state'] == 'running' and view['id'] == 1
    assert view['state_reason'].startswith('running')
    assert view['restart_required'] is False and view['snapshot_count'] == 0
    assert view['disks'][0]['target'] == 'vda' and view['disks'][0]['capacity'] is not None
    assert view['nics'][0]['mac'] == 'aa:bb:cc:dd:ee:ff'
    assert isinstance(view['nics'][0]['addresses'], list)
    assert view['uptime'] is None  # not qemu:///system


def test_option_view_never_has_passwords():
    from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
    root = _xml.parse("<domain><devices><graphics type='vnc' autoport='yes' passwd='secret'/></devices></domain>")
    assert _vm_info.option_view(root)['graphics'][0]['password'] is None
