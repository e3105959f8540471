# -*- coding: utf-8 -*-
"""Helpers for unit tests: module exits turned into exceptions, four-ways runs, failing runs, node file edits.

Import them as ``ansible_collections.vmcat.libvirt.tests.unit.helpers`` so that
tests and conftest share one class object.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures')

TEST_NS = 'http://libvirt.org/schemas/domain/test/1.0'  # the test driver's own elements (runstate)
CHANGES = (True, True, False, False)  # what a converging module reports: check, apply, check again, apply again
DIFF_FIRST_TWO = (True, True, False, False)  # diff asked in the first check and the first apply only
DIFF_ALWAYS = (True, True, True, True)
DIFF_FIRST = (True, False, False, False)  # diff asked in the first check only
DIFF_NEVER = (False, False, False, False)


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

    def __init__(self, poll_cost=0.0, start=100.0):
        self.now = start
        self.poll_cost = poll_cost  # seconds each poll of the thing waited for costs (tests move the clock by it)
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def four_ways(run_module, module, args, same=None, diff=DIFF_FIRST_TWO, changes=CHANGES):
    """Run ``module`` with ``args`` four times: check, apply, check again, apply again; returns the four results.

    ``diff`` says, run by run, whether a diff is asked for. ``changes`` is what each run must report as
    ``changed`` (checked after each run; ``None`` checks nothing). ``same`` (a result key or a function of a
    result) names what the second apply must return exactly as the first apply did.
    """
    results = []
    for number, check_mode in enumerate((True, False, True, False)):
        result = run_module(module, args, check_mode=check_mode, diff=diff[number])
        if changes is not None:
            assert result['changed'] is changes[number], result
        results.append(result)
    if same is not None:
        pick = same if callable(same) else (lambda result: result[same])
        assert pick(results[3]) == pick(results[1])
    return tuple(results)


def module_failure(run_module, module, args, **kw):
    """Run ``module`` with ``args``, which must fail; its failure result (``msg``, ``failed`` and the rest)."""
    with pytest.raises(ModuleFail) as failed:
        run_module(module, args, **kw)
    return failed.value.result


def fail(run_module, module, args, **kw):
    """Run ``module`` with ``args``, which must fail; its message."""
    return module_failure(run_module, module, args, **kw)['msg']


def fixture_text(name):
    """The text of tests/unit/fixtures/``name`` (captured libvirt XML, node files, test domains)."""
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def fixture_xml(name):
    """tests/unit/fixtures/``name`` parsed."""
    return _xml.parse(fixture_text(name), name)


def edit_node(node_uri, change):
    """Change the node file behind a ``test://PATH`` URI: ``change(root)`` edits its parsed XML in place."""
    path = node_uri[len('test://'):]
    with open(path, 'rb') as f:
        root = _xml.parse(f.read())
    change(root)
    with open(path, 'w') as f:
        f.write(_xml.to_string(root))


def add_node_vm(node_uri, name, devices, running=False, memory_kib=1024):
    """Put a test-driver VM with the ``devices`` XML (disks, interfaces) first into the node file, shut off or running.

    (Without a state of its own, libvirt's test driver would start it.)
    """
    xml = ('<domain type="test" xmlns:test="%s"><name>%s</name><memory>%d</memory><os><type>hvm</type></os>'
           '<devices>%s</devices><test:runstate>%d</test:runstate></domain>'
           % (TEST_NS, name, memory_kib, devices, 1 if running else 5))
    edit_node(node_uri, lambda root: root.insert(0, _xml.parse(xml)))


def file_disk(path, target='vda', fmt=None):
    """A <disk> element of a file for :func:`add_node_vm`."""
    driver = '<driver name="qemu" type="%s"/>' % fmt if fmt else ''
    return '<disk type="file" device="disk">%s<source file="%s"/><target dev="%s"/></disk>' % (driver, path, target)
