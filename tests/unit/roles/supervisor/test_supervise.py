# -*- coding: utf-8 -*-
"""The collection's supervisor (roles/supervisor/files/vmcat_supervise.py), as the roles run it without systemd."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys
import time

import pytest

SUPERVISE = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'roles', 'supervisor', 'files',
                                         'vmcat_supervise.py'))


def supervise(command, config):
    proc = subprocess.run([sys.executable, SUPERVISE, command, str(config)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=60, check=False)
    return proc.returncode, proc.stdout.strip(), proc.stderr.strip()


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open('/proc/%d/stat' % pid) as handle:
        return handle.read().split(')')[-1].split()[0] != 'Z'


def wait_for(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, 'condition not met within %s s' % timeout
        time.sleep(0.1)


@pytest.fixture
def config(tmp_path):
    (tmp_path / 'log').mkdir()
    path = tmp_path / 'supervisor.json'
    path.write_text(json.dumps({
        'name': 'test-gateway', 'pidfile': str(tmp_path / 'supervisor.pid'),
        'state_file': str(tmp_path / 'state.json'), 'log_dir': str(tmp_path / 'log'),
        'programs': [{'name': 'sleeper', 'argv': ['sleep', '600']},
                     {'name': 'echo', 'argv': ['sh', '-c', 'echo "home=$HOME x=$X"; sleep 600'], 'env': {'X': 'y'}}],
    }))
    yield path
    supervise('stop', path)


def program_pid(config, name):
    code, out, dummy = supervise('status', config)
    return json.loads(out)['programs'][name]['pid'] if code == 0 else None


def test_start_runs_the_programs_once(config, tmp_path):
    assert supervise('start', config)[:2] == (0, 'started')
    assert supervise('start', config)[:2] == (0, 'running')
    pid = program_pid(config, 'sleeper')
    assert pid and alive(pid)
    wait_for(lambda: 'x=y' in (tmp_path / 'log' / 'echo.log').read_text())


def test_a_program_that_dies_is_started_again(config):
    supervise('start', config)
    first = program_pid(config, 'sleeper')
    os.kill(first, 9)
    wait_for(lambda: program_pid(config, 'sleeper') not in (None, first))
    assert alive(program_pid(config, 'sleeper'))


def test_stop_ends_the_supervisor_and_its_programs(config, tmp_path):
    supervise('start', config)
    pids = [program_pid(config, 'sleeper'), program_pid(config, 'echo')]
    assert supervise('stop', config)[:2] == (0, 'stopped')
    assert not any(alive(p) for p in pids)
    assert supervise('status', config)[:2] == (3, 'not running')
    assert not (tmp_path / 'supervisor.pid').exists()
    assert supervise('stop', config)[:2] == (0, 'not running')


def test_a_stale_pidfile_is_not_a_running_supervisor(config, tmp_path):
    (tmp_path / 'supervisor.pid').write_text('%d\n' % os.getpid())  # alive, but not a supervisor of this config
    assert supervise('status', config)[0] == 3
    assert supervise('start', config)[:2] == (0, 'started')


def test_restart_gives_new_processes(config):
    supervise('start', config)
    before = program_pid(config, 'sleeper')
    assert supervise('restart', config)[:2] == (0, 'restarted')
    assert not alive(before) and program_pid(config, 'sleeper') != before


def test_bad_config_is_named(tmp_path):
    path = tmp_path / 'bad.json'
    path.write_text('{"name": "x"}')
    code, dummy, err = supervise('start', path)
    assert code == 1 and '"pidfile" is missing' in err


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to change users')
def test_a_program_runs_as_its_own_user_with_its_groups(tmp_path):
    (tmp_path / 'log').mkdir()
    os.chmod(str(tmp_path / 'log'), 0o777)
    path = tmp_path / 'supervisor.json'
    path.write_text(json.dumps({
        'name': 'test-users', 'pidfile': str(tmp_path / 'supervisor.pid'),
        'state_file': str(tmp_path / 'state.json'), 'log_dir': str(tmp_path / 'log'),
        'programs': [{'name': 'as-nobody', 'argv': ['sh', '-c', 'id -un; id -gn; echo "home=$HOME"; sleep 600'],
                      'user': 'nobody', 'group': 'nogroup'},
                     {'name': 'as-root', 'argv': ['sh', '-c', 'id -un; sleep 600']}],
    }))
    try:
        assert supervise('start', path)[:2] == (0, 'started')
        log = tmp_path / 'log' / 'as-nobody.log'
        wait_for(lambda: 'home=' in log.read_text())
        assert log.read_text().split()[:2] == ['nobody', 'nogroup']
        wait_for(lambda: (tmp_path / 'log' / 'as-root.log').read_text().strip() == 'root')
    finally:
        supervise('stop', path)


def test_an_unknown_program_user_is_named_before_anything_starts(tmp_path):
    path = tmp_path / 'supervisor.json'
    path.write_text(json.dumps({
        'name': 'x', 'pidfile': str(tmp_path / 'p'), 'state_file': str(tmp_path / 's'), 'log_dir': str(tmp_path),
        'programs': [{'name': 'a', 'argv': ['true'], 'user': 'no-such-user-here'}]}))
    code, dummy, err = supervise('start', path)
    assert code == 1 and 'program "a": no such user or group' in err and not (tmp_path / 'p').exists()
