# -*- coding: utf-8 -*-
"""Guest-agent commands and the mapping of libvirt's agent errors, with fake domains raising real libvirt errors.

The error codes and messages (tests/unit/fakes/errors.py) are the ones
libvirt 9.0 and qemu-ga 7.2 gave on the test bed (see the module doc of
_guest_agent).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import libvirt
import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _guest_agent as ga
from ansible_collections.vmcat.libvirt.tests.unit.fakes.errors import (
    DISABLED, FAILED, FAILED_10, NOT_AVAILABLE, NOT_CONFIGURED, NOT_CONNECTED, NOT_FOUND, NOT_RUNNING, OTHER, TIMEOUT_10,
    UNSYNCED, AgentReplyError)


class FakeConn:
    def getURI(self):
        return 'qemu:///system'


class FakeDom:
    def __init__(self, state=1, raises=None):
        self._state = state
        self.raises = raises
        self.calls = []

    def name(self):
        return 'web1'

    def connect(self):
        return FakeConn()

    def state(self):
        return [self._state, 1]

    def shutdownFlags(self, flags):
        self.calls.append(('shutdownFlags', flags))
        if self.raises:
            raise self.raises

    def reboot(self, flags):
        self.calls.append(('reboot', flags))
        if self.raises:
            raise self.raises


class FakeQemu:
    """Stands in for libvirt_qemu: answers from a list (str replies or exceptions)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.sent = []

    def qemuAgentCommand(self, dom, text, timeout, flags):
        self.sent.append((json.loads(text), timeout, flags))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture
def agent(monkeypatch):
    def install(*answers):
        fake = FakeQemu(*answers)
        monkeypatch.setattr(ga, 'libvirt_qemu', fake)
        return fake
    return install


def test_a_command_returns_the_agent_return_value(agent):
    fake = agent('{"return": {"pid": 42}}')
    assert ga.agent_command(FakeDom(), 'guest-exec', {'path': '/bin/true'}, timeout=7) == {'pid': 42}
    assert fake.sent == [({'execute': 'guest-exec', 'arguments': {'path': '/bin/true'}}, 7, 0)]
    agent('{"return": {}}')
    assert ga.agent_command(FakeDom(), 'guest-ping') == {}


def test_no_arguments_key_without_arguments(agent):
    fake = agent('{"return": {}}')
    ga.agent_command(FakeDom(), 'guest-ping')
    assert fake.sent[0][0] == {'execute': 'guest-ping'} and fake.sent[0][1] == 5


@pytest.mark.parametrize('error, cls, reason, words', [
    (NOT_CONNECTED, ga.AgentNotConnected, 'not_connected',
     ["guest agent of VM 'web1' on qemu:///system is not connected (is qemu-guest-agent installed and running, "
      "and does the VM have the org.qemu.guest_agent.0 channel?)"]),
    (NOT_AVAILABLE, ga.AgentTimeout, 'timeout', ['did not answer guest-ping within 5s', 'not available for now']),
    (TIMEOUT_10, ga.AgentTimeout, 'timeout', ['did not answer guest-ping']),
    (UNSYNCED, ga.AgentTimeout, 'unsynced', ['did not answer guest-ping']),
    (NOT_CONFIGURED, ga.AgentNotConfigured, 'no_channel',
     ["VM 'web1' on qemu:///system has no guest agent channel", "name='org.qemu.guest_agent.0'", 'guest_agent: true']),
    (NOT_RUNNING, ga.VmNotRunning, 'not_running', ["VM 'web1' on qemu:///system is not running", 'start it']),
    (OTHER, ga.AgentError, 'error', ['could not send guest-ping', 'cause is unknown']),
])
def test_unavailable_agents(agent, error, cls, reason, words):
    agent(error)
    with pytest.raises(cls) as err:
        ga.agent_command(FakeDom(), 'guest-ping')
    for word in words:
        assert word in str(err.value)
    assert err.value.details['reason'] == reason
    assert err.value.details['vm'] == 'web1' and err.value.details['command'] == 'guest-ping'
    assert err.value.details['libvirt_code'] == error.get_error_code()


def test_a_paused_vm_is_named_as_paused(agent):
    agent(NOT_RUNNING)
    with pytest.raises(ga.VmNotRunning) as err:
        ga.agent_command(FakeDom(state=3), 'guest-ping')
    assert 'is paused' in str(err.value) and err.value.details['reason'] == 'paused'


@pytest.mark.parametrize('error, cls, reason, words', [
    (DISABLED, ga.AgentCommandDisabled, 'disabled',
     ["command guest-exec is disabled by the guest's agent configuration (qemu-ga --block-rpcs or allow-rpcs); ",
      'restart qemu-guest-agent', "VM 'web1'"]),
    (NOT_FOUND, ga.AgentCommandNotFound, 'not_found', ['does not know command guest-exec', 'upgrade qemu-guest-agent']),
    (FAILED, ga.AgentCommandFailed, 'failed', ["guest agent command guest-exec failed in VM 'web1' on qemu:///system: "
                                               "failed to open file '/nonexistent/x'"]),
    (FAILED_10, ga.AgentCommandFailed, 'failed', ["Parameter 'bogus' is unexpected"]),
])
def test_agent_error_replies(agent, error, cls, reason, words):
    agent(error)
    with pytest.raises(cls) as err:
        ga.agent_command(FakeDom(), 'guest-exec', {'path': '/bin/true'})
    for word in words:
        assert word in str(err.value)
    assert err.value.details['reason'] == reason
    assert isinstance(err.value, ga.AgentCommandError)


@pytest.mark.parametrize('reply, cls', [
    ({'class': 'CommandNotFound', 'desc': 'The command guest-x has not been found'}, ga.AgentCommandNotFound),
    ({'class': 'CommandDisabled', 'desc': 'whatever'}, ga.AgentCommandDisabled),
    ({'class': 'GenericError', 'desc': 'Command guest-exec has been disabled'}, ga.AgentCommandDisabled),
    ({'class': 'GenericError', 'desc': 'out of memory'}, ga.AgentCommandFailed),
])
def test_raw_error_replies(agent, reply, cls):
    agent(json.dumps({'error': reply}))
    with pytest.raises(cls):
        ga.agent_command(FakeDom(), 'guest-x')


@pytest.mark.parametrize('raw', ['not json', '[1, 2]'])
def test_unreadable_replies(agent, raw):
    agent(raw)
    with pytest.raises(ga.AgentCommandFailed) as err:
        ga.agent_command(FakeDom(), 'guest-ping')
    assert err.value.details['reason'] == 'bad_reply'


def test_agent_available(agent):
    agent('{"return": {}}')
    assert ga.agent_available(FakeDom()) is True
    for error in (NOT_CONNECTED, NOT_AVAILABLE, NOT_CONFIGURED, NOT_RUNNING, TIMEOUT_10):
        agent(error)
        assert ga.agent_available(FakeDom()) is False
    agent(AgentReplyError('guest-ping', 'Command guest-ping has been disabled'))
    assert ga.agent_available(FakeDom()) is True  # it answered
    agent(OTHER)
    with pytest.raises(ga.AgentError):
        ga.agent_available(FakeDom())


def test_agent_available_uses_a_short_timeout(agent):
    fake = agent('{"return": {}}')
    ga.agent_available(FakeDom())
    assert fake.sent[0][1] == 2


def test_agent_info(agent):
    agent(json.dumps({'return': {'version': '7.2.22', 'supported_commands': [
        {'name': 'guest-ping', 'enabled': True, 'success-response': True},
        {'name': 'guest-exec-status', 'enabled': False, 'success-response': True},
        {'name': 'guest-exec', 'enabled': False, 'success-response': True},
        {'name': 'guest-info', 'enabled': True, 'success-response': True}]}}))
    assert ga.agent_info(FakeDom()) == {'version': '7.2.22', 'enabled': ['guest-info', 'guest-ping'],
                                        'disabled': ['guest-exec', 'guest-exec-status']}


def test_shutdown_modes(agent):
    dom = FakeDom()
    ga.agent_shutdown(dom)
    ga.agent_shutdown(dom, 'reboot')
    assert dom.calls == [('shutdownFlags', libvirt.VIR_DOMAIN_SHUTDOWN_GUEST_AGENT),
                         ('reboot', libvirt.VIR_DOMAIN_REBOOT_GUEST_AGENT)]
    fake = agent(NOT_AVAILABLE)  # qemu-ga sends no reply to guest-shutdown
    ga.agent_shutdown(dom, 'halt')
    assert fake.sent[0][0] == {'execute': 'guest-shutdown', 'arguments': {'mode': 'halt'}}
    with pytest.raises(ga.AgentError) as err:
        ga.agent_shutdown(dom, 'sleep')
    assert 'powerdown, reboot, halt' in str(err.value)


def test_shutdown_errors_are_mapped(agent):
    with pytest.raises(ga.AgentNotConnected) as err:
        ga.agent_shutdown(FakeDom(raises=NOT_CONNECTED))
    assert err.value.details['command'] == 'guest-shutdown'
    with pytest.raises(ga.AgentNotConfigured):
        ga.agent_shutdown(FakeDom(raises=NOT_CONFIGURED), 'reboot')
    agent(NOT_CONNECTED)
    with pytest.raises(ga.AgentNotConnected):
        ga.agent_shutdown(FakeDom(), 'halt')


def test_the_test_driver_has_no_agent(conn):
    """Real libvirt, no fake: the test driver does not implement agent commands."""
    dom = conn.virt.lookupByName('test')
    with pytest.raises(ga.AgentError) as err:
        ga.agent_command(dom, 'guest-ping')
    assert "VM 'test' on test:///default" in str(err.value)
    assert err.value.details['libvirt_code'] == libvirt.VIR_ERR_NO_SUPPORT
    with pytest.raises(ga.AgentError):
        ga.agent_available(dom)
