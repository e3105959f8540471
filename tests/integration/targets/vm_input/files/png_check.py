# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decode a PNG file completely and describe it, for the vm_screenshot tests.

A small independent reader: checks the signature and every chunk's CRC,
inflates the image data and undoes the five PNG row filters, for 8-bit
greyscale, RGB, palette and RGBA images without interlacing.

Usage: png_check.py FILE   ->  JSON {"width", "height", "color_type", "distinct_pixels", "first_pixel"}
"""

from __future__ import absolute_import, division, print_function

import json
import struct
import sys
import zlib

CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def chunks(data):
    if data[:8] != b'\x89PNG\r\n\x1a\n':
        raise ValueError('not a PNG file')
    pos = 8
    while pos < len(data):
        length, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc = struct.unpack('>I', data[pos + 8 + length:pos + 12 + length])[0]
        if crc != zlib.crc32(kind + body) & 0xffffffff:
            raise ValueError('bad CRC in chunk %r' % kind)
        yield kind, body
        pos += 12 + length


def paeth(left, up, corner):
    p = left + up - corner
    pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
    if pa <= pb and pa <= pc:
        return left
    return up if pb <= pc else corner


def decode(data):
    header, idat = None, b''
    for kind, body in chunks(data):
        if kind == b'IHDR':
            header = struct.unpack('>IIBBBBB', body)
        elif kind == b'IDAT':
            idat += body
    width, height, depth, color, dummy, dummy, interlace = header
    if depth != 8 or interlace or color not in CHANNELS:
        raise ValueError('unsupported PNG: depth %d, colour type %d, interlace %d' % (depth, color, interlace))
    bpp = CHANNELS[color]
    stride = width * bpp
    raw = zlib.decompress(idat)
    if len(raw) != height * (stride + 1):
        raise ValueError('image data has %d bytes, expected %d' % (len(raw), height * (stride + 1)))
    rows, prev = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            corner = prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xff
            elif kind == 2:
                line[i] = (line[i] + prev[i]) & 0xff
            elif kind == 3:
                line[i] = (line[i] + (left + prev[i]) // 2) & 0xff
            elif kind == 4:
                line[i] = (line[i] + paeth(left, prev[i], corner)) & 0xff
            elif kind != 0:
                raise ValueError('unknown filter %d in row %d' % (kind, y))
        rows.append(bytes(line))
        prev = line
    return width, height, color, bpp, rows


def main(path):
    with open(path, 'rb') as f:
        width, height, color, bpp, rows = decode(f.read())
    pixels = set()
    for row in rows:
        for x in range(0, len(row), bpp):
            pixels.add(row[x:x + bpp])
    print(json.dumps({'width': width, 'height': height, 'color_type': color, 'distinct_pixels': len(pixels),
                      'first_pixel': list(bytearray(rows[0][:bpp]))}))


if __name__ == '__main__':
    main(sys.argv[1])
