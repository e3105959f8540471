# -*- coding: utf-8 -*-
"""plugin_utils/_source_imports: on the controller, our module_utils and plugin_utils come from the code cache
instead of being compiled by ansible-core's collection loader in every process; the inventory plugin uses it."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _zip_imports
from ansible_collections.vmcat.libvirt.tests.unit.plugins.module_utils._core.test_zip_imports import COUNT_COMPILES
from ansible_collections.vmcat.libvirt.tests.unit.plugins.test_import_layers import ROOT

COLLECTIONS = os.path.join(ROOT, 'build', 'collections')
SOURCE = os.path.join(COLLECTIONS, 'ansible_collections', 'vmcat', 'libvirt', 'plugins')
PREFIX = 'ansible_collections.vmcat.libvirt.plugins.'

# Run in a fresh interpreter where only ansible-core's collection loader knows the collection (as in
# ansible-inventory or a task's worker): counts compile() per file while importing, through _source_imports
# ("install") or not ("plain"), or through the inventory plugin parsing a test:/// node ("inventory").
PROBE = COUNT_COMPILES + r'''
import json, sys
collections_path, mode = sys.argv[1], sys.argv[2]
if mode == 'inventory':
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import init_plugin_loader
    init_plugin_loader([collections_path])
    hosts = [h.name for h in InventoryManager(loader=DataLoader(), sources=[sys.argv[3]]).get_hosts()]
elif mode == 'qga':
    hosts = []
    from ansible.playbook.play_context import PlayContext
    from ansible.plugins.loader import connection_loader, init_plugin_loader
    init_plugin_loader([collections_path])
    connection = connection_loader.get('vmcat.libvirt.qga', PlayContext(), None)
    connection.set_options(var_options={'vmcat_qga_uri': 'test:///default', 'vmcat_qga_vm': 'test'})
    try:
        connection._connect()
    except Exception as exc:  # test:///default has no guest agent: what matters is what was imported
        hosts = [type(exc).__name__]
else:
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
    _AnsibleCollectionFinder(paths=[collections_path])._install()
    hosts = []
    if mode == 'install':
        from ansible_collections.vmcat.libvirt.plugins.plugin_utils import _source_imports
        _source_imports.install()
    from ansible_collections.vmcat.libvirt.plugins.plugin_utils import _inventory_collect
prefix = 'ansible_collections.vmcat.libvirt.plugins.'
print(json.dumps({
    'counts': {k.split('/plugins/')[-1]: v for k, v in counts.items() if '/vmcat/libvirt/plugins/' in k},
    'loaders': {k[len(prefix):]: type(m.__loader__).__name__ for k, m in sys.modules.items() if k.startswith(prefix)},
    'files': {k[len(prefix):]: getattr(m, '__file__', None) for k, m in sys.modules.items() if k.startswith(prefix)},
    'paths': {k[len(prefix):]: list(getattr(m, '__path__', [])) for k, m in sys.modules.items() if k.startswith(prefix)},
    'first_finder': type(sys.meta_path[0]).__name__,
    'hosts': hosts,
}))
'''

CACHED = ('plugin_utils._inventory_collect', 'module_utils._core._errors', 'module_utils._domain._state')


def _probe(mode, cache, *extra):
    env = dict((k, v) for k, v in os.environ.items() if k not in ('PYTHONPATH', _zip_imports.CACHE_ENV))
    env[_zip_imports.CACHE_ENV] = cache
    out = subprocess.run([sys.executable, '-c', PROBE, COLLECTIONS, mode] + list(extra), env=env, check=True,
                         stdout=subprocess.PIPE, universal_newlines=True).stdout
    return json.loads(out)


def test_without_it_ansible_compiles_every_file_in_every_process(tmp_path):
    got = _probe('plain', str(tmp_path / 'code'))
    assert got['first_finder'] != 'SourceFinder'
    assert got['counts']['plugin_utils/_inventory_collect.py'] == 1
    assert all(got['loaders'][name] != 'CachedSourceLoader' for name in CACHED)
    assert not (tmp_path / 'code').exists()


def test_installed_the_second_process_compiles_none_of_them(tmp_path):
    cache = str(tmp_path / 'code')
    first = _probe('install', cache)
    assert first['first_finder'] == 'SourceFinder'
    for name in CACHED:
        assert first['loaders'][name] == 'CachedSourceLoader'
        assert first['counts'][name.replace('.', '/') + '.py'] == 1
    assert len(os.listdir(cache)) >= 10
    second = _probe('install', cache)
    for name in CACHED:
        assert second['loaders'][name] == 'CachedSourceLoader'
        assert name.replace('.', '/') + '.py' not in second['counts']
    # what ansible-core loads before the finder is in place is still compiled: the finder itself and the cache
    assert second['counts']['plugin_utils/_source_imports.py'] == 1
    assert second['counts']['module_utils/_core/_zip_imports.py'] == 1
    # modules and packages keep their real places
    assert second['files']['plugin_utils._inventory_collect'] == os.path.join(SOURCE, 'plugin_utils', '_inventory_collect.py')
    assert second['files']['module_utils._domain'] == os.path.join(SOURCE, 'module_utils', '_domain', '__init__.py')
    assert second['paths']['module_utils._domain'] == [os.path.join(SOURCE, 'module_utils', '_domain')]


def test_off_leaves_ansible_in_charge(tmp_path):
    got = _probe('install', 'off')
    assert got['first_finder'] != 'SourceFinder'
    assert all(got['loaders'][name] != 'CachedSourceLoader' for name in CACHED)


def test_the_inventory_plugin_collects_through_it(tmp_path):
    source = tmp_path / 'node.libvirt.yml'
    source.write_text(json.dumps({'plugin': 'vmcat.libvirt.libvirt', 'nodes': ['test:///default']}))
    cache = str(tmp_path / 'code')
    first = _probe('inventory', cache, str(source))
    assert first['hosts'] == ['test']
    second = _probe('inventory', cache, str(source))
    assert second['hosts'] == ['test']
    assert second['first_finder'] == 'SourceFinder'
    for name in CACHED:
        assert second['loaders'][name] == 'CachedSourceLoader'
        assert name.replace('.', '/') + '.py' not in second['counts']


def test_the_qga_connection_connects_through_it(tmp_path):
    cache = str(tmp_path / 'code')
    first = _probe('qga', cache)
    assert first['hosts'] == ['AnsibleConnectionFailure']  # the test driver's VM has no agent to ping
    second = _probe('qga', cache)
    assert second['first_finder'] == 'SourceFinder'
    for name in ('plugin_utils._qga_transport', 'module_utils._core._connection', 'module_utils._guest._exec'):
        assert second['loaders'][name] == 'CachedSourceLoader'
        assert name.replace('.', '/') + '.py' not in second['counts']
