#!/usr/bin/env bash
# The soak: pinpipe as an installed service under a real systemd (sandbox.sh, host network, so it reaches the
# local stack), with WatchdogSec=5s, in follow mode for N minutes:
#   - bursts of inserts into the three tables, each followed by at least 60 s without a new row (idle);
#   - a reload (systemctl reload = SIGHUP) at a quarter of the time;
#   - an S3 outage of 30 s (the fault proxy in front of SeaweedFS refuses connections) at 40 %;
#   - a broker pause of 15 s (SIGSTOP/SIGCONT of the mock Kafka cluster) at 60 %;
#   - a last idle minute, then `systemctl stop`.
# It asserts NRestarts=0, no "stopped beating" in the journal, `pinpipe verify` CLEAN, and, read independently
# with boto3 and psql, every row of the three tables in S3 exactly once. It prints RSS at start / end / peak and
# its slope (MB per hour, least squares over the samples after the first minute), open fds and threads at start /
# end, and the PostgreSQL connections the service opened during the soak (pg_stat_database.sessions, less ours).
#
#   deploy/systemd-sandbox/soak.sh [--minutes N] [--binary PATH]    (default 20 minutes)
# Prints "N passed, M failed"; exit status 1 on any failure.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
SB="$here/sandbox.sh"
minutes=20 binary=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --minutes) minutes=${2:?}; shift 2 ;;
    --binary) binary=${2:?}; shift 2 ;;
    *) echo "unknown option $1 (usage: soak.sh [--minutes N] [--binary PATH])" >&2; exit 2 ;;
  esac
done
[[ $minutes =~ ^[0-9]+$ && $minutes -ge 4 ]] || { echo "soak: --minutes must be a whole number, at least 4" >&2; exit 2; }

SUITE=soak
# shellcheck disable=SC1091
source "$here/lib.sh"
T0=$SECONDS
say() { printf '[soak %5ds] %s\n' "$((SECONDS - T0))" "$*"; }

"$repo/deploy/dev/stack" up >/dev/null || { echo "soak: deploy/dev/stack up failed" >&2; exit 1; }
set -a  # the checker below (boto3) reads the stack's addresses from the environment
# shellcheck disable=SC1091
source "$repo/.dev/stack.env"
set +a
binary=${binary:-$PINPIPE_BIN}
[[ -x $binary ]] || { echo "soak: no pinpipe binary at $binary" >&2; exit 1; }
PY=$PINPIPE_PYTHON

work=$(mktemp -d)
# A copy of the binary under test: a rebuild during the soak must not change (or lock) what runs and verifies.
cp "$binary" "$work/pinpipe"
binary=$work/pinpipe
name=soak-$$
proxy_pid=""
cleanup() {
  [[ -n $proxy_pid ]] && kill "$proxy_pid" 2>/dev/null
  [[ -s "$PINPIPE_DEV_DIR/pids/kafka.pid" ]] && kill -CONT "$(<"$PINPIPE_DEV_DIR/pids/kafka.pid")" 2>/dev/null
  "$SB" stop "$name" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
run_id=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
prefix="soak$run_id"
suffix="_soak$run_id"
psql_app() { PGPASSWORD=$PINPIPE_PG_PASSWORD psql -X -q -At -v ON_ERROR_STOP=1 -h "$PINPIPE_PG_HOST" -p "$PINPIPE_PG_PORT" \
  -U "$PINPIPE_PG_USER" -d "$PINPIPE_PG_DATABASE" "$@"; }
our_sessions=0
sql() { our_sessions=$((our_sessions + 1)); psql_app -c "$1"; }

# --- the soak's own tables (copies of the stack's seeded ones, so it can insert freely)
for t in pinterest_data geolocation_data user_data; do
  sql "CREATE TABLE $t$suffix (LIKE $t INCLUDING ALL); INSERT INTO $t$suffix SELECT * FROM $t" >/dev/null \
    || { echo "soak: cannot create $t$suffix" >&2; exit 1; }
done
drop_tables() { psql_app -c "DROP TABLE IF EXISTS pinterest_data$suffix, geolocation_data$suffix, user_data$suffix" >/dev/null 2>&1; }
trap 'drop_tables; cleanup' EXIT

# --- S3 through the fault proxy, so an outage can be switched on and confirmed
mkfifo "$work/proxy.in"
"$PY" "$repo/deploy/dev/fault-proxy.py" "127.0.0.1:${PINPIPE_S3_ENDPOINT##*:}" <"$work/proxy.in" >"$work/proxy.out" 2>&1 &
proxy_pid=$!
exec 7>"$work/proxy.in"
for ((i = 0; i < 50; i++)); do grep -q '^port ' "$work/proxy.out" && break; sleep 0.1; done
proxy_port=$(sed -n 's/^port //p' "$work/proxy.out" | head -n 1)
[[ -n $proxy_port ]] || { echo "soak: the fault proxy did not start" >&2; cat "$work/proxy.out" >&2; exit 1; }
proxy() { echo "$1" >&7; for ((i = 0; i < 50; i++)); do grep -q "^ok $1" "$work/proxy.out" && return 0; sleep 0.1; done; return 1; }

PINPIPE_CONFIG_STATE_DIR=/var/lib/pinpipe PINPIPE_CONFIG_TABLE_SUFFIX="$suffix" PINPIPE_CONFIG_MAX_AGE=5s \
  PINPIPE_CONFIG_S3_ENDPOINT="http://127.0.0.1:$proxy_port" \
  "$repo/deploy/dev/pinpipe-stack-config.sh" "$prefix" follow >"$work/pinpipe.yaml" \
  || { echo "soak: cannot write the configuration" >&2; exit 1; }
# As installed: the database credentials come through LoadCredential= ($CREDENTIALS_DIRECTORY), not a path.
sed -i '/^ *credentials_file:/d' "$work/pinpipe.yaml"
# The host-side copy for `pinpipe verify` talks to S3 directly, not through the proxy.
sed "s|http://127.0.0.1:$proxy_port|$PINPIPE_S3_ENDPOINT|" "$work/pinpipe.yaml" >"$work/verify.yaml"

# --- install the way an operator does, with WatchdogSec=5s
export SDSANDBOX_NET=host
"$SB" start "$name" || { echo "soak: sandbox did not boot" >&2; exit 1; }
X() { "$SB" exec "$name" "$@"; }
"$SB" copy "$name" "$repo/deploy/ec2/install.sh" /root/pinpipe/deploy/ec2/install.sh 0755
"$SB" copy "$name" "$repo/systemd/pinpipe.service" /root/pinpipe/systemd/pinpipe.service 0644
"$SB" copy "$name" "$binary" /root/pinpipe/pinpipe 0755
"$SB" copy "$name" "$work/pinpipe.yaml" /root/pinpipe/pinpipe.yaml 0600
"$SB" copy "$name" "$PINPIPE_DB_CREDS" /root/pinpipe/db_creds.yaml 0600
X /root/pinpipe/deploy/ec2/install.sh --no-packages --no-start --binary /root/pinpipe/pinpipe \
  --config /root/pinpipe/pinpipe.yaml --db-creds /root/pinpipe/db_creds.yaml >"$work/install.log" 2>&1 \
  || { cat "$work/install.log"; echo "soak: install.sh failed" >&2; exit 1; }
X mkdir -p /etc/systemd/system/pinpipe.service.d
printf '[Service]\nWatchdogSec=5s\n' >"$work/soak.conf"
credentials_dropin "$SB" "$name" >>"$work/soak.conf"
"$SB" copy "$name" "$work/soak.conf" /etc/systemd/system/pinpipe.service.d/soak.conf 0644
X systemctl daemon-reload

sessions() { psql_app -c "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"; }
sessions0=$(sessions)
our_sessions=1  # the query above; every sql call from here on adds one
X systemctl start pinpipe || { X journalctl -u pinpipe --no-pager -n 40; echo "soak: systemctl start failed" >&2; exit 1; }
check "systemctl start (WatchdogUSec=$(X systemctl show -P WatchdogUSec pinpipe))" test "$(X systemctl is-active pinpipe)" = active
main_pid() {  # the service's main PID, inside the sandbox's PID namespace
  local inner; inner=$(X systemctl show -P MainPID pinpipe)
  X cat "/proc/$inner/status" >/dev/null 2>&1 || return 1
  echo "$inner"
}
sample() {  # "seconds rss_kb fds threads" of the main process, read inside the sandbox
  local pid; pid=$(main_pid) || return 1
  local rss threads fds
  rss=$(X awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
  threads=$(X awk '/^Threads:/ { print $2 }' "/proc/$pid/status")
  fds=$(X sh -c "ls /proc/$pid/fd | wc -l")
  echo "$((SECONDS - T0)) $rss $fds $threads"
}

# --- the timeline
total=$((minutes * 60))
reload_at=$((total / 4)) s3_at=$((total * 2 / 5)) broker_at=$((total * 3 / 5)) quiet_at=$((total - 60))
burst_every=90
next_burst=$((SECONDS - T0 + 30)) next_sample=0 reloaded=0 s3_done=0 broker_done=0 bursts=0 inserted=0
key_base=1000000
kafka_pid=$(<"$PINPIPE_DEV_DIR/pids/kafka.pid")
start=$SECONDS
say "soaking for $minutes min (reload at ${reload_at}s, S3 outage at ${s3_at}s, broker pause at ${broker_at}s)"
while ((SECONDS - start < total)); do
  now=$((SECONDS - start))
  if ((now >= next_sample)); then sample >>"$work/samples.txt" || say "no main process to sample"; next_sample=$((now + 10)); fi
  if ((now >= next_burst && now < quiet_at)); then
    n=$((200 + RANDOM % 300))
    from=$((key_base + inserted + 1)) to=$((key_base + inserted + n))
    sql "INSERT INTO pinterest_data$suffix SELECT i, 'soak-' || i, 'Soak', 'a soak row', 'pinpipe', '1k', 'soak', 'image',
           'https://example.invalid/' || i, 1, 'Local save in /data/soak', 'art' FROM generate_series($from, $to) AS i;
         INSERT INTO geolocation_data$suffix SELECT i, now()::timestamp, 1.5, 2.5, 'Soak' FROM generate_series($from, $to) AS i;
         INSERT INTO user_data$suffix SELECT i, 'Soak', 'Test', 30, now()::timestamp FROM generate_series($from, $to) AS i" >/dev/null \
      || say "insert burst failed"
    inserted=$((inserted + n)) bursts=$((bursts + 1))
    next_burst=$((now + burst_every))
  fi
  if ((!reloaded && now >= reload_at)); then
    X systemctl reload pinpipe && reloaded=1
    say "systemctl reload: $([[ $reloaded == 1 ]] && echo done || echo FAILED)"
  fi
  if ((!s3_done && now >= s3_at)); then
    s3_done=1
    proxy down && say "S3 outage: the proxy refuses connections for 30 s" || say "S3 outage: the proxy did not confirm 'down'"
    sleep 30
    proxy up && say "S3 back" || say "S3: the proxy did not confirm 'up'"
  fi
  if ((!broker_done && now >= broker_at)); then
    broker_done=1
    kill -STOP "$kafka_pid" && say "broker paused (SIGSTOP pid $kafka_pid) for 15 s"
    # The stop reaches every thread of the process asynchronously: look until it shows (at most 2 s).
    for ((i = 0; i < 20; i++)); do
      state=$(awk '{ print $3 }' "/proc/$kafka_pid/stat")
      [[ $state == T ]] && break
      sleep 0.1
    done
    sleep 13
    kill -CONT "$kafka_pid" && say "broker resumed (it was in state '$state' while paused)"
    echo "$state" >"$work/broker-state"
  fi
  sleep 2
done
sample >>"$work/samples.txt"
say "done; $bursts bursts, $inserted rows per table inserted"

# --- what systemd saw
restarts=$(X systemctl show -P NRestarts pinpipe)
check "NRestarts=0 after $minutes min (got $restarts)" test "$restarts" = 0
check "still active" test "$(X systemctl is-active pinpipe)" = active
X journalctl -u pinpipe --no-pager -o cat >"$work/journal.txt"
check "no actor 'stopped beating' in the journal" bash -c "! grep -q 'stopped beating' '$work/journal.txt'"
check "the reload was logged (SIGHUP: log level ...)" grep -q "SIGHUP: log level" "$work/journal.txt"
check "the S3 outage happened (the proxy confirmed it)" grep -q "^ok down" "$work/proxy.out"
check "the broker pause happened (state T while stopped)" test "$(cat "$work/broker-state" 2>/dev/null)" = T
X systemctl status --no-pager pinpipe | grep 'Status:' | sed 's/^ */  /'
sessions1=$(sessions)
X systemctl stop pinpipe
check "systemctl stop: clean (Result=$(X systemctl show -P Result pinpipe))" test "$(X systemctl show -P Result pinpipe)" = success

# --- the data, read independently: every row of the three tables in S3 exactly once
verify_out=$("$binary" verify --config "$work/verify.yaml" 2>&1); vrc=$?
echo "  verify: $(tail -n 1 <<<"$verify_out")"
check "pinpipe verify CLEAN" test "$vrc" = 0
for t in pin:pinterest_data:index geo:geolocation_data:ind user:user_data:ind; do
  IFS=: read -r short table key <<<"$t"
  psql_app -c "SELECT \"$key\" FROM $table$suffix ORDER BY 1" >"$work/keys-$short.db"
done
check "every row in S3 exactly once (boto3 over every object)" "$PY" - "$prefix" "$work" <<'PY'
import json, os, sys, collections
import boto3
prefix, work = sys.argv[1:3]
s3 = boto3.client("s3", endpoint_url=os.environ["PINPIPE_S3_ENDPOINT"], region_name=os.environ["PINPIPE_S3_REGION"],
                  aws_access_key_id=os.environ["PINPIPE_S3_ACCESS_KEY"],
                  aws_secret_access_key=os.environ["PINPIPE_S3_SECRET_KEY"])
bucket, ok = os.environ["PINPIPE_S3_BUCKET"], True
for short, key in (("pin", "index"), ("geo", "ind"), ("user", "ind")):
    counts = collections.Counter()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"topics/{prefix}.{short}/"):
        for obj in page.get("Contents", []):
            for line in s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read().splitlines():
                counts[json.loads(line)[key]] += 1
    expected = [int(x) for x in open(f"{work}/keys-{short}.db").read().split()]
    missing = [k for k in expected if counts[k] == 0]
    doubled = [k for k, n in counts.items() if n > 1]
    extra = set(counts) - set(expected)
    print(f"  {prefix}.{short}: rows {len(expected)}, in S3 {sum(counts.values())}, missing {len(missing)}, "
          f"duplicated {len(doubled)}, unknown {len(extra)}")
    ok = ok and not missing and not doubled and not extra
sys.exit(0 if ok else 1)
PY

# --- resources
"$PY" - "$work/samples.txt" "$((sessions1 - sessions0))" "$our_sessions" <<'PY'
import sys
rows = [tuple(map(int, l.split())) for l in open(sys.argv[1]) if len(l.split()) == 4]
opened, ours = int(sys.argv[2]), int(sys.argv[3])
if not rows:
    print("  no resource samples"); sys.exit(0)
t, rss = [r[0] for r in rows], [r[1] / 1024 for r in rows]
late = [(a, b) for a, b in zip(t, rss) if a >= t[0] + 60] or list(zip(t, rss))
n = len(late)
mx, my = sum(a for a, _ in late) / n, sum(b for _, b in late) / n
var = sum((a - mx) ** 2 for a, _ in late)
slope = (sum((a - mx) * (b - my) for a, b in late) / var * 3600) if var else 0.0
print(f"  RSS MB: start {rss[0]:.1f}, end {rss[-1]:.1f}, peak {max(rss):.1f}, slope {slope:+.1f} MB/h ({n} samples)")
print(f"  open fds: start {rows[0][2]}, end {rows[-1][2]}; threads: start {rows[0][3]}, end {rows[-1][3]}")
print(f"  PostgreSQL connections opened during the soak: {opened - ours} by pinpipe ({opened} in all, {ours} by this script)")
PY
echo "  soak ran $(( (SECONDS - start) / 60 )) min; whole script $((SECONDS - T0)) s"
finish
