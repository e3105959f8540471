# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vmcat.libvirt.plugins.modules import pool, pool_info
from ansible_collections.vmcat.libvirt.tests.unit.helpers import ModuleFail


def test_create_four_ways(run_module, node_uri):
    args = dict(uri=node_uri, name='images', target=dict(path='/srv/images', mode='0711'))
    first = run_module(pool, args, check_mode=True, diff=True)
    assert first['changed'] is True
    assert first['diff']['before'] == {}
    assert first['pool']['target']['path'] == '/srv/images'
    assert first['actions'] == ['define', 'start', 'autostart']
    applied = run_module(pool, args)
    assert applied['changed'] is True
    assert applied['pool']['active'] is True and applied['pool']['autostart'] is True
    assert applied['pool']['target']['mode'] == '0711'
    assert run_module(pool, args, check_mode=True)['changed'] is False
    again = run_module(pool, args)
    assert again['changed'] is False
    assert again['pool'] == applied['pool']


def test_relative_path_is_refused_before_change(run_module, node_uri):
    with pytest.raises(ModuleFail) as failed:
        run_module(pool, dict(uri=node_uri, name='bad', target=dict(path='relative/dir')))
    assert "target.path must be absolute" in failed.value.result['msg']
    assert run_module(pool_info, dict(uri=node_uri))['pools'][0]['name'] == 'p1'


def test_unset_options_leave_the_pool_alone(run_module, node_uri):
    before = run_module(pool_info, dict(uri=node_uri, name='p1'))['pools'][0]
    result = run_module(pool, dict(uri=node_uri, name='p1'))
    assert result['changed'] is False
    assert result['pool'] == before


def test_stop_and_autostart_four_ways(run_module, node_uri):
    args = dict(uri=node_uri, name='p1', active=False, autostart=True)
    assert run_module(pool, args, check_mode=True)['changed'] is True
    applied = run_module(pool, args)
    assert applied['changed'] is True
    assert applied['pool']['active'] is False and applied['pool']['autostart'] is True
    assert run_module(pool, args, check_mode=True)['changed'] is False
    assert run_module(pool, args)['changed'] is False


def test_changed_definition_of_a_stopped_pool_applies_at_once(run_module, node_uri):
    # The test driver keeps no separate saved definition for running pools; the
    # running case (restart_required, restart: true) is in the integration tests.
    run_module(pool, dict(uri=node_uri, name='p1', active=False))
    args = dict(uri=node_uri, name='p1', target=dict(path='/pool1-moved'))
    checked = run_module(pool, args, check_mode=True, diff=True)
    assert checked['changed'] is True
    assert checked['diff']['before']['target']['path'] == '/pool1'
    assert checked['diff']['after']['target']['path'] == '/pool1-moved'
    applied = run_module(pool, args)
    assert applied['changed'] is True and applied['restart_required'] is False
    assert applied['pool']['target']['path'] == '/pool1-moved'
    assert applied['actions'] == ['define']
    assert run_module(pool, args, check_mode=True)['changed'] is False
    assert run_module(pool, args)['changed'] is False


def test_type_cannot_change(run_module, node_uri):
    with pytest.raises(ModuleFail) as failed:
        run_module(pool, dict(uri=node_uri, name='p1', type='logical'))
    assert 'is of type dir; a pool\'s type cannot change to logical' in failed.value.result['msg']


def test_absent_refuses_a_pool_with_volumes_unless_purge(run_module, node_uri):
    with pytest.raises(ModuleFail) as failed:
        run_module(pool, dict(uri=node_uri, name='p1', state='absent'))
    assert 'still holds 1 volume(s): v1.qcow2' in failed.value.result['msg']
    checked = run_module(pool, dict(uri=node_uri, name='p1', state='absent', purge=True), check_mode=True)
    assert checked['changed'] is True and checked['pool'] == {}
    assert 'delete volume v1.qcow2' in checked['actions']
    assert run_module(pool_info, dict(uri=node_uri, name='p1'))['pools'][0]['volumes'] == ['v1.qcow2']
    removed = run_module(pool, dict(uri=node_uri, name='p1', state='absent', purge=True))
    assert removed['changed'] is True
    assert run_module(pool, dict(uri=node_uri, name='p1', state='absent'))['changed'] is False
    assert run_module(pool_info, dict(uri=node_uri))['pools'] == []


@pytest.mark.parametrize('args, fragment', [
    (dict(type='netfs', target=dict(path='/mnt/nfs')), 'needs source.host, source.dir'),
    (dict(type='dir'), 'needs target.path'),
    (dict(type='logical'), 'needs source.name or device'),
    (dict(target=dict(path='/x', mode='999')), "octal mode such as '0755'"),
])
def test_bad_input_fails_before_any_change(run_module, node_uri, args, fragment):
    with pytest.raises(ModuleFail) as failed:
        run_module(pool, dict(args, uri=node_uri, name='new'))
    assert fragment in failed.value.result['msg']
    assert [p['name'] for p in run_module(pool_info, dict(uri=node_uri))['pools']] == ['p1']


def test_xml_of_a_netfs_pool_keeps_unknown_parts():
    from ansible_collections.vmcat.libvirt.plugins.module_utils import _pool, _xml
    root = _xml.parse('<pool type="netfs"><name>n</name><source><host name="a"/><dir path="/e"/>'
                      '<format type="nfs"/><protocol ver="4"/></source><target><path>/mnt</path></target></pool>')
    _pool.apply_options(root, dict(source=dict(host='b', port=2049, dir=None), target=dict(path=None, mode='0750')))
    spec = _pool.spec_of(root)
    assert spec['source'] == {'host': 'b', 'port': 2049, 'dir': '/e', 'format': 'nfs'}
    assert spec['target']['mode'] == '0750'
    assert root.find('source/protocol').get('ver') == '4'


def test_build_flag_is_libvirts_no_overwrite():
    """Building an fs/disk/logical pool must never ask libvirt to reformat what is there."""
    import libvirt
    from ansible_collections.vmcat.libvirt.plugins.module_utils import _pool
    assert _pool._BUILD_NO_OVERWRITE == libvirt.VIR_STORAGE_POOL_BUILD_NO_OVERWRITE
    assert _pool._BUILD_NO_OVERWRITE != libvirt.VIR_STORAGE_POOL_BUILD_OVERWRITE
