# -*- coding: utf-8 -*-
"""Console benchmark: the browser console through the gateway against a direct VNC connection, in one run.

One TCG test guest (the console_browser target's: VNC and SPICE on
127.0.0.1), the ``vmcat.libvirt.console_gateway`` role on this machine (TLS,
self-signed, private paths under a temporary directory, listening on
127.0.0.1) and one headless Chromium (tests/integration/harness/browser.py),
already running as a person's browser would be.

1. First frame, R runs: from the start of the ``vmcat.libvirt.console``
   task (a new token; its banner's time in Ansible's log) in an
   ``ansible-playbook`` run to the first frame noVNC draws in the browser
   (its canvas is no longer transparent), and from the playbook's start.
   Split into: playbook start to task start, the task, task end to playbook
   exit, and in the browser page loaded, connected (RFB session up) and
   first frame.  Beside it, the direct path: TCP connect, RFB handshake and the
   first full frame with bench/console_rfb.py.
2. Keystroke to screen, N pairs per path, interleaved: the time from a key
   press to the moment its character appears in (or, for Backspace, leaves)
   the screen copy of the client.  Gateway: a key event dispatched into the
   noVNC page (Chromium's Input.dispatchKeyEvent), timed in the page from
   its keydown to the canvas change (polled every few ms with
   getImageData); the path is noVNC, TLS WebSocket, websockify with the
   token plugin, QEMU's VNC server, the guest's tty echo, QEMU's display
   refresh, back.  Direct: bench/console_rfb.py sends the same key as an RFB
   KeyEvent on a plain socket to QEMU and times until the update holding the
   change is read (Raw encoding).  The measured cell is found first by
   typing one character; the pixels of the blinking cursor (the cell's
   lowest rows) are outside it.

Quick mode (``--quick``, bench/run.py --quick in make test): the direct
half only, once: the guest boots, an RFB handshake and first full frame, the
text cell found by typing, one key pair timed.  The gateway and browser half
is not run there: the console_gateway role alone takes about 15 s to set up
and more to remove (a whole quick run of both halves took 41 s here, over
the 30 s a quick benchmark may take); the console_browser integration target
drives that chain (role, console task, noVNC in Chromium) in make test.  It
fails when a step fails and checks no time; it saves nothing.

Usage: python bench/console.py [--runs R] [--keys N] [--quick]
Results: printed, and bench/results/console.json.
"""

from __future__ import absolute_import, division, print_function

import argparse
import datetime
import json
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BIN = os.path.dirname(sys.executable)
TARGET_FILES = os.path.join(ROOT, 'tests', 'integration', 'targets', 'console_browser', 'files')
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
sys.path.insert(0, TARGET_FILES)
sys.path.insert(0, HERE)

import console_guest  # noqa: E402  (the console_browser target's guest: VNC and SPICE on 127.0.0.1)
from console_rfb import KEYSYMS, RfbClient  # noqa: E402
from harness import daemons, fixture_vm, guest  # noqa: E402
from harness.browser import NOVNC_CANVAS, NOVNC_CONNECTED, NOVNC_STARTED, Browser  # noqa: E402

URI = 'qemu:///system'
RESULTS = os.path.join(HERE, 'results')
CURSOR_ROWS = 13  # rows 13-15 of a 16-pixel text cell hold the blinking cursor: never measured
CELL_HEIGHT = 16

# Installed once per page: on the next keydown, note the time and poll the canvas box until it changes.
WATCH_JS = r'''
window.vmcatWatch = function (box) {
  const canvas = document.querySelector(%s);
  const context = canvas.getContext('2d');
  const grab = () => context.getImageData(box[0], box[1], box[2] - box[0], box[3] - box[1]).data.join();
  window.vmcatLatency = null;
  document.addEventListener('keydown', function onKey() {
    document.removeEventListener('keydown', onKey, true);
    const start = performance.now();
    const before = grab();
    (function poll() {
      if (grab() !== before) { window.vmcatLatency = performance.now() - start; }
      else if (performance.now() - start > 5000) { window.vmcatLatency = -1; }
      else { setTimeout(poll, 1); }
    })();
  }, true);
};
''' % json.dumps(NOVNC_CANVAS)
FIRST_FRAME_JS = "document.querySelector(%s).getContext('2d').getImageData(0, 0, 1, 1).data[3] === 255" % (
    json.dumps(NOVNC_CANVAS))


def ansible_env():
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build', 'collections'),
                ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0',
                ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_NOCOLOR='1')


def play(work, name, tasks, log=None):
    """Run one play on localhost; (seconds, stdout). log: Ansible's log file (each line time-stamped), with -v."""
    path = os.path.join(work, name + '.yml')
    with open(path, 'w') as f:
        json.dump([{'name': name, 'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}], f)
    env = ansible_env()
    cmd = [os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local', path]
    if log:
        env.update(ANSIBLE_LOG_PATH=log, ANSIBLE_CALLBACK_FORMAT_PRETTY='false')
        cmd.append('-v')
    started = time.monotonic()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          check=False)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        sys.stdout.write(proc.stdout[-4000:])
        raise SystemExit('the %s play failed' % name)
    return elapsed, proc.stdout


def gateway_vars(work, prefix, port, state='started'):
    gw = os.path.join(work, 'gateway')
    return {
        'console_gateway_state': state, 'console_gateway_listen_address': '127.0.0.1',
        'console_gateway_port': port, 'console_gateway_public_url': 'https://127.0.0.1:%d' % port,
        'console_gateway_manage_packages': False, 'console_gateway_service_manager': 'supervisor',
        'console_gateway_service_name': prefix + 'gateway', 'console_gateway_user': prefix + 'gw',
        'console_gateway_group': prefix + 'gw',
        'console_gateway_config_dir': gw + '/etc', 'console_gateway_state_dir': gw + '/state',
        'console_gateway_token_dir': gw + '/state/tokens', 'console_gateway_lib_dir': gw + '/lib',
        'console_gateway_run_dir': gw + '/run', 'console_gateway_log_dir': gw + '/log',
    }


def role_task(variables):
    return {'name': 'console gateway', 'ansible.builtin.include_role': {'name': 'vmcat.libvirt.console_gateway'},
            'vars': variables}


def task_times(log, task):
    """(start, end, result) of task from an Ansible log: its banner's time, its result line's time and result."""
    start = end = result = None
    with open(log) as f:
        for line in f:
            stamp, dummy, text = line.partition(' p=')
            text = text.split('| ', 1)[-1]
            when = datetime.datetime.strptime(stamp, '%Y-%m-%d %H:%M:%S,%f').timestamp()  # local time, ms
            if text.startswith('TASK [%s]' % task):
                start = when
            elif start is not None and text.startswith(('ok: [', 'changed: [')):
                end, result = when, json.loads(text.split(' => ', 1)[1])
                break
    if result is None:
        raise SystemExit('no result of the task %s in %s' % (task, log))
    return start, end, result


def first_frame(browser, work, vm, config):
    """One run: playbook with the console task, then the URL in the browser; the phases in seconds."""
    task = {'name': 'console', 'vmcat.libvirt.console': {'uri': URI, 'name': vm, 'protocol': 'vnc',
                                                         'gateway_config': config, 'new_token': True}}
    log = os.path.join(work, 'console-task.log')
    if os.path.exists(log):
        os.unlink(log)
    browser.open('about:blank')
    wall_start, started = time.time(), time.monotonic()
    elapsed, dummy = play(work, 'console-task', [task], log=log)
    task_start, task_end, result = task_times(log, 'console')
    opened = time.monotonic()
    loads = browser.open(result['url'], started=NOVNC_STARTED)
    loaded = time.monotonic()
    browser.wait_for(NOVNC_CONNECTED, interval=0.005)
    connected = time.monotonic()
    browser.wait_for(FIRST_FRAME_JS, interval=0.005)
    drawn = time.monotonic()
    return {
        'total': drawn - started, 'task_start_to_first_frame': drawn - started - (task_start - wall_start),
        'playbook_to_task': task_start - wall_start, 'task': task_end - task_start,
        'task_end_to_exit': elapsed - (task_end - wall_start), 'page_loaded': loaded - opened,
        'connected': connected - loaded, 'first_frame': drawn - connected, 'page_loads': loads,
    }


def direct_first_frame(port):
    started = time.monotonic()
    with RfbClient('127.0.0.1', port) as rfb:
        handshake = time.monotonic() - started
        frame = rfb.first_frame()
    return {'handshake': handshake, 'first_frame': frame, 'total': time.monotonic() - started}


def find_cell(rfb):
    """The box of the glyph that a typed 'x' draws (cursor rows left out); the 'x' is erased again."""
    rfb.first_frame()
    before = bytes(rfb.framebuffer)
    rfb.key(KEYSYMS['x'], True)
    rfb.key(KEYSYMS['x'], False)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rfb.request(incremental=True)
        while rfb.read_message() != 0:
            pass
        rows = [y for y in range(rfb.height) if y % CELL_HEIGHT < CURSOR_ROWS
                and rfb.framebuffer[y * rfb.width * 4:(y + 1) * rfb.width * 4] != before[y * rfb.width * 4:(y + 1) * rfb.width * 4]]
        if rows:
            columns = [x for x in range(rfb.width) if any(
                rfb.framebuffer[(y * rfb.width + x) * 4:(y * rfb.width + x + 1) * 4]
                != before[(y * rfb.width + x) * 4:(y * rfb.width + x + 1) * 4] for y in rows)]
            box = (min(columns), min(rows), max(columns) + 1, max(rows) + 1)
            rfb.key_latency(KEYSYMS['BackSpace'], box)
            return box
    raise SystemExit('typing a character changed nothing on the screen within 10 s')


def browser_key(browser, char, box):
    browser.evaluate('window.vmcatWatch(%s)' % json.dumps(list(box)))
    browser.press(char)
    browser.wait_for('window.vmcatLatency !== null', timeout=10, interval=0.01)
    latency = browser.evaluate('window.vmcatLatency')
    if latency < 0:
        raise SystemExit('the browser canvas did not change within 5 s of a key')
    return latency / 1000.0


def key_latencies(browser, rfb, box, pairs):
    """Interleaved: gateway x, gateway Backspace, direct x, direct Backspace; pairs times."""
    browser.evaluate(WATCH_JS)
    browser.focus(NOVNC_CANVAS)
    gateway, direct = [], []
    for dummy in range(pairs):
        for char in ('x', '\b'):
            time.sleep(random.uniform(0.15, 0.35))  # not in step with QEMU's display refresh
            gateway.append(browser_key(browser, char, box))
        rfb.first_frame()  # bring the direct client's copy up to date after the browser's keys
        for keysym in (KEYSYMS['x'], KEYSYMS['BackSpace']):
            time.sleep(random.uniform(0.15, 0.35))
            direct.append(rfb.key_latency(keysym, box))
    return gateway, direct


def summary(values):
    ordered = sorted(values)
    return {'median_ms': round(statistics.median(ordered) * 1000, 1),
            'p90_ms': round(ordered[max(0, int(round(0.9 * len(ordered))) - 1)] * 1000, 1),
            'min_ms': round(ordered[0] * 1000, 1), 'max_ms': round(ordered[-1] * 1000, 1), 'samples': len(ordered)}


def medians(runs):
    return {key: round(statistics.median(run[key] for run in runs), 3) for key in runs[0]}


def bench_console(args, work, prefix, port):
    """The whole benchmark on a gateway at port (left running: the caller removes it); the result dict."""
    fixture = guest.build_guest()
    vm = prefix + 'screen'
    variables = gateway_vars(work, prefix, port)
    config = variables['console_gateway_config_dir'] + '/gateway.json'
    with fixture_vm.connect(URI) as conn:
        booted = console_guest.start(conn, vm, fixture, work)
    print('guest %s up (agent after %.1f s), VNC port %d' % (vm, booted['agent_seconds'], booted['vnc_port']))
    role_seconds, dummy = play(work, 'gateway', [role_task(variables)])
    print('console_gateway role: %.1f s' % role_seconds)
    with Browser() as browser:
        runs = [first_frame(browser, work, vm, config) for dummy in range(args.runs)]
        direct_runs = [direct_first_frame(booted['vnc_port']) for dummy in range(args.runs)]
        with RfbClient('127.0.0.1', booted['vnc_port']) as rfb:
            box = find_cell(rfb)
            # the browser session of the last first-frame run is still connected: type through it
            gateway, direct = key_latencies(browser, rfb, box, args.keys)
    result = {
        'runs': args.runs, 'key_pairs': args.keys, 'role_seconds': round(role_seconds, 1), 'cell': list(box),
        'first_frame': {'gateway': medians(runs), 'gateway_runs': runs, 'direct': medians(direct_runs)},
        'keystroke': {'gateway': summary(gateway), 'direct': summary(direct),
                      'gateway_s': [round(v, 4) for v in gateway], 'direct_s': [round(v, 4) for v in direct]},
        'load_average': os.getloadavg(),
    }
    report(result)
    return result


def report(result):
    gw, direct = result['first_frame']['gateway'], result['first_frame']['direct']
    print('first frame (median of %d): console task start -> first frame %.2f s (playbook start -> first frame '
          '%.2f s: to task %.2f, task %.2f, to exit %.2f, page %.2f, connected %.2f, frame %.3f); '
          'direct RFB: connect+handshake %.3f s, first full frame %.3f s'
          % (result['runs'], gw['task_start_to_first_frame'], gw['total'], gw['playbook_to_task'], gw['task'],
             gw['task_end_to_exit'], gw['page_loaded'], gw['connected'], gw['first_frame'], direct['handshake'],
             direct['first_frame']))
    for path in ('gateway', 'direct'):
        one = result['keystroke'][path]
        print('keystroke to screen, %-7s: median %.1f ms, p90 %.1f ms, min %.1f, max %.1f (%d keys)'
              % (path, one['median_ms'], one['p90_ms'], one['min_ms'], one['max_ms'], one['samples']))


def quick_direct(work, prefix):
    """Quick mode: the direct path only (guest, RFB handshake and first frame, the text cell, one key pair)."""
    fixture = guest.build_guest()
    vm = prefix + 'screen'
    with fixture_vm.connect(URI) as conn:
        booted = console_guest.start(conn, vm, fixture, work)
    direct = direct_first_frame(booted['vnc_port'])
    with RfbClient('127.0.0.1', booted['vnc_port']) as rfb:
        box = find_cell(rfb)
        latencies = [rfb.key_latency(keysym, box) for keysym in (KEYSYMS['x'], KEYSYMS['BackSpace'])]
    print('console quick (direct VNC only): agent after %.1f s, handshake %.3f s, first frame %.3f s, cell %s, '
          'keys %s ms (the times mean nothing)' % (booted['agent_seconds'], direct['handshake'], direct['first_frame'],
                                                   list(box), [round(v * 1000, 1) for v in latencies]))


def main(argv=None, note=None):
    """note(benchmark, what): told what a quick run leaves out (bench/run.py collects it); printed otherwise."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=5, help='first-frame runs')
    parser.add_argument('--keys', type=int, default=20, help='key pairs (a character and Backspace) per path')
    parser.add_argument('--quick', action='store_true',
                        help='the direct half once, to check it works (make test); times mean nothing')
    args = parser.parse_args(argv)
    daemons.ensure_daemons()
    prefix = 'vmconbench-%s-' % secrets.token_hex(2)
    work = tempfile.mkdtemp(prefix='vmcat-bench-', dir='/var/tmp')
    os.chmod(work, 0o755)  # QEMU and the gateway's service user read below it
    if args.quick:
        (note or (lambda benchmark, what: print('%s: NOT RUN in quick mode: %s' % (benchmark, what))))(
            'console', 'the gateway and browser half (the role alone takes about 15 s to set up; both halves took '
            '41 s, over the 30 s budget; the console_browser integration target covers that chain)')
        try:
            quick_direct(work, prefix)
        finally:
            with fixture_vm.connect(URI) as conn:
                fixture_vm.remove_prefixed(conn, prefix)
            shutil.rmtree(work, ignore_errors=True)
        return None
    port = console_guest.free_port()
    try:
        result = bench_console(args, work, prefix, port)
        os.makedirs(RESULTS, exist_ok=True)
        with open(os.path.join(RESULTS, 'console.json'), 'w') as f:
            json.dump(result, f, indent=2)
    finally:
        try:
            play(work, 'gateway-absent', [role_task(gateway_vars(work, prefix, port, state='absent'))])
        finally:
            with fixture_vm.connect(URI) as conn:
                fixture_vm.remove_prefixed(conn, prefix)
            shutil.rmtree(work, ignore_errors=True)
    return result


if __name__ == '__main__':
    main()
