"""Make sure virtlogd and libvirtd are running, for integration tests.

The test machines have no systemd, so nothing starts libvirt's daemons. This
module starts them by hand (``virtlogd -d`` first: without it, starting a
domain fails because libvirtd cannot reach ``/run/libvirt/virtlogd-sock``)
and waits until ``qemu:///system`` answers. It is safe to call when the
daemons already run.

Usable as a module (``ensure_daemons()``) or as a script::

    python tests/integration/harness/daemons.py
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import libvirt

SYSTEM_URI = "qemu:///system"
VIRTLOGD_SOCKET = Path("/run/libvirt/virtlogd-sock")
DEFAULT_TIMEOUT = 30.0
POLL_INTERVAL = 0.2


class DaemonError(RuntimeError):
    """libvirt's daemons could not be started or do not answer."""


def process_running(name: str) -> bool:
    """Tell whether a process whose command name is exactly ``name`` runs.

    Scans ``/proc/<pid>/comm`` (like ``pgrep -x``), so names longer than the
    kernel's 15 characters cannot match; libvirt's daemon names are shorter.
    """
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(os.path.join(entry.path, "comm"), encoding="utf-8") as comm:
                if comm.read().strip() == name:
                    return True
        except OSError:  # the process ended while we looked
            continue
    return False


def _ignore_libvirt_error(_ctx, _err) -> None:
    """libvirt error handler that prints nothing (errors still raise)."""


@contextlib.contextmanager
def quiet_libvirt_errors():
    """Stop libvirt printing each error to stderr (they still raise).

    Handy while polling something that fails until it is ready. libvirt's
    default handler is put back afterwards.
    """
    libvirt.registerErrorHandler(_ignore_libvirt_error, None)
    try:
        yield
    finally:
        libvirt.registerErrorHandler(None, None)


def libvirt_answers(uri: str = SYSTEM_URI) -> bool:
    """Tell whether a connection to ``uri`` can be opened right now."""
    with quiet_libvirt_errors():
        try:
            conn = libvirt.open(uri)
        except libvirt.libvirtError:
            return False
    conn.close()
    return True


def _start_daemon(name: str) -> None:
    """Run ``<name> -d`` (it daemonizes itself) and check that it started."""
    try:
        result = subprocess.run(
            [name, "-d"], capture_output=True, text=True, timeout=30, check=False
        )
    except FileNotFoundError as exc:
        raise DaemonError(
            f"{name} is not installed (Debian: apt-get install libvirt-daemon-system)"
        ) from exc
    if result.returncode != 0:
        raise DaemonError(
            f"'{name} -d' failed with exit code {result.returncode}: "
            f"{result.stderr.strip() or result.stdout.strip()}"
        )


def _wait_for(predicate, timeout: float) -> bool:
    """Poll ``predicate`` until it returns true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_INTERVAL)


def ensure_daemons(uri: str = SYSTEM_URI, timeout: float = DEFAULT_TIMEOUT) -> list[str]:
    """Start virtlogd and libvirtd if needed; wait until ``uri`` answers.

    Returns the names of the daemons this call started (empty when libvirt
    already answered). Raises :class:`DaemonError` with the reason otherwise.
    """
    if libvirt_answers(uri):
        return []
    if os.geteuid() != 0:
        raise DaemonError(f"{uri} does not answer and only root can start libvirtd here")
    started = []
    if not process_running("virtlogd"):
        _start_daemon("virtlogd")
        started.append("virtlogd")
        if not _wait_for(VIRTLOGD_SOCKET.exists, timeout):
            raise DaemonError(f"virtlogd started but {VIRTLOGD_SOCKET} did not appear")
    if not process_running("libvirtd"):
        _start_daemon("libvirtd")
        started.append("libvirtd")
    if not _wait_for(lambda: libvirt_answers(uri), timeout):
        state = "running" if process_running("libvirtd") else "not running"
        raise DaemonError(
            f"{uri} did not answer within {timeout:.0f} s (libvirtd is {state}; "
            "see /var/log/libvirt/ or run 'libvirtd -v' in the foreground)"
        )
    return started


def main() -> int:
    """Script entry point: start the daemons and say what was done."""
    try:
        started = ensure_daemons()
    except DaemonError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"started: {', '.join(started)}" if started else "libvirt daemons already running")
    return 0


if __name__ == "__main__":
    sys.exit(main())
