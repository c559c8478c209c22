#!/usr/bin/env bash
# The change data capture benchmark (deploy/bench/cdc_bench.py): pinpipe's cdc mode against
# pg_recvlogical -P wal2json | kcat -P on the same backlog. Release build; the stack with the test broker.
#   deploy/bench/cdc-bench.sh [--updates N] [--per-txn N] [--repeats N] [--rows N]
set -euo pipefail
REPO="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
DEV="${PINPIPE_DEV_DIR:-$REPO/.dev}"
"$REPO/deploy/dev/install" >/dev/null
cd "$REPO"
swift build -c release --product pinpipe 2>&1 | tail -n 1
"$REPO/deploy/dev/stack-with-test-broker" >/dev/null
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
PYTHONUNBUFFERED=1 "$DEV/venv/bin/python" "$REPO/deploy/bench/cdc_bench.py" --binary "$REPO/.build/release/pinpipe" "$@"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
