# -*- coding: utf-8 -*-
"""Node device parsing: PCI (GPU and NVMe flags), USB, network interfaces and disks,
from devices captured on the test bed and hand-written samples of hardware it lacks."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._node import _devices
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.tests.unit.helpers import fixture_xml


def devices(name):
    return list(fixture_xml(name).findall('device'))


def by_name(name, fixture='node_devices_samples.xml'):
    found = [d for d in devices(fixture) if _xml.text_of(d, 'name') == name]
    assert len(found) == 1, name
    return _devices.parse_device(found[0])


@pytest.fixture(scope='module')
def samples():
    return _devices.group_devices(devices('node_devices_samples.xml'))


@pytest.fixture(scope='module')
def captured():
    return _devices.group_devices(devices('node_devices_qemu.xml'))


@pytest.mark.parametrize('code, gpu', [
    (0x030000, True), (0x030200, True), (0x038000, True), (0x040300, False), (0x010802, False),
    (0x020000, False), (0xffff00, False), (None, None)])
def test_is_gpu(code, gpu):
    assert _devices.is_gpu(code) is gpu


@pytest.mark.parametrize('bus, block, nvme', [
    ('nvme', '/dev/nvme0n1', True), (None, '/dev/nvme1n1', True), ('nvme', None, True),
    ('ata', '/dev/sda', False), (None, '/dev/vda', False), (None, None, False)])
def test_is_nvme_disk(bus, block, nvme):
    assert _devices.is_nvme_disk(bus, block) is nvme


def test_gpu_with_iommu_group():
    kind, gpu = by_name('pci_0000_01_00_0')
    assert kind == 'pci'
    assert gpu == {
        'device': 'pci_0000_01_00_0', 'parent': 'pci_0000_00_01_0', 'driver': 'vfio-pci',
        'address': '0000:01:00.0', 'vendor_id': '0x10de', 'vendor': 'NVIDIA Corporation',
        'product_id': '0x2204', 'product': 'GA102 [GeForce RTX 3090]', 'class_code': '0x030000',
        'gpu': True, 'nvme': False, 'iommu_group': 14, 'numa_node': 0, 'pci_express': True,
        'sriov_max_vfs': None, 'mdev_types': [],
    }


def test_gpu_audio_function_is_not_a_gpu():
    _kind, audio = by_name('pci_0000_01_00_1')
    assert audio['gpu'] is False and audio['iommu_group'] == 14 and audio['class_code'] == '0x040300'


def test_3d_controller_with_mdev_types():
    _kind, tesla = by_name('pci_0000_3b_00_0')
    assert tesla['gpu'] is True
    assert tesla['address'] == '0000:3b:00.0'
    assert tesla['mdev_types'] == ['nvidia-222', 'nvidia-223']
    assert tesla['numa_node'] == 1 and tesla['pci_express'] is False


def test_pci_without_class_or_names():
    _kind, old = by_name('pci_0000_00_02_0')
    assert old['class_code'] is None and old['gpu'] is None and old['nvme'] is None
    assert old['vendor'] is None and old['vendor_id'] == '0x8086'
    assert old['iommu_group'] is None and old['driver'] is None


def test_nvme_controller_and_sriov():
    _kind, ctrl = by_name('pci_0000_04_00_0')
    assert ctrl['nvme'] is True and ctrl['gpu'] is False and ctrl['driver'] == 'nvme'
    _kind, nic = by_name('pci_0000_05_00_0')
    assert nic['sriov_max_vfs'] == 7 and nic['nvme'] is False


def test_nvme_disks():
    kind, disk = by_name('block_nvme0n1_Samsung_SSD_970_EVO_Plus_1TB_S4EWNX0R000001')
    assert kind == 'disks'
    assert disk == {
        'device': 'block_nvme0n1_Samsung_SSD_970_EVO_Plus_1TB_S4EWNX0R000001', 'parent': 'pci_0000_04_00_0',
        'driver': None, 'path': '/dev/nvme0n1', 'bus': 'nvme', 'drive_type': 'disk',
        'model': 'Samsung SSD 970 EVO Plus 1TB', 'vendor': 'Samsung', 'serial': 'S4EWNX0R000001',
        'size': 1000204886016, 'removable': False, 'nvme': True,
    }
    _kind, no_bus = by_name('block_nvme1n1_WD_BLACK_SN850X_2000GB_22000000000001')
    assert no_bus['bus'] is None and no_bus['nvme'] is True


def test_sata_and_removable_disks():
    _kind, sata = by_name('block_sda_ST4000NM0035_1V4107_ZC100001')
    assert sata['nvme'] is False and sata['bus'] == 'ata' and sata['size'] == 4000787030016
    _kind, dvd = by_name('block_sr0_HL_DT_ST_DVDRAM_GH24NSD1_K001')
    assert dvd['removable'] is True and dvd['size'] == 3900702720 and dvd['drive_type'] == 'cdrom'
    _kind, empty = by_name('block_sr1')
    assert empty['removable'] is True and empty['size'] is None


def test_usb_device():
    kind, key = by_name('usb_1_5')
    assert kind == 'usb'
    assert key == {
        'device': 'usb_1_5', 'parent': 'usb_usb1', 'driver': 'usb', 'bus': 1, 'number': 3,
        'vendor_id': '0x1050', 'vendor': 'Yubico.com', 'product_id': '0x0407', 'product': 'YubiKey OTP+FIDO+CCID',
        'devnode': '/dev/bus/usb/001/003',
    }


def test_usb_interface_is_not_listed():
    assert by_name('usb_1_5_1_0') is None


def test_net_with_speed():
    kind, nic = by_name('net_enp5s0_a0_36_9f_00_00_01')
    assert kind == 'net'
    assert (nic['name'], nic['mac'], nic['link_state'], nic['link_speed']) == ('enp5s0', 'a0:36:9f:00:00:01', 'up', 1000)


def test_grouped_samples(samples):
    assert samples['total'] == 15
    assert samples['by_type'] == {'pci': 6, 'storage': 5, 'usb_device': 2, 'usb': 1, 'net': 1}
    assert samples['gpu_count'] == 2
    assert [d['address'] for d in samples['pci']] == [
        '0000:00:02.0', '0000:01:00.0', '0000:01:00.1', '0000:04:00.0', '0000:05:00.0', '0000:3b:00.0']
    assert [d['path'] for d in samples['disks'] if d['nvme']] == ['/dev/nvme0n1', '/dev/nvme1n1']
    assert [d['device'] for d in samples['usb']] == ['usb_1_5', 'usb_usb1']


def test_captured_devices_of_the_test_bed(captured):
    """The real node devices of the test bed: virtio PCI, one virtio disk, four interfaces, no GPU."""
    assert captured['total'] == 12
    assert captured['by_type'] == {'system': 1, 'pci': 6, 'storage': 1, 'net': 4}
    assert captured['gpu_count'] == 0 and captured['usb'] == []
    virtio_blk = [d for d in captured['pci'] if d['address'] == '0000:00:02.0'][0]
    assert virtio_blk['vendor_id'] == '0x1af4' and virtio_blk['driver'] == 'virtio-pci'
    assert virtio_blk['vendor'] is None  # no PCI ID database on the test bed
    assert virtio_blk['class_code'] == '0x018000' and virtio_blk['gpu'] is False
    assert captured['disks'] == [{
        'device': 'block_vda', 'parent': 'pci_0000_00_02_0', 'driver': None, 'path': '/dev/vda', 'bus': None,
        'drive_type': 'disk', 'model': None, 'vendor': '0x1af4', 'serial': None, 'size': 274877906944,
        'removable': False, 'nvme': False}]
    eth0 = [n for n in captured['net'] if n['name'] == 'eth0'][0]
    assert eth0['link_state'] == 'up' and eth0['link_speed'] is None  # 4294967295 means unknown
    assert [n['name'] for n in captured['net']] == ['eth0', 'ifb0', 'ifb1', 'lo']


def test_devices_section_on_test_driver(conn, make_ctx):
    from ansible_collections.vmcat.libvirt.plugins.module_utils._node._node_info import Probe
    section = _devices.devices_section(Probe(make_ctx(conn, {})))
    assert section['total'] == 4 and section['pci'] == [] and section['by_type']['scsi_host'] == 3
