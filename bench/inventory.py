# -*- coding: utf-8 -*-
"""Inventory benchmark: vmcat.libvirt.libvirt against community.libvirt.libvirt and the floor.

Two nodes:

- ``test``: a ``test:///<abs>/node.xml`` file this script writes, with 1000
  VMs (2/3 running, tags in the vm module's metadata, one NIC each);
- ``real``: qemu:///system with 4 TCG fixture guests booted for the run (two
  agents answering, one without an agent channel, one whose agent was
  killed); a second phase then freezes one answering agent (SIGSTOP), the
  case where an agent is connected but never answers.

Per run, interleaved: ``ansible-inventory -i <source> --list`` with our
plugin, with community.libvirt's, with an empty inventory (the Ansible
floor), and a plain libvirt-python listing of the same VMs (the libvirt
floor: open, listAllDomains, name/UUID/info/XMLDesc per VM).  All of it in
the bench venv (build/bench-venv-ansible: the ``ansible`` package, so the
same ansible-core for both plugins).  Medians and ratios are reported.

Quick mode (``args.quick``, bench/run.py --quick): one run of ours (both
``details`` settings), the empty inventory and the raw listing, in the
venv running this script, on a test node of ``--inventory-vms`` VMs and the
lab's guests; it checks the hosts and variables our plugin gives and fails
when they are wrong, and compares no times.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import statistics
import subprocess
import sys
import time
import uuid

from lxml import etree

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BENCH_VENV = os.path.join(ROOT, 'build', 'bench-venv-ansible')
BENCH_BIN = os.path.join(BENCH_VENV, 'bin')
OWN_BIN = os.path.dirname(sys.executable)
SIDES = ('ours', 'ours_details', 'community')
QUICK_SIDES = ('ours', 'ours_details')  # make test builds no bench venv: no community.libvirt
DETAIL_VARS = ('vmcat_vcpus', 'vmcat_memory', 'vmcat_metadata', 'vmcat_nics', 'vmcat_graphics')
TEST_NS = 'http://libvirt.org/schemas/domain/test/1.0'
META_NS = 'https://vmcat.example/libvirt/vm/1'

RAW_LISTING = r'''
import json, sys, time
t0 = time.monotonic()
import libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
t1 = time.monotonic()
conn = libvirt.open(sys.argv[1])
vms = []
for dom in conn.listAllDomains(0):
    state, maxmem, mem, vcpus, cputime = dom.info()
    vms.append((dom.name(), dom.UUIDString(), state, mem, vcpus, len(dom.XMLDesc(0))))
conn.close()
t2 = time.monotonic()
print(json.dumps({'vms': len(vms), 'import_s': t1 - t0, 'listing_s': t2 - t1}))
'''


def check_venv():
    if not os.path.exists(os.path.join(BENCH_BIN, 'ansible-inventory')):
        raise SystemExit('%s is missing: run `make bench-venv` (the ansible package and libvirt-python '
                         'in a separate venv)' % BENCH_VENV)


def bench_env():
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build', 'collections'),
               ANSIBLE_INVENTORY_UNPARSED_WARNING='0', ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_NOCOLOR='1',
               ANSIBLE_DEPRECATION_WARNINGS='0', ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED='1')
    env.pop('PYTHONPATH', None)
    return env


def write_test_node(path, count, prefix):
    """A test-driver node file with ``count`` VMs, one network, tags in our metadata."""
    node = etree.Element('node', nsmap={'test': TEST_NS})
    cpu = etree.SubElement(node, 'cpu')
    for tag, text in (('mhz', '2000'), ('model', 'i686'), ('nodes', '1'), ('sockets', '1'), ('cores', '2'),
                      ('threads', '1'), ('active', '2')):
        etree.SubElement(cpu, tag).text = text
    etree.SubElement(node, 'memory').text = str(64 * 1024 * 1024)
    for index in range(count):
        dom = etree.SubElement(node, 'domain', type='test')
        etree.SubElement(dom, 'name').text = '%s%04d' % (prefix, index)
        etree.SubElement(dom, 'uuid').text = str(uuid.uuid5(uuid.NAMESPACE_DNS, '%s%d' % (prefix, index)))
        etree.SubElement(dom, 'memory', unit='KiB').text = str(262144 * (1 + index % 4))
        etree.SubElement(dom, 'vcpu').text = str(1 + index % 2)
        etree.SubElement(etree.SubElement(dom, 'os'), 'type').text = 'hvm'
        meta = etree.SubElement(dom, 'metadata')
        own = etree.SubElement(meta, '{%s}vm' % META_NS, nsmap={'vmcat': META_NS})
        tags = etree.SubElement(own, '{%s}tags' % META_NS)
        for tag in (('web', 'db', 'cache')[index % 3], 'rack%d' % (index % 10)):
            etree.SubElement(tags, '{%s}tag' % META_NS).text = tag
        devices = etree.SubElement(dom, 'devices')
        nic = etree.SubElement(devices, 'interface', type='network')
        etree.SubElement(nic, 'mac', address='52:54:00:%02x:%02x:%02x' % (index >> 16 & 255, index >> 8 & 255,
                                                                          index & 255))
        etree.SubElement(nic, 'source', network='%snet' % prefix)
        etree.SubElement(dom, '{%s}runstate' % TEST_NS).text = '5' if index % 3 == 2 else '1'
    net = etree.SubElement(node, 'network')
    etree.SubElement(net, 'name').text = '%snet' % prefix
    etree.SubElement(net, 'uuid').text = str(uuid.uuid5(uuid.NAMESPACE_DNS, prefix + 'net'))
    etree.SubElement(net, 'bridge', name='virbr77')
    etree.SubElement(net, 'ip', address='192.168.77.1', netmask='255.255.255.0')
    with open(path, 'wb') as handle:
        handle.write(etree.tostring(node, pretty_print=True))
    return 'test://' + path


def write_sources(work, tag, uri):
    ours = os.path.join(work, '%s.libvirt.yml' % tag)
    with open(ours, 'w') as handle:
        json.dump({'plugin': 'vmcat.libvirt.libvirt', 'nodes': [uri]}, handle)
    # details: true sets the host variables every version before it set (the "before" of bench/README.md)
    details = os.path.join(work, '%s-details.libvirt.yml' % tag)
    with open(details, 'w') as handle:
        json.dump({'plugin': 'vmcat.libvirt.libvirt', 'nodes': [uri], 'details': True}, handle)
    community = os.path.join(work, '%s-community.yml' % tag)
    with open(community, 'w') as handle:
        json.dump({'plugin': 'community.libvirt.libvirt', 'uri': uri}, handle)
    empty = os.path.join(work, 'empty.ini')
    with open(empty, 'w') as handle:
        handle.write('')
    return {'ours': ours, 'ours_details': details, 'community': community, 'empty': empty}


def hosts_of(listing):
    data = json.loads(listing)
    hostvars = data.get('_meta', {}).get('hostvars', {})
    return hostvars


def run_inventory(source, mode='--list', bin_dir=BENCH_BIN):
    """(seconds, hostvars, stderr) of one ansible-inventory run; ``--graph`` loads the same but prints no variables."""
    cmd = [os.path.join(bin_dir, 'ansible-inventory'), '-i', source, mode]
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, env=bench_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, check=False, timeout=600)
    except subprocess.TimeoutExpired:
        raise SystemExit('%s did not finish within 600 s' % ' '.join(cmd))
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit('%s failed:\n%s' % (' '.join(cmd), proc.stderr[-3000:]))
    return elapsed, (hosts_of(proc.stdout) if mode == '--list' else _graph_hosts(proc.stdout)), proc.stderr


def _graph_hosts(graph):
    """{host: {}} for the hosts an --graph output shows."""
    return dict((line.split('--', 1)[1], {}) for line in graph.splitlines() if '--' in line and '@' not in line)


def run_raw(uri, bin_dir=BENCH_BIN):
    start = time.monotonic()
    proc = subprocess.run([os.path.join(bin_dir, 'python'), '-c', RAW_LISTING, uri], env=bench_env(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=True)
    elapsed = time.monotonic() - start
    inner = json.loads(proc.stdout)
    return elapsed, inner


def ratio(a, b):
    return round(a / b, 2) if a and b else None


def measure(sources, uri, runs, label, count_prefix=None, settle=0, mode='--list', sides=SIDES, bin_dir=BENCH_BIN):
    """Interleaved runs of the sides (ours, ours with details, community), empty, raw; medians and ratios.

    ``settle`` seconds of pause before each plugin run: libvirtd goes on waiting for a hung agent after the
    client that asked has exited, and without the pause the next run would pay for the previous one.
    """
    times = dict((k, []) for k in sides + ('empty', 'raw_process', 'raw_listing'))
    hosts = dict((k, []) for k in sides + ('raw',))
    samples = {}
    for run in range(runs):
        for side in sides:
            time.sleep(settle)
            elapsed, hostvars, stderr = run_inventory(sources[side], mode, bin_dir)
            times[side].append(round(elapsed, 3))
            hosts[side].append(len(hostvars))
            if run == 0:
                samples[side] = {'stderr_tail': stderr[-800:],
                                 'hostvars': {h: v for h, v in hostvars.items()
                                              if count_prefix and h.startswith(count_prefix)}}
        times['empty'].append(round(run_inventory(sources['empty'], mode, bin_dir)[0], 3))
        elapsed, inner = run_raw(uri, bin_dir)
        times['raw_process'].append(round(elapsed, 3))
        times['raw_listing'].append(round(inner['listing_s'], 4))
        hosts['raw'].append(inner['vms'])
        print('  %s run %d: %s, empty %.2fs, raw %.2fs (listing %.3fs), hosts %s' % (
            label, run + 1, ', '.join('%s %.2fs' % (side, times[side][-1]) for side in sides), times['empty'][-1],
            times['raw_process'][-1], times['raw_listing'][-1], {k: v[-1] for k, v in hosts.items()}))
        sys.stdout.flush()
    med = {k: round(statistics.median(v), 3) for k, v in times.items()}
    floor = med['empty'] + med['raw_listing']
    result = {
        'uri': uri, 'runs': runs, 'times_s': times, 'median_s': med, 'hosts': hosts,
        'floor_s': round(floor, 3),
        'ratio_community_over_ours': ratio(med.get('community'), med['ours']),
        'ratio_ours_over_floor': ratio(med['ours'], floor),
        'ratio_ours_over_community': ratio(med['ours'], med.get('community')),
        'ratio_ours_details_over_floor': ratio(med['ours_details'], floor),
        'ours_minus_empty_s': round(med['ours'] - med['empty'], 3),
    }
    if 'community' in med:
        result['community_minus_empty_s'] = round(med['community'] - med['empty'], 3)
    print('%s: median %s, empty ansible-inventory %.2fs, raw listing %.3fs (process %.2fs); ours/community %s, '
          'ours/floor %s, ours details/floor %s' % (
              label, ', '.join('%s %.2fs' % (side, med[side]) for side in sides), med['empty'], med['raw_listing'],
              med['raw_process'], result['ratio_ours_over_community'], result['ratio_ours_over_floor'],
              result['ratio_ours_details_over_floor']))
    return result, samples


def plain(value):
    """A value of ansible-inventory --list's JSON without its unsafe marking ({'__ansible_unsafe': value})."""
    if isinstance(value, dict) and list(value) == ['__ansible_unsafe']:
        return value['__ansible_unsafe']
    return value


def check_quick(label, samples, vms, prefix):
    """Quick mode's checks of our plugin's output (never of a time): the VMs as hosts, details only when asked."""
    problems = []
    for side in QUICK_SIDES:
        hostvars = samples[side]['hostvars']
        if len(hostvars) != len(vms):
            problems.append('%s: %d hosts named %s*, expected %d' % (side, len(hostvars), prefix, len(vms)))
        for host, variables in sorted(hostvars.items())[:3]:
            name, state = plain(variables.get('vmcat_name')), plain(variables.get('vmcat_state'))
            if name != host or state != vms.get(host):
                problems.append('%s: %s has vmcat_name %r, vmcat_state %r (expected %r)' % (
                    side, host, name, state, vms.get(host)))
            shown = [v for v in DETAIL_VARS if v in variables]
            if (side == 'ours_details') != bool(shown):
                problems.append('%s: %s shows %s of the details variables' % (side, host, shown or 'none'))
    if problems:
        raise SystemExit('inventory quick check, %s: %s' % (label, '; '.join(problems)))
    print('%s: quick check passed (%d hosts, variables as documented)' % (label, len(vms)))


def expected_states(uri, prefix):
    """{name: state word} of the node's VMs named with prefix, as the plugin reports them (running or shutdown)."""
    import libvirt
    conn = libvirt.openReadOnly(uri)
    try:
        return dict((d.name(), 'running' if d.isActive() else 'shutdown')
                    for d in conn.listAllDomains(0) if d.name().startswith(prefix))
    finally:
        conn.close()


def bench_test_node(args, work, prefix):
    quick = getattr(args, 'quick', False)
    sides, bin_dir = (QUICK_SIDES, OWN_BIN) if quick else (SIDES, BENCH_BIN)
    if not quick:
        check_venv()
    path = os.path.join(work, 'node-%d.xml' % args.inventory_vms)
    uri = write_test_node(path, args.inventory_vms, prefix + 'i')
    sources = write_sources(work, 'testnode', uri)
    print('inventory on %s (%d VMs)' % (uri, args.inventory_vms))
    result, samples = measure(sources, uri, args.inventory_runs, 'test node', prefix + 'i', sides=sides,
                              bin_dir=bin_dir)
    if quick:
        check_quick('test node', samples, expected_states(uri, prefix + 'i'), prefix + 'i')
    result['vms'] = args.inventory_vms
    result['sample_hostvars'] = {side: {} for side in samples}
    # --graph loads the inventory as a playbook run does but dumps no variables: the JSON dump of --list
    # costs more for many small variables (ours) than for one XML string per host (community's xml_desc)
    graph, samples = measure(sources, uri, args.inventory_runs, 'test node --graph', prefix + 'i', mode='--graph',
                             sides=sides, bin_dir=bin_dir)
    if quick and any(len(samples[side]['hostvars']) != args.inventory_vms for side in sides):
        raise SystemExit('inventory quick check, --graph: %s hosts, expected %d' % (
            dict((side, len(samples[side]['hostvars'])) for side in sides), args.inventory_vms))
    graph['vms'] = args.inventory_vms
    result['graph'] = graph
    return result


def check_quick_real(label, samples, lab, answering):
    """Our plugin on the real node: every lab VM a host, the agent's osinfo only where the agent answers."""
    hostvars = samples['ours']['hostvars']
    problems = []
    if sorted(hostvars) != lab.names():
        problems.append('hosts %s, expected %s' % (sorted(hostvars), lab.names()))
    for name in lab.names():
        os_info = hostvars.get(name, {}).get('vmcat_os')
        if (name in answering) != bool(os_info):
            problems.append('%s (%s agent): vmcat_os %r' % (name, lab.kinds[name], os_info))
    if problems:
        raise SystemExit('inventory quick check, %s: %s' % (label, '; '.join(problems)))
    print('%s: quick check passed (vmcat_os where the agent answers, null where it does not)' % label)


def bench_real_node(args, lab, runs):
    quick = getattr(args, 'quick', False)
    sides, bin_dir = (QUICK_SIDES, OWN_BIN) if quick else (SIDES, BENCH_BIN)
    if not quick:
        check_venv()
    uri = lab.uri
    sources = write_sources(lab.work, 'real', uri)
    print('inventory on %s: %s' % (uri, ', '.join('%s (%s)' % (n, lab.kinds[n]) for n in lab.names())))
    phases = {}
    result, samples = measure(sources, uri, runs, 'real node', lab.prefix, sides=sides, bin_dir=bin_dir)
    answering = [n for n in lab.names() if lab.kinds[n] == 'agent']
    if quick:
        check_quick_real('real node', samples, lab, answering)
    result['guests'] = dict(lab.kinds)
    result['sample_hostvars'] = samples
    phases['agents_answering_missing_stopped'] = result
    lab.hang(answering[-1])
    print('froze the agent of %s (SIGSTOP)' % answering[-1])
    # quick: one run right after the freeze, so no earlier run's question is still waiting in libvirtd
    settle = 0 if quick else 12
    result, samples = measure(sources, uri, runs, 'real node, one agent hung', lab.prefix, settle=settle,
                              sides=sides, bin_dir=bin_dir)
    if quick:
        check_quick_real('real node, one agent hung', samples, lab, answering[:-1])
    result['settle_s'] = settle
    result['guests'] = dict(lab.kinds)
    result['sample_hostvars'] = samples
    phases['one_agent_hung'] = result
    return phases
