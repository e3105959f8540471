# -*- coding: utf-8 -*-
"""_zip_imports: the collection's module_utils out of a zip, each file compiled once or read from the code cache; importing
it installs it, and every module imports it before anything else of ours."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import json
import marshal
import os
import subprocess
import sys
import time
import zipfile

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _zip_imports
from ansible_collections.vmcat.libvirt.tests.unit.plugins.test_import_layers import GRAPH, PLUGINS

PACKAGE = 'ansible_collections/vmcat/libvirt/plugins/module_utils'
CODE = type(compile('', '<code>', 'exec'))
MARKERS = ('ansible_collections', 'ansible_collections/vmcat', 'ansible_collections/vmcat/libvirt',
           'ansible_collections/vmcat/libvirt/plugins', PACKAGE)

# Run in a fresh interpreter with only the zip (and the standard library, lxml, libvirt) to import from: counts the
# compile() calls per file name while importing two of our files out of the zip (after _zip_imports in mode
# 'install', without it in mode 'plain'), then raises an error inside one of them to see that a traceback still shows
# its source line.
# A probe's first lines: ``counts`` of compile() calls per file name from then on.
COUNT_COMPILES = r'''
import builtins, collections
counts = collections.Counter()
real_compile = builtins.compile
def counting(source, filename, *args, **kwargs):
    counts[str(filename)] += 1
    return real_compile(source, filename, *args, **kwargs)
builtins.compile = counting
'''
PROBE = COUNT_COMPILES + r'''
import json, sys, traceback
sys.path.insert(0, sys.argv[1])
prefix = 'ansible_collections.vmcat.libvirt.plugins.module_utils._core.'
if sys.argv[2] == 'install':
    __import__(prefix + '_zip_imports', fromlist=['x'])  # importing it is all a module does
errors = __import__(prefix + '_errors', fromlist=['x'])
wait = __import__(prefix + '_wait', fromlist=['x'])
try:
    wait.wait_for(lambda: False, 0, 'nothing')
except errors.WaitTimeout:
    shown = traceback.format_exc()
print(json.dumps({
    'counts': {k.split('/module_utils/')[-1]: v for k, v in counts.items() if '/module_utils/' in k},
    'loaders': {m: type(sys.modules[prefix + m].__loader__).__name__ for m in ('_zip_imports', '_errors', '_wait')
                if prefix + m in sys.modules},
    'file': sys.modules[prefix + '_wait'].__file__,
    'finders': [type(f).__name__ for f in sys.meta_path],
    'traceback': shown,
}))
'''


@pytest.fixture(scope='module')
def payload(tmp_path_factory):
    """A zip laid out as AnsiballZ lays out a module's payload, holding our _core files."""
    path = str(tmp_path_factory.mktemp('zip') / 'payload.zip')
    core = os.path.join(PLUGINS, 'module_utils', '_core')
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as zf:
        for marker in MARKERS:
            zf.writestr(marker + '/__init__.py', '')
        for name in sorted(os.listdir(core)):
            if name.endswith('.py'):
                zf.write(os.path.join(core, name), '%s/_core/%s' % (PACKAGE, name))
    return path


def _probe(path, mode, cache='off'):
    env = dict((k, v) for k, v in os.environ.items() if k not in ('PYTHONPATH', _zip_imports.CACHE_ENV))
    if cache is not None:
        env[_zip_imports.CACHE_ENV] = cache
    out = subprocess.run([sys.executable, '-c', PROBE, path, mode], env=env, stdout=subprocess.PIPE, check=True,
                         cwd=os.path.dirname(path), universal_newlines=True).stdout
    return json.loads(out)


def test_python_zipimport_compiles_each_file_twice_without_it(payload):
    got = _probe(payload, 'plain')
    assert got['loaders'] == {'_errors': 'zipimporter', '_wait': 'zipimporter'}
    if sys.version_info[:2] in ((3, 10), (3, 11), (3, 12)):  # the versions whose zipimport is known to do this
        assert got['counts']['_core/_wait.py'] == 2


def test_once_imported_each_later_file_is_compiled_once_from_the_zip(payload):
    got = _probe(payload, 'install')
    assert got['finders'][0] == '_ZipFinder'
    assert got['loaders'] == {'_zip_imports': 'zipimporter', '_errors': '_ZipSourceLoader', '_wait': '_ZipSourceLoader'}
    assert got['counts']['_core/_errors.py'] == 1
    assert got['counts']['_core/_wait.py'] == 1
    assert got['file'] == os.path.join(payload, PACKAGE, '_core', '_wait.py')
    assert 'raise WaitTimeout(' in got['traceback']  # the source line, read back out of the zip


def _cached(directory):
    return sorted(n for n in os.listdir(directory) if not n.endswith('.part'))


def test_the_second_task_reads_the_compiled_code_instead_of_compiling(payload, tmp_path):
    cache = tmp_path / 'code'
    first = _probe(payload, 'install', str(cache))
    assert first['counts']['_core/_wait.py'] == 1
    with open(os.path.join(PLUGINS, 'module_utils', '_core', '_wait.py'), 'rb') as source:
        key = _zip_imports.CodeCache.key(source.read())
    assert key in _cached(str(cache)) and len(_cached(str(cache))) == 2  # _errors and _wait
    assert oct(os.stat(str(cache)).st_mode & 0o777) == '0o700'
    second = _probe(payload, 'install', str(cache))
    assert '_core/_wait.py' not in second['counts'] and '_core/_errors.py' not in second['counts']
    assert second['loaders']['_wait'] == '_ZipSourceLoader'
    assert second['file'] == os.path.join(payload, PACKAGE, '_core', '_wait.py')
    assert 'raise WaitTimeout(' in second['traceback']
    assert os.path.join(payload, PACKAGE, '_core', '_wait.py') in second['traceback']  # this zip, not the first


def test_a_broken_cache_file_is_compiled_again_and_replaced(payload, tmp_path):
    cache = tmp_path / 'code'
    _probe(payload, 'install', str(cache))
    for name in _cached(str(cache)):
        (cache / name).write_bytes(b'not marshalled code')
    again = _probe(payload, 'install', str(cache))
    assert again['counts']['_core/_wait.py'] == 1
    assert all(isinstance(marshal.loads((cache / n).read_bytes()), CODE) for n in _cached(str(cache)))


def test_a_directory_others_may_write_is_not_used(payload, tmp_path):
    cache = tmp_path / 'shared'
    cache.mkdir()
    cache.chmod(0o777)
    assert _probe(payload, 'install', str(cache))['counts']['_core/_wait.py'] == 1
    assert _cached(str(cache)) == []
    assert _probe(payload, 'install', str(cache))['counts']['_core/_wait.py'] == 1


@pytest.mark.skipif(os.geteuid() != 0, reason='giving a directory to another user needs root')
def test_a_directory_of_another_user_is_not_used(tmp_path):
    theirs = tmp_path / 'theirs'
    theirs.mkdir(mode=0o700)
    os.chown(str(theirs), 65534, 65534)
    cache = _zip_imports.CodeCache(str(theirs))
    assert not cache.usable()
    cache.put('k', compile('x = 1', 'x.py', 'exec'))
    assert os.listdir(str(theirs)) == [] and cache.get('k') is None


def test_off_writes_nothing_and_the_default_is_the_users_cache_directory(payload, tmp_path):
    assert _probe(payload, 'install', 'off')['counts']['_core/_wait.py'] == 1
    assert _zip_imports.CodeCache.from_environment({_zip_imports.CACHE_ENV: 'Off'}) is None
    default = _zip_imports.CodeCache.from_environment({'XDG_CACHE_HOME': str(tmp_path)})
    assert default.directory == str(tmp_path / 'vmcat.libvirt' / 'code')
    assert _zip_imports.CodeCache.from_environment({_zip_imports.CACHE_ENV: '/srv/c'}).directory == '/srv/c'
    assert _zip_imports.CodeCache.from_environment({_zip_imports.CACHE_ENV: 'relative/dir'}) is None
    assert _zip_imports.CodeCache.from_environment({'XDG_CACHE_HOME': 'not/absolute'}) is None


def test_files_not_written_for_thirty_days_are_removed(tmp_path):
    cache = _zip_imports.CodeCache(str(tmp_path / 'code'))
    assert cache.usable()
    cache.put('old', compile('x = 1', 'old.py', 'exec'))
    cache.put('new', compile('x = 2', 'new.py', 'exec'))
    month_ago = time.time() - _zip_imports.MAX_AGE - 60
    os.utime(os.path.join(cache.directory, 'old'), (month_ago, month_ago))
    cache.prune()
    assert _cached(cache.directory) == ['new']
    assert cache.get('new').co_filename == 'new.py' and cache.get('old') is None


def test_not_installed_when_loaded_from_files():
    before = list(sys.meta_path)
    _zip_imports.install()
    assert sys.meta_path == before


def test_the_finder_leaves_other_names_and_plain_directories_alone():
    finder = _zip_imports._ZipFinder()
    assert finder.find_spec('json', None) is None
    assert finder.find_spec(_zip_imports.PREFIX + '_core._xml', [os.path.join(PLUGINS, 'module_utils', '_core')]) is None


@pytest.mark.parametrize('module', sorted(m for m in GRAPH if m.startswith('modules.')))
def test_every_module_imports_the_zip_finder_before_anything_else_of_ours(module):
    rel, imports = GRAPH[module]
    ours = sorted((node.lineno, target) for target, node, in_function in imports if target.startswith('module_utils.'))
    assert ours[0][1] == 'module_utils._core._zip_imports', (
        '%s imports %s first; import _core._zip_imports first (importing it installs it) so that the rest (the '
        'module wrapper too) is compiled once or read from the code cache' % (rel, ours[0][1]))


def test_importing_it_is_what_installs_it():
    with open(os.path.join(PLUGINS, 'module_utils', '_core', '_zip_imports.py')) as source:
        body = ast.parse(source.read()).body
    assert ast.dump(body[-1]) == ast.dump(ast.parse('install()').body[0])
