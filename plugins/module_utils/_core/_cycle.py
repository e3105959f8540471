# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The change cycle's two types (docs/architecture.md, step 2): what a module's logic works with and returns.

Here, not in the module wrapper, so that logic files do not import AnsibleModule.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class Outcome:
    """What a changing function returns.

    ``before``/``after`` are plain dicts of the resource (None when it does
    not exist), ``changed`` whether anything was (or, in check mode, would be)
    changed, ``extra`` further result keys (``restart_required``, ...).
    """

    def __init__(self, changed, before=None, after=None, **extra):
        self.changed = bool(changed)
        self.before = before
        self.after = after
        self.extra = extra
        self.diff = None  # a ready-made diff, for a resource shown as text (a file's content), not as a dict


class Context:
    """What a module's logic works with: connection, parameters, check mode."""

    def __init__(self, conn, params, check_mode, module=None):
        self.conn = conn
        self.params = params
        self.check_mode = check_mode
        self.module = module
        self.actions = []

    def act(self, description, fn, *args, **kwargs):
        """The single check-mode guard: record the action, and run ``fn`` unless in check mode.

        Returns fn's result, or None in check mode.
        """
        self.actions.append(description)
        if self.check_mode:
            return None
        return fn(*args, **kwargs)

    def record(self, description):
        """Note an action made, or in check mode predicted, where no single call can go through ``act``.

        A stream exchange (a channel write), or a step check mode predicts
        without having the object to call (the start of a VM it would define).
        """
        self.actions.append(description)

    def withdraw(self, description):
        """Take back an action that turned out to change nothing (libvirt stored what it already had)."""
        self.actions.remove(description)

    def after(self, changed, read_back, predict):
        """The resource after the task: ``read_back()`` from libvirt after a real change, else ``predict()``.

        A resource that moves on its own (a VM's run state) passes whether it
        exists as ``changed``, so it is read back on every real run.
        """
        return read_back() if changed and not self.check_mode else predict()

    def warn(self, msg):
        if self.module is not None:
            self.module.warn(msg)

    def sub(self, params, label):
        """A Context for another resource's logic (a volume for a VM disk, say).

        Same connection, check mode and module; its own parameters; every
        action also goes through this context's guard, labelled with ``label``.
        """
        return _SubContext(self, params, label)


class _SubContext(Context):
    def __init__(self, parent, params, label):
        super(_SubContext, self).__init__(parent.conn, params, parent.check_mode, module=parent.module)
        self._parent = parent
        self._label = label

    def act(self, description, fn, *args, **kwargs):
        self.actions.append(description)
        return self._parent.act('%s: %s' % (self._label, description), fn, *args, **kwargs)

    def record(self, description):
        self.actions.append(description)
        self._parent.record('%s: %s' % (self._label, description))

    def withdraw(self, description):
        self.actions.remove(description)
        self._parent.withdraw('%s: %s' % (self._label, description))

    def warn(self, msg):
        self._parent.warn(msg)
