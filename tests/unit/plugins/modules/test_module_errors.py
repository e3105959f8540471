# -*- coding: utf-8 -*-
"""What a module says when an error escapes every translator (LibvirtModule._fail_unexpected)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmcat.libvirt.plugins.modules import pool
from ansible_collections.vmcat.libvirt.tests.unit.helpers import module_failure


def _fail_with(run_module, node_uri, monkeypatch, broken, task_name='vmcat.libvirt.pool'):
    """Run the pool module with its core replaced by ``broken``; the failure result."""
    monkeypatch.setattr(pool, 'ensure', broken)
    args = {'uri': node_uri, 'name': 'images', 'target': {'path': '/tmp/x'}}
    if task_name:
        args['_ansible_module_name'] = task_name
    return module_failure(run_module, pool, args)


def test_uncaught_python_error_is_reported_as_a_bug_not_a_libvirt_error(run_module, node_uri, monkeypatch):
    def broken(ctx):
        raise KeyError('oops')
    result = _fail_with(run_module, node_uri, monkeypatch, broken)
    assert result['msg'].startswith("internal error in vmcat.libvirt.pool 'images' on %s: KeyError" % node_uri)
    assert 'please report it' in result['msg']
    assert 'Traceback' in result['exception']


def test_uncaught_libvirt_error_names_the_task_node_and_a_fix(run_module, node_uri, monkeypatch):
    def broken(ctx):
        ctx.conn.virt.networkLookupByName('n1').create()  # already active: OPERATION_INVALID
    msg = _fail_with(run_module, node_uri, monkeypatch, broken)['msg']
    assert msg.startswith("libvirt error for vmcat.libvirt.pool 'images' on %s: " % node_uri)
    assert msg.endswith('check whether it is running or active, then retry')


def test_without_a_task_name_the_message_still_reads(run_module, node_uri, monkeypatch):
    def broken(ctx):
        raise ValueError('bad')
    msg = _fail_with(run_module, node_uri, monkeypatch, broken, task_name=None)['msg']
    assert msg.startswith("internal error in this task 'images' on ")
