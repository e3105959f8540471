# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
name: changes
type: aggregate
short_description: Report what vmcat.libvirt modules changed, per node
version_added: 0.1.0
description:
  - Records every change that a module of this collection makes (or, in check mode, would make) and prints one
    plain-text table per libvirt node at the end of the playbook, after the play recap.
  - Each row names the resource (kind and name), what happened to it (created, updated, removed, changed, or a
    module's own action such as C(input)), the task, the host that ran it and the time (UTC).
  - Updates list the changed keys with their old and new values when the task ran with C(--diff) or with the
    C(diff) keyword set on the task. Without a diff a row lists the module's actions, and a new resource shows
    as V(changed) because the callback cannot tell it from an update.
  - Check-mode results are recorded as well, flagged C(check_mode) and shown as "would create", "would update",
    and so on.
  - With O(log_path), every record is also appended to that file as one JSON object per line, as it happens, for
    auditing.
  - 'Secrets stay out: for a task with C(no_log) only kind, name and action are recorded; values under keys named
    like password, passphrase, secret, token or key are masked; users and passwords are removed from node URIs;
    option values are never read from task arguments.'
  - The output is plain text without colours or terminal-width assumptions, so it reads the same in a terminal,
    a log file or AWX.
author:
  - vmcat.libvirt developers (@vmcat)
requirements:
  - Enabled in C(callbacks_enabled) (C(ANSIBLE_CALLBACKS_ENABLED=vmcat.libvirt.changes)).
options:
  log_path:
    description:
      - File to append the records to, one JSON object per line. Its directory must exist.
      - Unset writes no file.
    type: path
    ini:
      - section: callback_vmcat_changes
        key: log_path
    env:
      - name: VMCAT_CHANGES_LOG_PATH
  max_details:
    description: How many changed keys or actions a table row shows before it says C((+N more)).
    type: int
    default: 3
    ini:
      - section: callback_vmcat_changes
        key: max_details
    env:
      - name: VMCAT_CHANGES_MAX_DETAILS
  show_empty:
    description: Print a line saying that nothing changed when no vmcat.libvirt module changed anything.
    type: bool
    default: true
    ini:
      - section: callback_vmcat_changes
        key: show_empty
    env:
      - name: VMCAT_CHANGES_SHOW_EMPTY
notes:
  - Only results of modules of this collection (C(vmcat.libvirt.*)) with C(changed=true) are recorded; failed and
    skipped results are not.
  - Each item of a loop is its own record.
'''

from ansible.plugins.callback import CallbackBase

from ansible_collections.vmcat.libvirt.plugins.plugin_utils import _change_report as report


def _attr(result, name):
    """A TaskResult attribute by its ansible-core 2.19 name, or the older private one."""
    value = getattr(result, name, None)
    return value if value is not None else getattr(result, '_' + name, None)


class CallbackModule(CallbackBase):
    """Collects changed results of vmcat.libvirt modules and prints them per node at the end."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'vmcat.libvirt.changes'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self.records = []
        self._log_failed = False

    # -- recording ------------------------------------------------------------
    def _record(self, result):
        task = _attr(result, 'task')
        data = _attr(result, 'result')
        host = _attr(result, 'host')
        if task is None or not isinstance(data, dict):
            return
        action = getattr(task, 'resolved_action', None) or task.action
        if report.module_name(action) is None:
            return
        args = task.args if isinstance(task.args, dict) else {}
        check_mode = args.get('_ansible_check_mode')
        if check_mode is None:
            check_mode = bool(task.check_mode)
        record = report.make_record(action, data, args, task.get_name(), host.get_name() if host else None,
                                    check_mode)
        if record is None:
            return
        self.records.append(record)
        self._append_log(record)

    def _append_log(self, record):
        path = self.get_option('log_path')
        if not path or self._log_failed:
            return
        try:
            with open(path, 'a') as log:
                log.write(report.json_line(record) + '\n')
        except (IOError, OSError) as exc:
            self._log_failed = True
            self._display.warning('vmcat.libvirt.changes could not write to %s: %s; no further records are '
                                  'written there' % (path, exc))

    def v2_runner_on_ok(self, result):
        self._record(result)

    def v2_runner_item_on_ok(self, result):
        self._record(result)

    # -- the report -----------------------------------------------------------
    def v2_playbook_on_stats(self, stats):
        if not self.records and not self.get_option('show_empty'):
            return
        self._display.display('')
        for line in report.render(self.records, self.get_option('max_details')):
            self._display.display(line)
