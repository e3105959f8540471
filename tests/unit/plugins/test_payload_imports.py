# -*- coding: utf-8 -*-
"""What AnsiballZ ships with a module follows every import in every file it reaches, so where an import sits decides
a module's payload.  Ansible's ``urls`` (about 20 KB of payload with ``_download``) goes only with the modules that
download: the volume and template cycles take the downloader as an argument (``_volume_task``, ``_template_task``).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast

import pytest

from ansible_collections.vmcat.libvirt.tests.unit.plugins.test_import_layers import GRAPH, PLUGINS

URLS = 'ansible.module_utils.urls'


def _imports_urls(rel):
    with open('%s/%s' % (PLUGINS, rel)) as source:
        tree = ast.parse(source.read())
    return any(isinstance(node, ast.ImportFrom) and node.module == URLS or
               isinstance(node, ast.Import) and any(a.name == URLS for a in node.names) for node in ast.walk(tree))


def _reached(module):
    seen, todo = set(), [module]
    while todo:
        current = todo.pop()
        if current in seen or current not in GRAPH:
            continue
        seen.add(current)
        todo.extend(target for target, node, in_function in GRAPH[current][1])
    return seen


def test_only_the_modules_that_download_ship_urls():
    shipping = sorted(m for m in GRAPH if m.startswith('modules.') and any(_imports_urls(GRAPH[f][0]) for f in _reached(m)))
    assert shipping == ['modules.template', 'modules.volume']


@pytest.mark.parametrize('module, code', [
    ('modules.volume_info', 'module_utils._storage._volume'),  # it reads through _volume_read
    ('modules.template_info', 'module_utils._template._template'),  # it reads through _template_read
    ('modules.network_info', 'module_utils._network._network'),  # it reads through _network_read
    ('modules.pool_info', 'module_utils._storage._pool'),  # it reads through _pool_read
    ('modules.vm', 'module_utils._template._template'),  # a template disk is the volume cycle's template source
    ('modules.template', 'module_utils._storage._volume'),
    ('modules.snapshot', 'module_utils._storage._volume'),
    ('modules.guest_info', 'module_utils._guest._exec'),  # agent_caller is in _core/_guest_agent
])
def test_a_module_does_not_ship_a_cycle_it_does_not_run(module, code):
    assert module in GRAPH and code in GRAPH
    assert code not in _reached(module)
