# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node's host devices as libvirt's node device API sees them.

``parse_device`` turns one node device XML document into ``(kind, facts)``
for the kinds node_info reports (PCI, USB, network interfaces, disks);
``devices_section`` lists every device of a connection and groups them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import (
    LibvirtError, VmcatError, is_not_found, libvirt_message)

PCI_CLASS_DISPLAY = 0x03        # base class of VGA, XGA, 3D and other display controllers
PCI_CLASS_NVME = 0x010802       # mass storage / non-volatile memory / NVM Express
# libvirt reports an unknown link speed as -1 written unsigned.
_UNKNOWN_SPEEDS = ('4294967295', '-1', '0')


def _int(text, base=10):
    if text in (None, ''):
        return None
    return int(text, base)


def _named_id(cap, tag):
    """(id, name) of a <vendor>/<product> element; the name is None when libvirt has no ID database."""
    el = cap.find(tag)
    if el is None:
        return None, None
    name = el.text.strip() if el.text and el.text.strip() else None
    return el.get('id'), name


def pci_class(cap):
    """The 24-bit PCI class code of a pci capability, or None when libvirt does not report it."""
    return _int(_xml.text_of(cap, 'class'), 16)


def is_gpu(class_code):
    """A display controller (PCI base class 0x03); None when the class is unknown."""
    if class_code is None:
        return None
    return class_code >> 16 == PCI_CLASS_DISPLAY


def is_nvme_disk(bus, block):
    """A disk on NVMe: udev says bus nvme, or the block device is /dev/nvme*."""
    return bus == 'nvme' or bool(block and block.startswith('/dev/nvme'))


def pci_address(cap):
    parts = [_int(_xml.text_of(cap, tag)) for tag in ('domain', 'bus', 'slot', 'function')]
    if None in parts:
        return None
    return '%04x:%02x:%02x.%x' % tuple(parts)


def _common(root):
    return {
        'device': _xml.text_of(root, 'name'),
        'parent': _xml.text_of(root, 'parent'),
        'driver': _xml.text_of(root, 'driver/name'),
    }


def _pci(root, cap):
    info = _common(root)
    vendor_id, vendor = _named_id(cap, 'vendor')
    product_id, product = _named_id(cap, 'product')
    code = pci_class(cap)
    group = cap.find('iommuGroup')
    vfs = cap.find("capability[@type='virt_functions']")
    info.update(
        address=pci_address(cap),
        vendor_id=vendor_id,
        vendor=vendor,
        product_id=product_id,
        product=product,
        class_code=None if code is None else '0x%06x' % code,
        gpu=is_gpu(code),
        nvme=None if code is None else code == PCI_CLASS_NVME,
        iommu_group=_int(group.get('number')) if group is not None else None,
        numa_node=_int(_xml.attr_of(cap, 'numa', 'node')),
        pci_express=cap.find('pci-express') is not None,
        sriov_max_vfs=_int(vfs.get('maxCount')) if vfs is not None else None,
        mdev_types=sorted(t.get('id') for t in cap.findall("capability[@type='mdev_types']/type")),
    )
    return info


def _usb(root, cap):
    info = _common(root)
    vendor_id, vendor = _named_id(cap, 'vendor')
    product_id, product = _named_id(cap, 'product')
    info.update(
        bus=_int(_xml.text_of(cap, 'bus')),
        number=_int(_xml.text_of(cap, 'device')),
        vendor_id=vendor_id,
        vendor=vendor,
        product_id=product_id,
        product=product,
        devnode=_xml.text_of(root, 'devnode'),
    )
    return info


def _net(root, cap):
    info = _common(root)
    link = cap.find('link')
    speed = link.get('speed') if link is not None else None
    info.update(
        name=_xml.text_of(cap, 'interface'),
        mac=_xml.text_of(cap, 'address'),
        link_state=link.get('state') if link is not None else None,
        link_speed=None if speed in _UNKNOWN_SPEEDS else _int(speed),
    )
    return info


def _storage(root, cap):
    info = _common(root)
    block = _xml.text_of(cap, 'block')
    bus = _xml.text_of(cap, 'bus')
    removable = cap.find("capability[@type='removable']")
    if removable is not None:
        size = _int(_xml.text_of(removable, 'media_size')) if _xml.text_of(removable, 'media_available') == '1' else None
    else:
        size = _int(_xml.text_of(cap, 'size'))
    info.update(
        path=block,
        bus=bus,
        drive_type=_xml.text_of(cap, 'drive_type'),
        model=_xml.text_of(cap, 'model'),
        vendor=_xml.text_of(cap, 'vendor'),
        serial=_xml.text_of(cap, 'serial'),
        size=size,
        removable=removable is not None,
        nvme=is_nvme_disk(bus, block),
    )
    return info


# capability type -> (result list, parser)
_PARSERS = {
    'pci': ('pci', _pci),
    'usb_device': ('usb', _usb),
    'net': ('net', _net),
    'storage': ('disks', _storage),
}
_SORT_KEYS = {'pci': 'address', 'usb': 'device', 'net': 'name', 'disks': 'path'}


def capability_types(root):
    return [cap.get('type') for cap in root.findall('capability')]


def parse_device(root):
    """``(kind, facts)`` for a PCI/USB/net/storage node device, or None for other kinds."""
    for cap in root.findall('capability'):
        if cap.get('type') in _PARSERS:
            kind, parser = _PARSERS[cap.get('type')]
            return kind, parser(root, cap)
    return None


def group_devices(roots):
    """The devices section from parsed node device documents."""
    result = dict((kind, []) for kind in _SORT_KEYS)
    by_type = {}
    for root in roots:
        for cap_type in capability_types(root):
            by_type[cap_type] = by_type.get(cap_type, 0) + 1
        parsed = parse_device(root)
        if parsed is not None:
            result[parsed[0]].append(parsed[1])
    for kind, key in _SORT_KEYS.items():
        result[kind].sort(key=lambda d: (d.get(key) is None, d.get(key) or '', d['device']))
    result['total'] = len(roots)
    result['by_type'] = by_type
    result['gpu_count'] = sum(1 for d in result['pci'] if d['gpu'])
    return result


def devices_section(probe):
    devices = probe.optional('devices', probe.virt.listAllDevices, 0)
    if devices is None:
        return None
    roots = []
    for dev in devices:
        try:
            roots.append(_xml.parse(dev.XMLDesc(0), 'node device XML'))
        except (LibvirtError, VmcatError) as exc:
            if not is_not_found(exc):  # a device unplugged while we read the list is simply gone
                probe.gap('devices.%s' % dev.name(), libvirt_message(exc))
    return group_devices(roots)
