#!/bin/sh
# Stand-in for shadow's chpasswd in the busybox test guest (Debian's busybox-static has no chpasswd
# applet, and qemu-ga's guest-set-user-password runs "chpasswd" or "chpasswd -e" from PATH).
# Reads "user:password" lines on stdin; -e means the password is already a crypt(3) hash, else it is
# hashed with busybox mkpasswd (SHA-512). Writes the hash and the day of the change into /etc/shadow.
crypted=0
[ "$1" = "-e" ] && crypted=1
today=$(( $(date +%s) / 86400 ))
status=0
while IFS= read -r line; do
    user=${line%%:*}
    secret=${line#*:}
    if [ "$crypted" = 0 ]; then
        secret=$(printf '%s' "$secret" | mkpasswd -m sha512 -P 0) || exit 1
    fi
    grep -q "^$user:" /etc/passwd || { echo "chpasswd: unknown user $user" >&2; status=1; continue; }
    [ -f /etc/shadow ] || : >/etc/shadow
    grep -v "^$user:" /etc/shadow >/etc/shadow.new
    echo "$user:$secret:$today:0:99999:7:::" >>/etc/shadow.new
    chmod 600 /etc/shadow.new
    mv /etc/shadow.new /etc/shadow
done
exit $status
