# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's exceptions and the one place libvirt errors are translated."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib

try:
    import libvirt
except ImportError:  # pragma: no cover - reported by the connection layer
    libvirt = None

if libvirt is not None:
    LibvirtError = libvirt.libvirtError
else:  # pragma: no cover - without libvirt-python a module fails before its first libvirt call
    class LibvirtError(Exception):
        """Stands in for libvirt.libvirtError, which nothing raises without libvirt-python."""


# libvirt error codes that mean "the object you asked for does not exist".
_NOT_FOUND_NAMES = (
    'VIR_ERR_NO_DOMAIN',
    'VIR_ERR_NO_NETWORK',
    'VIR_ERR_NO_STORAGE_POOL',
    'VIR_ERR_NO_STORAGE_VOL',
    'VIR_ERR_NO_DOMAIN_SNAPSHOT',
    'VIR_ERR_NO_NODE_DEVICE',
    'VIR_ERR_NO_SECRET',
    'VIR_ERR_NO_INTERFACE',
    'VIR_ERR_NO_NWFILTER',
    'VIR_ERR_NO_NETWORK_PORT',
    'VIR_ERR_NO_DOMAIN_CHECKPOINT',
)


def _codes(names):
    if libvirt is None:
        return frozenset()
    return frozenset(getattr(libvirt, n) for n in names if hasattr(libvirt, n))


NOT_FOUND_CODES = _codes(_NOT_FOUND_NAMES)
# "this driver (its storage backend, this host) cannot do that": the call, an argument or a configuration.
UNSUPPORTED_CODES = _codes(('VIR_ERR_NO_SUPPORT', 'VIR_ERR_OPERATION_UNSUPPORTED', 'VIR_ERR_ARGUMENT_UNSUPPORTED',
                            'VIR_ERR_CONFIG_UNSUPPORTED'))
# "this driver has no such call at all" (and not: it refuses this argument, configuration or host).
UNIMPLEMENTED_CODES = _codes(('VIR_ERR_NO_SUPPORT',))
# "this driver does not take that flag": older drivers (and the test driver) answer VIR_ERR_INVALID_ARG too.
FLAG_REFUSED_CODES = _codes(('VIR_ERR_INVALID_ARG', 'VIR_ERR_NO_SUPPORT', 'VIR_ERR_ARGUMENT_UNSUPPORTED'))
AGENT_CODES = _codes(('VIR_ERR_AGENT_UNRESPONSIVE', 'VIR_ERR_AGENT_COMMAND_TIMEOUT', 'VIR_ERR_AGENT_COMMAND_FAILED'))


class VmcatError(Exception):
    """An error a user can act on: what failed, where, and how to fix it.

    ``details`` are extra keys for the module result (never secrets).
    """

    def __init__(self, msg, **details):
        super(VmcatError, self).__init__(msg)
        self.msg = msg
        self.details = details

    def __str__(self):
        return self.msg


class NotFound(VmcatError):
    """The named object does not exist."""


class InvalidInput(VmcatError):
    """The task's options are wrong; raised before anything changes."""


class Refused(VmcatError):
    """The change would destroy data or break a user of the object."""


class WaitTimeout(VmcatError):
    """A waiter ran out of time."""


class ConnectionLost(VmcatError):
    """The connection to libvirtd broke in the middle of a task (the daemon restarted or the node went away)."""


class StaleRead(VmcatError):
    """The object changed between the task's read and its write: read, compute and write again."""


class MadeMeanwhile(StaleRead):
    """Creating an object failed because another task or tool made one of that name since this task looked."""


class Conflict(VmcatError):
    """Another task or tool kept changing the object (or made it first) while this task worked on it."""


def libvirt_message(exc):
    """The libvirt error's own message, without its traceback noise."""
    get = getattr(exc, 'get_error_message', None)
    msg = get() if get else None
    return msg or str(exc)


def is_libvirt_error(exc):
    """True for a libvirt.libvirtError (or a fake with an error code, in tests)."""
    if libvirt is not None and isinstance(exc, libvirt.libvirtError):
        return True
    return callable(getattr(exc, 'get_error_code', None))


# What libvirt says when the socket to the daemon is gone; the connection's own isAlive() is asked first
# where it is at hand, these catch the errors raised where it is not.
_LOST_MESSAGES = ('broken pipe', 'client socket is closed', 'end of file while reading data',
                  'connection reset by peer', 'keepalive timeout', 'cannot recv data', 'cannot write data',
                  'no connection driver available', 'invalid connection pointer')
_LOST_CODES = ('VIR_ERR_SYSTEM_ERROR', 'VIR_ERR_INTERNAL_ERROR', 'VIR_ERR_RPC', 'VIR_ERR_INVALID_CONN',
               'VIR_ERR_NO_CONNECT')


def answers_dead(alive):
    """True when ``alive()`` (virConnectIsAlive) says the connection is gone, or libvirt raises when asked."""
    try:
        return not alive()
    except Exception as asking:  # broad: asked while another error goes up; only libvirt's answer says "dead"
        return is_libvirt_error(asking)


def is_connection_lost(exc, alive=None):
    """True when a libvirt error means the connection to the daemon broke, not that the call failed.

    ``alive`` is a callable asking the connection (virConnectIsAlive); when it
    says the connection is dead, any libvirt error counts as a lost connection.
    """
    if isinstance(exc, ConnectionLost):
        return True
    if not is_libvirt_error(exc):
        return False
    code = getattr(exc, 'get_error_code', lambda: None)()
    if code not in _codes(_LOST_CODES):
        return False
    if alive is not None and answers_dead(alive):
        return True
    text = libvirt_message(exc).lower()
    return any(m in text for m in _LOST_MESSAGES)


_EXISTS_CODES = ('VIR_ERR_DOM_EXIST', 'VIR_ERR_NETWORK_EXIST', 'VIR_ERR_STORAGE_VOL_EXIST', 'VIR_ERR_NETWORK_PORT_EXIST')


def is_already_exists(exc):
    """True when libvirt refused to make an object because one of that name exists (made since the task looked)."""
    code = getattr(exc, 'get_error_code', lambda: None)()
    if code in _codes(_EXISTS_CODES):
        return True
    text = libvirt_message(exc).lower()
    return code in _codes(('VIR_ERR_OPERATION_FAILED',)) and ('already exists' in text or 'exists already' in text)


def lost_message(uri, doing):
    """The one wording for a connection that broke while ``doing`` ("read VM 'web1'")."""
    return 'lost the connection to libvirtd on %s (did it restart?) while trying to %s' % (uri, doing)


def lost_through(virconnect, exc, doing):
    """The ConnectionLost for a libvirt error raised by a call over ``virconnect``, or None when it is another error.

    For wrappers that hold a domain rather than our Connection (guest agent, QMP).
    """
    if virconnect is None or not (answers_dead(lambda: virconnect.isAlive() != 0) or is_connection_lost(exc)):
        return None
    try:
        uri = virconnect.getURI()
    except LibvirtError:  # a dead connection may not say its URI any more
        uri = 'the node'
    return ConnectionLost('%s: %s' % (lost_message(uri, doing), libvirt_message(exc)),
                          libvirt_code=getattr(exc, 'get_error_code', lambda: None)())


def _error_code(exc):
    return getattr(exc, 'get_error_code', lambda: None)()


def is_unsupported(exc):
    """True when a libvirt error says the driver (its backend, the host) cannot do this: answer without it."""
    return _error_code(exc) in UNSUPPORTED_CODES


def is_unimplemented(exc):
    """True when a libvirt error says the driver has no such call at all (VIR_ERR_NO_SUPPORT), nothing narrower."""
    return _error_code(exc) in UNIMPLEMENTED_CODES


def is_flag_refused(exc):
    """True when a call with a flag failed because the driver does not take the flag: call it without."""
    return _error_code(exc) in FLAG_REFUSED_CODES


def is_not_found(exc):
    """True when a libvirt error only says the object does not exist."""
    code = getattr(exc, 'get_error_code', lambda: None)()
    return code in NOT_FOUND_CODES


# What to do about a libvirt error when the caller has no better advice, by error code name.
# Checked in order; the first name this libvirt-python knows and that matches wins.
_HINTS_BY_CODE = (
    (('VIR_ERR_AUTH_FAILED', 'VIR_ERR_AUTH_CANCELLED', 'VIR_ERR_AUTH_UNAVAILABLE', 'VIR_ERR_ACCESS_DENIED'),
     "check the username/password or SSH key and libvirt's access rules (polkit, ACL) for this user"),
    (('VIR_ERR_NO_CONNECT', 'VIR_ERR_RPC', 'VIR_ERR_SYSTEM_ERROR_CONNECT'),
     'check that libvirtd (or virtqemud) runs on the node and that the URI reaches it'),
    (('VIR_ERR_OPERATION_INVALID', 'VIR_ERR_OPERATION_FAILED'),
     'the object is not in a state that allows this: check whether it is running or active, then retry'),
    (('VIR_ERR_NO_SUPPORT', 'VIR_ERR_OPERATION_UNSUPPORTED', 'VIR_ERR_ARGUMENT_UNSUPPORTED'),
     "this node's libvirt driver does not support it; use a newer libvirt or leave the option unset"),
    (('VIR_ERR_XML_ERROR', 'VIR_ERR_XML_DETAIL', 'VIR_ERR_CONFIG_UNSUPPORTED', 'VIR_ERR_INVALID_ARG'),
     "check the task's options (or raw XML) against libvirt's XML format for this object"),
    (('VIR_ERR_OPERATION_TIMEOUT', 'VIR_ERR_RESOURCE_BUSY'),
     'the node or object is busy; retry, or raise the timeout'),
    (('VIR_ERR_SYSTEM_ERROR', 'VIR_ERR_STORAGE_PROBE_FAILED'),
     'check the path, its permissions and the free space on the node'),
    (('VIR_ERR_OPERATION_DENIED', 'VIR_ERR_DOMAIN_LAST'),
     'libvirt refused it; see the message for the object that blocks it'),
)
_DEFAULT_HINT = "see libvirtd's log on the node (/var/log/libvirt/ or journalctl -u libvirtd) for the cause"


def default_hint(exc):
    """Advice for a libvirt error, from its code, for callers that have none of their own."""
    code = getattr(exc, 'get_error_code', lambda: None)()
    if libvirt is not None and code is not None:
        for names, hint in _HINTS_BY_CODE:
            if code in _codes(names):
                return hint
    return _DEFAULT_HINT


@contextlib.contextmanager
def translated(action, what, uri, hint=None, alive=None):
    """Turn any libvirt error raised inside the block into a VmcatError.

    ``action`` is a verb phrase ("define", "start"), ``what`` names the object
    ("pool 'images'"), ``hint`` tells the user what to do about it; without one,
    the advice comes from the error's code (``default_hint``).  An error that
    means the connection broke becomes ``ConnectionLost`` whatever the hint
    (``alive`` asks the connection whether it still stands).
    """
    if libvirt is None:
        yield
        return
    try:
        yield
    except libvirt.libvirtError as exc:
        if is_connection_lost(exc, alive):
            raise ConnectionLost('%s: %s' % (lost_message(uri, '%s %s' % (action, what)), libvirt_message(exc)),
                                 libvirt_code=exc.get_error_code())
        msg = "could not %s %s on %s: %s" % (action, what, uri, libvirt_message(exc))
        if is_already_exists(exc):  # the task looked and found none: another task or tool made it since
            raise MadeMeanwhile(msg + '; another task or tool made it at the same time',
                                libvirt_code=exc.get_error_code())
        not_found = is_not_found(exc)
        if hint or not not_found:
            msg += "; %s" % (hint or default_hint(exc))
        cls = NotFound if not_found else VmcatError
        raise cls(msg, libvirt_code=exc.get_error_code())


def lookup_or_none(fn, *args):
    """Call a libvirt lookup; a "no such object" error becomes None.

    An error without a code is asked once more: libvirt-python reads the
    error after the call returns, and a libvirt object that Python's garbage
    collector frees in between clears it ("virDomainLookupByName() failed").
    """
    for attempt in (1, 2):
        try:
            return fn(*args)
        except LibvirtError as exc:
            if is_not_found(exc):
                return None
            if attempt == 1 and exc.get_error_code() is None:
                continue
            raise
