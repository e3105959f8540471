# -*- coding: utf-8 -*-
"""Shared pytest fixtures for vmcat.libvirt unit tests.

The collection is imported as ``ansible_collections.vmcat.libvirt``; ``make
unit`` puts ``build/collections`` (a link to this checkout) on PYTHONPATH.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import json
import os
import shutil
import threading

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _guest_agent
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._connection import Connection
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module import Context
from ansible_collections.vmcat.libvirt.tests.unit.fakes import guest_agent, volume
from ansible_collections.vmcat.libvirt.tests.unit.helpers import FIXTURES, ModuleExit, exit_json, fail_json

# Plugins run in this process (the inventory, the qga connection) would put plugin_utils/_source_imports in front
# of every import and write the user's code cache: off here. test_zip_imports and test_source_imports run their
# imports in fresh interpreters with a cache directory of their own.
os.environ['VMCAT_LIBVIRT_CODE_CACHE'] = 'off'


@pytest.fixture
def conn():
    """An open connection to a fresh test:///default (new state per process is shared; tests must clean up)."""
    with Connection('test:///default') as c:
        yield c


@pytest.fixture
def node_copy(tmp_path):
    """node_copy(NAME): a test:/// URI over a private copy of tests/unit/fixtures/NAME (state persists between runs)."""
    def copy(name):
        path = tmp_path / name
        shutil.copy(os.path.join(FIXTURES, name), str(path))
        return 'test://' + str(path)
    return copy


@pytest.fixture
def node_uri(node_copy):
    """A test:/// URI over a private copy of tests/unit/fixtures/node.xml (state persists between module runs)."""
    return node_copy('node.xml')


@pytest.fixture
def make_ctx():
    """Build a Context for logic functions: make_ctx(conn, params, check_mode=False)."""
    def factory(conn, params, check_mode=False):
        return Context(conn, params, check_mode)
    return factory


@pytest.fixture
def run_module(monkeypatch):
    """Run a module's main() with arguments; returns its result dict.

    ``run_module(pool, {'name': 'x'}, check_mode=True, diff=True)``; a failing module
    raises ModuleFail (its result in ``.result``).
    """
    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)

    def run(module, args, check_mode=False, diff=False):
        args = dict(args)
        args['_ansible_check_mode'] = check_mode
        args['_ansible_diff'] = diff
        args.setdefault('_ansible_remote_tmp', '/tmp')
        args.setdefault('_ansible_keep_remote_files', False)
        payload = to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
        monkeypatch.setattr(basic, '_ANSIBLE_ARGS', payload)
        monkeypatch.setattr(basic, '_ANSIBLE_PROFILE', 'legacy', raising=False)
        try:
            module.main()
        except ModuleExit as done:
            return done.result
        raise AssertionError('module returned without exit_json')
    return run


@pytest.fixture
def warnings(monkeypatch):
    """The messages modules pass to AnsibleModule.warn, in order."""
    seen = []
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda self, msg: seen.append(msg))
    return seen


@pytest.fixture
def store(monkeypatch):
    """Volume contents behind libvirt's streams, upload, download, wipe and resize (tests/unit/fakes/volume.py)."""
    return volume.install(monkeypatch, volume.FakeStore())


@pytest.fixture
def guest(monkeypatch):
    """A fake qemu-ga (tests/unit/fakes/guest_agent.py FakeGuest) behind libvirt_qemu.qemuAgentCommand."""
    made = guest_agent.FakeGuest()
    monkeypatch.setattr(_guest_agent.libvirt_qemu, 'qemuAgentCommand', made)
    return made


@pytest.fixture
def http_dir(tmp_path):
    """A directory served over HTTP on 127.0.0.1 for the test; yields (dir, base url)."""
    from http.server import HTTPServer, SimpleHTTPRequestHandler

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass
    served = tmp_path / 'www'
    served.mkdir()
    server = HTTPServer(('127.0.0.1', 0), functools.partial(Quiet, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, kwargs=dict(poll_interval=0.05), daemon=True)
    thread.start()
    yield served, 'http://127.0.0.1:%d' % server.server_address[1]
    server.shutdown()
    server.server_close()
