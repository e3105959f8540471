# -*- coding: utf-8 -*-
"""_volume_transfer: checksums, sparse files, streams (with fakes), URL downloads and dest files."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import io
import os
import struct

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _download as download
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _transfer as transfer
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput, VmcatError
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module import Context
from ansible_collections.vmcat.libvirt.tests.unit.fakes.volume import (
    FakeStore,
    FakeVirt,
    FakeVol,
)

MIB = 1024 ** 2


class FakeConn:
    uri = 'fake:///'

    def __init__(self, store):
        self.virt = FakeVirt(store)

    def translated(self, *args, **kwargs):
        import contextlib
        return contextlib.nullcontext()


# -- checksums --------------------------------------------------------------------------
@pytest.mark.parametrize('text, expected', [
    ('sha256:' + 'a' * 64, ('sha256', 'a' * 64)),
    (' SHA512 : ' + 'B' * 128, ('sha512', 'b' * 128)),
    ('sha1:' + '0' * 40, ('sha1', '0' * 40)),
    ('md5:' + 'f' * 32, ('md5', 'f' * 32)),
])
def test_parse_checksum(text, expected):
    assert transfer.parse_checksum(text) == expected


@pytest.mark.parametrize('text, message', [
    (None, 'url needs checksum'),
    ('a' * 64, "must be '<algorithm>:<hex digest>'"),
    ('sha384:' + 'a' * 96, 'algorithm one of md5, sha1, sha256, sha512'),
    ('sha256:' + 'a' * 63, 'expected 64 hex digits'),
    ('sha256:' + 'g' * 64, 'not a sha256 digest'),
])
def test_parse_checksum_refusals(text, message):
    with pytest.raises(InvalidInput) as err:
        transfer.parse_checksum(text)
    assert message in err.value.msg


def test_digest_holes_hash_as_zeros():
    digest = transfer.Digest('sha256')
    digest.data(b'ab')
    digest.hole(3 * MIB + 7)
    assert digest.size == 3 * MIB + 9
    assert digest.hexdigest() == hashlib.sha256(b'ab' + bytes(3 * MIB + 7)).hexdigest()


def test_safe_url_drops_credentials():
    assert transfer.safe_url('https://me:pw@host/x?a=b@c') == 'https://host/x?a=b@c'
    assert transfer.safe_url('http://host/x') == 'http://host/x'


# -- local files -------------------------------------------------------------------------
def sparse_file(path, size, pieces):
    with open(str(path), 'wb') as f:
        f.truncate(size)
        for offset, data in pieces:
            f.seek(offset)
            f.write(data)
    return str(path)


def test_file_segments_rebuild_the_file(tmp_path):
    path = sparse_file(tmp_path / 'img', 8 * MIB, [(0, b'head'), (5 * MIB, b'\x07' * 9000)])
    segments = list(transfer.file_segments(path))
    rebuilt = b''.join(v if k == 'data' else bytes(v) for k, v in segments)
    assert rebuilt == open(path, 'rb').read()
    if transfer.has_holes(path):  # the file system reports holes: they must travel as holes
        assert sum(v for k, v in segments if k == 'hole') >= 4 * MIB


def test_probe_local_image(tmp_path):
    qcow = tmp_path / 'a.qcow2'
    qcow.write_bytes(b'QFI\xfb' + bytes(20) + struct.pack('>Q', 10 * MIB) + bytes(100))
    assert transfer.probe_local_image(str(qcow)) == ('qcow2', 10 * MIB)
    iso = sparse_file(tmp_path / 'a.iso', 40000, [(32769, b'CD001')])
    assert transfer.probe_local_image(iso) == ('iso', 40000)
    raw = tmp_path / 'a.raw'
    raw.write_bytes(b'x' * 10)
    assert transfer.probe_local_image(str(raw)) == ('raw', 10)


# -- streams ---------------------------------------------------------------------------------
def test_send_sparse_keeps_holes():
    store = FakeStore()
    virt = FakeVirt(store)
    vol = FakeVol(store=store)
    transfer.send(virt, vol, [('data', b'abc'), ('hole', 5000), ('data', b'z')], sparse=True)
    assert store.contents['/pool/vol'] == b'abc' + bytes(5000) + b'z'
    assert virt.streams[0].holes_sent == 5000 and virt.streams[0].finished
    assert store.calls == [('upload', '/pool/vol', 1)]


def test_send_falls_back_when_sparse_is_refused():
    store = FakeStore()
    store.sparse_ok = False
    virt = FakeVirt(store)
    transfer.send(virt, FakeVol(store=store), [('data', b'a'), ('hole', 10)], sparse=True)
    assert store.contents['/pool/vol'] == b'a' + bytes(10)
    assert virt.streams[0].aborted and virt.streams[1].holes_sent == 0
    assert store.calls == [('upload', '/pool/vol', 0)]


def test_send_aborts_on_error():
    store = FakeStore()
    virt = FakeVirt(store)

    def broken():
        yield 'data', b'abc'
        raise VmcatError('network gone')
    with pytest.raises(VmcatError, match='network gone'):
        transfer.send(virt, FakeVol(store=store), broken(), sparse=False)
    assert virt.streams[0].aborted and not virt.streams[0].finished
    assert '/pool/vol' not in store.contents


def test_receive_hashes_sparse_content():
    store = FakeStore()
    content = b'x' * 100 + bytes(3 * MIB) + b'tail'
    store.contents['/pool/vol'] = content
    digest = transfer.Digest()
    assert transfer.receive(FakeVirt(store), FakeVol(store=store), digest) is True
    assert digest.text() == 'sha256:' + hashlib.sha256(content).hexdigest()


def test_reads_as_zeros_stops_at_first_data():
    store = FakeStore()
    conn = FakeConn(store)
    store.contents['/pool/vol'] = bytes(2 * MIB) + b'\x01' + bytes(5 * MIB)
    assert transfer.reads_as_zeros(conn, FakeVol(store=store), allocation=4096) is False
    assert conn.virt.streams[0].aborted
    store.contents['/pool/vol'] = bytes(3 * MIB)
    assert transfer.reads_as_zeros(conn, FakeVol(store=store), allocation=4096) is True


def test_reads_as_zeros_trusts_empty_allocation():
    store = FakeStore()
    conn = FakeConn(store)
    assert transfer.reads_as_zeros(conn, FakeVol(store=store), allocation=0) is True
    assert conn.virt.streams == []


# -- new volumes from bytes ---------------------------------------------------------------------
class FakePool:
    def __init__(self, store):
        self.store = store
        self.created = []
        self.refreshed = 0

    def name(self):
        return 'p'

    def createXML(self, xml, flags):
        self.created.append(xml)
        self.vol = FakeVol(name='new', path='/pool/new', store=self.store)
        return self.vol

    def refresh(self, flags):
        self.refreshed += 1


class FillConn(FakeConn):
    def volume(self, pool, name):
        return pool.vol


def url_params(**kw):
    base = dict(url='http://127.0.0.1:1/x', checksum='sha256:' + hashlib.sha256(b'hello').hexdigest(), name='new')
    base.update(kw)
    return base


def test_url_segments_verify_size_and_checksum():
    good = hashlib.sha256(b'hello').hexdigest()
    assert [v for dummy, v in download.url_segments(io.BytesIO(b'hello'), 'http://h/x', 'sha256', good, 5)] == [b'hello']
    with pytest.raises(transfer.ChecksumMismatch, match='expected sha256:' + '0' * 64):
        list(download.url_segments(io.BytesIO(b'hello'), 'http://h/x', 'sha256', '0' * 64))
    with pytest.raises(VmcatError, match='ended after 5 of 9 bytes'):
        list(download.url_segments(io.BytesIO(b'hello'), 'http://h/x', 'sha256', good, 9))


class Response(io.BytesIO):
    def __init__(self, data, length=True):
        super(Response, self).__init__(data)
        self.headers = {'Content-Length': str(len(data))} if length else {}


@pytest.mark.parametrize('length', [True, False])
def test_create_from_url_sizes_the_volume(monkeypatch, length):
    store = FakeStore()
    pool = FakePool(store)
    monkeypatch.setattr(download, 'open_url', lambda params: Response(b'hello', length))
    vol = download.create_from_url(FillConn(store), pool, url_params())
    assert store.contents['/pool/new'] == b'hello' and not vol.deleted
    assert ("<capacity unit=\"bytes\">%d</capacity>" % (5 if length else 0)) in pool.created[0]
    assert pool.refreshed == 1


def test_create_from_url_with_wrong_checksum_deletes_the_volume(monkeypatch):
    store = FakeStore()
    pool = FakePool(store)
    monkeypatch.setattr(download, 'open_url', lambda params: Response(b'evil!'))
    with pytest.raises(transfer.ChecksumMismatch):
        download.create_from_url(FillConn(store), pool, url_params())
    assert pool.vol.deleted and '/pool/new' not in store.contents


def test_open_url_error_names_url_without_password():
    with pytest.raises(VmcatError) as err:
        download.open_url(url_params(url='http://me:pw@127.0.0.1:9/nothing', timeout=2))
    assert 'http://127.0.0.1:9/nothing' in err.value.msg and 'pw' not in err.value.msg
    assert 'nothing was created' in err.value.msg


# -- dest files ------------------------------------------------------------------------------------
def test_download_to_file_keeps_holes_and_mode(tmp_path):
    store = FakeStore()
    content = b'start' + bytes(4 * MIB) + b'end'
    store.contents['/pool/vol'] = content
    dest = tmp_path / 'out.img'
    checksum = transfer.download_to_file(FakeConn(store), FakeVol(store=store), str(dest))
    assert dest.read_bytes() == content
    assert checksum == 'sha256:' + hashlib.sha256(content).hexdigest()
    assert os.stat(str(dest)).st_mode & 0o777 == 0o600
    assert os.stat(str(dest)).st_blocks * 512 < len(content)  # the hole stayed a hole
    os.chmod(str(dest), 0o640)
    transfer.download_to_file(FakeConn(store), FakeVol(store=store), str(dest))
    assert os.stat(str(dest)).st_mode & 0o777 == 0o640
    assert sorted(os.listdir(str(tmp_path))) == ['out.img']


def test_sync_to_file_compares_first(tmp_path):
    store = FakeStore()
    store.contents['/pool/vol'] = b'payload'
    conn = FakeConn(store)
    dest = tmp_path / 'out'
    check = Context(conn, {}, check_mode=True)
    assert transfer.sync_to_file(check, FakeVol(store=store), str(dest)) == (True, None)
    assert not dest.exists() and check.actions == ['download']
    real = Context(conn, {}, check_mode=False)
    changed, checksum = transfer.sync_to_file(real, FakeVol(store=store), str(dest))
    assert changed and dest.read_bytes() == b'payload'
    assert transfer.sync_to_file(real, FakeVol(store=store), str(dest)) == (False, checksum)
    with pytest.raises(InvalidInput, match='is a directory'):
        transfer.sync_to_file(real, FakeVol(store=store), str(tmp_path))
    with pytest.raises(InvalidInput, match='does not exist'):
        transfer.sync_to_file(real, FakeVol(store=store), str(tmp_path / 'no' / 'file'))
