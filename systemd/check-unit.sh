#!/usr/bin/env bash
# Checks systemd/pinpipe.service: `systemd-analyze verify` must be clean and
# `systemd-analyze security --offline=true` must rate the exposure at most 1.5.
# Usage: systemd/check-unit.sh [UNIT]   (exit 0 = both pass)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
unit=${1:-$here/pinpipe.service}
max_exposure=${PINPIPE_MAX_EXPOSURE:-1.5}
name=$(basename "$unit")

command -v systemd-analyze >/dev/null || { echo "check-unit: systemd-analyze not found (apt-get install systemd)" >&2; exit 2; }
[[ -f $unit ]] || { echo "check-unit: no unit file $unit" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# verify wants ExecStart's binary to exist; check a copy that points at an executable stub instead.
exec_path=$(sed -n 's/^ExecStart=[-@:+!]*\([^ ]*\).*/\1/p' "$unit" | head -n1)
[[ -n $exec_path ]] || { echo "check-unit: $name has no ExecStart=" >&2; exit 1; }
stub=$work/bin/$(basename "$exec_path")
mkdir -p "$work/bin" "$work/unit"
printf '#!/bin/sh\nexit 0\n' >"$stub"
chmod 0755 "$stub"
sed "s|^\(ExecStart=[-@:+!]*\)$exec_path|\1$stub|" "$unit" >"$work/unit/$name"

status=0
echo "== systemd-analyze verify $name (ExecStart binary stubbed)"
verify_out=$(systemd-analyze verify "$work/unit/$name" 2>&1) || { echo "$verify_out"; echo "FAIL: verify exited non-zero"; status=1; }
# Other units on the host may warn; anything about ours is a failure.
if grep -F "$name" <<<"$verify_out" >/dev/null; then
  grep -F "$name" <<<"$verify_out"
  echo "FAIL: verify reported problems in $name"
  status=1
fi
[[ $status -eq 0 ]] && echo "verify: clean"

echo "== systemd-analyze security --offline=true $name"
security_out=$(systemd-analyze security --offline=true --no-pager "$work/unit/$name" 2>&1) || true
score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$security_out" | tail -n1)
if [[ -z $score ]]; then
  echo "$security_out" | tail -n 20
  echo "FAIL: no exposure score in the output"
  status=1
else
  # Show what still costs points, then the verdict.
  grep -E '^✗' <<<"$security_out" || true
  if awk -v s="$score" -v m="$max_exposure" 'BEGIN { exit !(s <= m) }'; then
    echo "security: exposure $score (limit $max_exposure)"
  else
    echo "FAIL: exposure $score is above $max_exposure"
    status=1
  fi
fi

[[ $status -eq 0 ]] && echo "check-unit: PASS" || echo "check-unit: FAIL"
exit $status
