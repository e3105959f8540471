# -*- coding: utf-8 -*-
"""Run the integration targets against a real libvirtd.

Each directory under tests/integration/targets/ is an ansible-test style
target (``aliases`` + ``tasks/main.yml``).  This runner plays each one as a
role with ansible-playbook against ``qemu:///system`` and passes:

- ``vmcat_uri``      the node under test (``--uri``, default qemu:///system)
- ``vmcat_prefix``   a prefix unique to this run: every object a target
                     makes must start with it
- ``vmcat_workdir``  a private directory for the target
- ``vmcat_guest``    the guest fixture (kernel, initrd, disk, cmdline) for
                     targets whose aliases say ``needs/guest``
- ``vmcat_guest_python`` the fixture's variant with python3 in the guest, for
                     targets whose aliases say ``needs/guest-python``

A target whose aliases say ``hidden`` is not run: it is a ``setup_*`` role
that other targets use through ``dependencies`` in their ``meta/main.yml``
and ``include_role`` (setup_four_ways: the check/apply/check/apply runs).
ansible-playbook gets the targets directory as its roles path for that, and
``tests/integration`` on ``PYTHONPATH``: the helper scripts in a target's
``files/`` import the shared fixture code with ``from harness import
fixture_vm`` (and run.py passes ``vmcat_harness``, the harness directory, for
the scripts that live there).

Targets run one after the other, in name order, except that a target whose
aliases say ``run/last`` comes after every other one (daemon_restart: it
kills and restarts libvirtd, which would break any target beside it; never
run it next to another target or run.py).

After each target it looks for libvirt objects whose names start with the
prefix: anything left behind fails the target.  It ends with one summary
and a non-zero exit when a target failed.  By default it keeps going after a
failed target (``--keep-going``); ``--stop`` ends the run at the first one.

Usage: run.py [--uri URI] [--keep-going | --stop] [-v] [TARGET ...]
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TARGETS = os.path.join(HERE, 'targets')
OUTPUT = os.path.join(ROOT, 'tests', 'output', 'integration')
sys.path.insert(0, HERE)

from harness import daemons  # noqa: E402  (needs sys.path above)


def aliases(target):
    path = os.path.join(TARGETS, target, 'aliases')
    if not os.path.exists(path):
        return set()
    with open(path) as f:
        return set(line.split('#', 1)[0].strip() for line in f if line.split('#', 1)[0].strip())


def discover(selected):
    names = sorted(d for d in os.listdir(TARGETS)
                   if os.path.isfile(os.path.join(TARGETS, d, 'tasks', 'main.yml')) and 'hidden' not in aliases(d))
    if selected:
        unknown = [s for s in selected if s not in names]
        if unknown:
            sys.exit('unknown target(s): %s; targets: %s' % (', '.join(unknown), ', '.join(names)))
    else:
        selected = [n for n in names if 'disabled' not in aliases(n) and 'unsupported' not in aliases(n)]
    return sorted(selected, key=lambda n: 'run/last' in aliases(n))  # stable: the others keep their order


def failure_excerpt(lines, after=25, width=400):
    """The lines that say why a target failed: each failed task's header and its error, then the recap.

    CI shows only part of a long output, so the failing task comes first and
    long lines (JSON results) are cut.
    """
    picked = []
    covered = 0
    for index, line in enumerate(lines):
        if line.startswith(('fatal:', 'failed:')) or line.startswith('ERROR!') or line.startswith('[ERROR]'):
            header = next((lines[i] for i in range(index, -1, -1) if lines[i].startswith('TASK [')), '')
            if header and header not in picked:
                picked.append(header)
            picked.extend(lines[max(index, covered):index + after])
            covered = max(covered, index + after)
    recap = next((i for i, line in enumerate(lines) if line.startswith('PLAY RECAP')), None)
    if recap is None:
        picked.extend(lines[max(len(lines) - 15, covered):])
    else:
        picked.extend(lines[max(recap, covered):recap + 3])
    return [line if len(line) <= width else line[:width] + ' [...]\n' for line in picked]


def leftovers(uri, prefix):
    """Names of libvirt objects that start with prefix (domains, networks, pools, volumes)."""
    import libvirt
    libvirt.registerErrorHandler(lambda *args: None, None)
    conn = libvirt.open(uri)
    try:
        found = ['domain %s' % d.name() for d in conn.listAllDomains(0) if d.name().startswith(prefix)]
        found += ['network %s' % n.name() for n in conn.listAllNetworks(0) if n.name().startswith(prefix)]
        for pool in conn.listAllStoragePools(0):
            if pool.name().startswith(prefix):
                found.append('pool %s' % pool.name())
            if pool.isActive():
                try:
                    pool.refresh(0)
                except libvirt.libvirtError:
                    pass
                found += ['volume %s/%s' % (pool.name(), v) for v in pool.listVolumes() if v.startswith(prefix)]
        return found
    finally:
        conn.close()


def guest_fixture(python=False):
    from harness import guest
    return guest.build_guest(python=python)


def run_target(target, args, prefix, env, guest, guest_python=None):
    workdir = tempfile.mkdtemp(prefix='vmcat-it-%s-' % target)
    os.chmod(workdir, 0o755)  # QEMU runs as libvirt-qemu and must reach disks kept here
    playbook = os.path.join(workdir, 'play.yml')
    with open(playbook, 'w') as f:
        f.write('---\n- name: Integration target %s\n  hosts: localhost\n  gather_facts: false\n'
                '  roles:\n    - role: %s\n' % (target, os.path.join(TARGETS, target)))
    extra = {
        'vmcat_uri': args.uri,
        'vmcat_prefix': prefix,
        'vmcat_workdir': workdir,
        'vmcat_harness': os.path.join(HERE, 'harness'),
    }
    if guest is not None:
        extra['vmcat_guest'] = guest
    if guest_python is not None:
        extra['vmcat_guest_python'] = guest_python
    cmd = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
           '-e', json.dumps(extra), playbook]
    if args.verbose:
        cmd.append('-' + 'v' * args.verbose)
    os.makedirs(OUTPUT, exist_ok=True)
    log_path = os.path.join(OUTPUT, '%s.log' % target)
    start = time.monotonic()
    with open(log_path, 'w') as log:
        proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT, check=False)
    elapsed = time.monotonic() - start
    left = leftovers(args.uri, prefix)
    ok = proc.returncode == 0 and not left
    if ok:
        shutil.rmtree(workdir, ignore_errors=True)
    return ok, elapsed, log_path, left


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('targets', nargs='*')
    parser.add_argument('--uri', default='qemu:///system')
    stop = parser.add_mutually_exclusive_group()
    stop.add_argument('--keep-going', dest='stop', action='store_false',
                      help='run every target even after one failed (the default)')
    stop.add_argument('--stop', dest='stop', action='store_true', help='stop at the first failing target')
    parser.set_defaults(stop=False)
    parser.add_argument('-v', '--verbose', action='count', default=0)
    args = parser.parse_args()

    targets = discover(args.targets)
    if not targets:
        sys.exit('no integration targets found under %s' % TARGETS)
    daemons.ensure_daemons()

    env = dict(os.environ)
    env.setdefault('ANSIBLE_COLLECTIONS_PATH', os.path.join(ROOT, 'build', 'collections'))
    env['ANSIBLE_FORCE_COLOR'] = '0'
    env['ANSIBLE_NOCOLOR'] = '1'
    env['ANSIBLE_RETRY_FILES_ENABLED'] = '0'
    env['ANSIBLE_LOCALHOST_WARNING'] = '0'
    env['ANSIBLE_INVENTORY_UNPARSED_WARNING'] = '0'
    env.setdefault('ANSIBLE_PYTHON_INTERPRETER', sys.executable)
    env['ANSIBLE_ROLES_PATH'] = TARGETS  # the setup_* targets, for meta dependencies and include_role
    env['PYTHONPATH'] = os.pathsep.join([HERE] + [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p])

    guest = None
    if any('needs/guest' in aliases(t) for t in targets):
        start = time.monotonic()
        guest = guest_fixture()
        print('guest fixture ready in %.1fs: %s' % (time.monotonic() - start, guest.get('key')), flush=True)
    guest_python = None
    if any('needs/guest-python' in aliases(t) for t in targets):
        start = time.monotonic()
        guest_python = guest_fixture(python=True)
        print('python guest fixture ready in %.1fs: %s' % (time.monotonic() - start, guest_python.get('key')),
              flush=True)

    results = []
    for target in targets:
        prefix = 'vmcit-%s-' % secrets.token_hex(3)
        print('=== %s (prefix %s)' % (target, prefix), flush=True)
        ok, elapsed, log_path, left = run_target(
            target, args, prefix, env, guest if 'needs/guest' in aliases(target) else None,
            guest_python if 'needs/guest-python' in aliases(target) else None)
        results.append((target, ok, elapsed))
        if ok:
            print('    passed in %.1fs' % elapsed, flush=True)
        else:
            print('    FAILED in %.1fs (log: %s)' % (elapsed, os.path.relpath(log_path, ROOT)), flush=True)
            if left:
                print('    left behind: %s' % ', '.join(left), flush=True)
            with open(log_path) as f:
                sys.stdout.write(''.join('    | ' + line for line in failure_excerpt(f.readlines())))
            if args.stop:
                break

    failed = [t for t, ok, dummy in results if not ok]
    print('\nintegration: %d passed, %d failed' % (len(results) - len(failed), len(failed)))
    for target, ok, elapsed in results:
        print('  %-24s %-6s %6.1fs' % (target, 'ok' if ok else 'FAILED', elapsed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
