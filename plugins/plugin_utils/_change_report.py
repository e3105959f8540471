# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The change report behind the vmcat.libvirt.changes callback: records and the table.

Pure functions over plain data, so they are tested without Ansible's
callback machinery:

- ``make_record`` turns one changed task result of a vmcat.libvirt module
  into a flat record (time, host, task, module, node, kind, name, action,
  check_mode, actions, changes);
- ``render`` turns the records of a playbook run into plain-text lines, one
  block per node.

Secrets: a result hidden by ``no_log`` gives a record with only the
resource's kind, name and action; values under keys that look secret
(password, passphrase, secret, token, key) are masked; URIs lose their
user and password.  Task arguments are read only for the few keys that
name the resource (never option values such as passwords).

Private to vmcat.libvirt: may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import re

COLLECTION_PREFIX = 'vmcat.libvirt.'
MASK = '********'
SECRET_KEY = re.compile(r'pass(word|phrase|wd)?|secret|token|key', re.IGNORECASE)
DEFAULT_URI = 'qemu:///system'

# Modules whose resource or action is not their own name.
MODULE_KINDS = {
    'vm_input': 'vm',
    'vm_screenshot': 'screenshot',
    'qmp': 'vm',
}
FIXED_ACTIONS = {
    'vm_input': 'input',
    'qmp': 'qmp',
}
# Resources named inside a parent: volume "images/web1.qcow2", snapshot "web1/before-upgrade".
PARENT_KEYS = {
    'volume': 'pool',
    'snapshot': 'vm',
}
# Task arguments read to name the resource and its node; nothing else is ever taken from them.
NAMING_KEYS = ('uri', 'connection_uri', 'name', 'pool', 'vm', 'dest', 'socket', 'state', 'command')

CHECK_MODE_LABELS = {
    'created': 'would create',
    'updated': 'would update',
    'removed': 'would remove',
    'changed': 'would change',
    'input': 'would send input',
    'qmp': 'would run qmp',
}


def module_name(action):
    """'pool' for 'vmcat.libvirt.pool'; None for any other collection's module."""
    if not action or not action.startswith(COLLECTION_PREFIX):
        return None
    return action[len(COLLECTION_PREFIX):]


def strip_credentials(uri):
    """A libvirt URI without user and password, with secret-looking query values masked."""
    if not uri:
        return uri
    text = str(uri)
    match = re.match(r'^([A-Za-z][A-Za-z0-9+.-]*://)([^/?#]*)(.*)$', text)
    if not match:
        return text
    scheme, authority, rest = match.groups()
    if '@' in authority:
        authority = authority.rsplit('@', 1)[1]
    if '?' in rest:
        path, query = rest.split('?', 1)
        fragment = ''
        if '#' in query:
            query, fragment = query.split('#', 1)
            fragment = '#' + fragment
        params = []
        for item in query.split('&'):
            key = item.split('=', 1)[0]
            params.append('%s=%s' % (key, MASK) if '=' in item and SECRET_KEY.search(key) else item)
        rest = '%s?%s%s' % (path, '&'.join(params), fragment)
    return scheme + authority + rest


def is_secret_path(path):
    return any(SECRET_KEY.search(part) for part in path.split('.') if not part.isdigit())


def flatten(value, prefix=''):
    """Leaves of nested dicts and lists as {dotted.path: value}; empty containers inside are leaves."""
    if not prefix and value in (None, {}, []):
        return {}
    if isinstance(value, dict) and value:
        leaves = {}
        for key in value:
            leaves.update(flatten(value[key], '%s.%s' % (prefix, key) if prefix else str(key)))
        return leaves
    if isinstance(value, list) and value:
        leaves = {}
        for index, item in enumerate(value):
            leaves.update(flatten(item, '%s.%d' % (prefix, index) if prefix else str(index)))
        return leaves
    return {prefix or '.': value}


def changed_keys(before, after):
    """{dotted.path: {'before': b, 'after': a}} for the leaves that differ; secret values masked."""
    old, new = flatten(before or {}), flatten(after or {})
    changes = {}
    for path in sorted(set(old) | set(new)):
        b, a = old.get(path), new.get(path)
        if b == a:
            continue
        if is_secret_path(path):
            b = MASK if b is not None else None
            a = MASK if a is not None else None
        changes[path] = {'before': b, 'after': a}
    return changes


def _diffs(result):
    diff = result.get('diff')
    if isinstance(diff, dict):
        return [diff]
    if isinstance(diff, list):
        return [d for d in diff if isinstance(d, dict)]
    return []


def _empty(value):
    return value is None or value == {} or value == '' or value == []


def _action_from_diff(diffs):
    before_empty = all(_empty(d.get('before')) for d in diffs)
    after_empty = all(_empty(d.get('after')) for d in diffs)
    if before_empty and not after_empty:
        return 'created'
    if after_empty and not before_empty:
        return 'removed'
    return 'updated'


def _resource_name(short, kind, args, result):
    if short == 'vm_screenshot':
        return args.get('dest')
    if short == 'qmp' and args.get('socket'):
        return args.get('socket')
    name = args.get('name')
    if name is None and isinstance(result.get(kind), dict):
        name = result[kind].get('name')
    parent = PARENT_KEYS.get(kind)
    if parent and args.get(parent) and name is not None:
        return '%s/%s' % (args[parent], name)
    return name


def naming_args(result, task_args):
    """The naming keys of the module's arguments: from the result's invocation, else from the task."""
    invocation = result.get('invocation')
    source = invocation.get('module_args') if isinstance(invocation, dict) else None
    if not isinstance(source, dict):
        source = task_args if isinstance(task_args, dict) else {}
    return dict((k, source[k]) for k in NAMING_KEYS if k in source and isinstance(source[k], (str, int, float)))


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def make_record(action, result, task_args, task_name, host, check_mode, when=None):
    """The record of one changed result of a vmcat.libvirt module, or None when there is nothing to record."""
    short = module_name(action)
    if short is None or not isinstance(result, dict) or not result.get('changed'):
        return None
    if result.get('failed') or result.get('skipped') or 'results' in result:
        return None
    args = naming_args(result, task_args)
    kind = MODULE_KINDS.get(short, short[:-len('_info')] if short.endswith('_info') else short)
    if short == 'qmp' and args.get('socket'):
        kind = 'qemu'
    censored = bool(result.get('_ansible_no_log')) or 'censored' in result
    uri = args.get('uri') or args.get('connection_uri') or DEFAULT_URI
    when = when or utc_now()
    record = {
        'time': when.strftime('%Y-%m-%dT%H:%M:%SZ'),
        'host': host,
        'task': task_name,
        'module': action,
        'node': 'local' if kind == 'qemu' else strip_credentials(uri),
        'kind': kind,
        'name': _resource_name(short, kind, args, result),
        'check_mode': bool(check_mode),
    }
    diffs = [] if censored else _diffs(result)
    if short in FIXED_ACTIONS:
        record['action'] = FIXED_ACTIONS[short]
    elif diffs:
        record['action'] = _action_from_diff(diffs)
    elif args.get('state') == 'absent':
        record['action'] = 'removed'
    else:
        record['action'] = 'changed'
    if censored:
        record['no_log'] = True
        return record
    actions = result.get('actions')
    record['actions'] = [str(a) for a in actions] if isinstance(actions, list) else []
    changes = {}
    if record['action'] == 'updated':  # a created or removed resource is named, not listed key by key
        for diff in diffs:
            if isinstance(diff.get('before') or {}, dict) and isinstance(diff.get('after') or {}, dict):
                changes.update(changed_keys(diff.get('before'), diff.get('after')))
    record['changes'] = changes
    return record


# -- display ------------------------------------------------------------------

def action_label(record):
    if record.get('check_mode'):
        return CHECK_MODE_LABELS.get(record['action'], 'would %s' % record['action'])
    return record['action']


def _short(value, width=30):
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= width else text[:width - 3] + '...'


def details(record, max_items=3):
    """One short line: the changed keys of an update, else the module's actions."""
    if record.get('no_log'):
        return '(no_log: details hidden)'
    changes = record.get('changes') or {}
    if changes:
        items = ['%s: %s -> %s' % (path, _short(c['before']), _short(c['after'])) for path, c in changes.items()]
        separator = '; '
    else:
        items = list(record.get('actions') or [])
        separator = ', '
    if not items:
        return ''
    shown = items[:max_items] if max_items > 0 else []
    more = len(items) - len(shown)
    return separator.join(shown) + (' (+%d more)' % more if more else '')


COLUMNS = ('time', 'host', 'kind', 'name', 'action', 'task', 'details')


def render(records, max_items=3):
    """The plain-text table of a run's records, grouped by node in order of first change."""
    if not records:
        return ['vmcat.libvirt changes: none']
    checks = sum(1 for r in records if r.get('check_mode'))
    nodes = []
    for record in records:
        if record['node'] not in nodes:
            nodes.append(record['node'])
    head = 'vmcat.libvirt changes: %d on %d node%s' % (len(records), len(nodes), '' if len(nodes) == 1 else 's')
    if checks:
        head += ' (%d in check mode, not applied)' % checks
    lines = [head]
    for node in nodes:
        rows = [dict(time=r['time'][11:20], host=r.get('host') or '', kind=r['kind'] or '',
                     name=_short(r.get('name') or '-', 40), action=action_label(r),
                     task=_short(r.get('task') or '', 40), details=details(r, max_items))
                for r in records if r['node'] == node]
        widths = dict((c, max([len(c)] + [len(str(row[c])) for row in rows])) for c in COLUMNS)
        lines.append('')
        lines.append('node %s' % node)
        lines.append('  ' + '  '.join(c.upper().ljust(widths[c]) for c in COLUMNS).rstrip())
        for row in rows:
            lines.append('  ' + '  '.join(str(row[c]).ljust(widths[c]) for c in COLUMNS).rstrip())
    return lines


def json_line(record):
    return json.dumps(record, sort_keys=True, default=str)
