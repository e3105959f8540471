# -*- coding: utf-8 -*-
"""Fakes for snapshot logic the test driver cannot show: external snapshots, clones, other VMs' backing files.

A ``FakeConn`` is a real ``Connection`` (same lookups, error translation and
messages) over fake domains, pools and volumes that record every mutating
call in ``calls``.  Snapshot XML is written the way libvirt 9.0's QEMU driver
writes it.  No test functions here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._connection import Connection
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module import Context
from ansible_collections.vmcat.libvirt.tests.unit.fakes.errors import LibvirtFailure
from ansible_collections.vmcat.libvirt.tests.unit.fakes.volume import FakeVol

STATE_CODES = {'running': 1, 'paused': 3, 'shutoff': 5}


def _uuid(name):
    digest = hashlib.sha256(name.encode()).hexdigest()
    return '%s-%s-%s-%s-%s' % (digest[:8], digest[8:12], digest[12:16], digest[16:20], digest[20:32])


def domain_xml(name, disks, uuid=None, extra_devices=''):
    """disks: [(target, path, format)]."""
    parts = ['<domain type="qemu"><name>%s</name><uuid>%s</uuid><memory>262144</memory><devices>'
             % (name, uuid or _uuid(name))]
    for target, path, fmt in disks:
        parts.append('<disk type="file" device="disk"><driver name="qemu" type="%s"/><source file="%s"/>'
                     '<target dev="%s" bus="virtio"/></disk>' % (fmt, path, target))
    parts.append(extra_devices + '</devices></domain>')
    return ''.join(parts)


def snapshot_xml(name, kind, domain, parent=None, created=100, files=None, state=None, description=None):
    """A snapshot as libvirt writes it; ``files`` maps disk target -> overlay file for external snapshots."""
    root = _xml.parse(domain)
    disks = [(_xml.attr_of(d, 'target', 'dev'), _xml.attr_of(d, 'source', 'file')) for d in root.findall('devices/disk')]
    out = ['<domainsnapshot><name>%s</name>' % name]
    if description:
        out.append('<description>%s</description>' % description)
    out.append('<state>%s</state>' % (state or ('disk-snapshot' if kind == 'external' else 'running')))
    if parent:
        out.append('<parent><name>%s</name></parent>' % parent)
    out.append('<creationTime>%d</creationTime>' % created)
    out.append('<memory snapshot="%s"/><disks>' % ('no' if kind == 'external' else 'internal'))
    for target, dummy in disks:
        if kind == 'external' and target in (files or {}):
            out.append('<disk name="%s" snapshot="external" type="file"><driver type="qcow2"/><source file="%s"/></disk>'
                       % (target, files[target]))
        elif kind == 'external':
            out.append('<disk name="%s" snapshot="no"/>' % target)
        else:
            out.append('<disk name="%s" snapshot="internal"/>' % target)
    out.append('</disks>%s</domainsnapshot>' % domain)
    return ''.join(out)


class FakeSnap:
    """A snapshot of a FakeDom: its name and XML; a delete is recorded in the domain's calls."""

    def __init__(self, dom, name, xml):
        self.dom, self.name, self.xml = dom, name, xml

    def getName(self):
        return self.name

    def getXMLDesc(self, flags=0):
        return self.xml

    def isCurrent(self, flags=0):
        return self.dom.current == self.name

    def delete(self, flags=0):
        self.dom.calls.append(('delete', self.name, flags))
        if self.dom.fail_delete == self.name:
            raise LibvirtFailure('block commit failed')
        self.dom.snaps = [s for s in self.dom.snaps if s.name != self.name]


class FakeDom:
    def __init__(self, name, xml, state='running', calls=None):
        self._name = name
        self.xml = xml
        self.run = state
        self.snaps = []
        self.current = None
        self.calls = calls if calls is not None else []
        self.fail_delete = None

    def add(self, name, xml, current=False):
        self.snaps.append(FakeSnap(self, name, xml))
        if current:
            self.current = name

    def name(self):
        return self._name

    def UUIDString(self):
        return _xml.text_of(_xml.parse(self.xml), 'uuid')

    def state(self, flags=0):
        return [STATE_CODES[self.run], 1]

    def isActive(self):
        return self.run != 'shutoff'

    def isPersistent(self):
        return True

    def XMLDesc(self, flags=0):
        return self.xml

    def listAllSnapshots(self, flags=0):
        return list(self.snaps)

    def snapshotCreateXML(self, xml, flags=0):
        self.calls.append(('create', xml, flags))
        name = _xml.text_of(_xml.parse(xml), 'name')
        snap = FakeSnap(self, name, xml)
        self.snaps.append(snap)
        self.current = name
        return snap

    def revertToSnapshot(self, snap, flags=0):
        self.calls.append(('revert', snap.name, flags))
        self.current = snap.name

    def destroy(self):
        self.calls.append(('destroy', self._name))
        self.run = 'shutoff'


class FakePool:
    """A storage pool of type ``ptype`` at ``path`` holding FakeVols; what changes is recorded in ``calls``."""

    def __init__(self, name, path, calls, ptype='dir', active=True):
        self._name, self.target, self.type, self.active = name, path, ptype, active
        self.calls = calls
        self.vols = []

    def name(self):
        return self._name

    def isActive(self):
        return self.active

    def XMLDesc(self, flags=0):
        return '<pool type="%s"><name>%s</name><target><path>%s</path></target></pool>' % (self.type, self._name, self.target)

    def listAllVolumes(self, flags=0):
        return list(self.vols)

    def refresh(self, flags=0):
        self.calls.append(('refresh', self._name))

    def createXML(self, xml, flags=0):
        self.calls.append(('create volume', xml))
        root = _xml.parse(xml)
        name = _xml.text_of(root, 'name')
        vol = FakeVol(self, name, '%s/%s' % (self.target, name), _xml.text_of(root, 'backingStore/path'))
        self.vols.append(vol)
        return vol


class FakeVirt:
    """The virConnect under a FakeConn: libvirt ``version``, its domains and pools; defineXML makes a FakeDom."""

    def __init__(self, conn, version):
        self.conn, self.version = conn, version
        self.fail_define = False

    def getLibVersion(self):
        return self.version

    def listAllDomains(self, flags=0):
        return list(self.conn.doms)

    def listAllStoragePools(self, flags=0):
        return list(self.conn.pools)

    def defineXML(self, xml):
        self.conn.calls.append(('define', xml))
        if self.fail_define:
            raise LibvirtFailure('unsupported configuration: no such machine type')
        dom = FakeDom(_xml.text_of(_xml.parse(xml), 'name'), xml, 'shutoff', self.conn.calls)
        self.conn.doms.append(dom)
        return dom


class FakeConn(Connection):
    """A Connection over fakes: lookups by name; everything that changes lands in ``calls``."""

    def __init__(self, version=9000000):
        self.doms = []
        self.pools = []
        self.calls = []
        super(FakeConn, self).__init__('qemu:///fake', virconnect=FakeVirt(self, version))

    def new_dom(self, name, disks, state='running', extra_devices=''):
        dom = FakeDom(name, domain_xml(name, disks, extra_devices=extra_devices), state, self.calls)
        self.doms.append(dom)
        return dom

    def new_pool(self, name, path, ptype='dir'):
        pool = FakePool(name, path, self.calls, ptype)
        self.pools.append(pool)
        return pool

    def domain(self, name):
        return next((d for d in self.doms if d.name() == name), None)

    def pool(self, name):
        return next((p for p in self.pools if p.name() == name), None)

    def volume(self, pool, name):
        return next((v for v in pool.vols if v.name() == name), None)

    def volume_by_path(self, path):
        return next((v for p in self.pools for v in p.vols if v.path() == path), None)


def external_vm(conn, names=('x1', 'x2'), state='running', first_parent=None):
    """A VM 'vm' on /img/vm.qcow2 with a chain of external snapshots, as libvirt leaves it."""
    base = '/img/vm.qcow2'
    dom = conn.new_dom('vm', [('vda', base, 'qcow2')], state)
    parent, top = first_parent, base
    for n, name in enumerate(names):
        overlay = '/img/vm.%s' % name
        saved = domain_xml('vm', [('vda', top, 'qcow2')], uuid=dom.UUIDString())
        dom.add(name, snapshot_xml(name, 'external', saved, parent, 100 + n, {'vda': overlay}),
                current=(n == len(names) - 1))
        parent, top = name, overlay
    dom.xml = domain_xml('vm', [('vda', top, 'qcow2')], uuid=dom.UUIDString())
    return dom


def context(conn, check_mode=False, **params):
    base = dict(vm='vm', name=None, state='present', kind=None, description=None, disks=None, quiesce=False,
                after_revert='snapshot', force_revert=False, children=False, metadata_only=False,
                clone_to_vm=None, to_template=None)
    base.update(params)
    return Context(conn, base, check_mode)
