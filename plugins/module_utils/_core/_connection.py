# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Opening, using and closing one libvirt connection.

One ``Connection`` per module run (or per plugin call): it opens the URI,
answers libvirt's credential prompts from the given username/password,
keeps libvirt from printing errors on stderr, looks objects up by name with
"not found" turned into ``None`` or a ``NotFound`` that lists what exists,
and always closes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import threading
import traceback

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import (
    ConnectionLost,
    NotFound,
    VmcatError,
    answers_dead,
    is_connection_lost,
    libvirt_message,
    lookup_or_none,
    lost_message,
    translated,
)

try:
    import libvirt
    HAS_LIBVIRT = True
    LIBVIRT_IMPORT_ERROR = None
except ImportError:
    libvirt = None
    HAS_LIBVIRT = False
    LIBVIRT_IMPORT_ERROR = traceback.format_exc()

DEFAULT_URI = 'qemu:///system'
LIBVIRT_PACKAGES = 'libvirt-python (pip) or python3-libvirt (Debian/Ubuntu, RHEL family)'


def _quiet(_ctx, _err):
    """libvirt's default handler prints every error on stderr; we report them ourselves."""


def silence_libvirt():
    if libvirt is not None:
        libvirt.registerErrorHandler(_quiet, None)


def _auth_callback(username, password):
    def answer(credentials, _opaque):
        for cred in credentials:
            kind = cred[0]
            if kind == libvirt.VIR_CRED_AUTHNAME:
                cred[4] = username or cred[3] or ''
            elif kind in (libvirt.VIR_CRED_PASSPHRASE, libvirt.VIR_CRED_NOECHOPROMPT):
                if password is None:
                    return -1
                cred[4] = password
            else:
                return -1
        return 0
    return answer


# test:///path node files (the rehearsal node of _rehearsal_node); here rather than there, so that opening a
# connection does not import lxml (the qga connection plugin never needs it: about 15 ms of each task's start)
def node_path(uri):
    """The path a ``test:///path`` URI names (None for test:///default and other URIs), whether it exists or not."""
    if not uri or not uri.startswith('test:///'):
        return None
    path = '/' + uri[len('test:///'):].split('?', 1)[0].lstrip('/')
    return None if path == '/default' else path


def open_hint(uri):
    """What to do when libvirt's test driver could not open the node file of ``uri`` (None: not a node file URI)."""
    path = node_path(uri)
    if path is None:
        return None
    if not os.path.exists(path):
        return ('the node file %s does not exist on the host that runs the task; check the path in the URI (test:// '
                'followed by the absolute path, such as test:///home/me/node.xml), or make the node file first, for '
                'example as a copy of playbooks/files/demo-node.xml (see docs/test-driver.md)' % path)
    if os.path.isdir(path):
        return '%s is a directory, not a node file; give the path of the node file in the URI' % path
    return ("the node file %s is not a node description libvirt's test driver can read (the message says where); "
            'fix that line, or put back a good copy of the file (see docs/test-driver.md)' % path)


_HOST_KEY_HINT = ("the host's SSH key is not the one known_hosts holds for it: make sure it is the right host, "
                  "then replace its entry (ssh-keygen -R HOST, or the file given as known_hosts= in the URI)")
_GENERIC_HINT = ('check that libvirtd (or virtqemud) runs on that host, that the URI is right and that this user '
                 'may use it (for qemu+ssh:// the SSH key must be loaded and the remote user in the libvirt group)')


def connect_hint(message, password_given, uri=None):
    """What to do when libvirt refused to open a connection, from its message.

    The SSH transports fail for reasons the user can fix on their side: a
    changed host key, an encrypted key without (or with the wrong) passphrase.
    A test:///path URI fails for its node file: missing, or not readable.
    """
    if uri and uri.startswith('test:///'):
        hint = open_hint(uri)
        if hint:
            return hint
    text = message.lower()
    if 'host key verification failed' in text:
        return _HOST_KEY_HINT
    if 'passphrase' in text:
        if password_given:
            return ('the passphrase given as password does not open the SSH key named by keyfile= in the URI; '
                    'give the right one')
        return ('the SSH key named by keyfile= in the URI is encrypted: give its passphrase as password '
                '(qemu+libssh:// and qemu+libssh2://), or load the key into ssh-agent (qemu+ssh://)')
    return _GENERIC_HINT


# A dead node is noticed after KEEPALIVE_INTERVAL * (KEEPALIVE_COUNT + 1) seconds without an answer.
KEEPALIVE_INTERVAL = 5
KEEPALIVE_COUNT = 3
_event_loop = {'pid': None}
_event_loop_lock = threading.Lock()


def _run_event_loop():
    while True:
        libvirt.virEventRunDefaultImpl()


def start_event_loop():
    """libvirt's keepalive needs an event loop: register the default one and run it in a daemon thread, once.

    Only for processes that do not fork after this (a module run): a forked
    child would inherit the registration without the thread.
    """
    import os
    with _event_loop_lock:
        if _event_loop['pid'] is not None:
            return _event_loop['pid'] == os.getpid()
        libvirt.virEventRegisterDefaultImpl()
        thread = threading.Thread(target=_run_event_loop, name='libvirt-event-loop')
        thread.daemon = True
        thread.start()
        _event_loop['pid'] = os.getpid()
        return True


def _names(items):
    return ', '.join(sorted(items)) or '(none)'


class Connection:
    """A libvirt connection opened for one module run.

    Use as a context manager so it is always closed::

        with Connection(uri) as conn:
            pool = conn.pool('images')
    """

    def __init__(self, uri=DEFAULT_URI, username=None, password=None, readonly=False, virconnect=None,
                 keepalive=False):
        self.uri = uri or DEFAULT_URI
        self._username = username
        self._password = password
        self._readonly = readonly
        self._keepalive = keepalive
        self.virt = virconnect

    # -- lifetime -------------------------------------------------------
    def open(self):
        if self.virt is not None:
            return self
        if libvirt is None:
            raise VmcatError('libvirt-python is not installed; install %s' % LIBVIRT_PACKAGES)
        silence_libvirt()
        flags = libvirt.VIR_CONNECT_RO if self._readonly else 0
        keepalive = self._keepalive and not self.uri.startswith('test:') and start_event_loop()
        try:
            if self._username is not None or self._password is not None:
                creds = [libvirt.VIR_CRED_AUTHNAME, libvirt.VIR_CRED_PASSPHRASE, libvirt.VIR_CRED_NOECHOPROMPT]
                auth = [creds, _auth_callback(self._username, self._password), None]
                self.virt = libvirt.openAuth(self.uri, auth, flags)
            elif self._readonly:
                self.virt = libvirt.openReadOnly(self.uri)
            else:
                self.virt = libvirt.open(self.uri)
        except libvirt.libvirtError as exc:
            message = libvirt_message(exc)
            raise VmcatError('could not connect to %s: %s; %s'
                             % (self.uri, message, connect_hint(message, self._password is not None, self.uri)),
                             uri=self.uri)
        if keepalive:
            try:
                self.virt.setKeepAlive(KEEPALIVE_INTERVAL, KEEPALIVE_COUNT)
            except libvirt.libvirtError:  # a daemon without keepalive support still works, it is only slower to notice
                pass
        return self

    def alive(self):
        """Whether the connection to the daemon still stands (virConnectIsAlive)."""
        ask = getattr(self.virt, 'isAlive', None)
        return self.virt is not None and (ask is None or ask() != 0)  # 1 alive, 0 dead (a fake may have neither)

    def lost(self, exc):
        """True when ``exc`` (any exception) means this connection broke.

        Besides the errors that say so, any error raised while the connection
        is found dead counts: a wrapper may have turned libvirt's error into its
        own before it got here.
        """
        if isinstance(exc, ConnectionLost):
            return True
        return self.virt is not None and (answers_dead(self.alive) or is_connection_lost(exc))

    def lost_error(self, exc, doing):
        """The ConnectionLost for an error raised outside any translated block."""
        if isinstance(exc, ConnectionLost):
            return exc
        return ConnectionLost('%s: %s' % (lost_message(self.uri, doing), libvirt_message(exc)))

    def close(self):
        if self.virt is not None:
            try:
                self.virt.close()
            except Exception:  # closing must never hide the real error
                pass
            self.virt = None

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc):
        self.close()
        return False

    # -- error translation bound to this URI ----------------------------
    def translated(self, action, what, hint=None):
        return translated(action, what, self.uri, hint, self.alive if self.virt is not None else None)

    # -- lookups: None when missing --------------------------------------
    def pool(self, name):
        with self.translated('look up', "pool '%s'" % name):
            return lookup_or_none(self.virt.storagePoolLookupByName, name)

    def network(self, name):
        with self.translated('look up', "network '%s'" % name):
            return lookup_or_none(self.virt.networkLookupByName, name)

    def domain(self, name):
        with self.translated('look up', "VM '%s'" % name):
            return lookup_or_none(self.virt.lookupByName, name)

    def volume(self, pool, name):
        """A volume of a virStoragePool, or None."""
        with self.translated('look up', "volume '%s' in pool '%s'" % (name, pool.name())):
            return lookup_or_none(pool.storageVolLookupByName, name)

    def volume_by_path(self, path):
        with self.translated('look up', "volume at '%s'" % path):
            return lookup_or_none(self.virt.storageVolLookupByPath, path)

    # -- lookups: NotFound that names what exists --------------------------
    def require_pool(self, name):
        return self._required(self.pool(name), "pool '%s'" % name, 'pools', self.pool_names)

    def require_network(self, name):
        return self._required(self.network(name), "network '%s'" % name, 'networks', self.network_names)

    def require_domain(self, name):
        return self._required(self.domain(name), "VM '%s'" % name, 'VMs', self.domain_names)

    def _required(self, found, what, kinds, existing):
        """``found``; when it is None, NotFound naming ``what`` and the ``existing()`` names of its kind."""
        if found is None:
            raise NotFound('%s not found on %s; existing %s: %s' % (what, self.uri, kinds, _names(existing())))
        return found

    def require_volume(self, pool_name, name):
        pool = self.require_pool(pool_name)
        vol = self.volume(pool, name)
        if vol is None:
            with self.translated('list volumes of', "pool '%s'" % pool_name):
                existing = pool.listVolumes() if pool.isActive() else []
            raise NotFound("volume '%s' not found in pool '%s' on %s; existing volumes: %s"
                           % (name, pool_name, self.uri, _names(existing)))
        return vol

    # -- listings ----------------------------------------------------------
    def pool_names(self):
        with self.translated('list', 'storage pools'):
            return [p.name() for p in self.virt.listAllStoragePools(0)]

    def network_names(self):
        with self.translated('list', 'networks'):
            return [n.name() for n in self.virt.listAllNetworks(0)]

    def domain_names(self):
        with self.translated('list', 'VMs'):
            return [d.name() for d in self.virt.listAllDomains(0)]

    def all_pools(self):
        with self.translated('list', 'storage pools'):
            return self.virt.listAllStoragePools(0)

    def all_networks(self):
        with self.translated('list', 'networks'):
            return self.virt.listAllNetworks(0)

    def all_domains(self):
        with self.translated('list', 'VMs'):
            return self.virt.listAllDomains(0)
