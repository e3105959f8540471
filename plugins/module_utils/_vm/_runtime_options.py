# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the vm module adds on top of the domain definition: cloud-init seeds, waiting, addresses, migration.

The vm module merges the argument-spec fragments below into its own spec
(and documents them with the ``vmcat.libvirt.vm_extras`` doc fragment):

* ``CLOUD_INIT_SPEC``: ``cloud_init``;
* ``WAIT_SPEC``: ``wait_for``, ``wait_timeout``, ``ip_source``, ``ip_networks``;
* ``MIGRATE_SPEC``: ``migrate_to``.

and calls, in its cycle:

* ``validate_extras(params)`` with the other input checks, before any change;
* ``wait_for_vm(ctx, dom, params)`` -> addresses, after the VM is started.

The rest it calls in the modules that do the work:
``_seed_volume.ensure_seed(ctx, vm_name, pool_name, cloud_init, machine, arch)``
-> ``(changed, disk)`` (the seed volume holds the wanted content; ``disk`` is
the cdrom entry to put in the VM's disks), ``_migrate.already_migrated(ctx,
params)`` first and ``_migrate.migrate_vm(ctx, dom, params)`` last, and
``_addresses.vm_addresses(conn, dom)`` for vm_info.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.vmcat.libvirt.plugins.module_utils._vm import _addresses
from ansible_collections.vmcat.libvirt.plugins.module_utils._vm import _cloud_init
from ansible_collections.vmcat.libvirt.plugins.module_utils._vm import _migrate
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import (
    InvalidInput, LibvirtError, VmcatError, WaitTimeout)
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._guest_agent import AGENT_CHANNEL, agent_available
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._wait import backoff, wait_for

CLOUD_INIT_SPEC = {
    'cloud_init': dict(type='dict', options=dict(
        user_data=dict(type='raw'),
        meta_data=dict(type='dict'),
        network_config=dict(type='raw'),
        ssh_authorized_keys=dict(type='list', elements='str', no_log=False),
        password=dict(type='str', no_log=True),
        instance_id=dict(type='str'),
        hostname=dict(type='str'),
        pool=dict(type='str'),
        bus=dict(type='str', choices=list(_cloud_init.BUSES)),
        target=dict(type='str'),
    )),
}

# Waiting for a booting guest polls at most once a second: a poll is one cheap libvirt call (an agent ping
# or an address query), and the default backoff's 5 s pauses made a task return up to 5 s after the guest
# was ready (test_vm_extras holds it to a second).
GUEST_POLL = backoff(first=0.25, most=1.0)

WAIT_SPEC = {
    'wait_for': dict(type='str', choices=['agent', 'ip']),
    'wait_timeout': dict(type='int', default=300),
    'ip_source': dict(type='list', elements='str', choices=list(_addresses.SOURCES), default=list(_addresses.SOURCES)),
    'ip_networks': dict(type='list', elements='str'),
}

MIGRATE_SPEC = {
    'migrate_to': dict(type='dict', options=dict(
        uri=dict(type='str', required=True),
        live=dict(type='bool', default=True),
        copy_storage=dict(type='str', choices=list(_migrate.COPY_STORAGE), default='none'),
        bandwidth=dict(type='int'),
        timeout=dict(type='int', default=600),
        persistent=dict(type='bool', default=True),
        undefine_source=dict(type='bool', default=True),
        p2p=dict(type='bool', default=False),
        tunnelled=dict(type='bool', default=False),
        migration_uri=dict(type='str'),
        auto_converge=dict(type='bool', default=False),
        unsafe=dict(type='bool', default=False),
    )),
}

_REBOOT_GRACE = 60  # seconds a rebooting guest's old agent may keep answering

# States after which the VM cannot be waited for.
_NOT_RUNNING_STATES = ('shutdown', 'destroyed', 'paused', 'absent')


def extras_argument_spec():
    """A fresh copy of all three fragments, merged."""
    spec = {}
    for part in (CLOUD_INIT_SPEC, WAIT_SPEC, MIGRATE_SPEC):
        spec.update(copy.deepcopy(part))
    return spec


def validate_extras(params):
    """Refuse bad cloud_init, wait and migrate_to options before anything changes."""
    if params.get('cloud_init') is not None and params.get('name'):
        _cloud_init.render_seed(params['name'], params['cloud_init'])
        _cloud_init.seed_disk(params['name'], None, params['cloud_init'], params.get('machine'), params.get('arch'))
    if params.get('wait_for'):
        if params.get('state') in _NOT_RUNNING_STATES:
            raise InvalidInput('wait_for: %s needs a running VM, but state is %s' % (params['wait_for'], params['state']))
        if (params.get('wait_timeout') or 0) <= 0:
            raise InvalidInput('wait_timeout must be larger than 0 seconds')
    _addresses.check_sources(params.get('ip_source') or list(_addresses.SOURCES))
    _addresses.parse_networks(params.get('ip_networks'))
    if params.get('migrate_to') is not None:
        _migrate.validate(params['migrate_to'])
        if params.get('state') == 'absent':
            raise InvalidInput('migrate_to and state: absent contradict each other: a VM is moved, or removed')


# -- waiting -----------------------------------------------------------------------------
def _vm_state(dom):
    try:
        return dom.state()[0]
    except LibvirtError:  # undefined or unreachable: not running, which the caller reports
        return None


def _still_running(dom, what):
    state = _vm_state(dom)
    if state in (1, 2, 4):  # running, blocked, shutting down
        return
    names = {3: 'paused', 5: 'shut off', 6: 'crashed', 7: 'suspended by the guest'}
    raise VmcatError("VM '%s' is %s, so waiting for %s cannot succeed" % (dom.name(), names.get(state, 'not running'), what))


def _rebooted(ctx):
    """Whether this task asked the guest to reboot (the vm module records 'reboot (acpi)' and the like)."""
    return any(str(action).startswith('reboot') for action in ctx.actions)


def _wait_agent_gone(dom, timeout):
    """After a reboot request: wait until the old agent stops answering; False if it never did."""
    try:
        wait_for(lambda: not agent_available(dom), timeout, "the guest agent of VM '%s' to go away" % dom.name(),
                 delay=GUEST_POLL)
        return True
    except WaitTimeout:
        return False


def wait_for_vm(ctx, dom, params, rebooted=None):
    """Wait until the VM's agent answers (wait_for: agent) or it has an address (wait_for: ip).

    Returns the addresses found (after wait_for: agent, those the sources
    know at that moment, maybe none).  In check mode nothing is waited for:
    the addresses known now are returned.  Without wait_for: [].

    A reboot returns at once while the old guest still runs, so after one
    (``rebooted``, by default: this task's actions include a reboot) the
    agent is first waited for to go away, then to come back.
    """
    mode = params.get('wait_for')
    if not mode or dom is None:
        return []
    sources = _addresses.check_sources(params.get('ip_source') or list(_addresses.SOURCES))
    networks = _addresses.parse_networks(params.get('ip_networks'))
    if ctx.check_mode:
        return _addresses.vm_addresses(ctx.conn, dom, sources, networks=networks) if _vm_state(dom) == 1 else []
    timeout = params.get('wait_timeout') or 300
    problems = []

    if rebooted is None:
        rebooted = _rebooted(ctx)
    if mode == 'agent' and rebooted and not _wait_agent_gone(dom, min(timeout, _REBOOT_GRACE)):
        ctx.warn("the guest agent of VM '%s' kept answering for %ss after the reboot request; the guest may not "
                 "have rebooted" % (dom.name(), min(timeout, _REBOOT_GRACE)))
    if mode == 'agent':
        what = "the guest agent of VM '%s'" % dom.name()

        def ready():
            _still_running(dom, what)
            return agent_available(dom)
        hint = ('is qemu-guest-agent installed and running in the guest, and does the VM have the %s channel '
                '(vm option guest_agent)?' % AGENT_CHANNEL)
    else:
        what = "an IP address of VM '%s' (sources: %s%s)" % (
            dom.name(), ', '.join(sources), '; in %s' % ', '.join(str(n) for n in networks) if networks else '')

        def ready():
            _still_running(dom, what)
            del problems[:]
            return _addresses.vm_addresses(ctx.conn, dom, sources, networks=networks, problems=problems)
        hint = ('agent needs qemu-guest-agent in the guest; lease needs a NIC on a libvirt network with DHCP; '
                'arp needs traffic from the guest')
    try:
        found = wait_for(ready, timeout, what, delay=GUEST_POLL)
    except WaitTimeout as exc:
        detail = '; last problems: %s' % '; '.join(problems) if problems else ''
        raise WaitTimeout('timed out after %ss waiting for %s: %s%s' % (timeout, what, hint, detail),
                          timeout=timeout, wait_for=mode, **dict((k, v) for k, v in exc.details.items() if k != 'timeout'))
    if mode == 'agent':
        return _addresses.vm_addresses(ctx.conn, dom, sources, networks=networks)
    return found
