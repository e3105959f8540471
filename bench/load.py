# -*- coding: utf-8 -*-
"""Load benchmark: many hosts of one play on one node at once, against the same tasks one host at a time.

50 hosts (``connection: local``), each with its own VM on qemu:///system
(defined, not running: 64 MiB, 1 vCPU, no disk), run two tasks each:
``vmcat.libvirt.vm_info`` of its VM and a no-op ``vmcat.libvirt.vm`` (the
VM already as declared).  The play runs with ``forks: 50`` (every host's task
at once) and with ``forks: 1`` (one after the other), interleaved, R times.

Reported per mode: failed tasks (must be 0), changed tasks (must be 0), and
the median and 95th percentile of the task time, per module and together.
A task's time runs from the moment a worker starts it to the moment its
result is back (bench/callbacks/task_times.py), so with ``forks: 1`` it is
what one task costs alone and with ``forks: 50`` what it costs when 49 others
run beside it on the same node and the same 2 cores.  Also the playbook's
wall time, and tasks per second.

Quick mode (bench/run.py --quick: 3 hosts, one run of each mode) fails when
a task failed or changed something or a task is missing; no time is checked.
"""

from __future__ import absolute_import, division, print_function

import json
import math
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BIN = os.path.dirname(sys.executable)
URI = 'qemu:///system'


def _quiet_libvirt():
    import libvirt
    libvirt.registerErrorHandler(lambda *args: None, None)
    return libvirt


def p95(values):
    """Nearest-rank 95th percentile."""
    ordered = sorted(values)
    return ordered[max(0, int(math.ceil(0.95 * len(ordered))) - 1)]


def write_inventory(path, prefix, hosts):
    fleet = dict(('b%02d' % i, {'bench_vm': '%s%02d' % (prefix, i)}) for i in range(hosts))
    with open(path, 'w') as f:
        local = {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}
        json.dump({'bench': {'hosts': fleet, 'vars': local}}, f)


def _vm_task():
    return {'name': 'No-op vm', 'vmcat.libvirt.vm': {
        'uri': URI, 'name': '{{ bench_vm }}', 'virt_type': 'qemu', 'memory': '64M', 'vcpus': 1, 'state': 'present'}}


def write_plays(work):
    define = [{'name': 'define the VMs', 'hosts': 'bench', 'gather_facts': False, 'tasks': [_vm_task()]}]
    load = [{'name': 'load', 'hosts': 'bench', 'gather_facts': False, 'tasks': [
        {'name': 'vm_info', 'vmcat.libvirt.vm_info': {'uri': URI, 'name': '{{ bench_vm }}'}},
        _vm_task(),
    ]}]
    paths = {}
    for name, play in (('define', define), ('load', load)):
        paths[name] = os.path.join(work, 'load-%s.yml' % name)
        with open(paths[name], 'w') as f:
            json.dump(play, f)  # JSON is YAML
    return paths


def run_play(work, inventory, play, forks, label):
    """Run the play; (wall seconds, task records)."""
    times = os.path.join(work, 'times-%s.json' % label)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build', 'collections'),
               ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, 'callbacks'), ANSIBLE_CALLBACKS_ENABLED='task_times',
               VMCAT_BENCH_TASK_TIMES=times, ANSIBLE_NOCOLOR='1', ANSIBLE_HOST_KEY_CHECKING='0')
    cmd = [os.path.join(BIN, 'ansible-playbook'), '-i', inventory, '-f', str(forks), play]
    start = time.monotonic()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          check=False)
    elapsed = time.monotonic() - start
    try:
        with open(times) as f:
            records = json.load(f)
    except (IOError, OSError, ValueError):
        records = []
    if proc.returncode != 0 and not records:
        sys.stdout.write(proc.stdout[-4000:])
        raise SystemExit('the %s play failed before any task ran' % label)
    return elapsed, records, proc.stdout


def summarize(records, wall):
    out = {'tasks': len(records), 'failed': sum(1 for r in records if r['status'] != 'ok'),
           'changed': sum(1 for r in records if r['changed']), 'wall_s': round(wall, 1),
           'tasks_per_s': round(len(records) / wall, 2) if wall else None}
    groups = {'all': records}
    for action in sorted(set(r['action'] for r in records)):
        groups[action.split('.')[-1]] = [r for r in records if r['action'] == action]
    for name, group in groups.items():
        seconds = [r['seconds'] for r in group if r['seconds'] is not None]
        if seconds:
            out[name] = {'median_ms': round(statistics.median(seconds) * 1000), 'p95_ms': round(p95(seconds) * 1000),
                         'max_ms': round(max(seconds) * 1000)}
    return out


def remove_vms(prefix):
    libvirt = _quiet_libvirt()
    conn = libvirt.open(URI)
    try:
        for dom in conn.listAllDomains(0):
            if dom.name().startswith(prefix):
                if dom.isActive():
                    dom.destroy()
                dom.undefine()
    finally:
        conn.close()


def check_quick(result):
    """Every task of both modes ran, none failed, none changed (times are not looked at)."""
    expected = 2 * result['hosts'] * result['runs']
    problems = []
    for mode in ('parallel', 'serial'):
        one = result[mode]
        if one['tasks'] != expected or one['failed'] or one['changed']:
            problems.append('%s: %d tasks of %d, %d failed, %d changed' % (
                mode, one['tasks'], expected, one['failed'], one['changed']))
    if problems:
        raise SystemExit('load quick check: %s' % '; '.join(problems))
    print('load: quick check passed (%d tasks per mode, none failed or changed)' % expected)


def bench_load(args, work, prefix):
    """Returns the result dict; the VMs are removed whatever happens."""
    inventory = os.path.join(work, 'load-inventory.json')
    write_inventory(inventory, prefix, args.load_hosts)
    plays = write_plays(work)
    try:
        dummy, records, out = run_play(work, inventory, plays['define'], args.load_hosts, 'define')
        bad = [r for r in records if r['status'] != 'ok']
        if bad or len(records) != args.load_hosts:
            sys.stdout.write(out[-4000:])
            raise SystemExit('defining the %d VMs failed' % args.load_hosts)
        runs = {'parallel': [], 'serial': []}
        for run in range(args.load_runs):
            for mode, forks in (('parallel', args.load_hosts), ('serial', 1)):
                wall, records, out = run_play(work, inventory, plays['load'], forks, '%s-%d' % (mode, run))
                runs[mode].append((wall, records))
                summary = summarize(records, wall)
                print('load run %d, %s (forks %d): %d tasks, %d failed, %d changed, median %d ms, p95 %d ms, '
                      'wall %.1f s' % (run + 1, mode, forks, summary['tasks'], summary['failed'], summary['changed'],
                                       summary['all']['median_ms'], summary['all']['p95_ms'], wall), flush=True)
                if summary['failed'] or summary['tasks'] != 2 * args.load_hosts:
                    failed = [line for line in out.splitlines() if line.startswith(('fatal:', 'failed:'))]
                    print('\n'.join(line[:400] for line in failed[:5]))
        result = {'hosts': args.load_hosts, 'runs': args.load_runs, 'uri': URI,
                  'load_average_at_end': os.getloadavg()}
        for mode, items in runs.items():
            records = [r for dummy, recs in items for r in recs]
            result[mode] = summarize(records, sum(wall for wall, dummy in items))
            result[mode]['wall_s_per_run'] = [round(wall, 1) for wall, dummy in items]
        par, ser = result['parallel'], result['serial']
        result['median_ratio_parallel_over_serial'] = round(par['all']['median_ms'] / ser['all']['median_ms'], 2)
        result['wall_ratio_parallel_over_serial'] = round(par['wall_s'] / ser['wall_s'], 2)
        print('load: forks %d: %d failed of %d, median %d ms, p95 %d ms, %.2f tasks/s | forks 1: %d failed of %d, '
              'median %d ms, p95 %d ms, %.2f tasks/s' % (
                  args.load_hosts, par['failed'], par['tasks'], par['all']['median_ms'], par['all']['p95_ms'],
                  par['tasks_per_s'], ser['failed'], ser['tasks'], ser['all']['median_ms'], ser['all']['p95_ms'],
                  ser['tasks_per_s']))
        return result
    finally:
        remove_vms(prefix)
