# -*- coding: utf-8 -*-
"""The monitoring role's alert rules, rendered as the role renders them and tested by promtool.

templates/alert_rules.yml.j2 is rendered with Ansible's own templating (the
role's vars/main files plus the user variables' defaults, or overrides), then
``promtool check rules`` reads the result and ``promtool test rules`` runs the
scenarios in rules/*_test.yml against it: every alert firing and staying
quiet, thresholds just above and below, ``for`` durations, user overrides,
disabled alerts, extra labels and rules.  promtool comes with Debian's
``prometheus`` package; without it these tests fail, they do not skip.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import shutil
import subprocess

import pytest
import yaml

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.vmcat.libvirt.tests.unit.roles.monitoring.conftest import ROLE

try:
    from ansible.template import trust_as_template  # ansible-core 2.19+: only trusted text is a template
except ImportError:  # older ansible-core templates any string
    def trust_as_template(text):
        return text

RULE_TESTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'rules')
TEMPLATE = os.path.join(ROLE, 'templates', 'alert_rules.yml.j2')
ALERTS = ['VMDown', 'VMPaused', 'HostCPUHigh', 'HostMemoryLow', 'HostDiskFull', 'StoragePoolFull',
          'GuestFilesystemFull', 'GuestAgentSilent', 'LibvirtdUnreachable', 'ExporterDown']
# the user variables the template reads, with their defaults (the role's defaults/main.yml has the same)
USER_DEFAULTS = dict(monitoring_alerts={}, monitoring_alert_labels={}, monitoring_alert_rules_extra=[],
                     monitoring_job_libvirt='libvirt', monitoring_job_node='node')
# the variables rules/overrides_test.yml is written for
OVERRIDES = dict(
    monitoring_alerts=dict(
        host_memory={'threshold': 80, 'for': '2m', 'severity': 'critical'},
        vm_down=dict(ignore_vms=r'test-\d+', ignore_reasons=['shut down']),
        vm_paused=dict(enabled=False),
        guest_filesystem=dict(ignore_fstypes=[])),
    monitoring_alert_labels=dict(team='virt', severity='overridden by each alert'),
    monitoring_alert_rules_extra=[dict(alert='ManyVMs', expr='libvirt_domains > 1', labels=dict(severity='info'),
                                       annotations=dict(summary='{{ $labels.instance }} has {{ $value }} VMs'))],
    monitoring_job_libvirt='vmcat',
    monitoring_job_node='host')


def promtool():
    path = shutil.which('promtool')
    if path is None:
        pytest.fail("promtool is not installed: install Debian's prometheus package (apt-get install prometheus; "
                    "bindep.txt lists it for the test profile), which brings /usr/bin/promtool")
    return path


def render(**user_vars):
    """The rules file the role writes, for the user variables given (the others at their defaults)."""
    loader = DataLoader()
    variables = dict(USER_DEFAULTS, **user_vars)
    for path in sorted(glob.glob(os.path.join(ROLE, 'vars', 'main', '*.yml'))):
        try:
            variables.update(loader.load_from_file(path, trusted_as_template=True) or {})
        except TypeError:  # ansible-core before 2.19
            variables.update(loader.load_from_file(path) or {})
    with open(TEMPLATE) as handle:
        text = handle.read()
    templar = Templar(loader=loader, variables=variables)
    # the options ansible.builtin.template renders with by default
    return templar.template(trust_as_template(text), escape_backslashes=False,
                            overrides=dict(trim_blocks=True, lstrip_blocks=False))


def rules_of(text):
    groups = yaml.safe_load(text)['groups']
    assert [group['name'] for group in groups] == ['vmcat-libvirt']
    return groups[0]['rules'] or []


def run_promtool(*args, **kwargs):
    proc = subprocess.run([promtool()] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False, **kwargs)
    return proc.returncode, proc.stdout


def check_rules(tmp_path, text):
    path = tmp_path / 'alert_rules.yml'
    path.write_text(text)
    code, out = run_promtool('check', 'rules', str(path))
    assert code == 0, out
    return out


def rule_tests(tmp_path, text, scenario):
    """promtool test rules of rules/SCENARIO_test.yml against ``text`` (written beside it as alert_rules.yml)."""
    check_rules(tmp_path, text)
    shutil.copy(os.path.join(RULE_TESTS, scenario + '_test.yml'), str(tmp_path))
    return run_promtool('test', 'rules', scenario + '_test.yml', cwd=str(tmp_path))


def test_the_built_in_rules_are_all_the_alerts_and_promtool_accepts_them(tmp_path):
    text = render()
    assert 'SUCCESS: 10 rules found' in check_rules(tmp_path, text)
    rules = rules_of(text)
    assert [rule['alert'] for rule in rules] == ALERTS
    for rule in rules:
        assert set(rule) == {'alert', 'expr', 'for', 'labels', 'annotations'}, rule['alert']
        assert set(rule['annotations']) == {'summary', 'description'}, rule['alert']
        assert rule['labels']['severity'] in ('critical', 'warning'), rule['alert']


def test_the_built_in_rules_fire_and_stay_quiet_as_the_scenarios_say(tmp_path):
    code, out = rule_tests(tmp_path, render(), 'defaults')
    assert code == 0, out


def test_user_overrides_take_effect(tmp_path):
    text = render(**OVERRIDES)
    assert 'VMPaused' not in [rule['alert'] for rule in rules_of(text)]
    code, out = rule_tests(tmp_path, text, 'overrides')
    assert code == 0, out


def test_the_scenarios_fail_when_a_setting_moves(tmp_path):
    """The scenarios really depend on the settings: a threshold 2 points higher breaks the CPU one."""
    code, out = rule_tests(tmp_path, render(monitoring_alerts=dict(host_cpu=dict(threshold=92))), 'defaults')
    assert code != 0
    assert 'alertname: HostCPUHigh' in out and 'FAILED' in out


def test_every_alert_has_a_firing_and_a_quiet_scenario():
    seen = {}
    for path in glob.glob(os.path.join(RULE_TESTS, '*_test.yml')):
        with open(path) as handle:
            for case in yaml.safe_load(handle)['tests']:
                for check in case['alert_rule_test']:
                    seen.setdefault(check['alertname'], set()).add(bool(check['exp_alerts']))
    for alert in ALERTS:
        assert seen.get(alert) == {True, False}, alert


def test_disabled_alerts_are_left_out_and_extra_rules_kept(tmp_path):
    everything_off = dict((key, dict(enabled=False)) for key in (
        'vm_down', 'vm_paused', 'host_cpu', 'host_memory', 'host_disk', 'storage_pool', 'guest_filesystem',
        'guest_agent_silent', 'libvirtd_down', 'exporter_down'))
    text = render(monitoring_alerts=everything_off)
    assert 'SUCCESS: 0 rules found' in check_rules(tmp_path, text)
    assert rules_of(text) == []
    extra = dict(record='node:libvirt_vms:sum', expr='sum without (instance) (libvirt_domains)')
    text = render(monitoring_alerts=everything_off, monitoring_alert_rules_extra=[extra])
    check_rules(tmp_path, text)
    assert rules_of(text) == [extra]


def test_user_strings_reach_promql_quoted(tmp_path):
    """Quotes and backslashes in a regex, a job name or a label stay inside their strings."""
    text = render(monitoring_alerts=dict(vm_down=dict(ignore_vms=r'a"b\d'), guest_agent_silent=dict(ignore_vms='x')),
                  monitoring_job_libvirt='li"bvirt', monitoring_alert_labels={'team': 'a "b": c', 'pager': 1})
    check_rules(tmp_path, text)
    rules = dict((rule['alert'], rule) for rule in rules_of(text))
    assert r'domain!~"a\"b\\d"' in rules['VMDown']['expr']
    assert rules['GuestAgentSilent']['expr'] == 'libvirt_domain_guest_agent_up{domain!~"x"} == 0'
    assert r'up{job="li\"bvirt"}' in rules['ExporterDown']['expr']
    assert rules['HostCPUHigh']['labels'] == {'team': 'a "b": c', 'pager': '1', 'severity': 'warning'}


def test_no_promtool_fails_with_what_to_install(monkeypatch):
    monkeypatch.setattr(shutil, 'which', lambda name: None)
    with pytest.raises(pytest.fail.Exception, match="Debian's prometheus package"):
        promtool()
