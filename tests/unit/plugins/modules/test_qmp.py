# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _qmp
from ansible_collections.vmcat.libvirt.plugins.modules import qmp
from ansible_collections.vmcat.libvirt.tests.unit.helpers import ModuleFail
from ansible_collections.vmcat.libvirt.tests.unit.fakes.qmp import FakeQmpServer


@pytest.fixture
def server():
    fake = FakeQmpServer({'query-status': {'status': 'running'}, 'stop': {},
                          'cont': ('error', 'GenericError', 'Resetting the Virtual Machine is required')})
    yield fake
    fake.close()


def test_a_query_through_a_socket_is_no_change_and_runs_in_check_mode(run_module, server):
    for check_mode in (True, False):
        result = run_module(qmp, dict(socket=server.path, command='query-status'), check_mode=check_mode)
        assert result['changed'] is False
        assert result['reply'] == {'status': 'running'}
        assert result['sent'] is True and result['query'] is True
        assert result['qemu_version'] == {'major': 7, 'minor': 2, 'micro': 22}
        assert result['actions'] == []
    assert server.commands() == ['query-status', 'query-status']


def test_other_commands_change_and_are_not_sent_in_check_mode(run_module, server):
    checked = run_module(qmp, dict(socket=server.path, command='stop'), check_mode=True)
    assert checked['changed'] is True and checked['sent'] is False and checked['reply'] is None
    assert checked['actions'] == ['qmp stop']
    assert server.received == []  # not even connected
    done = run_module(qmp, dict(socket=server.path, command='stop'))
    assert done['changed'] is True and done['sent'] is True and done['reply'] == {}
    assert server.commands() == ['stop']


def test_a_refused_command_fails_with_qemus_error(run_module, server):
    with pytest.raises(ModuleFail) as err:
        run_module(qmp, dict(socket=server.path, command='cont'))
    result = err.value.result
    assert 'QMP command cont failed on QMP socket %s: GenericError: Resetting' % server.path in result['msg']
    assert result['error_class'] == 'GenericError'


def test_through_libvirt_passthrough(run_module, monkeypatch):
    sent = []

    def fake(dom, text, flags):
        sent.append((dom.name(), json.loads(text)))
        return json.dumps({'return': {'qemu': {'major': 7}}, 'id': 'libvirt-3'})
    monkeypatch.setattr(_qmp.libvirt_qemu, 'qemuMonitorCommand', fake)
    result = run_module(qmp, dict(uri='test:///default', name='test', command='query-version'))
    assert result['changed'] is False and result['vm'] == 'test' and result['reply'] == {'qemu': {'major': 7}}
    stop = dict(uri='test:///default', name='test', command='set_link', arguments={'name': 'net0', 'up': False})
    assert run_module(qmp, stop, check_mode=True)['changed'] is True
    assert len(sent) == 1
    assert run_module(qmp, stop)['changed'] is True
    assert sent[-1] == ('test', {'execute': 'set_link', 'arguments': {'name': 'net0', 'up': False}})


def test_the_test_driver_has_no_monitor(run_module):
    with pytest.raises(ModuleFail) as err:
        run_module(qmp, dict(uri='test:///default', name='test', command='query-status'))
    assert 'only QEMU/KVM VMs (qemu:// URIs) have a QMP monitor' in err.value.result['msg']


@pytest.mark.parametrize('args, message', [
    (dict(command='query-status'), 'one of the following is required: name, socket'),
    (dict(name='test', socket='/x', command='query-status'), 'mutually exclusive: name|socket'),
    (dict(name='nope', command='query-status'), "VM 'nope' not found on test:///default; existing VMs: test"),
    (dict(name='test', command='query status'), 'is not a QMP command name'),
    (dict(socket='/x', command='query-status', timeout=0), 'timeout must be a positive number'),
])
def test_bad_input(run_module, args, message):
    args = dict(args, uri='test:///default')
    with pytest.raises(ModuleFail) as err:
        run_module(qmp, args)
    assert message in err.value.result['msg']


def test_a_vm_that_is_not_running(run_module, node_uri):
    with pytest.raises(ModuleFail) as err:
        run_module(qmp, dict(uri=node_uri, name='d1', command='query-status'))
    assert "VM 'd1' on %s is not running (state shutoff)" % node_uri in err.value.result['msg']
