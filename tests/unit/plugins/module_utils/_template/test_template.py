# -*- coding: utf-8 -*-
"""Pure helpers of _template: validation, metadata merging, source comparison, time stamps, views."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._template import _template
from ansible_collections.vmcat.libvirt.plugins.module_utils._template import _template_read
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _template_store as meta
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput, Refused


def params(**kw):
    base = dict(name='deb', state='present', pool='p1', source=None, format=None, sysprep=False, os=None,
                features=None, tags=None, description=None, force=False)
    base.update(kw)
    return base


def test_now_is_utc_iso8601():
    assert re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$', _template.now())


@pytest.mark.parametrize('kw, text', [
    (dict(name='a b'), 'is not a valid template name'),
    (dict(source=dict(url='http://x', path='/y')), 'exactly one of url, path, volume and vm; got url, path'),
    (dict(source=dict(checksum='sha256:' + 'a' * 64)), 'source needs one of url, path, volume and vm'),
    (dict(source=dict(url='file:///etc/passwd', checksum='sha256:' + 'a' * 64)), 'http:// or https://'),
    (dict(source=dict(url='https://u:secret@x/y')), 'url needs checksum'),
    (dict(source=dict(volume='v', checksum='sha256:xyz')), 'expected 64 hex digits'),
    (dict(source=dict(volume='../v')), 'is not a valid volume name'),
    (dict(source=dict(pool='p2', path='/x')), 'give source.volume too'),
    (dict(source=dict(disk='vda', path='/x')), 'give source.vm too'),
    (dict(source=dict(path='x.img')), 'absolute path'),
    (dict(tags=['']), 'tags must not be empty'),
])
def test_validate_refuses(kw, text):
    with pytest.raises(InvalidInput) as err:
        _template.validate(params(**kw))
    assert text in err.value.msg
    assert 'secret' not in err.value.msg


def test_validate_accepts():
    _template.validate(params(source=dict(url='HTTPS://x/y', checksum='SHA256:' + 'A' * 64)))
    _template.validate(params(source=dict(vm='golden', disk='vdb'), sysprep=True))
    _template.validate(params(state='absent'))


def test_apply_metadata_merges_and_replaces():
    doc = meta.new_metadata('deb', 'T')
    doc['os'].update(name='debian', version='11')
    doc['features']['virtio'] = True
    doc['tags'] = ['old']
    doc['description'] = 'keep'
    _template._apply_metadata(doc, params(os=dict(name=None, version='12', arch=None),
                                          features=dict(guest_agent=True, virtio=None, cloud_init=None, uefi=None),
                                          tags=['z', 'a', 'z']))
    assert doc['os'] == dict(name='debian', version='12', arch=None)
    assert doc['features'] == dict(cloud_init=False, guest_agent=True, virtio=True, uefi=False)
    assert doc['tags'] == ['a', 'z'] and doc['description'] == 'keep'
    _template._apply_metadata(doc, params(tags=[], description=''))
    assert doc['tags'] == [] and doc['description'] == ''


class _Ctx:
    def __init__(self, source):
        self.params = params(source=source)
        self.conn = type('Conn', (), {'uri': 'qemu:///system'})()


@pytest.mark.parametrize('have, source', [
    (dict(type='url', url='https://x/y', checksum='sha256:' + 'a' * 64),
     dict(url='https://user:pw@x/y')),  # credentials are not part of the origin
    (dict(type='url', url='https://x/y', checksum='sha256:' + 'a' * 64),
     dict(url='https://mirror/z', checksum='SHA256:' + 'A' * 64)),  # same bytes from elsewhere
    (dict(type='volume', pool='p1', volume='v'), dict(volume='v')),  # pool defaults to the template's
    (dict(type='vm', vm='golden', disk='vda'), dict(vm='golden')),
    (dict(type='file', path='/x'), dict(path='/x', checksum='sha256:' + 'b' * 64)),  # nothing recorded to compare
])
def test_same_source(have, source):
    _template._refuse_other_source(_Ctx(source), dict(dict.fromkeys(meta.SOURCE_KEYS), **have), 'p1')


@pytest.mark.parametrize('have, source, text', [
    (dict(type='url', url='https://x/y', checksum='sha256:' + 'a' * 64),
     dict(url='https://x/y', checksum='sha256:' + 'b' * 64), 'registered from URL https://x/y with checksum'),
    (dict(type='url', url='https://x/y'), dict(url='https://x/z'), 'the task names URL https://x/z'),
    (dict(type='volume', pool='p1', volume='v'), dict(volume='v', pool='p2'), 'the task names volume p2/v'),
    (dict(type='vm', vm='golden', disk='vda'), dict(vm='golden', disk='vdb'), "the task names disk vdb of VM 'golden'"),
    (dict(type='file', path='/x'), dict(vm='golden'), "registered from node file /x; the task names disk"),
])
def test_other_source_is_refused(have, source, text):
    with pytest.raises(Refused) as err:
        _template._refuse_other_source(_Ctx(source), dict(dict.fromkeys(meta.SOURCE_KEYS), **have), 'p1')
    assert text in err.value.msg and 'templates are immutable' in err.value.msg


def test_view_of_a_broken_template_has_defaults():
    view = _template_read.view('deb', 'p1', None, problems=['gone'])
    assert view['path'] is None and view['usage_count'] == 0 and view['problems'] == ['gone']
    assert view['features'] == dict(cloud_init=False, guest_agent=False, virtio=False, uefi=False)
    assert view['volume'] == 'deb.vmcat-template.img' and view['metadata_volume'] == 'deb.vmcat-template.json'
