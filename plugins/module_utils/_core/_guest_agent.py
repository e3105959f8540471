# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that talks to a VM's QEMU guest agent (qemu-ga) through libvirt.

Every agent command goes through ``agent_command``: it sends the command
with ``libvirt_qemu.qemuAgentCommand`` and a timeout, returns the agent's
``return`` value, and turns every failure into a collection error that names
the VM, the URI and what to change.  How libvirt 9 (and later) reports the
failures, and what they become here:

=============================================================  =======================
libvirt error                                                   exception (``reason``)
=============================================================  =======================
VIR_ERR_OPERATION_INVALID "domain is not running"               VmNotRunning (not_running / paused)
VIR_ERR_ARGUMENT_UNSUPPORTED "QEMU guest agent is not configured"  AgentNotConfigured (no_channel)
VIR_ERR_AGENT_UNRESPONSIVE "QEMU guest agent is not connected"  AgentNotConnected (not_connected)
VIR_ERR_AGENT_UNRESPONSIVE "Guest agent not available for now"  AgentTimeout (timeout)
VIR_ERR_AGENT_COMMAND_TIMEOUT (libvirt 10+)                     AgentTimeout (timeout)
VIR_ERR_AGENT_UNSYNCED                                          AgentTimeout (unsynced)
"... Command X has been disabled" (class CommandDisabled)       AgentCommandDisabled (disabled)
"The command X has not been found" (class CommandNotFound)      AgentCommandNotFound (not_found)
any other agent error reply (VIR_ERR_INTERNAL_ERROR,            AgentCommandFailed (failed)
VIR_ERR_AGENT_COMMAND_FAILED in libvirt 10+)
=============================================================  =======================

``AgentUnavailable`` is the parent of the first group (the agent cannot be
asked now), ``AgentCommandError`` of the second (the agent answered "no").
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import (
    LibvirtError, VmcatError, libvirt_message, lost_through)

try:
    import libvirt_qemu
except ImportError:  # pragma: no cover - part of libvirt-python
    libvirt_qemu = None

AGENT_CHANNEL = 'org.qemu.guest_agent.0'
SHUTDOWN_MODES = ('powerdown', 'reboot', 'halt')

# Codes by name, with the numbers of libvirt 10's additions for older bindings.
_OPERATION_INVALID = 55
_ARGUMENT_UNSUPPORTED = 74
_AGENT_UNRESPONSIVE = 86
_AGENT_UNSYNCED = 97
_AGENT_COMMAND_TIMEOUT = 112
_AGENT_COMMAND_FAILED = 113
_VIR_DOMAIN_PAUSED = 3
_VIR_DOMAIN_PMSUSPENDED = 7
_SHUTDOWN_GUEST_AGENT = 2  # VIR_DOMAIN_SHUTDOWN_GUEST_AGENT
_REBOOT_GUEST_AGENT = 2  # VIR_DOMAIN_REBOOT_GUEST_AGENT
_AGENT_REPLY = re.compile(r"unable to execute QEMU agent command '[^']*':\s*(.*)$", re.DOTALL)

_NO_AGENT_HINT = ('is qemu-guest-agent installed and running, and does the VM have the %s channel?' % AGENT_CHANNEL)
_ENABLE_HINT = ('enable it in the guest: remove it from block-rpcs (or add it to allow-rpcs) in '
                '/etc/qemu/qemu-ga.conf, or from --block-rpcs/--allow-rpcs (BLOCK_RPCS/FILTER_RPC_ARGS in '
                '/etc/sysconfig/qemu-ga on RHEL), then restart qemu-guest-agent')


class AgentError(VmcatError):
    """A guest-agent command could not be run; ``details`` has vm, command, reason."""


class AgentUnavailable(AgentError):
    """The agent cannot be asked now (VM stopped, no channel, not connected, no answer)."""


class VmNotRunning(AgentUnavailable):
    pass


class AgentNotConfigured(AgentUnavailable):
    pass


class AgentNotConnected(AgentUnavailable):
    pass


class AgentTimeout(AgentUnavailable):
    pass


class AgentCommandError(AgentError):
    """The agent answered with an error."""


class AgentCommandDisabled(AgentCommandError):
    pass


class AgentCommandNotFound(AgentCommandError):
    pass


class AgentCommandFailed(AgentCommandError):
    pass


# -- naming things in messages ------------------------------------------------------
def _name(dom):
    try:
        return dom.name()
    except Exception:  # best-effort read for a message: never hide the error being described
        return '?'


def _uri(dom):
    try:
        return dom.connect().getURI()
    except Exception:  # best-effort read for a message: never hide the error being described
        return 'the node'


def _where(dom):
    return "VM '%s' on %s" % (_name(dom), _uri(dom))


def _details(dom, command, reason, code=None, **more):
    details = dict(vm=_name(dom), command=command, reason=reason)
    if code is not None:
        details['libvirt_code'] = code
    details.update(more)
    return details


def _state(dom):
    try:
        return dom.state()[0]
    except Exception:  # best-effort read for error mapping: an unknown state maps to the generic error
        return None


# -- error mapping ---------------------------------------------------------------------
def _code(exc):
    get = getattr(exc, 'get_error_code', None)
    return get() if get else None


def agent_reply_error(dom, command, error, code=None):
    """The exception for an agent ``error`` reply: {'class': ..., 'desc': ...} or libvirt's text of it."""
    if isinstance(error, dict):
        klass, desc = error.get('class') or '', error.get('desc') or ''
    else:
        klass, desc = '', str(error)
    text = desc or klass or 'unknown error'
    if klass == 'CommandDisabled' or 'has been disabled' in desc:
        return AgentCommandDisabled(
            "command %s is disabled by the guest's agent configuration (qemu-ga --block-rpcs or allow-rpcs); %s "
            "(%s: %s)" % (command, _ENABLE_HINT, _where(dom), text),
            **_details(dom, command, 'disabled', code))
    if klass == 'CommandNotFound' or re.search(r'command \S+ has not been found', desc, re.IGNORECASE):
        return AgentCommandNotFound(
            "the guest agent of %s does not know command %s (%s); it is older than the command or not "
            "qemu-guest-agent: upgrade qemu-guest-agent in the guest" % (_where(dom), command, text),
            **_details(dom, command, 'not_found', code))
    return AgentCommandFailed(
        "guest agent command %s failed in %s: %s" % (command, _where(dom), text),
        **_details(dom, command, 'failed', code, agent_error=text))


def agent_error(dom, command, exc, timeout=None):
    """The collection exception for a libvirt error raised while asking the agent."""
    code = _code(exc)
    msg = libvirt_message(exc)
    where = _where(dom)
    if code == _OPERATION_INVALID and 'not running' in msg:
        if _state(dom) in (_VIR_DOMAIN_PAUSED, _VIR_DOMAIN_PMSUSPENDED):
            return VmNotRunning('%s is paused, so its guest agent cannot answer %s; resume it first (state: running)'
                                % (where, command), **_details(dom, command, 'paused', code))
        return VmNotRunning('%s is not running, so its guest agent cannot answer %s; start it first (state: running)'
                            % (where, command), **_details(dom, command, 'not_running', code))
    if code == _ARGUMENT_UNSUPPORTED and 'not configured' in msg:
        return AgentNotConfigured(
            "%s has no guest agent channel, so %s cannot be sent; give it a <channel type='unix'> with "
            "<target type='virtio' name='%s'/> (vm option guest_agent: true), restart it, and run "
            "qemu-guest-agent in the guest" % (where, command, AGENT_CHANNEL),
            **_details(dom, command, 'no_channel', code))
    if code == _AGENT_UNRESPONSIVE and 'not connected' in msg:
        return AgentNotConnected('guest agent of %s is not connected (%s); libvirt: %s'
                                 % (where, _NO_AGENT_HINT, msg), **_details(dom, command, 'not_connected', code))
    if code in (_AGENT_UNRESPONSIVE, _AGENT_COMMAND_TIMEOUT, _AGENT_UNSYNCED):
        waited = ' within %ss' % timeout if timeout is not None and timeout > 0 else ''
        return AgentTimeout(
            'guest agent of %s did not answer %s%s; it may be starting, busy or hung (libvirt: %s); try again '
            'later or with a longer timeout, and check qemu-guest-agent in the guest' % (where, command, waited, msg),
            **_details(dom, command, 'unsynced' if code == _AGENT_UNSYNCED else 'timeout', code))
    reply = _AGENT_REPLY.search(msg)
    if reply or code == _AGENT_COMMAND_FAILED:
        return agent_reply_error(dom, command, reply.group(1).strip() if reply else msg, code)
    return AgentError('could not send %s to the guest agent of %s: %s' % (command, where, msg),
                      **_details(dom, command, 'error', code))


# -- commands -----------------------------------------------------------------------------
def _virconnect(dom):
    connect = getattr(dom, 'connect', None)  # fakes in tests may have none
    return connect() if connect is not None else None


def agent_command(dom, command, arguments=None, timeout=5):
    """Run one agent command and return its ``return`` value (None when the reply has none).

    ``timeout`` is in seconds (libvirt's -2 blocks, -1 is libvirt's default,
    0 does not wait).  Raises an AgentError subclass (see the module doc).
    """
    if libvirt_qemu is None:
        raise AgentError('libvirt_qemu (part of libvirt-python) is not installed; install libvirt-python')
    payload = {'execute': command}
    if arguments is not None:
        payload['arguments'] = arguments
    try:
        raw = libvirt_qemu.qemuAgentCommand(dom, json.dumps(payload), int(timeout), 0)
    except LibvirtError as exc:
        lost = lost_through(_virconnect(dom), exc, 'send %s to the guest agent of %s' % (command, _where(dom)))
        if lost is not None:  # not the agent's fault: never reported (or waited on) as an agent error
            raise lost
        raise agent_error(dom, command, exc, timeout)
    try:
        reply = json.loads(raw) if raw else {}
    except ValueError:
        raise AgentCommandFailed('guest agent of %s answered %s with something that is not JSON: %r'
                                 % (_where(dom), command, raw[:200]), **_details(dom, command, 'bad_reply'))
    if not isinstance(reply, dict):
        raise AgentCommandFailed('guest agent of %s answered %s with %r' % (_where(dom), command, reply),
                                 **_details(dom, command, 'bad_reply'))
    if 'error' in reply:
        raise agent_reply_error(dom, command, reply['error'])
    return reply.get('return')


def agent_caller(dom, timeout=10):
    """``call(command, arguments)`` through ``agent_command``: what the guest-exec and guest-file helpers take."""
    def call(command, arguments=None):
        return agent_command(dom, command, arguments, timeout=timeout)
    return call


def agent_available(dom, timeout=2):
    """True when the agent answers guest-ping; False when it cannot be asked (stopped, no channel, silent)."""
    try:
        agent_command(dom, 'guest-ping', timeout=timeout)
    except AgentUnavailable:
        return False
    except AgentCommandError:  # it answered, even if guest-ping itself is blocked
        return True
    return True


def agent_info(dom, timeout=5):
    """The agent's version and which commands it has enabled and disabled (guest-info)."""
    info = agent_command(dom, 'guest-info', timeout=timeout) or {}
    commands = info.get('supported_commands') or []
    return {
        'version': info.get('version'),
        'enabled': sorted(c['name'] for c in commands if c.get('enabled', True)),
        'disabled': sorted(c['name'] for c in commands if not c.get('enabled', True)),
    }


def agent_shutdown(dom, mode='powerdown', timeout=5):
    """Ask the agent to power the guest off (powerdown), reboot it, or halt it.

    powerdown and reboot use libvirt's agent flags (libvirt waits for the
    guest's shutdown event, as qemu-ga sends no reply for them); halt sends
    guest-shutdown mode=halt, whose missing reply is expected, and leaves
    the VM running with stopped CPUs until it is destroyed.
    """
    if mode not in SHUTDOWN_MODES:
        raise AgentError('shutdown mode must be one of %s, got %s' % (', '.join(SHUTDOWN_MODES), mode),
                         **_details(dom, 'guest-shutdown', 'bad_mode'))
    try:
        if mode == 'powerdown':
            dom.shutdownFlags(_SHUTDOWN_GUEST_AGENT)
        elif mode == 'reboot':
            dom.reboot(_REBOOT_GUEST_AGENT)
    except LibvirtError as exc:
        raise agent_error(dom, 'guest-shutdown', exc)
    if mode == 'halt':
        try:
            agent_command(dom, 'guest-shutdown', {'mode': 'halt'}, timeout=timeout)
        except AgentTimeout:
            pass  # qemu-ga does not answer guest-shutdown; the guest halts meanwhile
