# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vm_stats target's guest, and a scrape of the monitoring role's exporter while it runs.

The guest is the shared fixture (harness.guest) with one more disk: a small
ISO 9660 image labelled ``cidata`` as ``vda``, which the fixture's /init
mounts at /run/cidata.  A filesystem on a real block device is what
qemu-ga's guest-get-fsinfo lists (the fixture's own root is an initramfs,
which it leaves out).  The VM carries the tag given on the command line.

Usage: stats_vm.py URI start NAME GUEST_JSON WORKDIR TAG   boot it; wait for its agent and the mounted ISO
       stats_vm.py URI scrape NAME WORKDIR [silent]       run the exporter on 127.0.0.1, print what it shows
                                                          (silent: once it reports the agent silent)
       stats_vm.py URI freeze NAME                        stop qemu-ga in the guest (SIGSTOP): connected, silent
       stats_vm.py - reconnect - WORKDIR                  the exporter against a second libvirtd of its own that
                                                          is stopped and started again; print what it showed

The reconnect check uses the vm_migrate target's second libvirtd (its own
mount namespace, sockets and state under WORKDIR), so the machine's libvirtd,
which other work shares, is never stopped.
       stats_vm.py URI remove NAME                        destroy and undefine it
"""

from __future__ import absolute_import, division, print_function

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

from lxml import etree

from harness.fixture_vm import (
    add_tags, agent, boot, connect, define, domain_xml, lookup, remove, say_changed, serial_tail, shell)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..', '..', '..', '..'))
EXPORTER = os.path.join(ROOT, 'roles', 'monitoring', 'files', 'vmcat_libvirt_exporter.py')
COLLECTIONS = os.path.join(ROOT, 'build', 'collections')
SECOND_DAEMON = os.path.join(ROOT, 'tests', 'integration', 'harness', 'dest_daemon.py')
MOUNTPOINT = '/run/cidata'


def make_iso(workdir, name):
    """A 1 MiB-ish ISO labelled cidata with one file, for the guest to mount."""
    tree = os.path.join(workdir, name + '-iso')
    os.makedirs(tree, exist_ok=True)
    with open(os.path.join(tree, 'payload.bin'), 'wb') as f:
        f.write(os.urandom(512 * 1024))
    iso = os.path.join(workdir, name + '.iso')
    subprocess.run(['xorriso', '-as', 'mkisofs', '-quiet', '-V', 'cidata', '-o', iso, tree], check=True)
    return iso


def fsinfo_has_iso(dom):
    try:
        return any(fs.get('mountpoint') == MOUNTPOINT for fs in agent(dom, 'guest-get-fsinfo', timeout=5) or [])
    except Exception:  # the agent is not up yet (libvirt raises several kinds meanwhile): ask again
        return False


def start(uri, name, guest_json, workdir, tag):
    guest = json.loads(guest_json)
    log = os.path.join(workdir, name + '.serial.log')

    def xml():
        root = etree.fromstring(domain_xml(name, guest, disk=make_iso(workdir, name), disk_format='raw',
                                           serial_log=log).encode())
        return etree.tostring(add_tags(root, [tag]), encoding='unicode')
    with connect(uri) as conn:
        dom, changed = define(conn, name, xml)
        changed = boot(dom) or changed
        deadline = time.monotonic() + 150
        while not fsinfo_has_iso(dom):
            if time.monotonic() > deadline:
                sys.exit('the agent of %s did not list %s within 150 s; serial console:\n%s'
                         % (name, MOUNTPOINT, serial_tail(log)))
            time.sleep(1)
    say_changed(changed)


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _metrics(url):
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.read().decode('utf-8')


def _value(text, name, **labels):
    """The value of the one series ``name`` with those labels (None when there is none)."""
    from prometheus_client.parser import text_string_to_metric_families
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return None


def freeze(uri, name):
    """SIGSTOP the guest's qemu-ga (its channel stays connected; no answer comes): libvirt then waits for it."""
    with connect(uri) as conn:
        shell(lookup(conn, name), '(sleep 1; kill -STOP $(pidof qemu-ga)) >/dev/null 2>&1 &')
    time.sleep(2)
    say_changed(True)


def _ready(text, name, silent):
    if silent:
        return _value(text, 'libvirt_domain_guest_agent_up', domain=name) == 0
    return _value(text, 'libvirt_domain_guest_filesystem_size_bytes', domain=name, mountpoint=MOUNTPOINT) is not None


def scrape(uri, name, workdir, mode=''):
    """Run the exporter until it shows the guest's filesystem (or, silent, its silent agent), scrape it once
    more and print what it said (JSON)."""
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    log = open(os.path.join(workdir, 'exporter.log'), 'w')
    proc = subprocess.Popen([sys.executable, EXPORTER, '--uri', uri, '--listen', '127.0.0.1:%d' % port,
                             '--agent-interval', '1', '--agent-timeout', '3', '--log-level', 'INFO'],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    url = 'http://127.0.0.1:%d/metrics' % port
    fs = dict(domain=name, mountpoint=MOUNTPOINT)
    try:
        deadline, text = time.monotonic() + 30, ''
        while time.monotonic() < deadline:
            try:
                text = _metrics(url)
            except OSError:  # not listening yet
                text = ''
            if _ready(text, name, mode == 'silent'):
                break
            time.sleep(0.5)
        started = time.monotonic()
        again = _metrics(url)
        elapsed = time.monotonic() - started
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
    vm = dict(domain=name)
    result = dict(
        up=_value(again, 'libvirt_up'),
        state=_value(again, 'libvirt_domain_info_state', **vm),
        cpu_before=_value(text, 'libvirt_domain_info_cpu_time_seconds_total', **vm),
        cpu_after=_value(again, 'libvirt_domain_info_cpu_time_seconds_total', **vm),
        vcpus=_value(again, 'libvirt_domain_info_virtual_cpus', **vm),
        memory=_value(again, 'libvirt_domain_info_memory_usage_bytes', **vm),
        read_bytes=_value(again, 'libvirt_domain_block_stats_read_bytes_total', domain=name, target_device='vda'),
        agent_up=_value(again, 'libvirt_domain_guest_agent_up', **vm),
        fs_size=_value(again, 'libvirt_domain_guest_filesystem_size_bytes', **fs),
        fs_used=_value(again, 'libvirt_domain_guest_filesystem_used_bytes', **fs),
        running=_value(again, 'libvirt_domains_by_state', state='running'),
        scrape_seconds=round(elapsed, 4),
        exporter_rc=proc.returncode,
    )
    print(json.dumps(result))


def _daemon(action, directory):
    done = subprocess.run([sys.executable, SECOND_DAEMON, action, directory], stdout=subprocess.PIPE,
                          universal_newlines=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _node_values(url):
    text = _metrics(url)
    return dict(up=_value(text, 'libvirt_up'), connects=_value(text, 'libvirt_exporter_connects_total'),
                domains=_value(text, 'libvirt_domains'))


def reconnect(dummy_uri, dummy_name, workdir):
    """libvirt_up and the connection count before, while and after the exporter's libvirtd is away."""
    directory = os.path.join(workdir, 'second-libvirtd')
    uri = _daemon('start', directory)['uri']
    port = _free_port()
    log = open(os.path.join(workdir, 'exporter-reconnect.log'), 'w')
    proc = subprocess.Popen([sys.executable, EXPORTER, '--uri', uri, '--listen', '127.0.0.1:%d' % port,
                             '--agent-interval', '0', '--log-level', 'INFO'],
                            env=dict(os.environ, PYTHONPATH=COLLECTIONS), stdout=log, stderr=subprocess.STDOUT)
    url = 'http://127.0.0.1:%d/metrics' % port
    seen = {}
    try:
        deadline = time.monotonic() + 30
        while 'before' not in seen:
            try:
                seen['before'] = _node_values(url)
            except OSError:  # not listening yet
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        _daemon('stop', directory)
        seen['away'] = _node_values(url)
        _daemon('start', directory)
        seen['back'] = _node_values(url)
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
        _daemon('stop', directory)
    print(json.dumps(seen))


def remove_vm(uri, name):
    with connect(uri) as conn:
        say_changed(remove(conn, name))


if __name__ == '__main__':
    ACTIONS = {'start': start, 'scrape': scrape, 'freeze': freeze, 'reconnect': reconnect, 'remove': remove_vm}
    if len(sys.argv) < 4 or sys.argv[2] not in ACTIONS:
        sys.exit(__doc__)
    ACTIONS[sys.argv[2]](sys.argv[1], *sys.argv[3:])
