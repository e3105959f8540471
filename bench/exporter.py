# -*- coding: utf-8 -*-
"""Exporter benchmark: the monitoring role's libvirt exporter against Debian's prometheus-libvirt-exporter.

One run, the same nodes and the same minutes for both (issue 13's budgets:
one scrape of 50 VMs in at most 15 ms; under 5 % of one core and under
50 MB while scraped every 15 s):

- ``test`` node: a ``test:///<abs>/node.xml`` file with ``--vms`` VMs (two
  thirds running, one NIC each; libvirt's test driver gives only the state
  group of the bulk stats, so this is the exporters' own cost);
- ``real`` node: qemu:///system with ``--vms`` TCG VMs started paused (a
  QEMU process each, with a 16 MiB qcow2 disk and a NIC on an isolated
  network: libvirt asks each QEMU for its block, balloon and vCPU numbers)
  plus one fixture guest whose agent answers (``--no-guest`` leaves it out).
  Other VMs on qemu:///system (other work on the machine) are scraped too;
  the result says how many VMs each scrape saw.

Phases: ``--scrapes`` interleaved scrapes per node (ours, Debian's, then
libvirt's bulk call alone from this process: the floor), wall time of the
HTTP GET and libvirtd's CPU time during it; the bulk call per stats group
for the paused VMs (and per-VM ``info()``/``blockStats()`` beside it); then
both exporters freshly started on the real node and scraped
every ``--period`` s for ``--duration`` s: CPU (utime+stime from /proc over
the window, after one warm-up scrape) and resident memory (VmRSS after
each scrape).  Ours runs under ``--python`` (default: Debian's python3 when
it has python3-libvirt and python3-prometheus-client, as the role installs
it; else this interpreter).

Debian's exporter comes from the ``prometheus-libvirt-exporter`` package
(``apt-get install prometheus-libvirt-exporter``; its service stays
stopped). Objects are named ``vmxbench-<random>-*`` and removed at the end.

Quick mode (``--quick``, bench/run.py --quick in make test): a test node
of 5 VMs and 2 paused QEMU VMs (no guest), one scrape round, the bulk call
per group once, a 1 s CPU/memory window; Debian's exporter only when it is
installed (said otherwise).  It fails when an exporter does not come up or
a scrape lacks the VMs or the block and vCPU series; it checks no time and
saves nothing.

Usage: python bench/exporter.py [--vms 50] [--scrapes 30] [--duration 180] [--period 15] [--no-guest] [--quick]
Results: printed, and bench/results/exporter.json.
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import libvirt

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
sys.path.insert(0, HERE)

from harness import daemons  # noqa: E402
from harness.fixture_vm import firmware_vm_xml  # noqa: E402
import _lab  # noqa: E402
import inventory as inv_bench  # noqa: E402

EXPORTER = os.path.join(ROOT, 'roles', 'monitoring', 'files', 'vmcat_libvirt_exporter.py')
COLLECTIONS = os.path.join(ROOT, 'build', 'collections')
DEBIAN_EXPORTER = '/usr/bin/prometheus-libvirt-exporter'
RESULTS = os.path.join(HERE, 'results')
STATS = 1 | 2 | 4 | 8 | 16 | 32  # the groups our exporter asks for (_stats/_readings.STATS)
NOWAIT = 1 << 29
CLOCK_TICKS = os.sysconf('SC_CLK_TCK')


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def ours_python(choice):
    """The interpreter for our exporter: the given one, else Debian's python3 when it has what the role installs."""
    if choice:
        return choice
    probe = subprocess.run(['/usr/bin/python3', '-c', 'import libvirt, prometheus_client'],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return '/usr/bin/python3' if probe.returncode == 0 else sys.executable


def cpu_seconds(pid):
    """utime + stime of a process so far, in seconds."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / float(CLOCK_TICKS)


def libvirtd_pid():
    found = subprocess.run(['pidof', '-s', 'libvirtd'], stdout=subprocess.PIPE, universal_newlines=True, check=False)
    return int(found.stdout.split()[0]) if found.stdout.strip() else None


class Exporter(object):
    """One exporter process on 127.0.0.1 (``ours`` or ``debian``) for ``uri``."""

    def __init__(self, kind, uri, python, work):
        self.kind = kind
        self.port = _free_port()
        if kind == 'ours':
            cmd = [python, EXPORTER, '--uri', uri, '--listen', '127.0.0.1:%d' % self.port,
                   '--agent-interval', '60', '--agent-timeout', '2']
            env = dict(os.environ, PYTHONPATH=COLLECTIONS)
        else:
            cmd = [DEBIAN_EXPORTER, '--web.listen-address=127.0.0.1:%d' % self.port, '--libvirt.uri=%s' % uri]
            env = dict(os.environ)
        self.log = open(os.path.join(work, '%s-%d.log' % (kind, self.port)), 'w')
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.url = 'http://127.0.0.1:%d/metrics' % self.port
        deadline = time.monotonic() + 30
        while True:
            try:
                self.scrape()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError('%s exporter did not come up: see %s' % (kind, self.log.name))
                time.sleep(0.2)

    def scrape(self):
        """(seconds for the whole GET, body)."""
        started = time.monotonic()
        with urllib.request.urlopen(self.url, timeout=60) as answer:
            body = answer.read().decode('utf-8')
        return time.monotonic() - started, body

    def cpu_seconds(self):
        return cpu_seconds(self.proc.pid)

    def rss_mb(self):
        with open('/proc/%d/status' % self.proc.pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) / 1024.0
        return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def sample_value(body, name):
    for line in body.splitlines():
        if line.startswith(name + ' ') or line.startswith(name + '{}'):
            return float(line.split()[-1])
    return None


def metric_names(body):
    """Sorted names of the libvirt series in a scrape (exporter self-metrics and process_/go_ ones left out)."""
    names = set()
    for line in body.splitlines():
        if line and not line.startswith('#'):
            name = line.split('{', 1)[0].split(' ', 1)[0]
            if name.startswith('libvirt_') and not name.startswith('libvirt_exporter_'):
                names.add(name)
    return sorted(names)


def summary(values):
    ordered = sorted(values)
    return dict(median_ms=round(statistics.median(ordered) * 1000, 2), min_ms=round(ordered[0] * 1000, 2),
                p95_ms=round(ordered[max(0, int(round(0.95 * len(ordered))) - 1)] * 1000, 2), runs=len(ordered))


def scrape_times(uri, scrapes, python, work, kinds=('ours', 'debian')):
    """Interleaved scrapes of the exporters (ours, Debian's) and the bulk call alone, on one node."""
    exporters = []
    floor_conn = None
    times = dict((k, []) for k in kinds + ('bulk_call', 'ours_stats_call', 'ours_collect'))
    daemon = dict((k, []) for k in kinds)  # libvirtd's CPU seconds during each scrape (others' work adds noise)
    daemon_pid = libvirtd_pid() if uri.startswith('qemu') else None
    bodies = {}
    try:
        exporters = [Exporter(kind, uri, python, work) for kind in kinds]
        floor_conn = libvirt.openReadOnly(uri)
        for dummy in range(scrapes):
            for exporter in exporters:
                before = cpu_seconds(daemon_pid) if daemon_pid else None
                seconds, body = exporter.scrape()
                if daemon_pid:
                    daemon[exporter.kind].append(cpu_seconds(daemon_pid) - before)
                times[exporter.kind].append(seconds)
                bodies[exporter.kind] = body
            times['ours_stats_call'].append(sample_value(bodies['ours'], 'libvirt_exporter_stats_call_seconds'))
            times['ours_collect'].append(sample_value(bodies['ours'], 'libvirt_exporter_scrape_seconds'))
            started = time.monotonic()
            records = floor_conn.getAllDomainStats(STATS, NOWAIT)
            times['bulk_call'].append(time.monotonic() - started)
    finally:
        for exporter in exporters:
            exporter.stop()
        if floor_conn:
            floor_conn.close()
    result = dict((k, summary(v)) for k, v in times.items())
    if daemon_pid:
        result['libvirtd_cpu_ms_per_scrape'] = dict((k, round(statistics.median(v) * 1000, 1)) for k, v in daemon.items())
    result['vms_seen'] = dict(ours=sample_value(bodies['ours'], 'libvirt_domains'), bulk_call=len(records),
                              debian=sample_value(bodies.get('debian', ''), 'libvirt_domains_number'))
    result['series'] = dict((k, sum(1 for line in b.splitlines() if line.startswith('libvirt_')))
                            for k, b in bodies.items())
    result['metric_names'] = dict((k, metric_names(b)) for k, b in bodies.items())
    result['bytes'] = dict((k, len(b)) for k, b in bodies.items())
    return result


def resources(uri, duration, period, python, work, kinds=('ours', 'debian')):
    """The exporters scraped every ``period`` s for ``duration`` s: CPU % of one core and resident memory."""
    exporters = []
    try:
        exporters = [Exporter(kind, uri, python, work) for kind in kinds]
        for exporter in exporters:
            exporter.scrape()  # warm-up: connections opened, code paths loaded
        start_cpu = dict((e.kind, e.cpu_seconds()) for e in exporters)
        rss = dict((e.kind, []) for e in exporters)
        started = time.monotonic()
        rounds = 0
        while time.monotonic() - started < duration:
            round_start = time.monotonic()
            for exporter in exporters:
                exporter.scrape()
                rss[exporter.kind].append(exporter.rss_mb())
            rounds += 1
            time.sleep(max(0.0, period - (time.monotonic() - round_start)))
        elapsed = time.monotonic() - started
        result = {}
        for exporter in exporters:
            used = exporter.cpu_seconds() - start_cpu[exporter.kind]
            result[exporter.kind] = dict(cpu_percent=round(100.0 * used / elapsed, 2), cpu_seconds=round(used, 2),
                                         rss_mb_max=round(max(rss[exporter.kind]), 1),
                                         rss_mb_last=round(rss[exporter.kind][-1], 1))
        result.update(seconds=round(elapsed, 1), scrapes=rounds, period=period)
        return result
    finally:
        for exporter in exporters:
            exporter.stop()


def paused_vms(conn, prefix, count, network, work):
    """``count`` TCG VMs (16 MiB qcow2 disk, NIC on ``network``) started paused: QEMU processes that use no CPU."""
    for index in range(count):
        name = '%sp%02d' % (prefix, index)
        disk = os.path.join(work, name + '.qcow2')
        subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', disk, '16M'], check=True)
        os.chmod(disk, 0o666)
        mac = '52:54:00:7e:%02x:%02x' % (index >> 8 & 255, index & 255)
        dom = conn.defineXML(firmware_vm_xml(name, disk=disk, network=network, mac=mac, memory_mib=32))
        dom.createWithFlags(libvirt.VIR_DOMAIN_START_PAUSED)


GROUPS = (('state', 1), ('cpu', 2), ('balloon', 4), ('vcpu', 8), ('interface', 16), ('block', 32), ('all six', 63))


def group_costs(prefix, runs):
    """Median ms of the bulk call per stats group for the benchmark's own VMs, and of per-VM calls beside it."""
    conn = libvirt.openReadOnly('qemu:///system')
    try:
        doms = [d for d in conn.listAllDomains(0) if d.name().startswith(prefix + 'p')]

        def median_ms(fn):
            taken = []
            for dummy in range(runs):
                started = time.monotonic()
                fn()
                taken.append(time.monotonic() - started)
            return round(statistics.median(taken) * 1000, 1)
        costs = dict((name, median_ms(lambda: conn.domainListGetStats(doms, groups, NOWAIT)))
                     for name, groups in GROUPS)
        costs['all six without NOWAIT'] = median_ms(lambda: conn.domainListGetStats(doms, STATS, 0))
        costs['info() per VM'] = median_ms(lambda: [d.info() for d in doms])
        costs['info() and blockStats() per VM'] = median_ms(lambda: [(d.info(), d.blockStats('vda')) for d in doms])
        costs['vms'] = len(doms)
        return costs
    finally:
        conn.close()


def load_average():
    with open('/proc/loadavg') as f:
        return [float(x) for x in f.read().split()[:3]]


def print_summary(result):
    for node in ('test_node', 'real_node'):
        part = result[node]
        debian = part.get('debian', {})
        print('%s (%s VMs seen by ours, %s by Debian\'s): scrape median ours %.2f ms, Debian %s ms; '
              'p95 ours %.2f ms, Debian %s ms; bulk call alone %.2f ms; series ours %d, Debian %s; '
              'libvirtd CPU per scrape %s'
              % (node, part['vms_seen']['ours'], part['vms_seen']['debian'], part['ours']['median_ms'],
                 debian.get('median_ms'), part['ours']['p95_ms'], debian.get('p95_ms'),
                 part['bulk_call']['median_ms'], part['series']['ours'], part['series'].get('debian'),
                 part.get('libvirtd_cpu_ms_per_scrape', '-')))
    print('bulk call per stats group for the %d paused VMs (median ms): %s'
          % (result['group_costs_ms']['vms'], result['group_costs_ms']))
    res = result.get('resources')
    for kind in [k for k in ('ours', 'debian') if k in (res or {})]:
        print('%s while scraped every %ss for %ss: CPU %.2f %% of one core, RSS max %.1f MB'
              % (kind, res['period'], res['seconds'], res[kind]['cpu_percent'], res[kind]['rss_mb_max']))


QUICK_REAL_VMS = 2  # paused QEMU VMs on the real node in quick mode


def check_quick(result, kinds, prefix):
    """Quick mode's checks (never of a time): every exporter up and reporting the VMs, ours with QEMU's series."""
    problems = []
    test, real = result['test_node'], result['real_node']
    if test['vms_seen']['ours'] != result['vms']:
        problems.append('ours saw %s VMs on the test node, expected %d' % (test['vms_seen']['ours'], result['vms']))
    if (real['vms_seen']['ours'] or 0) < QUICK_REAL_VMS:
        problems.append('ours saw %s VMs on qemu:///system, expected at least %d' % (
            real['vms_seen']['ours'], QUICK_REAL_VMS))
    for name in ('libvirt_domain_block_stats_capacity_bytes', 'libvirt_domain_vcpu_time_seconds_total'):
        if name not in real['metric_names']['ours']:
            problems.append('no %s in our scrape of qemu:///system' % name)
    if 'debian' in kinds and not (test['series'].get('debian') and real['series'].get('debian')):
        problems.append('Debian\'s exporter gave no libvirt_ series (%s)' % dict(
            (node, result[node]['series'].get('debian')) for node in ('test_node', 'real_node')))
    if result['group_costs_ms']['vms'] != QUICK_REAL_VMS:
        problems.append('the per-group bulk call found %s of the %d paused VMs %s*' % (
            result['group_costs_ms']['vms'], QUICK_REAL_VMS, prefix))
    if sorted(result['resources']) != sorted(kinds + ('seconds', 'scrapes', 'period')):
        problems.append('CPU/memory window gave %s' % sorted(result['resources']))
    if problems:
        raise SystemExit('exporter quick check: %s' % '; '.join(problems))
    print('exporter: quick check passed (%s up; VMs, block and vCPU series reported)' % ' and '.join(kinds))


def main(argv=None, note=None):
    """note(benchmark, what): told what a quick run leaves out (bench/run.py collects it); printed otherwise."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--vms', type=int, default=50, help='VMs on each node (default %(default)s)')
    parser.add_argument('--scrapes', type=int, default=30, help='interleaved scrapes per node (default %(default)s)')
    parser.add_argument('--duration', type=float, default=180, help='seconds of the CPU/memory phase (0: none)')
    parser.add_argument('--period', type=float, default=15, help='seconds between scrapes in that phase')
    parser.add_argument('--python', help="interpreter for our exporter (default: Debian's python3 when it can)")
    parser.add_argument('--no-guest', action='store_true', help='no fixture guest with an answering agent')
    parser.add_argument('--quick', action='store_true',
                        help='smallest run that checks the benchmark works (make test); times mean nothing')
    args = parser.parse_args(argv)
    note = note or (lambda benchmark, what: print('%s: NOT RUN in quick mode: %s' % (benchmark, what)))
    kinds = ('ours', 'debian')
    real_vms = args.vms
    if args.quick:
        args.vms, args.scrapes, args.duration, args.period, args.no_guest = 5, 1, 1, 1, True
        real_vms = QUICK_REAL_VMS
        note('exporter', 'the fixture guest with an answering agent; %d paused VMs instead of 50' % real_vms)
    if not os.path.exists(DEBIAN_EXPORTER):
        missing = '%s is missing: apt-get install prometheus-libvirt-exporter (its service stays stopped)' % (
            DEBIAN_EXPORTER)
        if not args.quick:
            sys.exit(missing)
        kinds = ('ours',)
        note('exporter', 'Debian\'s exporter (%s)' % missing)
    daemons.ensure_daemons()
    python = ours_python(args.python)
    prefix = 'vmxbench-%s-' % secrets.token_hex(2)
    work = tempfile.mkdtemp(prefix='vmcat-bench-', dir='/var/tmp')
    os.chmod(work, 0o755)
    lab = _lab.Lab(prefix)
    result = dict(vms=args.vms, ours_python=python, load_before=load_average(),
                  started=time.strftime('%Y-%m-%d %H:%M:%S'))
    try:
        test_uri = inv_bench.write_test_node(os.path.join(work, 'node-%d.xml' % args.vms), args.vms, prefix)
        result['test_node'] = scrape_times(test_uri, args.scrapes, python, work, kinds)
        lab.up([] if args.no_guest else [('guest', 'agent')])
        paused_vms(lab.conn, prefix, real_vms, lab.network, work)
        result['real_node'] = scrape_times('qemu:///system', args.scrapes, python, work, kinds)
        result['group_costs_ms'] = group_costs(prefix, 1 if args.quick else 7)
        if args.duration > 0:
            result['resources'] = resources('qemu:///system', args.duration, args.period, python, work, kinds)
        result['load_after'] = load_average()
    finally:
        _lab.tear_down(lab, work, prefix)
    print_summary(result)
    if args.quick:
        check_quick(result, kinds, prefix)
        return result
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, 'exporter.json'), 'w') as f:
        json.dump(result, f, indent=2)
    return result


if __name__ == '__main__':
    main()
