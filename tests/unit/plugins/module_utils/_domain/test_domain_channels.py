# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The channels option: reading, normalising, writing and the live plan of named virtio-serial channels."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _channels as ch
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _options as options
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain._live import option_paths
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput

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


# -- the live planner ---------------------------------------------------------------------------
LIVE_DOMAIN = """<domain type='qemu' id='3'><name>web1</name><devices>
  <channel type='unix'><source mode='bind' path='/var/lib/libvirt/qemu/channel/target/domain-3-web1/org.qemu.guest_agent.0'/>
    <target type='virtio' name='org.qemu.guest_agent.0' state='connected'/><alias name='channel0'/>
    <address type='virtio-serial' controller='0' bus='0' port='1'/></channel>
  <channel type='pty'><source path='/dev/pts/3'/><target type='virtio' name='org.example.tty'/><alias name='channel1'/>
    <address type='virtio-serial' controller='0' bus='0' port='2'/></channel>
</devices></domain>"""
CONFIG_DOMAIN = """<domain type='qemu'><name>web1</name><devices>
  <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
  <channel type='pty'><target type='virtio' name='org.example.tty'/></channel>
</devices></domain>"""


def live_plan(task, hotplug=True):
    from ansible_collections.vmcat.libvirt.tests.unit.fakes.domain import LiveDom, live_ctx
    from ansible_collections.vmcat.libvirt.plugins.module_utils._domain._live import Planner, run_ops
    config = _xml.parse(CONFIG_DOMAIN)
    params = dict.fromkeys(options.NAMES)
    params['channels'] = task
    values = options.apply_options(config, params, options.Env())
    ctx, dom = live_ctx(), LiveDom(LIVE_DOMAIN)
    ops, pending = Planner(ctx, dom, _xml.parse(LIVE_DOMAIN), config, _xml.parse(CONFIG_DOMAIN), values,
                           hotplug=hotplug).plan()
    run_ops(ctx, ops)
    return ctx, dom, pending


def test_running_vm_gets_channels_hot_plugged_and_unplugged():
    ctx, dom, pending = live_plan([{'name': 'org.example.new'}])
    assert ctx.actions == ['detach channel org.example.tty', 'attach channel org.example.new']
    assert pending == []
    attach = [c for c in dom.calls if c[0] == 'attachDeviceFlags'][0]
    assert attach[1] == '<channel type="unix"><target type="virtio" name="org.example.new"/></channel>'
    detach = [c for c in dom.calls if c[0] == 'detachDeviceFlags'][0]
    assert "name='org.example.tty'" in detach[1] or 'name="org.example.tty"' in detach[1]


def test_running_vm_already_matching_needs_nothing():
    ctx, dom, pending = live_plan([{'name': 'org.example.tty', 'type': 'pty'}])
    assert ctx.actions == [] and pending == [] and dom.calls == []


def test_without_hotplug_the_change_waits_for_a_restart():
    ctx, dom, pending = live_plan([{'name': 'org.example.new'}], hotplug=False)
    assert ctx.actions == [] and pending == ['channels[org.example.new]', 'channels[org.example.tty]']
