# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Open a console URL in headless Chromium (harness.browser) and report what the page did, as JSON.

Usage: browser_check.py vnc     URL OUT [--uri URI --name VM] [--marker TEXT]
       browser_check.py spice   URL OUT [--uri URI --name VM]
       browser_check.py refused OUT LABEL=URL... [--wait SECONDS]

``vnc`` waits until noVNC is connected and has drawn its first frame;
with ``--marker`` it types TEXT and Enter into the noVNC canvas (real key
events through the page) and waits until the guest's console reader got the
line; with ``--name`` it then pauses the VM, waits until the canvas stops
changing and saves it as OUT-canvas.png.  The VM stays paused, so that
``vmcat.libvirt.vm_screenshot`` takes the very screen the browser shows
(resume it afterwards).  ``spice`` does the same with spice-html5's
primary surface.  Both save the page as OUT-page.png and print the seconds
each step took and the end of the page's console log.

``refused`` expects noVNC to fail on each URL, one after the other in one
browser: it waits until noVNC shows an error and reports
per label whether it ever connected, the status noVNC showed and the console
log lines about the WebSocket; each page is saved as OUT-LABEL-page.png.
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import sys
import time

from harness import fixture_vm
from harness.browser import (NOVNC_CANVAS, NOVNC_CONNECTED, NOVNC_FAILED, NOVNC_STARTED, SPICE_CANVAS, SPICE_CONNECTED,
                             Browser)
from harness.smoke_guest import guest_exec
from harness.guest import CONSOLE_INPUT_FILE

# The canvas has been drawn on: its top left pixel is opaque (an empty canvas is transparent black).
DRAWN = "document.querySelector(%s).getContext('2d').getImageData(0, 0, 1, 1).data[3] === 255"
NOVNC_STATUS = "(document.getElementById('noVNC_status') || {}).textContent || ''"


def drawn(selector):
    return DRAWN % json.dumps(selector)


def wait_typed(uri, name, marker, timeout=30):
    """Seconds until the guest's console reader holds the line marker."""
    started = time.monotonic()
    with fixture_vm.connect(uri) as conn:
        dom = conn.lookupByName(name)
        while marker not in guest_exec(dom, '/bin/sh', ['-c', 'cat %s 2>/dev/null; true' % CONSOLE_INPUT_FILE])['stdout']:
            if time.monotonic() - started > timeout:
                raise TimeoutError('the guest did not get %r within %ss' % (marker, timeout))
            time.sleep(0.2)
    return time.monotonic() - started


def pause(uri, name):
    with fixture_vm.connect(uri) as conn:
        conn.lookupByName(name).suspend()


def steady_canvas(browser, selector, settle=0.5, timeout=10):
    """The canvas as PNG once two reads settle seconds apart are equal (the last updates have arrived)."""
    deadline = time.monotonic() + timeout
    previous = browser.canvas_png(selector)
    while True:
        time.sleep(settle)
        current = browser.canvas_png(selector)
        if current == previous or time.monotonic() > deadline:
            return current
        previous = current


def session(browser, args, connected, canvas, report):
    """Open the URL, wait for the session and its first frame, type, pause, save the canvas."""
    started = time.monotonic()
    report['loads'] = browser.open(args.url, started=NOVNC_STARTED if args.kind == 'vnc' else SPICE_CONNECTED)
    report['loaded_seconds'] = round(time.monotonic() - started, 3)
    browser.wait_for(connected)
    report['connected_seconds'] = round(time.monotonic() - started, 3)
    browser.wait_for(drawn(canvas))
    report['first_frame_seconds'] = round(time.monotonic() - started, 3)
    if getattr(args, 'marker', None):
        browser.type_text(args.marker + '\n', focus=canvas)
        report['typed_seconds'] = round(wait_typed(args.uri, args.name, args.marker), 3)
    if args.name:
        pause(args.uri, args.name)
        report['paused'] = True
        with open(args.out + '-canvas.png', 'wb') as f:
            f.write(steady_canvas(browser, canvas))
        report['canvas'] = args.out + '-canvas.png'


def refused(browser, url, wait):
    """Open url and wait for noVNC to give up; whether it ever connected."""
    browser.open('about:blank')  # the pages differ only after "#": without this the page would not load again
    started = time.monotonic()
    seen = len(browser.console_log())
    report = {'connected': False, 'failed': False, 'loads': browser.open(url, started=NOVNC_STARTED)}
    while time.monotonic() < started + wait:
        if browser.evaluate(NOVNC_CONNECTED):
            report['connected'] = True
            break
        if browser.evaluate(NOVNC_FAILED):
            report['failed'] = True
            break
        time.sleep(0.1)
    report['status'] = browser.evaluate(NOVNC_STATUS).strip()
    report['seconds'] = round(time.monotonic() - started, 3)
    report['console'] = [line for line in browser.console_log()[seen:] if 'WebSocket' in line or 'connect' in line]
    return report


def refusals(browser, args):
    """Each LABEL=URL of args.pages opened in turn; {label: report}."""
    reports = {}
    for page in args.pages:
        label, url = page.split('=', 1)
        try:
            reports[label] = refused(browser, url, args.wait)
        finally:
            browser.screenshot('%s-%s-page.png' % (args.out, label))
    return reports


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='kind', required=True)
    for kind in ('vnc', 'spice'):
        one = sub.add_parser(kind)
        one.add_argument('url')
        one.add_argument('out', help='path prefix of the PNG files')
        one.add_argument('--uri', default='qemu:///system')
        one.add_argument('--name', help='pause this VM and save the canvas')
        if kind == 'vnc':
            one.add_argument('--marker', help='type this and Enter through the page (needs --name)')
    refuse = sub.add_parser('refused')
    refuse.add_argument('out', help='path prefix of the PNG files')
    refuse.add_argument('pages', nargs='+', metavar='LABEL=URL')
    refuse.add_argument('--wait', type=float, default=15.0, help='seconds to wait for each failure')
    args = parser.parse_args(argv)
    if getattr(args, 'marker', None) and not args.name:
        parser.error('--marker needs --name')
    if args.kind == 'refused' and any('=' not in page for page in args.pages):
        parser.error('refused takes LABEL=URL arguments')
    with Browser() as browser:
        if args.kind == 'refused':
            print(json.dumps(refusals(browser, args)))
            return 0
        report = {'kind': args.kind}
        try:
            session(browser, args, NOVNC_CONNECTED if args.kind == 'vnc' else SPICE_CONNECTED,
                    NOVNC_CANVAS if args.kind == 'vnc' else SPICE_CANVAS, report)
        finally:
            browser.screenshot(args.out + '-page.png')
            report['page'] = args.out + '-page.png'
            report['console'] = browser.console_log()[-15:]
            print(json.dumps(report))
    return 0


if __name__ == '__main__':
    sys.exit(main())
