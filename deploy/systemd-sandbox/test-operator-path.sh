#!/usr/bin/env bash
# The operator path, end to end, in a sandbox with a real systemd (sandbox.sh, network shared with the host
# so the service reaches the local stack on 127.0.0.1):
#   deploy/ec2/install.sh installs the hardened unit, config and credentials; `systemctl start` returns at
#   READY; `systemctl status` shows the STATUS text; `journalctl -o json` has structured entries and no
#   secret; records reach S3 (`pinpipe verify`); a hung actor (drop-in PINPIPE_TEST_HANG_ACTOR=sink) makes
#   the watchdog restart the service; `systemctl stop` drains and exits 0.
#
#   deploy/systemd-sandbox/test-operator-path.sh [--binary PATH] [--no-data]
#     --binary PATH   the pinpipe binary to install (default: $PINPIPE_BIN of the stack, built if missing)
#     --no-data       skip the S3/verify step (for a stand-in binary that only speaks the systemd protocol)
# Prints "N passed, M failed"; exit status 1 on any failure.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
SB="$here/sandbox.sh"
binary="" data=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --binary) binary=${2:?}; shift 2 ;;
    --no-data) data=0; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

SUITE=test-operator-path
# shellcheck disable=SC1091
source "$here/lib.sh"

# --- the local stack and the binary
if [[ -z ${PINPIPE_SKIP_STACK_UP:-} ]]; then
  "$repo/deploy/dev/stack" up >/dev/null || { echo "deploy/dev/stack up failed" >&2; exit 1; }
fi
# shellcheck disable=SC1091
source "$repo/.dev/stack.env"
binary=${binary:-$PINPIPE_BIN}
[[ -x $binary ]] || { echo "no pinpipe binary at $binary (swift build --product pinpipe)" >&2; exit 1; }

work=$(mktemp -d)
name=oppath-$$
trap 'SDSANDBOX_KEEP_LOGS=${KEEP:-0} "$SB" stop "$name" >/dev/null 2>&1; rm -rf "$work"' EXIT
run_id=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
prefix="oppath$run_id"
metrics_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# --- configuration for the stack, as an operator writes it for an installed service: the database credentials
# come through LoadCredential= ($CREDENTIALS_DIRECTORY) and the state lives in StateDirectory=.
cat >"$work/pinpipe.yaml" <<YAML
roles: [produce, sink]
state_directory: /var/lib/pinpipe
logging:
  level: info
  output: auto
health:
  status_interval: 2s
metrics:
  listen: 127.0.0.1:$metrics_port
source:
  mode: snapshot
kafka:
  bootstrap_servers: "$PINPIPE_KAFKA_BOOTSTRAP"
  topic_prefix: "$prefix"
  create_topics: true
  partitions: 3
  replication_factor: 1
  group_id: "$prefix-sink"
s3:
  bucket: "$PINPIPE_S3_BUCKET"
  region: "$PINPIPE_S3_REGION"
  endpoint: "$PINPIPE_S3_ENDPOINT"
  path_style: true
  prefix: "$prefix"
  credentials:
    access_key_id: "$PINPIPE_S3_ACCESS_KEY"
    secret_access_key: "$PINPIPE_S3_SECRET_KEY"
  batch:
    max_age: 3s
YAML

# --- boot and install the way an operator does
export SDSANDBOX_NET=host
"$SB" start "$name" || { echo "sandbox did not boot" >&2; exit 1; }
X() { "$SB" exec "$name" "$@"; }
"$SB" copy "$name" "$repo/deploy/ec2/install.sh" /root/pinpipe/deploy/ec2/install.sh 0755
"$SB" copy "$name" "$repo/systemd/pinpipe.service" /root/pinpipe/systemd/pinpipe.service 0644
"$SB" copy "$name" "$binary" /root/pinpipe/pinpipe 0755
"$SB" copy "$name" "$work/pinpipe.yaml" /root/pinpipe/pinpipe.yaml 0600
"$SB" copy "$name" "$PINPIPE_DB_CREDS" /root/pinpipe/db_creds.yaml 0600
install_out=$(X /root/pinpipe/deploy/ec2/install.sh --no-packages --no-start --binary /root/pinpipe/pinpipe \
  --config /root/pinpipe/pinpipe.yaml --db-creds /root/pinpipe/db_creds.yaml 2>&1)
check "install.sh (staged files, user, unit enabled)" test $? -eq 0 || { echo "$install_out"; finish; }
dropin=$(credentials_dropin "$SB" "$name")
if [[ -n $dropin ]]; then
  echo "  note: LoadCredential= does not reach non-root services in this sandbox; using a drop-in copy"
  X sh -c "mkdir -p /etc/systemd/system/pinpipe.service.d &&
    printf '[Service]\\n%s\\n' '$dropin' >/etc/systemd/system/pinpipe.service.d/sandbox-credentials.conf &&
    systemctl daemon-reload"
fi
t0=$(date +%s.%N)
install_out=$(X systemctl start pinpipe 2>&1)
rc=$?
took=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
check "systemctl start returned after READY (${took}s)" test $rc -eq 0
if [[ $rc -ne 0 ]]; then
  echo "$install_out"
  X systemctl status --no-pager pinpipe | head -n 20
  X journalctl -u pinpipe --no-pager -n 40
  finish
fi
check "unit is active" test "$(X systemctl is-active pinpipe)" = active
check "runs as user pinpipe" test "$(X ps -o user= -p "$(X systemctl show -P MainPID pinpipe)" | tr -d ' ')" = pinpipe
sleep 3
status_out=$(X systemctl status --no-pager pinpipe)
check "systemctl status shows the STATUS text" grep -q 'Status: "' <<<"$status_out"
grep 'Status: "' <<<"$status_out" | sed 's/^ */  /'
check "watchdog configured (WatchdogUSec=30s)" test "$(X systemctl show -P WatchdogUSec pinpipe)" = 30s
# --- the metrics listener inside the hardened unit: /healthz judges by the watchdog's own interval
healthz=$(python3 -c 'import sys, urllib.request
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())
except Exception as error:
    print(error)' "http://127.0.0.1:$metrics_port/healthz")
echo "  /healthz: $healthz"
check "/healthz 200 with the watchdog's threshold (30 s)" grep -q '"status":"ok","hung":\[\],"stale_after_seconds":30' <<<"$healthz"
status_cli=$("$binary" status --config "$work/pinpipe.yaml" 2>&1) && src=0 || src=$?
head -n 3 <<<"$status_cli" | sed 's/^/  /'
check "pinpipe status exits 0" test "$src" -eq 0
check "pinpipe status: ready, watchdog OK" grep -q 'ready, watchdog OK' <<<"$status_cli"
[[ $src -eq 0 ]] || X journalctl -u pinpipe --no-pager -o cat | grep -iE 'http|metrics|listen' | tail -n 5 | sed 's/^/  journal: /'

# --- the journal: native structured entries, no secrets
X journalctl -u pinpipe -o json --no-pager >"$work/journal.json"
check "journal has native entries with LOGGER, CODE_FILE and metadata fields" python3 - "$work/journal.json" <<'PY'
import json, sys
std = {"MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "LOGGER", "LOGGER_SOURCE", "CODE_FILE", "CODE_LINE", "CODE_FUNC", "ERROR"}
native = [e for e in map(json.loads, open(sys.argv[1])) if "LOGGER" in e and "CODE_FILE" in e]
extra = sorted({k for e in native for k in e if not k.startswith("_") and k not in std
                and not k.startswith("SYSLOG_") and k not in ("MESSAGE_ID",) and not k.startswith("__")})
print(f"  {len(native)} native entries; metadata fields: {', '.join(extra[:12])}")
sys.exit(0 if native and extra and all(e.get("SYSLOG_IDENTIFIER") == "pinpipe" for e in native) else 1)
PY
check "no database password in the journal" bash -c "! grep -qF -- '$PINPIPE_PG_PASSWORD' '$work/journal.json'"
check "no S3 secret key in the journal" bash -c "! grep -qF -- '$PINPIPE_S3_SECRET_KEY' '$work/journal.json'"

# --- records reach S3
if [[ $data -eq 1 ]]; then
  expected=$(PGPASSWORD=$PINPIPE_PG_PASSWORD psql -X -At -h "$PINPIPE_PG_HOST" -p "$PINPIPE_PG_PORT" -U "$PINPIPE_PG_USER" \
    -d "$PINPIPE_PG_DATABASE" -c 'SELECT (SELECT count(*) FROM pinterest_data)+(SELECT count(*) FROM geolocation_data)+(SELECT count(*) FROM user_data)' 2>/dev/null)
  total="" verify_out=""
  for ((i = 0; i < 60; i++)); do
    verify_out=$("$binary" verify --config "$work/pinpipe.yaml" 2>&1) && vrc=0 || vrc=$?
    total=$(sed -n 's/^total records in S3: \([0-9]*\).*/\1/p' <<<"$verify_out")
    [[ $vrc -eq 0 && -n $total && $total == "$expected" ]] && break
    sleep 2
  done
  echo "  verify: $(tail -n 1 <<<"$verify_out") (expected $expected rows)"
  check "all $expected rows in S3, pinpipe verify CLEAN" test "$vrc:$total" = "0:$expected"
fi

# --- idle is healthy: with every row stored and a 6 s watchdog, 20 s without input restart nothing
X mkdir -p /etc/systemd/system/pinpipe.service.d
printf '[Service]\nWatchdogSec=6s\nRestartSec=1s\n' >"$work/idle.conf"
"$SB" copy "$name" "$work/idle.conf" /etc/systemd/system/pinpipe.service.d/idle.conf 0644
X systemctl daemon-reload
X systemctl restart pinpipe
idle0=$(X systemctl show -P NRestarts pinpipe)
sleep 20
idle1=$(X systemctl show -P NRestarts pinpipe)
check "idle for 20 s under WatchdogSec=6s: no restart (NRestarts $idle0 -> $idle1)" test "$idle1" = "$idle0"
check "idle: no actor reported hung" bash -c "! '$SB' exec '$name' journalctl -u pinpipe --no-pager -o cat | grep -q 'stopped beating'"
X rm -f /etc/systemd/system/pinpipe.service.d/idle.conf

# --- a hung actor (its loop blocked while idle): no more WATCHDOG=1, systemd kills and restarts the service
printf '[Service]\nEnvironment=PINPIPE_TEST_HANG_ACTOR=sink PINPIPE_TEST_HANG_AFTER=5\nWatchdogSec=6s\nRestartSec=1s\n' >"$work/hang.conf"
"$SB" copy "$name" "$work/hang.conf" /etc/systemd/system/pinpipe.service.d/hang.conf 0644
X systemctl daemon-reload
restarts0=$(X systemctl show -P NRestarts pinpipe)
X systemctl restart pinpipe
pid0=$(X systemctl show -P MainPID pinpipe)
t0=$(date +%s)
restarts=$restarts0
for ((i = 0; i < 60; i++)); do
  restarts=$(X systemctl show -P NRestarts pinpipe)
  [[ $restarts -gt $restarts0 ]] && break
  sleep 1
done
check "hung sink -> watchdog restart (NRestarts $restarts0 -> $restarts after $(($(date +%s) - t0))s)" test "$restarts" -gt "$restarts0"
X journalctl -u pinpipe --no-pager -o cat >"$work/journal.txt"
check "journal names the watchdog timeout" grep -q "Watchdog timeout" "$work/journal.txt"
X journalctl -u pinpipe --no-pager -o json >"$work/journal.json"
check "journal names the hung actor (sink)" python3 -c '
import json, sys
hits = [e for e in map(json.loads, open(sys.argv[1])) if "stopped beating" in str(e.get("MESSAGE", ""))
        and any(v == "sink" or (isinstance(v, str) and "'"'"'sink'"'"'" in v) for v in e.values())]
sys.exit(0 if hits else 1)' "$work/journal.json"
X rm -f /etc/systemd/system/pinpipe.service.d/hang.conf
X systemctl daemon-reload
X systemctl reset-failed pinpipe >/dev/null 2>&1
X systemctl restart pinpipe
check "healthy again after removing the hang drop-in" test "$(X systemctl is-active pinpipe)" = active
check "main PID changed by the restarts" test "$(X systemctl show -P MainPID pinpipe)" != "$pid0"

# --- graceful stop
sleep 3
since=$(X date '+%Y-%m-%d %H:%M:%S')
t0=$(date +%s.%N)
X systemctl stop pinpipe
took=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
check "systemctl stop: exit status 0 (${took}s)" test "$(X systemctl show -P ExecMainStatus pinpipe):$(X systemctl show -P Result pinpipe)" = "0:success"
check "stop logged the drain" bash -c "'$SB' exec '$name' journalctl -u pinpipe --no-pager -o cat --since '$since' | grep -qi drained"

finish
