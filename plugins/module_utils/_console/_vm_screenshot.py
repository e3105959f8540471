# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vm_screenshot: a VM's screen as a PNG file.

``virDomainScreenshot`` streams the screen as PNG (QEMU 7.1+) or PPM (older
QEMU); PPM is converted to PNG here in pure Python (zlib + struct).  The file
is replaced only when its bytes differ.  ``screen_size`` also serves
vm_input, which scales mouse moves to the screen.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import struct
import zlib

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput, LibvirtError, VmcatError
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._local_files import write_atomically
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._cycle import Outcome

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


def _png_chunk(kind, body):
    return struct.pack('>I', len(body)) + kind + body + struct.pack('>I', zlib.crc32(kind + body) & 0xffffffff)


def encode_png(width, height, rgb):
    """A PNG (8-bit RGB, no interlace, filter None on every row) of raw RGB bytes; deterministic."""
    stride = width * 3
    if len(rgb) != stride * height:
        raise InvalidInput('pixel data has %d bytes, a %dx%d RGB image needs %d'
                           % (len(rgb), width, height, stride * height))
    raw = b''.join(b'\x00' + rgb[row * stride:(row + 1) * stride] for row in range(height))
    header = struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)
    return (PNG_SIGNATURE + _png_chunk(b'IHDR', header) + _png_chunk(b'IDAT', zlib.compress(raw, 6))
            + _png_chunk(b'IEND', b''))


def to_png(mime, data):
    """(png_bytes, width, height, source_format) for what libvirt's screenshot gave."""
    kind = (mime or '').split(';')[0].strip().lower()
    if kind == 'image/png' or data.startswith(PNG_SIGNATURE):
        width, height = png_size(data)
        return data, width, height, 'png'
    if kind in ('image/x-portable-pixmap', 'image/x-portable-anymap') or data[:2] == b'P6':
        width, height, rgb = parse_ppm(data)
        return encode_png(width, height, rgb), width, height, 'ppm'
    raise VmcatError("the hypervisor sent a screenshot of type '%s', which this module cannot convert to PNG "
                     "(it reads PNG and PPM)" % mime)


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


# -- screenshots --------------------------------------------------------------

def _file_view(path):
    """What is at ``path`` now: None when nothing, else path, size, sha256 (and width/height of a PNG)."""
    if not os.path.exists(path):
        return None
    with open(path, 'rb') as f:
        data = f.read()
    view = dict(path=path, size=len(data), sha256=hashlib.sha256(data).hexdigest())
    try:
        view['width'], view['height'] = png_size(data)
    except InvalidInput:
        view['width'] = view['height'] = None
    return view


def check_dest(dest):
    if os.path.isdir(dest):
        raise InvalidInput("dest '%s' is a directory; give the path of the PNG file to write, such as %s"
                           % (dest, os.path.join(dest, 'screen.png')))
    directory = os.path.dirname(os.path.abspath(dest))
    if not os.path.isdir(directory):
        raise InvalidInput("the directory of dest '%s' does not exist on the host that runs the module" % dest)
    if os.path.exists(dest) and not os.path.isfile(dest):
        raise InvalidInput("dest '%s' exists and is not a regular file" % dest)


def take_screenshot(ctx):
    """vm_screenshot: save the screen as PNG at ``dest`` when its bytes differ from the file there."""
    p = ctx.params
    dest = p['dest']
    if p['screen'] < 0:
        raise InvalidInput('screen must be 0 or more (got %d)' % p['screen'])
    check_dest(dest)
    dom = ctx.conn.require_domain(p['name'])
    if not dom.isActive():
        raise VmcatError("VM '%s' on %s is not running; a screenshot needs a running or paused VM"
                         % (dom.name(), ctx.conn.uri), state='shutoff')
    mime, data = capture(ctx.conn, dom, p['screen'])
    png, width, height, source = to_png(mime, data)
    before = _file_view(dest)
    digest = hashlib.sha256(png).hexdigest()
    after = dict(path=dest, size=len(png), sha256=digest, width=width, height=height)
    changed = before is None or before['sha256'] != digest
    if changed:
        ctx.act('write %s' % dest, write_atomically, dest, png, ctx.module)
    else:
        after = before
    return Outcome(changed, before, after, vm=dom.name(), screen=p['screen'], source_format=source,
                   actions=ctx.actions)


# -- input ----------------------------------------------------------------------
