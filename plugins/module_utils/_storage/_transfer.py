# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Moving volume bytes through libvirt streams: upload, download, zero check (URL import: ``_download``).

All of it runs on the host that runs the module and talks to the node only
through libvirt streams (virStorageVolUpload / virStorageVolDownload), so it
works the same for local and remote URIs.  Holes travel as holes (sparse
streams) where libvirt supports them.

A volume this file creates is deleted again when anything fails before the
upload is complete: a broken download, a wrong checksum, a libvirt error.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import re
import struct
import tempfile

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _rehearsal_node
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import (
    InvalidInput, VmcatError, is_flag_refused)

CHUNK = 1024 * 1024
_ZEROS = bytes(CHUNK)
_SPARSE = 1  # VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM == VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM
_STOP_AT_HOLE = 1  # VIR_STREAM_RECV_STOP_AT_HOLE
_HOLE = -3  # what recvFlags returns when it stopped at a hole
_HEX_LENGTHS = {'md5': 32, 'sha1': 40, 'sha256': 64, 'sha512': 128}
_READ_HINT = ('libvirt streams the volume through libvirtd: check that libvirtd may read the image (a running '
              'VM may hold a lock on it) and that the volume still exists')


class ChecksumMismatch(VmcatError):
    """The downloaded bytes are not the ones the task's checksum names."""


# -- checksums --------------------------------------------------------------------
def delete_quietly(vol):
    """Remove a volume this task made, keeping the error that made us remove it."""
    try:
        vol.delete(0)
    except Exception:  # cleanup that must never hide the error that made us clean up
        pass


def parse_checksum(text):
    """('sha256', '<hex>') from 'sha256:<hex>' (also sha512, sha1, md5); InvalidInput otherwise."""
    if not text:
        raise InvalidInput("url needs checksum, written as 'sha256:<hex digest>' (sha512, sha1 and md5 work too)")
    algorithm, sep, digest = str(text).strip().partition(':')
    algorithm, digest = algorithm.strip().lower(), digest.strip().lower()
    if not sep or algorithm not in _HEX_LENGTHS:
        raise InvalidInput("checksum '%s' must be '<algorithm>:<hex digest>' with algorithm one of %s"
                           % (text, ', '.join(sorted(_HEX_LENGTHS))))
    if len(digest) != _HEX_LENGTHS[algorithm] or not re.match(r'^[0-9a-f]+$', digest):
        raise InvalidInput("checksum '%s' is not a %s digest: expected %d hex digits"
                           % (text, algorithm, _HEX_LENGTHS[algorithm]))
    return algorithm, digest


class Digest:
    """A running checksum that holes feed as zeros."""

    def __init__(self, algorithm='sha256'):
        self.algorithm = algorithm
        self._hash = hashlib.new(algorithm)
        self.size = 0

    def data(self, chunk):
        self._hash.update(chunk)
        self.size += len(chunk)
        return True

    def hole(self, length):
        left = length
        while left > 0:
            step = min(left, CHUNK)
            self._hash.update(_ZEROS[:step] if step < CHUNK else _ZEROS)
            left -= step
        self.size += length
        return True

    def hexdigest(self):
        return self._hash.hexdigest()

    def text(self):
        return '%s:%s' % (self.algorithm, self.hexdigest())


def file_checksum(path, algorithm='sha256'):
    digest = Digest(algorithm)
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(CHUNK), b''):
            digest.data(chunk)
    return digest.text()


def safe_url(url):
    """The URL without user:password@ (for messages)."""
    return re.sub(r'^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@]*@', r'\1', url or '')


# -- what a local file is -----------------------------------------------------------
def probe_local_image(path):
    """(format, virtual size) of an image file on this host: qcow2, iso or raw."""
    size = os.path.getsize(path)
    with open(path, 'rb') as f:
        head = f.read(32)
        if len(head) >= 32 and head[:4] == b'QFI\xfb':
            return 'qcow2', struct.unpack('>Q', head[24:32])[0]
        f.seek(32769)
        if f.read(5) == b'CD001':
            return 'iso', size
    return 'raw', size


def file_segments(path):
    """('data', bytes) and ('hole', length) pieces of a file, holes found with SEEK_DATA/SEEK_HOLE."""
    size = os.path.getsize(path)
    with open(path, 'rb') as f:
        fd = f.fileno()
        pos = 0
        while pos < size:
            data_start, data_end = _next_data(fd, pos, size)
            if data_start > pos:
                yield 'hole', data_start - pos
            os.lseek(fd, data_start, os.SEEK_SET)
            left = data_end - data_start
            while left > 0:
                chunk = os.read(fd, min(CHUNK, left))
                if not chunk:
                    raise VmcatError("src '%s' got shorter while it was read" % path)
                left -= len(chunk)
                yield 'data', chunk
            pos = data_end


def _next_data(fd, pos, size):
    """(start, end) of the next data extent at or after pos; the whole rest when holes are unknown."""
    seek_data, seek_hole = getattr(os, 'SEEK_DATA', None), getattr(os, 'SEEK_HOLE', None)
    if seek_data is None:
        return pos, size
    try:
        start = os.lseek(fd, pos, seek_data)
    except OSError as exc:
        if exc.errno == 6:  # ENXIO: only a hole is left
            return size, size
        return pos, size  # EINVAL: the file system does not report holes
    return start, min(os.lseek(fd, start, seek_hole), size)


def has_holes(path):
    st = os.stat(path)
    return st.st_blocks * 512 < st.st_size


# -- streams --------------------------------------------------------------------------
def _abort(stream):
    try:
        stream.abort()
    except Exception:  # cleanup that must never hide the error that made us clean up
        pass


def _open_stream(virt, start, sparse):
    """A new stream with ``start(stream, flags)`` called; falls back to a plain stream if sparse is refused."""
    stream = virt.newStream(0)
    try:
        start(stream, _SPARSE if sparse else 0)
        return stream, sparse
    except Exception as exc:  # the stream is aborted whatever failed; only a refused sparse flag is not re-raised
        _abort(stream)
        if not (sparse and is_flag_refused(exc)):
            raise
    stream = virt.newStream(0)
    start(stream, 0)
    return stream, False


def send(virt, vol, segments, sparse):
    """Upload ('data', bytes)/('hole', n) segments into the whole volume; aborts the stream on any error."""
    if _rehearsal_node.is_test_driver(virt):
        return _test_send(vol, segments)
    stream, sparse = _open_stream(virt, lambda s, flags: vol.upload(s, 0, 0, flags), sparse)
    try:
        for kind, value in segments:
            if kind == 'hole' and sparse:
                stream.sendHole(value, 0)
            elif kind == 'hole':
                while value > 0:
                    step = min(value, CHUNK)
                    _send_all(stream, _ZEROS[:step])
                    value -= step
            else:
                _send_all(stream, value)
        stream.finish()
    except BaseException:
        _abort(stream)
        raise


def _send_all(stream, data):
    while data:
        sent = stream.send(data)
        if sent < 0:
            raise VmcatError('libvirt stream refused data (%d)' % sent)
        data = data[sent:]


def receive(virt, vol, sink, sparse=True):
    """Download the whole volume into ``sink`` (data(bytes)/hole(n) returning False to stop early).

    Returns True when the whole volume was read, False when the sink stopped it.
    """
    if _rehearsal_node.is_test_driver(virt):
        return _test_receive(vol, sink, sparse)
    stream, sparse = _open_stream(virt, lambda s, flags: vol.download(s, 0, 0, flags), sparse)
    try:
        while True:
            got = stream.recvFlags(CHUNK, _STOP_AT_HOLE if sparse else 0)
            if got == _HOLE:
                keep = sink.hole(stream.recvHole(0))
            elif isinstance(got, int):
                raise VmcatError('libvirt stream returned %d while reading volume %s' % (got, vol.name()))
            elif not got:
                break
            else:
                keep = sink.data(got)
            if keep is False:
                _abort(stream)
                return False
        stream.finish()
        return True
    except BaseException:
        _abort(stream)
        raise


def _test_send(vol, segments):
    """The test driver has no upload: keep the bytes with the test node (see _rehearsal_node)."""
    parts, size = [], 0
    for kind, value in segments:
        size += value if kind == 'hole' else len(value)
        if size > _rehearsal_node.MAX_CONTENT:
            raise VmcatError("the test driver keeps at most %d bytes of content per volume; volume '%s' was sent more"
                             % (_rehearsal_node.MAX_CONTENT, vol.name()))
        parts.append(bytes(value) if kind == 'hole' else value)
    _rehearsal_node.write_content(vol, b''.join(parts))


def _test_receive(vol, sink, sparse):
    """What was written into a test-driver volume, then zeros up to its capacity."""
    data = _rehearsal_node.read_content(vol)
    for start in range(0, len(data), CHUNK):
        if sink.data(data[start:start + CHUNK]) is False:
            return False
    rest = max(0, vol.info()[1] - len(data))
    if sparse and rest:
        return sink.hole(rest) is not False
    while rest > 0:
        step = min(rest, CHUNK)
        if sink.data(_ZEROS[:step]) is False:
            return False
        rest -= step
    return True


class _ZeroCheck:
    def data(self, chunk):
        return chunk == (_ZEROS if len(chunk) == CHUNK else bytes(len(chunk)))

    def hole(self, length):
        return True


def reads_as_zeros(conn, vol, allocation=None):
    """True when every byte of the volume is zero.

    A file with nothing allocated is all holes; otherwise the volume is read
    (holes skipped) until the first non-zero byte, which for a volume holding
    data is at its start.
    """
    if allocation == 0:
        return True
    with conn.translated('read', "volume '%s'" % vol.name(), _READ_HINT):
        return receive(conn.virt, vol, _ZeroCheck())


def volume_checksum(conn, vol, algorithm='sha256'):
    digest = Digest(algorithm)
    with conn.translated('read', "volume '%s'" % vol.name(), _READ_HINT):
        receive(conn.virt, vol, digest)
    return digest.text()


# -- new volumes from bytes -------------------------------------------------------------
def _new_raw(conn, pool, name, capacity, mode=None):
    root = _xml.element('volume')
    _xml.sub(root, 'name', name)
    _xml.sub(root, 'capacity', capacity, unit='bytes')
    _xml.sub(root, 'allocation', 0, unit='bytes')
    target = _xml.sub(root, 'target')
    _xml.sub(target, 'format', type_='raw')
    if mode is not None:  # file mode in file-based pools, e.g. 0o444 for read-only template images
        _xml.sub(_xml.sub(target, 'permissions'), 'mode', '%04o' % mode)
    with conn.translated('create', "volume '%s' in pool '%s'" % (name, pool.name()), 'check that the pool has room for it'):
        return pool.createXML(_xml.to_string(root), 0)


def fill(conn, pool, name, capacity, segments, sparse, mode=None):
    """Create a raw volume, stream the segments into it, and let libvirt probe what it holds.

    The volume is deleted again when anything fails.
    """
    vol = _new_raw(conn, pool, name, capacity, mode)
    try:
        with conn.translated('upload into', "volume '%s' in pool '%s'" % (name, pool.name()),
                             'check that the pool has room for the whole image and that libvirtd may write '
                             'there; the partial volume was removed'):
            send(conn.virt, vol, segments, sparse)
            pool.refresh(0)  # libvirt finds the image's format and virtual size
        found = conn.volume(pool, name)
        if found is None:
            raise VmcatError("volume '%s' vanished from pool '%s' after the upload" % (name, pool.name()))
        return found
    except BaseException:
        delete_quietly(vol)
        raise


def create_from_file(conn, pool, name, path):
    """A new volume holding the bytes of ``path`` (a file on the host running the module)."""
    return fill(conn, pool, name, os.path.getsize(path), file_segments(path), has_holes(path))


# -- volume content to a file --------------------------------------------------------
class _FileSink(Digest):
    def __init__(self, fd):
        super(_FileSink, self).__init__('sha256')
        self.fd = fd

    def data(self, chunk):
        view = memoryview(chunk)
        while len(view):
            view = view[os.write(self.fd, view):]
        return super(_FileSink, self).data(chunk)

    def hole(self, length):
        os.lseek(self.fd, length, os.SEEK_CUR)
        return super(_FileSink, self).hole(length)


def download_to_file(conn, vol, dest):
    """Write the volume's bytes to ``dest`` (atomically, holes kept); returns their checksum."""
    directory = os.path.dirname(os.path.abspath(dest))
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(dest), suffix='.part', dir=directory)
    try:
        sink = _FileSink(fd)
        with conn.translated('download', "volume '%s'" % vol.name(), _READ_HINT + '; dest was left as it was'):
            receive(conn.virt, vol, sink)
        os.ftruncate(fd, sink.size)
        os.fsync(fd)
        if os.path.exists(dest):
            os.chmod(tmp, os.stat(dest).st_mode & 0o7777)
        os.close(fd)
        fd = None
        os.rename(tmp, dest)
        return sink.text()
    finally:
        if fd is not None:
            os.close(fd)
        if os.path.exists(tmp):
            os.unlink(tmp)


def sync_to_file(ctx, vol, dest):
    """Make ``dest`` hold the volume's bytes; (changed, sha256 checksum or None).

    An existing dest is compared by checksum first, so an unchanged volume
    is read once and nothing is written.  New files are private (0600).
    """
    if os.path.isdir(dest):
        raise InvalidInput("dest '%s' is a directory; give the path of the file to write" % dest)
    directory = os.path.dirname(os.path.abspath(dest))
    if not os.path.isdir(directory):
        raise InvalidInput("dest '%s': directory %s does not exist on the host running the module" % (dest, directory))
    current = None
    if vol is not None and os.path.exists(dest):
        current = volume_checksum(ctx.conn, vol)
        if file_checksum(dest) == current:
            return False, current
    written = ctx.act('download', download_to_file, ctx.conn, vol, dest)
    return True, written or current
