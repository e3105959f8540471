# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vmcat.libvirt.plugins.modules import vm_screenshot
from ansible_collections.vmcat.libvirt.tests.unit.helpers import ModuleFail


def test_four_ways_on_the_test_driver(run_module, node_uri, tmp_path):
    dest = tmp_path / 'test.png'
    args = dict(uri='test:///default', name='test', dest=str(dest))
    checked = run_module(vm_screenshot, args, check_mode=True, diff=True)
    assert checked['changed'] is True and not dest.exists()
    assert checked['diff']['before'] == {} and checked['diff']['after']['width'] == 1120
    applied = run_module(vm_screenshot, args, diff=True)
    assert applied['changed'] is True and applied['actions'] == ['write %s' % dest]
    shot = applied['screenshot']
    assert (shot['width'], shot['height'], shot['size']) == (1120, 832, dest.stat().st_size)
    assert applied['vm'] == 'test' and applied['source_format'] == 'png' and applied['screen'] == 0
    assert dest.read_bytes().startswith(b'\x89PNG')
    again_checked = run_module(vm_screenshot, args, check_mode=True)
    assert again_checked['changed'] is False
    again = run_module(vm_screenshot, args, diff=True)
    assert again['changed'] is False and again['screenshot'] == shot
    assert again['diff']['before'] == again['diff']['after']


def test_failures(run_module, node_uri, tmp_path):
    with pytest.raises(ModuleFail) as err:
        run_module(vm_screenshot, dict(uri=node_uri, name='d1', dest=str(tmp_path / 'd1.png')))
    assert "VM 'd1' on %s is not running" % node_uri in err.value.result['msg']
    with pytest.raises(ModuleFail) as err:
        run_module(vm_screenshot, dict(uri=node_uri, name='nope', dest=str(tmp_path / 'x.png')))
    assert "VM 'nope' not found" in err.value.result['msg']
    with pytest.raises(ModuleFail) as err:
        run_module(vm_screenshot, dict(uri=node_uri, name='d1', dest=str(tmp_path)))
    assert "is a directory" in err.value.result['msg']
    assert not any(p.suffix == '.png' for p in tmp_path.iterdir())
