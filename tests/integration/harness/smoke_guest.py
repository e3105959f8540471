"""Smoke test of the test-guest fixture on a real libvirtd.

Starts the daemons if needed, builds (or reuses) the guest, then on
``qemu:///system``:

1. boots a domain from the kernel and initramfs directly, waits for its
   guest agent, runs ``/bin/sh -c "echo hello"`` through ``guest-exec`` and
   powers it off through the agent (``guest-shutdown``);
2. boots a second domain from a qcow2 overlay of the fixture's disk, waits
   for its agent and powers it off with the ACPI power button.

``--python`` does the same with the Python variant of the fixture and also
runs ``python3`` in the guest (first and second start: compiled stdlib).

Everything goes through libvirt (``libvirt_qemu.qemuAgentCommand``); the
domains have no NIC. Both are destroyed and undefined whatever happens.
Run it as a script (exit status 1 on failure) or call :func:`run_smoke`.
The agent helpers (:func:`wait_for_agent`, :func:`guest_exec`, ...) are
meant for other tests too.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import dataclasses
import json
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import libvirt
import libvirt_qemu

if __package__:
    from .daemons import SYSTEM_URI, ensure_daemons, quiet_libvirt_errors
    from .guest import READY_MARKER, build_guest, domain_xml
else:  # run as a script: python tests/integration/harness/smoke_guest.py
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from daemons import SYSTEM_URI, ensure_daemons, quiet_libvirt_errors
    from guest import READY_MARKER, build_guest, domain_xml

DEFAULT_TIMEOUT = 120.0
POLL_INTERVAL = 0.25


class SmokeError(AssertionError):
    """The guest did not behave as the fixture promises."""


# --------------------------------------------------------------------------
# Guest agent helpers (through libvirt only)
# --------------------------------------------------------------------------


def agent_command(
    dom: libvirt.virDomain, execute: str, arguments: dict | None = None, timeout: int = 5
):
    """Run one guest-agent command and return its ``return`` value."""
    command = {"execute": execute}
    if arguments is not None:
        command["arguments"] = arguments
    reply = libvirt_qemu.qemuAgentCommand(dom, json.dumps(command), timeout, 0)
    return json.loads(reply).get("return")


def wait_for_agent(dom: libvirt.virDomain, timeout: float = DEFAULT_TIMEOUT) -> float:
    """Poll ``guest-ping`` until the agent answers; return the seconds taken."""
    start = time.monotonic()
    last_error = None
    with quiet_libvirt_errors():
        while time.monotonic() - start < timeout:
            try:
                agent_command(dom, "guest-ping")
                return time.monotonic() - start
            except libvirt.libvirtError as exc:
                last_error = exc
            time.sleep(POLL_INTERVAL)
    raise SmokeError(f"{dom.name()}: no guest agent after {timeout:.0f} s ({last_error})")


def guest_exec(
    dom: libvirt.virDomain, path: str, args: Sequence[str] = (), timeout: float = 30.0
) -> dict:
    """Run a program in the guest; return ``exitcode``, ``stdout``, ``stderr``."""
    started = agent_command(
        dom, "guest-exec", {"path": path, "arg": list(args), "capture-output": True}
    )
    deadline = time.monotonic() + timeout
    while True:
        status = agent_command(dom, "guest-exec-status", {"pid": started["pid"]})
        if status["exited"]:
            break
        if time.monotonic() > deadline:
            raise SmokeError(f"{path} {args} still running after {timeout:.0f} s")
        time.sleep(0.05)

    def decode(field: str) -> str:
        return base64.b64decode(status.get(field, "")).decode(errors="replace")

    return {
        "exitcode": status.get("exitcode"),
        "stdout": decode("out-data"),
        "stderr": decode("err-data"),
    }


def wait_for_shutoff(dom: libvirt.virDomain, timeout: float = 30.0) -> float:
    """Wait until the domain is shut off; return the seconds taken."""
    start = time.monotonic()
    while dom.isActive():
        if time.monotonic() - start > timeout:
            raise SmokeError(f"{dom.name()} still running {timeout:.0f} s after shutdown")
        time.sleep(POLL_INTERVAL)
    return time.monotonic() - start


# --------------------------------------------------------------------------
# Domain lifecycle
# --------------------------------------------------------------------------


def _remove_domain(dom: libvirt.virDomain) -> None:
    """Destroy (if running) and undefine a domain, ignoring what is gone."""
    with quiet_libvirt_errors():
        with contextlib.suppress(libvirt.libvirtError):
            if dom.isActive():
                dom.destroy()
        with contextlib.suppress(libvirt.libvirtError):
            dom.undefine()


def _make_overlay(backing: str, path: Path) -> Path:
    """A qcow2 overlay on ``backing``, so the cached image stays untouched."""
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", backing, str(path)],
        check=True,
    )
    return path


def _check_serial_log(path: Path) -> None:
    """The serial console must show the guest's ready marker."""
    text = path.read_text(errors="replace") if path.exists() else ""
    if READY_MARKER not in text:
        raise SmokeError(f"{READY_MARKER} missing from serial log {path}")


def _print_serial_logs(workdir: Path) -> None:
    """Show the end of every serial log, to tell why a guest failed."""
    for log in sorted(workdir.glob("*-serial.log")):
        lines = log.read_text(errors="replace").splitlines()
        print(f"--- last lines of {log.name} ---", file=sys.stderr)
        print("\n".join(lines[-40:]), file=sys.stderr)


# --------------------------------------------------------------------------
# The smoke test
# --------------------------------------------------------------------------


@dataclasses.dataclass
class _SmokeRun:
    """State of one smoke run: where it works and what it must clean up."""

    conn: libvirt.virConnect
    guest: dict
    prefix: str
    workdir: Path
    timeout: float
    timings: dict
    created: list = dataclasses.field(default_factory=list)

    def start(self, suffix: str, **xml_options) -> tuple[libvirt.virDomain, Path]:
        """Define and start ``<prefix>-<suffix>``; return it and its serial log."""
        log = self.workdir / f"{suffix}-serial.log"
        xml = domain_xml(f"{self.prefix}-{suffix}", self.guest, serial_log=log, **xml_options)
        dom = self.conn.defineXML(xml)
        self.created.append(dom)
        dom.create()
        return dom, log

    def kernel_boot_checks(self) -> None:
        """Direct kernel boot: agent, guest-exec, power-off through the agent."""
        dom, log = self.start("kernel", memory_mib=self.memory_mib)
        self.timings["kernel_boot_to_agent"] = wait_for_agent(dom, self.timeout)
        if self.guest.get("python"):
            self.python_checks(dom)

        start = time.monotonic()
        result = guest_exec(dom, "/bin/sh", ["-c", "echo hello"])
        self.timings["guest_exec"] = time.monotonic() - start
        if result["exitcode"] != 0 or result["stdout"] != "hello\n":
            raise SmokeError(f"guest-exec gave {result!r}, expected exit 0 and 'hello\\n'")
        _check_serial_log(log)

        dom.shutdownFlags(libvirt.VIR_DOMAIN_SHUTDOWN_GUEST_AGENT)
        self.timings["agent_shutdown"] = wait_for_shutoff(dom)

    @property
    def memory_mib(self) -> int:
        """The Python variant wants more room for its unpacked initramfs."""
        return 512 if self.guest.get("python") else 256

    def python_checks(self, dom: libvirt.virDomain) -> None:
        """The Python variant: the interpreter runs and imports what Ansible needs."""
        script = "import json, hashlib, ssl, zipfile, sys; print(json.dumps(sys.version_info[:2]))"
        for attempt in ("python_first_run", "python_second_run"):
            start = time.monotonic()
            result = guest_exec(dom, "/usr/bin/python3", ["-c", script], timeout=self.timeout)
            self.timings[attempt] = time.monotonic() - start
            if result["exitcode"] != 0 or not result["stdout"].startswith("[3, "):
                raise SmokeError(f"python3 in the guest gave {result!r}")

    def disk_boot_checks(self) -> None:
        """Boot from an overlay of the golden disk: agent, ACPI power button."""
        overlay = _make_overlay(self.guest["disk"], self.workdir / "disk.qcow2")
        dom, log = self.start("disk", disk=overlay, kernel_boot=False, memory_mib=self.memory_mib)
        self.timings["disk_boot_to_agent"] = wait_for_agent(dom, self.timeout)
        _check_serial_log(log)

        dom.shutdownFlags(libvirt.VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN)
        self.timings["acpi_shutdown"] = wait_for_shutoff(dom)

    def cleanup(self) -> None:
        """Remove every domain this run defined, then its files."""
        for dom in self.created:
            _remove_domain(dom)
        shutil.rmtree(self.workdir, ignore_errors=True)


def run_smoke(uri: str = SYSTEM_URI, timeout: float = DEFAULT_TIMEOUT, python: bool = False) -> dict:
    """Run the smoke test; return timings in seconds, raise on failure."""
    timings = {}
    start = time.monotonic()
    ensure_daemons(uri)
    timings["daemons"] = time.monotonic() - start

    start = time.monotonic()
    guest = build_guest(python=python)
    timings["build"] = time.monotonic() - start

    prefix = f"vmcat-smoke-{secrets.token_hex(4)}"
    conn = libvirt.open(uri)
    run = _SmokeRun(
        conn, guest, prefix, Path(tempfile.mkdtemp(prefix=f"{prefix}-")), timeout, timings
    )
    try:
        run.kernel_boot_checks()
        run.disk_boot_checks()
    except BaseException:
        _print_serial_logs(run.workdir)
        raise
    finally:
        run.cleanup()
        conn.close()
    return timings


def main(argv: list[str] | None = None) -> int:
    """Script entry point: run the smoke test and print its timings."""
    parser = argparse.ArgumentParser(description="Boot the vmcat test guest and talk to its agent.")
    parser.add_argument("--uri", default=SYSTEM_URI)
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help="seconds to wait for each guest agent",
    )
    parser.add_argument(
        "--python", action="store_true", help="the fixture's variant with python3 in the guest"
    )
    args = parser.parse_args(argv)
    try:
        timings = run_smoke(args.uri, args.timeout, python=args.python)
    except (
        SmokeError,
        libvirt.libvirtError,
        RuntimeError,
        OSError,
        subprocess.CalledProcessError,
    ) as exc:
        print(f"smoke test FAILED: {exc}", file=sys.stderr)
        return 1
    for step, seconds in timings.items():
        print(f"{step:>22}: {seconds:6.2f} s")
    print("smoke test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
