# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vm_stats module: one sample, or rates over an interval, of the VMs of a node.

The VMs are all of the node, one by ``name``, or those carrying every tag
in ``tags``.  Each sample is one bulk-stats call for all of them
(``_readings.bulk_stats``); with ``interval`` a second one follows and the
second reading gets CPU use and disk and network rates.  Guest filesystem
usage comes from each running VM's agent (``guest-get-fsinfo``), asked in
parallel threads while the interval runs; an agent that has not answered
within ``agent_timeout`` is reported as silent and left behind (libvirt 9
waits up to 5 s for the agent's sync whatever timeout it is given, so the
thread, not libvirt, bounds the wait).

Read-only: nothing here changes the node.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
import time

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput, VmcatError
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._guest_agent import (
    AgentCommandError, agent_command)
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _metadata as meta
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _state as states
from ansible_collections.vmcat.libvirt.plugins.module_utils._stats import _readings as readings

MAX_INTERVAL = 3600
MAX_AGENT_TIMEOUT = 60
_FSINFO = 'guest-get-fsinfo'

# seams for the unit tests
clock = time.monotonic
sleep = time.sleep


def _validate(params):
    interval, timeout = params['interval'], params['agent_timeout']
    if not 0 <= interval <= MAX_INTERVAL:
        raise InvalidInput('interval must be between 0 and %d seconds (0: one sample, no rates), got %s'
                           % (MAX_INTERVAL, interval))
    if not 0 < timeout <= MAX_AGENT_TIMEOUT:
        raise InvalidInput('agent_timeout must be more than 0 and at most %d seconds, got %s'
                           % (MAX_AGENT_TIMEOUT, timeout))
    return meta.normalise_tags(params.get('tags'))


def _tags(conn, dom):
    name = dom.name()
    with conn.translated('read the definition of', "VM '%s'" % name):
        return meta.read_tags(_xml.parse(dom.XMLDesc(0), "definition of VM '%s'" % name))


def _selected(conn, params, tags):
    """[(virDomain, its tags)] of the VMs the task asks about, sorted by name."""
    if params.get('name'):
        doms = [conn.require_domain(params['name'])]
    else:
        doms = conn.all_domains()
    chosen = []
    for dom in sorted(doms, key=lambda d: d.name()):
        try:
            own = _tags(conn, dom)
        except VmcatError:
            if params.get('name'):
                raise
            continue  # undefined while we listed
        if all(tag in own for tag in tags):
            chosen.append((dom, own))
    return chosen


def _sample(conn, doms):
    """({uuid: reading}, the monotonic time in the middle of the call) for ``doms``."""
    with conn.translated('read statistics of', '%d VM(s)' % len(doms)):
        started = clock()
        records = readings.bulk_stats(conn.virt, doms)
        taken = (started + clock()) / 2.0
    return dict((dom.UUIDString(), readings.reading(record)) for dom, record in records), taken


class _AgentQuestion:
    """One VM's guest-get-fsinfo, asked in a daemon thread that is left behind when it does not answer in time."""

    def __init__(self, dom, timeout):
        self.answer = None
        self.error = None
        self.answered = None
        self._thread = threading.Thread(target=self._ask, args=(dom, timeout), name='vm-stats-fsinfo')
        self._thread.daemon = True
        self._thread.start()

    def _ask(self, dom, timeout):
        try:
            self.answer = readings.filesystems(agent_command(dom, _FSINFO, timeout=timeout))
            self.answered = True
        except AgentCommandError as exc:  # it answered "no" (command blocked or failed): the agent is there
            self.answered, self.error = True, exc.msg
        except VmcatError as exc:  # no channel, not connected, silent, connection lost: no answer
            self.answered, self.error = False, exc.msg

    def result(self, deadline, timeout):
        self._thread.join(max(0.0, deadline - clock()))
        if self._thread.is_alive():
            return dict(answered=False, filesystems=None,
                        error='the guest agent did not answer %s within %ss (agent_timeout)' % (_FSINFO, timeout))
        return dict(answered=self.answered, filesystems=self.answer, error=self.error)


def _ask_agents(selected, first, params):
    """{uuid: _AgentQuestion} for the running VMs, when filesystems are asked for."""
    if not params['filesystems']:
        return {}
    questions = {}
    for dom, dummy in selected:
        uuid = dom.UUIDString()
        if (first.get(uuid) or {}).get('state_code') == states.RUNNING:
            questions[uuid] = _AgentQuestion(dom, params['agent_timeout'])
    return questions


def _guest(questions, uuid, deadline, timeout):
    question = questions.get(uuid)
    if question is None:
        return dict(answered=None, filesystems=None, error=None)
    return question.result(deadline, timeout)


def _seconds(nanoseconds):
    return round(nanoseconds / 1e9, 3) if nanoseconds is not None else None


def _vm(dom, tags, reading, guest):
    vm = dict(name=dom.name(), uuid=dom.UUIDString(), tags=tags)
    vm.update((k, v) for k, v in reading.items() if k not in ('state_code', 'reason_code'))
    vm['cpu_time'] = _seconds(reading['cpu_time'])
    vm.setdefault('cpu_cores', None)
    vm.setdefault('cpu_percent', None)
    vm['guest'] = guest
    return vm


def _node(conn, vms):
    with conn.translated('read', 'the node'):
        cpus = conn.virt.getInfo()[2]
    cores = [vm['cpu_cores'] for vm in vms if vm['cpu_cores'] is not None]
    used = round(sum(cores), 3) if cores else None
    return dict(cpus=cpus, running_vms=sum(1 for vm in vms if vm['state'] == 'running'), vm_cpu_cores=used,
                vm_cpu_percent=round(100.0 * used / cpus, 1) if used is not None and cpus else None)


def vm_stats(ctx):
    """The vm_stats module: ``vms`` (numbers per VM), ``interval`` (seconds between samples) and ``node``."""
    conn, params = ctx.conn, ctx.params
    tags = _validate(params)
    selected = _selected(conn, params, tags)
    doms = [dom for dom, dummy in selected]
    first, first_at = _sample(conn, doms)
    asked_at = clock()
    questions = _ask_agents(selected, first, params)
    interval = None
    current = first
    if params['interval'] > 0:
        sleep(params['interval'])
        current, second_at = _sample(conn, doms)
        interval = round(second_at - first_at, 3)
    deadline = asked_at + params['agent_timeout']
    vms = []
    for dom, own in selected:
        uuid = dom.UUIDString()
        reading = current.get(uuid)
        if reading is None:
            continue  # undefined between the samples
        if interval is not None and uuid in first:
            reading = readings.with_rates(first[uuid], reading, interval)
        vms.append(_vm(dom, own, reading, _guest(questions, uuid, deadline, params['agent_timeout'])))
    return dict(vms=vms, interval=interval, node=_node(conn, vms))
