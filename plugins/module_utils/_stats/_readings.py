# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-VM numbers from libvirt's bulk statistics and from the guest agent's filesystem list.

Written once for the two readers of a node's moving numbers: the vm_stats
module and the collection's Prometheus exporter (installed by the
monitoring role, see docs/monitoring.md).

- ``bulk_stats(virconn, doms=None)``: one libvirt call for every VM of the
  node (``virConnectGetAllDomainStats``) or for the given ones
  (``virDomainListGetStats``), always with the NOWAIT flag: a VM whose
  monitor is busy (a migration, a hung QEMU) gives what libvirt has without
  waiting, so one stuck VM never stalls the others' numbers.
- ``reading(record)``: one VM's record as plain numbers: state and reason,
  CPU time in nanoseconds, vCPUs, memory in bytes (libvirt gives KiB), and
  per-disk and per-NIC counters.  Keys libvirt left out (a shut-off VM, a
  guest without balloon statistics, NOWAIT) are ``None``.
- ``with_rates(before, after, seconds)``: the second reading with CPU use
  and per-second disk and network rates against the first.
- ``filesystems(reply)``: the agent's ``guest-get-fsinfo`` reply as
  mountpoint, device, type, used/total/free bytes and used percent.

Imports only the state words of ``_domain._state`` (and through it a few
``_core`` files): the exporter runs on nodes without Ansible, with these
files installed beside it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _state as states

# virDomainStatsTypes: the groups asked for (perf, iothread, memory bandwidth, dirty rate and vm.* are not).
STATS_STATE, STATS_CPU, STATS_BALLOON, STATS_VCPU, STATS_INTERFACE, STATS_BLOCK = 1, 2, 4, 8, 16, 32
STATS = STATS_STATE | STATS_CPU | STATS_BALLOON | STATS_VCPU | STATS_INTERFACE | STATS_BLOCK
# VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT: report what can be had at once instead of waiting for a busy VM.
NOWAIT = 1 << 29

_KIB = 1024
# balloon.* keys (KiB) -> memory keys (bytes)
_MEMORY_KEYS = (('current', 'current'), ('maximum', 'maximum'), ('available', 'available'),
                ('unused', 'unused'), ('usable', 'usable'), ('rss', 'rss'))
# block.N.* -> disk keys
_DISK_KEYS = (('rd.bytes', 'read_bytes'), ('rd.reqs', 'read_requests'), ('wr.bytes', 'write_bytes'),
              ('wr.reqs', 'write_requests'), ('capacity', 'capacity'), ('allocation', 'allocation'))
# net.N.* -> NIC keys
_NIC_KEYS = (('rx.bytes', 'rx_bytes'), ('rx.pkts', 'rx_packets'), ('rx.errs', 'rx_errors'), ('rx.drop', 'rx_drops'),
             ('tx.bytes', 'tx_bytes'), ('tx.pkts', 'tx_packets'), ('tx.errs', 'tx_errors'), ('tx.drop', 'tx_drops'))
# counters turned into per-second rates by with_rates
DISK_RATES = ('read_bytes', 'read_requests', 'write_bytes', 'write_requests')
NIC_RATES = ('rx_bytes', 'rx_packets', 'tx_bytes', 'tx_packets')


def bulk_stats(virconn, doms=None):
    """[(virDomain, record)] for every VM of the node, or for ``doms``: one libvirt call either way."""
    if doms is None:
        return virconn.getAllDomainStats(STATS, NOWAIT)
    if not doms:
        return []
    return virconn.domainListGetStats(doms, STATS, NOWAIT)


def _int(record, key):
    value = record.get(key)
    return int(value) if value is not None else None


def _devices(record, group, keys):
    """The ``group.N.*`` entries (block or net) of a record, as one dict per device with a ``device`` name."""
    count = _int(record, '%s.count' % group) or 0
    devices = []
    for index in range(count):
        prefix = '%s.%d.' % (group, index)
        device = dict(device=record.get(prefix + 'name'))
        for key, name in keys:
            device[name] = _int(record, prefix + key)
        if group == 'block':
            device['path'] = record.get(prefix + 'path')
        devices.append(device)
    return devices


def _memory(record):
    memory = dict((name, _kib(record, 'balloon.' + key)) for key, name in _MEMORY_KEYS)
    available = memory['available']
    if available is not None and memory['usable'] is not None:
        memory['used'] = max(0, available - memory['usable'])  # what the guest cannot give back without swapping
    elif available is not None and memory['unused'] is not None:
        memory['used'] = max(0, available - memory['unused'])  # older guests report no "usable": cache counts as used
    else:
        memory['used'] = None
    return memory


def _kib(record, key):
    value = _int(record, key)
    return value * _KIB if value is not None else None


def reading(record):
    """One VM's bulk-stats record as numbers (see the module doc)."""
    code, reason = _int(record, 'state.state'), _int(record, 'state.reason') or 0
    return dict(
        state_code=code,
        reason_code=reason,
        state=states.state_name(code) if code is not None else None,
        state_reason=states.state_reason(code, reason) if code is not None else None,
        cpu_time=_int(record, 'cpu.time'),
        vcpus=_int(record, 'vcpu.current'),
        max_vcpus=_int(record, 'vcpu.maximum'),
        memory=_memory(record),
        disks=_devices(record, 'block', _DISK_KEYS),
        nics=_devices(record, 'net', _NIC_KEYS),
    )


def _per_second(new, old, seconds):
    if new is None or old is None or seconds <= 0 or new < old:  # a counter that went back was reset (VM restarted)
        return None
    return round((new - old) / float(seconds), 1)


def _devices_with_rates(after, before, keys, seconds):
    earlier = dict((d['device'], d) for d in before)
    result = []
    for device in after:
        old = earlier.get(device['device'], {})
        item = dict(device)
        for key in keys:
            item[key + '_per_second'] = _per_second(device.get(key), old.get(key), seconds)
        result.append(item)
    return result


def with_rates(before, after, seconds):
    """``after`` (a reading) plus CPU use and per-second rates against ``before``, ``seconds`` earlier.

    ``cpu_cores`` is host CPUs' worth of time the VM used (1.0 = one core
    busy); ``cpu_percent`` is that share of the VM's vCPUs (100 = every vCPU
    busy; QEMU's own threads count too, so it can pass 100 a little).
    """
    result = dict(after)
    cores = None
    if after['cpu_time'] is not None and before['cpu_time'] is not None and seconds > 0 \
            and after['cpu_time'] >= before['cpu_time']:
        cores = (after['cpu_time'] - before['cpu_time']) / (seconds * 1e9)
    result['cpu_cores'] = round(cores, 3) if cores is not None else None
    result['cpu_percent'] = round(100.0 * cores / after['vcpus'], 1) if cores is not None and after['vcpus'] else None
    result['disks'] = _devices_with_rates(after['disks'], before['disks'], DISK_RATES, seconds)
    result['nics'] = _devices_with_rates(after['nics'], before['nics'], NIC_RATES, seconds)
    return result


def filesystems(reply):
    """guest-get-fsinfo's reply as [{mountpoint, device, type, used_bytes, total_bytes, free_bytes, used_percent}].

    Agents before qemu-ga 3.0 give no sizes: those keys are ``None`` then.
    Sorted by mountpoint.
    """
    result = []
    for fs in reply or []:
        used, total = fs.get('used-bytes'), fs.get('total-bytes')
        sized = used is not None and total is not None
        result.append(dict(
            mountpoint=fs.get('mountpoint'),
            device=fs.get('name'),
            type=fs.get('type'),
            used_bytes=int(used) if sized else None,
            total_bytes=int(total) if sized else None,
            free_bytes=max(0, int(total) - int(used)) if sized else None,
            used_percent=round(100.0 * used / total, 1) if sized and total else None,
        ))
    return sorted(result, key=lambda fs: fs['mountpoint'] or '')
