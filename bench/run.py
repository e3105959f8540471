# -*- coding: utf-8 -*-
"""Benchmarks for vmcat.libvirt (not tests: figures come from `make bench`; `make test` runs only --quick).

Each benchmark measures our task side by side with its alternative in one
run and prints the ratio:

- noop:      a no-op `vmcat.libvirt.vm` task (the VM already as declared)
             against `ansible.builtin.ping`, N tasks each, median of R runs,
             and the calls one such task makes into libvirt-python
             (bench/libvirt_calls.py).
- provision: 5 VMs from a template to "guest agent answers", linked clone
             (qcow2 overlay) against full copy, on qemu:///system with TCG
             guests built from the test fixture; the template is the
             fixture's boot disk with --template-data-mib (2048) of data the
             benchmark writes after its partition, as a real image has.
- inventory: vmcat.libvirt.libvirt against community.libvirt.libvirt and the
             floor (empty ansible-inventory, plain libvirt-python listing), on
             a generated test:/// node of 1000 VMs and on qemu:///system with
             4 TCG guests (bench/inventory.py).
- connection: vmcat.libvirt.qga against community.libvirt.libvirt_qemu and
             raw agent calls: a 20 MiB put_file and 20 short commands, and a
             playbook of 20 raw tasks (bench/connection.py).
- load:      50 hosts each running vm_info and a no-op vm on its own VM of
             qemu:///system, with forks 50 against forks 1: failures, median
             and p95 task time (bench/load.py).
- scale:     vm_info and the inventory on test:/// nodes of 10, 100, 1000 and
             5000 VMs (time per further VM), and a play declaring 20 small idle
             TCG VMs on qemu:///system, first run and no-op re-run
             (bench/scale.py).
- payload:   each module's AnsiballZ payload as ansible-core builds it, and
             the time its import takes out of that zip, compiling and with
             the code cache warm (bench/payload.py on build/collections).
- exporter:  the monitoring role's exporter against Debian's
             prometheus-libvirt-exporter (bench/exporter.py, its defaults).
- console:   the browser console through the gateway against direct VNC
             (bench/console.py, its defaults).
- remote:    no-op pool_info tasks over qemu+ssh:// to a private sshd on
             127.0.0.1, with and without an SSH control master, against
             qemu:///system (bench/remote.py).

inventory and connection need the bench venv (`make bench-venv`).

--quick (make test's bench-quick stage): every benchmark once, at its
smallest (QUICK below), to prove it still runs: each one exercises its code
path and fails (exit 1) when that path breaks, and asserts no time.  Its
times mean nothing and nothing is written to bench/results.  make test
builds no bench venv, so the community.libvirt side is not run; what a
quick run leaves out is printed, and again in its last line.

Usage: python bench/run.py [noop] [provision] [inventory] [connection] [load] [payload] [exporter] [console]
                           [remote] [--runs R] [--tasks N] [--quick]
Results are printed and written to bench/results/<name>.json (not with --quick).
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, 'results')
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))

from harness import daemons, guest  # noqa: E402

sys.path.insert(0, HERE)
import _lab  # noqa: E402
import connection as conn_bench  # noqa: E402
import console as console_bench  # noqa: E402
import exporter as exporter_bench  # noqa: E402
import inventory as inv_bench  # noqa: E402
import load as load_bench  # noqa: E402
import scale as scale_bench  # noqa: E402
import remote as remote_bench  # noqa: E402
from _playbooks import playbook, run_playbook  # noqa: E402


def save(name, data):
    if QUICK_MODE:
        return
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, name + '.json'), 'w') as f:
        json.dump(data, f, indent=2)


def vm_task(name, pool, state, disk_create, extra=None):
    task = {'vmcat.libvirt.vm': dict({
        'uri': 'qemu:///system', 'name': name, 'memory': '256M', 'vcpus': 1, 'virt_type': 'qemu',
        'machine': 'pc', 'state': state,
        'disks': [{'target': 'vda', 'create': dict({'pool': pool, 'name': name + '.qcow2'}, **disk_create)}],
    }, **(extra or {}))}
    return task


def add_data(image, mib):
    """Grow a qcow2 image by ``mib`` MiB and fill that space with data (allocated clusters, as a real image's files
    are), after the fixture's partition, which the guest keeps booting from."""
    virtual = json.loads(subprocess.check_output(['qemu-img', 'info', '--output=json', image]))['virtual-size']
    start = (virtual + (1 << 20) - 1) >> 20 << 20
    subprocess.check_call(['qemu-img', 'resize', '-q', image, str(start + (mib << 20))])
    step = 256
    for offset in range(0, mib, step):
        length = min(step, mib - offset)
        subprocess.check_call(['qemu-io', '-f', 'qcow2', '-c', 'write -q -P 0x%02x %dM %dM' % (
            0x41 + offset // step % 26, (start >> 20) + offset, length), image], stdout=subprocess.DEVNULL)


def setup_pool(work, prefix, data_mib=0):
    """A dir pool in a world-readable place (QEMU runs as libvirt-qemu) with the fixture disk as a template
    (grown by ``data_mib`` MiB of data)."""
    fixture = guest.build_guest()
    pool_dir = os.path.join(work, 'pool')
    os.makedirs(pool_dir)
    os.chmod(work, 0o755)
    image = os.path.join(work, 'fixture.qcow2')
    shutil.copy(fixture['disk'], image)
    os.chmod(image, 0o644)
    if data_mib:
        add_data(image, data_mib)
    tasks = [
        {'vmcat.libvirt.pool': {'uri': 'qemu:///system', 'name': prefix + 'pool', 'target': {'path': pool_dir},
                                'build': True}},
        {'vmcat.libvirt.template': {'uri': 'qemu:///system', 'name': prefix + 'tpl', 'pool': prefix + 'pool',
                                    'source': {'path': image}}},
    ]
    run_playbook(playbook(os.path.join(work, 'setup.yml'), tasks))


def cleanup(work, prefix, names):
    tasks = [{'vmcat.libvirt.vm': {'uri': 'qemu:///system', 'name': n, 'state': 'absent', 'remove_storage': True},
              'ignore_errors': True} for n in names]
    tasks += [
        {'vmcat.libvirt.template': {'uri': 'qemu:///system', 'name': prefix + 'tpl', 'state': 'absent'},
         'ignore_errors': True},
        {'vmcat.libvirt.pool': {'uri': 'qemu:///system', 'name': prefix + 'pool', 'state': 'absent', 'purge': True},
         'ignore_errors': True},
    ]
    run_playbook(playbook(os.path.join(work, 'cleanup.yml'), tasks))


def bench_noop(args, work, prefix):
    name = prefix + 'noop'
    create = {'template': prefix + 'tpl', 'linked': True}
    run_playbook(playbook(os.path.join(work, 'define.yml'), [vm_task(name, prefix + 'pool', 'present', create)]))
    loop = list(range(args.tasks))
    vm_play = playbook(os.path.join(work, 'vm.yml'),
                       [dict(vm_task(name, prefix + 'pool', 'present', create), loop=loop)])
    ping_play = playbook(os.path.join(work, 'ping.yml'), [{'ansible.builtin.ping': {}, 'loop': loop}])
    vm_times, ping_times = [], []
    for dummy in range(args.runs):
        elapsed, out = run_playbook(vm_play)
        if 'changed=0' not in out:
            raise SystemExit('the no-op vm task reported a change:\n' + out[-2000:])
        vm_times.append(elapsed)
        ping_times.append(run_playbook(ping_play)[0])
    vm_ms = statistics.median(vm_times) / args.tasks * 1000
    ping_ms = statistics.median(ping_times) / args.tasks * 1000
    calls = libvirt_calls('vm', vm_task(name, prefix + 'pool', 'present', create)['vmcat.libvirt.vm'])
    result = {'tasks_per_run': args.tasks, 'runs': args.runs, 'vm_playbook_s': vm_times, 'ping_playbook_s': ping_times,
              'vm_ms_per_task': round(vm_ms, 1), 'ping_ms_per_task': round(ping_ms, 1),
              'ratio_vm_over_ping': round(vm_ms / ping_ms, 2), 'libvirt_calls': calls}
    print('noop: vm %.1f ms/task, ping %.1f ms/task, ratio %.2f (median of %d runs of %d tasks; '
          'playbook start-up included, spread over the tasks)' % (vm_ms, ping_ms, vm_ms / ping_ms, args.runs, args.tasks))
    print('noop: one no-op vm task makes %d calls into libvirt-python: %s' % (calls['total'], ', '.join(
        '%s %d' % item for item in sorted(calls['calls'].items()))))
    save('noop', result)
    return [name]


def libvirt_calls(module, module_args):
    """bench/libvirt_calls.py for one run of ``module`` (which must change nothing): {'total': n, 'calls': {...}}."""
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, 'build', 'collections'))
    out = subprocess.run([sys.executable, os.path.join(HERE, 'libvirt_calls.py'), module, json.dumps(module_args)],
                         env=env, stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout
    counted = json.loads(out)
    if counted['result'].get('changed') or counted['result'].get('failed'):
        raise SystemExit('%s was to change nothing: %s' % (module, counted['result']))
    return {'total': counted['total'], 'calls': counted['calls']}


def bench_provision(args, work, prefix):
    """Linked clones against full copies, --runs rounds interleaved (the order reversed every other round)."""
    times = {'linked': [], 'full': []}
    names = []
    for round_no in range(args.runs):
        for linked in ((True, False) if round_no % 2 == 0 else (False, True)):
            kind = 'linked' if linked else 'full'
            batch = ['%s%s%d-%d' % (prefix, kind, round_no, i) for i in range(args.vms)]
            names += batch
            create = {'template': prefix + 'tpl', 'linked': linked}
            tasks = [dict(vm_task('{{ item }}', prefix + 'pool', 'running', create), loop=batch),
                     dict(vm_task('{{ item }}', prefix + 'pool', 'running', create,
                                  {'wait_for': 'agent', 'wait_timeout': 600}), loop=batch)]
            elapsed, dummy = run_playbook(playbook(os.path.join(work, 'provision-%s.yml' % kind), tasks))
            times[kind].append(round(elapsed, 1))
            print('provision %d VMs (%s, round %d): %.1f s to all agents answering' % (
                args.vms, kind, round_no + 1, elapsed), flush=True)
            run_playbook(playbook(os.path.join(work, 'remove-%s.yml' % kind), [
                {'vmcat.libvirt.vm': {'uri': 'qemu:///system', 'name': '{{ item }}', 'state': 'absent',
                                      'remove_storage': True}, 'loop': batch}]))
    results = dict((kind, statistics.median(values)) for kind, values in times.items())
    results['ratio_full_over_linked'] = round(results['full'] / results['linked'], 2)
    results['round_ratios'] = [round(f / l, 2) for f, l in zip(times['full'], times['linked'])]
    results['runs'] = times
    results['vms'] = args.vms
    results['template_bytes'] = os.path.getsize(os.path.join(work, 'fixture.qcow2'))
    results['template_data_mib'] = args.template_data_mib
    print('provision: full copy / linked clone = %.2f (medians of %d rounds: full %.1f s (%.1f-%.1f), linked %.1f s '
          '(%.1f-%.1f); per round %s)' % (
              results['ratio_full_over_linked'], args.runs, results['full'], min(times['full']), max(times['full']),
              results['linked'], min(times['linked']), max(times['linked']),
              ', '.join('%.2f' % r for r in results['round_ratios'])))
    save('provision', results)
    return names


ALL = ('noop', 'provision', 'inventory', 'connection', 'load', 'scale', 'payload', 'exporter', 'console', 'remote')
# --quick: each benchmark at the smallest size that still goes through its whole path
QUICK = dict(runs=1, tasks=2, vms=1, inventory_vms=20, inventory_runs=1, commands=2, size_mib=1, load_hosts=3,
             load_runs=1, remote_tasks=2, remote_runs=1, remote_floor=1, template_data_mib=1, scale_runs=1, fleet_vms=2,
             module_tasks=1, module_runs=1)
QUICK_MODE = []  # holds True during a quick run: nothing is saved
NOT_RUN = []  # (benchmark, what a quick run left out and why)


def not_run(benchmark, what):
    """Say what a quick run leaves out, now and in its last line."""
    NOT_RUN.append((benchmark, what))
    print('%s: NOT RUN in quick mode: %s' % (benchmark, what), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('benchmarks', nargs='*', help='default: noop provision (with --quick: all)')
    parser.add_argument('--quick', action='store_true',
                        help='each benchmark once at its smallest: fails when one breaks, asserts no time, saves '
                             'nothing (make test)')
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--tasks', type=int, default=20)
    parser.add_argument('--vms', type=int, default=5)
    parser.add_argument('--inventory-vms', type=int, default=1000, help='VMs in the generated test:/// node')
    parser.add_argument('--inventory-runs', type=int, default=7, help='runs per inventory measurement')
    parser.add_argument('--commands', type=int, default=20, help='short commands in the connection benchmark')
    parser.add_argument('--size-mib', type=int, default=20, help='file size of the connection benchmark')
    parser.add_argument('--module-tasks', type=int, default=20,
                        help='ansible.builtin.file tasks per playbook in the connection benchmark\'s module part')
    parser.add_argument('--module-runs', type=int, default=5,
                        help='interleaved rounds of the connection benchmark\'s module part')
    parser.add_argument('--load-hosts', type=int, default=50, help='hosts (and forks) of the load benchmark')
    parser.add_argument('--load-runs', type=int, default=2, help='runs of each mode in the load benchmark')
    parser.add_argument('--template-data-mib', type=int, default=2048,
                        help='data written into the provision benchmark\'s template image')
    parser.add_argument('--scale-runs', type=int, default=3, help='interleaved runs per size in the scale benchmark')
    parser.add_argument('--fleet-vms', type=int, default=20, help='VMs the scale benchmark\'s fleet play declares')
    parser.add_argument('--remote-tasks', type=int, default=20, help='pool_info tasks per playbook in the remote benchmark')
    parser.add_argument('--remote-runs', type=int, default=5, help='interleaved runs of each mode in the remote benchmark')
    parser.add_argument('--remote-floor', type=int, default=10, help='bare libvirt opens per URI in the remote benchmark')
    args = parser.parse_args()
    unknown = set(args.benchmarks) - set(ALL)
    if unknown:
        parser.error('unknown benchmarks: %s' % ', '.join(sorted(unknown)))
    if args.quick:
        return run_quick(args)
    args.benchmarks = args.benchmarks or ['noop', 'provision']
    daemons.ensure_daemons()
    if set(args.benchmarks) & {'noop', 'provision'}:
        run_pool_benchmarks(args)
    if set(args.benchmarks) & {'inventory', 'connection'}:
        run_agent_benchmarks(args)
    if 'load' in args.benchmarks:
        run_load_benchmark(args)
    if 'scale' in args.benchmarks:
        run_scale_benchmark(args)
    if 'payload' in args.benchmarks:
        bench_payload(args)
    if 'exporter' in args.benchmarks:
        exporter_bench.main([])
    if 'console' in args.benchmarks:
        console_bench.main([])
    if 'remote' in args.benchmarks:
        run_remote_benchmark(args)
    return 0


def run_quick(args):
    """Every benchmark (or those named) once at its smallest; 1 when any of them failed."""
    QUICK_MODE.append(True)
    args.benchmarks = args.benchmarks or list(ALL)
    for key, value in QUICK.items():
        setattr(args, key, value)
    if set(args.benchmarks) & {'inventory', 'connection'}:
        not_run('inventory, connection', 'the community.libvirt side (make test builds no bench venv, %s); '
                'ours and the floors only' % os.path.relpath(inv_bench.BENCH_VENV, ROOT))
    daemons.ensure_daemons()
    groups = [
        (('noop', 'provision'), run_pool_benchmarks),
        (('inventory', 'connection'), run_agent_benchmarks),
        (('load',), run_load_benchmark),
        (('scale',), run_scale_benchmark),
        (('payload',), bench_payload),
        (('exporter',), lambda a: exporter_bench.main(['--quick'], note=not_run)),
        (('console',), lambda a: console_bench.main(['--quick'], note=not_run)),
        (('remote',), run_remote_benchmark),
    ]
    status = {}
    for names, fn in groups:
        names = [n for n in names if n in args.benchmarks]
        if not names:
            continue
        print('\n===== quick %s' % ' + '.join(names), flush=True)
        started = time.monotonic()
        try:
            fn(args)
            outcome = 'ok'
        except (Exception, SystemExit) as exc:  # every benchmark runs and reports, whatever one of them does
            traceback.print_exc()
            outcome = 'FAILED (%s)' % (str(exc).strip().splitlines() or [type(exc).__name__])[-1][:200]
        status.update((n, outcome) for n in names)
        print('quick %s: %s (%.0f s; the time means nothing)' % (' + '.join(names), outcome,
                                                                 time.monotonic() - started), flush=True)
    failed = ['%s %s' % (n, s) for n, s in status.items() if s != 'ok']
    print('\nbench quick: %d of %d benchmarks ran and passed%s; not run: %s' % (
        len(status) - len(failed), len(status), '; ' + ', '.join(failed) if failed else '',
        '; '.join('%s: %s' % item for item in NOT_RUN) or 'nothing'))
    return 1 if failed else 0


def bench_payload(args):
    """Each module's payload built by ansible-core (bench/payload.py); every module must build with our files in it."""
    collections = os.path.join(ROOT, 'build', 'collections')
    proc = subprocess.run([sys.executable, os.path.join(HERE, 'payload.py'), collections, str(args.runs)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, check=False)
    if proc.returncode != 0:
        raise SystemExit('payload.py failed:\n%s' % proc.stderr[-3000:])
    sizes = json.loads(proc.stdout)
    modules = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, 'plugins', 'modules'))
                     if f.endswith('.py') and not f.startswith('_'))
    missing = [m for m in modules if m not in sizes]
    empty = [m for m, s in sizes.items() if not s['payload_bytes'] or not s['module_utils_files']]
    if missing or empty:
        raise SystemExit('payload: no payload for %s; none of our module_utils in %s' % (missing, empty))
    print('payload: %d modules, %d to %d bytes, %d to %d of our module_utils files' % (
        len(sizes), min(s['payload_bytes'] for s in sizes.values()), max(s['payload_bytes'] for s in sizes.values()),
        min(s['module_utils_files'] for s in sizes.values()), max(s['module_utils_files'] for s in sizes.values())))
    for name, size in sorted(sizes.items()):
        print('payload: %-14s import out of its zip %5.1f ms compiled, %5.1f ms from the code cache (median of %d)' % (
            name, size['import_ms_compiled'], size['import_ms_cached'], args.runs))
    save('payload', sizes)


def run_load_benchmark(args):
    prefix = 'vmlbench-%s-' % secrets.token_hex(2)
    work = tempfile.mkdtemp(prefix='vmcat-bench-', dir='/var/tmp')
    try:
        result = load_bench.bench_load(args, work, prefix)
        if args.quick:
            load_bench.check_quick(result)
        save('load', result)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_remote_benchmark(args):
    work = tempfile.mkdtemp(prefix='vmcat-bench-', dir='/var/tmp')
    try:
        save('remote', remote_bench.bench_remote(args, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_scale_benchmark(args):
    args.quick = bool(QUICK_MODE)
    prefix = 'vmsbench-%s-' % secrets.token_hex(2)
    work = tempfile.mkdtemp(prefix='vmcat-bench-', dir='/var/tmp')
    try:
        result = {'nodes': scale_bench.bench_nodes(args, work, prefix),
                  'fleet': scale_bench.bench_fleet(args, work, prefix)}
        save('scale', result)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_agent_benchmarks(args):
    """inventory (test node, then the real node) and connection share one lab of 4 fixture guests."""
    prefix = 'vmbench-%s-' % secrets.token_hex(2)
    work = tempfile.mkdtemp(prefix='vmcat-bench-', dir='/var/tmp')
    os.chmod(work, 0o755)
    lab = _lab.Lab(prefix)
    lab.work = work
    try:
        if 'inventory' in args.benchmarks:
            result = {'test_node': inv_bench.bench_test_node(args, work, prefix)}
            save('inventory', result)
        if args.quick:
            lab.up([('ga1', 'agent')])
            if 'inventory' in args.benchmarks:
                not_run('inventory', 'the real node\'s VMs without an agent channel and with a killed agent '
                        '(quick: one guest)')
        else:
            lab.up([('ga1', 'agent'), ('ga2', 'agent'), ('noch', 'nochannel'), ('stop', 'stopped')])
        if 'connection' in args.benchmarks:
            save('connection', conn_bench.bench_connection(args, lab))
        if 'inventory' in args.benchmarks:
            result['real_node'] = inv_bench.bench_real_node(args, lab, args.inventory_runs)
            save('inventory', result)
    finally:
        _lab.tear_down(lab, work, prefix)


def run_pool_benchmarks(args):
    prefix = 'vmcbench-%s-' % secrets.token_hex(2)
    work = tempfile.mkdtemp(prefix='vmcat-bench-', dir='/var/tmp')
    names = []
    try:
        setup_pool(work, prefix, args.template_data_mib if 'provision' in args.benchmarks else 0)
        if 'noop' in args.benchmarks:
            names += bench_noop(args, work, prefix)
        if 'provision' in args.benchmarks:
            names += bench_provision(args, work, prefix)
    finally:
        cleanup(work, prefix, names)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
