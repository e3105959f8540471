# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stateful rehearsal nodes: a ``test:///path/node.xml`` node file is the test driver's state between tasks.

The test driver forgets everything when its process (one task) ends.  Per
task: lock the file, restore the active/autostart flags and the volume
contents (the test driver has no upload: up to ``MAX_CONTENT`` bytes a
volume, by key) from its ``vmcat:state`` element, and after a real change
write the whole node back atomically.  docs/test-driver.md tells the whole
story; ``test:///default`` stays fresh in every process.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import contextlib
import fcntl
import os
import tempfile

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._connection import node_path
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._definitions import definition_xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import VmcatError

STATE_NS = 'https://vmcat.example/libvirt/test-node/1'
TEST_NS = 'http://libvirt.org/schemas/domain/test/1.0'
_OBJECT_TAGS = ('domain', 'network', 'pool')
MAX_CONTENT = 4 * 1024 * 1024

# Volume contents on test-driver connections, by volume key (its path), for this process.
_contents = {}


def is_test_driver(virt):
    """True for a connection to libvirt's embedded test driver (``test:///...``)."""
    try:
        return virt.getURI().startswith('test:')
    except Exception:  # best-effort read: a connection that cannot say its URI is no test driver
        return False


def write_content(vol, data):
    """Keep ``data`` (at most MAX_CONTENT bytes: the caller checks) as the whole content of a test-driver volume."""
    _contents[vol.key()] = bytes(data)


def read_content(vol):
    """The bytes written into a test-driver volume (b'' when nothing was)."""
    return _contents.get(vol.key(), b'')


def node_file(uri):
    """The node file path of a ``test:///path`` URI, or None for anything else."""
    path = node_path(uri)
    if path is None or not os.path.isfile(path):
        return None
    return path


class _NoNode:
    def restore(self, conn):
        pass

    def persist(self, conn):
        pass


class _Node:
    def __init__(self, path):
        self.path = path

    def _flags(self):
        root = _xml.parse(open(self.path, 'rb').read(), 'test node file %s' % self.path)
        state = root.find('{%s}state' % STATE_NS)
        return [] if state is None else list(state)

    def _corrupt(self, key, problem):
        return VmcatError(
            "node file %s holds corrupt content for %s (%s); remove that <vmcat:content key=\"%s\"> element from "
            "the file's <vmcat:state> section (the volume then reads as zeros, write its bytes again with the task that "
            "made them) or put back a good copy of the file" % (self.path, key, problem, key), node_file=self.path)

    def _restore_contents(self, entries):
        _contents.clear()
        for entry in entries:
            if _xml.etree.QName(entry).localname != 'content' or not entry.get('key'):
                continue
            key = entry.get('key')
            if len(entry):
                raise self._corrupt(key, 'the element holds other elements, not base64 text')
            try:  # the writer makes one line; an editor may have wrapped it
                data = base64.b64decode(''.join((entry.text or '').split()), validate=True)
            except (binascii.Error, ValueError) as exc:
                raise self._corrupt(key, 'not valid base64: %s' % exc)
            if len(data) > MAX_CONTENT:
                raise self._corrupt(key, '%d bytes, more than the %d a test-driver volume keeps' % (len(data), MAX_CONTENT))
            _contents[key] = data

    def restore(self, conn):
        """Apply the saved active/autostart flags to the freshly opened test driver."""
        lookups = {'pool': conn.pool, 'network': conn.network, 'domain': conn.domain}
        entries = self._flags()
        self._restore_contents(entries)
        for entry in entries:
            tag = _xml.etree.QName(entry).localname
            if tag in lookups and not entry.get('name'):
                raise VmcatError("node file %s holds a corrupt <vmcat:state> entry: a <%s> flag without a name; remove "
                                 "that element (the next change writes the flags again) or put back a good copy of "
                                 "the file" % (self.path, tag), node_file=self.path)
            obj = lookups[tag](entry.get('name')) if tag in lookups else None
            if obj is None:
                continue
            if entry.get('autostart') == 'yes':
                obj.setAutostart(1)
            if tag != 'domain' and entry.get('active') == 'no' and obj.isActive():
                obj.destroy()

    def persist(self, conn):
        """Write the node's whole state back to the file (atomically)."""
        old = _xml.parse(open(self.path, 'rb').read(), 'test node file %s' % self.path)
        root = _xml.etree.Element('node', nsmap={'test': TEST_NS, 'vmcat': STATE_NS})
        for child in old:
            if isinstance(child.tag, str) and child.tag not in _OBJECT_TAGS and child.tag != '{%s}state' % STATE_NS:
                root.append(child)
        state = _xml.etree.SubElement(root, '{%s}state' % STATE_NS)
        virt = conn.virt
        for dom in virt.listAllDomains(0):
            el = _xml.parse(dom.XMLDesc(_inactive_flags(dom)))
            run = _xml.etree.SubElement(el, '{%s}runstate' % TEST_NS)
            run.text = str(dom.state()[0])
            if not dom.isPersistent():
                _xml.etree.SubElement(el, '{%s}transient' % TEST_NS)
            el.extend(_snapshots(dom))
            root.append(el)
            _flag(state, 'domain', dom.name(), None, dom.autostart())
        for net in virt.listAllNetworks(0):
            root.append(_xml.parse(definition_xml(net, 1)))  # VIR_NETWORK_XML_INACTIVE
            _flag(state, 'network', net.name(), net.isActive(), net.autostart())
        saved_volumes = dict((p.findtext('name'), p.findall('volume')) for p in old.findall('pool'))
        for pool in virt.listAllStoragePools(0):
            el = _xml.parse(definition_xml(pool, 1))  # VIR_STORAGE_XML_INACTIVE
            if pool.isActive():
                volumes = [_xml.parse(vol.XMLDesc(0)) for vol in pool.listAllVolumes(0)]
            else:  # a stopped pool lists no volumes, but keeps them (as files stay in a stopped dir pool)
                volumes = saved_volumes.get(pool.name(), [])
            for vol in volumes:
                el.append(vol)
                key = vol.findtext('key')
                if _contents.get(key):
                    content = _xml.etree.SubElement(state, '{%s}content' % STATE_NS, key=key)
                    content.text = base64.b64encode(_contents[key]).decode('ascii')
            root.append(el)
            _flag(state, 'pool', pool.name(), pool.isActive(), pool.autostart())
        directory = os.path.dirname(self.path)
        fd, tmp = tempfile.mkstemp(prefix='.node-', suffix='.xml', dir=directory)
        with os.fdopen(fd, 'w') as out:
            out.write(_xml.to_string(root))
        os.rename(tmp, self.path)


def _inactive_flags(dom):
    flags = 1  # VIR_DOMAIN_XML_SECURE: keep graphics passwords in the node file
    if dom.isPersistent():
        flags |= 2  # VIR_DOMAIN_XML_INACTIVE: the persistent definition
    return flags


def _snapshots(dom):
    """The domain's snapshots as <test:domainsnapshot> elements, with the <active> (current) flag the driver reads."""
    found = []
    for snap in dom.listAllSnapshots(0):
        el = _xml.etree.Element('{%s}domainsnapshot' % TEST_NS)
        el.extend(list(_xml.parse(snap.getXMLDesc(1))))  # VIR_DOMAIN_SNAPSHOT_XML_SECURE
        _xml.etree.SubElement(el, 'active').text = '1' if snap.isCurrent() else '0'
        found.append(el)
    return found


def _flag(state, tag, name, active, autostart):
    el = _xml.etree.SubElement(state, tag)
    el.set('name', name)
    if active is not None:
        el.set('active', 'yes' if active else 'no')
    el.set('autostart', 'yes' if autostart else 'no')


@contextlib.contextmanager
def session(uri):
    """Lock a test node file for one task; yields an object with restore()/persist()."""
    path = node_file(uri)
    if path is None:
        yield _NoNode()
        return
    with open(path + '.lock', 'a') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield _Node(path)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
