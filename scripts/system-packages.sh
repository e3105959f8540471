#!/usr/bin/env bash
# Make sure the Debian packages a make target needs are installed: install the missing ones when root,
# otherwise say exactly what to install and fail.  The package lists are bindep profiles in ../bindep.txt:
#   build  = compile + devel                (make demo, make venv: libvirt-python built in .venv)
#   test   = compile + devel + node + test  (make test)
# A package make test needs goes into bindep.txt as a line like `websockify [platform:dpkg test]`.
# Usage: scripts/system-packages.sh build|test        install what is missing
#        scripts/system-packages.sh --list build|test  print the packages of that target on this platform
set -euo pipefail

BINDEP_FILE=${BINDEP_FILE:-$(dirname "$0")/../bindep.txt}

# The platform atoms bindep would see on this Debian-family machine (its "platform:" selectors).
platform_atoms() {
  local ID='' VERSION_ID='' VERSION_CODENAME=''
  # shellcheck disable=SC1091
  [[ -r /etc/os-release ]] && . /etc/os-release
  local atoms=(dpkg base-py3)
  if [[ -n "$ID" ]]; then
    atoms+=("$ID")
    [[ -n "$VERSION_CODENAME" ]] && atoms+=("$ID-$VERSION_CODENAME")
    local part='' piece
    IFS=. read -r -a pieces <<<"$VERSION_ID"
    for piece in "${pieces[@]}"; do
      part=${part:+$part.}$piece
      atoms+=("$ID-$part")
    done
  fi
  printf 'platform:%s\n' "${atoms[@]}"
}

# One bindep vote: "yes", "no" or "none" for the selectors of one kind (platform or user profile),
# against the active set.  Positive selectors need one match, a negative one that matches excludes.
vote() {
  local -n selectors=$1 active=$2
  [[ ${#selectors[@]} -eq 0 ]] && { echo none; return; }
  local sel name positive=0 matched=0
  for sel in "${selectors[@]}"; do
    name=${sel#!}
    if [[ " ${active[*]} " == *" $name "* ]]; then
      [[ "$sel" == '!'* ]] && { echo no; return; }
      matched=1
    fi
    [[ "$sel" == '!'* ]] || positive=1
  done
  if [[ $matched -eq 1 || $positive -eq 0 ]]; then echo yes; else echo no; fi
}

# The packages of bindep.txt selected for the given user profiles on this platform, in file order.
bindep_packages() {
  local -a platforms profiles=("$@")
  mapfile -t platforms < <(platform_atoms)
  local line name rest inside sel
  while IFS= read -r line || [[ -n "$line" ]]; do
    line=${line%%#*}
    [[ "$line" =~ ^[[:space:]]*$ ]] && continue
    name=${line%%[[:space:]]*}
    rest=${line#"$name"}
    local -a plat_sel=() user_sel=()
    if [[ "$rest" == *'['* ]]; then
      inside=${rest#*[}
      inside=${inside%%]*}
      if [[ "$inside" == *'('* ]]; then
        echo "system-packages: $BINDEP_FILE: grouped selectors like '$inside' are not read by this script;" \
          "write the line with plain selectors" >&2
        exit 2
      fi
      for sel in $inside; do
        if [[ "${sel#!}" == platform:* ]]; then plat_sel+=("$sel"); else user_sel+=("$sel"); fi
      done
    fi
    local p u
    p=$(vote plat_sel platforms)
    u=$(vote user_sel profiles)
    if [[ "$p" != no && "$u" != no ]]; then echo "$name"; fi
  done <"$BINDEP_FILE"
}

list_only=0
if [[ "${1:-}" == --list ]]; then
  list_only=1
  shift
fi
case "${1:-}" in
  build) profiles=(compile devel) ;;
  test) profiles=(compile devel node test) ;;
  *) echo "usage: $0 [--list] build|test" >&2; exit 2 ;;
esac
selected=$(bindep_packages "${profiles[@]}")
mapfile -t wanted <<<"$selected"

if [[ $list_only -eq 1 ]]; then
  printf '%s\n' "${wanted[@]}"
  exit 0
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "system-packages: not a Debian-family system; install the packages of the bindep profiles" \
    "${profiles[*]} (bindep -b ${profiles[*]} lists the missing ones; see bindep.txt)" >&2
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
apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null
apt-get -o DPkg::Lock::Timeout=600 install -y -q "${missing[@]}" >/dev/null
