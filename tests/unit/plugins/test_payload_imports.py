# -*- coding: utf-8 -*-
"""What AnsiballZ ships with a module follows every import in every file it reaches, so where an import sits decides
a module's payload.  Ansible's ``urls`` (about 20 KB of payload with ``_download``) goes only with the modules that
download: the volume and template cycles take the downloader as an argument (``_volume_task``, ``_template_task``).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast

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
