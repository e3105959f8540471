# -*- coding: utf-8 -*-
"""Remote node benchmark (issue 15, target 4): no-op tasks over qemu+ssh://, with and without an SSH control master.

A private sshd on 127.0.0.1 (tests/integration/harness/sshd.py: its own host
key, pinned in its own known_hosts) stands for a remote node in front of the
test machine's libvirtd.  It is restarted with two changes to the harness's
config: local forwarding allowed (for the forward mode) and ``AcceptEnv
SHLVL``.  One playbook of T ``vmcat.libvirt.pool_info`` tasks (all pools,
changes nothing) runs on ``connection: local`` against five URIs of the same
libvirtd, interleaved, R times (the order rotates from run to run):

- local:     ``qemu:///system``;
- ssh:       ``qemu+ssh://root@127.0.0.1:PORT/system``, a new SSH connection
             per task (what every task does without more);
- master:    the same URI, its ``ssh`` configured with ``ControlMaster auto``,
             ``ControlPath`` in a 0700 directory and ``ControlPersist``, as
             docs/remote-nodes.md tells users to do.  Each run starts with no
             master, so its first task pays for the SSH handshake;
- master_rc: the same with root's ~/.bashrc read for each session.  sshd runs
             libvirt's ``sh -c`` command through root's login shell, and
             Debian's bash reads ~/.bashrc for commands that come over SSH; on
             this machine that runs ``pyenv init`` (120-150 ms a session).
             The other SSH modes send ``SetEnv SHLVL=1``, which makes bash
             skip it, so they stand for a node whose shell starts quickly;
- forward:   the master with the node's libvirt socket forwarded to a local
             socket (``ssh -O forward -L``), opened before the playbook (its
             set-up time is reported), and ``qemu+unix:///system?socket=``: no
             SSH session per task at all.  Not something to tell users as it
             is: the modules take such a URI for a local node.

The ssh client never reads the machine's ~/.ssh/config or /etc/ssh/ssh_config:
each SSH mode has its own ``-F`` config, reached through a wrapper named by
the URI's ``command=`` (libvirt then runs ``WRAPPER -p PORT -l root -i KEY -T
-e none -o BatchMode=yes -- 127.0.0.1 sh -c '...virt-ssh-helper...'``).

A task's time runs from the moment its worker starts it to the moment its
result is back (bench/callbacks/task_times.py, as in bench/load.py).  Per
mode: the median of each run's median task time, the spread (lowest and
highest run), the mean task time (every task, the first included) and the
ratio to local, per run and as the median of those.  The sshd log says how
many SSH connections each run opened: T for ssh, one for the others over
SSH, none for local; any other count fails the benchmark.  Also the floor:
a bare libvirt-python open, pool listing and close per URI, and ``ssh NODE
true`` with the ssh and master clients, K times each (masters warm).

Quick mode (bench/run.py --quick: T=2, one run, K=1) fails when a task failed
or changed something, a task is missing, or the connection counts are not
as above; no time is checked.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import time

import load as load_bench
from harness import sshd as sshd_harness

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SSHD = os.path.join(ROOT, 'tests', 'integration', 'harness', 'sshd.py')
MODES = ('local', 'ssh', 'master', 'master_rc', 'forward')
MASTERS = ('master', 'master_rc', 'forward')  # forward uses the master mode's master
CONTROL_PERSIST = 60  # seconds a master stays up with no task using it
EXPECTED_CONNECTIONS = {'local': lambda tasks: 0, 'ssh': lambda tasks: tasks, 'master': lambda tasks: 1,
                        'master_rc': lambda tasks: 1, 'forward': lambda tasks: 1}
NODE_SOCKET = '/var/run/libvirt/libvirt-sock'


def _write(path, text, mode):
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, mode)


class Node(object):
    """The private sshd, the ssh client setups and the URIs of the modes."""

    def __init__(self, work):
        self.work = work
        self.sshd_dir = os.path.join(work, 'sshd')
        self.wrappers = {}

    def start(self):
        env = dict(os.environ, SSHD_KEY_PASSPHRASE=secrets.token_hex(8))
        out = subprocess.run([sys.executable, SSHD, 'start', self.sshd_dir], env=env, stdout=subprocess.PIPE,
                             universal_newlines=True, check=True).stdout
        self.facts = json.loads(out)
        self._adjust_sshd()
        self.control_dir = os.path.join(self.work, 'control')
        self.forward_socket = os.path.join(self.control_dir, 'libvirt.sock')
        self.wrappers = {'ssh': self._client('ssh', [], quick_shell=True),
                         'master': self._client('master', self._master_options(self.control_dir), quick_shell=True),
                         'master_rc': self._client('master_rc', self._master_options(self.control_dir + '-rc'),
                                                   quick_shell=False)}
        authority = 'root@127.0.0.1:%d' % self.facts['port']
        self.uris = {'local': 'qemu:///system'}
        for mode, wrapper in self.wrappers.items():
            self.uris[mode] = 'qemu+ssh://%s/system?keyfile=%s&command=%s&no_tty=1' % (
                authority, self.facts['key'], wrapper)
        self.uris['forward'] = 'qemu+unix:///system?socket=%s' % self.forward_socket

    @staticmethod
    def _master_options(control_dir):
        os.mkdir(control_dir, 0o700)
        return ['ControlMaster auto', 'ControlPath %s/%%C' % control_dir, 'ControlPersist %d' % CONTROL_PERSIST,
                'StreamLocalBindUnlink yes']

    def _adjust_sshd(self):
        """Restart the harness's sshd with local forwards allowed (the forward mode's need) and SHLVL accepted from
        the client: the quick-shell modes send SHLVL=1, so root's bash does not read ~/.bashrc for their commands
        (on this machine it runs `pyenv init`, 120-150 ms a session); master_rc leaves it."""
        config = os.path.join(self.sshd_dir, 'sshd_config')
        with open(config) as f:
            text = f.read()
        if 'AllowTcpForwarding no\n' not in text:
            raise SystemExit('remote: %s has no "AllowTcpForwarding no" line to change' % config)
        sshd_harness.stop(self.sshd_dir)
        _write(config, text.replace('AllowTcpForwarding no\n', 'AllowTcpForwarding local\nAcceptEnv SHLVL\n'), 0o600)
        subprocess.run([sshd_harness.SSHD, '-f', config, '-E', self.facts['log']], check=True)
        if not sshd_harness._listening(self.facts['port'], 10):
            raise SystemExit('remote: the sshd did not come back on port %d; see %s' % (
                self.facts['port'], self.facts['log']))

    def _master_ssh(self, *args, **kwargs):
        wrapper = self.wrappers[kwargs.get('mode', 'master')]
        return subprocess.run([wrapper, '-p', str(self.facts['port']), '-l', 'root', '-i', self.facts['key']] + list(args)
                              + ['127.0.0.1'], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=kwargs.get('stderr', subprocess.PIPE),
                              universal_newlines=True, check=False)

    def open_forward(self):
        """A master, and the node's libvirt socket forwarded through it to a local socket; seconds it took."""
        start = time.monotonic()
        self._master_ssh('-fN', stderr=subprocess.DEVNULL)  # returns once the master is up; it keeps stderr
        proc = self._master_ssh('-O', 'forward', '-L', '%s:%s' % (self.forward_socket, NODE_SOCKET))
        if proc.returncode != 0:
            raise SystemExit('remote: ssh -O forward failed: %s' % proc.stderr.strip())
        return time.monotonic() - start

    def session_seconds(self, mode):
        """One `ssh NODE true` with the ssh or master mode's client: the node's cost of a session and its shell."""
        start = time.monotonic()
        subprocess.run([self.wrappers[mode], '-p', str(self.facts['port']), '-l', 'root', '-i', self.facts['key'],
                        '-T', '127.0.0.1', 'true'], stdin=subprocess.DEVNULL, check=True)
        return time.monotonic() - start

    def _client(self, name, extra, quick_shell):
        """An ssh config of its own (-F: no ~/.ssh/config, no /etc/ssh/ssh_config) and the wrapper that uses it."""
        config = os.path.join(self.work, 'ssh_config-%s' % name)
        lines = ['Host *', 'UserKnownHostsFile %s' % self.facts['known_hosts'], 'GlobalKnownHostsFile /dev/null',
                 'StrictHostKeyChecking yes', 'BatchMode yes', 'IdentitiesOnly yes', 'IdentityAgent none'] + extra
        if quick_shell:
            lines.append('SetEnv SHLVL=1')
        _write(config, '\n  '.join(lines) + '\n', 0o600)
        wrapper = os.path.join(self.work, 'ssh-%s' % name)
        _write(wrapper, '#!/bin/sh\nexec ssh -F %s "$@"\n' % config, 0o700)
        return wrapper

    def ssh_control(self, command, mode='master'):
        """`ssh -O COMMAND` on the control socket of a master mode; True when ssh says yes."""
        return self._master_ssh('-O', command, mode=mode).returncode == 0

    def connections(self):
        """SSH logins the sshd accepted so far."""
        with open(self.facts['log']) as f:
            return len(re.findall(r'^.*Accepted publickey for root', f.read(), re.M))

    def stop(self):
        for mode in ('master', 'master_rc'):
            if mode in self.wrappers:
                self.ssh_control('exit', mode)
        sshd_harness.stop(self.sshd_dir)


def write_files(work, node, tasks):
    """The playbook (T pool_info tasks on {{ bench_uri }}) and one inventory per mode."""
    play = os.path.join(work, 'remote.yml')
    with open(play, 'w') as f:
        json.dump([{'name': 'remote', 'hosts': 'node', 'gather_facts': False, 'tasks': [
            {'name': 'pool_info %d' % i, 'vmcat.libvirt.pool_info': {'uri': '{{ bench_uri }}'}} for i in range(tasks)
        ]}], f)  # JSON is YAML
    inventories = {}
    for mode in MODES:
        inventories[mode] = os.path.join(work, 'inventory-%s.json' % mode)
        with open(inventories[mode], 'w') as f:
            json.dump({'node': {'hosts': {'localhost': {
                'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
                'bench_uri': node.uris[mode]}}}}, f)
    return play, inventories


def _master_of(mode):
    return 'master' if mode == 'forward' else mode


def run_mode(work, node, play, inventory, mode, label, tasks):
    """One playbook run of one mode: its summary, with the SSH connections it opened; fails when a task did."""
    setup = 0
    if mode in MASTERS:
        node.ssh_control('exit', _master_of(mode))  # every run starts with no master
    before = node.connections()
    if mode == 'forward':
        setup = node.open_forward()
    wall, records, out = load_bench.run_play(work, inventory, play, 1, label)
    opened = node.connections() - before
    summary = load_bench.summarize(records, wall)
    summary['mean_ms'] = round(sum(r['seconds'] for r in records) / max(len(records), 1) * 1000)
    summary['ssh_connections'] = opened
    summary['setup_ms'] = round(setup * 1000)
    problems = []
    if summary['tasks'] != tasks or summary['failed'] or summary['changed']:
        problems.append('%d tasks of %d, %d failed, %d changed' % (
            summary['tasks'], tasks, summary['failed'], summary['changed']))
    if opened != EXPECTED_CONNECTIONS[mode](tasks):
        problems.append('%d SSH connections, expected %d' % (opened, EXPECTED_CONNECTIONS[mode](tasks)))
    if mode in MASTERS and not node.ssh_control('check', _master_of(mode)):
        problems.append('no master left running after the run (ControlPersist %d)' % CONTROL_PERSIST)
    if problems:
        failed = [line for line in out.splitlines() if line.startswith(('fatal:', 'failed:'))]
        sys.stdout.write('\n'.join(line[:400] for line in failed[:5]) + '\n')
        raise SystemExit('remote, %s (%s): %s' % (mode, label, '; '.join(problems)))
    return summary


def transport_floor(node, repeat):
    """Median ms, per URI, of a bare libvirt-python open, storage pool listing and close (the master warm), and
    of `ssh NODE true` without and with the master (what a session and the node's shell cost)."""
    libvirt = load_bench._quiet_libvirt()
    node.ssh_control('exit')
    node.open_forward()
    sessions = ('ssh', 'master', 'master_rc')
    times = dict((key, []) for key in MODES + tuple(mode + '_session' for mode in sessions))
    for dummy in range(repeat):
        for mode in MODES:
            start = time.monotonic()
            conn = libvirt.open(node.uris[mode])
            conn.listAllStoragePools(0)
            conn.close()
            times[mode].append(time.monotonic() - start)
        for mode in sessions:
            times[mode + '_session'].append(node.session_seconds(mode))
    return dict((key, round(statistics.median(values) * 1000, 1)) for key, values in times.items())


def bench_remote(args, work):
    node = Node(work)
    try:
        node.start()
        play, inventories = write_files(work, node, args.remote_tasks)
        if not args.quick:  # one round to warm caches, not counted
            for mode in MODES:
                run_mode(work, node, play, inventories[mode], mode, 'warm-%s' % mode, args.remote_tasks)
        runs = dict((mode, []) for mode in MODES)
        for run in range(args.remote_runs):
            for mode in MODES[run % len(MODES):] + MODES[:run % len(MODES)]:
                summary = run_mode(work, node, play, inventories[mode], mode, '%s-%d' % (mode, run), args.remote_tasks)
                runs[mode].append(summary)
                print('remote run %d, %s: %d tasks, median %d ms, mean %d ms, wall %.1f s, %d SSH connections, set-up %d ms' % (
                    run + 1, mode, summary['tasks'], summary['all']['median_ms'], summary['mean_ms'],
                    summary['wall_s'], summary['ssh_connections'], summary['setup_ms']), flush=True)
        floor = transport_floor(node, args.remote_floor)
        return report(args, runs, floor)
    finally:
        node.stop()


def report(args, runs, floor):
    """The result: per mode the median task time of the runs, their spread, the mean and the ratio to local."""
    result = {'tasks_per_run': args.remote_tasks, 'runs': args.remote_runs, 'control_persist_s': CONTROL_PERSIST,
              'floor_ms': floor, 'load_average_at_end': os.getloadavg()}
    local = [s['all']['median_ms'] for s in runs['local']]
    parts = []
    for mode in MODES:
        medians = [s['all']['median_ms'] for s in runs[mode]]
        ratios = [round(m / l, 2) for m, l in zip(medians, local)]
        one = result[mode] = {
            'median_ms': statistics.median(medians), 'run_medians_ms': medians,
            'mean_ms': statistics.median(s['mean_ms'] for s in runs[mode]),
            'setup_ms': statistics.median(s['setup_ms'] for s in runs[mode]),
            'wall_s': [s['wall_s'] for s in runs[mode]],
            'ssh_connections_per_run': [s['ssh_connections'] for s in runs[mode]],
            'ratio_to_local': statistics.median(ratios), 'ratio_to_local_per_run': ratios}
        parts.append('%s %d ms (%d-%d, mean %d) = %.2fx (%.2f-%.2f)' % (
            mode, one['median_ms'], min(medians), max(medians), one['mean_ms'], one['ratio_to_local'], min(ratios),
            max(ratios)))
    print('remote: per task, median of %d runs of %d tasks (lowest-highest run; mean with the first task), ratio to '
          'local (per-run lowest-highest): %s; forward set-up %d ms; floor: %s' % (
              args.remote_runs, args.remote_tasks, '; '.join(parts), result['forward']['setup_ms'],
              ', '.join('%s %.1f ms' % item for item in sorted(floor.items()))))
    return result
