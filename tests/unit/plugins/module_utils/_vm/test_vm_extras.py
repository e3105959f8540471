# -*- coding: utf-8 -*-
"""The vm module's extras: argument specs against their doc fragment, input checks, and waiting."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools

import pytest
import yaml

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.vmcat.libvirt.plugins.doc_fragments.vm_extras import ModuleDocFragment
from ansible_collections.vmcat.libvirt.plugins.module_utils._vm import _runtime_options as ex
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput, VmcatError, WaitTimeout
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._wait import wait_for
from ansible_collections.vmcat.libvirt.tests.unit.fakes.domain import AGENT, LEASE, AddressDom
from ansible_collections.vmcat.libvirt.tests.unit.fakes.errors import NOT_CONNECTED
from ansible_collections.vmcat.libvirt.tests.unit.helpers import FakeClock


# -- the spec and its documentation agree ------------------------------------------------------
def _compare(spec, docs, path=''):
    assert sorted(spec) == sorted(docs), 'options differ at %s' % (path or 'top')
    for name, option in spec.items():
        doc = docs[name]
        where = path + name
        assert option.get('type', 'str') == doc.get('type', 'str'), where
        assert option.get('default') == doc.get('default'), where
        assert option.get('choices') == doc.get('choices'), where
        assert option.get('elements') == doc.get('elements'), where
        assert bool(option.get('required')) == bool(doc.get('required')), where
        assert doc.get('description'), where
        if option.get('options') or doc.get('suboptions'):
            _compare(option.get('options') or {}, doc.get('suboptions') or {}, where + '.')


def test_the_doc_fragment_documents_the_specs_exactly():
    docs = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)['options']
    _compare(ex.extras_argument_spec(), docs)


def test_the_fragments_are_what_the_vm_module_merges():
    assert set(ex.CLOUD_INIT_SPEC) == {'cloud_init'}
    assert set(ex.WAIT_SPEC) == {'wait_for', 'wait_timeout', 'ip_source', 'ip_networks'}
    assert set(ex.MIGRATE_SPEC) == {'migrate_to'}
    spec = ex.extras_argument_spec()
    spec['cloud_init']['options']['pool']['default'] = 'changed'
    assert 'default' not in ex.CLOUD_INIT_SPEC['cloud_init']['options']['pool']  # copies, not the originals


def test_ansible_accepts_the_spec_and_hides_the_password():
    result = ArgumentSpecValidator(ex.extras_argument_spec()).validate({
        'cloud_init': {'user_data': {'a': 1}, 'password': 'hunter2', 'ssh_authorized_keys': ['ssh-ed25519 AAAA x']},
        'wait_for': 'ip',
        'migrate_to': {'uri': 'qemu+ssh://kvm2/system'},
    })
    assert result.error_messages == []
    params = result.validated_parameters
    assert 'hunter2' in result._no_log_values
    assert params['wait_timeout'] == 300 and params['ip_source'] == ['agent', 'lease', 'arp']
    assert params['migrate_to']['live'] is True and params['migrate_to']['copy_storage'] == 'none'
    assert params['cloud_init']['user_data'] == {'a': 1}
    bad = ArgumentSpecValidator(ex.extras_argument_spec()).validate({'migrate_to': {'live': True}})
    assert 'missing required arguments: uri' in ' '.join(bad.error_messages)


# -- validate_extras ------------------------------------------------------------------------------
def base(**kw):
    params = {'name': 'web1', 'state': 'running', 'cloud_init': None, 'wait_for': None, 'wait_timeout': 300,
              'ip_source': ['agent', 'lease', 'arp'], 'ip_networks': None, 'migrate_to': None}
    params.update(kw)
    return params


def test_good_extras_pass():
    ex.validate_extras(base())
    ex.validate_extras(base(cloud_init={'user_data': {'a': 1}}, wait_for='ip', ip_networks=['10.0.0.0/8'],
                            migrate_to={'uri': 'qemu+ssh://kvm2/system'}))
    ex.validate_extras(base(state='present', wait_for='agent'))


@pytest.mark.parametrize('params, message', [
    (base(cloud_init={'network_config': {'version': 5}}), "needs 'version: 1' or 'version: 2'"),
    (base(cloud_init={'bus': 'ide', 'target': 'vdb'}), 'does not fit bus ide'),
    (base(wait_for='agent', state='shutdown'), 'wait_for: agent needs a running VM, but state is shutdown'),
    (base(wait_for='ip', wait_timeout=0), 'wait_timeout must be larger than 0'),
    (base(ip_source=['dns']), 'unknown: dns'),
    (base(ip_networks=['x']), "'x' is not a network"),
    (base(migrate_to={'uri': 'qemu:///system', 'tunnelled': True}), 'tunnelled needs migrate_to.p2p'),
    (base(migrate_to={'uri': 'qemu:///system'}, state='absent'), 'contradict'),
])
def test_bad_extras_fail(params, message):
    with pytest.raises(InvalidInput) as err:
        ex.validate_extras(params)
    assert message in str(err.value)


# -- waiting --------------------------------------------------------------------------------------
@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock(start=0.0)
    monkeypatch.setattr(ex, 'wait_for', functools.partial(wait_for, clock=fake, sleep=fake.sleep))
    return fake


class WaitDom(AddressDom):
    """A running VM whose agent and leases appear after some polls."""

    def __init__(self, ready_after=3, states=None, **answers):
        AddressDom.__init__(self, **answers)
        self.polls = 0
        self.ready_after = ready_after
        self.states = list(states or [])

    def name(self):
        return 'web1'

    def state(self):
        return [self.states.pop(0) if self.states else 1, 1]

    def interfaceAddresses(self, source, flags=0):
        if source == 0:
            self.polls += 1
            if self.polls < self.ready_after:
                return {}
        return AddressDom.interfaceAddresses(self, source, flags)


def ctx_for(make_ctx, check_mode=False):
    return make_ctx(None, {}, check_mode=check_mode)


def test_wait_for_an_address(make_ctx, clock):
    dom = WaitDom(ready_after=3, agent=NOT_CONNECTED, lease=LEASE)
    found = ex.wait_for_vm(ctx_for(make_ctx), dom, base(wait_for='ip', ip_source=['agent', 'lease']))
    assert [a['ip'] for a in found] == ['10.0.0.5', '10.0.0.6'] and dom.polls == 3
    assert clock.now > 0


def test_wait_for_an_address_in_a_network(make_ctx, clock):
    dom = WaitDom(ready_after=1, agent=AGENT, lease=LEASE)
    found = ex.wait_for_vm(ctx_for(make_ctx), dom, base(wait_for='ip', ip_networks=['2001:db8::/32']))
    assert [a['ip'] for a in found] == ['2001:db8::5']


def test_wait_for_the_agent(make_ctx, clock, monkeypatch):
    answers = iter([False, False, True])
    monkeypatch.setattr(ex, 'agent_available', lambda dom: next(answers))
    dom = WaitDom(ready_after=1, agent=AGENT, lease=LEASE)
    found = ex.wait_for_vm(ctx_for(make_ctx), dom, base(wait_for='agent'))
    assert [a['ip'] for a in found] == ['10.0.0.5', '2001:db8::5', '10.0.0.6']


@pytest.mark.parametrize('mode', ['agent', 'ip'])
def test_a_booting_guest_is_seen_within_a_second_of_being_ready(make_ctx, clock, monkeypatch, mode):
    # A guest ready 12.3 s after the wait began: the task returns at most 1 s later, not after a 5 s pause.
    monkeypatch.setattr(ex, 'agent_available', lambda dom: clock.now >= 12.3)
    dom = WaitDom(ready_after=10 ** 6, agent=AGENT, lease=LEASE)
    if mode == 'ip':
        monkeypatch.setattr(ex._addresses, 'vm_addresses',
                            lambda *args, **kwargs: [{'ip': '10.0.0.5'}] if clock.now >= 12.3 else [])
    ex.wait_for_vm(ctx_for(make_ctx), dom, base(wait_for=mode))
    assert 12.3 <= clock.now <= 13.3


def test_a_timeout_says_why(make_ctx, clock, monkeypatch):
    dom = WaitDom(ready_after=10 ** 6, agent=NOT_CONNECTED)
    with pytest.raises(WaitTimeout) as err:
        ex.wait_for_vm(ctx_for(make_ctx), dom, base(wait_for='ip', wait_timeout=20, ip_source=['agent', 'lease']))
    msg = str(err.value)
    assert "timed out after 20s waiting for an IP address of VM 'web1' (sources: agent, lease)" in msg
    assert 'lease needs a NIC on a libvirt network with DHCP' in msg
    assert 'last problems: agent: Guest agent is not responding: QEMU guest agent is not connected' in msg
    assert err.value.details['wait_for'] == 'ip' and err.value.details['timeout'] == 20
    assert clock.now == pytest.approx(20)

    monkeypatch.setattr(ex, 'agent_available', lambda dom: False)
    with pytest.raises(WaitTimeout) as err:
        ex.wait_for_vm(ctx_for(make_ctx), dom, base(wait_for='agent', wait_timeout=5))
    assert "waiting for the guest agent of VM 'web1': is qemu-guest-agent installed" in str(err.value)


@pytest.mark.parametrize('state, word', [(5, 'shut off'), (3, 'paused'), (6, 'crashed')])
def test_a_vm_that_stops_ends_the_wait_at_once(make_ctx, clock, state, word):
    dom = WaitDom(ready_after=10 ** 6, states=[1, 1, state])
    with pytest.raises(VmcatError) as err:
        ex.wait_for_vm(ctx_for(make_ctx), dom, base(wait_for='ip'))
    assert not isinstance(err.value, WaitTimeout)
    assert "VM 'web1' is %s, so waiting for an IP address" % word in str(err.value)
    assert clock.now < 10


def test_check_mode_and_no_wait(make_ctx, clock):
    dom = WaitDom(ready_after=10 ** 6, agent=AGENT)
    assert [a['ip'] for a in ex.wait_for_vm(ctx_for(make_ctx, True), dom, base(wait_for='ip'))] == [
        '10.0.0.5', '2001:db8::5']
    assert ex.wait_for_vm(ctx_for(make_ctx, True), WaitDom(states=[5]), base(wait_for='ip')) == []
    assert ex.wait_for_vm(ctx_for(make_ctx), dom, base()) == []
    assert ex.wait_for_vm(ctx_for(make_ctx), None, base(wait_for='ip')) == []
    assert clock.now == 0


def test_after_a_reboot_the_old_agent_must_go_away_first(make_ctx, clock, monkeypatch):
    answers = iter([True, True, False, False, True])  # old agent, old agent, rebooting, rebooting, new agent
    asked = []

    def available(dom):
        asked.append(1)
        return next(answers)
    monkeypatch.setattr(ex, 'agent_available', available)
    ctx = ctx_for(make_ctx)
    ctx.actions.append('reboot (acpi)')
    ex.wait_for_vm(ctx, WaitDom(agent=AGENT), base(wait_for='agent'))
    assert len(asked) == 5


def test_a_reboot_the_agent_never_noticed_is_warned_about(make_ctx, clock, monkeypatch):
    monkeypatch.setattr(ex, 'agent_available', lambda dom: True)
    ctx = ctx_for(make_ctx)
    warnings = []
    monkeypatch.setattr(ctx, 'warn', warnings.append)
    ex.wait_for_vm(ctx, WaitDom(agent=AGENT), base(wait_for='agent', wait_timeout=30), rebooted=True)
    assert clock.now == pytest.approx(30)
    assert warnings == ["the guest agent of VM 'web1' kept answering for 30s after the reboot request; the guest may "
                        "not have rebooted"]
    clock.now = 0
    ex.wait_for_vm(ctx_for(make_ctx), WaitDom(agent=AGENT), base(wait_for='agent'))  # no reboot: no waiting
    assert clock.now == 0
