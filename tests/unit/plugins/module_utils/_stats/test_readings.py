# -*- coding: utf-8 -*-
"""_stats/_readings: bulk-stats records and fsinfo replies as numbers, and rates between two readings."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import libvirt

from ansible_collections.vmcat.libvirt.plugins.module_utils._stats import _readings as readings

# A running TCG guest's record as libvirt 9.0 gave it (cut to the groups asked for), one disk, one NIC.
RUNNING = {
    'state.state': 1, 'state.reason': 1,
    'cpu.time': 9283314000, 'cpu.user': 6805784000, 'cpu.system': 2477530000,
    'balloon.current': 262144, 'balloon.maximum': 524288, 'balloon.unused': 186104, 'balloon.available': 223632,
    'balloon.usable': 189416, 'balloon.rss': 285684, 'balloon.last-update': 1796432247,
    'vcpu.current': 2, 'vcpu.maximum': 4, 'vcpu.0.state': 1, 'vcpu.0.time': 4570000000,
    'net.count': 1, 'net.0.name': 'vnet7', 'net.0.rx.bytes': 1000, 'net.0.rx.pkts': 10, 'net.0.rx.errs': 0,
    'net.0.rx.drop': 1, 'net.0.tx.bytes': 2000, 'net.0.tx.pkts': 20, 'net.0.tx.errs': 0, 'net.0.tx.drop': 0,
    'block.count': 1, 'block.0.name': 'vda', 'block.0.path': '/var/lib/libvirt/images/a.qcow2',
    'block.0.rd.reqs': 100, 'block.0.rd.bytes': 409600, 'block.0.wr.reqs': 5, 'block.0.wr.bytes': 20480,
    'block.0.capacity': 1073741824, 'block.0.allocation': 196608,
}
SHUT_OFF = {'state.state': 5, 'state.reason': 2}


class FakeVirConnect:
    def __init__(self):
        self.calls = []

    def getAllDomainStats(self, stats, flags):
        self.calls.append(('all', stats, flags))
        return [('dom', dict(RUNNING))]

    def domainListGetStats(self, doms, stats, flags):
        self.calls.append(('list', list(doms), stats, flags))
        return [(d, dict(RUNNING)) for d in doms]


def test_a_running_vm_reads_as_numbers_in_bytes():
    vm = readings.reading(RUNNING)
    assert vm['state'] == 'running' and vm['state_reason'] == 'running (booted)'
    assert (vm['state_code'], vm['reason_code']) == (1, 1)
    assert vm['cpu_time'] == 9283314000
    assert (vm['vcpus'], vm['max_vcpus']) == (2, 4)
    assert vm['memory'] == dict(current=262144 * 1024, maximum=524288 * 1024, available=223632 * 1024,
                                unused=186104 * 1024, usable=189416 * 1024, rss=285684 * 1024,
                                used=(223632 - 189416) * 1024)
    assert vm['disks'] == [dict(device='vda', path='/var/lib/libvirt/images/a.qcow2', read_bytes=409600,
                                read_requests=100, write_bytes=20480, write_requests=5, capacity=1073741824,
                                allocation=196608)]
    assert vm['nics'] == [dict(device='vnet7', rx_bytes=1000, rx_packets=10, rx_errors=0, rx_drops=1, tx_bytes=2000,
                               tx_packets=20, tx_errors=0, tx_drops=0)]


def test_a_shut_off_vm_has_nulls_and_no_devices():
    vm = readings.reading(SHUT_OFF)
    assert vm['state'] == 'shutdown' and vm['state_reason'] == 'shut off (destroyed)'
    assert vm['cpu_time'] is None and vm['vcpus'] is None
    assert set(vm['memory'].values()) == {None}
    assert vm['disks'] == [] and vm['nics'] == []


def test_memory_used_falls_back_to_unused_then_to_null():
    without_usable = dict(RUNNING)
    del without_usable['balloon.usable']
    assert readings.reading(without_usable)['memory']['used'] == (223632 - 186104) * 1024
    no_guest_stats = dict((k, v) for k, v in RUNNING.items() if k not in ('balloon.available', 'balloon.unused'))
    assert readings.reading(no_guest_stats)['memory']['used'] is None


def _later(**changes):
    record = dict(RUNNING)
    record.update(changes)
    return readings.reading(record)


def test_rates_over_an_interval():
    before = readings.reading(RUNNING)
    after = _later(**{'cpu.time': RUNNING['cpu.time'] + 1000000000, 'block.0.rd.bytes': 409600 + 8192,
                      'block.0.wr.reqs': 9, 'net.0.tx.bytes': 2000 + 600, 'net.0.rx.pkts': 16})
    rated = readings.with_rates(before, after, 2.0)
    assert rated['cpu_cores'] == 0.5
    assert rated['cpu_percent'] == 25.0  # half a core over two vCPUs
    disk = rated['disks'][0]
    assert disk['read_bytes_per_second'] == 4096.0 and disk['write_requests_per_second'] == 2.0
    assert disk['write_bytes_per_second'] == 0.0 and disk['read_requests_per_second'] == 0.0
    nic = rated['nics'][0]
    assert nic['tx_bytes_per_second'] == 300.0 and nic['rx_packets_per_second'] == 3.0
    assert 'rx_errors_per_second' not in nic
    assert rated['memory'] == after['memory']


def test_a_counter_that_went_back_or_a_new_device_has_no_rate():
    before = readings.reading(RUNNING)
    restarted = _later(**{'cpu.time': 5, 'block.0.rd.bytes': 0, 'net.0.name': 'vnet9'})
    rated = readings.with_rates(before, restarted, 1.0)
    assert rated['cpu_cores'] is None and rated['cpu_percent'] is None
    assert rated['disks'][0]['read_bytes_per_second'] is None
    assert rated['nics'][0]['rx_bytes_per_second'] is None  # vnet9 was not there before


def test_filesystems_from_fsinfo():
    reply = [
        {'name': 'vda1', 'mountpoint': '/', 'type': 'ext4', 'used-bytes': 750, 'total-bytes': 1000, 'disk': []},
        {'name': 'sr0', 'mountpoint': '/boot', 'type': 'iso9660', 'used-bytes': 10, 'total-bytes': 10},
        {'name': 'vdb', 'mountpoint': '/data', 'type': 'xfs', 'disk': []},  # an agent older than 3.0: no sizes
    ]
    found = readings.filesystems(reply)
    assert [fs['mountpoint'] for fs in found] == ['/', '/boot', '/data']
    assert found[0] == dict(mountpoint='/', device='vda1', type='ext4', used_bytes=750, total_bytes=1000,
                            free_bytes=250, used_percent=75.0)
    assert found[1]['free_bytes'] == 0 and found[1]['used_percent'] == 100.0
    assert found[2]['used_bytes'] is None and found[2]['used_percent'] is None
    assert readings.filesystems(None) == []


def test_one_call_with_nowait_for_all_or_for_some():
    virt = FakeVirConnect()
    readings.bulk_stats(virt)
    readings.bulk_stats(virt, ['d1', 'd2'])
    assert readings.bulk_stats(virt, []) == []
    nowait = libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT
    groups = (libvirt.VIR_DOMAIN_STATS_STATE | libvirt.VIR_DOMAIN_STATS_CPU_TOTAL | libvirt.VIR_DOMAIN_STATS_BALLOON
              | libvirt.VIR_DOMAIN_STATS_VCPU | libvirt.VIR_DOMAIN_STATS_INTERFACE | libvirt.VIR_DOMAIN_STATS_BLOCK)
    assert virt.calls == [('all', groups, nowait), ('list', ['d1', 'd2'], groups, nowait)]


def test_the_test_driver_gives_state_only(conn):
    found = [(dom.name(), readings.reading(record)) for dom, record in readings.bulk_stats(conn.virt)]
    assert [name for name, dummy in found] == ['test']
    vm = found[0][1]
    assert vm['state'] == 'running' and vm['cpu_time'] is None and vm['disks'] == []
