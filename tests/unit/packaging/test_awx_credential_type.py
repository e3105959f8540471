# -*- coding: utf-8 -*-
"""docs/awx/credential-type-*.yml: the custom credential type's input and injector configuration.

Checks the shape AWX accepts (docs/credentials/custom_credential_types.md in AWX: fields with a unique id and
label, string or boolean types, ssh_private_key format, required ids that exist; injectors made of file, env and
extra_vars, one file syntax) and renders the injectors the way AWX does, with Jinja2's sandbox, strict undefined
names and tower.filename for the injected files, so a typo in a template fails here rather than in a job.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import pytest
import yaml
from jinja2 import StrictUndefined, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ansible.module_utils.six.moves.urllib.parse import parse_qs, urlsplit

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
AWX = os.path.join(ROOT, 'docs', 'awx')
FIELD_KEYS = {'id', 'label', 'type', 'help_text', 'format', 'secret', 'multiline', 'choices', 'default',
              'ask_at_runtime'}
FILE_KEY = re.compile(r'^template(\.[a-zA-Z_][a-zA-Z0-9_]*)?$')


def load(name):
    with open(os.path.join(AWX, name)) as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope='module')
def inputs():
    return load('credential-type-inputs.yml')


@pytest.fixture(scope='module')
def injectors():
    return load('credential-type-injectors.yml')


def test_inputs_have_the_shape_awx_accepts(inputs):
    assert set(inputs) <= {'fields', 'required'}
    ids = [field['id'] for field in inputs['fields']]
    labels = [field['label'] for field in inputs['fields']]
    assert len(set(ids)) == len(ids) and len(set(labels)) == len(labels)
    for field in inputs['fields']:
        assert set(field) <= FIELD_KEYS, field
        assert re.match(r'^[a-zA-Z_][a-zA-Z0-9_]*$', field['id'])
        assert field.get('type', 'string') in ('string', 'boolean')
        assert field.get('format') in (None, 'ssh_private_key', 'url')
    assert set(inputs['required']) <= set(ids)


def test_secrets_are_marked_secret(inputs):
    fields = {field['id']: field for field in inputs['fields']}
    assert fields['ssh_key_data'].get('secret') and fields['ssh_key_data'].get('format') == 'ssh_private_key'
    assert fields['ssh_key_unlock'].get('secret')


def test_injectors_have_the_shape_awx_accepts(injectors):
    assert set(injectors) <= {'file', 'env', 'extra_vars'}
    keys = list(injectors.get('file', {}))
    assert all(FILE_KEY.match(key) for key in keys)
    assert 'template' not in keys or len(keys) == 1, 'single and multi-file syntax cannot be mixed'
    for name, value in injectors.get('env', {}).items():
        assert re.match(r'^VMCAT_[A-Z0-9_]+$', name) and isinstance(value, str)


def render_all(inputs, injectors, values, directory):
    """What AWX does at job start: write the files, then render env and extra_vars with their names."""
    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
    namespace = dict((field['id'], '') for field in inputs['fields'])
    namespace.update(values)
    filenames = {}
    for key, template in injectors.get('file', {}).items():
        path = os.path.join(str(directory), key.replace('.', '_'))
        with open(path, 'w') as handle:
            handle.write(env.from_string(template).render(**namespace))
        filenames[key.partition('.')[2] or 'template'] = path
    namespace['tower'] = {'filename': filenames}
    return dict((section, dict((name, env.from_string(value).render(**namespace))
                               for name, value in injectors.get(section, {}).items()))
                for section in ('env', 'extra_vars'))


def test_injectors_render_a_uri_with_the_key_and_host_key(inputs, injectors, tmp_path):
    values = {'libvirt_uri': 'qemu+libssh://admin@kvm1.example.com:2222/system',
              'ssh_key_data': '-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n',
              'known_hosts': 'kvm1.example.com ssh-ed25519 AAAA'}
    rendered = render_all(inputs, injectors, values, tmp_path)
    uri = urlsplit(rendered['env']['VMCAT_LIBVIRT_URI'])
    assert (uri.scheme, uri.netloc, uri.path) == ('qemu+libssh', 'admin@kvm1.example.com:2222', '/system')
    query = parse_qs(uri.query)
    assert query['sshauth'] == ['privkey']
    with open(query['keyfile'][0]) as handle:
        assert handle.read() == values['ssh_key_data']
    with open(query['known_hosts'][0]) as handle:
        assert handle.read() == values['known_hosts']
    assert rendered['env']['VMCAT_LIBVIRT_KEY_PASSPHRASE'] == ''


def test_a_uri_that_has_parameters_keeps_them(inputs, injectors, tmp_path):
    values = {'libvirt_uri': 'qemu+libssh://admin@kvm1/system?no_tty=1', 'ssh_key_data': 'k', 'known_hosts': 'h'}
    uri = render_all(inputs, injectors, values, tmp_path)['env']['VMCAT_LIBVIRT_URI']
    assert uri.count('?') == 1
    assert parse_qs(urlsplit(uri).query)['no_tty'] == ['1']


def test_a_template_naming_an_unknown_field_fails(inputs, injectors, tmp_path):
    broken = dict(injectors, env={'VMCAT_LIBVIRT_URI': '{{ libvirt_url }}'})
    with pytest.raises(UndefinedError):
        render_all(inputs, broken, {'libvirt_uri': 'qemu+libssh://a/system'}, tmp_path)
