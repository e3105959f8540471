# -*- coding: utf-8 -*-
"""_zip_imports: the collection's module_utils out of a zip, each file compiled once, and every module installing it
before it imports anything else of ours."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys
import zipfile

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _zip_imports
from ansible_collections.vmcat.libvirt.tests.unit.plugins.test_import_layers import GRAPH, PLUGINS

PACKAGE = 'ansible_collections/vmcat/libvirt/plugins/module_utils'
MARKERS = ('ansible_collections', 'ansible_collections/vmcat', 'ansible_collections/vmcat/libvirt',
           'ansible_collections/vmcat/libvirt/plugins', PACKAGE)

# Run in a fresh interpreter with only the zip (and the standard library, lxml, libvirt) to import from: counts the
# compile() calls per file name while importing three of our files out of the zip, then raises an error inside one
# of them to see that a traceback still shows its source line.
PROBE = r'''
import builtins, collections, json, sys, traceback
sys.path.insert(0, sys.argv[1])
counts = collections.Counter()
real_compile = builtins.compile
def counting(source, filename, *args, **kwargs):
    counts[str(filename)] += 1
    return real_compile(source, filename, *args, **kwargs)
builtins.compile = counting
prefix = 'ansible_collections.vmcat.libvirt.plugins.module_utils._core.'
zi = __import__(prefix + '_zip_imports', fromlist=['x'])
if sys.argv[2] == 'install':
    zi.install()
errors = __import__(prefix + '_errors', fromlist=['x'])
wait = __import__(prefix + '_wait', fromlist=['x'])
try:
    wait.wait_for(lambda: False, 0, 'nothing')
except errors.WaitTimeout:
    shown = traceback.format_exc()
print(json.dumps({
    'counts': {k.split('/module_utils/')[-1]: v for k, v in counts.items() if '/module_utils/' in k},
    'loaders': {m: type(sys.modules[prefix + m].__loader__).__name__ for m in ('_zip_imports', '_errors', '_wait')},
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


def _probe(path, mode):
    env = dict((k, v) for k, v in os.environ.items() if k != 'PYTHONPATH')
    out = subprocess.run([sys.executable, '-c', PROBE, path, mode], env=env, stdout=subprocess.PIPE, check=True,
                         cwd=os.path.dirname(path), universal_newlines=True).stdout
    return json.loads(out)


def test_python_zipimport_compiles_each_file_twice_without_it(payload):
    got = _probe(payload, 'plain')
    assert got['loaders'] == {'_zip_imports': 'zipimporter', '_errors': 'zipimporter', '_wait': 'zipimporter'}
    if sys.version_info[:2] in ((3, 10), (3, 11), (3, 12)):  # the versions whose zipimport is known to do this
        assert got['counts']['_core/_wait.py'] == 2


def test_installed_each_later_file_is_compiled_once_from_the_zip(payload):
    got = _probe(payload, 'install')
    assert got['finders'][0] == '_ZipFinder'
    assert got['loaders'] == {'_zip_imports': 'zipimporter', '_errors': '_ZipSourceLoader', '_wait': '_ZipSourceLoader'}
    assert got['counts']['_core/_errors.py'] == 1
    assert got['counts']['_core/_wait.py'] == 1
    assert got['file'] == os.path.join(payload, PACKAGE, '_core', '_wait.py')
    assert 'raise WaitTimeout(' in got['traceback']  # the source line, read back out of the zip


def test_not_installed_when_loaded_from_files():
    before = list(sys.meta_path)
    _zip_imports.install()
    assert sys.meta_path == before


def test_the_finder_leaves_other_names_and_plain_directories_alone():
    finder = _zip_imports._ZipFinder()
    assert finder.find_spec('json', None) is None
    assert finder.find_spec(_zip_imports.PREFIX + '_core._xml', [os.path.join(PLUGINS, 'module_utils', '_core')]) is None


@pytest.mark.parametrize('module', sorted(m for m in GRAPH if m.startswith('modules.')))
def test_every_module_imports_the_module_wrapper_before_anything_else_of_ours(module):
    rel, imports = GRAPH[module]
    ours = [target for target, node, in_function in sorted(imports, key=lambda i: i[1].lineno)
            if target.startswith('module_utils.')]
    assert ours[0] == 'module_utils._core._module', (
        '%s imports %s first; import LibvirtModule first so that the rest is compiled once (_core/_zip_imports)'
        % (rel, ours[0]))
