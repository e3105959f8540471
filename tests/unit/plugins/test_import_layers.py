# -*- coding: utf-8 -*-
"""The shape of plugins/: which code may import which, read from the import statements themselves.

module_utils is split into packages by layer.  ``_core`` (connection, errors,
XML, sizes, waiting, the module wrapper and change cycle, guest agent, QMP)
imports nothing else of ours; a resource package imports ``_core`` and only
the packages listed for it in ``ALLOWED``, never one above it.  Nothing in
module_utils imports a plugin; plugins import module_utils and plugin_utils.
No file imports another in a cycle, and no import of ours hides inside a
function (where it would dodge a cycle).  ``__init__.py`` files stay empty so
AnsiballZ ships only what a module imports.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PLUGINS = os.path.join(ROOT, 'plugins')
PREFIX = 'ansible_collections.vmcat.libvirt.plugins.'

# package -> the packages below it that it may import (besides itself)
ALLOWED = {
    '_core': set(),
    '_domain': {'_core'},
    '_node': {'_core'},
    '_network': {'_core'},
    '_storage': {'_core'},
    '_guest': {'_core'},
    '_console': {'_core', '_domain'},
    '_template': {'_core', '_storage'},
    '_vm': {'_core', '_domain', '_node', '_storage', '_template'},
    '_snapshot': {'_core', '_domain', '_storage', '_template'},
    '_stats': {'_core', '_domain'},
}


def _python_files():
    for folder, dirs, files in os.walk(PLUGINS):
        dirs[:] = [d for d in dirs if d != '__pycache__']
        for name in files:
            if name.endswith('.py'):
                path = os.path.join(folder, name)
                yield os.path.relpath(path, PLUGINS).replace(os.sep, '/'), path


def _module_name(rel):
    return rel[:-3].replace('/', '.').replace('.__init__', '')


def _our_imports(tree):
    """[(imported module under plugins/, the node, whether it sits inside a function)] of one file."""
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.ImportFrom) and (child.module or '').startswith(PREFIX):
                base = child.module[len(PREFIX):]
                for alias in child.names:
                    target = base + '.' + alias.name
                    found.append((target if os.path.exists(_path_of(target)) else base, child, in_function))
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.startswith(PREFIX):
                        found.append((alias.name[len(PREFIX):], child, in_function))
            visit(child, inside)
    visit(tree, False)
    return found


def _path_of(dotted):
    return os.path.join(PLUGINS, *dotted.split('.')) + '.py'


def _graph():
    graph = {}
    for rel, path in _python_files():
        with open(path) as source:
            tree = ast.parse(source.read(), path)
        graph[_module_name(rel)] = (rel, _our_imports(tree))
    return graph


GRAPH = _graph()


def _package(module):
    parts = module.split('.')
    return parts[1] if parts[0] == 'module_utils' and len(parts) > 2 else None


def test_every_module_utils_file_sits_in_a_package():
    loose = [rel for rel, path in _python_files()
             if rel.startswith('module_utils/') and rel.count('/') == 1 and not rel.endswith('__init__.py')]
    assert loose == []
    packages = sorted(set(_package(m) for m in GRAPH if _package(m)))
    assert packages == sorted(ALLOWED), 'a new package needs its place in ALLOWED'


def test_package_markers_are_empty():
    full = [rel for rel, path in _python_files() if rel.endswith('__init__.py') and os.path.getsize(path)]
    assert full == []


@pytest.mark.parametrize('module', sorted(m for m in GRAPH if m.startswith('module_utils.')))
def test_module_utils_imports_only_downwards(module):
    rel, imports = GRAPH[module]
    mine = _package(module)
    wrong = []
    for target, node, dummy in imports:
        if not target.startswith('module_utils.'):
            wrong.append('%s (a plugin) at line %d' % (target, node.lineno))
            continue
        theirs = _package(target)
        if theirs != mine and theirs not in ALLOWED[mine]:
            wrong.append('%s (package %s, not below %s) at line %d' % (target, theirs, mine, node.lineno))
    assert wrong == [], '%s imports %s' % (rel, '; '.join(wrong))


# Imports of ours inside a function on purpose, not to dodge a cycle (test_no_import_cycles still counts them):
# the inventory plugin loads its collecting code only when it asks the nodes, so that a run served from a warm
# cache never imports libvirt and lxml; the vm module imports what makes, clones or removes volumes and stores a
# cloud-init seed only in a task that does that, so that a task that changes nothing compiles less of the AnsiballZ
# zip (issue 15, bench/README.md).
LAZY = {
    # the qga connection imports libvirt and the core only when a task connects without the persistent relay: with
    # vmcat_qga_persistent a task's worker never loads them (about 45 ms of each task; docs/connection-qga.md).
    # Both plugins put _source_imports in place just before those imports, where it pays for itself.
    'connection.qga': {'module_utils._core._connection', 'plugin_utils._libvirt', 'plugin_utils._qga_transport',
                       'plugin_utils._source_imports'},
    'inventory.libvirt': {'module_utils._vm._addresses', 'plugin_utils._inventory_collect', 'plugin_utils._libvirt',
                          'plugin_utils._source_imports'},
    'module_utils._vm._disks': {'module_utils._storage._volume', 'module_utils._storage._template_store',
                                'module_utils._storage._transfer'},
    'module_utils._vm._vm': {'module_utils._vm._seed_volume'},
}


@pytest.mark.parametrize('module', sorted(GRAPH))
def test_no_import_of_ours_inside_a_function(module):
    rel, imports = GRAPH[module]
    hidden = ['%s at line %d' % (target, node.lineno) for target, node, in_function in imports
              if in_function and target not in LAZY.get(module, ())]
    assert hidden == [], '%s imports inside a function: %s' % (rel, ', '.join(hidden))


def test_no_import_cycles():
    edges = dict((m, sorted(set(t for t, n, f in imports if t in GRAPH and t != m))) for m, (rel, imports) in
                 GRAPH.items())
    state, stack, cycles = {}, [], []

    def walk(node):
        state[node] = 'open'
        stack.append(node)
        for nxt in edges[node]:
            if state.get(nxt) == 'open':
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                walk(nxt)
        stack.pop()
        state[node] = 'done'
    for node in sorted(edges):
        if node not in state:
            walk(node)
    assert cycles == []


def test_the_rules_see_a_wrong_import(tmp_path):
    """The reader finds imports in functions and upward ones (so the tests above can fail)."""
    tree = ast.parse('from ansible_collections.vmcat.libvirt.plugins.module_utils._vm import _vm\n'
                     'def f():\n'
                     '    from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml\n')
    found = [(target, in_function) for target, node, in_function in _our_imports(tree)]
    assert found == [('module_utils._vm._vm', False), ('module_utils._core._xml', True)]
    assert _package('module_utils._vm._vm') == '_vm' and '_vm' not in ALLOWED['_core']
