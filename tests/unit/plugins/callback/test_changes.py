# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json

import pytest

from ansible_collections.vmcat.libvirt.plugins.callback import changes
from ansible_collections.vmcat.libvirt.plugins.plugin_utils import _change_report as report

WHEN = datetime.datetime(2026, 11, 22, 10, 31, 2, tzinfo=datetime.timezone.utc)
POOL = {'name': 'images', 'type': 'dir', 'target': {'path': '/srv/images', 'mode': '0711'}, 'autostart': True}


def record(action='vmcat.libvirt.pool', result=None, args=None, check_mode=False, task='A task'):
    return report.make_record(action, result, args or {}, task, 'localhost', check_mode, when=WHEN)


def pool_result(before, after, **extra):
    result = dict(changed=True, pool=after or {}, actions=['define'],
                  invocation={'module_args': dict(name='images', uri='qemu:///system', password=None)})
    if before is not None or after is not None:
        result['diff'] = {'before': before or {}, 'after': after or {}}
    result.update(extra)
    return result


def test_created_updated_and_removed_come_from_the_diff():
    created = record(result=pool_result(None, POOL))
    assert created == {
        'time': '2026-11-22T10:31:02Z', 'host': 'localhost', 'task': 'A task', 'module': 'vmcat.libvirt.pool',
        'node': 'qemu:///system', 'kind': 'pool', 'name': 'images', 'check_mode': False, 'action': 'created',
        'actions': ['define'], 'changes': {}}
    updated = dict(POOL, target={'path': '/srv/images', 'mode': '0755'}, autostart=False)
    rec = record(result=pool_result(POOL, updated))
    assert rec['action'] == 'updated'
    assert rec['changes'] == {'autostart': {'before': True, 'after': False},
                              'target.mode': {'before': '0711', 'after': '0755'}}
    assert record(result=pool_result(POOL, None))['action'] == 'removed'


def test_without_a_diff_the_action_is_changed_or_removed_and_the_actions_are_kept():
    rec = record(result=dict(changed=True, pool=POOL, actions=['define', 'start'],
                             invocation={'module_args': {'name': 'images', 'uri': 'qemu:///system'}}))
    assert rec['action'] == 'changed' and rec['actions'] == ['define', 'start'] and rec['changes'] == {}
    gone = record(result=dict(changed=True, pool={}, actions=['undefine'],
                              invocation={'module_args': {'name': 'images', 'state': 'absent'}}))
    assert gone['action'] == 'removed' and gone['node'] == 'qemu:///system'


def test_only_changed_results_of_this_collection_are_recorded():
    assert record(result=dict(changed=False, pool=POOL)) is None
    assert record(action='community.libvirt.virt', result=dict(changed=True)) is None
    assert record(action='ansible.builtin.command', result=dict(changed=True)) is None
    assert record(result=dict(changed=True, failed=True)) is None
    assert record(result=dict(changed=True, results=[{'changed': True}])) is None  # loop: items are recorded
    assert record(result=None) is None


def test_secret_keys_are_masked_in_changes():
    before = {'name': 'web1', 'graphics': [{'type': 'vnc', 'password': 'old-pw'}], 'api_token': 'a',
              'cloud_init': {'ssh_authorized_keys': ['ssh-ed25519 AAA']}, 'vcpus': 1}
    after = {'name': 'web1', 'graphics': [{'type': 'vnc', 'password': 'new-pw'}], 'api_token': 'b',
             'cloud_init': {'ssh_authorized_keys': ['ssh-ed25519 BBB']}, 'vcpus': 2}
    rec = record('vmcat.libvirt.vm', dict(changed=True, vm=after, diff={'before': before, 'after': after},
                                          invocation={'module_args': {'name': 'web1'}}))
    assert rec['changes'] == {
        'api_token': {'before': report.MASK, 'after': report.MASK},
        'cloud_init.ssh_authorized_keys.0': {'before': report.MASK, 'after': report.MASK},
        'graphics.0.password': {'before': report.MASK, 'after': report.MASK},
        'vcpus': {'before': 1, 'after': 2}}
    assert 'pw' not in json.dumps(rec)


def test_no_log_results_keep_only_kind_name_and_action():
    censored = {'changed': True, '_ansible_no_log': True,
                'censored': "the output has been hidden due to the fact that 'no_log: true' was specified"}
    rec = record(result=censored, args={'name': 'images', 'password': 'hunter2', 'state': 'absent',
                                        'uri': 'qemu+ssh://admin:pw@kvm1/system'})
    assert rec == {'time': '2026-11-22T10:31:02Z', 'host': 'localhost', 'task': 'A task',
                   'module': 'vmcat.libvirt.pool', 'node': 'qemu+ssh://kvm1/system', 'kind': 'pool',
                   'name': 'images', 'check_mode': False, 'action': 'removed', 'no_log': True}
    assert record(result=censored, args={'name': 'images'})['action'] == 'changed'


def test_task_arguments_give_only_naming_keys():
    args = {'name': 'images', 'password': 'hunter2', 'uri': 'qemu:///system', 'target': {'path': '/x'}}
    assert report.naming_args({}, args) == {'name': 'images', 'uri': 'qemu:///system'}
    invoked = {'invocation': {'module_args': {'name': 'from-result', 'password': 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'}}}
    assert report.naming_args(invoked, args) == {'name': 'from-result'}


@pytest.mark.parametrize('uri, shown', [
    ('qemu:///system', 'qemu:///system'),
    ('qemu+ssh://admin@kvm1.example.com/system', 'qemu+ssh://kvm1.example.com/system'),
    ('qemu+tcp://user:s3cret@kvm1:16509/system', 'qemu+tcp://kvm1:16509/system'),
    ('qemu+ssh://root@kvm1/system?keyfile=/k&no_verify=1', 'qemu+ssh://kvm1/system?keyfile=********&no_verify=1'),
    ('qemu+libssh2://u@h/system?password=x#frag', 'qemu+libssh2://h/system?password=********#frag'),
    ('test:///tmp/node.xml', 'test:///tmp/node.xml'),
    ('', ''),
])
def test_node_uris_lose_their_credentials(uri, shown):
    assert report.strip_credentials(uri) == shown


@pytest.mark.parametrize('action, args, result, kind, name, verb', [
    ('vmcat.libvirt.volume', {'pool': 'images', 'name': 'web1.qcow2'}, {}, 'volume', 'images/web1.qcow2', 'changed'),
    ('vmcat.libvirt.snapshot', {'vm': 'web1', 'name': 'before'}, {}, 'snapshot', 'web1/before', 'changed'),
    ('vmcat.libvirt.vm_input', {'name': 'web1'}, {}, 'vm', 'web1', 'input'),
    ('vmcat.libvirt.qmp', {'name': 'web1', 'command': 'stop'}, {}, 'vm', 'web1', 'qmp'),
    ('vmcat.libvirt.qmp', {'socket': '/run/q.sock'}, {}, 'qemu', '/run/q.sock', 'qmp'),
    ('vmcat.libvirt.vm_screenshot', {'name': 'web1', 'dest': '/s/web1.png'},
     {'diff': {'before': {}, 'after': {'path': '/s/web1.png'}}}, 'screenshot', '/s/web1.png', 'created'),
    ('vmcat.libvirt.network', {}, {'network': {'name': 'from-result'}}, 'network', 'from-result', 'changed'),
])
def test_kinds_and_names(action, args, result, kind, name, verb):
    rec = record(action, dict(result, changed=True, invocation={'module_args': args}))
    assert (rec['kind'], rec['name'], rec['action']) == (kind, name, verb)
    if kind == 'qemu':
        assert rec['node'] == 'local'


def test_check_mode_is_flagged_and_shown_as_would():
    rec = record(result=pool_result(None, POOL), check_mode=True)
    assert rec['check_mode'] is True and rec['action'] == 'created'
    assert report.action_label(rec) == 'would create'
    assert report.action_label(dict(rec, action='input')) == 'would send input'
    assert report.action_label(dict(rec, check_mode=False)) == 'created'


def test_the_table_groups_by_node():
    updated = dict(POOL, autostart=False, target={'path': '/srv/images', 'mode': '0755'}, type='fs')
    records = [
        record(result=pool_result(None, POOL), task='Make the pool'),
        report.make_record('vmcat.libvirt.network', dict(changed=True, actions=['define', 'start'],
                                                         invocation={'module_args': {'name': 'lan',
                                                                                     'uri': 'qemu+ssh://kvm2/system'}}),
                           {}, 'Make the network', 'ctl', True, when=WHEN),
        record(result=pool_result(POOL, updated), task='Change the pool'),
    ]
    lines = report.render(records, max_items=2)
    assert lines[0] == 'vmcat.libvirt changes: 3 on 2 nodes (1 in check mode, not applied)'
    assert lines[1:4] == ['', 'node qemu:///system',
                          '  TIME       HOST       KIND  NAME    ACTION   TASK             DETAILS']
    assert lines[4] == '  10:31:02Z  localhost  pool  images  created  Make the pool    define'
    assert lines[5] == ('  10:31:02Z  localhost  pool  images  updated  Change the pool  '
                        'autostart: true -> false; target.mode: 0711 -> 0755 (+1 more)')
    assert lines[6:8] == ['', 'node qemu+ssh://kvm2/system']
    assert lines[9] == '  10:31:02Z  ctl   network  lan   would change  Make the network  define, start'
    assert report.render([]) == ['vmcat.libvirt changes: none']


def test_long_values_are_shortened_in_the_table():
    rec = record(result=pool_result({'description': 'a' * 50}, {'description': 'b' * 50}))
    text = report.details(rec)
    assert text == 'description: %s... -> %s...' % ('a' * 27, 'b' * 27)
    assert report.details(dict(rec, no_log=True)) == '(no_log: details hidden)'


# -- the callback plugin, with fake Ansible objects ---------------------------

class FakeTask:
    def __init__(self, action, args, name='A task', check_mode=False):
        self.action = self.resolved_action = action  # no redirect: the resolved name is the one written
        self.args = args
        self.check_mode = check_mode
        self._name = name

    def get_name(self):
        return self._name


class FakeHost:
    def get_name(self):
        return 'localhost'


class FakeResult:
    """The ansible-core 2.19 shape (task, host, result); older cores use _task, _host, _result."""

    def __init__(self, task, result, old_style=False):
        if old_style:
            self._task, self._host, self._result = task, FakeHost(), result
        else:
            self.task, self.host, self.result = task, FakeHost(), result


class FakeDisplay:
    verbosity = 0

    def __init__(self):
        self.lines = []
        self.warnings = []

    def display(self, msg, **kwargs):
        self.lines.append(msg)

    def warning(self, msg, **kwargs):
        self.warnings.append(msg)


@pytest.fixture
def plugin(monkeypatch):
    def make(**options):
        cb = changes.CallbackModule(display=FakeDisplay())
        values = dict(log_path=None, max_details=3, show_empty=True)
        values.update(options)
        monkeypatch.setattr(cb, 'get_option', values.get)
        return cb
    return make


def test_the_callback_records_and_prints_at_the_end(plugin, tmp_path):
    log = tmp_path / 'changes.jsonl'
    cb = plugin(log_path=str(log))
    assert cb.CALLBACK_NAME == 'vmcat.libvirt.changes' and cb.CALLBACK_NEEDS_ENABLED
    assert cb.CALLBACK_TYPE == 'aggregate' and cb.CALLBACK_VERSION == 2.0
    args = {'name': 'images', 'uri': 'test:///tmp/node.xml', 'password': 'hunter2', '_ansible_check_mode': True}
    cb.v2_runner_on_ok(FakeResult(FakeTask('vmcat.libvirt.pool', args), pool_result(None, POOL)))
    cb.v2_runner_item_on_ok(FakeResult(FakeTask('vmcat.libvirt.pool', dict(args, _ansible_check_mode=False)),
                                       pool_result(POOL, dict(POOL, autostart=False)), old_style=True))
    cb.v2_runner_on_ok(FakeResult(FakeTask('ansible.builtin.debug', {}), {'changed': True}))
    cb.v2_runner_on_ok(FakeResult(FakeTask('vmcat.libvirt.pool', args), {'changed': False}))
    assert [r['action'] for r in cb.records] == ['created', 'updated']
    assert [r['check_mode'] for r in cb.records] == [True, False]
    cb.v2_playbook_on_stats(None)
    text = '\n'.join(cb._display.lines)
    assert 'vmcat.libvirt changes: 2 on 1 node (1 in check mode, not applied)' in text
    assert 'would create' in text and 'autostart: true -> false' in text
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    assert logged == cb.records
    assert 'hunter2' not in log.read_text() and 'hunter2' not in text


def test_check_mode_from_the_task_when_the_arguments_do_not_say(plugin):
    cb = plugin()
    cb.v2_runner_on_ok(FakeResult(FakeTask('vmcat.libvirt.pool', {'name': 'images'}, check_mode=True),
                                  pool_result(None, POOL)))
    assert cb.records[0]['check_mode'] is True


def test_nothing_changed(plugin):
    cb = plugin()
    cb.v2_playbook_on_stats(None)
    assert cb._display.lines == ['', 'vmcat.libvirt changes: none']
    quiet = plugin(show_empty=False)
    quiet.v2_playbook_on_stats(None)
    assert quiet._display.lines == []


def test_an_unwritable_log_warns_once_and_keeps_the_table(plugin, tmp_path):
    cb = plugin(log_path=str(tmp_path / 'missing-dir' / 'log.jsonl'))
    for dummy in range(2):
        cb.v2_runner_on_ok(FakeResult(FakeTask('vmcat.libvirt.pool', {'name': 'images'}), pool_result(None, POOL)))
    assert len(cb._display.warnings) == 1 and 'could not write to' in cb._display.warnings[0]
    assert len(cb.records) == 2
