# -*- coding: utf-8 -*-
"""Fakes for the libvirt calls the test driver lacks: streams, upload, download, wipe, resize.

``FakeStore`` keeps volume contents by path.  ``install(monkeypatch)`` puts
it behind libvirt's own classes, so module runs on a ``test:///`` node file
upload and download for real through the collection's code.  ``FakeVol``
stands alone for the transfer helpers (and in a fake pool for the snapshot code).  No test functions here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

HOLE = -3


class FakeStream:
    """A blocking libvirt stream over an in-memory buffer; holes are runs of zeros of 4 KiB and more."""

    def __init__(self, store=None):
        self.store = store
        self.written = bytearray()
        self.holes_sent = 0
        self.source = None
        self.sparse = False
        self.pos = 0
        self.finished = False
        self.aborted = False
        self.on_finish = None

    # upload side
    def send(self, data):
        self.written.extend(data)
        return len(data)

    def sendHole(self, length, flags=0):
        self.holes_sent += length
        self.written.extend(bytes(length))
        return 0

    # download side
    def _hole_length(self):
        rest = self.source[self.pos:]
        return len(rest) - len(rest.lstrip(b'\0'))

    def recvFlags(self, nbytes, flags=0):
        if self.pos >= len(self.source):
            return b''
        if self.sparse and flags & 1 and self._hole_length() >= 4096:
            return HOLE
        end = min(self.pos + nbytes, len(self.source))
        if self.sparse:
            zero_run = self.source.find(bytes(4096), self.pos)
            if zero_run > self.pos:
                end = min(end, zero_run)
        chunk = bytes(self.source[self.pos:end])
        self.pos = end
        return chunk

    def recvHole(self, flags=0):
        length = self._hole_length()
        self.pos += length
        return length

    def finish(self):
        self.finished = True
        if self.on_finish:
            self.on_finish(bytes(self.written))

    def abort(self):
        self.aborted = True


class FakeStore:
    """Volume contents by path, and a log of the calls made."""

    def __init__(self, default=b'data' * 1024):
        self.contents = {}
        self.default = default
        self.calls = []
        self.sparse_ok = True

    def content(self, path):
        return self.contents.get(path, self.default)


class FakeVirt:
    def __init__(self, store):
        self.store = store
        self.streams = []

    def newStream(self, flags=0):
        stream = FakeStream(self.store)
        self.streams.append(stream)
        return stream


class FakeVol:
    """Enough of virStorageVol for the transfer helpers and the snapshot code.

    ``store`` (a FakeStore) holds what upload writes and download reads; ``pool`` (fakes/snapshot.py FakePool)
    lists the volume, and a delete is recorded in the pool's calls.  ``backing`` is the backing file its XML names.
    """

    def __init__(self, pool=None, name='vol', path='/pool/vol', backing=None, capacity=1 << 30, allocation=1 << 20,
                 store=None):
        self.pool, self.store = pool, store
        self._name, self._path, self.backing = name, path, backing
        self.capacity, self.allocation = capacity, allocation
        self.deleted = False

    def name(self):
        return self._name

    def path(self):
        return self._path

    def info(self):
        return [0, self.capacity, self.allocation]

    def XMLDesc(self, flags=0):
        backing = '<backingStore><path>%s</path></backingStore>' % self.backing if self.backing else ''
        return ('<volume><name>%s</name><capacity>%d</capacity><target><path>%s</path><format type="qcow2"/></target>'
                '%s</volume>' % (self._name, self.capacity, self._path, backing))

    def storagePoolLookupByVolume(self):
        return self.pool

    def upload(self, stream, offset, length, flags):
        _start_upload(self.store, self._path, stream, flags)

    def download(self, stream, offset, length, flags):
        _start_download(self.store, self._path, stream, flags)

    def delete(self, flags=0):
        self.deleted = True
        if self.pool is not None:
            self.pool.calls.append(('delete volume', self._name))
            self.pool.vols.remove(self)


class UnsupportedFlag(Exception):
    """Looks like a libvirt error whose code says the flag is not supported."""

    def get_error_code(self):
        import libvirt
        return libvirt.VIR_ERR_INVALID_ARG


def _start_upload(store, path, stream, flags):
    if flags and not store.sparse_ok:
        raise UnsupportedFlag('unsupported flags')
    store.calls.append(('upload', path, flags))

    def done(data):
        store.contents[path] = data
    stream.on_finish = done


def _start_download(store, path, stream, flags):
    if flags and not store.sparse_ok:
        raise UnsupportedFlag('unsupported flags')
    store.calls.append(('download', path, flags))
    stream.source = bytes(store.content(path))
    stream.sparse = bool(flags & 1)


def install(monkeypatch, store):
    """Route libvirt's stream, upload, download, wipe and resize calls to ``store``."""
    import libvirt

    def new_stream(self, flags=0):
        return FakeStream(store)

    def upload(self, stream, offset, length, flags=0):
        _start_upload(store, self.path(), stream, flags)
        return 0

    def download(self, stream, offset, length, flags=0):
        _start_download(store, self.path(), stream, flags)
        return 0

    def wipe_pattern(self, algorithm, flags=0):
        store.calls.append(('wipe', self.path(), algorithm))
        store.contents[self.path()] = bytes(len(store.content(self.path())))
        return 0

    def resize(self, capacity, flags=0):
        store.calls.append(('resize', self.path(), capacity, flags))
        return 0

    # The fakes stand for a driver with streams: skip the test driver's own content store.
    from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _rehearsal_node
    monkeypatch.setattr(_rehearsal_node, 'is_test_driver', lambda virt: False)
    monkeypatch.setattr(libvirt.virConnect, 'newStream', new_stream)
    monkeypatch.setattr(libvirt.virStorageVol, 'upload', upload)
    monkeypatch.setattr(libvirt.virStorageVol, 'download', download)
    monkeypatch.setattr(libvirt.virStorageVol, 'wipePattern', wipe_pattern)
    monkeypatch.setattr(libvirt.virStorageVol, 'resize', resize)
    return store
