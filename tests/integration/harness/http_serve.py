# -*- coding: utf-8 -*-
"""Serve a directory over HTTP on 127.0.0.1 (a free port) for the volume tests.

Usage: http_serve.py DIRECTORY PORTFILE STOPFILE LIFETIME

Writes the port to PORTFILE once listening; stops when STOPFILE appears or
after LIFETIME seconds, whichever comes first.  Binds to 127.0.0.1 only.
"""

import functools
import http.server
import os
import sys
import threading
import time


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def main():
    directory, portfile, stopfile, lifetime = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Quiet, directory=directory))
    with open(portfile + '.tmp', 'w') as f:
        f.write(str(server.server_address[1]))
    os.rename(portfile + '.tmp', portfile)

    def watch():
        deadline = time.monotonic() + lifetime
        while time.monotonic() < deadline and not os.path.exists(stopfile):
            time.sleep(0.3)
        server.shutdown()

    threading.Thread(target=watch, daemon=True).start()
    server.serve_forever(poll_interval=0.3)
    server.server_close()


if __name__ == '__main__':
    main()
