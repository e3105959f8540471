# -*- coding: utf-8 -*-
"""Scale benchmark (issue 15, target 5): how cost grows with the number of VMs, measured, not assumed.

Two parts:

- ``nodes``: generated ``test:///`` node files of 10, 100, 1000 and 5000 VMs
  (bench/inventory.py's ``write_test_node``: 2/3 running, tags, one NIC
  each). Per size, interleaved over the runs: ``ansible-playbook`` with one
  ``vmcat.libvirt.vm_info`` task listing every VM, and ``ansible-inventory
  --list`` and ``--graph`` with our plugin. Reported: the median time per
  size, and the cost of each further VM between two sizes (the slope:
  flat means the cost per VM does not grow with the node).
- ``fleet``: one play declaring 20 VMs on qemu:///system (small TCG guests:
  64 MiB, one vCPU, no disk, so each sits idle in its firmware and the
  machine's two cores stay free for what is measured), first run (define
  and start each) and the same play again (nothing to do); time per VM of
  each, the play's start-up included. (Booting 20 real TCG guests at once
  on 2 cores made the no-op run measure the guests' boot load instead: 1.7 s
  a VM, against well under that idle.)

Quick mode (bench/run.py --quick): sizes 10 and 20, one run, a fleet of 2;
it checks that vm_info and the inventory see every VM and that the re-run
changes nothing, and asserts no time.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import statistics
import sys

OWN_BIN = os.path.dirname(sys.executable)

import inventory as inv_bench  # noqa: E402  (bench/ is on sys.path: run through bench/run.py)
from _playbooks import playbook, run_playbook  # noqa: E402

SIZES = (10, 100, 1000, 5000)
QUICK_SIZES = (10, 20)


def slopes(sizes, medians):
    """Milliseconds per further VM between consecutive sizes."""
    return {'%d-%d' % (a, b): round((medians[b] - medians[a]) / (b - a) * 1000, 3)
            for a, b in zip(sizes, sizes[1:])}


def bench_nodes(args, work, prefix):
    sizes = QUICK_SIZES if args.quick else SIZES
    runs = 1 if args.quick else args.scale_runs
    nodes = {}
    for size in sizes:
        uri = inv_bench.write_test_node(os.path.join(work, 'scale-%d.xml' % size), size, '%s%d-' % (prefix, size))
        source = os.path.join(work, 'scale-%d.libvirt.yml' % size)
        with open(source, 'w') as handle:
            json.dump({'plugin': 'vmcat.libvirt.libvirt', 'nodes': [uri]}, handle)
        nodes[size] = (uri, source, playbook(os.path.join(work, 'vm_info-%d.yml' % size), [
            {'vmcat.libvirt.vm_info': {'uri': uri}, 'register': 'listed'},
            {'ansible.builtin.debug': {'msg': 'VMS={{ listed.vms | length }}'}},
        ]))
    times = {kind: {size: [] for size in sizes} for kind in ('vm_info', 'inventory_list', 'inventory_graph')}
    for run in range(runs):
        for size in (sizes if run % 2 == 0 else tuple(reversed(sizes))):
            uri, source, play = nodes[size]
            elapsed, out = run_playbook(play)
            if 'VMS=%d' % size not in out:
                raise SystemExit('vm_info on the %d-VM node did not list %d VMs:\n%s' % (size, size, out[-1500:]))
            times['vm_info'][size].append(elapsed)
            for mode, kind in (('--list', 'inventory_list'), ('--graph', 'inventory_graph')):
                elapsed, hosts, dummy = inv_bench.run_inventory(source, mode, bin_dir=OWN_BIN)
                if len(hosts) != size:
                    raise SystemExit('inventory %s on the %d-VM node gave %d hosts' % (mode, size, len(hosts)))
                times[kind][size].append(elapsed)
    result = {'sizes': list(sizes), 'runs': runs}
    for kind, per_size in times.items():
        medians = {size: statistics.median(values) for size, values in per_size.items()}
        result[kind] = {
            'median_s': {str(size): round(medians[size], 3) for size in sizes},
            'spread_s': {str(size): [round(min(v), 3), round(max(v), 3)] for size, v in per_size.items()},
            'ms_per_vm_between': slopes(sizes, medians),
        }
        print('scale %s: %s; ms per further VM: %s' % (
            kind, ', '.join('%d VMs %.2f s' % (size, medians[size]) for size in sizes),
            ', '.join('%s %.3f' % item for item in result[kind]['ms_per_vm_between'].items())), flush=True)
    return result


def bench_fleet(args, work, prefix):
    count = 2 if args.quick else args.fleet_vms
    names = ['%sf%02d' % (prefix, index) for index in range(count)]
    vm = {'uri': 'qemu:///system', 'name': '{{ item }}', 'virt_type': 'qemu', 'machine': 'pc', 'memory': '64M',
          'vcpus': 1, 'graphics': [], 'state': 'running'}
    play = playbook(os.path.join(work, 'fleet.yml'), [{'vmcat.libvirt.vm': vm, 'loop': names}])
    remove = playbook(os.path.join(work, 'fleet-remove.yml'), [
        {'vmcat.libvirt.vm': {'uri': 'qemu:///system', 'name': '{{ item }}', 'state': 'absent'}, 'loop': names,
         'ignore_errors': True}])
    try:
        first, out1 = run_playbook(play)
        again, out2 = run_playbook(play)
    finally:
        run_playbook(remove)
    if 'changed=1' not in out1 or 'changed=0' not in out2:
        raise SystemExit('the fleet play: the first run must change, the second not:\n%s\n%s'
                         % (out1[-800:], out2[-800:]))
    result = {'vms': count, 'first_run_s': round(first, 2), 'no_op_run_s': round(again, 2),
              'first_s_per_vm': round(first / count, 3), 'no_op_s_per_vm': round(again / count, 3)}
    print('scale fleet of %d VMs: first run %.1f s (%.2f s a VM), no-op re-run %.1f s (%.2f s a VM; play start-up '
          'included)' % (count, first, first / count, again, again / count), flush=True)
    return result
