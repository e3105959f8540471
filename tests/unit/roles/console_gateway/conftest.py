# -*- coding: utf-8 -*-
"""Fixtures for the console gateway's token plugin: the plugin and probe loaded from the role, a token store."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import importlib.util
import json
import os

import pytest

ROLE = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'roles', 'console_gateway'))
PLUGIN_DIR = os.path.join(ROLE, 'files')
PROBE = os.path.join(ROLE, 'molecule', 'default', 'ws_probe.py')
NOW = 1796000000.0


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='session')
def tokens_module():
    return load('vmcat_console_tokens', os.path.join(PLUGIN_DIR, 'vmcat_console_tokens.py'))


@pytest.fixture(scope='session')
def ws_probe():
    return load('vmcat_ws_probe', PROBE)


class Clock(object):
    """A settable clock for the plugin."""

    def __init__(self, now=NOW):
        self.now = now

    def __call__(self):
        return self.now


class Store(object):
    """A token directory written the way the contract says (hashed names, temp file then rename)."""

    def __init__(self, path):
        self.path = path

    def write(self, token, target=None, protocol='vnc', ttl=120, grace=0, created=NOW, vm='web1'):
        record = {'version': 1, 'vm': vm, 'uri': 'qemu:///system', 'protocol': protocol,
                  'target': target or {'host': '127.0.0.1', 'port': 5901},
                  'created_at': created, 'expires_at': created + ttl, 'grace': grace}
        name = hashlib.sha256(token.encode()).hexdigest()
        temp = os.path.join(self.path, '.%s.tmp' % name)
        with open(temp, 'w') as handle:
            json.dump(record, handle)
        os.chmod(temp, 0o600)
        os.rename(temp, os.path.join(self.path, name + '.json'))
        return name

    def files(self):
        return sorted(os.listdir(self.path))


@pytest.fixture
def store(tmp_path):
    path = tmp_path / 'tokens'
    path.mkdir(mode=0o700)
    return Store(str(path))


@pytest.fixture
def clock():
    return Clock()
