#!/usr/bin/env bash
# Make sure Debian packages are installed: install the missing ones when root,
# otherwise say exactly what to install and fail.
# Usage: scripts/system-packages.sh build|test
set -euo pipefail

build_pkgs=(libvirt-dev pkg-config gcc libc6-dev)
test_pkgs=("${build_pkgs[@]}"
  libvirt-daemon-system libvirt-daemon-driver-qemu qemu-system-x86 qemu-utils dnsmasq-base
  busybox-static qemu-guest-agent kmod cpio mtools dosfstools syslinux syslinux-common
  e2fsprogs xorriso git
  openssh-server openssh-client  # the remote_ssh target: a private sshd on 127.0.0.1
  libpython3-stdlib)  # host copies of the libraries ldd lists for the guest's python3 (needs/guest-python)

case "${1:-}" in
  build) wanted=("${build_pkgs[@]}") ;;
  test) wanted=("${test_pkgs[@]}") ;;
  *) echo "usage: $0 build|test" >&2; exit 2 ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "system-packages: not a Debian-family system; install the equivalents of: ${wanted[*]} (see bindep.txt)" >&2
  exit 0
fi

missing=()
for p in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "system-packages: missing Debian packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "system-packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q "${missing[@]}" >/dev/null
