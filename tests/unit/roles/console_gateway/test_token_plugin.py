# -*- coding: utf-8 -*-
"""The console gateway's websockify token plugin (roles/console_gateway/files/vmcat_console_tokens.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import logging
import multiprocessing
import os
import secrets
import stat
import time

import pytest


def new_token():
    return secrets.token_urlsafe(32)


@pytest.fixture
def plugin(tokens_module, store, clock):
    return tokens_module.OneTimeTokens(store.path, clock=clock, environ={})


# -- refusals -----------------------------------------------------------------------------------------

def test_unknown_token_is_refused(plugin):
    assert plugin.lookup(new_token()) is None


@pytest.mark.parametrize('token', ['', 'short', 'x' * 40 + '/../../etc', 'a b' * 20, None])
def test_malformed_token_is_refused_before_the_store_is_read(tokens_module, tmp_path, token):
    plugin = tokens_module.OneTimeTokens(str(tmp_path / 'missing'), environ={})
    assert plugin.lookup(token) is None


def test_expired_token_is_refused_and_removed(plugin, store, clock, caplog):
    token = new_token()
    name = store.write(token, ttl=120)
    clock.now += 121
    with caplog.at_level(logging.INFO, logger='websocket'):
        assert plugin.lookup(token) is None
    assert name + '.json' not in store.files()
    assert 'refused: expired' in caplog.text


def test_token_is_admitted_until_it_expires(plugin, store, clock):
    token = new_token()
    store.write(token, ttl=120)
    clock.now += 120
    assert plugin.lookup(token) == ('127.0.0.1', 5901)


def test_vnc_token_is_admitted_once(plugin, store, clock):
    token = new_token()
    name = store.write(token, target={'host': '127.0.0.1', 'port': 5907})
    assert plugin.lookup(token) == ('127.0.0.1', 5907)
    assert store.files() == [name + '.used']
    assert plugin.lookup(token) is None  # same instant: grace 0 admits nothing more
    clock.now += 1
    assert plugin.lookup(token) is None


def test_use_time_is_the_used_files_mtime(plugin, store, clock):
    token = new_token()
    name = store.write(token, created=clock.now - 30)
    clock.now += 0.5
    plugin.lookup(token)
    assert os.stat(os.path.join(store.path, name + '.used')).st_mtime == pytest.approx(clock.now)


def test_used_file_keeps_the_store_mode(plugin, store):
    token = new_token()
    name = store.write(token)
    plugin.lookup(token)
    assert stat.S_IMODE(os.stat(os.path.join(store.path, name + '.used')).st_mode) == 0o600


def _claim(tokens_module, path, token, barrier, results):
    plugin = tokens_module.OneTimeTokens(path, environ={})
    barrier.wait()
    results.put(plugin.lookup(token))


def test_five_concurrent_lookups_admit_exactly_one(tokens_module, store):
    """Like websockify: each connection is a forked process with its own plugin state."""
    token = new_token()
    store.write(token, created=time.time())
    context = multiprocessing.get_context('fork')
    barrier, results = context.Barrier(5), context.Queue()
    workers = [context.Process(target=_claim, args=(tokens_module, store.path, token, barrier, results))
               for dummy in range(5)]
    for worker in workers:
        worker.start()
    answers = [results.get(timeout=30) for dummy in workers]
    for worker in workers:
        worker.join(10)
    assert answers.count(None) == 4 and ('127.0.0.1', 5901) in answers


# -- SPICE grace ------------------------------------------------------------------------------------------

def test_spice_grace_admits_its_channels_within_the_window(plugin, store, clock):
    token = new_token()
    store.write(token, protocol='spice', grace=10, target={'host': '127.0.0.1', 'port': 5930})
    assert plugin.lookup(token) == ('127.0.0.1', 5930)  # main channel
    clock.now += 3
    assert [plugin.lookup(token) for dummy in range(3)] == [('127.0.0.1', 5930)] * 3  # display, inputs, cursor
    clock.now += 7
    assert plugin.lookup(token) == ('127.0.0.1', 5930)  # exactly at the edge
    clock.now += 0.01
    assert plugin.lookup(token) is None


# -- lazy clean-up -------------------------------------------------------------------------------------

def test_sweep_removes_what_can_no_longer_admit(plugin, tokens_module, store, clock):
    expired = store.write(new_token(), ttl=10, created=clock.now - 10 - tokens_module.RETENTION - 1)
    recently_expired = store.write(new_token(), ttl=10, created=clock.now - 20)
    alive = store.write(new_token(), ttl=120)
    used_token = new_token()
    used = store.write(used_token)
    plugin.lookup(used_token)
    stale_temp = os.path.join(store.path, '.stale.tmp')
    fresh_temp = os.path.join(store.path, '.fresh.tmp')
    for path, age in ((stale_temp, tokens_module.STALE_TEMP_AGE + 1), (fresh_temp, 1)):
        with open(path, 'w') as handle:
            handle.write('{')
        os.utime(path, (clock.now - age, clock.now - age))
    assert expired + '.json' not in store.files()  # the look-up swept it
    assert recently_expired + '.json' in store.files()  # kept a while: its late use is logged as expired
    clock.now += tokens_module.RETENTION + 1
    plugin.sweep(clock.now)
    assert store.files() == ['.fresh.tmp', alive + '.json']
    assert used + '.used' not in store.files()


def test_a_broken_token_file_refuses_without_crashing(plugin, store, caplog):
    token = new_token()
    name = store.write(token)
    with open(os.path.join(store.path, name + '.json'), 'w') as handle:
        handle.write('{"version": 2}')
    with caplog.at_level(logging.INFO, logger='websocket'):
        assert plugin.lookup(token) is None
    assert 'not a version 1 console token' in caplog.text


@pytest.mark.parametrize('target', [{'host': '127.0.0.1', 'port': 0}, {'host': '127.0.0.1', 'port': True},
                                    {'host': 'a b', 'port': 5900}, {'port': 5900}, 'x'])
def test_bad_target_is_refused(plugin, store, target):
    token = new_token()
    store.write(token, target=target)
    assert plugin.lookup(token) is None


# -- targets through SSH tunnels -----------------------------------------------------------------------------

@pytest.fixture
def fake_ssh(tmp_path):
    """An ssh stand-in that records its arguments and exits with the status in tmp_path/ssh.rc."""
    script = tmp_path / 'ssh'
    script.write_text('#!/bin/sh\necho "$@" >> %s/ssh.args\nexit $(cat %s/ssh.rc 2>/dev/null || echo 0)\n'
                      % (tmp_path, tmp_path))
    script.chmod(0o755)
    return tmp_path


@pytest.fixture
def tunnels(tmp_path, fake_ssh):
    path = tmp_path / 'tunnels'
    path.mkdir()
    (path / 'node1.ctl').write_text('')  # the control socket of a running tunnel
    return path


def test_tunnel_target_asks_the_control_master_for_a_forward(tokens_module, store, clock, tunnels, fake_ssh):
    plugin = tokens_module.OneTimeTokens(store.path, clock=clock, environ={
        'VMCAT_CONSOLE_TUNNEL_DIR': str(tunnels), 'VMCAT_CONSOLE_SSH': str(fake_ssh / 'ssh')})
    token = new_token()
    store.write(token, target={'node': 'node1', 'host': '127.0.0.1', 'port': 5901})
    sock = str(tunnels / 'node1-127.0.0.1-5901.sock')
    assert plugin.lookup(token) == ('unix_socket', sock)
    assert (fake_ssh / 'ssh.args').read_text().split() == [
        '-F', 'none', '-S', str(tunnels / 'node1.ctl'), '-O', 'forward', '-L', sock + ':127.0.0.1:5901', 'node1']


def test_tunnel_that_fails_refuses_and_keeps_the_token(tokens_module, store, clock, tunnels, fake_ssh, caplog):
    plugin = tokens_module.OneTimeTokens(store.path, clock=clock, environ={
        'VMCAT_CONSOLE_TUNNEL_DIR': str(tunnels), 'VMCAT_CONSOLE_SSH': str(fake_ssh / 'ssh')})
    token = new_token()
    name = store.write(token, target={'node': 'node1', 'host': '127.0.0.1', 'port': 5901})
    (fake_ssh / 'ssh.rc').write_text('255')
    with caplog.at_level(logging.INFO, logger='websocket'):
        assert plugin.lookup(token) is None
    assert 'node node1: ssh -O forward failed (exit 255)' in caplog.text
    assert store.files() == [name + '.json']  # not used up: a retry once the tunnel is back works
    (fake_ssh / 'ssh.rc').write_text('0')
    assert plugin.lookup(token)[0] == 'unix_socket'


@pytest.mark.parametrize('node, environ_dir, reason', [
    ('node2', True, 'node node2: its SSH tunnel is not up'),
    ('node1', False, 'this gateway has no SSH tunnels'),
    ('../etc', True, "bad node name '../etc'"),
])
def test_tunnel_refusals(tokens_module, store, tunnels, caplog, node, environ_dir, reason):
    environ = {'VMCAT_CONSOLE_TUNNEL_DIR': str(tunnels)} if environ_dir else {}
    plugin = tokens_module.OneTimeTokens(store.path, environ=environ)
    token = new_token()
    store.write(token, target={'node': node, 'host': '127.0.0.1', 'port': 5901},
                created=time.time())
    with caplog.at_level(logging.INFO, logger='websocket'):
        assert plugin.lookup(token) is None
    assert reason in caplog.text


# -- no token in the logs -----------------------------------------------------------------------------------

WEBSOCKIFY_LINES = [
    "127.0.0.1 - - [05/Dec/2026 10:00:00] 127.0.0.1: Path: '/websockify?token=%s'",
    "127.0.0.1: Token '%s' not found",
    '127.0.0.1 - - [05/Dec/2026 10:00:00] "GET /spice/spice_auto.html?path=websockify%%3Ftoken%%3D%s HTTP/1.1" 200 -',
    '127.0.0.1 - - [05/Dec/2026 10:00:00] "GET /websockify?foo=1&token=%s&bar=2 HTTP/1.1" 101 -',
]


@pytest.fixture
def websocket_logger():
    """websockify's logger set up as websockify_init() does: its own stream handler, no propagation."""
    logger = logging.getLogger('websocket')
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    old = logger.propagate, logger.level
    logger.propagate = False
    logger.setLevel(logging.INFO)
    yield logger, stream
    logger.removeHandler(handler)
    logger.propagate, logger.level = old


@pytest.mark.parametrize('line', WEBSOCKIFY_LINES)
@pytest.mark.parametrize('token', [secrets.token_urlsafe(32), 'abc', 'made-up'])
def test_filter_redacts_tokens_from_websockify_lines(tokens_module, tmp_path, websocket_logger, line, token):
    logger, stream = websocket_logger
    tokens_module.OneTimeTokens(str(tmp_path), environ={})
    logging.getLogger('websocket.WebSocketProxy').info(line, token)
    logger.info(line % token)
    text = stream.getvalue()
    assert token not in text
    assert text.count('<redacted>') == 2


def test_filter_redacts_tracebacks(tokens_module, tmp_path, websocket_logger):
    logger, stream = websocket_logger
    tokens_module.OneTimeTokens(str(tmp_path), environ={})
    token = secrets.token_urlsafe(32)
    try:
        raise RuntimeError("Token '%s' not found" % token)
    except RuntimeError:
        logger.info('handler exception', exc_info=True)
    assert 'RuntimeError' in stream.getvalue() and token not in stream.getvalue()


def _log_in_child(line, token):
    logging.getLogger('websocket.WebSocketProxy').info(line, token)


def test_filter_holds_in_forked_children(tokens_module, tmp_path):
    """The plugin is built in websockify's main process; each connection's forked child logs through the
    same handlers (a file here, as with --log-file)."""
    logger = logging.getLogger('websocket')
    log_file = tmp_path / 'websockify.log'
    handler = logging.FileHandler(str(log_file))
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        tokens_module.OneTimeTokens(str(tmp_path), environ={})
        token = secrets.token_urlsafe(32)
        child = multiprocessing.get_context('fork').Process(target=_log_in_child, args=(WEBSOCKIFY_LINES[0], token))
        child.start()
        child.join(10)
        handler.flush()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        handler.close()
    text = log_file.read_text()
    assert "Path: '/websockify?token=<redacted>'" in text and token not in text


def test_redactor_is_installed_once_per_handler(tokens_module, tmp_path, websocket_logger):
    logger, dummy = websocket_logger
    for dummy in range(3):
        tokens_module.OneTimeTokens(str(tmp_path), environ={}).lookup('x')
    assert all(sum(isinstance(f, tokens_module.TokenRedactor) for f in h.filters) == 1 for h in logger.handlers)
