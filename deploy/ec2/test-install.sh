#!/usr/bin/env bash
# Tests install.sh / uninstall.sh in a staging root (--root): files, modes, owners, idempotence, upgrade, purge.
# Needs root (it chowns). Prints "N passed, M failed"; exit status 1 on any failure.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
R=$work/root
passed=0 failed=0

check() {  # check DESCRIPTION CMD...
  local what=$1; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $what" >&2; fi
}
mode_owner() { stat -c '%a %U:%G' "$1" 2>/dev/null; }
gid_of() { awk -F: -v n="$1" '$1 == n { print $3 }' "$R/etc/group"; }
numeric() { stat -c '%a %u:%g' "$1" 2>/dev/null; }

printf '#!/bin/sh\necho pinpipe v1\n' >"$work/pinpipe-v1"
printf '#!/bin/sh\necho pinpipe v2\n' >"$work/pinpipe-v2"
printf 'roles: [produce, sink]\n' >"$work/pinpipe.yaml"
printf 'HOST: db.example\nPORT: 5432\nUSER: u\nPASSWORD: p\nDATABASE: d\n' >"$work/db_creds.yaml"

out=$("$here/install.sh" --root "$R" --binary "$work/pinpipe-v1" --config "$work/pinpipe.yaml" \
  --db-creds "$work/db_creds.yaml" 2>&1)
check "first install succeeds: $out" test $? -eq 0
gid=$(gid_of pinpipe)
check "pinpipe group exists" test -n "$gid"
check "pinpipe user exists with nologin shell" grep -q '^pinpipe:x:[0-9]*:[0-9]*:.*:/usr/sbin/nologin$' "$R/etc/passwd"
check "binary 0755 root:root" test "$(numeric "$R/usr/local/bin/pinpipe")" = "755 0:0"
check "binary content" cmp -s "$work/pinpipe-v1" "$R/usr/local/bin/pinpipe"
check "/etc/pinpipe 0750 root:pinpipe" test "$(numeric "$R/etc/pinpipe")" = "750 0:$gid"
check "config 0640 root:pinpipe" test "$(numeric "$R/etc/pinpipe/pinpipe.yaml")" = "640 0:$gid"
check "config content" cmp -s "$work/pinpipe.yaml" "$R/etc/pinpipe/pinpipe.yaml"
check "db_creds 0600 root:root" test "$(numeric "$R/etc/pinpipe/db_creds.yaml")" = "600 0:0"
check "unit installed 0644" test "$(numeric "$R/etc/systemd/system/pinpipe.service")" = "644 0:0"
check "unit is ours" cmp -s "$here/../../systemd/pinpipe.service" "$R/etc/systemd/system/pinpipe.service"
check "unit enabled (wants link)" test "$(readlink "$R/etc/systemd/system/multi-user.target.wants/pinpipe.service")" = /etc/systemd/system/pinpipe.service
check "sysusers.d entry" grep -q '^u pinpipe ' "$R/usr/lib/sysusers.d/pinpipe.conf"

# Re-run: the operator's edited config survives, nothing changes, the user is not duplicated.
echo "# edited by the operator" >>"$R/etc/pinpipe/pinpipe.yaml"
before=$(cat "$R/etc/pinpipe/pinpipe.yaml")
out=$("$here/install.sh" --root "$R" --binary "$work/pinpipe-v1" --config "$work/pinpipe.yaml" 2>&1)
check "re-run succeeds: $out" test $? -eq 0
check "existing config never overwritten" test "$(cat "$R/etc/pinpipe/pinpipe.yaml")" = "$before"
check "re-run reports keeping config" grep -q "keeping existing" <<<"$out"
check "re-run with same binary installs nothing" bash -c "! grep -q 'installed .*bin/pinpipe' <<<'$out'"
check "user not duplicated" test "$(grep -c '^pinpipe:' "$R/etc/passwd")" -eq 1
check "db_creds kept without --db-creds" test "$(numeric "$R/etc/pinpipe/db_creds.yaml")" = "600 0:0"

# Upgrade: a new binary replaces the old one.
out=$("$here/install.sh" --root "$R" --binary "$work/pinpipe-v2" 2>&1)
check "upgrade succeeds: $out" test $? -eq 0
check "upgraded binary" cmp -s "$work/pinpipe-v2" "$R/usr/local/bin/pinpipe"
check "upgrade reports the new binary" grep -q "installed .*bin/pinpipe" <<<"$out"

# Loose modes get repaired on re-run.
chmod 0644 "$R/etc/pinpipe/db_creds.yaml"
"$here/install.sh" --root "$R" --binary "$work/pinpipe-v2" >/dev/null 2>&1
check "db_creds mode repaired" test "$(numeric "$R/etc/pinpipe/db_creds.yaml")" = "600 0:0"

# Missing credentials on a fresh root is an error that says what to do.
out=$("$here/install.sh" --root "$work/other" --binary "$work/pinpipe-v1" --config "$work/pinpipe.yaml" 2>&1)
rc=$?
check "fresh install without --db-creds fails" test $rc -ne 0
check "…and says to pass --db-creds" grep -q -- "--db-creds" <<<"$out"

# Uninstall keeps config and state; --purge removes them and the user.
mkdir -p "$R/var/lib/pinpipe" && echo 42 >"$R/var/lib/pinpipe/checkpoint"
"$here/uninstall.sh" --root "$R" >/dev/null
check "uninstall removes binary" test ! -e "$R/usr/local/bin/pinpipe"
check "uninstall removes unit" test ! -e "$R/etc/systemd/system/pinpipe.service"
check "uninstall removes wants link" test ! -L "$R/etc/systemd/system/multi-user.target.wants/pinpipe.service"
check "uninstall keeps config" test -f "$R/etc/pinpipe/pinpipe.yaml"
check "uninstall keeps state" test -f "$R/var/lib/pinpipe/checkpoint"
"$here/uninstall.sh" --root "$R" --purge >/dev/null
check "purge removes config" test ! -e "$R/etc/pinpipe"
check "purge removes state" test ! -e "$R/var/lib/pinpipe"
check "purge removes user" bash -c "! grep -q '^pinpipe:' '$R/etc/passwd'"
check "purge removes group" bash -c "! grep -q '^pinpipe:' '$R/etc/group'"

echo "test-install: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
