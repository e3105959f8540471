# -*- coding: utf-8 -*-
"""The token plugin inside Debian's real websockify (a process of its own, as the role runs it).

A fake VNC server on 127.0.0.1 sends the RFB banner; the role's WebSocket probe opens the gateway with a
token. Proves: the plugin loads from PYTHONPATH, one-time use across websockify's forked children, and
websockify's log (which names the request path and refused tokens) holds no token.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import secrets
import socket
import subprocess
import threading
import time

import pytest

from .conftest import PLUGIN_DIR

WEBSOCKIFY = '/usr/bin/websockify'  # Debian's, run by its own /usr/bin/python3 (the role does the same)
BANNER = b'RFB 003.008\n'


@pytest.fixture
def vnc_server():
    """A listener that greets every connection with the RFB banner; yields its port."""
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(8)
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, dummy = listener.accept()
            except socket.timeout:
                continue
            with conn:
                conn.sendall(BANNER)
                time.sleep(0.2)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(2)
    listener.close()


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture
def gateway(tmp_path, store):
    if not os.path.exists(WEBSOCKIFY):
        pytest.fail('%s is missing: install the Debian package websockify (scripts/system-packages.sh test)'
                    % WEBSOCKIFY)
    web = tmp_path / 'www'
    web.mkdir()
    (web / 'index.html').write_text('gateway')
    port = _free_port()
    log = tmp_path / 'websockify.log'
    with open(str(log), 'w') as out:
        proc = subprocess.Popen(
            [WEBSOCKIFY, '--web', str(web), '--token-plugin', 'vmcat_console_tokens.OneTimeTokens',
             '--token-source', store.path, '127.0.0.1:%d' % port],
            stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONPATH=PLUGIN_DIR), cwd=str(tmp_path))
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail('websockify did not listen: %s' % log.read_text())
            time.sleep(0.1)
    yield 'ws://127.0.0.1:%d/websockify' % port, log
    proc.terminate()
    proc.wait(10)


def test_token_opens_the_console_once_and_never_reaches_the_log(gateway, store, ws_probe, vnc_server):
    url, log = gateway
    token = secrets.token_urlsafe(32)
    made_up = secrets.token_urlsafe(32)
    store.write(token, target={'host': '127.0.0.1', 'port': vnc_server}, created=time.time())

    first = ws_probe.probe(url, token)
    second = ws_probe.probe(url, token)
    unknown = ws_probe.probe(url, made_up)
    time.sleep(0.5)  # the forked children write their last lines

    assert first == {'admitted': True, 'banner': BANNER.decode()}
    assert not second['admitted'] and not unknown['admitted']
    text = log.read_text()
    assert text.count('refused: already used') == 1 and text.count('refused: unknown token') == 1, text
    assert "Path: '/websockify?token=<redacted>'" in text, text
    assert token not in text and made_up not in text
