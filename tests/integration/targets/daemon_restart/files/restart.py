# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helper of the daemon_restart target: kill libvirtd while tasks are in flight, and start it again.

Usage:
  restart.py tiny URI NAME WORKDIR     define and start a tiny VM (32 MiB, TCG, a blank disk: it sits in
                                       the firmware) whose QEMU the hold step freezes
  restart.py state URI NAME...         print {name: {active, id, qemu_pid, qemu_alive}} as JSON
  restart.py hold URI WORKDIR TAG FIXTURE TINY NETWORK
                                       the restart itself, run in the background (see ``hold``)
  restart.py recover URI TINY          after a failure: thaw the tiny VM's QEMU and make sure libvirtd answers
  restart.py remove URI NAME...        destroy and undefine VMs (prints ``changed`` when one was there)

How the tasks are made to be in flight when libvirtd dies (``hold``):

- the tiny VM's QEMU is frozen (SIGSTOP): a QMP command, a key press and a
  vm_info (its disk's block info) sent to it wait inside libvirtd for a
  monitor that does not answer; each such task's process sits in poll()
  on its libvirt socket;
- the object locks of the fixture VM and the network (the collection's
  ``_object_lock``, as another fork of the play would hold them) are held:
  the vm and network tasks open their connection, then wait for the lock;
- the two guest_exec tasks run ``sleep`` in the fixture guest: their
  marker files in the guest say the command has started.

When all of them are so (each found by the ``VMCAT_DR_TAG=<TAG><task>``
variable in its environment), libvirtd is killed with SIGKILL, the tiny
QEMU thawed, the locks released and ``libvirtd -d`` started again, as the
integration harness starts it.  ``hold`` prints what it saw as JSON.
"""

from __future__ import absolute_import, division, print_function

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import libvirt
import libvirt_qemu

for _path in reversed((os.environ.get('ANSIBLE_COLLECTIONS_PATH') or '').split(os.pathsep)):
    if _path:
        sys.path.insert(0, _path)

from harness import daemons  # noqa: E402  (tests/integration is on PYTHONPATH: run.py)
from harness.fixture_vm import boot, connect, define, lookup, quiet  # noqa: E402
from harness.fixture_vm import remove as remove_vm  # noqa: E402

QEMU_PID_DIR = '/run/libvirt/qemu'
LIBVIRTD_PIDFILE = '/run/libvirtd.pid'
POLL_SYSCALLS = ('7', '271')  # poll, ppoll (x86_64)
IN_FLIGHT_TIMEOUT = 90
# The guest commands of the two guest_exec tasks touch these first.
MARKERS = {'once': '/tmp/vmcat-dr-once', 'creates': '/tmp/vmcat-dr-creates-started'}
# Tasks blocked inside a libvirt call on the frozen QEMU; tasks waiting for an object lock.
BLOCKED = ('qmp', 'input', 'info')
LOCKED = ('vm', 'network')


def qemu_pid(name):
    try:
        with open(os.path.join(QEMU_PID_DIR, '%s.pid' % name)) as f:
            return int(f.read().strip())
    except (IOError, OSError, ValueError):
        return None


def alive(pid):
    """True when the process runs (a zombie does not count)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except (IOError, OSError, IndexError):
        return False


# -- the tiny VM ----------------------------------------------------------------------------
def tiny_xml(name, disk):
    return """<domain type='qemu'>
  <name>%s</name>
  <memory unit='MiB'>32</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='%s'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <graphics type='vnc' listen='127.0.0.1' autoport='yes'/>
    <memballoon model='none'/>
  </devices>
</domain>""" % (name, disk)


def tiny(uri, name, workdir):
    disk = os.path.join(workdir, '%s.img' % name)
    with open(disk, 'wb') as f:
        f.truncate(1024 * 1024)
    os.chmod(disk, 0o644)
    with connect(uri) as conn:
        boot(define(conn, name, lambda: tiny_xml(name, disk))[0])


def state(uri, names):
    with connect(uri) as conn:
        out = {}
        for name in names:
            dom = lookup(conn, name)
            pid = qemu_pid(name)
            out[name] = {'active': bool(dom and dom.isActive()), 'id': dom.ID() if dom is not None else None,
                         'qemu_pid': pid, 'qemu_alive': bool(pid and alive(pid))}
        return out


def remove(uri, names):
    with connect(uri) as conn:
        removed = [remove_vm(conn, name) for name in names]  # every name, not up to the first removed one
        return any(removed)


# -- finding the tasks in flight ------------------------------------------------------------
def tagged_processes(tag):
    """{task: pid} of the module processes (AnsiballZ_*, not the async wrapper) whose environment has the tag."""
    found = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % entry, 'rb') as f:
                argv = f.read().split(b'\0')
            if len(argv) < 2 or not os.path.basename(argv[1]).startswith(b'AnsiballZ_') \
                    or b'async_wrapper' in argv[1]:
                continue
            with open('/proc/%s/environ' % entry, 'rb') as f:
                env = f.read().split(b'\0')
        except (IOError, OSError):
            continue
        for item in env:
            if item.startswith(b'VMCAT_DR_TAG=' + tag.encode()):
                found[item.split(b'=', 1)[1][len(tag):].decode()] = int(entry)
    return found


def in_poll(pid):
    """The syscall the process's main thread is in is poll/ppoll (it waits for libvirtd's answer)."""
    try:
        with open('/proc/%d/syscall' % pid) as f:
            return f.read().split()[0] in POLL_SYSCALLS
    except (IOError, OSError, IndexError):
        return False


def holds_file(pid, path):
    try:
        fds = os.listdir('/proc/%d/fd' % pid)
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink('/proc/%d/fd/%s' % (pid, fd)) == path:
                return True
        except OSError:
            continue
    return False


def guest_has(dom, path):
    """Whether ``path`` exists in the guest (guest-file-open through the agent)."""
    try:
        handle = json.loads(libvirt_qemu.qemuAgentCommand(
            dom, json.dumps({'execute': 'guest-file-open', 'arguments': {'path': path, 'mode': 'r'}}), 5, 0))['return']
    except libvirt.libvirtError:
        return False
    libvirt_qemu.qemuAgentCommand(dom, json.dumps({'execute': 'guest-file-close', 'arguments': {'handle': handle}}),
                                  5, 0)
    return True


def wait_in_flight(uri, tag, fixture, lock_paths):
    """Poll until every task is in flight; returns what was seen, or raises TimeoutError saying what was not."""
    conn = libvirt.open(uri)
    dom = conn.lookupByName(fixture)
    deadline = time.monotonic() + IN_FLIGHT_TIMEOUT
    polling = dict((task, 0) for task in BLOCKED)
    try:
        while True:
            procs = tagged_processes(tag)
            for task in BLOCKED:
                polling[task] = polling[task] + 1 if task in procs and in_poll(procs[task]) else 0
            waiting = dict((task, task in procs and holds_file(procs[task], lock_paths[task])) for task in lock_paths)
            started = dict((task, guest_has(dom, path)) for task, path in MARKERS.items())
            seen = {
                'blocked_in_libvirt_call': sorted(t for t in BLOCKED if polling[t] >= 3),
                'waiting_for_object_lock': sorted(t for t, ok in waiting.items() if ok),
                'guest_command_running': sorted(t for t, ok in started.items() if ok),
                'processes': procs,
            }
            if (len(seen['blocked_in_libvirt_call']) == len(BLOCKED) and len(seen['waiting_for_object_lock'])
                    == len(lock_paths) and len(seen['guest_command_running']) == len(MARKERS)
                    and all(task in procs for task in MARKERS)):  # the guest commands' tasks still wait for them
                return seen
            if time.monotonic() > deadline:
                raise TimeoutError('not every task was in flight within %ss: %s' % (IN_FLIGHT_TIMEOUT, json.dumps(seen)))
            time.sleep(0.2)
    finally:
        conn.close()


# -- the restart ----------------------------------------------------------------------------
def libvirtd_pid():
    with open(LIBVIRTD_PIDFILE) as f:
        pid = int(f.read().strip())
    with open('/proc/%d/comm' % pid) as f:
        if f.read().strip() != 'libvirtd':
            raise RuntimeError('%s names pid %d, which is not libvirtd' % (LIBVIRTD_PIDFILE, pid))
    return pid


def kill_libvirtd():
    pid = libvirtd_pid()
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while alive(pid):
        if time.monotonic() > deadline:
            raise RuntimeError('libvirtd (pid %d) did not die within 30 s of SIGKILL' % pid)
        time.sleep(0.05)
    return pid


def start_libvirtd(uri):
    """``libvirtd -d``, as tests/integration/harness/daemons.py starts it; wait until the URI answers."""
    subprocess.run(['libvirtd', '-d'], check=True, capture_output=True, timeout=30)
    deadline = time.monotonic() + 30
    while not daemons.libvirt_answers(uri):
        if time.monotonic() > deadline:
            raise RuntimeError('libvirtd started again but %s did not answer within 30 s' % uri)
        time.sleep(0.1)
    return libvirtd_pid()


def thaw(pid):
    if pid and alive(pid):
        os.kill(pid, signal.SIGCONT)


def lock_api():
    """The collection's (lock_path, object_lock); (None, None) for a collection without object locks."""
    try:
        from ansible_collections.vmcat.libvirt.plugins.module_utils._core._object_lock import lock_path, object_lock
    except ImportError:  # then the vm and network tasks cannot be held
        return None, None
    return lock_path, object_lock


def hold(uri, workdir, tag, fixture, tiny_name, network):
    """Freeze, wait until every task is in flight, kill libvirtd, thaw, release, start libvirtd; a report."""
    lock_path, object_lock = lock_api()
    locks = {'vm': ('vm', fixture), 'network': ('network', network)} if lock_path else {}
    lock_paths = dict((task, lock_path(uri, kind, name)) for task, (kind, name) in locks.items())
    tiny_pid = qemu_pid(tiny_name)
    report = {'before': state(uri, [fixture, tiny_name]), 'object_locks': bool(locks)}
    with contextlib.ExitStack() as stack:
        for kind, name in locks.values():
            stack.enter_context(object_lock(uri, kind, name, timeout=30))
        os.kill(tiny_pid, signal.SIGSTOP)
        try:
            with open(os.path.join(workdir, 'ready'), 'w') as f:
                f.write('ready\n')
            start = time.monotonic()
            report['in_flight'] = wait_in_flight(uri, tag, fixture, lock_paths)
            report['seconds_to_in_flight'] = round(time.monotonic() - start, 1)
            report['libvirtd_killed'] = kill_libvirtd()
            report['killed_at'] = time.time()
        finally:
            thaw(tiny_pid)
    # the locks are released here: the waiting tasks go on, on a connection that is gone
    start = time.monotonic()
    report['libvirtd_started'] = start_libvirtd(uri)
    report['seconds_down'] = round(time.monotonic() - start, 1)
    report['after'] = state(uri, [fixture, tiny_name])
    return report


def recover(uri, tiny_name):
    thaw(qemu_pid(tiny_name))
    daemons.ensure_daemons(uri)


def main(argv):
    quiet()
    action, args = argv[1], argv[2:]
    if action == 'tiny':
        tiny(*args)
    elif action == 'state':
        print(json.dumps(state(args[0], args[1:])))
    elif action == 'hold':
        print(json.dumps(hold(*args)))
    elif action == 'recover':
        recover(*args)
    elif action == 'remove':
        if remove(args[0], args[1:]):
            print('changed')
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main(sys.argv)
