# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vm_screenshot: a VM's screen as a PNG file.

``virDomainScreenshot`` streams the screen as PNG (QEMU 7.1+) or PPM (older
QEMU); PPM is converted to PNG here in pure Python (zlib + struct).  The file
is replaced only when its bytes differ.  Reading the screen and the image
headers is ``_screen``, which vm_input uses too.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import struct
import zlib

from ansible_collections.vmcat.libvirt.plugins.module_utils._console._screen import PNG_SIGNATURE, capture, parse_ppm, png_size
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput, VmcatError
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._local_files import write_atomically
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._cycle import Outcome


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
