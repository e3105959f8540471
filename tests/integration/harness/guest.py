"""Build and cache a tiny Linux test guest with a QEMU guest agent.

The guest is made from Debian packages only (``apt-get download``, nothing
else is fetched):

* the kernel and virtio modules of Debian's cloud kernel
  (``linux-image-<abi>-cloud-amd64``),
* an initramfs holding ``busybox-static``, ``qemu-ga`` from
  ``qemu-guest-agent`` (with the host libraries ``ldd`` lists) and an
  ``/init`` script (see ``INIT_SCRIPT``),
* a bootable qcow2 disk (unpartitioned FAT with syslinux) that carries the
  same kernel and initramfs, for tests that need a disk-booted "golden
  template".

``build_guest(python=True)`` builds a second, opt-in variant whose
initramfs also holds Debian's ``python3.X`` (``python3.X-minimal``,
``libpython3.X-minimal``, ``libpython3.X-stdlib`` and the host libraries
``ldd`` lists for them), so that Ansible modules run in the guest. The
default variant is unchanged by it (same cache key, size and boot time).

Builds are cached under ``$VMCAT_CACHE`` (default ``~/.cache/vmcat-libvirt``)
in ``guest/<key>``, where the key hashes everything the build depends on.
A warm call costs milliseconds; ``python guest.py`` builds and prints the
result as JSON.

Public API: :func:`build_guest`, :func:`domain_xml`, :func:`cache_root` and
the constants below (``READY_MARKER``, ``AGENT_CHANNEL``, ...).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import gzip
import hashlib
import json
import lzma
import math
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

from lxml import etree

# Bump when the build changes in a way the hashed inputs do not show.
FIXTURE_VERSION = 1

KERNEL_META_PACKAGE = "linux-image-cloud-amd64"
BUSYBOX_PACKAGE = "busybox-static"
AGENT_PACKAGE = "qemu-guest-agent"
# The Python variant: the interpreter that python3-minimal depends on.
PYTHON_META_PACKAGE = "python3-minimal"

DEFAULT_CMDLINE = "console=ttyS0 quiet"
READY_MARKER = "VMCAT-GUEST-READY"
AGENT_CHANNEL = "org.qemu.guest_agent.0"
CONSOLE_INPUT_FILE = "/tmp/console-input.txt"
CIDATA_MOUNTPOINT = "/run/cidata"

# Kernel modules loaded by /init (their dependencies come first, found with
# ``modinfo -F depends``). The required ones carry the guest agent; the
# others are loaded when the kernel package has them.
REQUIRED_MODULES = ("virtio_pci", "virtio_console")
OPTIONAL_MODULES = (
    "virtio_blk",
    "virtio_net",
    "virtio_scsi",
    "virtio_balloon",
    "virtio_rng",
    "ata_piix",  # IDE CD-ROM on the i440fx ("pc") machine, e.g. a cidata ISO
    "sd_mod",
    "sr_mod",
    "isofs",
    "button",  # ACPI power button ...
    "evdev",  # ... seen by busybox acpid through /dev/input/event*
    "virtio_input",  # virtio tablet and mouse, read through /dev/input/event* (the playbook_ocv_input target)
)
# Parameters given to insmod (busybox insmod does not read /proc/cmdline).
# A synchronous SCSI scan means disks exist once their driver is loaded.
MODULE_PARAMS = {"scsi_mod": "scan=sync"}

INIT_SCRIPT = r"""#!/bin/sh
# /init of the vmcat test guest (PID 1), written by tests/integration/harness/guest.py.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
exec </dev/console >/dev/console 2>&1

say() { echo "vmcat-init: $*"; }

# cmdline_value NAME: print VALUE of NAME=VALUE on the kernel command line.
cmdline_value() {
    for word in $(cat /proc/cmdline); do
        case "$word" in
            "$1="*) echo "${word#*=}"; return 0 ;;
        esac
    done
    return 1
}

# Modules in dependency order, one "file [params]" a line.
load_modules() {
    while read -r module params; do
        [ -n "$module" ] || continue
        insmod "/lib/modules/$module" $params || say "insmod $module failed"
    done </lib/modules/load-order
}

start_network() {
    hostname vmcat-guest
    ip link set lo up
    ip addr add 127.0.0.1/8 dev lo 2>/dev/null
    if [ -e /sys/class/net/eth0 ]; then
        ip link set eth0 up
        udhcpc -f -S -i eth0 -s /etc/udhcpc.sh >/dev/null 2>&1 &
    fi
}

# The ACPI power button (virsh shutdown --mode acpi) arrives as KEY_POWER on
# an input device; busybox acpid runs /etc/acpi/PWRF/00000080 for it.
start_acpid() {
    if [ -e /dev/input/event0 ]; then
        acpid -c /etc/acpi -l /run/acpid.log -p /run/acpid.pid
    else
        say "no input event devices, ACPI power button ignored"
    fi
}

# iso_label DEV: print the ISO9660 volume label of DEV, fail if none.
iso_label() {
    [ "$(dd if="$1" bs=1 skip=32769 count=5 2>/dev/null)" = CD001 ] || return 1
    dd if="$1" bs=1 skip=32808 count=32 2>/dev/null | tr -d ' '
}

# Mount a NoCloud "cidata" ISO read-only at CIDATA_MOUNTPOINT.
mount_cidata() {
    for dev in /dev/sr[0-9]* /dev/vd[a-z] /dev/sd[a-z]; do
        [ -b "$dev" ] || continue
        case "$(iso_label "$dev")" in
            cidata|CIDATA)
                mkdir -p @CIDATA@
                mount -t iso9660 -o ro "$dev" @CIDATA@ && say "mounted $dev at @CIDATA@"
                return ;;
        esac
    done
    return 1
}

# Disks can come late; keep looking for a while without holding up boot.
start_cidata() {
    mount_cidata && return
    (
        tries=0
        while [ $tries -lt 20 ] && ! mount_cidata; do
            sleep 0.5
            tries=$((tries + 1))
        done
    ) &
}

# vmcat.console_reader=1: lines typed on the VGA console (tty1) are appended
# to CONSOLE_INPUT_FILE.
start_console_reader() {
    [ "$(cmdline_value vmcat.console_reader)" = 1 ] || return
    (
        while :; do
            while IFS= read -r line; do
                echo "$line" >>@CONSOLE_INPUT@
            done </dev/tty1
            sleep 1
        done
    ) &
    say "console reader on tty1 -> @CONSOLE_INPUT@"
}

# There is no udev: make /dev/virtio-ports/<name> links by hand.
link_virtio_ports() {
    mkdir -p /dev/virtio-ports
    for name_file in /sys/class/virtio-ports/*/name; do
        [ -r "$name_file" ] || continue
        name=$(cat "$name_file")
        [ -n "$name" ] || continue
        port=${name_file%/name}
        ln -sf "../${port##*/}" "/dev/virtio-ports/$name"
    done
}

wait_for_agent_port() {
    tries=0
    while [ ! -e "$AGENT_PORT" ] && [ $tries -lt 50 ]; do
        link_virtio_ports
        [ -e "$AGENT_PORT" ] || sleep 0.1
        tries=$((tries + 1))
    done
}

# qemu-ga in a respawn loop; vmcat.ga_block=a,b becomes --block-rpcs=a,b.
run_agent() {
    set -- qemu-ga -m virtio-serial -p "$AGENT_PORT"
    block=$(cmdline_value vmcat.ga_block) && set -- "$@" "--block-rpcs=$block"
    while :; do
        link_virtio_ports
        if [ -e "$AGENT_PORT" ]; then
            "$@"
            say "qemu-ga exited with status $?, restarting"
        fi
        sleep 1
    done
}

AGENT_PORT=/dev/virtio-ports/@AGENT_CHANNEL@
load_modules
start_network
start_acpid
start_cidata
start_console_reader
wait_for_agent_port
echo "@READY_MARKER@"
run_agent
"""

# qemu-ga's guest-shutdown runs "/sbin/shutdown -P|-H|-r +0 <message>" and
# waits for it; answer at once and power off a moment later.
SHUTDOWN_SCRIPT = r"""#!/bin/sh
# /sbin/shutdown of the vmcat test guest: -r reboots, -H halts, anything
# else (-P, -h) powers off. Times and messages are ignored.
action=poweroff
for arg in "$@"; do
    case "$arg" in
        -r) action=reboot ;;
        -H) action=halt ;;
    esac
done
sync
(sleep 0.2; "$action" -f) </dev/null >/dev/null 2>&1 &
exit 0
"""

POWER_BUTTON_SCRIPT = r"""#!/bin/sh
# Run by busybox acpid on the ACPI power button.
sync
poweroff -f
"""

UDHCPC_SCRIPT = r"""#!/bin/sh
# Minimal busybox udhcpc hook: configure the leased address and route.
case "$1" in
    bound|renew)
        ip addr flush dev "$interface"
        ip addr add "$ip/${mask:-24}" dev "$interface"
        [ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"
        : >/etc/resolv.conf
        for server in $dns; do echo "nameserver $server" >>/etc/resolv.conf; done
        ;;
    deconfig)
        ip addr flush dev "$interface"
        ;;
esac
exit 0
"""

SYSLINUX_CFG = """SERIAL 0 115200
DEFAULT vmcat
PROMPT 0
TIMEOUT 0
LABEL vmcat
  KERNEL /vmlinuz
  INITRD /initrd.gz
  APPEND {cmdline}
"""

ETC_FILES = {
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\n",
    "etc/group": "root:x:0:\n",
    "etc/hostname": "vmcat-guest\n",
}

# Python variant. Bump when its build changes in a way the inputs do not show.
PYTHON_VARIANT_VERSION = 1
# Package roles of the interpreter, unpacked together (``{v}`` is e.g. 3.11).
PYTHON_ROLES = {
    "python": "python{v}-minimal",
    "libpython_minimal": "libpython{v}-minimal",
    "libpython_stdlib": "libpython{v}-stdlib",
}
# Parts of the standard library left out: tests, docs, terminals, audio,
# databases and NIS (which would pull Kerberos libraries in).
PYTHON_SKIP_DIRS = ("test", "pydoc_data", "idlelib", "tkinter", "turtledemo", "lib2to3", "ensurepip")
PYTHON_SKIP_EXTENSIONS = re.compile(
    r"^(_test\w*|_ctypes_test|_xx\w*|xxlimited\w*|_curses\w*|readline|_dbm|nis|ossaudiodev"
    r"|audioop|_sqlite3|_tkinter)\."
)
PYTHON_ETC_FILES = {
    "etc/os-release": (
        'NAME="vmcat test guest"\nID=vmcat\nVERSION_ID=1\n'
        'PRETTY_NAME="vmcat test guest (busybox, Debian python3)"\n'
    ),
}

APT_LISTS = Path("/var/lib/apt/lists")
TCG_NOTE = (
    "Always TCG: KVM may be detected elsewhere, but nested KVM guests hang "
    "on the test machines, so the fixture never uses it."
)


class GuestBuildError(RuntimeError):
    """The test guest could not be built."""


class _AptDownloadError(GuestBuildError):
    """``apt-get download`` failed (maybe stale package lists)."""


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------


def _run(argv, *, cwd=None, env=None) -> str:
    """Run a command, return its stdout; raise GuestBuildError on failure."""
    try:
        result = subprocess.run(
            [str(arg) for arg in argv],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError as exc:
        raise GuestBuildError(f"{argv[0]} is not installed") from exc
    if result.returncode != 0:
        raise GuestBuildError(
            f"{' '.join(map(str, argv))} failed ({result.returncode}): "
            f"{(result.stderr or result.stdout).strip()[-2000:]}"
        )
    return result.stdout


def _sha256(data: str) -> str:
    """Hex SHA-256 of a text."""
    return hashlib.sha256(data.encode()).hexdigest()


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    with tempfile.NamedTemporaryFile(
        "w", dir=path.parent, prefix=f".{path.name}.", delete=False
    ) as tmp:
        tmp.write(text)
    os.replace(tmp.name, path)


def cache_root() -> Path:
    """The fixture cache: ``$VMCAT_CACHE`` or ``~/.cache/vmcat-libvirt``."""
    configured = os.environ.get("VMCAT_CACHE")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "vmcat-libvirt"


@contextlib.contextmanager
def _file_lock(path: Path):
    """Hold an exclusive ``flock`` on ``path`` for the ``with`` block."""
    with open(path, "a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --------------------------------------------------------------------------
# Package versions (apt)
# --------------------------------------------------------------------------


def _apt_lists_fingerprint() -> str:
    """Hash of the apt index files' names, sizes and times.

    apt-cache takes about a second per call here (no binary cache), so
    resolved versions are remembered until the indexes change.
    """
    entries = []
    if APT_LISTS.is_dir():
        for path in sorted(APT_LISTS.iterdir()):
            if path.is_file() and path.name != "lock":
                info = path.stat()
                entries.append([path.name, info.st_size, info.st_mtime_ns])
    return _sha256(json.dumps(entries))


def _parse_stanzas(text: str) -> dict[str, dict[str, str]]:
    """Parse ``apt-cache show`` output into {package: {field: value}}."""
    stanzas = {}
    for block in text.split("\n\n"):
        fields = {}
        for line in block.splitlines():
            if line and not line[0].isspace() and ":" in line:
                name, dummy, value = line.partition(":")
                fields[name] = value.strip()
        if "Package" in fields:
            stanzas[fields["Package"]] = fields
    return stanzas


def _apt_show(*packages: str) -> dict[str, dict[str, str]]:
    """Candidate records of ``packages``; raise if any is unknown."""
    stanzas = _parse_stanzas(_run(["apt-cache", "show", "--no-all-versions", *packages]))
    missing = [name for name in packages if name not in stanzas]
    if missing:
        raise GuestBuildError(f"apt knows no package {', '.join(missing)}")
    return stanzas


def _kernel_image_dependency(depends: str) -> tuple[str, str | None]:
    """Find ``linux-image-*`` (and its ``=`` version) in a Depends field."""
    for alternative in re.split(r"[,|]", depends):
        match = re.match(r"\s*(linux-image-\S+)\s*(?:\(\s*=\s*([^)\s]+)\s*\))?", alternative)
        if match:
            return match.group(1), match.group(2)
    raise GuestBuildError(f"{KERNEL_META_PACKAGE} depends on no linux-image: {depends!r}")


def _python_packages() -> dict[str, dict[str, str]]:
    """The interpreter packages that ``python3-minimal`` points at."""
    record = _apt_show(PYTHON_META_PACKAGE)[PYTHON_META_PACKAGE]
    depends = f"{record.get('Pre-Depends', '')}, {record.get('Depends', '')}"
    match = re.search(r"\bpython(3\.\d+)-minimal\b", depends)
    if not match:
        raise GuestBuildError(f"{PYTHON_META_PACKAGE} depends on no python3.X-minimal: {depends!r}")
    names = {role: pattern.format(v=match.group(1)) for role, pattern in PYTHON_ROLES.items()}
    stanzas = _apt_show(*names.values())
    return {role: {"package": name, "version": stanzas[name]["Version"]} for role, name in names.items()}


def _query_packages(python: bool = False) -> dict[str, dict[str, str]]:
    """Ask apt for the candidate kernel image, busybox and agent packages."""
    stanzas = _apt_show(KERNEL_META_PACKAGE, BUSYBOX_PACKAGE, AGENT_PACKAGE)
    kernel, kernel_version = _kernel_image_dependency(
        stanzas[KERNEL_META_PACKAGE].get("Depends", "")
    )
    if kernel_version is None:
        kernel_version = _apt_show(kernel)[kernel]["Version"]
    packages = {
        "kernel": {"package": kernel, "version": kernel_version},
        "busybox": {"package": BUSYBOX_PACKAGE, "version": stanzas[BUSYBOX_PACKAGE]["Version"]},
        "agent": {"package": AGENT_PACKAGE, "version": stanzas[AGENT_PACKAGE]["Version"]},
    }
    if python:
        packages.update(_python_packages())
    return packages


def _apt_update() -> None:
    """Refresh apt's package lists (needs root)."""
    if os.geteuid() != 0:
        raise GuestBuildError("apt's package lists are missing or stale; run 'apt-get update'")
    _run(["apt-get", "update", "-q"])


def _resolve_packages(root: Path, *, refresh: bool = False, python: bool = False) -> dict:
    """Package names and versions to build from, remembered per apt index."""
    memo = root / ("apt-packages-python.json" if python else "apt-packages.json")
    fingerprint = _apt_lists_fingerprint()
    if not refresh and memo.exists():
        with contextlib.suppress(ValueError, KeyError):
            saved = json.loads(memo.read_text())
            if saved["fingerprint"] == fingerprint:
                return saved["packages"]
    try:
        packages = _query_packages(python)
    except GuestBuildError:
        _apt_update()
        fingerprint = _apt_lists_fingerprint()
        packages = _query_packages(python)
    _write_atomic(memo, json.dumps({"fingerprint": fingerprint, "packages": packages}))
    return packages


def _download(packages: list[dict], dest: Path) -> dict[str, Path]:
    """``apt-get download`` exact versions into ``dest``; {package: .deb}."""
    pins = [f"{p['package']}={p['version']}" for p in packages]
    try:
        _run(["apt-get", "download", "-q", *pins], cwd=dest)
    except GuestBuildError as exc:
        raise _AptDownloadError(str(exc)) from exc
    debs = {}
    for pkg in packages:
        found = sorted(dest.glob(f"{pkg['package']}_*.deb"))
        if not found:
            raise _AptDownloadError(f"apt-get download left no .deb for {pkg['package']}")
        debs[pkg["package"]] = found[0]
    return debs


def _unpack(deb: Path, dest: Path) -> Path:
    """``dpkg -x`` a package into ``dest`` and return ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    _run(["dpkg", "-x", deb, dest])
    return dest


# --------------------------------------------------------------------------
# Kernel modules
# --------------------------------------------------------------------------


def _module_name(path: Path) -> str:
    """Module name of a file such as ``virtio-rng.ko.xz`` -> ``virtio_rng``."""
    return path.name.split(".ko")[0].replace("-", "_")


def _module_index(kernel_tree: Path) -> dict[str, Path]:
    """{module name: file} of an unpacked kernel package (one release)."""
    releases = sorted(
        d
        for base in ("lib/modules", "usr/lib/modules")
        for d in (kernel_tree / base).glob("*")
        if d.is_dir()
    )
    if len(releases) != 1:
        raise GuestBuildError(f"expected one kernel release in the package, found {releases}")
    return {
        _module_name(path): path
        for path in releases[0].rglob("*.ko*")
        if re.search(r"\.ko(\.(xz|gz|zst))?$", path.name)
    }


def _module_depends(path: Path) -> list[str]:
    """Modules that ``path`` needs loaded first (``modinfo -F depends``)."""
    text = _run(["modinfo", "-F", "depends", path]).strip()
    return [name.replace("-", "_") for name in text.split(",") if name]


def _module_load_order(index: dict[str, Path]) -> list[str]:
    """Wanted modules that exist, each after its dependencies."""
    missing = [name for name in REQUIRED_MODULES if name not in index]
    if missing:
        raise GuestBuildError(f"kernel package lacks modules {missing}")
    order: list[str] = []

    def visit(name: str, chain: tuple[str, ...]) -> None:
        if name in order:
            return
        if name in chain:
            raise GuestBuildError(f"module dependency loop: {' -> '.join(chain + (name,))}")
        if name not in index:
            raise GuestBuildError(f"module {chain[-1]} needs {name}, not in the package")
        for dependency in _module_depends(index[name]):
            visit(dependency, chain + (name,))
        order.append(name)

    for name in REQUIRED_MODULES + OPTIONAL_MODULES:
        if name in index:
            visit(name, ())
    return order


def _read_module(path: Path) -> bytes:
    """Module contents, decompressed (busybox insmod wants plain ``.ko``)."""
    if path.name.endswith(".ko.xz"):
        return lzma.decompress(path.read_bytes())
    if path.name.endswith(".ko.gz"):
        return gzip.decompress(path.read_bytes())
    if path.name.endswith(".ko.zst"):
        return subprocess.run(["zstd", "-dc", str(path)], capture_output=True, check=True).stdout
    return path.read_bytes()


def _install_modules(index: dict[str, Path], order: list[str], tree: Path) -> None:
    """Copy modules to ``/lib/modules`` with a ``load-order`` file."""
    target = tree / "lib" / "modules"
    target.mkdir(parents=True, exist_ok=True)
    lines = []
    for name in order:
        (target / f"{name}.ko").write_bytes(_read_module(index[name]))
        lines.append(f"{name}.ko {MODULE_PARAMS.get(name, '')}".rstrip())
    (target / "load-order").write_text("\n".join(lines) + "\n")


# --------------------------------------------------------------------------
# Initramfs
# --------------------------------------------------------------------------


def _install_busybox(busybox_tree: Path, tree: Path) -> None:
    """Copy busybox to ``/bin`` and link every applet to it."""
    binary = tree / "bin" / "busybox"
    binary.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(busybox_tree / "bin" / "busybox", binary)
    binary.chmod(0o755)
    for applet in _run([binary, "--list-full"]).split():
        link = tree / applet
        if applet in ("linuxrc", "bin/busybox") or os.path.lexists(link):
            continue
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to("/bin/busybox")


def _shared_libraries(binary: Path) -> list[str]:
    """Absolute paths of the libraries and loader ``ldd`` lists for ``binary``."""
    paths = []
    for line in _run(["ldd", binary]).splitlines():
        if "not found" in line:
            raise GuestBuildError(f"{binary.name}: missing library: {line.strip()}")
        match = re.search(r"(?:=>\s*)?(/\S+)\s+\(0x", line)
        if match:
            paths.append(match.group(1))
    return paths


def _install_libraries(binary: Path, tree: Path) -> None:
    """Copy the shared libraries ``binary`` needs (host copies, per ``ldd``)."""
    for library in _shared_libraries(binary):
        dest = tree / library.lstrip("/")
        if dest.exists():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(os.path.realpath(library), dest)
        dest.chmod(0o755)


def _install_agent(agent_tree: Path, tree: Path) -> None:
    """Copy ``qemu-ga`` and the shared libraries it needs."""
    source = agent_tree / "usr" / "sbin" / "qemu-ga"
    target = tree / "usr" / "sbin" / "qemu-ga"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    target.chmod(0o755)
    _install_libraries(source, tree)


def _python_binary(python_tree: Path) -> Path:
    """``usr/bin/python3.X`` of the unpacked interpreter packages."""
    found = sorted((python_tree / "usr" / "bin").glob("python3.*[0-9]"))
    if len(found) != 1:
        raise GuestBuildError(f"expected one usr/bin/python3.X in the python packages, found {found}")
    return found[0]


def _install_python(python_tree: Path, tree: Path) -> str:
    """Copy the interpreter, a trimmed stdlib and their libraries; return its path.

    The standard library is compiled to unchecked-hash ``.pyc`` files by the
    guest's own interpreter (run on the host: same Debian, same libraries),
    so imports in the guest do not compile under TCG on every boot.
    """
    binary = _python_binary(python_tree)
    name = binary.name  # python3.X
    target = tree / "usr" / "bin" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(binary, target)
    target.chmod(0o755)
    (tree / "usr" / "bin" / "python3").symlink_to(name)
    _install_libraries(binary, tree)

    stdlib = tree / "usr" / "lib" / name
    shutil.copytree(
        python_tree / "usr" / "lib" / name,
        stdlib,
        symlinks=True,
        ignore=shutil.ignore_patterns(*PYTHON_SKIP_DIRS, "__pycache__"),
    )
    for extension in sorted((stdlib / "lib-dynload").iterdir()):
        if PYTHON_SKIP_EXTENSIONS.match(extension.name):
            extension.unlink()
        else:
            _install_libraries(extension, tree)
    etc = python_tree / "etc" / name
    if etc.is_dir():
        shutil.copytree(etc, tree / "etc" / name, symlinks=True)
    for relative, text in PYTHON_ETC_FILES.items():
        path = tree / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(0o644)
    _run(
        [
            target, "-I", "-m", "compileall", "-q", "-j", "0",
            "--invalidation-mode", "unchecked-hash",
            "-d", f"/usr/lib/{name}", stdlib,
        ],
        env={"PYTHONHOME": str(tree / "usr"), "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
    )
    return f"/usr/bin/{name}"


def _render_init() -> str:
    """The /init script with the module's constants filled in."""
    return (
        INIT_SCRIPT.replace("@CIDATA@", CIDATA_MOUNTPOINT)
        .replace("@CONSOLE_INPUT@", CONSOLE_INPUT_FILE)
        .replace("@AGENT_CHANNEL@", AGENT_CHANNEL)
        .replace("@READY_MARKER@", READY_MARKER)
    )


def _install_scripts(tree: Path) -> None:
    """/init, /sbin/shutdown, the acpid and udhcpc hooks, /etc basics."""
    executables = {
        "init": _render_init(),
        "sbin/shutdown": SHUTDOWN_SCRIPT,
        "etc/acpi/PWRF/00000080": POWER_BUTTON_SCRIPT,
        "etc/udhcpc.sh": UDHCPC_SCRIPT,
    }
    for relative, text in {**executables, **ETC_FILES}.items():
        path = tree / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(0o755 if relative in executables else 0o644)
    for directory in ("proc", "sys", "dev", "run", "tmp", "root", "mnt", "var/log"):
        (tree / directory).mkdir(parents=True, exist_ok=True)
    (tree / "var" / "run").symlink_to("../run")


def _cpio_entry(name: str, mode: int, data: bytes = b"", *, ino: int, rdev=(0, 0)) -> bytes:
    """One ``newc`` cpio record owned by root, with time 0."""
    nlink = 2 if stat.S_ISDIR(mode) else 1
    fields = (ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1], len(name) + 1, 0)
    header = b"070701" + b"".join(b"%08X" % value for value in fields)
    record = header + name.encode() + b"\0"
    record += b"\0" * (-len(record) % 4)
    return record + data + b"\0" * (-len(data) % 4)


def _cpio_archive(tree: Path, devices: dict[str, tuple[int, int]]) -> bytes:
    """A ``newc`` archive of ``tree`` plus character ``devices``.

    Written here rather than with cpio(1) so that owners and times do not
    depend on who builds it, and device nodes need no mknod (no root).
    """
    records = []
    paths = sorted(tree.rglob("*"))
    for ino, path in enumerate(paths, start=1):
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            data = os.readlink(path).encode()
        elif stat.S_ISREG(info.st_mode):
            data = path.read_bytes()
        else:
            data = b""
        name = str(path.relative_to(tree))
        records.append(_cpio_entry(name, info.st_mode, data, ino=ino))
    for ino, (name, rdev) in enumerate(sorted(devices.items()), start=len(paths) + 1):
        records.append(_cpio_entry(name, stat.S_IFCHR | 0o600, ino=ino, rdev=rdev))
    records.append(_cpio_entry("TRAILER!!!", 0, ino=0))
    return b"".join(records)


def _build_initramfs(unpacked: dict[str, Path], out: Path) -> tuple[list[str], str | None]:
    """Write the gzipped initramfs to ``out``.

    Returns the module load order and the guest path of Python (None
    without the Python packages).
    """
    tree = out.parent / "initramfs-tree"
    _install_busybox(unpacked["busybox"], tree)
    _install_agent(unpacked["agent"], tree)
    python = _install_python(unpacked["python"], tree) if "python" in unpacked else None
    index = _module_index(unpacked["kernel"])
    order = _module_load_order(index)
    _install_modules(index, order, tree)
    _install_scripts(tree)
    archive = _cpio_archive(tree, {"dev/console": (5, 1), "dev/null": (1, 3)})
    out.write_bytes(gzip.compress(archive, compresslevel=6, mtime=0))
    shutil.rmtree(tree)
    return order, python


# --------------------------------------------------------------------------
# Boot disk
# --------------------------------------------------------------------------


def _build_disk(kernel: Path, initrd: Path, out: Path) -> None:
    """A qcow2 disk: unpartitioned FAT with syslinux, kernel and initramfs.

    SeaBIOS boots the FAT volume boot record straight from sector 0, so no
    MBR or partition table is needed.
    """
    raw = out.with_suffix(".raw")
    payload = kernel.stat().st_size + initrd.stat().st_size
    size_kib = (math.ceil(payload / 2**20) + 4) * 1024
    cfg = out.parent / "syslinux.cfg"
    cfg.write_text(SYSLINUX_CFG.format(cmdline=DEFAULT_CMDLINE))
    env = {**os.environ, "MTOOLS_SKIP_CHECK": "1"}
    _run(["mkfs.vfat", "-C", "-n", "VMCATBOOT", raw, size_kib])
    _run(["mcopy", "-i", raw, kernel, "::vmlinuz"], env=env)
    _run(["mcopy", "-i", raw, initrd, "::initrd.gz"], env=env)
    _run(["mcopy", "-i", raw, cfg, "::syslinux.cfg"], env=env)
    _run(["syslinux", "--install", raw], env=env)
    _run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, out])
    raw.unlink()
    cfg.unlink()


# --------------------------------------------------------------------------
# Cache and build
# --------------------------------------------------------------------------


def _cache_key(packages: dict) -> str:
    """Hash of every input that shapes the guest.

    The Python inputs count only for the Python variant, so the default
    variant keeps its key.
    """
    inputs = {
        "fixture_version": FIXTURE_VERSION,
        "packages": packages,
        "init": _render_init(),
        "scripts": [SHUTDOWN_SCRIPT, POWER_BUTTON_SCRIPT, UDHCPC_SCRIPT, SYSLINUX_CFG, ETC_FILES],
        "modules": [REQUIRED_MODULES, OPTIONAL_MODULES, MODULE_PARAMS],
        "cmdline": DEFAULT_CMDLINE,
    }
    if "python" in packages:
        inputs["python"] = [
            PYTHON_VARIANT_VERSION,
            PYTHON_SKIP_DIRS,
            PYTHON_SKIP_EXTENSIONS.pattern,
            PYTHON_ETC_FILES,
        ]
    return _sha256(json.dumps(inputs, sort_keys=True))[:16]


def _guest_info(directory: Path) -> dict:
    """The public description of a finished build in ``directory``."""
    manifest = json.loads((directory / "guest.json").read_text())
    return {
        "key": manifest["key"],
        "dir": str(directory),
        "kernel": str(directory / "vmlinuz"),
        "initrd": str(directory / "initrd.gz"),
        "disk": str(directory / "disk.qcow2"),
        "kernel_cmdline": manifest["kernel_cmdline"],
        "packages": manifest["packages"],
        "modules": manifest["modules"],
        "python": manifest.get("python"),
    }


def _build_into(directory: Path, key: str, packages: dict) -> None:
    """Download, unpack and assemble the guest files in ``directory``."""
    work = directory / "work"
    work.mkdir()
    debs = _download(list(packages.values()), work)
    # The interpreter's packages go into one tree, the others one each.
    unpacked = {
        role: _unpack(debs[pkg["package"]], work / ("python" if role in PYTHON_ROLES else role))
        for role, pkg in packages.items()
    }
    kernels = sorted((unpacked["kernel"] / "boot").glob("vmlinuz-*"))
    if not kernels:
        raise GuestBuildError(f"no /boot/vmlinuz-* in {packages['kernel']['package']}")
    kernel = directory / "vmlinuz"
    shutil.copyfile(kernels[0], kernel)
    initrd = directory / "initrd.gz"
    modules, python = _build_initramfs(unpacked, initrd)
    _build_disk(kernel, initrd, directory / "disk.qcow2")
    shutil.rmtree(work)
    manifest = {
        "key": key,
        "fixture_version": FIXTURE_VERSION,
        "packages": packages,
        "modules": modules,
        "kernel_cmdline": DEFAULT_CMDLINE,
    }
    if python is not None:
        manifest["python"] = python
    (directory / "guest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def _ensure_built(guests: Path, packages: dict) -> dict:
    """Return the cached build for ``packages``, building it if needed."""
    key = _cache_key(packages)
    final = guests / key
    if (final / "guest.json").exists():
        return _guest_info(final)
    with _file_lock(guests / f".{key}.lock"):
        if (final / "guest.json").exists():  # built by someone else meanwhile
            return _guest_info(final)
        staging = Path(tempfile.mkdtemp(prefix=f".build-{key}-", dir=guests))
        try:
            _build_into(staging, key, packages)
            staging.chmod(0o755)
            os.rename(staging, final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return _guest_info(final)


def build_guest(cache_dir: str | os.PathLike | None = None, *, python: bool = False) -> dict:
    """Build (or reuse) the test guest and describe it.

    Returns a dict with ``key``, ``dir``, ``kernel``, ``initrd``, ``disk``
    (qcow2; boot it through a copy or an overlay, never directly),
    ``kernel_cmdline`` (the default command line), ``packages`` (names and
    versions used), ``modules`` (the load order inside the guest) and
    ``python`` (the interpreter's path in the guest, None without it).

    ``python=True`` gives the variant with Debian's python3 in the
    initramfs (a separate cache entry; give it ``memory_mib=512``).
    """
    root = Path(cache_dir) if cache_dir is not None else cache_root()
    guests = root / "guest"
    guests.mkdir(parents=True, exist_ok=True)
    packages = _resolve_packages(root, python=python)
    try:
        return _ensure_built(guests, packages)
    except _AptDownloadError:
        # The lists may name versions the mirror no longer has.
        _apt_update()
        return _ensure_built(guests, _resolve_packages(root, refresh=True, python=python))


# --------------------------------------------------------------------------
# Domain XML
# --------------------------------------------------------------------------


def _sub(parent, tag: str, text=None, **attrs):
    """Append a child element with string attributes (and text)."""
    element = etree.SubElement(parent, tag, {k: str(v) for k, v in attrs.items()})
    if text is not None:
        element.text = str(text)
    return element


def _add_os(domain, guest: dict, kernel_boot: bool, extra_cmdline: str) -> None:
    """``<os>``: direct kernel boot or BIOS boot from the first disk."""
    os_element = _sub(domain, "os")
    # i440fx: the cloud kernel has IDE (ata_piix) but no AHCI for q35's SATA.
    _sub(os_element, "type", "hvm", arch="x86_64", machine="pc")
    if kernel_boot:
        _sub(os_element, "kernel", guest["kernel"])
        _sub(os_element, "initrd", guest["initrd"])
        _sub(os_element, "cmdline", f"{guest['kernel_cmdline']} {extra_cmdline}".strip())
    else:
        _sub(os_element, "boot", dev="hd")


def _add_disk(devices, path, disk_format: str) -> None:
    """A virtio disk backed by the file ``path``."""
    disk = _sub(devices, "disk", type="file", device="disk")
    _sub(disk, "driver", name="qemu", type=disk_format)
    _sub(disk, "source", file=os.fspath(path))
    _sub(disk, "target", dev="vda", bus="virtio")


def _add_console_devices(devices, serial_log) -> None:
    """Serial console (file or pty), agent channel, VGA behind local VNC."""
    if serial_log is not None:
        serial = _sub(devices, "serial", type="file")
        _sub(serial, "source", path=os.fspath(serial_log))
    else:
        serial = _sub(devices, "serial", type="pty")
    _sub(serial, "target", port=0)
    channel = _sub(devices, "channel", type="unix")
    _sub(channel, "target", type="virtio", name=AGENT_CHANNEL)
    graphics = _sub(devices, "graphics", type="vnc", autoport="yes", listen="127.0.0.1")
    _sub(graphics, "listen", type="address", address="127.0.0.1")
    _sub(_sub(devices, "video"), "model", type="vga")


def domain_xml(
    name: str,
    guest: dict,
    *,
    disk: str | os.PathLike | None = None,
    kernel_boot: bool = True,
    memory_mib: int = 256,
    extra_cmdline: str = "",
    serial_log: str | os.PathLike | None = None,
    network: str | None = None,
    disk_format: str = "qcow2",
    run_as_root: bool = True,
) -> str:
    """libvirt domain XML for the test guest.

    ``kernel_boot`` boots ``guest['kernel']``/``guest['initrd']`` directly
    with ``guest['kernel_cmdline']`` plus ``extra_cmdline`` (e.g.
    ``vmcat.ga_block=guest-exec vmcat.console_reader=1``); ``disk`` is then an
    optional extra virtio disk. Without ``kernel_boot`` the domain boots from
    ``disk`` (required; a copy or overlay of ``guest['disk']``), whose own
    command line is fixed to the default one.

    ``serial_log`` writes the serial console to that file, else it is a pty.
    ``network`` adds a virtio NIC on that libvirt network (use an isolated
    one). ``run_as_root`` runs QEMU as root (a static DAC label without
    relabelling): the cache usually lives under a home directory that the
    ``libvirt-qemu`` user cannot enter.
    """
    if not kernel_boot and disk is None:
        raise ValueError("disk boot needs disk= (a copy or overlay of guest['disk'])")

    domain = etree.Element("domain", type="qemu")
    domain.append(etree.Comment(f" {TCG_NOTE} "))
    _sub(domain, "name", name)
    _sub(domain, "memory", memory_mib, unit="MiB")
    _sub(domain, "vcpu", 1)
    _add_os(domain, guest, kernel_boot, extra_cmdline)
    _sub(_sub(domain, "features"), "acpi")  # without it: no RSDP, no ACPI power-off
    _sub(domain, "clock", offset="utc")
    _sub(domain, "on_poweroff", "destroy")
    _sub(domain, "on_reboot", "restart")
    _sub(domain, "on_crash", "destroy")

    devices = _sub(domain, "devices")
    if disk is not None:
        _add_disk(devices, disk, disk_format)
    if network is not None:
        interface = _sub(devices, "interface", type="network")
        _sub(interface, "source", network=network)
        _sub(interface, "model", type="virtio")
    _add_console_devices(devices, serial_log)

    if run_as_root:
        seclabel = _sub(domain, "seclabel", type="static", model="dac", relabel="no")
        _sub(seclabel, "label", "+0:+0")
    return etree.tostring(domain, pretty_print=True, encoding="unicode")


def main(argv: list[str] | None = None) -> int:
    """CLI: build the guest and print its description as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cache-dir", help="cache root (default: $VMCAT_CACHE or ~/.cache/vmcat-libvirt)"
    )
    parser.add_argument(
        "--python", action="store_true", help="the variant with python3 in the guest"
    )
    args = parser.parse_args(argv)
    try:
        guest = build_guest(args.cache_dir, python=args.python)
    except GuestBuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(guest, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
