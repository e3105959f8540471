# -*- coding: utf-8 -*-
"""Connection benchmark: vmcat.libvirt.qga against community.libvirt.libvirt_qemu and raw agent calls.

Three measurements, the first two on one fixture guest (busybox + qemu-ga, TCG, no Python):

- ``driver``: bench/_connection_driver.py loads each plugin with Ansible's
  connection_loader and a PlayContext (as the task executor does) and calls
  ``put_file`` with a 20 MiB random file (``ours_checksum``: ours with
  ``vmcat_qga_checksum: true``, the guest's sha256sum compared after the write), then ``exec_command`` 20 times with
  short commands in the form ``ansible.builtin.raw`` passes them; the floor
  does the same with libvirt_qemu.qemuAgentCommand directly (128 KiB chunks,
  guest-exec/status polled every 2 ms).  Sides alternate order per run.
  The file's sha256 in the guest is checked after every put (not timed).
- ``playbook``: ansible-playbook with 20 ``ansible.builtin.raw`` tasks on the
  guest through each plugin (ours also with ``vmcat_qga_persistent=true``,
  the relay), and the same play with ``ansible_connection: local`` on the
  controller (Ansible's own per-task floor).  Interleaved, order reversed
  every other run, the 1-minute load average recorded after each run.

- ``modules``: on a second guest, the fixture's variant with Python
  (``build_guest(python=True)``, 512 MiB, booted for this part and removed
  after it), ansible-playbook with ``--module-tasks`` ``ansible.builtin.file``
  tasks (``state: directory`` of a path under /tmp: one module run per task,
  unchanged after an untimed first run) through ours, ours with the relay and
  community.libvirt, each with ANSIBLE_PIPELINING 0 and 1 (community.libvirt
  has ``has_pipelining = False``: Ansible falls back to its temp-file path, so
  its two are the same play), ``ansible_python_interpreter`` set (no
  discovery).  ``--module-runs`` rounds, interleaved, order reversed every
  other round, the 1-minute load average after each.  The floor: the
  module's own time in the guest, the AnsiballZ file of one task (kept by
  the first run, ANSIBLE_KEEP_REMOTE_FILES) run with the guest's python
  through guest-exec and timed inside the guest (/proc/uptime), 3 times
  per round.

Quick mode (``args.quick``, bench/run.py --quick): the same parts once,
with a small file, few commands and one module task, without
community.libvirt (make test builds no bench venv), in the venv running this
script; it fails when a put or a command goes wrong on our side or the
floor's, when our side drops stdin, or when a playbook fails or a module
task changes something after the first run, and compares no times.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _lab import guest_run, remove_domain, wait_agent  # noqa: E402  (it puts tests/integration on sys.path)
from harness import guest as fixture  # noqa: E402
from inventory import BENCH_BIN, OWN_BIN, bench_env, check_venv  # noqa: E402

SIDES = ('ours', 'ours_persistent', 'ours_checksum', 'community', 'raw')
QUICK_SIDES = ('ours', 'ours_persistent', 'ours_checksum', 'raw')  # make test builds no bench venv: no community
PLAY_SIDES = ('ours', 'ours_persistent', 'community', 'local')
QUICK_PLAY_SIDES = ('ours', 'ours_persistent', 'local')
MODULE_SIDES = ('ours', 'ours_persistent', 'community')
QUICK_MODULE_SIDES = ('ours', 'ours_persistent')
MODULE_DIR = '/tmp/vmbench-modules'  # the file tasks' directories (in the guest)
KEEP_DIR = '/tmp/vmbench-keep'  # remote_tmp of the first run, which keeps its AnsiballZ files
RECAP = re.compile(r'ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)')


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


def write_inventories(work, uri, vm, sides, bin_dir, extra='', name='conn'):
    lines = {
        'ours': '%s ansible_connection=vmcat.libvirt.qga vmcat_qga_uri=%s' % (vm, uri),
        'ours_persistent': '%s ansible_connection=vmcat.libvirt.qga vmcat_qga_uri=%s vmcat_qga_persistent=true' % (vm, uri),
        'community': '%s ansible_connection=community.libvirt.libvirt_qemu ansible_libvirt_uri=%s' % (vm, uri),
        'local': 'controller ansible_connection=local ansible_python_interpreter=%s' % os.path.join(bin_dir, 'python'),
    }
    paths = {}
    for side in sides:
        line = lines[side] + extra
        paths[side] = os.path.join(work, '%s-%s.ini' % (name, side))
        with open(paths[side], 'w') as handle:
            handle.write(line + '\n')
    return paths


def run_play(inventory, play, bin_dir=BENCH_BIN, env=None):
    cmd = [os.path.join(bin_dir, 'ansible-playbook'), '-i', inventory, play]
    start = time.monotonic()
    proc = subprocess.run(cmd, env=dict(bench_env(), **(env or {})), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
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


def boot_python_guest(lab, timeout=300):
    """The fixture's variant with Python, named with the lab's prefix (Lab.down removes it too); not in
    lab.doms, so the inventory benchmark that runs after this one does not see it."""
    guest = fixture.build_guest(python=True)
    dom = lab.conn.defineXML(fixture.domain_xml(lab.prefix + 'py', guest, memory_mib=512))
    dom.create()
    return dom, guest['python'], round(wait_agent(dom, timeout), 1)


def write_module_play(work, count):
    tasks = [{'name': 'directory %d' % i, 'ansible.builtin.file': {'path': '%s/d%d' % (MODULE_DIR, i), 'state': 'directory'}}
             for i in range(count)]
    path = os.path.join(work, 'modules.yml')
    with open(path, 'w') as handle:
        json.dump([{'name': 'modules', 'hosts': 'all', 'gather_facts': False, 'tasks': tasks}], handle)
    return path


def recap(out):
    """(ok, changed, unreachable, failed) of the play recap's one host, or None."""
    found = RECAP.findall(out)
    return tuple(int(n) for n in found[-1]) if len(found) == 1 else None


def module_floor(dom, python, payload, times=3):
    """The module's own time in the guest: the kept AnsiballZ file run with the guest's python, timed inside the guest
    (/proc/uptime before and after, 10 ms steps, printed after the module's output), its status polled every 0.2 s
    (polling guest-exec-status every few ms takes the single TCG vCPU from the module: 3.1-3.5 s against 2.3 s a
    task in the play); (median s, problem).
    """
    script = 'read a b < /proc/uptime; %s %s; rc=$?; read c d < /proc/uptime; echo; echo "$a $c"; exit $rc' % (
        python, payload)
    found, problem = [], None
    for dummy in range(times):
        code, out = guest_run(dom, script, timeout=300, poll=0.2)
        lines = out.strip().splitlines()
        try:
            result = json.loads('\n'.join(lines[:-1]))
            start, end = lines[-1].split()
            found.append(float(end) - float(start))
        except (ValueError, IndexError):
            result = {}
        if code != 0 or result.get('changed') is not False or result.get('failed'):
            problem = 'the kept module run: %s, %s' % (code, out[-400:])
    return (round(statistics.median(found), 3) if found else None), problem


def bench_modules(lab, work, runs, count, sides=MODULE_SIDES, bin_dir=BENCH_BIN):
    """ansible.builtin.file tasks on the Python guest through each side, pipelining off and on, interleaved."""
    started = time.monotonic()
    dom, python, boot_s = boot_python_guest(lab)
    try:
        print('connection modules: guest %s (%s) answered %.1f s after its start' % (dom.name(), python, boot_s))
        sys.stdout.flush()
        result = measure_modules(lab.uri, dom, python, work, runs, count, sides, bin_dir)
    finally:
        remove_domain(dom)
    result.update(guest=dom.name(), python=python, boot_to_agent_s=boot_s,
                  phase_s=round(time.monotonic() - started, 1))
    return result


def measure_modules(uri, dom, python, work, runs, count, sides, bin_dir):
    play = write_module_play(work, count)
    inventories = write_inventories(work, uri, dom.name(), sides, bin_dir,
                                    extra=' ansible_python_interpreter=%s' % python, name='modules')
    combos = [(side, pipelining) for side in sides for pipelining in ('0', '1')]
    keys = ['%s_p%s' % combo for combo in combos]
    failures = {}
    # untimed first run: makes the directories (changed=count) and keeps its AnsiballZ files for the floor
    elapsed, rc, out = run_play(inventories[sides[0]], play, bin_dir,
                                {'ANSIBLE_PIPELINING': '0', 'ANSIBLE_KEEP_REMOTE_FILES': '1', 'ANSIBLE_REMOTE_TMP': KEEP_DIR})
    if rc != 0 or recap(out) != (count, count, 0, 0):
        raise SystemExit('connection modules: the first run failed (rc %s):\n%s' % (rc, out[-2500:]))
    first_s = round(elapsed, 3)
    code, listing = guest_run(dom, 'ls %s/*/AnsiballZ_file.py' % KEEP_DIR)
    if code != 0 or not listing.split():
        raise SystemExit('connection modules: no AnsiballZ file kept under %s: %s' % (KEEP_DIR, listing))
    payload = listing.split()[0]
    times = dict((key, []) for key in keys)
    floor, load = [], [os.getloadavg()[0]]
    for run in range(runs):
        for side, pipelining in (combos if run % 2 == 0 else list(reversed(combos))):
            key = '%s_p%s' % (side, pipelining)
            elapsed, rc, out = run_play(inventories[side], play, bin_dir, {'ANSIBLE_PIPELINING': pipelining})
            if rc != 0 or recap(out) != (count, 0, 0, 0):
                failures.setdefault(key, out[-2500:])
            else:
                times[key].append(round(elapsed, 3))
        seconds, problem = module_floor(dom, python, payload)
        if seconds is not None:
            floor.append(seconds)
        if problem:
            failures.setdefault('floor', problem)
        load.append(os.getloadavg()[0])
        print('  modules run %d: %s; module in the guest %ss' % (
            run + 1, ', '.join('%s %s' % (key, times[key][-1:]) for key in keys), seconds))
        sys.stdout.flush()
    medians = dict((key, round(statistics.median(v), 3) if v else None) for key, v in times.items())
    floor_s = round(statistics.median(floor), 3) if floor else None
    per_task = dict((key, round(m / count, 3) if m else None) for key, m in medians.items())
    above = dict((key, round(m - floor_s, 3) if m and floor_s else None) for key, m in per_task.items())
    return {'tasks': count, 'runs': runs, 'module': 'ansible.builtin.file (state: directory, unchanged)',
            'first_run_s': first_s, 'times_s': times, 'median_s': medians,
            'min_max_s': dict((key, [min(v), max(v)] if v else None) for key, v in times.items()),
            'per_task_s': per_task, 'module_in_guest_s': floor, 'module_in_guest_median_s': floor_s,
            'per_task_above_module_s': above, 'failures': failures,
            'load_average_1min': [round(value, 2) for value in load],
            'command': 'ANSIBLE_PIPELINING=0|1 ansible-playbook -i <ini with one host> modules.yml (%d file tasks), '
                       'sides and pipelining interleaved, order reversed every other run; floor: %s %s through '
                       'guest-exec, timed in the guest (/proc/uptime), median of 3 a round' % (count, python, payload)}


def ratio(a, b):
    return round(a / b, 2) if a and b else None


def check_quick(driver, playbook, modules):
    """Quick mode's checks (never of a time): puts and commands right, stdin kept by ours, playbooks through."""
    problems = ['%s: %s' % (side, p) for side, found in driver['problems'].items() for p in found]
    problems += ['%s: stdin %s' % (side, driver['stdin'][side]) for side in ('ours', 'ours_persistent', 'raw')
                 if not driver['stdin'][side].get('ok')]
    problems += ['playbook %s: %s' % (side, out[-600:]) for side, out in playbook['failures'].items()]
    problems += ['modules %s: %s' % (key, out[-600:]) for key, out in modules['failures'].items()]
    if problems:
        raise SystemExit('connection quick check: %s' % '; '.join(problems))
    print('connection: quick check passed (put_file sha256 equal, commands and stdin through, playbooks ok, '
          'module tasks unchanged after the first run)')


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
        'put_ours_checksum_over_raw': ratio(side['ours_checksum']['put_s'], side['raw']['put_s']),
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
    modules = bench_modules(lab, lab.work, args.module_runs, args.module_tasks,
                            QUICK_MODULE_SIDES if quick else MODULE_SIDES, bin_dir)
    mm, spread = modules['median_s'], modules['min_max_s']
    print('connection modules (%d file tasks, %d rounds, %ss with the guest\'s boot (%ss); medians (min-max), per task '
          'above the module\'s %ss in the guest): %s; load average %s' % (
              args.module_tasks, args.module_runs, modules['phase_s'], modules['boot_to_agent_s'],
              modules['module_in_guest_median_s'],
              '; '.join('%s %ss %s %ss' % (key, mm[key], spread[key], modules['per_task_above_module_s'][key])
                        for key in mm), modules['load_average_1min']))
    if modules['failures']:
        print('  module failures: %s' % {k: v[-600:] for k, v in modules['failures'].items()})
    if quick:
        check_quick(driver, playbook, modules)
    return {'guest': vm, 'driver': driver, 'playbook': playbook, 'modules': modules}
