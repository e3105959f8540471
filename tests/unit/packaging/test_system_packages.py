# -*- coding: utf-8 -*-
"""scripts/system-packages.sh reads its package lists from bindep.txt the way bindep itself does."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import os
import subprocess

import pytest

from bindep.depends import Depends

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SCRIPT = os.path.join(ROOT, 'scripts', 'system-packages.sh')
TARGETS = {'build': ['compile', 'devel'], 'test': ['compile', 'devel', 'node', 'test']}


def script_list(target, bindep_file=None):
    env = dict(os.environ)
    if bindep_file:
        env['BINDEP_FILE'] = bindep_file
    return subprocess.check_output(['bash', SCRIPT, '--list', target], env=env, universal_newlines=True).split()


@functools.lru_cache()
def parsed(text):
    """bindep's grammar is slow to build: parse each text once."""
    return Depends(text)


def bindep_list(text, profiles):
    depends = parsed(text)
    return [rule[0] for rule in depends.active_rules(profiles + depends.platform_profiles())]


@pytest.mark.parametrize('target', sorted(TARGETS))
def test_script_selects_what_bindep_selects(target):
    with open(os.path.join(ROOT, 'bindep.txt')) as handle:
        expected = bindep_list(handle.read(), TARGETS[target])
    assert script_list(target) == expected


def test_selectors_negation_and_platforms(tmp_path):
    text = '\n'.join([
        'pkg-everywhere',
        'pkg-not-dpkg [!platform:dpkg]',
        'pkg-rpm [platform:rpm test]',
        'pkg-not-test [!test]',
        'pkg-test-only [test !compile]',
        'pkg-this-release [platform:dpkg compile]  # a comment',
        'pkg-versioned [devel] >=1.0',
        '',
    ])
    path = tmp_path / 'bindep.txt'
    path.write_text(text)
    for target, profiles in TARGETS.items():
        assert script_list(target, str(path)) == bindep_list(text, profiles)
    assert script_list('build', str(path)) == ['pkg-everywhere', 'pkg-not-test', 'pkg-this-release', 'pkg-versioned']


def test_the_unit_test_tools_are_in_the_test_target():
    """genisoimage gives isoinfo, without which a cloud-init seed unit test skips."""
    assert {'genisoimage', 'python3-venv', 'python3-dev', 'make'} <= set(script_list('test'))


def test_grouped_selectors_are_refused(tmp_path):
    path = tmp_path / 'bindep.txt'
    path.write_text('pkg-grouped [(platform:dpkg test)]\n')
    proc = subprocess.run(['bash', SCRIPT, '--list', 'test'], env=dict(os.environ, BINDEP_FILE=str(path)),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    assert proc.returncode == 2
    assert 'grouped selectors' in proc.stderr
