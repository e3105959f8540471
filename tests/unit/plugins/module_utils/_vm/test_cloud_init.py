# -*- coding: utf-8 -*-
"""cloud-init seeds: rendering, the cdrom entry, and the seed volume on a test:/// node with fake streams."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest
import yaml

from ansible_collections.vmcat.libvirt.plugins.module_utils._vm import _cloud_init as ci
from ansible_collections.vmcat.libvirt.plugins.module_utils._vm import _seed_volume as sv
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _iso9660 as iso
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._connection import Connection
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput, NotFound, Refused
from ansible_collections.vmcat.libvirt.tests.unit.plugins.module_utils._core.test_iso9660 import read_image
from ansible_collections.vmcat.libvirt.tests.unit.fakes.volume import FakeStore, install

KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyExampleKeyExampleKeyExampleKey user@example'


def files_of(seed):
    return dict((name, data.decode('utf-8')) for name, data in seed.files.items())


# -- user-data ---------------------------------------------------------------------------
def test_a_dict_becomes_a_cloud_config_document():
    user = {'packages': ['nginx'], 'runcmd': [['echo', u'h\u00e9llo']], 'write_files': [{'path': '/x', 'content': 'a\nb\n'}]}
    seed = ci.render_seed('web1', {'user_data': user})
    text = files_of(seed)['user-data']
    assert text.startswith('#cloud-config\n')
    assert yaml.safe_load(text) == user
    assert u'h\u00e9llo' in text  # written as UTF-8, not escaped


def test_a_text_is_written_exactly():
    script = '#!/bin/sh\necho hi > /tmp/x\n'
    assert files_of(ci.render_seed('web1', {'user_data': script}))['user-data'] == script


def test_no_user_data_is_an_empty_cloud_config():
    text = files_of(ci.render_seed('web1', {}))['user-data']
    assert text.startswith('#cloud-config\n') and yaml.safe_load(text) == {}


def test_keys_and_password_are_merged_into_the_cloud_config():
    seed = ci.render_seed('web1', {'user_data': {'ssh_authorized_keys': [KEY, 'ssh-rsa OLD']},
                                   'ssh_authorized_keys': ['ssh-rsa NEW', KEY], 'password': 'pw'})
    data = yaml.safe_load(files_of(seed)['user-data'])
    assert data['ssh_authorized_keys'] == [KEY, 'ssh-rsa OLD', 'ssh-rsa NEW']
    assert data['password'] == 'pw'
    assert data['chpasswd'] == {'expire': False}


def test_a_chpasswd_of_the_user_is_kept():
    seed = ci.render_seed('web1', {'user_data': {'chpasswd': {'expire': True}}, 'password': 'pw'})
    assert yaml.safe_load(files_of(seed)['user-data'])['chpasswd'] == {'expire': True}


def test_keys_merge_into_a_cloud_config_text():
    seed = ci.render_seed('web1', {'user_data': '#cloud-config\npackages: [git]\n', 'ssh_authorized_keys': [KEY]})
    assert yaml.safe_load(files_of(seed)['user-data']) == {'packages': ['git'], 'ssh_authorized_keys': [KEY]}


@pytest.mark.parametrize('user_data, message', [
    ('#!/bin/sh\necho\n', 'another kind of text'),
    ('#cloud-config\n- a list\n', 'not a YAML mapping'),
    ('#cloud-config\nkey: [unclosed\n', 'not valid YAML'),
    ({'ssh_authorized_keys': 'one key'}, 'must be a list'),
])
def test_keys_cannot_merge_into_everything(user_data, message):
    with pytest.raises(InvalidInput) as err:
        ci.render_seed('web1', {'user_data': user_data, 'ssh_authorized_keys': [KEY]})
    assert message in str(err.value)


@pytest.mark.parametrize('user_data, message', [
    ('#cloud-config\nkey: [unclosed\n', 'not valid YAML'),
    ('#cloud-config\npackages:\n- git\n  bad: indent\n', 'not valid YAML'),
    ('  #Cloud-Config\n- a list\n', 'not a YAML mapping (it is a list)'),
    ('#cloud-config\njust text\n', 'not a YAML mapping (it is a str)'),
])
def test_a_cloud_config_text_is_checked_even_with_nothing_to_merge(user_data, message):
    with pytest.raises(InvalidInput) as err:
        ci.render_seed('web1', {'user_data': user_data})
    assert message in str(err.value)
    assert 'cloud_init.user_data starts with #cloud-config' in str(err.value)
    assert 'fix the document, or give cloud_init.user_data as a dict' in str(err.value)


@pytest.mark.parametrize('user_data', [
    '#cloud-config\npackages: [git]\n',
    '#cloud-config\n',
    '#cloud-config-archive\n- type: text/cloud-config\n  content: "packages: [git]"\n',
    '#!/bin/sh\necho "key: [unclosed"\n',
])
def test_other_texts_and_valid_cloud_config_are_written_as_given(user_data):
    assert files_of(ci.render_seed('web1', {'user_data': user_data}))['user-data'] == user_data


def test_without_pyyaml_a_cloud_config_text_is_written_unchecked(monkeypatch):
    monkeypatch.setattr(ci, 'HAS_YAML', False)
    text = '#cloud-config\nkey: [unclosed\n'
    assert files_of(ci.render_seed('web1', {'user_data': text}))['user-data'] == text


def test_user_data_must_be_a_dict_or_a_text():
    with pytest.raises(InvalidInput) as err:
        ci.render_seed('web1', {'user_data': ['a', 'list']})
    assert 'must be a dict' in str(err.value)


def test_keys_into_a_text_need_pyyaml(monkeypatch):
    monkeypatch.setattr(ci, 'HAS_YAML', False)
    with pytest.raises(InvalidInput) as err:
        ci.render_seed('web1', {'user_data': '#cloud-config\n{}\n', 'password': 'x'})
    assert 'needs PyYAML' in str(err.value)


# -- meta-data ----------------------------------------------------------------------------
def test_meta_data_defaults_are_stable_per_vm():
    meta = yaml.safe_load(files_of(ci.render_seed('Web_1.prod', {}))['meta-data'])
    assert meta == {'instance-id': 'iid-Web_1.prod', 'local-hostname': 'web-1-prod'}
    changed = ci.render_seed('Web_1.prod', {'user_data': {'packages': ['x']}})
    assert yaml.safe_load(files_of(changed)['meta-data'])['instance-id'] == 'iid-Web_1.prod'


def test_meta_data_options_and_extra_keys():
    seed = ci.render_seed('web1', {'instance_id': 'i-2', 'hostname': 'www.example.com',
                                   'meta_data': {'public-keys': [KEY], 'instance-id': 'i-2'}})
    assert yaml.safe_load(files_of(seed)['meta-data']) == {
        'public-keys': [KEY], 'instance-id': 'i-2', 'local-hostname': 'www.example.com'}


@pytest.mark.parametrize('cloud_init, message', [
    ({'instance_id': 'a', 'meta_data': {'instance-id': 'b'}}, 'differ'),
    ({'hostname': 'a', 'meta_data': {'local-hostname': 'b'}}, 'differ'),
    ({'hostname': 'bad_name'}, 'not a valid host name'),
    ({'hostname': '-x'}, 'not a valid host name'),
    ({'hostname': 'a' * 64}, 'not a valid host name'),
])
def test_bad_meta_data(cloud_init, message):
    with pytest.raises(InvalidInput) as err:
        ci.render_seed('web1', cloud_init)
    assert message in str(err.value)


def test_a_vm_name_without_hostname_characters_gives_no_hostname():
    meta = yaml.safe_load(files_of(ci.render_seed('___', {}))['meta-data'])
    assert 'local-hostname' not in meta


# -- network-config ----------------------------------------------------------------------
@pytest.mark.parametrize('config', [
    {'version': 2, 'ethernets': {'eth0': {'dhcp4': True}}},
    {'version': 1, 'config': [{'type': 'physical', 'name': 'eth0', 'subnets': [{'type': 'dhcp'}]}]},
    {'network': {'version': 2, 'ethernets': {}}},
])
def test_network_config_versions(config):
    seed = ci.render_seed('web1', {'network_config': config})
    assert yaml.safe_load(files_of(seed)['network-config']) == config


def test_network_config_text_and_absence():
    assert files_of(ci.render_seed('w', {'network_config': 'version: 2\n'}))['network-config'] == 'version: 2\n'
    assert 'network-config' not in ci.render_seed('w', {}).files


@pytest.mark.parametrize('config', [{'ethernets': {}}, {'version': 3}, ['x']])
def test_bad_network_config(config):
    with pytest.raises(InvalidInput):
        ci.render_seed('web1', {'network_config': config})


# -- the content key ----------------------------------------------------------------------
def test_the_key_follows_the_content_not_the_formatting(monkeypatch):
    options = {'user_data': {'packages': ['a']}, 'network_config': {'version': 2}, 'password': 'x'}
    with_yaml = ci.render_seed('web1', options)
    monkeypatch.setattr(ci, 'HAS_YAML', False)
    without_yaml = ci.render_seed('web1', options)
    assert with_yaml.files != without_yaml.files  # JSON instead of YAML ...
    assert with_yaml.key == without_yaml.key  # ... says the same
    for name, data in without_yaml.files.items():  # and JSON is YAML
        text = data.decode('utf-8')
        body = text.split('\n', 1)[1] if text.startswith('#cloud-config') else text
        assert yaml.safe_load(body) == json.loads(body)
    assert ci.render_seed('web1', dict(options, password='y')).key != with_yaml.key
    assert ci.render_seed('web2', options).key != with_yaml.key


def test_the_image_is_a_cidata_iso_with_the_marker():
    seed = ci.render_seed('web1', {'user_data': {'a': 1}})
    got = read_image(sv.seed_image(seed))
    assert got['label'] == 'cidata'
    assert got['application_use'].rstrip(b'\0') == b'vmcat-seed/1 sha256:' + seed.key.encode()
    assert got['rock_ridge'] == seed.files


# -- the cdrom -------------------------------------------------------------------------------
@pytest.mark.parametrize('machine, arch, bus', [
    (None, None, 'ide'), ('pc', 'x86_64', 'ide'), ('pc-i440fx-7.2', None, 'ide'),
    ('q35', None, 'sata'), ('pc-q35-7.2', 'x86_64', 'sata'), ('virt', 'aarch64', 'scsi'),
    (None, 'aarch64', 'scsi'), ('microvm', None, 'scsi'),
])
def test_default_bus(machine, arch, bus):
    assert ci.default_bus(machine, arch) == bus


def test_seed_disk_entry():
    assert ci.seed_disk('web1', 'images', {}) == {
        'target': 'hdc', 'device': 'cdrom', 'bus': 'ide', 'pool': 'images', 'volume': 'web1-cidata.iso',
        'format': 'raw', 'readonly': True}
    assert ci.seed_disk('web1', 'images', {}, 'q35')['target'] == 'sdc'
    assert ci.seed_disk('web1', 'images', {'bus': 'sata', 'target': 'sdx'})['target'] == 'sdx'
    with pytest.raises(InvalidInput) as err:
        ci.seed_disk('web1', 'images', {'bus': 'ide', 'target': 'sdb'})
    assert 'does not fit bus ide' in str(err.value)
    with pytest.raises(InvalidInput):
        ci.seed_disk('web1', 'images', {'bus': 'virtio'})


# -- the volume, on a test:/// node with fake streams ----------------------------------------------
@pytest.fixture
def node(node_uri, monkeypatch):
    store = install(monkeypatch, FakeStore(default=b''))
    with Connection(node_uri) as conn:
        yield conn, store


def seed_path(conn, vm='web1'):
    return conn.require_volume('p1', '%s-cidata.iso' % vm).path()


def test_create_keep_rebuild(node, make_ctx):
    conn, store = node
    options = {'user_data': {'packages': ['a']}, 'pool': 'p1'}
    ctx = make_ctx(conn, {})
    changed, disk = sv.ensure_seed(ctx, 'web1', None, options)
    assert changed and disk['pool'] == 'p1' and disk['volume'] == 'web1-cidata.iso'
    first = store.contents[seed_path(conn)]
    assert read_image(first)['rock_ridge'] == ci.render_seed('web1', options).files
    assert ctx.actions == ["create cloud-init seed 'web1-cidata.iso' in pool 'p1'"]

    again = make_ctx(conn, {})
    assert sv.ensure_seed(again, 'web1', 'p1', options) == (False, disk)
    assert again.actions == [] and store.contents[seed_path(conn)] == first
    assert sv.read_seed_key(conn, 'p1', 'web1') == ci.render_seed('web1', options).key

    changed_options = dict(options, user_data={'packages': ['b']})
    check = make_ctx(conn, {}, check_mode=True)
    assert sv.ensure_seed(check, 'web1', 'p1', changed_options)[0] is True
    assert store.contents[seed_path(conn)] == first  # check mode changed nothing
    rebuild = make_ctx(conn, {})
    assert sv.ensure_seed(rebuild, 'web1', 'p1', changed_options)[0] is True
    assert rebuild.actions == ["rebuild cloud-init seed 'web1-cidata.iso' in pool 'p1'"]
    assert read_image(store.contents[seed_path(conn)])['rock_ridge']['user-data'].endswith(b'- b\n')
    assert sv.ensure_seed(make_ctx(conn, {}), 'web1', 'p1', changed_options)[0] is False


def test_check_mode_creates_nothing(node, make_ctx):
    conn, store = node
    ctx = make_ctx(conn, {}, check_mode=True)
    assert sv.ensure_seed(ctx, 'web1', 'p1', {})[0] is True
    assert conn.volume(conn.require_pool('p1'), 'web1-cidata.iso') is None
    assert not [c for c in store.calls if c[0] == 'upload']


def test_a_foreign_volume_is_never_overwritten(node, make_ctx):
    conn, store = node
    pool = conn.require_pool('p1')
    vol = pool.createXML("<volume><name>web1-cidata.iso</name><capacity>65536</capacity></volume>", 0)
    store.contents[vol.path()] = b'my own data' * 100
    with pytest.raises(Refused) as err:
        sv.ensure_seed(make_ctx(conn, {}), 'web1', 'p1', {})
    assert 'not a cloud-init seed written by vmcat.libvirt' in str(err.value)
    assert store.contents[vol.path()] == b'my own data' * 100
    assert sv.remove_seed(make_ctx(conn, {}), 'web1', 'p1') is False
    assert conn.volume(pool, 'web1-cidata.iso') is not None
    # an ISO without our marker is foreign too
    store.contents[vol.path()] = iso.build_iso({'user-data': b''})
    with pytest.raises(Refused):
        sv.ensure_seed(make_ctx(conn, {}), 'web1', 'p1', {})


def test_bad_input_fails_before_anything_is_looked_up(node, make_ctx):
    conn, store = node
    with pytest.raises(InvalidInput) as err:
        sv.ensure_seed(make_ctx(conn, {}), 'web1', None, {})
    assert 'cloud_init.pool' in str(err.value)
    with pytest.raises(NotFound) as err:
        sv.ensure_seed(make_ctx(conn, {}), 'web1', 'nope', {})
    assert "pool 'nope' not found" in str(err.value)
    with pytest.raises(InvalidInput):
        sv.ensure_seed(make_ctx(conn, {}), 'web1', 'nope', {'network_config': {'version': 9}})
    assert store.calls == []


def test_a_failed_upload_leaves_no_volume(node, make_ctx, monkeypatch):
    conn, store = node
    from ansible_collections.vmcat.libvirt.tests.unit.fakes import volume as fakes

    def broken_send(self, data):
        raise RuntimeError('connection lost')
    monkeypatch.setattr(fakes.FakeStream, 'send', broken_send)
    with pytest.raises(RuntimeError):
        sv.ensure_seed(make_ctx(conn, {}), 'web1', 'p1', {})
    assert conn.volume(conn.require_pool('p1'), 'web1-cidata.iso') is None


def test_a_rebuild_writes_in_place_and_grows_the_volume(node, make_ctx):
    conn, store = node
    sv.ensure_seed(make_ctx(conn, {}), 'web1', 'p1', {'user_data': 'small'})
    vol = conn.require_volume('p1', 'web1-cidata.iso')
    capacity = vol.info()[1]
    big = {'user_data': '#!/bin/sh\n' + 'x' * 40000}
    assert sv.ensure_seed(make_ctx(conn, {}), 'web1', 'p1', big)[0] is True
    assert conn.require_volume('p1', 'web1-cidata.iso').key() == vol.key()  # the same volume, rewritten
    assert [c for c in store.calls if c[0] == 'resize'] == [('resize', vol.path(), len(sv.seed_image(ci.render_seed('web1', big))), 0)]
    small = {'user_data': 'tiny'}
    sv.ensure_seed(make_ctx(conn, {}), 'web1', 'p1', small)
    written = store.contents[vol.path()]
    image = sv.seed_image(ci.render_seed('web1', small))
    assert written[:len(image)] == image and written[len(image):] == bytes(capacity - len(image))
    assert read_image(image)['rock_ridge']['user-data'] == b'tiny'


def test_a_failed_rewrite_puts_the_old_seed_back(node, make_ctx, monkeypatch):
    conn, store = node
    from ansible_collections.vmcat.libvirt.tests.unit.fakes import volume as fakes
    sv.ensure_seed(make_ctx(conn, {}), 'web1', 'p1', {'user_data': 'old'})
    path = seed_path(conn)
    old = store.contents[path]
    real_send = fakes.FakeStream.send
    sends = []

    def fail_once(self, data):
        sends.append(len(data))
        if len(sends) == 1:
            raise RuntimeError('connection lost')
        return real_send(self, data)
    monkeypatch.setattr(fakes.FakeStream, 'send', fail_once)
    with pytest.raises(RuntimeError):
        sv.ensure_seed(make_ctx(conn, {}), 'web1', 'p1', {'user_data': 'new'})
    assert store.contents[path] == old and len(sends) == 2


def test_remove_seed(node, make_ctx):
    conn, store = node
    sv.ensure_seed(make_ctx(conn, {}), 'web1', 'p1', {})
    check = make_ctx(conn, {}, check_mode=True)
    assert sv.remove_seed(check, 'web1', 'p1') is True
    assert conn.volume(conn.require_pool('p1'), 'web1-cidata.iso') is not None
    assert sv.remove_seed(make_ctx(conn, {}), 'web1', 'p1') is True
    assert conn.volume(conn.require_pool('p1'), 'web1-cidata.iso') is None
    assert sv.remove_seed(make_ctx(conn, {}), 'web1', 'p1') is False
    assert sv.remove_seed(make_ctx(conn, {}), 'web1', 'missing-pool') is False
    assert sv.read_seed_key(conn, 'p1', 'web1') is None
