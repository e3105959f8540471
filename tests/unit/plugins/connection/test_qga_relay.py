# -*- coding: utf-8 -*-
"""The qga connection's persistent relay: frames, the socket directory, the relay's requests and lifetime,
the client's start and failure messages, and the plugin with vmcat_qga_persistent."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import os
import socket
import subprocess
import sys
import threading

import pytest

from ansible.errors import AnsibleConnectionFailure, AnsibleError

from ansible_collections.vmcat.libvirt.plugins.connection import qga as qga_plugin
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._connection import Connection
from ansible_collections.vmcat.libvirt.plugins.plugin_utils import _qga_relay as relay
from ansible_collections.vmcat.libvirt.plugins.plugin_utils import _qga_relay_server as server
from ansible_collections.vmcat.libvirt.plugins.plugin_utils import _qga_transport as transport
from ansible_collections.vmcat.libvirt.tests.unit.plugins.connection.test_qga import FakeAgent, _plugin

URI = 'test:///default'


@pytest.fixture
def agent(monkeypatch):
    fake = FakeAgent()
    monkeypatch.setattr(transport, 'agent_command', fake)
    return fake


@pytest.fixture
def short_tmp(tmp_path_factory):
    """A directory with a short path: Unix socket paths have about 100 bytes."""
    import tempfile
    path = tempfile.mkdtemp(prefix='qr', dir='/tmp')
    os.chmod(path, 0o700)
    yield path
    import shutil
    shutil.rmtree(path, ignore_errors=True)


# -- frames and paths ---------------------------------------------------------------------------
def test_frames_round_trip_and_end():
    a, b = socket.socketpair()
    sender = threading.Thread(target=relay.send_frame, args=(a, {'op': 'exec', 'cmd': 'x' * 300000}))
    sender.start()  # more than the socket buffer holds
    assert relay.recv_frame(b) == {'op': 'exec', 'cmd': 'x' * 300000}
    sender.join()
    a.close()
    assert relay.recv_frame(b) is None
    b.close()


def test_frame_too_large_is_refused():
    a, b = socket.socketpair()
    a.sendall(relay.HEADER.pack(relay.MAX_FRAME + 1))
    with pytest.raises(ValueError, match='larger than'):
        relay.recv_frame(b)
    a.close()
    b.close()


def test_private_dir_made_0700_and_open_dir_refused(tmp_path):
    made = relay.private_dir(str(tmp_path / 'pc'))
    assert os.stat(made).st_mode & 0o777 == 0o700
    os.chmod(made, 0o755)
    with pytest.raises(relay.RelayError, match='chmod 700 %s' % made):
        relay.private_dir(made)
    (tmp_path / 'file').write_text('x')
    with pytest.raises(relay.RelayError, match='could not make the directory .*/file/pc for the relay socket'):
        relay.private_dir(str(tmp_path / 'file' / 'pc'))


def test_socket_path_per_run_uri_and_vm():
    one = relay.socket_path('/d', 10, URI, 'web')
    assert one == relay.socket_path('/d', 10, URI, 'web')
    assert len({one, relay.socket_path('/d', 11, URI, 'web'), relay.socket_path('/d', 10, 'qemu:///system', 'web'),
                relay.socket_path('/d', 10, URI, 'db')}) == 4
    assert len(os.path.basename(one)) < 40


# -- the relay's requests (test:///default's VM "test", a fake agent) ------------------------------
def test_relay_exec_put_fetch(agent, tmp_path):
    rel = server.Relay(URI, 'test')
    reply = rel.handle({'op': 'exec', 'cmd': 'echo hi', 'shell': '/bin/sh',
                        'stdin': base64.b64encode(b'payload').decode()})
    assert reply['rc'] == 3 and base64.b64decode(reply['stdout']).startswith(b'out:payload')
    assert [c for c in agent.calls if c[0] == 'guest-exec'][0][1]['arg'] == ['-c', 'echo hi']
    src = tmp_path / 'src'
    src.write_bytes(b'data' * 5000)
    assert rel.handle({'op': 'put', 'src': str(src), 'dest': '/tmp/x'}) == {'ok': True}
    assert agent.files['/tmp/x'] == b'data' * 5000
    assert rel.handle({'op': 'fetch', 'src': '/tmp/x', 'dest': str(tmp_path / 'back')}) == {'ok': True}
    assert (tmp_path / 'back').read_bytes() == b'data' * 5000
    assert not [c for c in agent.calls if c[0] == 'guest-exec' and 'sha256sum' in c[1]['arg'][-1]]
    agent.corrupt = True  # with checksum: true the relay asks the guest for a digest and compares
    assert 'checksum of /tmp/x' in rel.handle({'op': 'put', 'src': str(src), 'dest': '/tmp/x', 'checksum': True})['error']
    assert 'checksum of /tmp/x' in rel.handle({'op': 'fetch', 'src': '/tmp/x', 'dest': str(tmp_path / 'back'),
                                               'checksum': True})['error']
    rel.close()


def test_relay_errors_are_replies(agent, tmp_path):
    rel = server.Relay(URI, 'nope')
    assert "VM 'nope' not found on test:///default" in rel.handle({'op': 'ping'})['error']
    rel = server.Relay(URI, 'test')
    assert 'could not put' in rel.handle({'op': 'put', 'src': str(tmp_path / 'none'), 'dest': '/x'})['error']
    assert "does not know the request 'frobnicate'" in rel.handle({'op': 'frobnicate'})['error']
    agent.disabled = ('guest-exec',)
    assert 'guest-exec is disabled' in rel.handle({'op': 'exec', 'cmd': 'true', 'shell': '/bin/sh'})['error']
    rel.close()


class DyingConnection(Connection):
    """test:///default that reports itself dead after the first lookup (libvirtd restarted)."""
    opened = []

    def open(self):
        DyingConnection.opened.append(self)
        return super(DyingConnection, self).open()

    def alive(self):
        return self is not DyingConnection.opened[0]


def test_relay_reopens_a_dead_connection(agent):
    DyingConnection.opened = []
    rel = server.Relay(URI, 'test', connection_factory=DyingConnection)
    assert rel.handle({'op': 'ping'}) == {'ok': True}
    assert rel.handle({'op': 'ping'}) == {'ok': True}
    assert len(DyingConnection.opened) == 2 and DyingConnection.opened[0].virt is None  # the dead one was closed
    rel.close()


# -- the server: greeting, stop, idle timeout --------------------------------------------------------
def _serve(path, idle_timeout=30, clock=None):
    srv = server.Server(server.Relay(URI, 'test'), path, idle_timeout, clock=clock or __import__('time').monotonic)
    srv.listen()
    thread = threading.Thread(target=srv.serve_forever)
    thread.daemon = True
    thread.start()
    return srv, thread


def test_server_serves_then_stops_and_cleans_up(agent, short_tmp):
    path = os.path.join(short_tmp, 's')
    srv, thread = _serve(path)
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o600)
    client = relay.RelayClient(path, {'uri': URI, 'vm': 'test'}, 10)
    assert client.call('exec', cmd='true', shell='/bin/sh')['rc'] == 3
    client.close()
    assert relay.stop(path) is True
    thread.join(5)
    assert not thread.is_alive() and not os.path.exists(path) and srv.relay._conn is None
    assert relay.stop(path) is False  # nothing listens any more


def test_server_idle_timeout_waits_for_active_clients(agent, short_tmp):
    now = {'t': 0.0}
    srv = server.Server(server.Relay(URI, 'test'), os.path.join(short_tmp, 's'), 30, clock=lambda: now['t'])
    now['t'] = 31
    assert srv.should_exit()
    srv._active = 1
    assert not srv.should_exit()
    srv._active, srv._last = 0, 31
    assert not srv.should_exit()


def test_server_exits_when_the_playbook_is_gone(agent, short_tmp):
    proc = subprocess.Popen([sys.executable, '-c', 'pass'])
    proc.wait()
    srv = server.Server(server.Relay(URI, 'test'), os.path.join(short_tmp, 's'), 30, playbook_pid=proc.pid)
    assert srv.should_exit()
    srv.playbook_pid = os.getpid()
    assert not srv.should_exit()


def test_same_user_peer_is_accepted():
    a, b = socket.socketpair()
    assert server.Server(None, '/x', 1)._same_user(a)
    a.close()
    b.close()


def test_client_without_greeting_starts_a_new_relay(agent, short_tmp, monkeypatch):
    path = os.path.join(short_tmp, 's')
    mute = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # a relay on its way out: accepts, never greets
    mute.bind(path)
    mute.listen(1)
    started = []

    def start(p, config, where):
        mute.close()
        os.unlink(p) if os.path.exists(p) else None
        started.append(_serve(p))

    monkeypatch.setattr(relay, '_start', start)
    client = relay.RelayClient(path, {'uri': URI, 'vm': 'test'}, 2)
    assert client.call('ping') == {'ok': True}
    assert len(started) == 1
    client.close()
    relay.stop(path)
    started[0][1].join(5)


def test_failed_start_leaves_no_lock_file(short_tmp, monkeypatch):
    path = os.path.join(short_tmp, 's')

    def start(p, config, where):
        assert os.path.exists(p + '.lock')
        raise relay.RelayError("VM 'nope' not found on test:///default")

    monkeypatch.setattr(relay, '_start', start)
    with pytest.raises(relay.RelayError, match="'nope' not found"):
        relay.RelayClient(path, {'uri': URI, 'vm': 'nope'}, 2).open()
    assert os.listdir(short_tmp) == []


class _NoRelay:
    def close(self):
        pass


def test_a_relay_stopping_late_leaves_no_lock_file(short_tmp):
    path = os.path.join(short_tmp, 's')
    late = server.Server(_NoRelay(), path, 1)
    late.listen()
    os.unlink(path)  # meanwhile a newer relay took the path, served and went: socket and lock file gone
    late.shutdown()  # looks under the lock (which makes the file again): it must not stay behind
    assert os.listdir(short_tmp) == []
    late = server.Server(_NoRelay(), path, 1)
    late.listen()
    os.unlink(path)
    newer = server.Server(_NoRelay(), path, 1)  # a newer relay serves at the path now, with its lock file
    newer.listen()
    open(path + '.lock', 'w').close()
    late.shutdown()
    assert sorted(os.listdir(short_tmp)) == ['s', 's.lock']
    newer.shutdown()
    assert os.listdir(short_tmp) == []


def test_killed_relay_message(agent, short_tmp):
    path = os.path.join(short_tmp, 's')
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)

    def greet_and_die():
        sock = listener.accept()[0]
        relay.send_frame(sock, relay.GREETING)
        relay.recv_frame(sock)
        sock.close()

    thread = threading.Thread(target=greet_and_die)
    thread.start()
    client = relay.RelayClient(path, {'uri': URI, 'vm': 'web'}, 5)
    with pytest.raises(relay.RelayError, match="relay for VM 'web' on test:///default ended during exec .*next task"):
        client.call('exec', cmd='true')
    thread.join(5)
    listener.close()


def test_start_reports_the_relays_error_or_its_silence(short_tmp, monkeypatch):
    path = os.path.join(short_tmp, 's')
    monkeypatch.setattr(relay, '_BOOT', 'import sys; sys.stdin.readline(); print(\'{"error": "VM x not found"}\')')
    with pytest.raises(relay.RelayError, match='^VM x not found$'):
        relay._start(path, {}, "VM 'x' on test:///default")
    monkeypatch.setattr(relay, '_BOOT', 'import sys; sys.exit(3)')
    with pytest.raises(relay.RelayError, match=r"VM 'x' on test:///default ended at start \(exit code 3\): it said "
                                               r"nothing; fix that, or set vmcat_qga_persistent: false"):
        relay._start(path, {}, "VM 'x' on test:///default")
    monkeypatch.setattr(relay, '_BOOT', 'import libvirt_is_not_here')
    with pytest.raises(relay.RelayError, match=r"(?s)exit code 1\): Traceback .*No module named 'libvirt_is_not_here'"):
        relay._start(path, {}, "VM 'x' on test:///default")


# -- the plugin with vmcat_qga_persistent -------------------------------------------------------------
class FakeClient:
    def __init__(self, path, config, timeout):
        self.path, self.config, self.calls = path, config, []
        FakeClient.last = self

    def open(self):
        return self

    def call(self, op, timeout=None, **args):
        self.calls.append((op, args))
        if args.get('cmd') == 'fail':
            raise relay.RelayError('guest-exec is disabled')
        return {'ok': True, 'rc': 0, 'stdout': base64.b64encode(b'out').decode(), 'stderr': ''}

    def close(self):
        pass


def test_plugin_persistent_forwards_to_the_relay(monkeypatch, tmp_path):
    monkeypatch.setattr(relay, 'RelayClient', FakeClient)
    monkeypatch.setattr(qga_plugin.C, 'PERSISTENT_CONTROL_PATH_DIR', str(tmp_path / 'pc'))
    stopped = []
    monkeypatch.setattr(relay, 'stop', lambda path: stopped.append(path) or True)
    conn = _plugin({'inventory_hostname': 'web', 'vmcat_qga_uri': URI, 'vmcat_qga_persistent': True})
    assert conn.exec_command('echo hi', in_data=b'in') == (0, b'out', b'')
    client = FakeClient.last
    assert client.config['vm'] == 'web' and client.config['uri'] == URI and client.config['idle_timeout'] == 30
    op, args = client.calls[0]
    assert op == 'exec' and args['cmd'] == 'echo hi' and base64.b64decode(args['stdin']) == b'in'
    src = tmp_path / 'f'
    src.write_bytes(b'x')
    conn.put_file(str(src), '/tmp/f')
    assert client.calls[-1] == ('put', dict(src=str(src), dest='/tmp/f', agent_timeout=10, command_timeout=600,
                                            checksum=False))
    conn.fetch_file('/tmp/f', str(tmp_path / 'back'))
    assert client.calls[-1] == ('fetch', dict(src='/tmp/f', dest=str(tmp_path / 'back'), agent_timeout=10,
                                              command_timeout=600, checksum=False))
    with pytest.raises(AnsibleConnectionFailure, match='^vmcat.libvirt.qga: guest-exec is disabled'):
        conn.exec_command('fail')
    with pytest.raises(AnsibleError, match='file or module does not exist'):
        conn.put_file(str(tmp_path / 'none'), '/tmp/f')
    conn.reset()
    assert stopped == [client.path] and client.path.startswith(str(tmp_path / 'pc'))
    conn = _plugin({'inventory_hostname': 'web', 'vmcat_qga_uri': URI, 'vmcat_qga_persistent': True,
                    'vmcat_qga_checksum': True})
    conn.put_file(str(src), '/tmp/f')
    assert FakeClient.last.calls[-1][1]['checksum'] is True


def test_worker_with_relay_does_not_import_libvirt():
    """What a task's worker loads for the plugin: the plugin and the relay client, never libvirt or the core."""
    code = ('import sys\n'
            'from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder\n'
            '_AnsibleCollectionFinder(paths=sys.argv[1:])._install()\n'
            'from ansible_collections.vmcat.libvirt.plugins.connection import qga\n'
            'print(sorted(m for m in sys.modules if m.startswith("libvirt") or "module_utils._core" in m))\n')
    paths = [p for p in sys.path if os.path.isdir(os.path.join(p, 'ansible_collections', 'vmcat'))]
    out = subprocess.run([sys.executable, '-c', code] + paths, stdout=subprocess.PIPE, check=True).stdout
    assert out.strip() == b'[]'
