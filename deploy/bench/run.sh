#!/usr/bin/env bash
# The producer and sink benchmarks: prints the figures and rewrites deploy/bench/RESULTS.md. Not a test.
#
#   deploy/bench/run.sh [--rows N] [--repeats R] [--phases produce,sink] [--brokers 3,1]
#                                          (defaults: 1,000,000 rows per table, 3 repeats, both phases,
#                                           both cluster shapes)
#
# Every phase runs once per cluster shape: a mock cluster of 3 brokers (partition leaders spread over them, as
# on MSK) and of 1 broker, 3 partitions per topic either way.
#
# 1. Producer: a snapshot of N rows per table (3N records) into a dedicated broker, by
#      pinpipe run --once --from-scratch (roles: produce),
#      (a) psql COPY row_to_json | kcat -P (acks=all, idempotence)            peers/psql-kcat.sh
#      (b) Python psycopg 3 + confluent-kafka                                   peers/produce.py
#    plus pinpipe on N/10 rows (peak RSS must not depend on table size).
#    Each contender gets a fresh, empty broker (stopped afterwards) so that only one copy is ever in RAM.
# 2. Sink: the 3N records from the three topics, by
#      pinpipe run --once (roles: sink),
#      (a) kcat -C -G to /dev/null (reading only)
#      (b) Python confluent-kafka + boto3 uploader (10,000 records / 16 MiB per object)   peers/sink.py
#    plus pinpipe on a backlog of N/10 records. Every contender and repeat has its own consumer group and
#    S3 prefix, in a bench bucket that is dropped at the end.
# Wall time, CPU (user+sys) and peak RSS by /usr/bin/time -v; the broker's, PostgreSQL's and SeaweedFS's CPU
# seconds from /proc. R repeats, contenders in a rotated order; RESULTS.md reports medians, and CPU seconds per
# million records for the contender, the broker, PostgreSQL and SeaweedFS.
#
# Needs the dev stack (deploy/dev/stack up; started when it is not running). Leaves the stack's broker, topics
# and tables alone: data goes to the tables pinterest_data_bench/_bench10 (seeded here, kept for the next run)
# and to topics <prefix>.* on the benchmark's own broker (librdkafka from deploy/bench/build-broker.sh).
#
# Environment: BENCH_TOPIC_PREFIX (bench), BENCH_BUCKET (pinpipe-bench), BENCH_KEEP_S3=1 (keep the bucket),
# BENCH_PINPIPE_BIN (skip the release build and use this binary), BENCH_MAX_IN_FLIGHT (pinpipe kafka.max_in_flight,
# default: pinpipe's default), BENCH_PRODUCER_PROPERTIES (pinpipe kafka.producer_properties as a YAML flow map,
# e.g. '{linger.ms: "20"}'), BENCH_FETCH_SIZE (source.fetch_size and the Python cursor's itersize, 5000),
# BENCH_RESULTS (output file, default deploy/bench/RESULTS.md), BENCH_SCALE_NOTE (why N is not 1,000,000),
# BENCH_SINK_CONTENDERS (a subset of "pinpipe kcat python pinpipe-small", for quick comparisons),
# BENCH_PRODUCE_CONTENDERS (a subset of "pinpipe psql-kcat python pinpipe-small pinpipe-eos pinpipe-eos-<N>";
# pinpipe-eos is pinpipe with kafka.exactly_once, pinpipe-eos-<N> the same with transactions of N rows, both
# checked by a read_committed count and run only when named here; pinpipe is then exactly_once: false),
# pinpipe-before (either list) runs BENCH_BEFORE_BIN, an older pinpipe build, with the same configuration.
# BENCH_TXN_MAX_RECORDS / BENCH_TXN_MAX_INTERVAL (pinpipe-eos's kafka.transaction, default 250000 / 1s: pinpipe's defaults).
# Either list also takes pinpipe-metrics: pinpipe with its metrics listener on and scraped every second (pinpipe's
# own contenders run with metrics.listen null), for the overhead of the metrics (deploy/monitoring/README.md).
set -euo pipefail

REPO="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
HERE="$REPO/deploy/bench"
DEV="${PINPIPE_DEV_DIR:-$REPO/.dev}"
ROWS=1000000
REPEATS=3
PHASES=produce,sink
SHAPES=3,1
while (($#)); do
  case "$1" in
    --rows) ROWS="${2:?--rows needs a value}"; shift 2 ;;
    --repeats) REPEATS="${2:?--repeats needs a value}"; shift 2 ;;
    --phases) PHASES="${2:?--phases needs a value}"; shift 2 ;;
    --brokers) SHAPES="${2:?--brokers needs a value}"; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: deploy/bench/run.sh [--rows N] [--repeats R] [--phases produce,sink] [--brokers 3,1]" >&2; exit 2 ;;
  esac
done
[[ "$ROWS" =~ ^[0-9]+$ && "$ROWS" -ge 10 && "$REPEATS" =~ ^[0-9]+$ && "$REPEATS" -ge 1 ]] \
  || { echo "run.sh: --rows must be an integer >= 10 and --repeats >= 1" >&2; exit 2; }
[[ ",$PHASES," == *,produce,* || ",$PHASES," == *,sink,* ]] \
  || { echo "run.sh: --phases takes produce, sink or produce,sink" >&2; exit 2; }
[[ "$SHAPES" =~ ^[1-9](,[1-9])*$ ]] || { echo "run.sh: --brokers takes a list of broker counts, e.g. 3,1" >&2; exit 2; }
SHAPES="${SHAPES//,/ }"
BROKERS=1 # the shape being measured
phase_on() { [[ ",$PHASES," == *,"$1",* ]]; }
SMALL=$((ROWS / 10))
PREFIX="${BENCH_TOPIC_PREFIX:-bench}"
SMALL_PREFIX="${PREFIX}10"
BUCKET="${BENCH_BUCKET:-pinpipe-bench}"
FETCH="${BENCH_FETCH_SIZE:-5000}"
RESULTS_MD="${BENCH_RESULTS:-$HERE/RESULTS.md}"
RUN_ID="$(date +%Y%m%d-%H%M%S)"
WORK="$DEV/bench/$RUN_ID"
LOGS="$WORK/logs"
TSV="$WORK/results.tsv"
mkdir -p "$LOGS" "$WORK/config" "$WORK/state"
T0=$SECONDS

say() { printf '[bench %4ds] %s\n' "$((SECONDS - T0))" "$*"; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
PY="$DEV/venv/bin/python"   # the project's virtual environment (deploy/dev/install)
tools() { "$PY" "$HERE/tools.py" "$@"; }
human_bytes() { numfmt --to=iec-i --suffix=B --format=%.2f "$1"; }

say "run $RUN_ID: N=$ROWS rows per table, R=$REPEATS repeats; logs in $WORK"

# --- prerequisites ------------------------------------------------------------------------------------------

"$REPO/deploy/dev/install" >"$LOGS/install.log" 2>&1 || { tail -n 20 "$LOGS/install.log" >&2; die "deploy/dev/install failed"; }
if ! "$REPO/deploy/dev/stack" status >/dev/null 2>&1; then
  say "deploy/dev/stack up"
  "$REPO/deploy/dev/stack" up >"$LOGS/stack-up.log" 2>&1 || { tail -n 20 "$LOGS/stack-up.log" >&2; die "stack up failed"; }
fi
set -a
# shellcheck disable=SC1091
. "$DEV/stack.env"
set +a
export PGHOST=127.0.0.1 PGPORT="$PINPIPE_PG_PORT" PGUSER="$PINPIPE_PG_USER" PGPASSWORD="$PINPIPE_PG_PASSWORD" \
  PGDATABASE="$PINPIPE_PG_DATABASE" PGOPTIONS='-c client_min_messages=warning'
export AWS_ACCESS_KEY_ID="$PINPIPE_S3_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$PINPIPE_S3_SECRET_KEY" \
  AWS_DEFAULT_REGION="$PINPIPE_S3_REGION"
PG_PID="$(head -n 1 "$PINPIPE_PG_DATA/postmaster.pid")"
WEED_PID="$(<"$DEV/pids/s3.pid")"

if [[ -n "${BENCH_PINPIPE_BIN:-}" ]]; then
  PINPIPE="$BENCH_PINPIPE_BIN"
else
  say "swift build -c release --product pinpipe --scratch-path .build-release (log $LOGS/build.log)"
  (cd "$REPO" && swift build -c release --product pinpipe --scratch-path "$REPO/.build-release") >"$LOGS/build.log" 2>&1 \
    || { tail -n 30 "$LOGS/build.log" >&2; die "release build failed (see $LOGS/build.log)"; }
  PINPIPE="$(cd "$REPO" && swift build -c release --product pinpipe --scratch-path "$REPO/.build-release" --show-bin-path)/pinpipe"
fi
[[ -x "$PINPIPE" ]] || die "no pinpipe binary at $PINPIPE"
say "pinpipe: $PINPIPE"
BIGLIB="$("$HERE/build-broker.sh" 2>"$LOGS/build-broker.log" | tail -n 1)" \
  || { tail -n 20 "$LOGS/build-broker.log" >&2; die "build-broker.sh failed"; }
[[ -f "$BIGLIB/librdkafka.so.1" ]] || die "build-broker.sh printed no library directory ($BIGLIB)"
say "broker library: $BIGLIB ($(cat "$BIGLIB/limits" 2>/dev/null))"

# --- data: pinterest_data_bench etc. (N rows) and *_bench10 (N/10 rows) ----------------------------------------

psqlq() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

seed() { # SUFFIX ROWS
  local suffix="$1" rows="$2" counts pids=() name t
  psqlq <<SQL
CREATE TABLE IF NOT EXISTS pinterest_data$suffix (LIKE pinterest_data INCLUDING ALL);
CREATE TABLE IF NOT EXISTS geolocation_data$suffix (LIKE geolocation_data INCLUDING ALL);
CREATE TABLE IF NOT EXISTS user_data$suffix (LIKE user_data INCLUDING ALL);
SQL
  counts="$(psqlq -At -c "SELECT (SELECT count(*) FROM pinterest_data$suffix) || ' ' || (SELECT count(*) FROM geolocation_data$suffix) || ' ' || (SELECT count(*) FROM user_data$suffix)")"
  if [[ "$counts" == "$rows $rows $rows" ]]; then
    say "tables *$suffix: already hold $rows rows each"
    return 0
  fi
  say "tables *$suffix: seeding $rows rows each (pinpipe generate | psql \\copy)"
  psqlq -c "TRUNCATE pinterest_data$suffix, geolocation_data$suffix, user_data$suffix"
  for t in pin geo user; do
    case "$t" in pin) name=pinterest_data ;; geo) name=geolocation_data ;; user) name=user_data ;; esac
    (
      set -o pipefail
      "$PINPIPE" generate --rows "$rows" --format csv --table "$t" | psqlq -c "\\copy $name$suffix from stdin with (format csv)"
    ) >"$LOGS/seed$suffix-$t.log" 2>&1 &
    pids+=($!)
  done
  for t in "${pids[@]}"; do wait "$t" || die "seeding *$suffix failed (see $LOGS/seed$suffix-*.log)"; done
  # VACUUM sets hint bits and the visibility map now, so that the first contender does not pay for them.
  psqlq -c "VACUUM (ANALYZE) pinterest_data$suffix" -c "VACUUM (ANALYZE) geolocation_data$suffix" -c "VACUUM (ANALYZE) user_data$suffix"
  say "tables *$suffix: seeded"
}
seed _bench "$ROWS"
seed _bench10 "$SMALL"
say "table sizes: $(psqlq -At -c "SELECT string_agg(relname || ' ' || pg_size_pretty(pg_total_relation_size(oid)), ', ') FROM pg_class WHERE relname IN ('pinterest_data_bench','geolocation_data_bench','user_data_bench')")"

# --- the benchmark's own broker -----------------------------------------------------------------------------

BROKER_PID=""
BOOT=""
broker_start() { # TOPIC...
  local topics file="$WORK/broker.bootstrap"
  topics="$(IFS=,; echo "$*")"
  rm -f "$file"
  LD_LIBRARY_PATH="$BIGLIB" "$PINPIPE" dev-broker --brokers "$BROKERS" --partitions 3 --topics "$topics" \
    --bootstrap-file "$file" </dev/null >>"$LOGS/broker.log" 2>&1 &
  BROKER_PID=$!
  local deadline=$((SECONDS + 30))
  until [[ -s "$file" ]]; do
    kill -0 "$BROKER_PID" 2>/dev/null || { tail -n 20 "$LOGS/broker.log" >&2; die "dev-broker exited"; }
    ((SECONDS < deadline)) || die "dev-broker wrote no bootstrap file in 30 s (see $LOGS/broker.log)"
    sleep 0.1
  done
  BOOT="$(tr -d ' \n' <"$file")"
}
broker_stop() {
  [[ -n "$BROKER_PID" ]] || return 0
  kill -TERM "$BROKER_PID" 2>/dev/null || true
  wait "$BROKER_PID" 2>/dev/null || true
  BROKER_PID=""
}
cleanup() {
  broker_stop
  if [[ "${BENCH_KEEP_S3:-0}" != 1 ]]; then tools s3-drop --bucket "$BUCKET" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

topics_of() { echo "$1.pin" "$1.geo" "$1.user"; }
topic_args() { local t; for t in $(topics_of "$1"); do printf -- '--topic %s ' "$t"; done; }

# --- pinpipe configuration ----------------------------------------------------------------------------------

# pinpipe_config FILE ROLES TOPIC_PREFIX TABLE_SUFFIX GROUP S3_PREFIX: the stack's config, pointed at the bench
# broker, tables, bucket and prefix; batches of 10,000 records / 16 MiB and no age roll, like the Python uploader.
pinpipe_config() {
  local file="$1" roles="$2" prefix="$3" suffix="$4" group="$5" s3prefix="$6"
  PINPIPE_CONFIG_ROLES="$roles" PINPIPE_CONFIG_TABLE_SUFFIX="$suffix" PINPIPE_CONFIG_GROUP="$group" \
    PINPIPE_CONFIG_EXACTLY_ONCE="${EXACTLY_ONCE:-false}" PINPIPE_CONFIG_TXN_MAX_RECORDS="${BENCH_TXN_MAX_RECORDS:-250000}" \
    PINPIPE_CONFIG_TXN_MAX_INTERVAL="${BENCH_TXN_MAX_INTERVAL:-1s}" \
    PINPIPE_CONFIG_STATE_DIR="$WORK/state/$(basename "$file" .yaml)" PINPIPE_CONFIG_MAX_RECORDS=10000 \
    PINPIPE_CONFIG_MAX_AGE=1h PINPIPE_CONFIG_FETCH_SIZE="$FETCH" PINPIPE_CONFIG_METRICS_LISTEN="${METRICS_LISTEN:-null}" \
    "$REPO/deploy/dev/pinpipe-stack-config.sh" "$prefix" snapshot >"$file.gen"
  awk -v boot="$BOOT" -v bucket="$BUCKET" -v s3prefix="$s3prefix" \
      -v inflight="${BENCH_MAX_IN_FLIGHT:-}" -v props="${BENCH_PRODUCER_PROPERTIES:-}" '
    /^  bootstrap_servers:/ { print "  bootstrap_servers: \"" boot "\""; next }
    /^  bucket:/ { print "  bucket: \"" bucket "\""; next }
    /^  prefix:/ { next }
    /^  path_style:/ { print; print "  prefix: \"" s3prefix "\""; next }
    /^  group_id:/ { print; if (inflight != "") print "  max_in_flight: " inflight;
                     if (props != "") print "  producer_properties: " props; next }
    { print }' "$file.gen" >"$file"
  grep -q "bootstrap_servers: \"$BOOT\"" "$file" && grep -q "prefix: \"$s3prefix\"" "$file" \
    || die "could not rewrite $file.gen (did deploy/dev/pinpipe-stack-config.sh change?)"
  "$PINPIPE" check-config --config "$file" >"$file.check" 2>&1 || { cat "$file.check" >&2; die "check-config failed for $file"; }
}

# --- measurement --------------------------------------------------------------------------------------------

printf 'phase\tbrokers\tcontender\trep\trecords\trc\twall_s\tuser_s\tsys_s\tmaxrss_kb\tbroker_cpu_s\tpg_cpu_s\tweed_cpu_s\tsys_busy_s\tload1\tcheck\n' >"$TSV"
M_ROW=""
M_RC=0
METRICS_PORT="${BENCH_METRICS_PORT:-19464}"
SCRAPER=""
# While pinpipe runs, a scraper reads its /metrics every second, as Prometheus would (with the listener off, the
# connection is refused at once: the same scraper runs for both, so only pinpipe's side differs).
scrape_start() {
  (while sleep 1; do curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$METRICS_PORT/metrics" || true; done) &
  SCRAPER=$!
}
scrape_stop() { kill "$SCRAPER" 2>/dev/null || true; wait "$SCRAPER" 2>/dev/null || true; }
# measure PHASE CONTENDER REP RECORDS COMMAND...: runs COMMAND under /usr/bin/time -v (stdout+stderr to its log).
measure() {
  local phase="$1" contender="$2" rep="$3" records="$4"; shift 4
  local tag="$phase-b$BROKERS-$contender-$rep" b0 p0 w0 s0 b1 p1 w1 s1 t0 t1 load
  local tfile="$LOGS/$tag.time" log="$LOGS/$tag.log"
  load="$(cut -d' ' -f1 /proc/loadavg)"
  b0="$(tools cpu "$BROKER_PID")"; p0="$(tools cpu "$PG_PID")"; w0="$(tools cpu "$WEED_PID")"; s0="$(tools cpu system)"
  t0="$(date +%s.%N)"
  set +e
  /usr/bin/time -v -o "$tfile" "$@" >"$log" 2>&1
  M_RC=$?
  set -e
  t1="$(date +%s.%N)"
  # The machine-wide sample first, before the harness's own sampling adds to it.
  s1="$(tools cpu system)"; b1="$(tools cpu "$BROKER_PID")"; w1="$(tools cpu "$WEED_PID")"
  sleep 0.3 # let the postmaster reap the backends (their CPU lands in its cutime/cstime)
  p1="$(tools cpu "$PG_PID")"
  local user sys rss
  user="$(awk -F': ' '/User time \(seconds\)/ {print $2}' "$tfile")"
  sys="$(awk -F': ' '/System time \(seconds\)/ {print $2}' "$tfile")"
  rss="$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tfile")"
  M_ROW="$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%.3f\t%s\t%s\t%s\t%.2f\t%.2f\t%.2f\t%.2f\t%s' "$phase" "$BROKERS" "$contender" "$rep" \
    "$records" "$M_RC" "$(echo "$t1 - $t0" | bc)" "${user:-0}" "${sys:-0}" "${rss:-0}" "$(echo "$b1 - $b0" | bc)" \
    "$(echo "$p1 - $p0" | bc)" "$(echo "$w1 - $w0" | bc)" "$(echo "$s1 - $s0" | bc)" "$load")"
  if ((M_RC != 0)); then
    say "  $contender FAILED (exit $M_RC); last lines of $log:"
    tail -n 15 "$log" | sed 's/^/    /'
  fi
}
record() { # CHECK
  printf '%s\t%s\n' "$M_ROW" "$1" >>"$TSV"
  local IFS=$'\t' f
  read -r -a f <<<"$M_ROW"
  say "  $(printf '%-8s %sb %-14s rep %s: %9d records in %7.1f s = %8.0f/s, CPU %6.1f s, RSS %6.1f MB, broker %5.1f s, PG %5.1f s, weed %5.1f s — %s' \
    "${f[0]}" "${f[1]}" "${f[2]}" "${f[3]}" "${f[4]}" "${f[6]}" "$(echo "${f[4]} / ${f[6]}" | bc -l)" \
    "$(echo "${f[7]} + ${f[8]}" | bc)" "$(echo "${f[9]} / 1024" | bc -l)" "${f[10]}" "${f[11]}" "${f[12]}" "$1")"
}
# pinpipe-before runs BENCH_BEFORE_BIN (an older build, e.g. of main) with the same configuration, for a
# before/after comparison within one run; named only in BENCH_PRODUCE_CONTENDERS / BENCH_SINK_CONTENDERS.
contender_bin() { if [[ "$1" == pinpipe-before ]]; then echo "${BENCH_BEFORE_BIN:?pinpipe-before needs BENCH_BEFORE_BIN}"; else echo "$PINPIPE"; fi; }
rotate() { # REP ITEM...: the items rotated left by REP-1
  local rep="$1"; shift
  local items=("$@") n=$# i
  for ((i = 0; i < n; i++)); do echo "${items[$(((i + rep - 1) % n))]}"; done
}

# --- 1. producer --------------------------------------------------------------------------------------------

DSN="host=127.0.0.1 port=$PINPIPE_PG_PORT user=$PINPIPE_PG_USER password=$PINPIPE_PG_PASSWORD dbname=$PINPIPE_PG_DATABASE"
produce_check() { # TOPIC_PREFIX EXPECTED
  local got
  got="$(tools watermarks --bootstrap "$BOOT" $(topic_args "$1") 2>>"$LOGS/tools.log")" || got="?"
  if [[ "$got" == "$2" ]]; then echo "ok: $got records in the topics"; else echo "MISMATCH: $got records in the topics, expected $2"; fi
}
# Transactions: commit markers take offsets, so the watermarks overcount; count what read_committed returns.
produce_check_committed() { # TOPIC_PREFIX EXPECTED
  local got
  got="$(tools count --bootstrap "$BOOT" $(topic_args "$1") 2>>"$LOGS/tools.log")" || got="?"
  if [[ "$got" == "$2 $2" ]]; then echo "ok: $2 committed records, $2 distinct keys"; else echo "MISMATCH: $got committed records/distinct keys, expected $2"; fi
}
phase_on produce && say "1. producer: $((3 * ROWS)) records per contender, fresh broker each"
for BROKERS in $SHAPES; do
phase_on produce || break
say "producer on $BROKERS broker(s)"
for ((rep = 1; rep <= REPEATS; rep++)); do
  for contender in $(rotate "$rep" ${BENCH_PRODUCE_CONTENDERS:-pinpipe psql-kcat python pinpipe-small}); do
    case "$contender" in
      pinpipe-small) topic_prefix="$SMALL_PREFIX" suffix=_bench10 rows=$SMALL ;;
      *) topic_prefix="$PREFIX" suffix=_bench rows=$ROWS ;;
    esac
    broker_start $(topics_of "$topic_prefix")
    case "$contender" in
      pinpipe | pinpipe-before | pinpipe-small | pinpipe-eos | pinpipe-eos-* | pinpipe-metrics)
        cfg="$WORK/config/produce-b$BROKERS-$contender-$rep.yaml"
        txn_records="${BENCH_TXN_MAX_RECORDS:-250000}"
        [[ "$contender" == pinpipe-eos-* ]] && txn_records="${contender#pinpipe-eos-}"
        listen=null
        [[ "$contender" == pinpipe-metrics ]] && listen="127.0.0.1:$METRICS_PORT"
        EXACTLY_ONCE="$([[ "$contender" == pinpipe-eos* ]] && echo true || echo false)" BENCH_TXN_MAX_RECORDS="$txn_records" \
          METRICS_LISTEN="$listen" pinpipe_config "$cfg" produce "$topic_prefix" "$suffix" "unused-$RUN_ID" unused
        scrape_start
        measure produce "$contender" "$rep" $((3 * rows)) "$(contender_bin "$contender")" run --config "$cfg" --once --from-scratch
        scrape_stop ;;
      psql-kcat)
        measure produce "$contender" "$rep" $((3 * rows)) "$HERE/peers/psql-kcat.sh" "$BOOT" "$topic_prefix" "$suffix" ;;
      python)
        measure produce "$contender" "$rep" $((3 * rows)) "$PY" "$HERE/peers/produce.py" --dsn "$DSN" \
          --bootstrap "$BOOT" --topic-prefix "$topic_prefix" --itersize "$FETCH" \
          --table "pin=pinterest_data$suffix:index" --table "geo=geolocation_data$suffix:ind" --table "user=user_data$suffix:ind" ;;
    esac
    if [[ "$contender" == pinpipe-eos* ]]; then
      record "$(produce_check_committed "$topic_prefix" $((3 * rows)))"
    else
      record "$(produce_check "$topic_prefix" $((3 * rows)))"
    fi
    broker_stop
  done
done
done

# --- 2. sink ------------------------------------------------------------------------------------------------

for BROKERS in $SHAPES; do
phase_on sink || break
say "2. sink on $BROKERS broker(s): filling a broker with $((3 * ROWS)) + $((3 * SMALL)) records (pinpipe produce, not timed)"
broker_start $(topics_of "$PREFIX") $(topics_of "$SMALL_PREFIX")
for spec in "$PREFIX _bench $ROWS" "$SMALL_PREFIX _bench10 $SMALL"; do
  read -r topic_prefix suffix rows <<<"$spec"
  cfg="$WORK/config/fill-b$BROKERS-$topic_prefix.yaml"
  pinpipe_config "$cfg" produce "$topic_prefix" "$suffix" "unused-$RUN_ID" unused
  "$PINPIPE" run --config "$cfg" --once --from-scratch >"$LOGS/fill-b$BROKERS-$topic_prefix.log" 2>&1 \
    || { tail -n 20 "$LOGS/fill-b$BROKERS-$topic_prefix.log" >&2; die "filling $topic_prefix.* failed"; }
  check="$(produce_check "$topic_prefix" $((3 * rows)))"
  [[ "$check" == ok* ]] || die "filling $topic_prefix.*: $check"
done
tools s3-bucket --bucket "$BUCKET"
VALUE_BYTES=""
sink_check() { # TOPIC_PREFIX GROUP EXPECTED [S3_PREFIX]
  local committed summary objects bytes
  committed="$(tools committed --bootstrap "$BOOT" --group "$2" $(topic_args "$1") 2>>"$LOGS/tools.log")" || committed="?"
  if [[ "$committed" != "$3" ]]; then echo "MISMATCH: committed $committed, expected $3"; return; fi
  if [[ -z "${4:-}" ]]; then echo "ok: committed $committed"; return; fi
  summary="$(tools s3-summary --bucket "$BUCKET" --prefix "$4/" 2>>"$LOGS/tools.log")" || summary="? ?"
  read -r objects bytes <<<"$summary"
  echo "ok: committed $committed; $objects objects, $bytes bytes under $4/"
}
say "sink: $((3 * ROWS)) records per contender (own group and S3 prefix each)"
for ((rep = 1; rep <= REPEATS; rep++)); do
  for contender in $(rotate "$rep" ${BENCH_SINK_CONTENDERS:-pinpipe kcat python pinpipe-small}); do
    case "$contender" in
      pinpipe-small) topic_prefix="$SMALL_PREFIX" records=$((3 * SMALL)) ;;
      *) topic_prefix="$PREFIX" records=$((3 * ROWS)) ;;
    esac
    group="bench-$RUN_ID-b$BROKERS-$contender-$rep"
    s3prefix="$RUN_ID/b$BROKERS-$contender-$rep"
    case "$contender" in
      pinpipe | pinpipe-before | pinpipe-small | pinpipe-metrics)
        cfg="$WORK/config/sink-b$BROKERS-$contender-$rep.yaml"
        listen=null
        [[ "$contender" == pinpipe-metrics ]] && listen="127.0.0.1:$METRICS_PORT"
        METRICS_LISTEN="$listen" pinpipe_config "$cfg" sink "$topic_prefix" _bench "$group" "$s3prefix"
        scrape_start
        measure sink "$contender" "$rep" "$records" "$(contender_bin "$contender")" run --config "$cfg" --once
        scrape_stop
        check="$(sink_check "$topic_prefix" "$group" "$records" "$s3prefix")" ;;
      kcat)
        measure sink "$contender" "$rep" "$records" bash -c 'exec kcat -C -q -e -G "$0" -b "$1" -X auto.offset.reset=earliest "${@:2}" >/dev/null' \
          "$group" "$BOOT" $(topics_of "$topic_prefix")
        check="$(sink_check "$topic_prefix" "$group" "$records")" ;;
      python)
        measure sink "$contender" "$rep" "$records" "$PY" "$HERE/peers/sink.py" --bootstrap "$BOOT" --group "$group" \
          $(topic_args "$topic_prefix") --bucket "$BUCKET" --prefix "$s3prefix" --endpoint "$PINPIPE_S3_ENDPOINT" \
          --region "$PINPIPE_S3_REGION" --max-records 10000 --max-bytes $((16 * 1024 * 1024))
        check="$(sink_check "$topic_prefix" "$group" "$records" "$s3prefix")" ;;
    esac
    if [[ "$contender" == pinpipe && -z "$VALUE_BYTES" && "$check" == ok* ]]; then
      VALUE_BYTES="$(awk '{for (i = 1; i <= NF; i++) if ($i == "bytes") print $(i - 1)}' <<<"$check")"
      [[ -n "$VALUE_BYTES" ]] && VALUE_BYTES=$((VALUE_BYTES - records)) # minus one newline per record
    fi
    record "$check"
  done
done
broker_stop
done

# --- report -------------------------------------------------------------------------------------------------

loads="$(awk -F'\t' 'NR > 1 {print $15}' "$TSV" | sort -n)"
props="${BENCH_PRODUCER_PROPERTIES:-}"
"$PY" - "$WORK/meta.json" <<PY
import json, os, platform, subprocess, sys
def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except Exception:
        return ""
loads = [float(x) for x in """$loads""".split()]
value_bytes = "${VALUE_BYTES:-}"
meta = {
    "rows": $ROWS, "repeats": $REPEATS, "shapes": [int(x) for x in "$SHAPES".split()], "date": sh("date -u '+%Y-%m-%d %H:%M UTC'"),
    "commit": sh("git -C '$REPO' rev-parse --short HEAD"),
    "cpu_model": sh("lscpu | sed -n 's/^Model name: *//p' | head -1") or platform.processor(),
    "nproc": os.cpu_count(), "mem_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
    "os": sh(". /etc/os-release && echo \$PRETTY_NAME"), "swift": sh("swift --version 2>&1 | head -1"),
    "load_min": min(loads) if loads else 0, "load_max": max(loads) if loads else 0,
    "produce_bytes_h": (sh("numfmt --to=iec-i --suffix=B --format=%.2f " + value_bytes) if value_bytes else "?")
        + (f" = {int(value_bytes):,} bytes" if value_bytes else ""),
    "producer_settings": "kafka.max_in_flight " + ("${BENCH_MAX_IN_FLIGHT:-}" or "10000 (default)")
        + ", producer_properties " + ("\`$props\`" if "$props" else "none (pinpipe's defaults: acks=all, idempotence, linger.ms 5)")
        + ", source.fetch_size $FETCH, kafka.exactly_once false (the peers are not transactional either; pinpipe-eos: true, "
        + "kafka.transaction.max_records ${BENCH_TXN_MAX_RECORDS:-250000})",
    "peer_a": "\`peers/psql-kcat.sh\`: per table \`COPY (SELECT key, row_to_json(t) ... ORDER BY key) TO STDOUT\` (CSV, tab) | \`kcat -P -K<tab> -X acks=all -X enable.idempotence=true\`, the three tables in parallel",
    "peer_b": "\`peers/produce.py\`: psycopg 3 named cursor (itersize $FETCH), json.dumps per row, one confluent-kafka Producer (acks=all, idempotence, linger.ms 5), produce + poll(0), flush; tables one after the other",
    "sink_settings": "batch 10,000 records or 16 MiB per object, no age roll (pinpipe max_age 1h), commit after each upload; pinpipe otherwise on its defaults (s3.memory_limit 24 MiB, s3.channel_capacity 5,000, consumer queued.max.messages.kbytes 1024 and fetch.wait.max.ms 100, checksum crc32c); (a) is \`kcat -C -q -e -G <group> -X auto.offset.reset=earliest\` > /dev/null",
}
note = os.environ.get("BENCH_SCALE_NOTE")
if note:
    meta["scale_note"] = note
notes_file = os.environ.get("BENCH_NOTES_FILE")
if notes_file and os.path.exists(notes_file):
    meta["notes"] = [line.strip() for line in open(notes_file) if line.strip()]
json.dump(meta, open(sys.argv[1], "w"), indent=1)
PY
tools report --results "$TSV" --meta "$WORK/meta.json" --out "$RESULTS_MD"
say "done in $((SECONDS - T0)) s; results: $RESULTS_MD (raw: $TSV)"
echo
sed -n '/^## 1\./,/^## Every run/p' "$RESULTS_MD" | sed '$d'
