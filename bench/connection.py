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
  guest through each plugin (ours also with ``vmcat_qga_persistent=true``,
  the relay), and the same play with ``ansible_connection: local`` on the
  controller (Ansible's own per-task floor).  Interleaved, order reversed
  every other run, the 1-minute load average recorded after each run.

Quick mode (``args.quick``, bench/run.py --quick): the same two parts once,
with a small file and few commands, without community.libvirt (make test
builds no bench venv), in the venv running this script; it fails when a put
or a command goes wrong on our side or the floor's, when our side drops
stdin, or when a playbook fails, and compares no times.
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

from inventory import BENCH_BIN, OWN_BIN, bench_env, check_venv  # noqa: E402

SIDES = ('ours', 'ours_persistent', 'ours_write_only', 'community', 'raw')
QUICK_SIDES = ('ours', 'ours_persistent', 'ours_write_only', 'raw')  # make test builds no bench venv: no community
PLAY_SIDES = ('ours', 'ours_persistent', 'community', 'local')
QUICK_PLAY_SIDES = ('ours', 'ours_persistent', 'local')


def run_driver(uri, vm, work, runs, commands, size_mib, sides=SIDES, bin_dir=BENCH_BIN):
    config = os.path.join(work, 'driver.json')
    with open(config, 'w') as handle:
        json.dump({'uri': uri, 'vm': vm, 'work': work, 'runs': runs, 'commands': commands,
                   'size_mib': size_mib, 'sides': list(sides)}, handle)
    proc = subprocess.run([os.path.join(bin_dir, 'python'), os.path.join(HERE, '_connection_driver.py'), config],
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


def write_inventories(work, uri, vm, sides, bin_dir):
    lines = {
        'ours': '%s ansible_connection=vmcat.libvirt.qga vmcat_qga_uri=%s' % (vm, uri),
        'ours_persistent': '%s ansible_connection=vmcat.libvirt.qga vmcat_qga_uri=%s vmcat_qga_persistent=true' % (vm, uri),
        'community': '%s ansible_connection=community.libvirt.libvirt_qemu ansible_libvirt_uri=%s' % (vm, uri),
        'local': 'controller ansible_connection=local ansible_python_interpreter=%s' % os.path.join(bin_dir, 'python'),
    }
    paths = {}
    for side in sides:
        line = lines[side]
        paths[side] = os.path.join(work, 'conn-%s.ini' % side)
        with open(paths[side], 'w') as handle:
            handle.write(line + '\n')
    return paths


def run_play(inventory, play, bin_dir=BENCH_BIN):
    cmd = [os.path.join(bin_dir, 'ansible-playbook'), '-i', inventory, play]
    start = time.monotonic()
    proc = subprocess.run(cmd, env=bench_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False)
    elapsed = time.monotonic() - start
    return elapsed, proc.returncode, proc.stdout


def bench_playbook(uri, vm, work, runs, count, sides=PLAY_SIDES, bin_dir=BENCH_BIN):
    play = write_play(work, count)
    inventories = write_inventories(work, uri, vm, sides, bin_dir)
    times = {side: [] for side in inventories}
    failures = {}
    load = [os.getloadavg()[0]]
    for run in range(runs):
        for side in (sides if run % 2 == 0 else tuple(reversed(sides))):
            elapsed, rc, out = run_play(inventories[side], play, bin_dir)
            if rc != 0 or 'ok=%d' % count not in out:
                failures.setdefault(side, out[-2500:])
            else:
                times[side].append(round(elapsed, 3))
        load.append(os.getloadavg()[0])
        print('  playbook run %d: %s' % (run + 1, ', '.join('%s %s' % (side, times[side][-1:]) for side in sides)))
        sys.stdout.flush()
    medians = {side: round(statistics.median(v), 3) if v else None for side, v in times.items()}
    spread = {side: [min(v), max(v)] if v else None for side, v in times.items()}
    return {'tasks': count, 'runs': runs, 'times_s': times, 'median_s': medians, 'min_max_s': spread,
            'failures': failures, 'load_average_1min': [round(value, 2) for value in load],
            'command': 'ansible-playbook -i <ini with one host> raw.yml (%d raw tasks), sides interleaved, order '
                       'reversed every other run' % count}


def ratio(a, b):
    return round(a / b, 2) if a and b else None


def check_quick(driver, playbook):
    """Quick mode's checks (never of a time): puts and commands right, stdin kept by ours, playbooks through."""
    problems = ['%s: %s' % (side, p) for side, found in driver['problems'].items() for p in found]
    problems += ['%s: stdin %s' % (side, driver['stdin'][side]) for side in ('ours', 'ours_persistent', 'raw')
                 if not driver['stdin'][side].get('ok')]
    problems += ['playbook %s: %s' % (side, out[-600:]) for side, out in playbook['failures'].items()]
    if problems:
        raise SystemExit('connection quick check: %s' % '; '.join(problems))
    print('connection: quick check passed (put_file sha256 equal, commands and stdin through, playbooks ok)')


def bench_connection(args, lab):
    quick = getattr(args, 'quick', False)
    if not quick:
        check_venv()
    sides, bin_dir = (QUICK_SIDES, OWN_BIN) if quick else (SIDES, BENCH_BIN)
    vm = [n for n in lab.names() if lab.kinds[n] == 'agent'][0]
    print('connection on %s, guest %s' % (lab.uri, vm))
    driver = run_driver(lab.uri, vm, lab.work, args.runs, args.commands, args.size_mib, sides, bin_dir)
    med = driver['median']
    side = dict((name, med.get(name, {})) for name in SIDES)
    driver['ratios'] = {
        'put_community_over_ours': ratio(side['community'].get('put_s'), side['ours']['put_s']),
        'put_ours_over_raw': ratio(side['ours']['put_s'], side['raw']['put_s']),
        'put_ours_write_only_over_raw': ratio(side['ours_write_only']['put_s'], side['raw']['put_s']),
        'commands_community_over_ours': ratio(side['community'].get('commands_s'), side['ours']['commands_s']),
        'put_ours_persistent_over_raw': ratio(side['ours_persistent']['put_s'], side['raw']['put_s']),
        'commands_ours_over_raw': ratio(side['ours']['commands_s'], side['raw']['commands_s']),
    }
    print('connection driver: put %d MiB ours %ss, community %ss, raw %ss; %d commands ours %ss, community %ss, '
          'raw %ss; ratios %s' % (args.size_mib, side['ours']['put_s'], side['community'].get('put_s'),
                                  side['raw']['put_s'], args.commands, side['ours']['commands_s'],
                                  side['community'].get('commands_s'), side['raw']['commands_s'], driver['ratios']))
    print('  problems: %s' % driver['problems'])
    print('  stdin: %s' % driver['stdin'])
    play_sides = QUICK_PLAY_SIDES if quick else PLAY_SIDES
    playbook = bench_playbook(lab.uri, vm, lab.work, args.runs, args.commands, play_sides, bin_dir)
    pm = playbook['median_s']
    playbook['ratios'] = {'community_over_ours': ratio(pm.get('community'), pm['ours']),
                          'ours_persistent_over_community': ratio(pm['ours_persistent'], pm.get('community')),
                          'ours_over_local': ratio(pm['ours'], pm['local'])}
    print('connection playbook (%d raw tasks): ours %ss, ours persistent %ss, community %ss, local %ss; %s' % (
        args.commands, pm['ours'], pm['ours_persistent'], pm.get('community'), pm['local'], playbook['ratios']))
    if playbook['failures']:
        print('  playbook failures: %s' % {k: v[-600:] for k, v in playbook['failures'].items()})
    if quick:
        check_quick(driver, playbook)
    return {'guest': vm, 'driver': driver, 'playbook': playbook}
