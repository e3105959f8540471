# -*- coding: utf-8 -*-
"""Fixtures for the monitoring role's exporter: the exporter loaded from the role's files."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.util
import os

import pytest

ROLE = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'roles', 'monitoring'))
EXPORTER = os.path.join(ROLE, 'files', 'vmcat_libvirt_exporter.py')


@pytest.fixture(scope='session')
def exporter():
    spec = importlib.util.spec_from_file_location('vmcat_libvirt_exporter', EXPORTER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
