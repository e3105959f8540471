# -*- coding: utf-8 -*-
"""Writing and running the small localhost playbooks the benchmarks time (bench/run.py, bench/scale.py)."""

from __future__ import absolute_import, division, print_function

import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)


def playbook(path, tasks, play_vars=None):
    """One play on localhost with ``tasks``, written to ``path`` as JSON (which is YAML); returns ``path``."""
    play = {'name': 'bench', 'hosts': 'localhost', 'gather_facts': False,
            'vars': play_vars or {}, 'tasks': tasks}
    with open(path, 'w') as f:
        json.dump([play], f)
    return path


def run_playbook(path, extra=None):
    """(seconds, output) of ansible-playbook on ``path`` with this venv and the collection tree; exits on failure."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build', 'collections'),
               ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0',
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_NOCOLOR='1')
    cmd = [os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local', path]
    if extra:
        cmd += ['-e', json.dumps(extra)]
    start = time.monotonic()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        sys.stdout.write(proc.stdout[-4000:])
        raise SystemExit('playbook %s failed' % path)
    return elapsed, proc.stdout
