# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small ISO9660 image writer with Rock Ridge and Joliet names, in pure Python.

It writes what a cloud-init NoCloud seed needs and nothing more: one root
directory holding a few regular files.  Three views of the same files are
written, so every reader sees the names exactly as given:

* ISO9660 level 1 names (``USER_DAT.;1``) in the primary tree, as the
  standard requires;
* Rock Ridge (RRIP 1.10, ``RRIP_1991A``) ``NM`` and ``PX`` entries in that
  same tree, announced by ``SP`` and ``ER`` in the root's "." record (the
  ``ER`` sits in a continuation area that a ``CE`` entry points to).  Linux
  uses these names when it finds the ``ER`` entry;
* a Joliet tree (UCS-2, escape ``%/E``, names without the ``;1``
  version, as genisoimage writes them) behind a supplementary volume
  descriptor, for readers without Rock Ridge.

The image is reproducible: every date is fixed, so the same files and label
always give the same bytes.  Layout, in 2048-byte sectors::

    0-15  system area (zeros)         16  primary volume descriptor
    17    Joliet supplementary VD     18  volume descriptor set terminator
    19-22 path tables (L, M; primary then Joliet)
    then  primary root directory, Joliet root directory,
          the Rock Ridge continuation area, and the file data
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import struct

SECTOR = 2048
MAX_NAME = 64  # Joliet allows 64 UCS-2 characters per name
MAX_FILE = 0xFFFFFFFF  # one extent per file
APPLICATION_USE_SIZE = 512
LABEL_SIZE = 32

_PVD_SECTOR = 16
_FIRST_PATH_TABLE = 19
_FILE_MODE = 0o100444  # regular file, read-only: it is on a CD
_DIR_MODE = 0o40555
_DATE7 = bytes([80, 1, 1, 0, 0, 0, 0])  # 1980-01-01 00:00:00 UTC, years counted from 1900
_DATE17 = b'1980010100000000\x00'
_NO_DATE17 = b'0000000000000000\x00'
_RRIP_ID = b'RRIP_1991A'
_RRIP_DESCRIPTOR = b'THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS'
_RRIP_SOURCE = (b'PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN '
                b'PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION.')
_JOLIET_ESCAPE = b'%/E'  # UCS-2 level 3
_D_CHARS = re.compile(r'[^A-Z0-9_]')


class IsoError(ValueError):
    """The files cannot be written as asked (bad or duplicate name, too big)."""


# -- number and text fields -------------------------------------------------------
def _both16(n):
    return struct.pack('<H', n) + struct.pack('>H', n)


def _both32(n):
    return struct.pack('<I', n) + struct.pack('>I', n)


def _padded(text, size, fill=b' '):
    raw = text if isinstance(text, bytes) else text.encode('ascii')
    if len(raw) > size:
        raise IsoError('%r is longer than %d bytes' % (raw, size))
    return raw + fill * (size - len(raw))


def _ucs2(text, size):
    """UCS-2 big-endian text padded with UCS-2 spaces to ``size`` bytes."""
    raw = text.encode('utf-16-be')
    if len(raw) > size:
        raw = raw[:size - size % 2]
    return raw + b'\x00\x20' * ((size - len(raw)) // 2)


def _sectors(length):
    return (length + SECTOR - 1) // SECTOR


# -- names ------------------------------------------------------------------------
def check_name(name):
    """Refuse names that do not fit one file in the root directory."""
    if not isinstance(name, str) or not name:
        raise IsoError('file names must be non-empty strings, got %r' % (name,))
    if name in ('.', '..') or '/' in name or any(ord(c) < 32 for c in name):
        raise IsoError("file name %r must not be '.' or '..' or contain '/' or control characters" % name)
    if len(name) > MAX_NAME:
        raise IsoError('file name %r is longer than %d characters' % (name, MAX_NAME))
    try:
        name.encode('utf-16-be').decode('utf-16-be')
        if any(ord(c) > 0xFFFF for c in name):
            raise UnicodeError
    except UnicodeError:
        raise IsoError('file name %r has characters Joliet (UCS-2) cannot hold' % name)
    return name


def _level1_names(names):
    """ISO9660 level 1 identifiers (8.3, d-characters, ';1') for names, unique and stable."""
    taken = set()
    result = {}
    for name in names:
        stem, dot, ext = name.upper().rpartition('.')
        if not dot:
            stem, ext = ext, ''
        stem = _D_CHARS.sub('_', stem)[:8] or '_'
        ext = _D_CHARS.sub('_', ext)[:3]
        candidate, n = stem, 0
        while (candidate, ext) in taken:
            n += 1
            suffix = str(n)
            candidate = stem[:8 - len(suffix)] + suffix
        taken.add((candidate, ext))
        result[name] = (candidate, ext)
    return result


# -- directory records ----------------------------------------------------------------
def _dir_record(identifier, extent, size, is_dir, system_use=b''):
    """One directory record (ECMA-119 9.1); ``identifier`` as stored (bytes)."""
    pad = b'\x00' if len(identifier) % 2 == 0 else b''
    length = 33 + len(identifier) + len(pad) + len(system_use)
    if length > 255:
        raise IsoError('directory record for %r is too long (%d bytes)' % (identifier, length))
    return (bytes([length, 0]) + _both32(extent) + _both32(size) + _DATE7 + bytes([2 if is_dir else 0, 0, 0])
            + _both16(1) + bytes([len(identifier)]) + identifier + pad + system_use)


def _susp(sig, payload):
    return sig + bytes([4 + len(payload), 1]) + payload


def _rr_px(mode, links):
    return _susp(b'PX', _both32(mode) + _both32(links) + _both32(0) + _both32(0))


def _rr_nm(name):
    raw = name.encode('utf-8')
    if len(raw) > 250:
        raise IsoError('file name %r is too long for Rock Ridge' % name)
    return _susp(b'NM', b'\x00' + raw)


def _rr_sp():
    return _susp(b'SP', b'\xbe\xef\x00')


def _rr_ce(sector, length):
    return _susp(b'CE', _both32(sector) + _both32(0) + _both32(length))


def _rr_er():
    return _susp(b'ER', bytes([len(_RRIP_ID), len(_RRIP_DESCRIPTOR), len(_RRIP_SOURCE), 1])
                 + _RRIP_ID + _RRIP_DESCRIPTOR + _RRIP_SOURCE)


def _directory(records):
    """Directory records packed into sectors: a record never crosses a sector boundary."""
    out = bytearray()
    for record in records:
        room = SECTOR - len(out) % SECTOR
        if len(record) > room:
            out.extend(bytes(room))
        out.extend(record)
    out.extend(bytes(-len(out) % SECTOR))
    return bytes(out)


def _path_table(extent, big_endian):
    """The path table of a volume with only a root directory (one 10-byte entry)."""
    pack = '>' if big_endian else '<'
    return bytes([1, 0]) + struct.pack(pack + 'I', extent) + struct.pack(pack + 'H', 1) + b'\x00\x00'


# -- volume descriptors -------------------------------------------------------------
def _volume_descriptor(kind, total, root_record, path_l, path_m, label, application_use, joliet):
    if joliet:
        def text(value, size):
            return _ucs2(value, size)
        escape = _padded(_JOLIET_ESCAPE, 32, b'\x00')
    else:
        def text(value, size):
            return _padded(value, size)
        escape = bytes(32)
    vd = bytearray()
    vd += bytes([kind]) + b'CD001' + bytes([1, 0])
    vd += text('LINUX', 32)                         # 8 system identifier
    vd += text(label, LABEL_SIZE)                   # 40 volume identifier
    vd += bytes(8)                                  # 72 unused
    vd += _both32(total)                            # 80 volume space size
    vd += escape                                    # 88 escape sequences (Joliet only)
    vd += _both16(1) + _both16(1) + _both16(SECTOR)  # 120 set size, sequence number, block size
    vd += _both32(10)                               # 132 path table size
    vd += struct.pack('<I', path_l) + bytes(4)      # 140 L path table (+ optional copy)
    vd += struct.pack('>I', path_m) + bytes(4)      # 148 M path table (+ optional copy)
    vd += root_record                               # 156 root directory record (34 bytes)
    vd += text('', 128)                             # 190 volume set identifier
    vd += text('', 128)                             # 318 publisher
    vd += text('', 128)                             # 446 data preparer
    vd += text('VMCAT.LIBVIRT', 128)                # 574 application
    vd += text('', 37) + text('', 37) + text('', 37)  # 702 copyright, abstract, bibliographic files
    vd += _DATE17 + _DATE17 + _NO_DATE17 + _NO_DATE17  # 813 creation, modification, expiration, effective
    vd += bytes([1, 0])                             # 881 file structure version
    vd += _padded(application_use, APPLICATION_USE_SIZE, b'\x00')  # 883 application use
    vd += bytes(SECTOR - len(vd))
    return bytes(vd)


def _terminator():
    return (bytes([255]) + b'CD001' + bytes([1])).ljust(SECTOR, b'\x00')


# -- the image ----------------------------------------------------------------------
def build_iso(files, label='cidata', application_use=b''):
    """The bytes of an ISO9660 image holding ``files`` in its root directory.

    ``files`` is a dict (or list of pairs) name -> bytes.  ``label`` is the
    volume identifier (up to 32 characters, written as given: cloud-init
    and blkid read ``cidata`` and ``CIDATA`` alike).  ``application_use``
    (up to 512 bytes) lands in the primary volume descriptor's application
    use field, where ``read_descriptor`` finds it again.
    """
    items = list(files.items()) if isinstance(files, dict) else list(files)
    names = [check_name(name) for name, dummy in items]
    items.sort(key=lambda item: item[0])  # the bytes must not depend on the order files were given in
    if len(set(names)) != len(names):
        raise IsoError('duplicate file names: %s' % ', '.join(sorted(n for n in set(names) if names.count(n) > 1)))
    if not label or len(label) > LABEL_SIZE or not all(32 < ord(c) < 127 for c in label):
        raise IsoError('volume label %r must be 1 to %d printable ASCII characters without spaces' % (label, LABEL_SIZE))
    if len(application_use) > APPLICATION_USE_SIZE:
        raise IsoError('application use data is longer than %d bytes' % APPLICATION_USE_SIZE)
    for name, data in items:
        if not isinstance(data, bytes):
            raise IsoError('content of %s must be bytes' % name)
        if len(data) > MAX_FILE:
            raise IsoError('%s is larger than 4 GiB, which one ISO9660 extent cannot hold' % name)

    iso_names = _level1_names(names)
    primary_order = sorted(items, key=lambda item: (iso_names[item[0]][0].ljust(8), iso_names[item[0]][1].ljust(3)))
    joliet_order = sorted(items, key=lambda item: item[0].encode('utf-16-be'))

    # Sizes first (records do not depend on extent numbers for their length), then places.
    root_su = _rr_sp() + _rr_ce(0, 0) + _rr_px(_DIR_MODE, 2)
    primary_size = len(_primary_root(primary_order, iso_names, 0, 0, {}, root_su))
    joliet_size = len(_joliet_root(joliet_order, 0, {}))
    primary_root = _FIRST_PATH_TABLE + 4
    joliet_root = primary_root + _sectors(primary_size)
    continuation = joliet_root + _sectors(joliet_size)
    next_sector = continuation + 1
    extents = {}
    for name, data in items:
        extents[name] = next_sector
        next_sector += _sectors(len(data))
    total = next_sector

    er = _rr_er()
    root_su = _rr_sp() + _rr_ce(continuation, len(er)) + _rr_px(_DIR_MODE, 2)
    primary = _primary_root(primary_order, iso_names, primary_root, primary_size, extents, root_su)
    joliet = _joliet_root(joliet_order, joliet_root, extents, joliet_size)

    out = bytearray(bytes(SECTOR * _PVD_SECTOR))
    out += _volume_descriptor(1, total, _dir_record(b'\x00', primary_root, primary_size, True),
                              _FIRST_PATH_TABLE, _FIRST_PATH_TABLE + 1, label, application_use, False)
    out += _volume_descriptor(2, total, _dir_record(b'\x00', joliet_root, joliet_size, True),
                              _FIRST_PATH_TABLE + 2, _FIRST_PATH_TABLE + 3, label, b'', True)
    out += _terminator()
    for extent, big_endian in ((primary_root, False), (primary_root, True), (joliet_root, False), (joliet_root, True)):
        out += _path_table(extent, big_endian).ljust(SECTOR, b'\x00')
    out += primary + joliet + er.ljust(SECTOR, b'\x00')
    for name, data in items:
        out += data + bytes(-len(data) % SECTOR)
    if len(out) != total * SECTOR:  # pragma: no cover - a layout bug, not a user error
        raise AssertionError('ISO layout mismatch: %d bytes for %d sectors' % (len(out), total))
    return bytes(out)


def _primary_root(order, iso_names, extent, size, extents, root_su):
    records = [
        _dir_record(b'\x00', extent, size, True, root_su),
        _dir_record(b'\x01', extent, size, True, _rr_px(_DIR_MODE, 2)),
    ]
    for name, data in order:
        stem, ext = iso_names[name]
        identifier = ('%s.%s;1' % (stem, ext)).encode('ascii')
        records.append(_dir_record(identifier, extents.get(name, 0), len(data), False,
                                   _rr_px(_FILE_MODE, 1) + _rr_nm(name)))
    return _directory(records)


def _joliet_root(order, extent, extents, size=0):
    records = [_dir_record(b'\x00', extent, size, True), _dir_record(b'\x01', extent, size, True)]
    for name, data in order:
        records.append(_dir_record(name.encode('utf-16-be'), extents.get(name, 0), len(data), False))
    return _directory(records)


# -- reading back what we wrote ---------------------------------------------------------
def read_descriptor(head):
    """(label, application_use) from the first 17 sectors of an image; None when it is no ISO9660 image."""
    start = _PVD_SECTOR * SECTOR
    vd = head[start:start + SECTOR]
    if len(vd) < SECTOR or vd[0] != 1 or vd[1:6] != b'CD001':
        return None
    label = vd[40:72].decode('ascii', 'replace').rstrip(' ')
    return label, bytes(vd[883:883 + APPLICATION_USE_SIZE]).rstrip(b'\x00')


HEAD_SIZE = (_PVD_SECTOR + 1) * SECTOR
