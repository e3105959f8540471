# -*- coding: utf-8 -*-
"""The `packaging` stage of `make test`: what AWX and a clean machine get from this collection.

- `ansible-builder create` on docs/awx/execution-environment.yml, with the collection tarball built from this
  checkout where that file expects it; the build context must hold the Containerfile and the same tarball, and
  the introspection script that the image build runs (copied into the context) must find, in the collection
  installed from that tarball, exactly the lines of requirements.txt and bindep.txt (through
  meta/execution-environment.yml).
- requirements.txt installs with pip into a new, empty venv and its modules import there.

There is no container engine on the test machines, so no image is built.
"""

from __future__ import absolute_import, division, print_function

import os
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
EE_FILE = os.path.join('docs', 'awx', 'execution-environment.yml')
IMPORTS = 'import libvirt, lxml.etree, qemu.qmp, jmespath'


class PackagingError(Exception):
    """A check of the packaging stage failed; the message says which and why."""


def run(cmd, cwd=ROOT):
    print('+ %s' % ' '.join(cmd), flush=True)
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          check=False, env=dict(os.environ, PATH=BIN + os.pathsep + os.environ.get('PATH', '')))
    if proc.returncode:
        raise PackagingError('%s failed:\n%s' % (' '.join(cmd), proc.stdout))
    return proc.stdout


def requirement_lines(path):
    """The lines that matter in a requirements or bindep file, sorted: no comments (so none of the
    `# from collection ...` that introspection appends), no blanks."""
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        lines = (line.split('#', 1)[0].strip() for line in handle)
        return sorted(line for line in lines if line)


def build_tarball(dest):
    os.makedirs(dest)
    run(['ansible-galaxy', 'collection', 'build', '--force', '--output-path', dest, '.'])
    tarballs = [f for f in os.listdir(dest) if f.endswith('.tar.gz')]
    if len(tarballs) != 1:
        raise PackagingError('ansible-galaxy collection build made %s' % (tarballs or 'no tarball'))
    return tarballs[0]


def check_ee_definition(definition, tarball):
    """The definition installs the tarball this checkout builds (the version in its name is galaxy.yml's)."""
    from ansible_builder.ee_schema import validate_schema

    with open(os.path.join(ROOT, 'meta', 'execution-environment.yml')) as handle:
        validate_schema(yaml.safe_load(handle))
    wanted = 'collections/%s' % tarball
    named = [c.get('name') for c in definition['dependencies']['galaxy']['collections']]
    sources = [os.path.basename(f['src']) for f in definition.get('additional_build_files', [])]
    if wanted not in named or tarball not in sources:
        raise PackagingError('%s installs %s from %s, but this checkout builds %s: set both to the version in '
                             'galaxy.yml' % (EE_FILE, named, sources, tarball))


def check_context(context, base_image, tarball, built):
    containerfile = os.path.join(context, 'Containerfile')
    if not os.path.isfile(containerfile):
        raise PackagingError('ansible-builder create wrote no Containerfile into %s' % context)
    with open(containerfile) as handle:
        text = handle.read()
    for needed in (base_image, 'ansible-galaxy collection install', 'introspect.py introspect'):
        if needed not in text:
            raise PackagingError('the Containerfile has no %r:\n%s' % (needed, text))
    copied = os.path.join(context, '_build', 'collections', tarball)
    with open(copied, 'rb') as one, open(built, 'rb') as other:
        if one.read() != other.read():
            raise PackagingError('%s in the build context differs from the tarball this checkout built' % copied)
    return copied


def check_introspection(context, copied, work):
    """Run the context's own introspect.py on the collection installed from the context's tarball."""
    installed = os.path.join(work, 'installed')
    run(['ansible-galaxy', 'collection', 'install', '--force', '-p', installed, copied])
    pip_out, bindep_out = os.path.join(work, 'ee-requirements.txt'), os.path.join(work, 'ee-bindep.txt')
    run([sys.executable, os.path.join(context, '_build', 'scripts', 'introspect.py'), 'introspect', installed,
         '--write-pip', pip_out, '--write-bindep', bindep_out])
    for ours, theirs in (('requirements.txt', pip_out), ('bindep.txt', bindep_out)):
        expected = requirement_lines(os.path.join(ROOT, ours))
        got = requirement_lines(theirs)
        if got != expected:
            raise PackagingError('the image would get %s from the collection instead of the lines of %s (%s)'
                                 % (got, ours, expected))
    return len(requirement_lines(os.path.join(ROOT, 'requirements.txt'))), \
        len(requirement_lines(os.path.join(ROOT, 'bindep.txt')))


def check_execution_environment(work):
    with open(os.path.join(ROOT, EE_FILE)) as handle:
        definition = yaml.safe_load(handle)
    # The definition sits at docs/awx/ and takes the tarball from build/, as after `make collection`.
    ee_dir = os.path.join(work, 'docs', 'awx')
    os.makedirs(ee_dir)
    shutil.copy(os.path.join(ROOT, EE_FILE), ee_dir)
    tarball = build_tarball(os.path.join(work, 'build'))
    check_ee_definition(definition, tarball)
    context = os.path.join(work, 'context')
    run(['ansible-builder', 'create', '-f', os.path.join(ee_dir, 'execution-environment.yml'),
         '--context', context, '--output-filename', 'Containerfile'])
    copied = check_context(context, definition['images']['base_image']['name'], tarball,
                           os.path.join(work, 'build', tarball))
    python, system = check_introspection(context, copied, work)
    return ('%s context with %s; its introspection passes on the %d lines of requirements.txt and the %d of '
            'bindep.txt') % (
        os.path.basename(EE_FILE), tarball, python, system)


def check_clean_venv(work):
    """requirements.txt into a venv that has nothing else; pip's wheel cache keeps libvirt-python's build."""
    start = time.monotonic()
    venv = os.path.join(work, 'clean-venv')
    run([sys.executable, '-m', 'venv', venv])
    python = os.path.join(venv, 'bin', 'python')
    run([python, '-m', 'pip', 'install', '-q', '--disable-pip-version-check', '-r',
         os.path.join(ROOT, 'requirements.txt')])
    run([python, '-c', IMPORTS])
    return 'requirements.txt installs and imports in a clean venv (%.0f s)' % (time.monotonic() - start)


def stage_packaging():
    work = tempfile.mkdtemp(prefix='vmcat-packaging-')
    try:
        details = [check_execution_environment(work), check_clean_venv(work)]
    except PackagingError as exc:
        print(str(exc), flush=True)
        return False, str(exc).splitlines()[0]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return True, '; '.join(details)
