#!/usr/bin/env bash
# Removes the pinpipe service: stops and disables it, removes the unit and the binary.
# Configuration (/etc/pinpipe) and state (/var/lib/pinpipe) stay unless --purge is given,
# which also removes the pinpipe system user.
#
#   sudo deploy/ec2/uninstall.sh [--purge] [--root DIR]
set -euo pipefail

root="" purge=0
die() { echo "uninstall: $*" >&2; exit 1; }
say() { echo "uninstall: $*"; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --purge) purge=1; shift ;;
    --root) root=${2:?}; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1" ;;
  esac
done
[[ $(id -u) -eq 0 ]] || die "run as root"
if [[ -n $root ]]; then
  [[ -d $root ]] || die "no such directory: $root"
  root=$(cd "$root" && pwd)
  [[ $root != / ]] || root=""
fi

if [[ -z $root ]] && command -v systemctl >/dev/null; then
  systemctl disable --now pinpipe.service 2>/dev/null || true
fi
rm -f "$root/etc/systemd/system/multi-user.target.wants/pinpipe.service" \
  "$root/etc/systemd/system/pinpipe.service" \
  "$root/usr/local/bin/pinpipe"
rm -rf "$root/etc/systemd/system/pinpipe.service.d"
[[ -z $root ]] && command -v systemctl >/dev/null && { systemctl daemon-reload; systemctl reset-failed pinpipe.service 2>/dev/null || true; }
say "removed the unit and the binary"

if [[ $purge -eq 1 ]]; then
  rm -rf "$root/etc/pinpipe" "$root/var/lib/pinpipe" "$root/var/lib/private/pinpipe" \
    "$root/usr/lib/sysusers.d/pinpipe.conf"
  if grep -q '^pinpipe:' "$root/etc/passwd" 2>/dev/null; then
    if [[ -z $root ]]; then userdel pinpipe 2>/dev/null || true
    else userdel --root "$root" pinpipe 2>/dev/null || { sed -i '/^pinpipe:/d' "$root/etc/passwd" "$root/etc/shadow" 2>/dev/null || true; }
    fi
  fi
  if grep -q '^pinpipe:' "$root/etc/group" 2>/dev/null; then
    if [[ -z $root ]]; then groupdel pinpipe 2>/dev/null || true
    else groupdel --root "$root" pinpipe 2>/dev/null || { sed -i '/^pinpipe:/d' "$root/etc/group" "$root/etc/gshadow" 2>/dev/null || true; }
    fi
  fi
  say "purged configuration, state and the pinpipe user"
else
  say "kept /etc/pinpipe and /var/lib/pinpipe (use --purge to remove them)"
fi
