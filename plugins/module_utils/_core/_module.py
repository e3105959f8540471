# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module wrapper every vmcat.libvirt module uses (docs/architecture.md, step 1).

It adds the connection options, checks the Python libraries, runs the
module's function on an open connection (``_run``), maps collection errors
to ``fail_json`` and shapes the result: ``changed``, the resource under its
key, and ``diff`` when asked for.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._object_lock import object_lock
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._xml import HAS_LXML, LXML_IMPORT_ERROR
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _rehearsal_node
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._cycle import Context, Outcome
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._diff import Diff, mask
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._wait import wait_for
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._connection import (
    DEFAULT_URI,
    HAS_LIBVIRT,
    LIBVIRT_IMPORT_ERROR,
    LIBVIRT_PACKAGES,
    Connection,
)
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import (
    Conflict, ConnectionLost, StaleRead, VmcatError, WaitTimeout, default_hint, is_libvirt_error, libvirt_message)


# How often a task computes its change again when the object changed under it.
ATTEMPTS = 3
# How long a task waits for libvirtd to answer again after the connection broke.
RECONNECT_TIMEOUT = 60
RECONNECT_POLL = 0.5


def connection_argument_spec():
    """The options every module shares (documented by the vmcat.libvirt.connection fragment)."""
    return dict(
        uri=dict(type='str', default=DEFAULT_URI, aliases=['connection_uri']),
        username=dict(type='str'),
        password=dict(type='str', no_log=True),
    )


class LibvirtModule(AnsibleModule):
    """AnsibleModule with the connection options and the collection's run cycle."""

    def __init__(self, argument_spec, secret_keys=(), **kwargs):
        spec = connection_argument_spec()
        spec.update(argument_spec)
        super(LibvirtModule, self).__init__(argument_spec=spec, **kwargs)
        self.secret_keys = tuple(secret_keys) + ('password',)
        if not HAS_LIBVIRT:
            self.fail_json(msg=missing_required_lib(LIBVIRT_PACKAGES), exception=LIBVIRT_IMPORT_ERROR)
        if not HAS_LXML:
            self.fail_json(msg=missing_required_lib('lxml (pip) or python3-lxml'), exception=LXML_IMPORT_ERROR)

    def connection(self):
        p = self.params
        return Connection(p['uri'], username=p['username'], password=p['password'], keepalive=True)

    def _fail(self, exc):
        details = dict((k, v) for k, v in exc.details.items() if k not in self.secret_keys)
        self.fail_json(msg=exc.msg, **details)

    def _subject(self):
        """What this task works on, for messages that have no better name: "vmcat.libvirt.pool 'images'"."""
        p = self.params
        name = p.get('name') or p.get('vm') or p.get('pool')
        module = getattr(self, '_name', None) or ''  # _ansible_module_name: the task's action, e.g. vmcat.libvirt.pool
        if module.endswith('.py'):  # AnsibleModule's fallback when run outside ansible: no task name
            module = ''
        label = (module if '.' in module else 'vmcat.libvirt.' + module) if module else 'this task'
        return "%s '%s'" % (label, name) if isinstance(name, str) else label

    def _fail_unexpected(self, exc):
        """An error no translator caught: a libvirt error still names the task, the node and a fix;
        anything else is a bug in the collection and says so. Both keep the traceback."""
        if is_libvirt_error(exc):
            msg = 'libvirt error for %s on %s: %s; %s' % (
                self._subject(), self.params['uri'], libvirt_message(exc), default_hint(exc))
        else:
            msg = ('internal error in %s on %s: %s: %s; this is a bug in vmcat.libvirt, please report it with the '
                   'traceback (-vvv)' % (self._subject(), self.params['uri'], type(exc).__name__, exc))
        self.fail_json(msg=msg, exception=traceback.format_exc())

    def _run(self, fn, connect=True, lock=None, replay=True):
        """Call ``fn(ctx)`` inside one test-node session and connection; map errors to fail_json.

        ``lock`` is ``(kind, name)`` of the object the task changes: the run holds
        that object's lock on this machine (``_object_lock``).  ``StaleRead``
        (the object changed under the task) runs ``fn`` again on a fresh read,
        at most ``ATTEMPTS`` times.  A lost connection (libvirtd restarted) waits
        for the daemon, reconnects and runs ``fn`` once more when ``replay`` says
        that is safe (every converging module is); otherwise it fails and says
        the action was not repeated.  Returns the value ``fn`` returned.
        """
        try:
            if not connect:
                return fn(Context(None, self.params, self.check_mode, module=self))
            done = []  # actions made by attempts that did not finish
            reconnected = False
            for attempt in range(1, ATTEMPTS + 1):
                ctx = Context(None, self.params, self.check_mode, module=self)
                try:
                    value = self._attempt(fn, ctx, lock)
                except StaleRead as exc:
                    done += self._made(ctx)
                    if attempt == ATTEMPTS:
                        raise Conflict('%s; it changed again on each of %d tries: another task or tool keeps writing '
                                       'it, run this task again when that is done' % (exc.msg, ATTEMPTS))
                    continue
                except ConnectionLost as lost:
                    done += self._made(ctx)
                    if not replay:
                        raise ConnectionLost('%s; the action was not repeated because it may have run already: '
                                             'check its effect, then run the task again' % lost.msg)
                    if reconnected:
                        raise lost
                    reconnected = True
                    self._wait_for_daemon(lost)
                    continue
                return self._with_earlier_actions(value, done)
        except VmcatError as exc:
            self._fail(exc)
        except Exception as exc:  # anything else is a bug of ours: fail with its traceback, never a bare crash
            self._fail_unexpected(exc)

    def _attempt(self, fn, ctx, lock):
        with _rehearsal_node.session(self.params['uri']) as node:
            with self.connection() as conn:
                ctx.conn = conn
                node.restore(conn)
                with object_lock(conn.uri, lock[0], lock[1]) if lock else contextlib.nullcontext():
                    try:
                        value = fn(ctx)
                    except Exception as exc:  # a lost connection shows as many kinds of error: ask the connection
                        if not conn.lost(exc):
                            raise
                        raise conn.lost_error(exc, 'run %s' % self._subject())
                changed = value.changed if isinstance(value, Outcome) else bool(value.get('changed'))
                if changed and not self.check_mode:
                    node.persist(conn)
                return value

    def _made(self, ctx):
        """The actions an unfinished attempt really made (none in check mode)."""
        return [] if self.check_mode else list(ctx.actions)

    @staticmethod
    def _with_earlier_actions(value, done):
        """An attempt that changed something before it was cut off still makes the task changed."""
        if not done:
            return value
        if isinstance(value, Outcome):
            value.changed = True
            if isinstance(value.extra.get('actions'), list):
                value.extra['actions'] = done + [a for a in value.extra['actions'] if a not in done]
        else:
            value['changed'] = True
        return value

    def _wait_for_daemon(self, lost):
        """Wait (bounded) until the URI answers again after a lost connection."""
        def answers():
            try:
                with self.connection():
                    return True
            except VmcatError:
                return False
        try:
            wait_for(answers, RECONNECT_TIMEOUT, 'libvirtd on %s to answer again' % self.params['uri'],
                     delay=RECONNECT_POLL)
        except WaitTimeout:
            raise ConnectionLost('%s; it did not come back within %d s: start libvirtd (or virtqemud) on '
                                 'the node, then run the task again' % (lost.msg, RECONNECT_TIMEOUT))

    def _lock_of(self, key):
        """(kind, name) of the object a changing task works on: the module's key and the task's names."""
        p = self.params
        parts = [str(p[k]) for k in ('pool', 'vm', 'name') if isinstance(p.get(k), str)]
        return (key, '/'.join(parts)) if parts else None

    def run_change(self, key, fn):
        """Run ``fn(ctx) -> Outcome`` and exit with changed, ``key``: after, and diff."""
        outcome = self._run(fn, lock=self._lock_of(key))
        result = dict(changed=outcome.changed)
        result[key] = outcome.after if outcome.after is not None else {}
        result.update(outcome.extra)
        if self._diff:
            made = outcome.diff if outcome.diff is not None else Diff(outcome.before, outcome.after).result()
            result['diff'] = mask(made, self.secret_keys)
        self.exit_json(**result)

    def run_info(self, fn):
        """Run ``fn(ctx) -> dict`` (read-only) and exit with changed=False and that dict."""
        data = self._run(fn)
        self.exit_json(changed=False, **data)

    def run_action(self, fn, connect=True, replay=False):
        """Run ``fn(ctx) -> dict`` (with ``changed``) for modules that act rather than converge.

        Sending keys or running a command has no before/after; the dict is the
        result.  With ``connect=False`` no libvirt connection is opened and
        ``ctx.conn`` is None.  ``replay=True`` says running ``fn`` again after a
        lost connection is safe (the action checks its own effect first).
        """
        self.exit_json(**self._run(fn, connect=connect, replay=replay))
