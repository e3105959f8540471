# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keep a few programs running, restarting each one when it dies.

Installed by the vmcat.libvirt.supervisor role for the roles that run programs as a service: the console
gateway (websockify and one ``ssh -N`` per remote node, under systemd as the unit's ExecStart with ``run``,
elsewhere in the background with ``start``) and monitoring (the exporters, Prometheus and Alertmanager where
systemd is not PID 1: containers, test machines). The command line of the programs is the same either way.

Usage: vmcat_supervise.py start CONFIG     start in the background; prints "started" or "running"
       vmcat_supervise.py run CONFIG       run in the foreground until SIGTERM or SIGINT
       vmcat_supervise.py stop CONFIG      stop it and its programs; prints "stopped" or "not running"
       vmcat_supervise.py restart CONFIG   stop (when running), then start; prints "restarted"
       vmcat_supervise.py status CONFIG    exit 0 and print the state (JSON) when running, exit 3 when not

CONFIG is a JSON file:

    {"name": "vmcat-console-gateway",
     "pidfile": "/run/vmcat-console/supervisor.pid",      # also written by "run"
     "state_file": "/run/vmcat-console/supervisor.json",  # pid, restarts and start time of each program
     "log_dir": "/var/log/vmcat-console",                 # supervisor.log and <program>.log (stdout+stderr)
     "user": "vmcat-console", "group": "vmcat-console",   # started as root: everything runs as them
     "programs": [{"name": "websockify", "argv": ["/usr/bin/websockify", "..."], "env": {"PYTHONPATH": "..."}}]}

Without "user" a supervisor started as root stays root, and each program may name its own "user" (with its
primary "group" unless "group" is given, and the supplementary groups the system gives that user).

A program that exits is started again after 1 s, then 2, 4, ... up to 30 s while it keeps dying within
30 s of its start; a run longer than that resets the delay. On SIGTERM or SIGINT every program gets
SIGTERM, and SIGKILL after 10 s.

Only the standard library; runs under the host's system Python (3.6 or later).
"""

from __future__ import absolute_import, division, print_function

import grp
import json
import os
import pwd
import signal
import subprocess
import sys
import time

NOT_RUNNING = 3
STABLE_AFTER = 30.0
MAX_DELAY = 30.0
STOP_TIMEOUT = 10.0
START_TIMEOUT = 15.0
TICK = 0.5
BASE_ENV = {'PATH': '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'LANG': 'C.UTF-8'}


class SupervisorError(Exception):
    """A problem the command line reports and exits 1 for."""


def load_config(path):
    try:
        with open(path) as handle:
            config = json.load(handle)
    except (OSError, ValueError) as exc:
        raise SupervisorError('cannot read the supervisor config %s: %s' % (path, exc))
    for key in ('name', 'pidfile', 'state_file', 'log_dir', 'programs'):
        if key not in config:
            raise SupervisorError('%s: "%s" is missing' % (path, key))
    names = [p.get('name') for p in config['programs']]
    if len(set(names)) != len(names) or not all(names) or not all(p.get('argv') for p in config['programs']):
        raise SupervisorError('%s: every program needs a unique "name" and an "argv"' % path)
    for program in config['programs']:
        if program.get('user'):
            program['credentials'] = _credentials(path, program)
    config['path'] = os.path.abspath(path)
    return config


def _credentials(path, program):
    """(uid, gid, supplementary gids, home) of a program's own user, checked before anything starts."""
    try:
        user = pwd.getpwnam(program['user'])
        gid = grp.getgrnam(program['group']).gr_gid if program.get('group') else user.pw_gid
    except KeyError as exc:
        raise SupervisorError('%s: program "%s": no such user or group: %s' % (path, program['name'], exc))
    return user.pw_uid, gid, os.getgrouplist(user.pw_name, gid), user.pw_dir


# -- the running supervisor, as seen from outside ---------------------------------------------------

def running_pid(config):
    """The pid of this config's supervisor when it runs (the pidfile names a process started with it)."""
    try:
        with open(config['pidfile']) as handle:
            pid = int(handle.read().strip())
        with open('/proc/%d/cmdline' % pid, 'rb') as handle:
            argv = handle.read().decode('utf-8', 'replace').split('\0')
    except (OSError, ValueError):
        return None
    if config['path'] in argv and any(a.endswith(os.path.basename(__file__)) for a in argv):
        return pid
    return None


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open('/proc/%d/stat' % pid) as handle:
            return handle.read().split(')')[-1].split()[0] != 'Z'
    except OSError:
        return False


def _wait_gone(pids, timeout):
    deadline = time.monotonic() + timeout
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return [p for p in pids if _alive(p)]


def stop(config):
    pid = running_pid(config)
    if pid is None:
        return 'not running'
    children = [c['pid'] for c in read_state(config).get('programs', {}).values() if c.get('pid')]
    os.kill(pid, signal.SIGTERM)
    if _wait_gone([pid], STOP_TIMEOUT + 5):
        os.kill(pid, signal.SIGKILL)
        _wait_gone([pid], 5)
    for child in _wait_gone(children, 1):  # left behind by a supervisor that had to be killed
        try:
            os.kill(child, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for path in (config['pidfile'], config['state_file']):
        _unlink(path)
    return 'stopped'


def read_state(config):
    try:
        with open(config['state_file']) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def status(config):
    pid = running_pid(config)
    if pid is None:
        return None
    state = read_state(config)
    state['pid'] = pid
    return state


# -- starting -------------------------------------------------------------------------------------------

def drop_privileges(config):
    """Become config's user and group when started as root (under systemd the unit's User= did it)."""
    if os.geteuid() != 0 or not config.get('user'):
        return
    user = pwd.getpwnam(config['user'])
    gid = grp.getgrnam(config['group']).gr_gid if config.get('group') else user.pw_gid
    os.setgroups([])
    os.setgid(gid)
    os.setuid(user.pw_uid)
    os.environ['HOME'] = user.pw_dir


def start(config):
    """Fork a background supervisor; return once it has written its pidfile and started its programs."""
    if running_pid(config) is not None:
        return 'running'
    read_end, write_end = os.pipe()
    first_child = os.fork()
    if first_child > 0:
        os.close(write_end)
        with os.fdopen(read_end) as pipe:
            answer = pipe.read()
        os.waitpid(first_child, 0)
        if answer != 'ok':
            raise SupervisorError(answer or 'the supervisor died while starting; see %s/supervisor.log'
                                  % config['log_dir'])
        return 'started'
    os.close(read_end)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)  # pylint: disable=protected-access  # the usual second fork of a daemon
    with os.fdopen(write_end, 'w') as ready:
        try:
            os.chdir('/')
            drop_privileges(config)
            _redirect_output(os.path.join(config['log_dir'], 'supervisor.log'))
            supervisor = Supervisor(config)
            supervisor.begin()
        except Exception as exc:  # pylint: disable=broad-except  # any failure is told to the waiting parent
            ready.write('the supervisor did not start: %s' % exc)
            ready.flush()
            os._exit(1)  # pylint: disable=protected-access
        ready.write('ok')
    os._exit(supervisor.loop())  # pylint: disable=protected-access


def _redirect_output(path):
    devnull = os.open(os.devnull, os.O_RDONLY)
    log = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    os.dup2(devnull, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(devnull)
    os.close(log)


def _unlink(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _write_atomically(path, text):
    temp = '%s.%d.tmp' % (path, os.getpid())
    with open(temp, 'w') as handle:
        handle.write(text)
    os.rename(temp, path)


# -- the supervisor itself ------------------------------------------------------------------------------

class Program(object):
    """One supervised program: its process, when it started, how often it died young."""

    def __init__(self, spec, log_dir):
        self.name = spec['name']
        self.argv = [str(a) for a in spec['argv']]
        self.env = dict(BASE_ENV)
        self.env['HOME'] = os.environ.get('HOME', '/')
        self.env.update(spec.get('env', {}))
        self.log_path = os.path.join(log_dir, '%s.log' % self.name)
        self.credentials = spec.get('credentials') if os.geteuid() == 0 else None
        if self.credentials:
            self.env['HOME'] = self.credentials[3]
        self.proc = None
        self.started_at = None
        self.next_start = 0.0
        self.quick_failures = 0
        self.restarts = 0

    def spawn(self, log):
        with open(self.log_path, 'ab') as out:
            try:
                self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out,
                                             stderr=subprocess.STDOUT, env=self.env, cwd='/',
                                             preexec_fn=self._become_user if self.credentials else None)
            except OSError as exc:
                log('%s: cannot start %s: %s' % (self.name, self.argv[0], exc))
                self._schedule_retry(log, time.monotonic())
                return
        self.started_at = time.monotonic()
        log('%s: started, pid %d' % (self.name, self.proc.pid))

    def _become_user(self):
        uid, gid, groups, dummy = self.credentials
        os.setgroups(groups)
        os.setgid(gid)
        os.setuid(uid)

    def reap(self, log, now):
        """True when the process exited (and a restart is scheduled)."""
        if self.proc is None or self.proc.poll() is None:
            return False
        log('%s: pid %d exited with status %s' % (self.name, self.proc.pid, self.proc.returncode))
        self.proc = None
        if now - self.started_at >= STABLE_AFTER:
            self.quick_failures = 0
        self._schedule_retry(log, now)
        return True

    def _schedule_retry(self, log, now):
        delay = min(MAX_DELAY, 2.0 ** self.quick_failures)
        self.quick_failures += 1
        self.restarts += 1
        self.next_start = now + delay
        log('%s: starting again in %.0f s' % (self.name, delay))

    def state(self):
        return {'pid': self.proc.pid if self.proc else None, 'restarts': self.restarts, 'argv': self.argv}


class Supervisor(object):
    def __init__(self, config):
        self.config = config
        self.programs = [Program(spec, config['log_dir']) for spec in config['programs']]
        self.stopping = False

    def log(self, message):
        sys.stdout.write('%s %s: %s\n' % (time.strftime('%Y-%m-%d %H:%M:%S'), self.config['name'], message))
        sys.stdout.flush()

    def _stop_signal(self, signum, frame):  # pylint: disable=unused-argument
        self.stopping = True

    def begin(self):
        os.umask(0o027)  # logs and sockets of the programs: owner and group only
        signal.signal(signal.SIGTERM, self._stop_signal)
        signal.signal(signal.SIGINT, self._stop_signal)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        _write_atomically(self.config['pidfile'], '%d\n' % os.getpid())
        self.log('supervising %s' % ', '.join(p.name for p in self.programs))
        for program in self.programs:
            program.spawn(self.log)
        self.write_state()

    def write_state(self):
        state = {'name': self.config['name'], 'pid': os.getpid(),
                 'programs': dict((p.name, p.state()) for p in self.programs)}
        _write_atomically(self.config['state_file'], json.dumps(state, indent=1, sort_keys=True) + '\n')

    def loop(self):
        while not self.stopping:
            now = time.monotonic()
            changed = False
            for program in self.programs:
                changed = program.reap(self.log, now) or changed
                if program.proc is None and now >= program.next_start:
                    program.spawn(self.log)
                    changed = True
            if changed:
                self.write_state()
            time.sleep(TICK)
        self.shutdown()
        return 0

    def shutdown(self):
        self.log('stopping')
        running = [p for p in self.programs if p.proc is not None and p.proc.poll() is None]
        for program in running:
            program.proc.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT
        for program in running:
            try:
                program.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.log('%s: still running after %.0f s, killing it' % (program.name, STOP_TIMEOUT))
                program.proc.kill()
                program.proc.wait()
        for path in (self.config['pidfile'], self.config['state_file']):
            _unlink(path)
        self.log('stopped')


def run(config):
    """The foreground supervisor (systemd's ExecStart); returns when it was told to stop."""
    if running_pid(config) is not None:
        raise SupervisorError('%s already runs (pid %d)' % (config['name'], running_pid(config)))
    drop_privileges(config)
    supervisor = Supervisor(config)
    supervisor.begin()
    return supervisor.loop()


def main(argv):
    if len(argv) != 3 or argv[1] not in ('start', 'run', 'stop', 'restart', 'status'):
        sys.stderr.write(__doc__)
        return 2
    try:
        config = load_config(argv[2])
        command = argv[1]
        if command == 'run':
            return run(config)
        if command == 'status':
            state = status(config)
            print(json.dumps(state, sort_keys=True) if state else 'not running')
            return 0 if state else NOT_RUNNING
        if command == 'restart':
            stop(config)
            start(config)
            print('restarted')
            return 0
        print((start if command == 'start' else stop)(config))
        return 0
    except (SupervisorError, OSError, KeyError) as exc:
        sys.stderr.write('vmcat_supervise: %s\n' % exc)
        return 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
