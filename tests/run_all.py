# -*- coding: utf-8 -*-
"""`make test`: every test stage in order, one summary, non-zero on any failure.

Stages: unit (pytest), demo (the collection tarball builds, installs and every
plugin's docs render; playbooks/demo.yml twice on a test-driver node, the second
run changing nothing), packaging (ansible-builder create for AWX and requirements.txt
in a clean venv, tests/stage_packaging.py), docs (the docs site with warnings as
errors and CHANGELOG.md, tests/stage_docs.py), sanity (ansible-test sanity in a
proper ansible_collections/vmcat/libvirt tree; sanity-2.16 the same with the oldest
supported ansible-core), lint (ansible-lint, production
profile), smoke (boot the guest fixture and reach its agent), molecule (each
role's molecule/default scenario on TCG guests reached through the qga
connection, tests/molecule/), integration (tests/integration/run.py against
qemu:///system) and bench-quick (every benchmark in bench/ once at its smallest,
bench/run.py --quick: it still runs, no time is checked).  Integration and
bench-quick never skip silently: when they cannot run (not root, no libvirtd) the
stage fails and says why; what bench-quick leaves out is in its detail.

Usage: run_all.py [STAGE ...]   (default: all stages)
"""

from __future__ import absolute_import, division, print_function

import os
import re
import shutil
import json
import subprocess
import sys
import tempfile
import time

from stage_docs import stage_docs  # tests/stage_docs.py: the docs site and CHANGELOG.md
from stage_packaging import stage_packaging  # tests/stage_packaging.py: AWX execution environment, clean venv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
BUILD = os.path.join(ROOT, 'build')
DEV = os.path.join(BUILD, 'collections')
SANITY_TREE = os.path.join(BUILD, 'sanity', 'ansible_collections', 'vmcat', 'libvirt')
OLDEST_CORE = '2.16.19'  # the oldest ansible-core the collection supports (meta/runtime.yml requires_ansible)
PY = '%d.%d' % sys.version_info[:2]


def sh(cmd, cwd=ROOT, env=None, capture=False):
    print('+ %s' % ' '.join(cmd), flush=True)
    full_env = dict(os.environ)
    full_env['PATH'] = BIN + os.pathsep + full_env.get('PATH', '')
    full_env.update(env or {})
    if capture:
        proc = subprocess.run(cmd, cwd=cwd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, check=False)
        sys.stdout.write(proc.stdout)
        sys.stdout.flush()
        return proc.returncode, proc.stdout
    return subprocess.call(cmd, cwd=cwd, env=full_env), ''


def tracked_files():
    out = subprocess.check_output(['git', 'ls-files', '--cached', '--others', '--exclude-standard', '-z'],
                                  cwd=ROOT)
    return [f for f in out.decode().split('\0') if f and os.path.isfile(os.path.join(ROOT, f))]


def stage_unit():
    code, out = sh([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'tests/unit'],
                   env={'PYTHONPATH': DEV}, capture=True)
    match = re.search(r'(\d+) passed', out)
    return code == 0, '%s unit tests passed' % (match.group(1) if match else 'no')


REQUIREMENTS_HEADER = '>>> Requirements Commands\n'


def _bootstrap_pip_versions(ansible_test, env, tree):
    """The pip versions ansible-test bootstraps into new sanity venvs, as its own CLI plans them.

    `ansible-test sanity --explain -vvv` prints the pip commands it would run for each venv it would create,
    without running them.  A throwaway HOME hides the venvs ansible-test already keeps in ~/.ansible/test,
    so it plans a fresh one; the pep8 test is enough, as every venv starts with the same bootstrap.
    """
    home = tempfile.mkdtemp(prefix='vmcat-sanity-home-')
    try:
        cmd = [ansible_test, 'sanity', '--local', '--requirements', '--python', PY, '--test', 'pep8',
               '--explain', '-vvv', '--color', 'no']
        proc = subprocess.run(cmd, cwd=tree, env=dict(os.environ, HOME=home, **env), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    if proc.returncode:
        raise RuntimeError('%s failed:\n%s' % (' '.join(cmd), proc.stdout))
    decoder = json.JSONDecoder()
    versions = set()
    for chunk in proc.stdout.split(REQUIREMENTS_HEADER)[1:]:
        commands, dummy = decoder.raw_decode(chunk)
        versions.update(options['pip_version'] for name, options in commands if name == 'bootstrap')
    if not versions:
        raise RuntimeError('%s planned no pip bootstrap; its output changed:\n%s' % (' '.join(cmd), proc.stdout))
    return sorted(versions)


def _install_pip_bootstrap(ansible_test, env, tree):
    """Put tests/sanity/pip_bootstrap.py where ansible-test looks for its cached get-pip script.

    That place (~/.ansible/test/cache/get_pip_<version>.py) is the one ansible-test names when it cannot
    download the script.
    """
    cache = os.path.expanduser('~/.ansible/test/cache')
    os.makedirs(cache, exist_ok=True)
    for version in _bootstrap_pip_versions(ansible_test, env, tree):
        dest = os.path.join(cache, 'get_pip_%s.py' % version.replace('.', '_'))
        print('+ pip %s bootstrap for ansible-test: %s' % (version, dest), flush=True)
        shutil.copy(os.path.join(ROOT, 'tests', 'sanity', 'pip_bootstrap.py'), dest)


def _sanity(core, venv, tree):
    """ansible-test sanity of ansible-core `core` (installed into `venv`) on a copy of the checkout in `tree`.

    ansible-test wants the collection at .../ansible_collections/vmcat/libvirt and a git checkout.
    """
    if os.path.exists(tree):
        shutil.rmtree(tree)
    for rel in tracked_files():
        dest = os.path.join(tree, rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, rel), dest)
    git = ['git', '-c', 'user.name=sanity', '-c', 'user.email=sanity@localhost']
    subprocess.check_call(git + ['init', '-q'], cwd=tree)
    subprocess.check_call(git + ['add', '-A'], cwd=tree)
    subprocess.check_call(git + ['commit', '-q', '-m', 'sanity'], cwd=tree)
    # ansible-test's --venv mode downloads a pip bootstrap from a host this network cannot reach, so the
    # sanity requirements go into a venv of their own (kept apart from ansible-lint's) with --local.
    python = os.path.join(venv, 'bin', 'python')
    if not os.path.exists(python):
        subprocess.check_call([sys.executable, '-m', 'venv', venv])
    subprocess.check_call([python, '-m', 'pip', 'install', '-q', '--disable-pip-version-check', 'ansible-core==%s' % core])
    env = {'PATH': os.path.join(venv, 'bin') + os.pathsep + os.environ.get('PATH', '')}
    ansible_test = os.path.join(venv, 'bin', 'ansible-test')
    _install_pip_bootstrap(ansible_test, env, tree)
    code, dummy = sh([ansible_test, 'sanity', '--local', '--requirements', '--python', PY, '--color', 'no'],
                     cwd=tree, env=env)
    return code == 0, 'ansible-test sanity --local --python %s (ansible-core %s)' % (PY, core)


def stage_sanity():
    """ansible-test sanity of the ansible-core that .venv runs (the newest the Makefile installs)."""
    core = subprocess.check_output([sys.executable, '-c', 'import ansible; print(ansible.__version__)']).decode().strip()
    return _sanity(core, os.path.join(BUILD, 'sanity-venv'), SANITY_TREE)


def stage_sanity_oldest():
    """ansible-test sanity of the oldest supported ansible-core, in a venv and a tree of its own."""
    return _sanity(OLDEST_CORE, os.path.join(BUILD, 'sanity-venv-%s' % OLDEST_CORE),
                   os.path.join(BUILD, 'sanity-%s' % OLDEST_CORE, 'ansible_collections', 'vmcat', 'libvirt'))


def stage_lint():
    env = {'ANSIBLE_COLLECTIONS_PATH': DEV}
    code, dummy = sh(['ansible-lint', '--offline', '--profile', 'production', '--nocolor'], env=env)
    return code == 0, 'ansible-lint --profile production'


def _plugin_names(kind):
    folder = os.path.join(ROOT, 'plugins', kind)
    return sorted('vmcat.libvirt.' + f[:-3] for f in os.listdir(folder)
                  if f.endswith('.py') and not f.startswith('_'))


def _recap_changed(out):
    match = re.search(r'localhost\s+: ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0', out)
    return int(match.group(1)) if match else None


def stage_demo():
    """README's `make demo`, from the built tarball: every plugin documented, the demo twice, the second unchanged."""
    work = tempfile.mkdtemp(prefix='vmcat-demo-')
    try:
        installed = os.path.join(work, 'collections')
        code, out = sh(['ansible-galaxy', 'collection', 'build', '--force', '--output-path', work, '.'], capture=True)
        tarballs = [f for f in os.listdir(work) if f.endswith('.tar.gz')]
        if code or len(tarballs) != 1:
            return False, 'ansible-galaxy collection build failed'
        code, dummy = sh(['ansible-galaxy', 'collection', 'install', '--force', '-p', installed, os.path.join(work, tarballs[0])])
        if code:
            return False, 'the built tarball does not install'
        env = {'ANSIBLE_COLLECTIONS_PATH': installed, 'ANSIBLE_LOCALHOST_WARNING': '0',
               'ANSIBLE_INVENTORY_UNPARSED_WARNING': '0', 'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
               'ANSIBLE_NOCOLOR': '1'}
        documented = 0
        for kind in ('modules', 'inventory', 'connection', 'callback'):
            names = _plugin_names(kind)
            doc_type = 'module' if kind == 'modules' else kind
            proc = subprocess.run([os.path.join(BIN, 'ansible-doc'), '-t', doc_type, '--json'] + names,
                                  cwd=work, env=dict(os.environ, **env), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, universal_newlines=True, check=False)
            docs = json.loads(proc.stdout or '{}')
            missing = [n for n in names if not (docs.get(n) or {}).get('doc', {}).get('short_description')]
            if proc.returncode or missing:
                sys.stdout.write(proc.stderr)
                return False, 'ansible-doc cannot render %s' % ', '.join(missing or names)
            documented += len(names)
        play = ['ansible-playbook', '-i', 'localhost,', '-c', 'local', os.path.join(ROOT, 'playbooks', 'demo.yml'),
                '-e', 'vmcat_demo_node=%s' % os.path.join(work, 'node.xml')]
        changed = []
        for run in (1, 2):
            code, out = sh(play, cwd=work, env=env, capture=True)
            changed.append(_recap_changed(out))
            if code or changed[-1] is None:
                return False, 'demo run %d failed' % run
        if not changed[0] or changed[1] != 0:
            return False, 'demo changed %s then %s task(s); the second run must change nothing' % tuple(changed)
        return True, '%d plugins documented; demo changed %d tasks, then 0' % (documented, changed[0])
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _integration_preflight():
    if os.geteuid() != 0:
        return 'integration tests need root (they run libvirtd and TCG guests); run make test as root'
    for tool in ('libvirtd', 'virtlogd', 'qemu-system-x86_64'):
        if not shutil.which(tool, path='/usr/sbin:/usr/bin:/sbin:/bin'):
            return '%s is missing; run make deps-test as root' % tool
    return None


def stage_smoke():
    problem = _integration_preflight()
    if problem:
        return False, problem
    code, dummy = sh([sys.executable, 'tests/integration/harness/smoke_guest.py'])
    return code == 0, 'guest fixture boots under TCG and its agent answers'


MOLECULE_IMAGES = '/var/lib/libvirt/images/vmcat-molecule'  # QEMU's user must read the guest image: not under /root


def _molecule_guest():
    """The guest fixture's Python variant, its kernel and initrd copied where QEMU can read them."""
    out = subprocess.check_output([sys.executable, 'tests/integration/harness/guest.py', '--python'], cwd=ROOT)
    guest = json.loads(out)
    folder = os.path.join(MOLECULE_IMAGES, guest['key'])
    os.makedirs(folder, mode=0o755, exist_ok=True)
    paths = {}
    for name in ('kernel', 'initrd'):
        dest = os.path.join(folder, os.path.basename(guest[name]))
        if not os.path.exists(dest) or os.path.getsize(dest) != os.path.getsize(guest[name]):
            shutil.copyfile(guest[name], dest + '.tmp')
            os.chmod(dest + '.tmp', 0o644)
            os.rename(dest + '.tmp', dest)
        paths[name] = dest
    return paths, guest['kernel_cmdline']


def stage_molecule():
    """molecule test in every role that has a molecule/default scenario, on the shared base (tests/molecule/)."""
    problem = _integration_preflight()
    if problem:
        return False, problem
    code, dummy = sh([sys.executable, 'tests/integration/harness/daemons.py'])
    if code:
        return False, 'libvirtd does not answer'
    paths, cmdline = _molecule_guest()
    roles = sorted(r for r in os.listdir(os.path.join(ROOT, 'roles'))
                   if os.path.isfile(os.path.join(ROOT, 'roles', r, 'molecule', 'default', 'molecule.yml')))
    results = []
    for role in roles:
        env = {'ANSIBLE_COLLECTIONS_PATH': DEV, 'ANSIBLE_NOCOLOR': '1', 'ANSIBLE_FORCE_COLOR': '0',
               'VMCAT_MOLECULE_URI': 'qemu:///system',
               'VMCAT_MOLECULE_PREFIX': 'vmcat-mol-%s-' % os.urandom(3).hex(),
               'VMCAT_MOLECULE_KERNEL': paths['kernel'], 'VMCAT_MOLECULE_INITRD': paths['initrd'],
               'VMCAT_MOLECULE_CMDLINE': cmdline}
        start = time.monotonic()
        code, dummy = sh([os.path.join(BIN, 'molecule'), '-c', '../../tests/molecule/config.yml', 'test'],
                         cwd=os.path.join(ROOT, 'roles', role), env=env)
        results.append((role, code == 0, time.monotonic() - start))
    failed = [r for r, ok, dummy in results if not ok]
    detail = ', '.join('%s %s in %.0fs' % (r, 'passed' if ok else 'FAILED', t) for r, ok, t in results)
    return bool(roles) and not failed, detail or 'no role has a molecule/default scenario'


def stage_integration():
    problem = _integration_preflight()
    if problem:
        return False, problem
    code, out = sh([sys.executable, 'tests/integration/run.py'], env={'ANSIBLE_COLLECTIONS_PATH': DEV},
                   capture=True)
    match = re.search(r'integration: (\d+) passed, (\d+) failed', out)
    detail = '%s targets passed, %s failed' % match.groups() if match else 'runner gave no summary'
    return code == 0, detail


def stage_bench_quick():
    """bench/run.py --quick: each benchmark once at its smallest, failing when its path breaks; no time asserted."""
    problem = _integration_preflight()
    if problem:
        return False, problem
    code, out = sh([sys.executable, 'bench/run.py', '--quick'], env={'ANSIBLE_COLLECTIONS_PATH': DEV}, capture=True)
    summary = [line for line in out.splitlines() if line.startswith('bench quick: ')]
    return code == 0, summary[-1][len('bench quick: '):] if summary else 'bench/run.py --quick gave no summary'


STAGES = [
    ('unit', stage_unit),
    ('demo', stage_demo),
    ('packaging', stage_packaging),
    ('docs', stage_docs),
    ('sanity', stage_sanity),
    ('sanity-2.16', stage_sanity_oldest),
    ('lint', stage_lint),
    ('smoke', stage_smoke),
    ('molecule', stage_molecule),
    ('integration', stage_integration),
    ('bench-quick', stage_bench_quick),
]


def main(argv):
    names = [n for n, dummy in STAGES]
    wanted = argv or names
    unknown = [w for w in wanted if w not in names]
    if unknown:
        sys.exit('unknown stage(s) %s; stages: %s' % (', '.join(unknown), ', '.join(names)))
    results = []
    for name, fn in STAGES:
        if name not in wanted:
            continue
        print('\n########## %s' % name, flush=True)
        start = time.monotonic()
        try:
            ok, detail = fn()
        except Exception as exc:  # a crashed stage is a failed stage, never a skipped one
            ok, detail = False, 'stage crashed: %s' % exc
        results.append((name, ok, time.monotonic() - start, detail))
    print('\n########## summary')
    for name, ok, elapsed, detail in results:
        print('%-12s %-6s %7.1fs  %s' % (name, 'ok' if ok else 'FAILED', elapsed, detail))
    failed = sum(1 for r in results if not r[1])
    print('stages: %d passed, %d failed' % (len(results) - failed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
