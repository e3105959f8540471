# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _qmp
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput, VmcatError
from ansible_collections.vmcat.libvirt.tests.unit.fakes.qmp import FakeQmpServer


@pytest.fixture
def qmp_server():
    servers = []

    def make(replies=None, silent=(), closing=()):
        servers.append(FakeQmpServer(replies, silent, closing))
        return servers[-1]
    yield make
    for server in servers:
        server.close()


def test_queries_are_recognised():
    assert _qmp.is_query('query-status') and _qmp.is_query('x-query-virtio') and _qmp.is_query('qom-get')
    assert not _qmp.is_query('system_powerdown') and not _qmp.is_query('qom-set') and not _qmp.is_query('quit')


@pytest.mark.parametrize('command, arguments, message', [
    ('', None, 'is not a QMP command name'),
    ('query status', None, 'is not a QMP command name'),
    (' query-status', None, 'is not a QMP command name'),
    ('query-status', ['a'], 'arguments must be a dictionary'),
])
def test_validate_command(command, arguments, message):
    with pytest.raises(InvalidInput) as err:
        _qmp.validate_command(command, arguments)
    assert message in str(err.value)


def test_reply_values_and_errors():
    assert _qmp.message('query-status') == {'execute': 'query-status'}
    assert _qmp.message('x', {'a': 1}) == {'execute': 'x', 'arguments': {'a': 1}}
    assert _qmp.reply_value({'return': {'status': 'running'}, 'id': 'libvirt-1'}, 'q', 'here') == {'status': 'running'}
    with pytest.raises(_qmp.QmpCommandError) as err:
        _qmp.reply_value({'error': {'class': 'GenericError', 'desc': "Parameter 'x' is unexpected"}}, 'q', 'VM w')
    assert str(err.value) == "QMP command q failed on VM w: GenericError: Parameter 'x' is unexpected"
    assert err.value.details == {'error_class': 'GenericError', 'error_desc': "Parameter 'x' is unexpected"}
    with pytest.raises(VmcatError) as err:
        _qmp.reply_value({'id': 1}, 'q', 'here')
    assert 'without a return value' in str(err.value)


class _Dom:
    def name(self):
        return 'web1'


class _Conn:
    uri = 'qemu:///system'


def test_monitor_command_goes_through_libvirt_passthrough(monkeypatch):
    calls = []

    def fake(dom, text, flags):
        calls.append((text, flags))
        return json.dumps({'return': {'status': 'running'}, 'id': 'libvirt-7'})
    monkeypatch.setattr(_qmp.libvirt_qemu, 'qemuMonitorCommand', fake)
    assert _qmp.monitor_command(_Conn(), _Dom(), 'query-status') == {'status': 'running'}
    assert json.loads(calls[0][0]) == {'execute': 'query-status'} and calls[0][1] == 0
    monkeypatch.setattr(_qmp.libvirt_qemu, 'qemuMonitorCommand', lambda dom, text, flags: 'not json')
    with pytest.raises(VmcatError) as err:
        _qmp.monitor_command(_Conn(), _Dom(), 'query-status')
    assert "reply that is not JSON" in str(err.value)


def test_monitor_command_on_a_driver_without_qmp(conn):
    dom = conn.require_domain('test')
    with pytest.raises(VmcatError) as err:
        _qmp.monitor_command(conn, dom, 'query-status')
    assert "could not send QMP command query-status to VM 'test' on test:///default" in str(err.value)
    assert 'only QEMU/KVM VMs (qemu:// URIs) have a QMP monitor' in str(err.value)


def test_socket_command_negotiates_and_returns_the_value(qmp_server):
    server = qmp_server({'query-status': {'status': 'running', 'running': True}})
    value, version = _qmp.socket_command(server.path, 'query-status')
    assert value == {'status': 'running', 'running': True}
    assert version == {'major': 7, 'minor': 2, 'micro': 22}
    assert [m['execute'] for m in server.received] == ['qmp_capabilities', 'query-status']
    _qmp.socket_command(server.path, 'query-status', {'x': 1})
    assert server.received[-1].get('arguments') == {'x': 1}


def test_a_server_that_closes_after_answering_is_a_success(qmp_server):
    server = qmp_server({'quit': {}}, closing={'quit'})
    assert _qmp.socket_command(server.path, 'quit')[0] == {}


def test_socket_command_errors(qmp_server, tmp_path):
    server = qmp_server({'device_del': ('error', 'DeviceNotFound', "Device 'x' not found")}, silent={'query-slow'})
    with pytest.raises(_qmp.QmpCommandError) as err:
        _qmp.socket_command(server.path, 'device_del', {'id': 'x'})
    assert "QMP command device_del failed on QMP socket %s: DeviceNotFound: Device 'x' not found" % server.path \
        in str(err.value)
    assert err.value.details['error_class'] == 'DeviceNotFound'
    with pytest.raises(VmcatError) as err:
        _qmp.socket_command(server.path, 'query-slow', timeout=1)
    assert 'no answer from QMP socket %s within 1s' % server.path in str(err.value)
    with pytest.raises(VmcatError) as err:
        _qmp.socket_command(str(tmp_path / 'none.sock'), 'query-status', timeout=2)
    assert 'could not connect to QMP socket %s' % (tmp_path / 'none.sock') in str(err.value)
    assert '-qmp unix:' in str(err.value)


def test_require_monitor(conn):
    dom = conn.require_domain('test')
    _qmp.require_monitor(conn, dom)
    dom.suspend()
    try:
        _qmp.require_monitor(conn, dom)
        with pytest.raises(VmcatError) as err:
            _qmp.require_monitor(conn, dom, allow_paused=False)
        assert 'is paused; resume it first' in str(err.value)
    finally:
        dom.resume()
    dom.destroy()
    try:
        with pytest.raises(VmcatError) as err:
            _qmp.require_monitor(conn, dom)
        assert "VM 'test' on test:///default is not running (state shutoff)" in str(err.value)
    finally:
        dom.create()
