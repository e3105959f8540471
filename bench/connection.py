# -*- coding: utf-8 -*-
"""Connection benchmark: vmcat.libvirt.qga against community.libvirt.libvirt_qemu and raw agent calls.

Two measurements on one fixture guest (busybox + qemu-ga, TCG, no Python):

- ``driver``: bench/_connection_driver.py loads each plugin with Ansible's
  connection_loader and a PlayContext (as the task executor does) and calls
  ``put_file`` with a 20 MiB random file (``ours_write_only``: our transport's
  write without the sha256 check that our put_file runs afterwards), then ``exec_command`` 20 times with
  short commands in the form ``ansible.builtin.raw`` passes them; the floor
  does the same with libvirt_qemu.qemuAgentCommand directly (128 KiB chunks,
  guest-exec/status polled every 2 ms).  Sides alternate order per run.
  The file's sha256 in the guest is checked after every put (not timed).
- ``playbook``: ansible-playbook with 20 ``ansible.builtin.raw`` tasks on the
  guest through each plugin, and the same play with ``ansible_connection:
  local`` on the controller (Ansible's own per-task floor).  Interleaved.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from inventory import BENCH_BIN, bench_env, check_venv  # noqa: E402


def run_driver(uri, vm, work, runs, commands, size_mib):
    config = os.path.join(work, 'driver.json')
    with open(config, 'w') as handle:
        json.dump({'uri': uri, 'vm': vm, 'work': work, 'runs': runs, 'commands': commands,
                   'size_mib': size_mib}, handle)
    proc = subprocess.run([os.path.join(BENCH_BIN, 'python'), os.path.join(HERE, '_connection_driver.py'), config],
                          env=bench_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          check=False)
    sys.stdout.write(''.join('  ' + line + '\n' for line in proc.stderr.splitlines() if line.startswith('run ')))
    if proc.returncode != 0:
        raise SystemExit('connection driver failed:\n%s' % proc.stderr[-4000:])
    return json.loads(proc.stdout)


def write_play(work, count):
    tasks = [{'name': 'command %d' % i, 'ansible.builtin.raw': 'echo %d; uname -r' % i, 'changed_when': False}
             for i in range(count)]
    path = os.path.join(work, 'raw.yml')
    with open(path, 'w') as handle:
        json.dump([{'name': 'raw', 'hosts': 'all', 'gather_facts': False, 'tasks': tasks}], handle)
    return path


def write_inventories(work, uri, vm):
    lines = {
        'ours': '%s ansible_connection=vmcat.libvirt.qga vmcat_qga_uri=%s' % (vm, uri),
        'community': '%s ansible_connection=community.libvirt.libvirt_qemu ansible_libvirt_uri=%s' % (vm, uri),
        'local': 'controller ansible_connection=local ansible_python_interpreter=%s' % os.path.join(BENCH_BIN, 'python'),
    }
    paths = {}
    for side, line in lines.items():
        paths[side] = os.path.join(work, 'conn-%s.ini' % side)
        with open(paths[side], 'w') as handle:
            handle.write(line + '\n')
    return paths


def run_play(inventory, play):
    cmd = [os.path.join(BENCH_BIN, 'ansible-playbook'), '-i', inventory, play]
    start = time.monotonic()
    proc = subprocess.run(cmd, env=bench_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False)
    elapsed = time.monotonic() - start
    return elapsed, proc.returncode, proc.stdout


def bench_playbook(uri, vm, work, runs, count):
    play = write_play(work, count)
    inventories = write_inventories(work, uri, vm)
    times = {side: [] for side in inventories}
    failures = {}
    for run in range(runs):
        for side in ('ours', 'community', 'local'):
            elapsed, rc, out = run_play(inventories[side], play)
            if rc != 0 or 'ok=%d' % count not in out:
                failures.setdefault(side, out[-2500:])
            else:
                times[side].append(round(elapsed, 3))
        print('  playbook run %d: ours %s, community %s, local %s' % (
            run + 1, times['ours'][-1:], times['community'][-1:], times['local'][-1:]))
        sys.stdout.flush()
    medians = {side: round(statistics.median(v), 3) if v else None for side, v in times.items()}
    return {'tasks': count, 'runs': runs, 'times_s': times, 'median_s': medians, 'failures': failures,
            'command': 'ansible-playbook -i <ini with one host> raw.yml (%d raw tasks)' % count}


def ratio(a, b):
    return round(a / b, 2) if a and b else None


def bench_connection(args, lab):
    check_venv()
    vm = [n for n in lab.names() if lab.kinds[n] == 'agent'][0]
    print('connection on %s, guest %s' % (lab.uri, vm))
    driver = run_driver(lab.uri, vm, lab.work, args.runs, args.commands, args.size_mib)
    med = driver['median']
    driver['ratios'] = {
        'put_community_over_ours': ratio(med['community']['put_s'], med['ours']['put_s']),
        'put_ours_over_raw': ratio(med['ours']['put_s'], med['raw']['put_s']),
        'put_ours_write_only_over_raw': ratio(med['ours_write_only']['put_s'], med['raw']['put_s']),
        'commands_community_over_ours': ratio(med['community']['commands_s'], med['ours']['commands_s']),
        'commands_ours_over_raw': ratio(med['ours']['commands_s'], med['raw']['commands_s']),
    }
    print('connection driver: put %d MiB ours %ss, community %ss, raw %ss; %d commands ours %ss, community %ss, '
          'raw %ss; ratios %s' % (args.size_mib, med['ours']['put_s'], med['community']['put_s'], med['raw']['put_s'],
                                  args.commands, med['ours']['commands_s'], med['community']['commands_s'],
                                  med['raw']['commands_s'], driver['ratios']))
    print('  problems: %s' % driver['problems'])
    print('  stdin: %s' % driver['stdin'])
    playbook = bench_playbook(lab.uri, vm, lab.work, args.runs, args.commands)
    pm = playbook['median_s']
    playbook['ratios'] = {'community_over_ours': ratio(pm['community'], pm['ours']),
                          'ours_over_local': ratio(pm['ours'], pm['local'])}
    print('connection playbook (%d raw tasks): ours %ss, community %ss, local %ss; %s' % (
        args.commands, pm['ours'], pm['community'], pm['local'], playbook['ratios']))
    if playbook['failures']:
        print('  playbook failures: %s' % {k: v[-600:] for k, v in playbook['failures'].items()})
    return {'guest': vm, 'driver': driver, 'playbook': playbook}
