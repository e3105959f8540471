#!/bin/sh
# The guest side of playbooks/ocv_input.yml: records what a Linux guest's input devices report. The playbook
# runs it through the QEMU guest agent (vmcat.libvirt.guest_exec, script on stdin), so nothing is installed in
# the guest; its files live in DIR (under /run: gone at the next boot).
#
#   sh -s start DIR    record every /dev/input/event* into DIR/eventN.bin until stop; print the devices as JSON
#   sh -s stop DIR [N] stop recording (after N events came, or 10 s, and a quiet moment more); print the devices
#                      and the key, relative and absolute events they reported, oldest first, as JSON: {"devices": {"event2": "QEMU Virtio Tablet", ...},
#                      "events": [{"device": "event2", "event": [3, 0, 1000]}, ...]}
#
# Events are [type, code, value] as in linux/input-event-codes.h; EV_SYN, EV_MSC and key repeats are left out.
# Needs only what every Linux system has (busybox too): sh, cat, od, awk, sort, kill, readlink.
set -eu

fail() {
    echo "ocv_recorder: $*" >&2
    exit 1
}

[ $# -ge 2 ] || fail "usage: sh -s start DIR | sh -s stop DIR [N]"
action=$1
dir=$2
wanted=${3:-0}

# Kill the readers of an earlier start that was not stopped.
stop_readers() {
    for pidfile in "$dir"/*.pid; do
        [ -e "$pidfile" ] || continue
        kill "$(cat "$pidfile")" 2>/dev/null || true
        rm -f "$pidfile"
    done
}

devices_json() {
    sep=
    printf '{'
    for namefile in "$dir"/*.name; do
        [ -e "$namefile" ] || continue
        dev=$(basename "$namefile" .name)
        printf '%s"%s": "%s"' "$sep" "$dev" "$(tr -d '"\\' <"$namefile")"
        sep=', '
    done
    printf '}'
}

# Is process $1 reading device $2 yet?
has_open() {
    for fd in /proc/"$1"/fd/*; do
        [ "$(readlink "$fd" 2>/dev/null)" = "$2" ] && return 0
    done
    return 1
}

start() {
    [ -d /sys/class/input ] || fail "no /sys/class/input: the guest has no Linux input devices"
    mkdir -p "$dir"
    stop_readers
    rm -f "$dir"/event*
    for dev in /dev/input/event*; do
        [ -c "$dev" ] || continue
        name=${dev##*/}
        cat "/sys/class/input/$name/device/name" >"$dir/$name.name" 2>/dev/null || echo unknown >"$dir/$name.name"
        cat "$dev" >"$dir/$name.bin" 2>/dev/null </dev/null &
        echo $! >"$dir/$name.pid"
    done
    [ -n "$(ls "$dir"/*.pid 2>/dev/null)" ] || fail "no input devices in /dev/input (is evdev loaded?)"
    tries=0
    for pidfile in "$dir"/*.pid; do
        name=$(basename "$pidfile" .pid)
        until has_open "$(cat "$pidfile")" "/dev/input/$name"; do
            tries=$((tries + 1))
            [ $tries -lt 200 ] || fail "could not start reading /dev/input/$name"
            sleep 0.05
        done
    done
    printf '{"devices": %s}\n' "$(devices_json)"
}

# One input_event record is a struct timeval and type, code, value: 24 bytes (12 16-bit words) on 64-bit
# kernels, 16 bytes on 32-bit ones.
record_words() {
    case $(uname -m) in
        i?86 | arm | armv* | mips | mipsel | ppc) echo 8 ;;
        *) echo 12 ;;
    esac
}

events_lines() {
    words=$(record_words)
    for bin in "$dir"/*.bin; do
        [ -s "$bin" ] || continue
        od -An -v -t u2 -w$((words * 2)) "$bin" | awk -v dev="$(basename "$bin" .bin)" -v w="$words" '
            NF == w {
                half = (w - 4) / 2
                sec = $1 + $2 * 65536
                usec = $(half + 1) + $(half + 2) * 65536
                type = $(w - 3); code = $(w - 2); value = $(w - 1) + $w * 65536
                if (value >= 2147483648) value -= 4294967296
                if (type < 1 || type > 3 || (type == 1 && value == 2)) next
                printf "%d %d %d {\"device\": \"%s\", \"event\": [%d, %d, %d]}\n", sec, usec, NR, dev, type, code, value
            }'
    done | sort -n -k1,1 -k2,2 -k3,3 | cut -d' ' -f4-
}

stop() {
    [ -d "$dir" ] || fail "$dir does not exist: start was not run"
    # Key strokes reach the guest a little after they were sent: wait for them.
    tries=0
    while [ "$(events_lines | wc -l)" -lt "$wanted" ] && [ $tries -lt 50 ]; do
        sleep 0.2
        tries=$((tries + 1))
    done
    sleep 0.3
    stop_readers
    printf '{"devices": %s, "events": [' "$(devices_json)"
    events_lines | sed '$!s/$/,/'
    printf ']}\n'
}

case $action in
    start) start ;;
    stop) stop ;;
    *) fail "unknown action '$action' (start or stop)" ;;
esac
