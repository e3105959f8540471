# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compare two screen images pixel by pixel, or tell whether one is blank (Pillow).

Usage: png_compare.py compare A B [--tolerance T] [--diff OUT.png]
       png_compare.py describe A [--find NEEDLE]

``compare`` prints JSON: both sizes, ``same_size``, ``differing_pixels``
(pixels where some colour channel differs by more than T, default 0),
``total_pixels`` and ``bbox`` (the box holding every difference, or null).
Images of different sizes are not compared pixel by pixel
(``differing_pixels`` is then null).  ``--diff`` writes the differing pixels
in white on black.  ``describe`` prints the size and the number of distinct
colours (1 means blank), and with ``--find`` where NEEDLE appears in it
unchanged (``found``: [x, y] or null; a viewer window's capture holds the
guest's screen).  Both read any format Pillow reads (PNG, PPM) and
ignore alpha: a browser canvas is RGBA, a VM screenshot RGB.
"""

from __future__ import annotations

import argparse
import io
import json
import sys

from PIL import Image, ImageChops

__all__ = ['compare', 'describe', 'load', 'locate']


def load(image):
    """An RGB image from a path, PNG bytes or an Image."""
    if isinstance(image, Image.Image):
        return image.convert('RGB')
    if isinstance(image, (bytes, bytearray)):
        image = io.BytesIO(image)
    with Image.open(image) as opened:
        return opened.convert('RGB')


def difference_mask(first, second, tolerance=0):
    """A mode '1'-like 'L' image: 255 where some channel differs by more than tolerance."""
    diff = ImageChops.difference(first, second)
    red, green, blue = (band.point(lambda value: 255 if value > tolerance else 0) for band in diff.split())
    return ImageChops.lighter(ImageChops.lighter(red, green), blue)


def compare(first, second, tolerance=0, diff_path=None):
    """How far two images are apart (see the module's docstring for the keys)."""
    first, second = load(first), load(second)
    result = {'size_a': list(first.size), 'size_b': list(second.size), 'same_size': first.size == second.size,
              'total_pixels': first.size[0] * first.size[1], 'tolerance': tolerance,
              'differing_pixels': None, 'bbox': None}
    if not result['same_size']:
        return result
    mask = difference_mask(first, second, tolerance)
    result['differing_pixels'] = mask.histogram()[255]
    box = mask.getbbox()
    result['bbox'] = list(box) if box else None
    if diff_path:
        mask.save(diff_path, format='PNG')
    return result


def _busiest_row(image):
    """The row of image with the most colour changes along it (a row of text, not of background)."""
    width = image.size[0]
    data = image.tobytes()

    def changes(y):
        row = data[y * width * 3:(y + 1) * width * 3]
        return sum(1 for x in range(3, len(row), 3) if row[x:x + 3] != row[x - 3:x])
    return max(range(image.size[1]), key=changes)


def locate(haystack, needle):
    """Where needle appears pixel for pixel inside haystack: [x, y] of its top left corner, or None.

    For a screen capture that holds a viewer window: the guest's screen must be in it unchanged.
    """
    haystack, needle = load(haystack), load(needle)
    (width, height), (n_width, n_height) = haystack.size, needle.size
    anchor = _busiest_row(needle)
    row = needle.crop((0, anchor, n_width, anchor + 1)).tobytes()
    data = haystack.tobytes()
    for y in range(anchor, height - n_height + anchor + 1):
        line = data[y * width * 3:(y + 1) * width * 3]
        pos = line.find(row)
        while pos != -1:
            if pos % 3 == 0:
                x, top = pos // 3, y - anchor
                if ImageChops.difference(haystack.crop((x, top, x + n_width, top + n_height)), needle).getbbox() is None:
                    return [x, top]
            pos = line.find(row, pos + 1)
    return None


def describe(image):
    """Size and distinct colours of an image; a blank screen has one colour."""
    image = load(image)
    colours = image.getcolors(maxcolors=image.size[0] * image.size[1])
    return {'width': image.size[0], 'height': image.size[1], 'distinct_colours': len(colours),
            'most_common_share': round(max(colours)[0] / float(image.size[0] * image.size[1]), 4)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='action', required=True)
    cmp_parser = sub.add_parser('compare')
    cmp_parser.add_argument('first')
    cmp_parser.add_argument('second')
    cmp_parser.add_argument('--tolerance', type=int, default=0, help='per-channel difference still counted as equal')
    cmp_parser.add_argument('--diff', help='write a PNG of the differing pixels here')
    desc_parser = sub.add_parser('describe')
    desc_parser.add_argument('image')
    desc_parser.add_argument('--find', metavar='NEEDLE', help='also locate this image inside it (key "found")')
    args = parser.parse_args(argv)
    if args.action == 'compare':
        print(json.dumps(compare(args.first, args.second, args.tolerance, args.diff)))
    else:
        result = describe(args.image)
        if args.find:
            result['found'] = locate(args.image, args.find)
        print(json.dumps(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
