# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The console gateway's token store: one JSON file a token, named by the token's SHA-256.

The gateway's websockify token plugin (roles/console_gateway) admits a token
once: it renames ``<hash>.json`` to ``<hash>.used`` on first use, so a file
still named ``.json`` is a token nobody has used yet.  This side writes,
finds and revokes tokens; docs/console.md describes the format both sides
keep to.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import secrets
import tempfile
import time

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import VmcatError

FORMAT_VERSION = 1
TOKEN_BYTES = 32


def token_hash(token):
    return hashlib.sha256(token.encode('ascii')).hexdigest()


class TokenStore:
    """The token directory of one gateway."""

    def __init__(self, directory):
        self.directory = directory

    def _require(self):
        if not os.path.isdir(self.directory):
            raise VmcatError("the console gateway's token directory %s does not exist on this host; run the "
                             "vmcat.libvirt.console_gateway role here first, or run this task on the gateway host "
                             "(delegate_to)" % self.directory)

    def _records(self, suffix):
        """(path, record) of every readable token file ending in ``suffix``."""
        self._require()
        for name in sorted(os.listdir(self.directory)):
            if name.startswith('.') or not name.endswith(suffix):
                continue
            path = os.path.join(self.directory, name)
            try:
                with open(path) as handle:
                    record = json.load(handle)
            except (IOError, OSError, ValueError):  # claimed or removed meanwhile, or not ours: skip it
                continue
            if isinstance(record, dict):
                yield path, record

    def unused(self, vm, uri, protocol, now=None):
        """Records of unused, unexpired tokens of this console, the longest-lived first."""
        now = time.time() if now is None else now
        found = [record for dummy, record in self._records('.json')
                 if record.get('vm') == vm and record.get('uri') == uri and record.get('protocol') == protocol
                 and record.get('expires_at', 0) > now and record.get('token')]
        return sorted(found, key=lambda r: -r['expires_at'])

    def count(self, vm, uri, now=None):
        """How many tokens of this VM are still unused and unexpired."""
        now = time.time() if now is None else now
        return sum(1 for dummy, r in self._records('.json')
                   if r.get('vm') == vm and r.get('uri') == uri and r.get('expires_at', 0) > now)

    def issue(self, vm, uri, protocol, target, ttl, grace, now=None):
        """Write a new token for this console; returns its record (with ``token``)."""
        self._require()
        now = time.time() if now is None else now
        token = secrets.token_urlsafe(TOKEN_BYTES)
        record = dict(version=FORMAT_VERSION, vm=vm, uri=uri, protocol=protocol, target=target,
                      created_at=now, expires_at=now + ttl, grace=grace, token=token)
        self._write(os.path.join(self.directory, token_hash(token) + '.json'), record)
        return record

    def _write(self, path, record):
        """Write atomically with the directory's owner and mode 0600, so the gateway's user can claim it."""
        info = os.stat(self.directory)
        fd, temp = tempfile.mkstemp(prefix='.', dir=self.directory)
        try:
            with os.fdopen(fd, 'w') as handle:
                json.dump(record, handle, sort_keys=True)
            os.chmod(temp, 0o600)
            if os.geteuid() == 0:
                os.chown(temp, info.st_uid, info.st_gid)
            os.rename(temp, path)
        except BaseException:
            if os.path.exists(temp):
                os.unlink(temp)
            raise

    def revoke(self, vm, uri, dry_run=False):
        """Remove every token file (unused or used) of this VM; returns how many there were."""
        gone = 0
        for suffix in ('.json', '.used'):
            for path, record in list(self._records(suffix)):
                if record.get('vm') != vm or record.get('uri') != uri:
                    continue
                gone += 1
                if not dry_run:
                    try:
                        os.unlink(path)
                    except OSError as exc:
                        if os.path.exists(path):
                            raise VmcatError('could not remove console token file %s: %s' % (path, exc))
        return gone
