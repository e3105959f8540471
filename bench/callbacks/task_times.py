# -*- coding: utf-8 -*-
"""Callback for bench/load.py: the start and end of every task on every host, written as JSON at the end.

Enabled only by the load benchmark (``ANSIBLE_CALLBACK_PLUGINS=bench/callbacks``,
``ANSIBLE_CALLBACKS_ENABLED=task_times``); the file is named by
``VMCAT_BENCH_TASK_TIMES``.  A task's time runs from the moment a worker
process starts it (``v2_runner_on_start``: a fork was free) to the moment its
result reaches the controller, so waiting for a free fork is not counted.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = '''
name: task_times
type: aggregate
short_description: start and end of every task on every host, for bench/load.py
description:
  - Writes a JSON list of {host, action, seconds, status, changed} to the file named by VMCAT_BENCH_TASK_TIMES.
requirements:
  - enabled in ANSIBLE_CALLBACKS_ENABLED
'''


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'task_times'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self._started = {}
        self._records = []

    def v2_runner_on_start(self, host, task):
        self._started[(host.get_name(), task._uuid)] = time.monotonic()

    def _done(self, result, status):
        key = (result._host.get_name(), result._task._uuid)
        start = self._started.pop(key, None)
        self._records.append({
            'host': key[0],
            'action': result._task.action,
            'seconds': None if start is None else round(time.monotonic() - start, 4),
            'status': status,
            'changed': bool(result._result.get('changed')),
        })

    def v2_runner_on_ok(self, result):
        self._done(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._done(result, 'failed')

    def v2_runner_on_unreachable(self, result):
        self._done(result, 'unreachable')

    def v2_runner_on_skipped(self, result):
        self._done(result, 'skipped')

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get('VMCAT_BENCH_TASK_TIMES')
        if path:
            with open(path, 'w') as f:
                json.dump(self._records, f)
