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
