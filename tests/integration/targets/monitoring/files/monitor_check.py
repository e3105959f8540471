# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers of the monitoring target: a webhook receiver standing in for a notification channel, and libvirtd's restart.

Usage: monitor_check.py sink-start DIR        serve POST /alerts on 127.0.0.1 (a free port, written to DIR/port) in
                                              the background; every body goes to DIR/alerts.jsonl
       monitor_check.py sink-wait DIR ALERT TIMEOUT [LABEL=VALUE]...
                                              wait until Alertmanager delivered ALERT firing with those labels;
                                              print that alert (JSON)
       monitor_check.py sink-stop DIR
       monitor_check.py restart-libvirtd URI  SIGTERM libvirtd, start it again with ``libvirtd -d`` (no systemd
                                              here, through harness.daemons) and wait until URI answers; print
                                              {"down": t0, "up": t1}
       monitor_check.py scrapes PROMETHEUS INSTANCE FROM TO
                                              the libvirt exporter's samples of libvirt_up and up between FROM and
                                              TO (unix times): print counts, zeros and the longest gap

The receiver binds 127.0.0.1 only and stops by itself after an hour.
"""

from __future__ import absolute_import, division, print_function

import http.server
import json
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', '..'))  # tests/integration: harness
from harness import daemons, dashboards  # noqa: E402  pylint: disable=wrong-import-position

LIBVIRTD_PIDFILE = '/run/libvirtd.pid'
LIFETIME = 3600


# -- the webhook receiver -----------------------------------------------------------------------------
class Receiver(http.server.BaseHTTPRequestHandler):
    sink = None

    def do_POST(self):  # pylint: disable=invalid-name
        body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
        with open(os.path.join(self.sink, 'alerts.jsonl'), 'ab') as out:
            out.write(body.replace(b'\n', b' ') + b'\n')
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def sink_start(folder):
    os.makedirs(folder, exist_ok=True)
    Receiver.sink = folder
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Receiver)
    if os.fork() > 0:
        deadline = time.monotonic() + 10
        while not os.path.exists(os.path.join(folder, 'port')):
            if time.monotonic() > deadline:
                raise RuntimeError('the receiver did not start')
            time.sleep(0.05)
        with open(os.path.join(folder, 'port')) as f:
            print(f.read())
        return 0
    os.setsid()
    for fd in (0, 1, 2):
        os.close(fd)
    with open(os.path.join(folder, 'pid'), 'w') as f:
        f.write(str(os.getpid()))
    with open(os.path.join(folder, 'port.tmp'), 'w') as f:
        f.write(str(server.server_address[1]))
    os.rename(os.path.join(folder, 'port.tmp'), os.path.join(folder, 'port'))
    signal.signal(signal.SIGALRM, lambda *a: os._exit(0))  # pylint: disable=protected-access
    signal.alarm(LIFETIME)
    server.serve_forever()
    return 0


def delivered(folder):
    """Every alert in every notification received so far, with its notification's status."""
    path = os.path.join(folder, 'alerts.jsonl')
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [alert for line in f if line.strip() for alert in json.loads(line)['alerts']]


def sink_wait(folder, name, timeout, wanted):
    labels = dict(item.split('=', 1) for item in wanted)
    deadline = time.monotonic() + float(timeout)
    while True:
        for alert in delivered(folder):
            if (alert['status'] == 'firing' and alert['labels'].get('alertname') == name
                    and all(alert['labels'].get(k) == v for k, v in labels.items())):
                print(json.dumps(alert, sort_keys=True))
                return 0
        if time.monotonic() > deadline:
            seen = sorted(set('%s %s' % (a['labels'].get('alertname'), a['status']) for a in delivered(folder)))
            sys.stderr.write('no %s firing with %s within %s s; received: %s\n' % (name, labels, timeout, seen))
            return 1
        time.sleep(0.5)


def sink_stop(folder):
    try:
        with open(os.path.join(folder, 'pid')) as f:
            os.kill(int(f.read()), signal.SIGTERM)
    except (OSError, ValueError):
        pass
    return 0


# -- libvirtd ---------------------------------------------------------------------------------------------
def restart_libvirtd(uri):
    with open(LIBVIRTD_PIDFILE) as f:
        pid = int(f.read().strip())
    down = time.time()
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while os.path.exists('/proc/%d' % pid):
        if time.monotonic() > deadline:
            raise RuntimeError('libvirtd (pid %d) still runs 30 s after SIGTERM' % pid)
        time.sleep(0.05)
    if 'libvirtd' not in daemons.ensure_daemons(uri):
        raise RuntimeError('libvirtd was not started again: another one answered %s' % uri)
    print(json.dumps({'down': down, 'up': time.time()}))
    return 0


def samples(prometheus, expr, start, end):
    """The raw samples of EXPR between START and END, as (unix time, value)."""
    window = int(time.time() - start) + 5
    result = dashboards.api_get(prometheus, '/api/v1/query', {'query': '%s[%ds]' % (expr, window)})['result']
    if len(result) != 1:
        raise RuntimeError('%s: %d series, expected one' % (expr, len(result)))
    return [(float(t), float(v)) for t, v in result[0]['values'] if start <= float(t) <= end]


def scrapes(prometheus, instance, start, end):
    start, end = float(start), float(end)
    libvirt_up = samples(prometheus, 'libvirt_up{instance="%s"}' % instance, start, end)
    up = samples(prometheus, 'up{job="libvirt",instance="%s"}' % instance, start, end)
    times = [t for t, dummy in libvirt_up]
    gaps = [b - a for a, b in zip(times, times[1:])]
    print(json.dumps({'samples': len(libvirt_up), 'zeros': sum(1 for dummy, v in libvirt_up if v == 0),
                      'up_samples': len(up), 'up_zeros': sum(1 for dummy, v in up if v == 0),
                      'longest_gap': max(gaps) if gaps else None}))
    return 0


def main(argv):
    command, args = argv[1], argv[2:]
    if command == 'sink-start':
        return sink_start(args[0])
    if command == 'sink-wait':
        return sink_wait(args[0], args[1], args[2], args[3:])
    if command == 'sink-stop':
        return sink_stop(args[0])
    if command == 'restart-libvirtd':
        return restart_libvirtd(args[0])
    if command == 'scrapes':
        return scrapes(*args)
    sys.stderr.write(__doc__)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
