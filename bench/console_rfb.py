# -*- coding: utf-8 -*-
"""A small RFB (VNC) client over a plain socket: the direct path of the console benchmark.

Speaks RFB 3.8 with security type None (QEMU's VNC on 127.0.0.1 without a
password), asks for 32-bit true colour and the Raw encoding only, keeps a
copy of the framebuffer and applies every update to it.  Enough to connect,
send key events and see when a region of the screen changes:

    with RfbClient('127.0.0.1', 5900) as rfb:
        rfb.first_frame()
        seconds = rfb.key_latency(0x78, (9, 80, 18, 96))   # 'x', the glyph's box

Not a general client: no other encodings, no authentication, no clipboard.
"""

from __future__ import absolute_import, division, print_function

import socket
import struct
import time

SECURITY_NONE = 1
ENCODING_RAW = 0
BYTES_PER_PIXEL = 4
KEYSYMS = {'x': 0x78, 'BackSpace': 0xff08, 'Return': 0xff0d}


class RfbError(RuntimeError):
    """The server refused us or said something this client does not handle."""


class RfbClient:
    def __init__(self, host, port, timeout=10.0):
        self.address = (host, port)
        self.timeout = timeout
        self.sock = None
        self.width = self.height = 0
        self.name = ''
        self.framebuffer = bytearray()
        self.updates = 0

    def __enter__(self):
        self.connect()
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _read(self, size):
        data = bytearray()
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise RfbError('%s:%d closed the connection' % self.address)
            data += chunk
        return bytes(data)

    def connect(self):
        """Handshake, ClientInit (shared), pixel format and encodings; the server's desktop name."""
        self.sock = socket.create_connection(self.address, timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        version = self._read(12)
        if not version.startswith(b'RFB 003.'):
            raise RfbError('not an RFB server: %r' % version)
        self.sock.sendall(b'RFB 003.008\n')
        count = self._read(1)[0]
        if count == 0:
            length = struct.unpack('>I', self._read(4))[0]
            raise RfbError('refused: %s' % self._read(length).decode(errors='replace'))
        types = self._read(count)
        if SECURITY_NONE not in types:
            raise RfbError('the server wants authentication (security types %s); this client only does None'
                           % list(types))
        self.sock.sendall(bytes([SECURITY_NONE]))
        if struct.unpack('>I', self._read(4))[0] != 0:
            raise RfbError('security handshake failed')
        self.sock.sendall(b'\x01')  # shared: noVNC may be connected at the same time
        self.width, self.height = struct.unpack('>HH', self._read(4))
        self._read(16)  # the server's pixel format: replaced by ours below
        self.name = self._read(struct.unpack('>I', self._read(4))[0]).decode(errors='replace')
        # 32 bpp, depth 24, little endian, true colour, 255 per channel, red/green/blue shifts 16/8/0
        self.sock.sendall(struct.pack('>B3xBBBBHHHBBB3x', 0, 32, 24, 0, 1, 255, 255, 255, 16, 8, 0))
        self.sock.sendall(struct.pack('>BxHi', 2, 1, ENCODING_RAW))
        self.framebuffer = bytearray(self.width * self.height * BYTES_PER_PIXEL)
        return self.name

    def request(self, incremental=True):
        self.sock.sendall(struct.pack('>BBHHHH', 3, 1 if incremental else 0, 0, 0, self.width, self.height))

    def key(self, keysym, down):
        self.sock.sendall(struct.pack('>BBxxI', 4, 1 if down else 0, keysym))

    def read_message(self):
        """Read one server message; a framebuffer update is applied. Returns its type."""
        kind = self._read(1)[0]
        if kind == 0:
            count = struct.unpack('>xH', self._read(3))[0]
            for dummy in range(count):
                x, y, w, h, encoding = struct.unpack('>HHHHi', self._read(12))
                if encoding != ENCODING_RAW:
                    raise RfbError('unexpected encoding %d (only Raw was asked for)' % encoding)
                self._apply(x, y, w, h, self._read(w * h * BYTES_PER_PIXEL))
            self.updates += 1
        elif kind == 1:  # colour map entries: not used with true colour, skip
            count = struct.unpack('>xHH', self._read(5))[1]
            self._read(count * 6)
        elif kind == 3:  # server cut text
            self._read(self._read_length_after(3))
        elif kind != 2:  # 2 is the bell
            raise RfbError('unknown server message type %d' % kind)
        return kind

    def _read_length_after(self, padding):
        self._read(padding)
        return struct.unpack('>I', self._read(4))[0]

    def _apply(self, x, y, w, h, pixels):
        row = w * BYTES_PER_PIXEL
        for line in range(h):
            start = ((y + line) * self.width + x) * BYTES_PER_PIXEL
            self.framebuffer[start:start + row] = pixels[line * row:(line + 1) * row]

    def region(self, box):
        """The pixels of box (left, top, right, bottom) as bytes."""
        left, top, right, bottom = box
        return b''.join(bytes(self.framebuffer[((y * self.width) + left) * BYTES_PER_PIXEL:
                                               ((y * self.width) + right) * BYTES_PER_PIXEL])
                        for y in range(top, bottom))

    def first_frame(self):
        """Ask for the whole screen and wait for it; the seconds it took."""
        started = time.monotonic()
        self.request(incremental=False)
        while self.read_message() != 0:
            pass
        return time.monotonic() - started

    def key_latency(self, keysym, box, timeout=5.0):
        """Press and release keysym; seconds until the pixels in box change on our copy of the screen."""
        before = self.region(box)
        started = time.monotonic()
        self.key(keysym, True)
        self.key(keysym, False)
        while time.monotonic() - started < timeout:
            self.request(incremental=True)
            while self.read_message() != 0:
                pass
            if self.region(box) != before:
                return time.monotonic() - started
        raise RfbError('the screen did not change within %ss of the key %#x' % (timeout, keysym))
