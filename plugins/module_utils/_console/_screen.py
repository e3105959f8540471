# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A VM's screen: captured through a libvirt stream, and the size and pixels of the PNG or PPM libvirt sends.

vm_screenshot writes it as a PNG file; vm_input reads its size to scale mouse moves.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import struct

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput, LibvirtError

PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
_CHUNK = 256 * 1024


def png_size(data):
    """(width, height) from a PNG's IHDR chunk; InvalidInput when it is not a PNG."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b'IHDR':
        raise InvalidInput('not a PNG image')
    return struct.unpack('>II', data[16:24])


def _ppm_tokens(data, count):
    """The first ``count`` header tokens of a PPM and the offset of the pixel data."""
    tokens, pos = [], 0
    while len(tokens) < count:
        while pos < len(data) and data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b'#':
            while pos < len(data) and data[pos:pos + 1] not in (b'\n', b'\r'):
                pos += 1
            continue
        start = pos
        while pos < len(data) and not data[pos:pos + 1].isspace() and data[pos:pos + 1] != b'#':
            pos += 1
        if start == pos:
            raise InvalidInput('truncated PPM header')
        tokens.append(data[start:pos])
    return tokens, pos + 1  # one whitespace byte ends the header


def parse_ppm(data):
    """(width, height, rgb_bytes) of a binary PPM (P6) image with 8 or 16 bits per sample."""
    tokens, offset = _ppm_tokens(data, 4)
    if tokens[0] != b'P6':
        raise InvalidInput('unsupported PPM variant %r (only binary P6 is read)' % tokens[0].decode('ascii', 'replace'))
    try:
        width, height, maxval = (int(t) for t in tokens[1:])
    except ValueError:
        raise InvalidInput('bad PPM header')
    if width <= 0 or height <= 0 or not 0 < maxval < 65536:
        raise InvalidInput('bad PPM header: %dx%d, maxval %d' % (width, height, maxval))
    samples = width * height * 3
    if maxval < 256:
        pixels = data[offset:offset + samples]
        if len(pixels) != samples:
            raise InvalidInput('PPM pixel data is truncated (%d of %d bytes)' % (len(pixels), samples))
        if maxval != 255:
            pixels = bytes(bytearray(v * 255 // maxval for v in bytearray(pixels)))
    else:
        wide = data[offset:offset + 2 * samples]
        if len(wide) != 2 * samples:
            raise InvalidInput('PPM pixel data is truncated (%d of %d bytes)' % (len(wide), 2 * samples))
        values = struct.unpack('>%dH' % samples, wide)
        pixels = bytes(bytearray(v * 255 // maxval for v in values))
    return width, height, pixels


def capture(conn, dom, screen=0):
    """(mime, bytes) of the VM's screen ``screen`` through a libvirt stream."""
    what = "VM '%s'" % dom.name()
    with conn.translated('take a screenshot of', what, 'the VM needs a graphics device and a video card'):
        stream = conn.virt.newStream(0)
        try:
            mime = dom.screenshot(stream, screen, 0)
            chunks = []
            while True:
                chunk = stream.recv(_CHUNK)
                if not chunk:
                    break
                chunks.append(chunk)
            stream.finish()
        except Exception:  # any failure: the stream is aborted, and the error goes on up
            try:
                stream.abort()
            except LibvirtError:  # the stream may be finished already; the first error is what counts
                pass
            raise
    return mime, b''.join(chunks)


def screen_size(conn, dom, screen=0):
    """(width, height) of the VM's screen in pixels, from a screenshot's header."""
    mime, data = capture(conn, dom, screen)
    if data.startswith(PNG_SIGNATURE):
        return png_size(data)
    width, height, dummy = parse_ppm(data)
    return width, height
