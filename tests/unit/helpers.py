# -*- coding: utf-8 -*-
"""Helpers for unit tests: module exits turned into exceptions.

Import them as ``ansible_collections.vmcat.libvirt.tests.unit.helpers`` so that
tests and conftest share one class object.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleExit(Exception):
    """exit_json was called; .result holds the module's result."""

    def __init__(self, result):
        super(ModuleExit, self).__init__(result)
        self.result = result


class ModuleFail(Exception):
    """fail_json was called; .result holds the module's result (with msg)."""

    def __init__(self, result):
        super(ModuleFail, self).__init__(result.get('msg'))
        self.result = result


def exit_json(self, **kwargs):
    kwargs.setdefault('changed', False)
    raise ModuleExit(kwargs)


def fail_json(self, **kwargs):
    kwargs['failed'] = True
    raise ModuleFail(kwargs)


class FakeClock(object):
    """A monotonic clock and its sleep for waiters: ``clock()`` reads it, ``clock.sleep(s)`` moves it on."""

    def __init__(self, poll_cost=0.0):
        self.now = 100.0
        self.poll_cost = poll_cost  # seconds each poll of the thing waited for costs (tests move the clock by it)
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds
