# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import libvirt
import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _qmp
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._connection import Connection
from ansible_collections.vmcat.libvirt.plugins.modules import vm_input
from ansible_collections.vmcat.libvirt.tests.unit.helpers import ModuleFail

TABLET_VM = """<domain type='test'><name>desk</name><memory>65536</memory><os><type>hvm</type></os>
<devices><input type='tablet' bus='usb'/></devices></domain>"""


@pytest.fixture
def keys_sent(monkeypatch):
    sent = []

    def send_key(dom, codeset, holdtime, codes, count, flags):
        sent.append((dom.name(), codeset, holdtime, list(codes)))
        return 0
    monkeypatch.setattr(libvirt.virDomain, 'sendKey', send_key)
    return sent


@pytest.fixture
def qmp_sent(monkeypatch):
    sent = []

    def fake(dom, text, flags):
        sent.append(json.loads(text))
        return json.dumps({'return': {}, 'id': 'libvirt-1'})
    monkeypatch.setattr(_qmp.libvirt_qemu, 'qemuMonitorCommand', fake)
    return sent


def test_keys_four_ways_always_change_and_check_mode_sends_nothing(run_module, keys_sent):
    args = dict(uri='test:///default', name='test', keys=['ctrl-alt-del', 'f2'], delay=0)
    for check_mode in (True, False, True, False):
        result = run_module(vm_input, args, check_mode=check_mode)
        assert result['changed'] is True
        assert result['planned'] == dict(key_strokes=2, mouse_events=0)
        assert result['sent']['key_strokes'] == (0 if check_mode else 2)
        assert result['actions'] == ['key ctrl-alt-del', 'key f2']
    assert keys_sent == [('test', 2, 0, [29, 56, 111]), ('test', 2, 0, [60])] * 2


def test_text_is_typed_and_never_returned(run_module, keys_sent):
    result = run_module(vm_input, dict(uri='test:///default', name='test', text='s3cret!\n', delay=0))
    assert [codes for dummy, dummy, dummy, codes in keys_sent] == [[31], [4], [46], [19], [18], [20], [42, 2], [28]]
    assert 's3cret' not in json.dumps(dict((k, v) for k, v in result.items() if k != 'invocation'))
    assert result['actions'] == ['type 8 characters']
    assert 'input_events' not in result


def test_report_events_lists_what_the_guest_sees_also_in_check_mode(run_module, keys_sent):
    args = dict(uri='test:///default', name='test', text='A\n', delay=0, report_events=True)
    for check_mode in (True, False):
        result = run_module(vm_input, args, check_mode=check_mode)
        # shift pressed, a pressed, a released, shift released; then enter
        assert result['input_events'] == [[1, 42, 1], [1, 30, 1], [1, 30, 0], [1, 42, 0], [1, 28, 1], [1, 28, 0]]
    assert len(keys_sent) == 2


def test_untypeable_text_fails_before_any_key(run_module, keys_sent):
    with pytest.raises(ModuleFail) as err:
        run_module(vm_input, dict(uri='test:///default', name='test', text=u'ok \u20ac'))
    assert u"character '\u20ac' at position 3 of the text cannot be typed" in err.value.result['msg']
    assert keys_sent == []


def test_absolute_mouse_needs_a_tablet(run_module, qmp_sent):
    with pytest.raises(ModuleFail) as err:
        run_module(vm_input, dict(uri='test:///default', name='test', mouse=[dict(x=10, y=10, button='left')]))
    assert "VM 'test' has no tablet input device" in err.value.result['msg']
    assert "vmcat.libvirt.vm with inputs: [{type: tablet}]" in err.value.result['msg']
    assert qmp_sent == []


def test_mouse_with_a_tablet_scales_to_the_screen(run_module, node_uri, qmp_sent):
    with Connection(node_uri) as conn:  # the node file keeps the new VM for the module runs
        from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _rehearsal_node
        with _rehearsal_node.session(node_uri) as node:
            node.restore(conn)
            conn.virt.defineXML(TABLET_VM).create()
            node.persist(conn)
    result = run_module(vm_input, dict(uri=node_uri, name='desk', delay=0, mouse=[
        dict(x=560, y=416, button='left'), dict(x=10, y=-10, relative=True)]))
    # the test driver's screen is 1120x832
    assert qmp_sent[0] == {'execute': 'input-send-event', 'arguments': {'events': [
        {'type': 'abs', 'data': {'axis': 'x', 'value': 560 * 32767 // 1120}},
        {'type': 'abs', 'data': {'axis': 'y', 'value': 416 * 32767 // 832}}]}}
    assert [e['arguments']['events'][0]['data'].get('down') for e in qmp_sent[1:3]] == [True, False]
    assert qmp_sent[3]['arguments']['events'][0] == {'type': 'rel', 'data': {'axis': 'x', 'value': 10}}
    assert result['sent'] == dict(key_strokes=0, mouse_events=6)
    assert result['actions'] == ['mouse move to 560,416, click left', 'mouse move by 10,-10']
    result = run_module(vm_input, dict(uri=node_uri, name='desk', delay=0, report_events=True, mouse=[
        dict(x=0, y=831, button='right', action='double_click'), dict(button='wheel_down'),
        dict(x=-3, relative=True, button='middle', action='press')]), check_mode=True)
    assert result['input_events'] == [
        [3, 0, 0], [3, 1, 831 * 32767 // 832], [1, 273, 1], [1, 273, 0], [1, 273, 1], [1, 273, 0],
        [2, 8, -1], [2, 0, -3], [1, 274, 1]]  # no relative y of 0: the guest drops it
    result = run_module(vm_input, dict(uri=node_uri, name='desk', delay=0, report_events=True, mouse=[
        dict(x=5, y=5), dict(x=5, y=6), dict(button='left', action='press'), dict(button='left', action='press')]),
        check_mode=True)
    assert result['input_events'] == [[3, 0, 5 * 32767 // 1120], [3, 1, 5 * 32767 // 832], [3, 1, 6 * 32767 // 832],
                                      [1, 272, 1]]
    with pytest.raises(ModuleFail) as err:
        run_module(vm_input, dict(uri=node_uri, name='desk', mouse=[dict(x=1120, y=0)]))
    assert 'x 1120 is off the screen, which is 1120 pixels wide' in err.value.result['msg']
    assert len(qmp_sent) == 4


@pytest.mark.parametrize('args, message', [
    (dict(name='test'), 'one of the following is required: keys, text, mouse'),
    (dict(name='test', keys=['a'], text='a'), 'parameters are mutually exclusive: keys|text|mouse'),
    (dict(name='test', keys=['ctrl-nope']), "unknown key 'nope'"),
    (dict(name='test', text='a', layout='de'), 'value of layout must be one of: us'),
    (dict(name='test', mouse=[dict(button='left', action='hold')]), 'value of action must be one of'),
    (dict(name='nope', keys=['a']), "VM 'nope' not found on test:///default"),
])
def test_bad_input(run_module, keys_sent, args, message):
    with pytest.raises(ModuleFail) as err:
        run_module(vm_input, dict(args, uri='test:///default'))
    assert message in err.value.result['msg']
    assert keys_sent == []


def test_a_stopped_vm_gets_no_input(run_module, node_uri, keys_sent):
    with pytest.raises(ModuleFail) as err:
        run_module(vm_input, dict(uri=node_uri, name='d1', keys=['enter']), check_mode=True)
    assert "VM 'd1' on %s is not running (state shutoff)" % node_uri in err.value.result['msg']
    assert err.value.result['state'] == 'shutoff'
