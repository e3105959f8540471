# -*- coding: utf-8 -*-
"""The `docs` stage of `make test`, and `make docs`: the docs site and the changelog.

- antsibull-docs writes a page per plugin and role of this checkout (from their own documentation) under
  collections/; the Markdown guides keep their places in the repository (docs/, roles/<role>/README.md,
  bench/README.md), so the links between them work on the site as they do in the repository;
  CHANGELOG.md goes beside docs/site/index.rst; sphinx-build makes the HTML site with warnings as errors
  (docs/site/conf.py).
- `antsibull-docs lint-collection-docs --plugin-docs` finds nothing.
- CHANGELOG.md is what antsibull-changelog generates from changelogs/changelog.yaml, and the fragments lint.

The docs tools live in build/venv-docs (docs/site/requirements.txt), made again only when that file changes.

Usage: stage_docs.py [OUTPUT_DIR]   (build the site into OUTPUT_DIR, default build/docs-site)
"""

from __future__ import absolute_import, division, print_function

import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
BUILD = os.path.join(ROOT, 'build')
DEV = os.path.join(BUILD, 'collections')
SITE = os.path.join(ROOT, 'docs', 'site')
DOCS_VENV = os.path.join(BUILD, 'venv-docs')
DOCS_BIN = os.path.join(DOCS_VENV, 'bin')
OUTPUT = os.path.join(BUILD, 'docs-site')
COLLECTION = 'vmcat.libvirt'


class DocsError(Exception):
    """A docs check failed; the message says which and why."""


def run(cmd, cwd=ROOT, env=None):
    print('+ %s' % ' '.join(cmd), flush=True)
    full_env = dict(os.environ, PATH=DOCS_BIN + os.pathsep + BIN + os.pathsep + os.environ.get('PATH', ''))
    full_env.update(env or {})
    proc = subprocess.run(cmd, cwd=cwd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False)
    if proc.returncode:
        raise DocsError('%s failed:\n%s' % (' '.join(cmd), proc.stdout))
    return proc.stdout


def docs_venv():
    """build/venv-docs with docs/site/requirements.txt, reinstalled only when that file changed."""
    requirements = os.path.join(SITE, 'requirements.txt')
    stamp = os.path.join(DOCS_VENV, '.requirements.txt')
    if os.path.exists(stamp) and filecmp.cmp(requirements, stamp, shallow=False):
        return
    if not os.path.exists(os.path.join(DOCS_BIN, 'python')):
        run([sys.executable, '-m', 'venv', DOCS_VENV])
    run([os.path.join(DOCS_BIN, 'python'), '-m', 'pip', 'install', '-q', '--disable-pip-version-check',
         '-r', requirements])
    shutil.copy(requirements, stamp)


def dev_tree():
    """build/collections/ansible_collections/vmcat/libvirt -> this checkout, as `make dev-tree` makes it."""
    link = os.path.join(DEV, 'ansible_collections', 'vmcat', 'libvirt')
    if not os.path.exists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(ROOT, link)
    return DEV


def copy_guides(source):
    """The Markdown guides at their repository paths: docs/ (without the site sources, and without
    docs/README.md, the index for browsing the repository: the site has its own), each role's README and
    bench/README.md."""
    shutil.copytree(os.path.join(ROOT, 'docs'), os.path.join(source, 'docs'), ignore=shutil.ignore_patterns('site'))
    os.remove(os.path.join(source, 'docs', 'README.md'))
    guides = [os.path.join('bench', 'README.md')]
    guides += [os.path.join('roles', role, 'README.md') for role in sorted(os.listdir(os.path.join(ROOT, 'roles')))
               if os.path.isfile(os.path.join(ROOT, 'roles', role, 'README.md'))]
    for rel in guides:
        os.makedirs(os.path.dirname(os.path.join(source, rel)), exist_ok=True)
        shutil.copy(os.path.join(ROOT, rel), os.path.join(source, rel))


def build_site(output):
    source = tempfile.mkdtemp(prefix='vmcat-docs-')  # antsibull-docs wants a directory only we can write to
    try:
        env = {'ANSIBLE_COLLECTIONS_PATH': dev_tree()}
        run(['antsibull-docs', 'collection', '--use-current', '--fail-on-error', '--dest-dir', source, COLLECTION],
            env=env)
        shutil.copy(os.path.join(SITE, 'index.rst'), source)
        shutil.copy(os.path.join(ROOT, 'CHANGELOG.md'), os.path.join(source, 'changelog.md'))
        copy_guides(source)
        if os.path.exists(output):
            shutil.rmtree(output)
        run(['sphinx-build', '-b', 'html', '-W', '--keep-going', '-q', '-c', SITE, source, output], env=env)
    finally:
        shutil.rmtree(source, ignore_errors=True)
    pages = sum(len([f for f in files if f.endswith('.html')]) for dummy, dummy2, files in os.walk(output))
    return pages


def lint_collection_docs():
    run(['antsibull-docs', 'lint-collection-docs', '--plugin-docs', '.'], env={'ANSIBLE_COLLECTIONS_PATH': dev_tree()})


def check_changelog():
    """The fragments lint, and CHANGELOG.md is antsibull-changelog's output for changelogs/changelog.yaml."""
    run([os.path.join(BIN, 'antsibull-changelog'), 'lint'])
    run([os.path.join(BIN, 'antsibull-changelog'), 'lint-changelog-yaml', 'changelogs/changelog.yaml'])
    work = tempfile.mkdtemp(prefix='vmcat-changelog-')
    try:
        generated = os.path.join(work, 'CHANGELOG.md')
        run([os.path.join(BIN, 'antsibull-changelog'), 'generate', '--output', generated, '--output-format', 'md'])
        if not filecmp.cmp(generated, os.path.join(ROOT, 'CHANGELOG.md'), shallow=False):
            raise DocsError('CHANGELOG.md is not what antsibull-changelog generates from changelogs/changelog.yaml: '
                            'run `make changelog` instead of editing it by hand')
    finally:
        shutil.rmtree(work, ignore_errors=True)


def stage_docs(output=OUTPUT):
    start = time.monotonic()
    try:
        docs_venv()
        venv_time = time.monotonic() - start
        pages = build_site(output)
        lint_collection_docs()
        check_changelog()
    except DocsError as exc:
        print(str(exc), flush=True)
        return False, str(exc).splitlines()[0]
    return True, ('site of %d pages in %s (sphinx -W); lint-collection-docs clean; CHANGELOG.md generated'
                  ' (docs venv %.0f s)' % (pages, os.path.relpath(output, ROOT), venv_time))


if __name__ == '__main__':
    ok, detail = stage_docs(os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT)
    print(detail)
    sys.exit(0 if ok else 1)
