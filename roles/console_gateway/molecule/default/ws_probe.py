# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Open a console WebSocket through the gateway and read the first message the VM's display server sends.

Usage: ws_probe.py URL [--cafile FILE] [--timeout SECONDS]   (the token comes on standard input)

URL is the gateway's WebSocket endpoint, such as wss://127.0.0.1:6080/websockify; the token read from
standard input (never the command line, where ps would show it) is sent as ``?token=``. With a wss URL
the certificate is checked against --cafile (the gateway's own self-signed certificate, say); without
--cafile it is not checked. Prints one JSON object:

    {"admitted": true, "banner": "RFB 003.008\\n"}        the WebSocket opened and the server spoke
    {"admitted": false, "reason": "..."}                   the gateway refused or closed the connection

A VNC server speaks first (its RFB version banner), so one binary frame from the gateway proves the
whole chain: TLS, the token, the target, the proxy.
"""

from __future__ import absolute_import, division, print_function

import argparse
import base64
import hashlib
import json
import os
import socket
import ssl
import struct
import sys
from urllib.parse import urlsplit

WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'


class Refused(Exception):
    """The gateway did not open the WebSocket."""


def _read_exactly(sock, count):
    data = b''
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise Refused('connection closed after %d of %d bytes' % (len(data), count))
        data += chunk
    return data


def _read_headers(sock):
    data = b''
    while b'\r\n\r\n' not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise Refused('connection closed before the WebSocket handshake answered'
                          if not data else 'connection closed in the handshake answer')
        data += chunk
    head = data.split(b'\r\n\r\n', 1)[0].decode('latin-1').split('\r\n')
    headers = dict((k.strip().lower(), v.strip()) for k, v in (line.split(':', 1) for line in head[1:] if ':' in line))
    return head[0], headers


def _read_frame(sock):
    first, second = _read_exactly(sock, 2)
    opcode, length = first & 0x0F, second & 0x7F
    if length == 126:
        length = struct.unpack('!H', _read_exactly(sock, 2))[0]
    elif length == 127:
        length = struct.unpack('!Q', _read_exactly(sock, 8))[0]
    mask = _read_exactly(sock, 4) if second & 0x80 else b''
    payload = _read_exactly(sock, length)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return opcode, payload


def _close(sock):
    """Close the WebSocket (a masked close frame, code 1000) and TLS properly, so the gateway logs no error."""
    mask = os.urandom(4)
    payload = struct.pack('!H', 1000)
    sock.sendall(bytes([0x88, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
    try:
        _read_frame(sock)  # the gateway's close frame
        if isinstance(sock, ssl.SSLSocket):
            sock.unwrap()
    except (Refused, OSError, ValueError):
        pass


def probe(url, token, cafile=None, timeout=10.0):
    """Open url?token=token; the probe's result as a dict (see the module docstring)."""
    parts = urlsplit(url)
    secure = parts.scheme in ('wss', 'https')
    port = parts.port or (443 if secure else 80)
    sock = None
    try:
        sock = socket.create_connection((parts.hostname, port), timeout=timeout)
        if secure:
            context = ssl.create_default_context(cafile=cafile) if cafile else ssl._create_unverified_context()
            sock = context.wrap_socket(sock, server_hostname=parts.hostname)
        key = base64.b64encode(os.urandom(16)).decode('ascii')
        request = ('GET %s?token=%s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
                   'Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: binary\r\n\r\n'
                   % (parts.path or '/', token, parts.hostname, port, key))
        sock.sendall(request.encode('ascii'))
        status, headers = _read_headers(sock)
        if status.split()[1:2] != ['101']:
            raise Refused('the gateway answered %s' % status)
        accept = base64.b64encode(hashlib.sha1((key + WEBSOCKET_GUID).encode('ascii')).digest()).decode('ascii')
        if headers.get('sec-websocket-accept') != accept:
            raise Refused('bad Sec-WebSocket-Accept header')
        opcode, payload = _read_frame(sock)
        if opcode == 8:
            raise Refused('the gateway closed the WebSocket: %s' % payload[2:].decode('utf-8', 'replace'))
        _close(sock)
        return {'admitted': True, 'banner': payload.decode('latin-1')}
    except (Refused, OSError) as exc:
        return {'admitted': False, 'reason': str(exc)}
    finally:
        if sock is not None:
            sock.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('url')
    parser.add_argument('--cafile')
    parser.add_argument('--timeout', type=float, default=10.0)
    args = parser.parse_args(argv)
    token = sys.stdin.readline().strip()
    print(json.dumps(probe(args.url, token, args.cafile, args.timeout)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
