# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a guest's QEMU guest agent says about the guest, section by section (the guest_info module).

Each section is one agent command.  A section whose command the guest's
agent has disabled, does not know, or answers with an error is ``None`` and
listed in ``unavailable`` with the reason, so one blocked command never
hides the others.  Only an agent that cannot be asked at all (VM stopped, no
channel, agent not connected) fails the whole call.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._guest_agent import AgentCommandError, agent_caller


def snake(value):
    """The agent's reply with every ``key-name`` turned into ``key_name`` (recursively)."""
    if isinstance(value, dict):
        return dict((str(k).replace('-', '_'), snake(v)) for k, v in value.items())
    if isinstance(value, list):
        return [snake(v) for v in value]
    return value


def _hostname(reply):
    return (reply or {}).get('host-name')


def _filesystems(reply):
    result = []
    for fs in snake(reply or []):
        used, total = fs.get('used_bytes'), fs.get('total_bytes')
        if used is not None and total:
            fs['used_percent'] = round(100.0 * used / total, 1)
        result.append(fs)
    return result


def _agent(reply):
    commands = (reply or {}).get('supported_commands') or []
    return {
        'version': (reply or {}).get('version'),
        'supported_commands': sorted(c['name'] for c in commands),
        'enabled_commands': sorted(c['name'] for c in commands if c.get('enabled', True)),
        'disabled_commands': sorted(c['name'] for c in commands if not c.get('enabled', True)),
    }


# section -> (agent command, shape of its reply)
SECTIONS = (
    ('os', 'guest-get-osinfo', snake),
    ('hostname', 'guest-get-host-name', _hostname),
    ('timezone', 'guest-get-timezone', snake),
    ('users', 'guest-get-users', snake),
    ('interfaces', 'guest-network-get-interfaces', snake),
    ('filesystems', 'guest-get-fsinfo', _filesystems),
    ('disks', 'guest-get-disks', snake),
    ('vcpus', 'guest-get-vcpus', snake),
    ('agent', 'guest-info', _agent),
)
SECTION_NAMES = tuple(s[0] for s in SECTIONS)


def _unavailable(section, command, reason, msg):
    return dict(section=section, command=command, reason=reason, msg=msg)


def gather(call, sections=SECTION_NAMES, where='the guest'):
    """``(facts, unavailable)`` for the chosen sections; ``call`` sends one agent command.

    guest-info is asked first: its command list tells which sections cannot
    be had without sending their commands.
    """
    info = None
    try:
        info = call('guest-info') or {}
    except AgentCommandError:
        pass  # blocked guest-info: ask every section's command and see
    enabled = None
    if info is not None:
        enabled = dict((c.get('name'), c.get('enabled', True)) for c in info.get('supported_commands') or [])
    facts, unavailable = {}, []
    for section, command, shape in SECTIONS:
        if section not in sections:
            continue
        facts[section] = None
        if command == 'guest-info' and info is not None:
            facts[section] = shape(info)
            continue
        if enabled is not None and enabled and command not in enabled:
            unavailable.append(_unavailable(
                section, command, 'not_supported', 'the guest agent of %s (version %s) does not have %s; upgrade '
                'qemu-guest-agent in the guest' % (where, info.get('version'), command)))
            continue
        if enabled is not None and enabled.get(command) is False:
            unavailable.append(_unavailable(
                section, command, 'disabled', "%s is disabled by the guest's agent configuration in %s; enable it "
                "in the guest: remove it from block-rpcs (or add it to allow-rpcs) in /etc/qemu/qemu-ga.conf or "
                "/etc/sysconfig/qemu-ga, then restart qemu-guest-agent" % (command, where)))
            continue
        try:
            facts[section] = shape(call(command))
        except AgentCommandError as exc:
            unavailable.append(_unavailable(section, command, exc.details.get('reason', 'failed'), exc.msg))
    return facts, unavailable


def guest_info(ctx):
    """The guest_info module: the chosen sections of one running VM's guest."""
    p = ctx.params
    dom = ctx.conn.require_domain(p['name'])
    facts, unavailable = gather(agent_caller(dom, p['timeout']), p['gather'],
                                "VM '%s' on %s" % (dom.name(), ctx.conn.uri))
    result = dict(vm=dom.name(), unavailable=unavailable)
    result.update(facts)
    return result
