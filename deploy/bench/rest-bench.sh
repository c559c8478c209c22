#!/usr/bin/env bash
# The REST endpoint's benchmark (issue 14): wrk on loopback against pinpipe's rest role, the original's pattern
# (one record per POST) and 100 records per POST, at 16 and 128 connections. Prints requests/s, records/s,
# p50/p99 latency and pinpipe's peak RSS per run, and writes them to deploy/bench/REST-RESULTS.md. Not a test.
#
#   deploy/bench/rest-bench.sh [--duration 20s] [--connections "16 128"] [--records "1 100"]
#
# pinpipe runs alone (roles: [rest], metrics off, logging info) against its own mock Kafka cluster
# (`pinpipe dev-broker`, 3 brokers, 3 partitions, Debian's librdkafka), on 127.0.0.1:${BENCH_REST_PORT:-18082}.
# Every record is a pin row (the canonical example, its index varied), produced with acks=all and idempotence;
# a reply is sent only after Kafka acknowledged its records. wrk, pinpipe and the broker share the machine's
# cores. Peak RSS: the highest VmRSS sampled every 100 ms during each run (and VmHWM at the end).
#
# Environment: BENCH_PINPIPE_BIN (default: a release build, built here), BENCH_REST_PORT (18082),
# BENCH_WRK_THREADS (2), BENCH_RESULTS (output file, default deploy/bench/REST-RESULTS.md),
# BENCH_PRODUCER_PROPERTIES (kafka.producer_properties as a YAML flow map, e.g. '{linger.ms: "0"}'),
# BENCH_REST_OPTIONS (more rest: options as YAML lines, e.g. $'  max_in_flight: 5000').
set -euo pipefail
REPO="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
HERE="$REPO/deploy/bench"
DURATION=20s
CONNECTIONS="16 128"
RECORDS="1 100"
while (($#)); do
  case "$1" in
    --duration) DURATION="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --records) RECORDS="$2"; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: deploy/bench/rest-bench.sh [--duration 20s] [--connections \"16 128\"] [--records \"1 100\"]" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "rest-bench: wrk is missing (deploy/dev/install installs it)" >&2; exit 1; }
PORT="${BENCH_REST_PORT:-18082}"
RESULTS="${BENCH_RESULTS:-$HERE/REST-RESULTS.md}"
WORK="$(mktemp -d /tmp/pinpipe-rest-bench.XXXXXX)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

if [[ -n "${BENCH_PINPIPE_BIN:-}" ]]; then
  PINPIPE="$BENCH_PINPIPE_BIN"
else
  echo "rest-bench: swift build -c release --product pinpipe"
  (cd "$REPO" && swift build -c release --product pinpipe >"$WORK/build.log" 2>&1) \
    || { tail -20 "$WORK/build.log"; exit 1; }
  PINPIPE="$REPO/.build/release/pinpipe"
fi

setsid "$PINPIPE" dev-broker --brokers 3 --partitions 3 --topics bench.pin,bench.geo,bench.user \
  --bootstrap-file "$WORK/bootstrap" >"$WORK/broker.log" 2>&1 &
BROKER_PID=$!; sleep 0.5; BROKER_PID="$(pgrep -P "$BROKER_PID" | head -1 || true)"; BROKER_PID="${BROKER_PID:-$!}"
PIDS+=("$BROKER_PID")
for _ in $(seq 100); do [[ -s "$WORK/bootstrap" ]] && break; sleep 0.1; done
[[ -s "$WORK/bootstrap" ]] || { cat "$WORK/broker.log"; exit 1; }
BOOTSTRAP="$(tr -d ' \n' <"$WORK/bootstrap")"

cat >"$WORK/pinpipe.yaml" <<YAML
roles: [rest]
state_directory: "$WORK/state"
logging: {level: info, output: console}
metrics: {listen: null}
kafka: {bootstrap_servers: "$BOOTSTRAP", topic_prefix: bench, replication_factor: 1, producer_properties: ${BENCH_PRODUCER_PROPERTIES:-"{}"}}
rest:
  listen: 127.0.0.1:$PORT
  max_connections: 512
${BENCH_REST_OPTIONS:-}
YAML
"$PINPIPE" run --config "$WORK/pinpipe.yaml" >"$WORK/pinpipe.log" 2>&1 &
PINPIPE_PID=$!
PIDS+=("$PINPIPE_PID")
for _ in $(seq 300); do curl -fsS "http://127.0.0.1:$PORT/" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$PORT/" >/dev/null || { tail -20 "$WORK/pinpipe.log"; exit 1; }

python3 - "$WORK" $RECORDS <<'PY'
import json, sys
work = sys.argv[1]
row = {"index": 7528, "unique_id": "fbe53c66-3442-4773-b19e-d3ec6f54dddf", "title": "No Title Data Available",
       "description": "No description available Story format", "poster_name": "User Info Error",
       "follower_count": "User Info Error", "tag_list": "N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e",
       "is_image_or_video": "multi-video(story page format)", "image_src": "Image src error.", "downloaded": 0,
       "save_location": "Local save in /data/mens-fashion", "category": "mens-fashion"}
for count in map(int, sys.argv[2:]):
    records = [{"value": {**row, "index": row["index"] + i}} for i in range(count)]
    with open(f"{work}/body-{count}.json", "w") as f:
        json.dump({"records": records}, f, default=str)
PY

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$PINPIPE_PID/status"; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$PINPIPE_PID/status"; }
# wrk's latency figures: "50%  1.23ms" -> milliseconds.
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); print v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v); print v+0} else if (v ~ /s$/) {sub(/s$/,"",v); print v*1000} else print v}'; }

ROWS=()
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "rest-bench: pinpipe $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo ?) on 127.0.0.1:$PORT, $DURATION per run, $(nproc) cores"
for records in $RECORDS; do
  for connections in $CONNECTIONS; do
    # Warm-up (connections, topic metadata, allocator), not measured.
    REST_BENCH_BODY="$WORK/body-$records.json" wrk -t"${BENCH_WRK_THREADS:-2}" -c"$connections" -d3s \
      -s "$HERE/rest-post.lua" "http://127.0.0.1:$PORT/topics/bench.pin" >/dev/null 2>&1 || true
    peak=0
    ( while kill -0 "$PINPIPE_PID" 2>/dev/null; do rss_kb; sleep 0.1; done ) >"$WORK/rss-$records-$connections" &
    sampler=$!
    p0="$(cpu_ticks "$PINPIPE_PID")"; b0="$(cpu_ticks "$BROKER_PID")"; t0="$(date +%s.%N)"
    REST_BENCH_BODY="$WORK/body-$records.json" wrk -t"${BENCH_WRK_THREADS:-2}" -c"$connections" -d"$DURATION" \
      --latency -s "$HERE/rest-post.lua" "http://127.0.0.1:$PORT/topics/bench.pin" >"$WORK/wrk-$records-$connections.txt"
    p1="$(cpu_ticks "$PINPIPE_PID")"; b1="$(cpu_ticks "$BROKER_PID")"; t1="$(date +%s.%N)"
    hz="$(getconf CLK_TCK)"
    cpu="$(echo "scale=2; ($p1 - $p0) / $hz / ($t1 - $t0)" | bc)"
    bcpu="$(echo "scale=2; ($b1 - $b0) / $hz / ($t1 - $t0)" | bc)"
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    peak="$(sort -n "$WORK/rss-$records-$connections" | tail -1)"
    out="$WORK/wrk-$records-$connections.txt"
    rps="$(awk '/^Requests\/sec:/ {print $2}' "$out")"
    p50="$(awk '$1 == "50%" {print $2}' "$out" | to_ms)"
    p99="$(awk '$1 == "99%" {print $2}' "$out" | to_ms)"
    total="$(awk '/requests in/ {print $1}' "$out")"
    non2xx="$(awk '/Non-2xx/ {print $NF}' "$out")"
    errors="$(awk '/Socket errors/ {print $0}' "$out")"
    recs="$(echo "$rps * $records" | bc)"
    line="$(printf '| %3d | %3d | %8.0f | %9.0f | %6.2f | %6.2f | %5.1f | %s |' "$connections" "$records" "$rps" "$recs" \
      "$p50" "$p99" "$(echo "$peak / 1024" | bc -l)" "${total} requests, non-200: ${non2xx:-0}${errors:+, $errors}; CPU cores busy: pinpipe $cpu, broker $bcpu")"
    echo "$line"
    ROWS+=("$line")
  done
done
HWM="$(hwm_kb)"
echo "rest-bench: pinpipe VmHWM (peak RSS over the whole benchmark) $(echo "$HWM / 1024" | bc -l | xargs printf '%.1f') MB"

{
  echo "# REST endpoint benchmark (deploy/bench/rest-bench.sh)"
  echo
  echo "Generated $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores ($(uname -m)), load before the run: $LOAD_BEFORE."
  echo "wrk ${BENCH_WRK_THREADS:-2} threads, $DURATION per run after a 3 s warm-up, POST /topics/bench.pin with"
  echo "\`application/vnd.kafka.json.v2+json\` pin rows; pinpipe roles [rest] (release build) against \`pinpipe dev-broker\`"
  echo "(librdkafka's mock cluster, 3 brokers), acks=all + idempotence, each reply after its records' acknowledgement."
  echo
  echo "| connections | records/POST | requests/s | records/s | p50 ms | p99 ms | peak RSS MB | notes |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---|"
  printf '%s\n' "${ROWS[@]}"
  echo
  echo "pinpipe's peak RSS over the whole benchmark (VmHWM): $(echo "$HWM / 1024" | bc -l | xargs printf '%.1f') MB."
} >"$RESULTS"
echo "rest-bench: wrote $RESULTS"
