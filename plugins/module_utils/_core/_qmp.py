# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""QMP, the QEMU Machine Protocol: one place that sends QMP commands.

Two ways to reach a QEMU:

- a VM managed by libvirt, through libvirt's monitor passthrough
  (``libvirt_qemu.qemuMonitorCommand``).  libvirt then marks the domain
  *tainted* ("custom-monitor" in the domain's log) and does not track what
  the command changed: a device added or a VM stopped this way is news to
  libvirt, whose view (XML, state) may then be wrong.
- a QEMU started outside libvirt, through its QMP socket
  (``-qmp unix:PATH,server=on,wait=off``), with the ``qemu.qmp`` library.

Both return the command's ``return`` value or raise ``QmpCommandError``
carrying QEMU's error class and description.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import traceback

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import (
    InvalidInput,
    VmcatError,
    is_unimplemented,
    libvirt_message,
    lost_through,
)

try:
    import libvirt
    import libvirt_qemu
    HAS_LIBVIRT_QEMU = True
except ImportError:
    libvirt = None
    libvirt_qemu = None
    HAS_LIBVIRT_QEMU = False

try:
    import asyncio
    from qemu.qmp import ConnectError, ExecuteError, QMPClient, QMPError
    HAS_QEMU_QMP = True
    QEMU_QMP_IMPORT_ERROR = None
except ImportError:
    HAS_QEMU_QMP = False
    QEMU_QMP_IMPORT_ERROR = traceback.format_exc()

QEMU_QMP_PACKAGE = 'qemu.qmp (pip install qemu.qmp)'

# Commands that only read: run in check mode, never reported as a change.
QUERY_PREFIXES = ('query-', 'x-query-')
READ_ONLY_COMMANDS = frozenset((
    'qom-get', 'qom-list', 'qom-list-types', 'qom-list-properties', 'device-list-properties',
))

_RUNNING = 1  # VIR_DOMAIN_RUNNING
_PAUSED = 3  # VIR_DOMAIN_PAUSED


class QmpCommandError(VmcatError):
    """QEMU answered the command with an error."""


def is_query(command):
    """True for commands that only read (query-*, x-query-*, qom-get, ...)."""
    return command.startswith(QUERY_PREFIXES) or command in READ_ONLY_COMMANDS


def validate_command(command, arguments):
    if not command or not command.strip() or command != command.strip() or ' ' in command:
        raise InvalidInput("command '%s' is not a QMP command name such as query-status or system_powerdown"
                           % command)
    if arguments is not None and not isinstance(arguments, dict):
        raise InvalidInput('arguments must be a dictionary of the command\'s arguments, not %s'
                           % type(arguments).__name__)


def message(command, arguments=None):
    """The QMP message (a dict) for a command."""
    msg = {'execute': command}
    if arguments:
        msg['arguments'] = arguments
    return msg


def reply_value(reply, command, where):
    """The ``return`` member of a parsed reply; QmpCommandError for an ``error`` member."""
    if 'error' in reply:
        error = reply['error'] or {}
        raise QmpCommandError('QMP command %s failed on %s: %s: %s'
                              % (command, where, error.get('class', 'Error'), error.get('desc', error)),
                              error_class=error.get('class'), error_desc=error.get('desc'))
    if 'return' not in reply:
        raise VmcatError('QMP command %s on %s gave a reply without a return value: %s'
                         % (command, where, json.dumps(reply)[:500]))
    return reply['return']


# -- through libvirt ----------------------------------------------------------

def _vm_what(conn, dom):
    return "VM '%s' on %s" % (dom.name(), conn.uri)


def require_monitor(conn, dom, allow_paused=True):
    """Fail unless the VM has a running QEMU process (running, or paused when allowed)."""
    with conn.translated('read the state of', "VM '%s'" % dom.name()):
        state = dom.state()[0]
    allowed = (_RUNNING, _PAUSED) if allow_paused else (_RUNNING,)
    if state not in allowed:
        names = {0: 'nostate', 1: 'running', 2: 'blocked', 3: 'paused', 4: 'shutdown', 5: 'shutoff',
                 6: 'crashed', 7: 'pmsuspended'}
        if state == _PAUSED:
            raise VmcatError('%s is paused; resume it first (input sent to a paused VM is queued or lost)'
                             % _vm_what(conn, dom), state='paused')
        raise VmcatError('%s is not running (state %s); its QEMU process must run for this'
                         % (_vm_what(conn, dom), names.get(state, state)), state=names.get(state, state))


def monitor_command(conn, dom, command, arguments=None):
    """Run one QMP command on a libvirt-managed VM; return its ``return`` value.

    Goes through libvirt's monitor passthrough, which taints the domain.
    """
    if not HAS_LIBVIRT_QEMU:  # pragma: no cover - part of libvirt-python
        raise VmcatError('libvirt_qemu (part of libvirt-python) is not available')
    what = _vm_what(conn, dom)
    text = json.dumps(message(command, arguments))
    try:
        raw = libvirt_qemu.qemuMonitorCommand(dom, text, 0)
    except libvirt.libvirtError as exc:
        lost = lost_through(conn.virt, exc, 'send QMP command %s to %s' % (command, what))
        if lost is not None:
            raise lost
        hint = ''
        if is_unimplemented(exc):
            hint = '; only QEMU/KVM VMs (qemu:// URIs) have a QMP monitor'
        elif exc.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID:
            hint = '; the VM must be running'
        raise VmcatError('could not send QMP command %s to %s: %s%s' % (command, what, libvirt_message(exc), hint),
                         libvirt_code=exc.get_error_code())
    try:
        reply = json.loads(raw)
    except ValueError:
        raise VmcatError('QMP command %s on %s gave a reply that is not JSON: %s' % (command, what, raw[:500]))
    return reply_value(reply, command, what)


# -- through a QMP socket -----------------------------------------------------

async def _socket_exchange(path, command, arguments, timeout):
    client = QMPClient('vmcat')
    await asyncio.wait_for(client.connect(path), timeout)
    try:
        greeting = client.greeting
        value = await asyncio.wait_for(client.execute(command, arguments or None), timeout)
        return value, greeting
    finally:
        try:
            await client.disconnect()
        except (QMPError, OSError, EOFError):
            pass  # QEMU closes the socket itself after 'quit'; the command's outcome is what counts


def socket_command(path, command, arguments=None, timeout=30):
    """Run one QMP command through a QEMU's QMP unix socket; return ``(value, version)``.

    ``version`` is the QEMU version from the socket's greeting.
    """
    if not HAS_QEMU_QMP:
        raise VmcatError('the socket option needs %s on the host that runs the module' % QEMU_QMP_PACKAGE)
    where = 'QMP socket %s' % path
    try:
        value, greeting = asyncio.run(_socket_exchange(path, command, arguments, timeout))
    except ExecuteError as exc:
        raise QmpCommandError('QMP command %s failed on %s: %s: %s' % (command, where, exc.error_class, exc),
                              error_class=exc.error_class, error_desc=str(exc))
    except ConnectError as exc:
        raise VmcatError('could not connect to %s: %s; is QEMU running with -qmp unix:%s,server=on,wait=off, '
                         'and is no other client connected to it?' % (where, exc, path))
    except asyncio.TimeoutError:
        raise VmcatError('no answer from %s within %ss (connect and command %s); another client may hold '
                         'the monitor' % (where, timeout, command), timeout=timeout)
    except (QMPError, OSError, EOFError) as exc:
        raise VmcatError('QMP command %s on %s failed: %s' % (command, where, exc))
    version = None
    try:
        version = dict(greeting.QMP.version['qemu'])
    except (AttributeError, KeyError, TypeError):
        pass
    return value, version


def run_command(ctx):
    """The qmp module: one command, through libvirt (``name``) or a socket (``socket``)."""
    p = ctx.params
    if p['timeout'] <= 0:
        raise InvalidInput('timeout must be a positive number of seconds (got %d)' % p['timeout'])
    command, arguments = p['command'], p['arguments']
    validate_command(command, arguments)
    query = is_query(command)
    result = dict(changed=not query, command=command, query=query, sent=False, reply=None)
    if p['socket']:
        result['socket'] = p['socket']

        def send():
            value, version = socket_command(p['socket'], command, arguments, p['timeout'])
            result['qemu_version'] = version
            return value
    else:
        dom = ctx.conn.require_domain(p['name'])
        require_monitor(ctx.conn, dom)
        result['vm'] = dom.name()

        def send():
            return monitor_command(ctx.conn, dom, command, arguments)

    if query:
        result['reply'] = send()
        result['sent'] = True
    else:
        # The one check-mode guard: a command that may change something is not sent in check mode.
        sent = ctx.act('qmp %s' % command, lambda: (send(),))
        if sent is not None:
            result['reply'] = sent[0]
            result['sent'] = True
    result['actions'] = ctx.actions
    return result
