# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sizes with units, parsed once, following libvirt's unit rules.

A bare letter (``K``, ``M``, ``G``, ``T``, ``P``, ``E``, any case) and the
``KiB``..``EiB`` forms are powers of 1024; ``KB``..``EB`` are powers of 1000;
``B``/``bytes`` or no unit is bytes.  ``10G`` == ``10GiB`` == 10 * 1024**3,
``10GB`` == 10 * 10**9.  A fraction of a unit is rounded down to whole bytes
(``1.1K`` is 1126); a fraction of a byte (``1.5`` with bytes as the unit) is
refused, as almost surely a forgotten unit.  Nothing larger than libvirt's
limit, an unsigned 64-bit number of bytes (just under 16 EiB), is accepted.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from decimal import Decimal, InvalidOperation

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput

_POWERS = {'k': 1, 'm': 2, 'g': 3, 't': 4, 'p': 5, 'e': 6}
_SIZE_RE = re.compile(r'^\s*([0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*([A-Za-z]*)\s*$')
_BINARY_NAMES = ('B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB')
MAX_BYTES = 2 ** 64 - 1  # libvirt keeps sizes as unsigned long long


def unit_factor(unit, what='size'):
    """Bytes per ``unit``; InvalidInput for a unit libvirt would not accept."""
    u = unit.strip()
    low = u.lower()
    if low in ('', 'b', 'byte', 'bytes'):
        return 1
    if len(low) == 1 and low in _POWERS:
        return 1024 ** _POWERS[low]
    if len(low) == 3 and low[1:] == 'ib' and low[0] in _POWERS:
        return 1024 ** _POWERS[low[0]]
    if len(low) == 2 and low[1] == 'b' and low[0] in _POWERS:
        return 1000 ** _POWERS[low[0]]
    raise InvalidInput(
        "%s has an unknown unit '%s'; use bytes (B) or one of K, M, G, T, P, E (powers of 1024, also "
        "written KiB, MiB, GiB, TiB, PiB, EiB) or KB, MB, GB, TB, PB, EB (powers of 1000)" % (what, unit))


def parse_size(value, what='size', default_unit='B'):
    """Bytes (int) for ``value``: an int, or a string such as ``10G``, ``1.5 TiB``, ``512MB``.

    ``default_unit`` applies to bare numbers (libvirt's memory is in KiB, say).
    Fractions of a unit are rounded down to whole bytes; a fraction of a byte
    and anything above ``MAX_BYTES`` are InvalidInput.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidInput('%s must be a size such as 10G or 512MiB, not a boolean' % what)
    if isinstance(value, int):
        if value < 0:
            raise InvalidInput('%s must not be negative (got %d)' % (what, value))
        return _within_limit(value * unit_factor(default_unit, what), what, value)
    if isinstance(value, float):
        value = repr(value)
    match = _SIZE_RE.match(str(value))
    if not match:
        raise InvalidInput(
            "%s '%s' is not a size; write a number with an optional unit, e.g. 10G, 512MiB, 1.5 TiB, 10GB" % (what, value))
    number, unit = match.groups()
    try:
        amount = Decimal(number)
    except InvalidOperation:  # pragma: no cover - the regex only admits decimals
        raise InvalidInput("%s '%s' is not a number" % (what, value))
    factor = unit_factor(unit if unit else default_unit, what)
    size = amount * factor
    if factor == 1 and size != size.to_integral_value():
        raise InvalidInput(
            "%s '%s' is %s bytes, but sizes are whole numbers of bytes; if you meant a larger unit, write it "
            "(such as %sG for %s GiB), otherwise give a whole number of bytes" % (what, value, amount, amount, amount))
    return _within_limit(int(size), what, value)


def _within_limit(size, what, value):
    if size > MAX_BYTES:
        raise InvalidInput(
            "%s '%s' is larger than libvirt's limit of %d bytes (an unsigned 64-bit number, just under 16 EiB); "
            "give a smaller size, such as 10G or 2T" % (what, value, MAX_BYTES))
    return size


def format_size(n):
    """A short human form using binary units: 10737418240 -> '10 GiB'."""
    if n is None:
        return None
    amount = Decimal(n)
    for name in _BINARY_NAMES:
        if abs(amount) < 1024 or name == _BINARY_NAMES[-1]:
            text = ('%.2f' % amount).rstrip('0').rstrip('.')
            return '%s %s' % (text, name)
        amount /= 1024
    return '%d B' % n  # pragma: no cover
