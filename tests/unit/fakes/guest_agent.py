# -*- coding: utf-8 -*-
"""Fake guest agents for unit tests.

``LoopbackAgent``: guest-exec runs real processes here, guest-file-* opens
real files.  Paths given to it are host paths (use pytest's tmp_path), so the
shell scripts the collection sends are really run by /bin/sh.

``FakeGuest``: what guest_user and guest_fs send (ssh keys, passwords through
/etc/shadow, freeze, trim), answered the way qemu-ga 7.2 does, behind
``libvirt_qemu.qemuAgentCommand`` (the ``guest`` fixture of conftest.py puts
it there); ``HASH`` and ``K1``-``K3`` are a password hash and keys to give it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import subprocess

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._guest_agent import (
    AgentCommandDisabled,
    AgentCommandFailed,
)
from ansible_collections.vmcat.libvirt.tests.unit.fakes.errors import AgentReplyError

ALL_COMMANDS = (
    'guest-info', 'guest-ping', 'guest-exec', 'guest-exec-status', 'guest-file-open', 'guest-file-read',
    'guest-file-write', 'guest-file-close', 'guest-get-osinfo', 'guest-get-host-name', 'guest-get-timezone',
    'guest-get-users', 'guest-network-get-interfaces', 'guest-get-fsinfo', 'guest-get-disks', 'guest-get-vcpus',
)


class LoopbackAgent:
    def __init__(self, disabled=(), missing=(), truncate=None):
        self.disabled, self.missing, self.truncate = set(disabled), set(missing), truncate
        self.calls = []
        self.handles, self.procs = {}, {}

    def __call__(self, dom, command, arguments=None, timeout=5):
        self.calls.append((command, arguments))
        if command in self.disabled:
            raise AgentCommandDisabled("command %s is disabled by the guest's agent configuration" % command,
                                       vm='test', command=command, reason='disabled')
        if command in self.missing:
            raise AgentCommandFailed('The command %s has not been found' % command, command=command, reason='failed')
        return getattr(self, command.replace('-', '_'))(arguments or {})

    def names(self, command):
        return [c[0] for c in self.calls if c[0] == command]

    # -- info ---------------------------------------------------------------------------------
    def guest_info(self, args):
        return {'version': '7.2.0', 'supported_commands': [
            {'name': n, 'enabled': n not in self.disabled, 'success-response': True}
            for n in ALL_COMMANDS if n not in self.missing]}

    def guest_ping(self, args):
        return {}

    def guest_get_osinfo(self, args):
        return {'id': 'debian', 'name': 'Debian GNU/Linux', 'kernel-release': '6.1.0', 'machine': 'x86_64'}

    def guest_get_host_name(self, args):
        return {'host-name': 'vmcat-guest'}

    def guest_get_timezone(self, args):
        return {'zone': 'UTC', 'offset': 0}

    def guest_get_users(self, args):
        return [{'user': 'root', 'login-time': 1.5}]

    def guest_network_get_interfaces(self, args):
        return [{'name': 'lo', 'hardware-address': '00:00:00:00:00:00',
                 'ip-addresses': [{'ip-address-type': 'ipv4', 'ip-address': '127.0.0.1', 'prefix': 8}]}]

    def guest_get_fsinfo(self, args):
        return [{'name': 'vda1', 'mountpoint': '/', 'type': 'ext4', 'used-bytes': 25, 'total-bytes': 100, 'disk': []}]

    def guest_get_disks(self, args):
        return [{'name': '/dev/vda', 'partition': False, 'dependencies': []}]

    def guest_get_vcpus(self, args):
        return [{'logical-id': 0, 'online': True, 'can-offline': False}]

    # -- exec ---------------------------------------------------------------------------------
    def guest_exec(self, args):
        env = None
        if args.get('env'):
            env = dict(e.split('=', 1) for e in args['env'])
        capture = args.get('capture-output')
        proc = subprocess.Popen([args['path']] + args.get('arg', []), env=env, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                                stderr=subprocess.PIPE if capture else subprocess.DEVNULL)
        out, err = proc.communicate(base64.b64decode(args.get('input-data', '')))
        self.procs[proc.pid] = (proc.returncode, out or b'', err or b'')
        return {'pid': proc.pid}

    def guest_exec_status(self, args):
        rc, out, err = self.procs[args['pid']]
        status = {'exited': True}
        if rc < 0:
            status['signal'] = -rc
        else:
            status['exitcode'] = rc
        for key, data in (('out', out), ('err', err)):
            if self.truncate is not None and len(data) > self.truncate:
                data = data[:self.truncate]
                status[key + '-truncated'] = True
            status[key + '-data'] = base64.b64encode(data).decode()
        return status

    # -- files --------------------------------------------------------------------------------
    def guest_file_open(self, args):
        mode = {'r': 'rb', 'w': 'wb'}[args['mode']]
        try:
            if mode == 'wb' and not os.path.exists(args['path']):
                os.close(os.open(args['path'], os.O_CREAT | os.O_WRONLY, 0o600))
            handle = open(args['path'], mode)
        except (IOError, OSError) as exc:
            raise AgentCommandFailed("guest agent command guest-file-open failed: failed to open file '%s' "
                                     "(mode: '%s'): %s" % (args['path'], args['mode'], exc.strerror),
                                     reason='failed')
        key = len(self.handles) + 1000
        self.handles[key] = handle
        return key

    def guest_file_write(self, args):
        data = base64.b64decode(args['buf-b64'])
        self.handles[args['handle']].write(data)
        return {'count': len(data), 'eof': False}

    def guest_file_read(self, args):
        data = self.handles[args['handle']].read(args['count'])
        return {'count': len(data), 'buf-b64': base64.b64encode(data).decode(), 'eof': len(data) < args['count']}

    def guest_file_close(self, args):
        self.handles.pop(args['handle']).close()
        return {}


# -- qemu-ga for guest_user and guest_fs ----------------------------------------------------------
HASH = '$6$abcdefgh$Z7KfoKnKTSZrzo5VZ0YubGLQOj9ov6sHo9TmE3zIU/LHKhpE30zCnZ0mcIXYf9r9rQ4DYaXoxAFSPFlcWdxjB.'
K1 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOne one@test'
K2 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITwo two@test'
K3 = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQThree three@test'


class FakeGuest:
    """The agent commands guest_user and guest_fs send, with qemu-ga's behaviour."""

    def __init__(self, keys=None, shadow=None, blocked=(), frozen=False):
        self.keys = keys  # None: no authorized_keys file
        self.shadow = shadow if shadow is not None else 'root:*:20000:0:99999:7:::\nalice:!:20000:0:99999:7:::\n'
        self.blocked = set(blocked)
        self.frozen = frozen
        self.sent = []
        self.handles = {}

    def name(self):
        return 'web1'

    def connect(self):
        return self

    def getURI(self):
        return 'qemu:///system'

    def state(self):
        return [1, 1]

    def __call__(self, dom, payload, timeout, flags):
        request = json.loads(payload)
        command, args = request['execute'], request.get('arguments') or {}
        self.sent.append((command, args))
        if command in self.blocked:
            raise AgentReplyError(command, 'Command %s has been disabled' % command)
        if self.frozen and command not in ('guest-fsfreeze-status', 'guest-fsfreeze-thaw', 'guest-ping'):
            raise AgentReplyError(command, 'Command %s has been disabled: the agent is in frozen state' % command)
        return json.dumps({'return': getattr(self, command.replace('-', '_'))(args)})

    # ssh keys
    def guest_ssh_get_authorized_keys(self, args):
        if self.keys is None:
            raise AgentReplyError('guest-ssh-get-authorized-keys',
                                  "failed to read '/home/alice/.ssh/authorized_keys': Failed to open file "
                                  "\u201c/home/alice/.ssh/authorized_keys\u201d: No such file or directory")
        return {'keys': list(self.keys)}

    def guest_ssh_add_authorized_keys(self, args):
        base = [] if args.get('reset') or self.keys is None else self.keys
        self.keys = base + [k for k in args['keys'] if k not in base]
        return {}

    def guest_ssh_remove_authorized_keys(self, args):
        self.keys = [k for k in self.keys or [] if k not in args['keys']]
        return {}

    # password
    def guest_set_user_password(self, args):
        secret = base64.b64decode(args['password']).decode()
        value = secret if args['crypted'] else '$6$fake$' + secret[::-1]
        lines = [line for line in self.shadow.splitlines() if not line.startswith(args['username'] + ':')]
        lines.append('%s:%s:20779:0:99999:7:::' % (args['username'], value))
        self.shadow = '\n'.join(lines) + '\n'
        return {}

    def guest_file_open(self, args):
        self.handles[7] = [self.shadow.encode()]
        return 7

    def guest_file_read(self, args):
        chunks = self.handles[args['handle']]
        data = chunks.pop(0) if chunks else b''
        return {'count': len(data), 'buf-b64': base64.b64encode(data).decode(), 'eof': not chunks}

    def guest_file_close(self, args):
        self.handles.pop(args['handle'], None)
        return {}

    # filesystems
    def guest_fsfreeze_status(self, args):
        return 'frozen' if self.frozen else 'thawed'

    def guest_fsfreeze_freeze(self, args):
        self.frozen = True
        return 2

    def guest_fsfreeze_freeze_list(self, args):
        self.frozen = True
        return len(args['mountpoints'])

    def guest_fsfreeze_thaw(self, args):
        was, self.frozen = self.frozen, False
        return 2 if was else 0

    def guest_fstrim(self, args):
        return {'paths': [{'path': '/srv', 'trimmed': 4096, 'minimum': args.get('minimum', 0)},
                          {'path': '/boot', 'error': 'Operation not supported'}]}
