# -*- coding: utf-8 -*-
"""The ISO9660 writer, checked with an independent reader written here and with xorriso/isoinfo when installed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import struct
import subprocess

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _iso9660 as iso

SECTOR = 2048
FILES = {
    'user-data': b'#cloud-config\npackages: [htop]\n',
    'meta-data': b'instance-id: iid-web1\nlocal-hostname: web1\n',
    'network-config': b'version: 2\n',
}


# -- an independent reader (ECMA-119, SUSP/RRIP, Joliet), only for these tests -----------------
def both32(raw, what):
    little, big = struct.unpack('<I', raw[:4])[0], struct.unpack('>I', raw[4:8])[0]
    assert little == big, '%s: both-endian halves differ (%d, %d)' % (what, little, big)
    return little


def both16(raw, what):
    little, big = struct.unpack('<H', raw[:2])[0], struct.unpack('>H', raw[2:4])[0]
    assert little == big, what
    return little


def records(image, extent, size):
    """Directory records of a directory extent; records never cross sectors (zero padding skipped)."""
    data = image[extent * SECTOR:extent * SECTOR + size]
    pos = 0
    found = []
    while pos < len(data):
        length = data[pos]
        if length == 0:  # rest of the sector is padding
            pos = (pos // SECTOR + 1) * SECTOR
            continue
        rec = data[pos:pos + length]
        assert pos // SECTOR == (pos + length - 1) // SECTOR, 'record crosses a sector boundary'
        name_len = rec[32]
        su_start = 33 + name_len + (1 - name_len % 2)
        found.append({
            'extent': both32(rec[2:10], 'extent'),
            'size': both32(rec[10:18], 'size'),
            'flags': rec[25],
            'seq': both16(rec[28:32], 'volume sequence'),
            'id': rec[33:33 + name_len],
            'su': rec[su_start:length],
        })
        pos += length
    return found


def susp_entries(image, su):
    """SUSP entries of a system use area, following CE continuation areas."""
    entries = []
    while su:
        pos = 0
        cont = None
        while pos + 4 <= len(su):
            sig, length, version = su[pos:pos + 2], su[pos + 2], su[pos + 3]
            assert length >= 4 and version == 1, 'bad SUSP entry %r' % sig
            body = su[pos + 4:pos + length]
            entries.append((sig, body))
            if sig == b'CE':
                cont = (both32(body[0:8], 'CE block'), both32(body[8:16], 'CE offset'), both32(body[16:24], 'CE len'))
            pos += length
        su = None
        if cont:
            start = cont[0] * SECTOR + cont[1]
            su = image[start:start + cont[2]]
    return entries


def read_image(image):
    assert len(image) % SECTOR == 0
    pvd = image[16 * SECTOR:17 * SECTOR]
    svd = image[17 * SECTOR:18 * SECTOR]
    term = image[18 * SECTOR:19 * SECTOR]
    assert pvd[0] == 1 and pvd[1:6] == b'CD001' and pvd[6] == 1
    assert svd[0] == 2 and svd[1:6] == b'CD001' and svd[88:91] == b'%/E'
    assert term[0] == 255 and term[1:6] == b'CD001'
    assert both32(pvd[80:88], 'volume space size') * SECTOR == len(image)
    assert both16(pvd[128:132], 'block size') == SECTOR
    path_table_size = both32(pvd[132:140], 'path table size')
    l_table = struct.unpack('<I', pvd[140:144])[0]
    m_table = struct.unpack('>I', pvd[148:152])[0]
    root_rec = pvd[156:190]
    root_extent, root_size = both32(root_rec[2:10], 'root'), both32(root_rec[10:18], 'root size')
    lt = image[l_table * SECTOR:l_table * SECTOR + path_table_size]
    mt = image[m_table * SECTOR:m_table * SECTOR + path_table_size]
    assert lt[0] == 1 and struct.unpack('<I', lt[2:6])[0] == root_extent and struct.unpack('<H', lt[6:8])[0] == 1
    assert mt[0] == 1 and struct.unpack('>I', mt[2:6])[0] == root_extent
    primary = records(image, root_extent, root_size)
    assert primary[0]['id'] == b'\x00' and primary[1]['id'] == b'\x01'
    assert primary[0]['extent'] == root_extent and primary[0]['flags'] & 2

    root_susp = susp_entries(image, primary[0]['su'])
    assert root_susp[0][0] == b'SP' and root_susp[0][1][:2] == b'\xbe\xef'
    er = [body for sig, body in root_susp if sig == b'ER']
    assert er, 'no ER entry: Linux would not use the Rock Ridge names'
    id_len = er[0][0]
    assert er[0][4:4 + id_len] == b'RRIP_1991A'

    iso_names, rr_names, modes = {}, {}, {}
    for rec in primary[2:]:
        content = image[rec['extent'] * SECTOR:rec['extent'] * SECTOR + rec['size']]
        iso_names[rec['id'].decode('ascii')] = content
        entries = dict(susp_entries(image, rec['su']))
        name = entries[b'NM'][1:].decode('utf-8')
        rr_names[name] = content
        modes[name] = both32(entries[b'PX'][0:8], 'mode')

    jroot = svd[156:190]
    jrecords = records(image, both32(jroot[2:10], 'joliet root'), both32(jroot[10:18], 'joliet size'))
    joliet = {}
    for rec in jrecords[2:]:
        joliet[rec['id'].decode('utf-16-be')] = image[rec['extent'] * SECTOR:rec['extent'] * SECTOR + rec['size']]
    return {
        'label': pvd[40:72].decode('ascii').rstrip(),
        'joliet_label': svd[40:72].decode('utf-16-be').rstrip(),
        'application_use': pvd[883:1395],
        'iso': iso_names, 'rock_ridge': rr_names, 'joliet': joliet, 'modes': modes,
    }


# -- tests ----------------------------------------------------------------------------
def test_names_and_contents_read_back_in_all_three_trees():
    image = iso.build_iso(FILES, 'cidata', b'vmcat-seed/1 sha256:abc')
    got = read_image(image)
    assert got['rock_ridge'] == FILES
    assert got['joliet'] == FILES
    assert sorted(got['iso']) == ['META_DAT.;1', 'NETWORK_.;1', 'USER_DAT.;1']
    assert got['iso']['USER_DAT.;1'] == FILES['user-data']
    assert got['label'] == 'cidata' and got['joliet_label'] == 'cidata'
    assert got['application_use'].rstrip(b'\x00') == b'vmcat-seed/1 sha256:abc'
    assert set(got['modes'].values()) == {0o100444}


def test_the_same_files_give_the_same_bytes():
    first = iso.build_iso(FILES, 'cidata')
    assert first == iso.build_iso(dict(reversed(list(FILES.items()))), 'cidata')
    assert first != iso.build_iso(FILES, 'CIDATA')
    assert first != iso.build_iso(dict(FILES, **{'user-data': b'#cloud-config\n'}), 'cidata')


def test_read_descriptor_finds_label_and_marker_in_the_head():
    image = iso.build_iso(FILES, 'cidata', b'marker')
    assert iso.read_descriptor(image[:iso.HEAD_SIZE]) == ('cidata', b'marker')
    assert iso.read_descriptor(b'\0' * iso.HEAD_SIZE) is None
    assert iso.read_descriptor(b'short') is None


def test_empty_files_large_files_and_names_that_clash_in_8_3():
    files = {
        'empty': b'',
        'big.bin': os.urandom(3 * SECTOR + 17),
        'user-data': b'a',
        'user-data-2': b'b',
        'user_data': b'c',
        'Mixed Case.with.dots.TXT': b'd',
        u'caf\u00e9-\u65e5\u672c': b'e',
    }
    got = read_image(iso.build_iso(files))
    assert got['rock_ridge'] == files
    assert got['joliet'] == files
    assert len(set(got['iso'])) == len(files)  # 8.3 names made unique
    for name in got['iso']:
        stem, ext = name[:-2].split('.')
        assert len(stem) <= 8 and len(ext) <= 3 and name.endswith(';1')
        assert all(c.isupper() or c.isdigit() or c == '_' for c in stem + ext)


def test_a_directory_longer_than_one_sector():
    files = dict(('cloud-init-file-number-%03d-with-a-long-name' % i, b'%d' % i) for i in range(60))
    image = iso.build_iso(files)
    got = read_image(image)
    assert got['rock_ridge'] == files
    assert got['joliet'] == files


@pytest.mark.parametrize('files, message', [
    ({'a/b': b''}, "must not be '.' or '..' or contain '/'"),
    ({'': b''}, 'non-empty'),
    ({'..': b''}, "must not be '.' or '..'"),
    ({'x' * 65: b''}, 'longer than 64'),
    ({u'emoji-\U0001F600': b''}, 'UCS-2'),
    ({'bad\nname': b''}, 'control characters'),
    ({'text': u'not bytes'}, 'must be bytes'),
    ([('same', b'1'), ('same', b'2')], 'duplicate file names: same'),
])
def test_bad_files_are_refused(files, message):
    with pytest.raises(iso.IsoError) as err:
        iso.build_iso(files)
    assert message in str(err.value)


@pytest.mark.parametrize('label', ['', 'x' * 33, 'with space', u'l\u00e4bel'])
def test_bad_labels_are_refused(label):
    with pytest.raises(iso.IsoError):
        iso.build_iso(FILES, label)


def test_application_use_is_limited_to_512_bytes():
    with pytest.raises(iso.IsoError):
        iso.build_iso(FILES, 'cidata', b'x' * 513)


# -- the same image through real tools --------------------------------------------------------
@pytest.mark.skipif(not shutil.which('xorriso'), reason='xorriso is not installed')
def test_xorriso_lists_and_extracts_the_rock_ridge_names(tmp_path):
    path = tmp_path / 'seed.iso'
    path.write_bytes(iso.build_iso(FILES, 'cidata'))
    listing = subprocess.run(['xorriso', '-indev', str(path), '-find', '/', '-type', 'f'],
                             capture_output=True, text=True, check=True)
    assert sorted(line.strip("'") for line in listing.stdout.split()) == ['/meta-data', '/network-config', '/user-data']
    assert "Volume id    : 'cidata'" in listing.stderr
    out = tmp_path / 'out'
    subprocess.run(['xorriso', '-osirrox', 'on', '-indev', str(path), '-extract', '/', str(out)],
                   capture_output=True, check=True)
    assert dict((p.name, p.read_bytes()) for p in out.iterdir()) == FILES


@pytest.mark.skipif(not shutil.which('isoinfo'), reason='isoinfo (genisoimage) is not installed')
def test_isoinfo_sees_joliet_and_rock_ridge(tmp_path):
    path = tmp_path / 'seed.iso'
    path.write_bytes(iso.build_iso(FILES, 'cidata'))
    info = subprocess.run(['isoinfo', '-d', '-i', str(path)], capture_output=True, text=True, check=True).stdout
    assert 'Volume id: cidata' in info
    assert 'Joliet with UCS level 3 found' in info
    assert 'Rock Ridge signatures version 1 found' in info
    joliet = subprocess.run(['isoinfo', '-J', '-f', '-i', str(path)], capture_output=True, text=True, check=True).stdout
    assert sorted(joliet.split()) == ['/meta-data', '/network-config', '/user-data']
    for name, content in FILES.items():
        got = subprocess.run(['isoinfo', '-R', '-x', '/' + name, '-i', str(path)], capture_output=True, check=True).stdout
        assert got == content
