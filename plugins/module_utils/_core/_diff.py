# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one diff producer: before/after views of a resource and what differs.

Every changing module describes its resource as a plain dict (the same shape
as its options) before and after the change; ``Diff`` turns the pair into
Ansible's ``diff`` result and lists the changed keys.  Secrets are masked.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

MASK = '********'


def mask(value, secret_keys):
    """A deep copy of value with every key in ``secret_keys`` masked."""
    if isinstance(value, dict):
        return dict((k, MASK if (k in secret_keys and v is not None) else mask(v, secret_keys))
                    for k, v in value.items())
    if isinstance(value, list):
        return [mask(v, secret_keys) for v in value]
    return copy.deepcopy(value)


def changed_paths(before, after, prefix=''):
    """Dotted paths whose values differ between two nested dicts (sorted)."""
    if isinstance(before, dict) and isinstance(after, dict):
        paths = []
        for key in sorted(set(before) | set(after), key=str):
            path = '%s.%s' % (prefix, key) if prefix else str(key)
            paths.extend(changed_paths(before.get(key), after.get(key), path))
        return paths
    return [] if before == after else [prefix or '.']


class Diff:
    """Before/after of one resource.

    ``before`` is None when the resource did not exist, ``after`` is None
    when it is gone.  ``secret_keys`` are masked wherever they appear.
    """

    def __init__(self, before=None, after=None, secret_keys=()):
        self.before = before
        self.after = after
        self.secret_keys = frozenset(secret_keys)

    @property
    def changes(self):
        return changed_paths(self.before or {}, self.after or {}) if self.before != self.after else []

    @property
    def changed(self):
        return self.before != self.after

    def result(self):
        """The value for the module result's ``diff`` key."""
        return {
            'before': mask(self.before, self.secret_keys) if self.before is not None else {},
            'after': mask(self.after, self.secret_keys) if self.after is not None else {},
        }
