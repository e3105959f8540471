# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Open a virt-viewer file in remote-viewer on a private X server and capture the screen, as JSON.

Usage: remote_viewer.py FILE.vv OUT.png [--find SCREEN.png] [--timeout SECONDS]

Runs itself again under ``xvfb-run`` (a private Xvfb, 1024x768), starts
Debian's ``remote-viewer FILE.vv`` and captures the X screen with
ImageMagick's ``import -window root`` every half second until the capture
holds SCREEN.png pixel for pixel (the guest's screen, taken while the VM is
paused) or the timeout passes.  Without ``--find`` it captures once after 5
seconds.  Prints the capture's size, its distinct colours (1: blank), where
SCREEN.png was found ([x, y] or null) and remote-viewer's output.
remote-viewer is killed at the end.
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from harness import png_compare


def capture(args):
    log = tempfile.TemporaryFile()
    viewer = subprocess.Popen(['remote-viewer', args.vv], stdout=log, stderr=subprocess.STDOUT,  # pylint: disable=consider-using-with
                              stdin=subprocess.DEVNULL)
    started = time.monotonic()
    found = None
    try:
        if not args.find:
            time.sleep(5)
        while True:
            subprocess.run(['import', '-window', 'root', args.out], check=True, stdin=subprocess.DEVNULL)
            if args.find:
                found = png_compare.locate(args.out, args.find)
            if found or not args.find or time.monotonic() - started > args.timeout or viewer.poll() is not None:
                break
            time.sleep(0.5)
    finally:
        if viewer.poll() is None:
            viewer.kill()
        viewer.wait()
        log.seek(0)
        output = log.read().decode(errors='replace')[-2000:]
        log.close()
    report = png_compare.describe(args.out)
    report.update(found=found, seconds=round(time.monotonic() - started, 3), viewer_output=output,
                  viewer_exit=viewer.returncode)
    print(json.dumps(report))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('vv')
    parser.add_argument('out')
    parser.add_argument('--find')
    parser.add_argument('--timeout', type=float, default=20.0)
    args = parser.parse_args(argv)
    if not os.environ.get('VMCAT_UNDER_XVFB'):
        env = dict(os.environ, VMCAT_UNDER_XVFB='1')
        return subprocess.run(['xvfb-run', '-a', '-s', '-screen 0 1024x768x24', sys.executable, os.path.abspath(__file__)]
                              + (argv if argv is not None else sys.argv[1:]), env=env, check=False).returncode
    capture(args)
    return 0


if __name__ == '__main__':
    sys.exit(main())
