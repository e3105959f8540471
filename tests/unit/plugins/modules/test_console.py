# -*- coding: utf-8 -*-
"""The console module against a test:/// node and a token store in a temporary directory."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import time

import pytest

from ansible_collections.vmcat.libvirt.plugins.modules import console
from ansible_collections.vmcat.libvirt.tests.unit.helpers import ModuleFail

NODE = '''<node>
  <domain type='test'><name>vnc1</name><memory>65536</memory><os><type>hvm</type></os>
    <devices><graphics type='vnc' port='5901' autoport='no' listen='127.0.0.1'/></devices></domain>
  <domain type='test'><name>wide</name><memory>65536</memory><os><type>hvm</type></os>
    <devices><graphics type='vnc' port='5905' autoport='no' listen='0.0.0.0'/></devices></domain>
  <domain type='test'><name>spice1</name><memory>65536</memory><os><type>hvm</type></os>
    <devices><graphics type='spice' port='5903' tlsPort='5904' autoport='no' listen='127.0.0.1'/></devices></domain>
  <domain type='test'><name>sock</name><memory>65536</memory><os><type>hvm</type></os>
    <devices><graphics type='vnc' socket='/run/vnc.sock'/></devices></domain>
  <domain type='test'><name>blind</name><memory>65536</memory><os><type>hvm</type></os><devices/></domain>
  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'><name>off1</name>
    <memory>65536</memory><os><type>hvm</type></os>
    <devices><graphics type='vnc' port='5902' autoport='no' listen='127.0.0.1'/></devices>
    <test:runstate>5</test:runstate></domain>
</node>
'''
VNC_PAGE = '/novnc/vnc.html#autoconnect=true&path=websockify%3Ftoken%3D{token}'
SPICE_PAGE = '/spice/spice_auto.html?path=websockify%3Ftoken%3D{token}'


@pytest.fixture
def gateway(tmp_path):
    tokens = tmp_path / 'tokens'
    tokens.mkdir(mode=0o700)
    config = dict(version=1, url='https://gw.example:6080/', token_dir=str(tokens), token_ttl=120, token_grace=10,
                  pages=dict(vnc=VNC_PAGE, spice=SPICE_PAGE),
                  nodes=[dict(name='node1', uri='test://%s' % (tmp_path / 'remote.xml'))])
    path = tmp_path / 'gateway.json'
    path.write_text(json.dumps(config))
    return dict(config=str(path), tokens=tokens)


@pytest.fixture
def uri(tmp_path):
    node = tmp_path / 'node.xml'
    node.write_text(NODE)
    return 'test://%s' % node


def records(tokens, suffix='.json'):
    return [json.loads(p.read_text()) for p in sorted(tokens.iterdir()) if p.name.endswith(suffix)]


def token_of(url):
    return url.rsplit('%3D', 1)[1]


def test_vnc_token_four_ways(run_module, uri, gateway):
    args = dict(uri=uri, name='vnc1', gateway_config=gateway['config'])
    checked = run_module(console, args, check_mode=True, diff=True)
    assert checked['changed'] is True and checked['url'] is None and checked['actions'] == ['issue a vnc token']
    assert checked['diff']['before']['tokens'] == 0 and checked['diff']['after']['tokens'] == 1
    assert list(gateway['tokens'].iterdir()) == []
    start = time.time()
    applied = run_module(console, args, diff=True)
    assert applied['changed'] is True and applied['protocol'] == 'vnc' and applied['vv'] is None
    token = token_of(applied['url'])
    assert applied['url'] == 'https://gw.example:6080' + VNC_PAGE.format(token=token)
    assert len(token) >= 40
    files = list(gateway['tokens'].iterdir())
    assert [f.name for f in files] == [hashlib.sha256(token.encode()).hexdigest() + '.json']
    assert files[0].stat().st_mode & 0o777 == 0o600
    record = records(gateway['tokens'])[0]
    assert record['target'] == dict(host='127.0.0.1', port=5901) and record['grace'] == 0
    assert record['vm'] == 'vnc1' and record['uri'] == uri and record['protocol'] == 'vnc'
    assert start + 119 <= record['expires_at'] <= time.time() + 121
    assert applied['console']['graphics'] == dict(type='vnc', listen='127.0.0.1', port=5901, tls_port=None)
    # an unused token that lives long enough is handed out again: nothing changes
    again_checked = run_module(console, args, check_mode=True)
    again = run_module(console, args, diff=True)
    assert again_checked['changed'] is False and again['changed'] is False
    assert again['url'] == applied['url'] == again_checked['url']
    assert again['diff']['before'] == again['diff']['after']
    assert len(list(gateway['tokens'].iterdir())) == 1


def test_used_or_short_lived_tokens_are_not_handed_out_again(run_module, uri, gateway):
    args = dict(uri=uri, name='vnc1', gateway_config=gateway['config'])
    first = run_module(console, args)
    path = next(gateway['tokens'].iterdir())
    os.rename(str(path), str(path)[:-5] + '.used')  # what the gateway does on first use
    second = run_module(console, args)
    assert second['changed'] is True and second['url'] != first['url']
    third = run_module(console, dict(args, min_lifetime=500))  # the unused one lives 120 s only
    assert third['changed'] is True and third['url'] != second['url']
    fresh = run_module(console, dict(args, new_token=True, ttl=30))
    assert fresh['changed'] is True and fresh['url'] not in (second['url'], third['url'])
    assert len(records(gateway['tokens'])) == 3


def test_absent_revokes_every_token_of_the_vm(run_module, uri, gateway):
    args = dict(uri=uri, name='vnc1', gateway_config=gateway['config'])
    run_module(console, args)
    run_module(console, dict(args, new_token=True))
    path = next(p for p in gateway['tokens'].iterdir())
    os.rename(str(path), str(path)[:-5] + '.used')
    other = run_module(console, dict(args, name='spice1'))
    gone = dict(args, state='absent')
    checked = run_module(console, gone, check_mode=True, diff=True)
    assert checked['changed'] is True and checked['revoked'] == 2
    assert checked['diff']['before']['tokens'] == 1 and checked['diff']['after']['tokens'] == 0
    assert len(list(gateway['tokens'].iterdir())) == 3
    applied = run_module(console, gone)
    assert applied['changed'] is True and applied['revoked'] == 2 and applied['url'] is None
    left = records(gateway['tokens'])
    assert [r['vm'] for r in left] == ['spice1'] and left[0]['token'] == token_of(other['url'])
    again = run_module(console, gone)
    assert again['changed'] is False and again['revoked'] == 0


def test_spice_gives_a_vv_file_and_a_grace_period(run_module, uri, gateway):
    result = run_module(console, dict(uri=uri, name='spice1', gateway_config=gateway['config'], protocol='spice'))
    assert result['protocol'] == 'spice'
    assert result['url'].startswith('https://gw.example:6080/spice/spice_auto.html?path=websockify%3Ftoken%3D')
    assert result['vv'].splitlines() == ['[virt-viewer]', 'type=spice', 'host=127.0.0.1', 'port=5903',
                                         'tls-port=5904', 'title=spice1', 'delete-this-file=1', 'fullscreen=0']
    assert records(gateway['tokens'])[0]['grace'] == 10


def test_tunnelled_node_gets_a_node_target(run_module, tmp_path, gateway):
    remote = tmp_path / 'remote.xml'
    remote.write_text(NODE)
    result = run_module(console, dict(uri='test://%s' % remote, name='vnc1', gateway_config=gateway['config']))
    assert result['changed'] is True
    assert records(gateway['tokens'])[0]['target'] == dict(node='node1', host='127.0.0.1', port=5901)


def test_wide_listen_is_refused_unless_accepted(run_module, uri, gateway):
    args = dict(uri=uri, name='wide', gateway_config=gateway['config'])
    with pytest.raises(ModuleFail) as err:
        run_module(console, args)
    assert "VM 'wide' on %s listens for VNC on 0.0.0.0, beyond loopback" % uri in err.value.result['msg']
    assert 'listen: 127.0.0.1' in err.value.result['msg'] and 'loopback_only: false' in err.value.result['msg']
    assert list(gateway['tokens'].iterdir()) == []
    accepted = run_module(console, dict(args, loopback_only=False))
    assert accepted['changed'] is True
    assert records(gateway['tokens'])[0]['target'] == dict(host='127.0.0.1', port=5905)


@pytest.mark.parametrize('name, args, message', [
    ('blind', {}, "VM 'blind' on {uri} has no VNC or SPICE graphics, so there is no screen to open"),
    ('off1', {}, "VM 'off1' on {uri} is not running, so it has no screen to show; start it first"),
    ('sock', {}, "VM 'sock' on {uri} listens for VNC on the UNIX socket /run/vnc.sock"),
    ('vnc1', {'protocol': 'spice'}, "VM 'vnc1' on {uri} has no spice graphics (it has vnc); use protocol: vnc"),
    ('nope', {}, "VM 'nope' not found"),
    ('vnc1', {'password': '123456789'}, 'a VNC password is at most 8 bytes'),
    ('vnc1', {'ttl': 0}, 'ttl must be a positive number of seconds'),
])
def test_refusals_change_nothing(run_module, uri, gateway, name, args, message):
    with pytest.raises(ModuleFail) as err:
        run_module(console, dict(args, uri=uri, name=name, gateway_config=gateway['config']))
    assert message.format(uri=uri) in err.value.result['msg']
    assert list(gateway['tokens'].iterdir()) == []


def test_missing_gateway_says_what_to_do(run_module, uri, tmp_path):
    with pytest.raises(ModuleFail) as err:
        run_module(console, dict(uri=uri, name='vnc1', gateway_config=str(tmp_path / 'none.json')))
    msg = err.value.result['msg']
    assert 'cannot read the console gateway configuration %s' % (tmp_path / 'none.json') in msg
    assert 'vmcat.libvirt.console_gateway role' in msg


def test_password_change_is_predicted_and_masked(run_module, uri, gateway):
    result = run_module(console, dict(uri=uri, name='vnc1', gateway_config=gateway['config'], password='s3cret'),
                        check_mode=True, diff=True)
    assert result['actions'] == ['set vnc password', 'issue a vnc token']
    assert result['diff']['before']['password_set'] is False and result['diff']['after']['password_set'] is True
    assert 's3cret' not in json.dumps(result)


def test_gateway_without_a_spice_page_refuses_spice(run_module, uri, gateway):
    config = json.loads(open(gateway['config']).read())
    del config['pages']['spice']
    with open(gateway['config'], 'w') as handle:
        json.dump(config, handle)
    with pytest.raises(ModuleFail) as err:
        run_module(console, dict(uri=uri, name='spice1', gateway_config=gateway['config']))
    assert "VM 'spice1' on %s shows its screen over SPICE, but the console gateway" % uri in err.value.result['msg']
    assert list(gateway['tokens'].iterdir()) == []
