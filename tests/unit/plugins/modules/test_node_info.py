# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vmcat.libvirt.plugins.modules import node_info
from ansible_collections.vmcat.libvirt.tests.unit.helpers import ModuleFail

SECTIONS = ['cpu', 'memory', 'numa', 'capabilities', 'devices', 'counts']


def test_everything_from_the_test_driver(run_module):
    result = run_module(node_info, dict(uri='test:///default'))
    assert result['changed'] is False
    assert result['gathered'] == SECTIONS
    assert set(SECTIONS) | {'host', 'gathered', 'unavailable', 'changed'} == set(result)
    assert result['host']['hypervisor'] == 'TEST'
    assert result['memory']['total'] > 0
    assert result['counts']['vms']['running'] == 1
    assert {u['key'] for u in result['unavailable']} >= {'domain_capabilities', 'memory.stats'}
    assert 'warnings' not in result


def test_check_mode_gives_the_same(run_module):
    normal = run_module(node_info, dict(uri='test:///default', gather=['cpu', 'numa', 'capabilities']))
    checked = run_module(node_info, dict(uri='test:///default', gather=['cpu', 'numa', 'capabilities']),
                         check_mode=True)
    assert checked == normal
    assert checked['changed'] is False


def test_gather_subset(run_module):
    result = run_module(node_info, dict(uri='test:///default', gather=['counts', 'memory']))
    assert result['gathered'] == ['memory', 'counts']
    assert 'cpu' not in result and 'devices' not in result and 'numa' not in result
    assert result['counts']['pools'] == {'total': 1, 'active': 1, 'inactive': 0}


def test_node_file(run_module, node_uri):
    result = run_module(node_info, dict(uri=node_uri, gather=['cpu', 'counts']))
    assert result['host']['uri'] == node_uri
    assert result['cpu']['count'] == 2 and result['cpu']['mhz'] == 2000
    assert result['counts']['vms'] == {'total': 1, 'running': 0, 'paused': 0, 'shutoff': 1, 'other': 0}
    assert result['counts']['networks']['total'] == 1
    assert result['counts']['pools']['total'] == 1


def test_unknown_section_is_refused(run_module):
    with pytest.raises(ModuleFail) as failed:
        run_module(node_info, dict(uri='test:///default', gather=['gpus']))
    assert 'gather' in failed.value.result['msg']


def test_bad_uri_names_it(run_module):
    with pytest.raises(ModuleFail) as failed:
        run_module(node_info, dict(uri='test:///nonexistent/node.xml'))
    assert 'test:///nonexistent/node.xml' in failed.value.result['msg']
