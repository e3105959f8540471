# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The channels option: reading, normalising, writing and the live plan of named virtio-serial channels."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils import _domain_channels as ch
from ansible_collections.vmcat.libvirt.plugins.module_utils import _domain_options as options
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain_live import option_paths
from ansible_collections.vmcat.libvirt.plugins.module_utils._errors import InvalidInput

DOMAIN = """<domain type='qemu'><name>web1</name><devices>
  <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
  <channel type='spicevmc'><target type='virtio' name='com.redhat.spice.0'/></channel>
  <channel type='unix'><source mode='bind' path='/run/old.sock'/><target type='virtio' name='org.example.old'/></channel>
  <channel type='pty'><target type='virtio' name='org.example.tty'/></channel>
  <channel type='unix'><target type='guestfwd' address='10.0.2.1' port='4600'/></channel>
</devices></domain>"""


def root():
    return _xml.parse(DOMAIN)


def names(r):
    return sorted(_xml.attr_of(el, 'target', 'name') or 'guestfwd' for el in r.findall('devices/channel'))


def test_read_only_managed_channels():
    assert ch.read_channels(root()) == [
        {'name': 'org.example.old', 'type': 'unix', 'path': '/run/old.sock'},
        {'name': 'org.example.tty', 'type': 'pty', 'path': None},
    ]


def test_normalise_sorts_defaults_and_keeps_current_path():
    current = ch.read_channels(root())
    out = ch.normalise_channels([{'name': 'org.example.tty', 'type': 'pty'}, {'name': 'org.example.old'},
                                 {'name': 'org.example.new', 'type': None}], current)
    assert out == [
        {'name': 'org.example.new', 'type': 'unix', 'path': None},
        {'name': 'org.example.old', 'type': 'unix', 'path': '/run/old.sock'},
        {'name': 'org.example.tty', 'type': 'pty', 'path': None},
    ]


@pytest.mark.parametrize('value, match', [
    ([{'name': 'org.qemu.guest_agent.0'}], 'reserved'),
    ([{'name': 'a b'}], 'letters'),
    ([{'name': 'x'}, {'name': 'x'}], 'more than once'),
    ([{'name': 'x', 'type': 'pty', 'path': '/p'}], 'type unix only'),
    ([{'name': 'x', 'path': 'rel.sock'}], 'absolute'),
    ([{'name': 'x', 'type': 'tcp'}], 'one of'),
])
def test_normalise_rejects(value, match):
    with pytest.raises(InvalidInput, match=match):
        ch.normalise_channels(value)


def test_write_replaces_managed_set_and_leaves_others():
    r = root()
    wanted = ch.normalise_channels([{'name': 'org.example.tty', 'type': 'pty'}, {'name': 'org.example.new'}],
                                   ch.read_channels(r))
    ch.write_channels(r, wanted)
    again = _xml.parse(_xml.to_string(r))
    assert ch.read_channels(again) == wanted
    assert names(again) == ['com.redhat.spice.0', 'guestfwd', 'org.example.new', 'org.example.tty',
                            'org.qemu.guest_agent.0']


def test_empty_list_removes_all_managed_but_not_the_agent():
    r = root()
    ch.write_channels(r, [])
    assert ch.read_channels(r) == []
    assert 'org.qemu.guest_agent.0' in names(r)


def test_unset_option_leaves_channels_alone():
    r = root()
    params = dict.fromkeys(options.NAMES)
    options.apply_options(r, params, options.Env())
    assert ch.read_channels(r) == ch.read_channels(root())


def test_same_value_changes_nothing():
    r = root()
    params = dict.fromkeys(options.NAMES)
    params['channels'] = [{'name': 'org.example.old'}, {'name': 'org.example.tty', 'type': 'pty'}]
    before = _xml.to_string(r)
    options.apply_options(r, params, options.Env())
    assert _xml.to_string(r) == before


def test_new_unix_channel_element():
    el = ch.channel_element({'name': 'org.example.a', 'type': 'unix', 'path': '/run/a.sock'})
    assert _xml.to_string(el, pretty=False) == ('<channel type="unix"><source mode="bind" path="/run/a.sock"/>'
                                                '<target type="virtio" name="org.example.a"/></channel>')


def test_live_path_that_libvirt_picked_is_the_same():
    config = [{'name': 'a', 'type': 'unix', 'path': None}]
    live = [{'name': 'a', 'type': 'unix', 'path': '/var/lib/libvirt/qemu/channel/target/domain-3-web1/a'}]
    assert ch.same_channels_live(live, config)
    assert not ch.same_channels_live(live, [{'name': 'a', 'type': 'unix', 'path': '/run/a.sock'}])
    assert not ch.same_channels_live(live, [])


def test_live_plan_detaches_first_and_replaces_changed():
    live = _xml.parse(DOMAIN)
    config = root()
    ch.write_channels(config, ch.normalise_channels(
        [{'name': 'org.example.tty', 'type': 'unix'}, {'name': 'org.example.new'}], ch.read_channels(config)))
    steps = [(step, name) for step, name, el in ch.plan_channels(live, config)]
    assert steps == [('detach', 'org.example.old'), ('detach', 'org.example.tty'),
                     ('attach', 'org.example.new'), ('attach', 'org.example.tty')]


def test_pending_paths_name_the_channel():
    assert option_paths('channels', [{'name': 'a', 'type': 'unix', 'path': None}],
                        [{'name': 'b', 'type': 'unix', 'path': None}]) == ['channels[a]', 'channels[b]']
