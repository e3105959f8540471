# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One-time console tokens for websockify, installed by the vmcat.libvirt.console_gateway role.

websockify is started with ``--token-plugin vmcat_console_tokens.OneTimeTokens --token-source TOKEN_DIR``.
It builds :class:`OneTimeTokens` once in its main process and calls ``lookup(token)`` in the process it
forks for each connection, so nothing is kept in memory between connections: the token store is the
directory, shared with the ``vmcat.libvirt.console`` module that writes the tokens.

The store (docs/console.md of the collection has the full contract):

- a token's file is ``TOKEN_DIR/<sha256 hex of the token>.json``, a JSON object with ``version`` (1),
  ``vm``, ``uri``, ``protocol``, ``target`` (``host``, ``port`` and, for a VM on a remote node, ``node``),
  ``created_at``, ``expires_at`` and ``grace`` (seconds);
- the first use claims the token by renaming ``<hash>.json`` to ``<hash>.used`` (atomic, so of many
  connections racing for one token exactly one wins); the ``.used`` file's mtime is the time of first use;
- a used token admits further connections only while ``now - used_at <= grace`` (SPICE opens four
  WebSockets with one URL); grace 0 means strictly once;
- expired and used files are removed lazily: by their own look-up, or by any look-up a minute later.

A target on a remote node is reached through that node's SSH tunnel: a ControlMaster ``ssh -N`` kept
running by the role's supervisor, whose control socket is ``$VMCAT_CONSOLE_TUNNEL_DIR/<node>.ctl``. The
look-up asks it for a local forward of a unix socket to the VM's VNC or SPICE port on the node's loopback
(``ssh -O forward``, which does nothing when the forward exists) and gives websockify that socket.

The plugin also puts a :class:`TokenRedactor` on every handler of websockify's loggers, so the request
paths websockify logs (``/websockify?token=...``, ``Token '...' not found``) never show a token. The
handlers are shared by every forked child, so the filter holds there too.

Only the standard library is used; this file runs under the gateway's system Python (websockify's).
"""

from __future__ import absolute_import, division, print_function

import hashlib
import json
import logging
import os
import re
import subprocess
import time

STORE_VERSION = 1
TOKEN_SUFFIX = '.json'
USED_SUFFIX = '.used'
# A writer's temporary file starts with "."; one older than this was left by a writer that died.
STALE_TEMP_AGE = 300
# Used and expired tokens' files stay this long (after the grace, after the expiry), so that a late use is
# logged as "already used" or "expired" rather than "unknown".
RETENTION = 60
FORWARD_TIMEOUT = 15
# Tokens are secrets.token_urlsafe(32) or longer; anything else is refused before the store is read.
TOKEN_RE = re.compile(r'^[A-Za-z0-9_-]{32,512}$')
NODE_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$')
HOST_RE = re.compile(r'^[A-Za-z0-9.:_-]{1,253}$')

LOG = logging.getLogger('websocket.vmcat_console')

# token=VALUE in a query, also URL-encoded once or twice (spice_auto.html?path=websockify%3Ftoken%3D...),
# websockify's "Token 'VALUE' not found", and any run of URL-safe characters long enough to be a token.
_REDACTIONS = (
    (re.compile(r'(token(?:=|%3d|%253d))[^&\s\'"#;]*', re.IGNORECASE), r'\1<redacted>'),
    (re.compile(r"(token ')[^']*(')", re.IGNORECASE), r'\1<redacted>\2'),
    (re.compile(r'[A-Za-z0-9_-]{32,}'), '<redacted>'),
)


def redact(text):
    """text without anything that could be a console token."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class TokenRedactor(logging.Filter):
    """Rewrites each record's message (and its traceback text) with :func:`redact`; never drops a record."""

    def filter(self, record):
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def install_redaction(logger_names=('websocket',)):
    """Put one TokenRedactor on each handler of the named loggers (websockify logs through 'websocket' and its
    children, whose records reach the handlers of 'websocket'); idempotent."""
    for name in logger_names:
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, TokenRedactor) for f in handler.filters):
                handler.addFilter(TokenRedactor())


def token_id(token):
    """The name of a token's files in the store (its SHA-256, hex): a listing shows no usable token."""
    return hashlib.sha256(token.encode('utf-8')).hexdigest()


class Refused(Exception):
    """A look-up that admits nothing; the message says why (and never holds the token)."""


class OneTimeTokens(object):
    """websockify token plugin: ``OneTimeTokens(token_dir).lookup(token)`` gives a target or None."""

    def __init__(self, src, clock=time.time, environ=None):
        environ = os.environ if environ is None else environ
        self.token_dir = os.path.abspath(src or '/var/lib/vmcat-console/tokens')
        self.tunnel_dir = environ.get('VMCAT_CONSOLE_TUNNEL_DIR') or None
        self.ssh = environ.get('VMCAT_CONSOLE_SSH') or 'ssh'
        self.clock = clock
        install_redaction()

    # -- websockify's interface ------------------------------------------------------------------
    def lookup(self, token):
        """(host, port), ('unix_socket', path) for a tunnel, or None (refused; the reason is logged)."""
        install_redaction()  # handlers added after the plugin was built get the filter too
        short = token_id(token)[:12] if isinstance(token, str) else '-'
        try:
            return self._lookup(token)
        except Refused as exc:
            LOG.info('console token %s refused: %s', short, exc)
        except Exception as exc:  # pylint: disable=broad-except  # a look-up that fails for any reason refuses
            LOG.warning('console token %s refused: look-up failed: %s', short, exc)
        finally:
            self._sweep_quietly()
        return None

    # -- the store ---------------------------------------------------------------------------------
    def _lookup(self, token):
        if not isinstance(token, str) or not TOKEN_RE.match(token):
            raise Refused('not a console token')
        now = self.clock()
        base = os.path.join(self.token_dir, token_id(token))
        fresh, used = base + TOKEN_SUFFIX, base + USED_SUFFIX

        try:
            record, dummy = _read(fresh)
        except PermissionError as exc:
            raise Refused('the token store is not readable by this user: %s' % exc)
        if record is not None:
            if now > record['expires_at']:
                _remove(fresh)
                raise Refused('expired')
            target = self._target(record)  # a tunnel that is down refuses without using the token up
            try:
                os.utime(fresh, (now, now))  # the time of first use, carried over by the rename
                os.rename(fresh, used)
            except FileNotFoundError:
                pass  # another connection claimed it first: the grace rule below decides
            else:
                LOG.info('console of %s (%s) opened with a one-time token', record['vm'], record['protocol'])
                return target

        record, used_at = _read(used)
        if record is None:
            raise Refused('unknown token')
        grace = record.get('grace') or 0
        if grace > 0 and now - used_at <= grace:
            LOG.info('console of %s (%s): extra channel within the token grace', record['vm'], record['protocol'])
            return self._target(record)
        raise Refused('already used')

    def _sweep_quietly(self):
        try:
            self.sweep(self.clock())
        except OSError as exc:
            LOG.warning('console tokens: cannot clean up %s: %s', self.token_dir, exc)

    def sweep(self, now):
        """Remove expired tokens, used tokens past their grace (and retention) and stale temporary files."""
        names = os.listdir(self.token_dir)
        for name in names:
            path = os.path.join(self.token_dir, name)
            if name.startswith('.'):
                _remove_if(path, lambda record, mtime: now - mtime > STALE_TEMP_AGE, parse=False)
            elif name.endswith(TOKEN_SUFFIX):
                _remove_if(path, lambda record, mtime: now > record['expires_at'] + RETENTION)
            elif name.endswith(USED_SUFFIX):
                _remove_if(path, lambda record, mtime: now - mtime > (record.get('grace') or 0) + RETENTION)

    # -- targets -----------------------------------------------------------------------------------
    def _target(self, record):
        target = record.get('target')
        if not isinstance(target, dict):
            raise Refused('the token has no target')
        host, port, node = target.get('host'), target.get('port'), target.get('node')
        if not isinstance(host, str) or not HOST_RE.match(host):
            raise Refused('bad target host %r' % (host,))
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise Refused('bad target port %r' % (port,))
        if node is None:
            return host, port
        return 'unix_socket', self._forward(node, host, port)

    def _forward(self, node, host, port):
        """A unix socket forwarded by node's SSH tunnel to host:port on the node (made when missing)."""
        if not isinstance(node, str) or not NODE_RE.match(node):
            raise Refused('bad node name %r' % (node,))
        if not self.tunnel_dir:
            raise Refused('node %s: this gateway has no SSH tunnels (VMCAT_CONSOLE_TUNNEL_DIR unset)' % node)
        control = os.path.join(self.tunnel_dir, node + '.ctl')
        if not os.path.exists(control):
            raise Refused('node %s: its SSH tunnel is not up (no %s)' % (node, control))
        socket_path = os.path.join(self.tunnel_dir, '%s-%s-%d.sock' % (node, host.replace(':', '_'), port))
        remote = '[%s]' % host if ':' in host else host
        cmd = [self.ssh, '-F', 'none', '-S', control, '-O', 'forward',
               '-L', '%s:%s:%d' % (socket_path, remote, port), node]
        try:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  timeout=FORWARD_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise Refused('node %s: ssh -O forward failed: %s' % (node, exc))
        if proc.returncode != 0:
            raise Refused('node %s: ssh -O forward failed (exit %d): %s'
                          % (node, proc.returncode, proc.stderr.decode('utf-8', 'replace').strip()))
        return socket_path


def _read(path):
    """(record, mtime) of a token file, (None, None) when it is missing; ValueError when it is not a token."""
    try:
        with open(path, 'rb') as handle:
            mtime = os.fstat(handle.fileno()).st_mtime
            record = json.loads(handle.read().decode('utf-8'))
    except FileNotFoundError:
        return None, None
    if not isinstance(record, dict) or record.get('version') != STORE_VERSION:
        raise ValueError('%s is not a version %d console token' % (os.path.basename(path), STORE_VERSION))
    for key, value in (('expires_at', record.get('expires_at')), ('grace', record.get('grace', 0))):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError('%s: %s is not a number' % (os.path.basename(path), key))
    record.setdefault('vm', '?')
    record.setdefault('protocol', '?')
    return record, mtime


def _remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _remove_if(path, stale, parse=True):
    """Remove path when stale(record, mtime) says so; files that vanish or do not parse are left alone."""
    try:
        if parse:
            record, mtime = _read(path)
            if record is None:
                return
        else:
            record, mtime = None, os.stat(path).st_mtime
        if stale(record, mtime):
            _remove(path)
    except (OSError, ValueError):
        pass
