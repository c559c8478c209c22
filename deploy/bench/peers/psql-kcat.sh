#!/usr/bin/env bash
# Benchmark peer (a), the practical limit: PostgreSQL renders each row as JSON (row_to_json) and COPY streams
# "key<TAB>json" lines straight into `kcat -P` (acks=all, idempotence, librdkafka's default linger 5 ms), one
# pipeline per table, the three in parallel (as pinpipe reads its three tables in parallel).
#
#   psql-kcat.sh BOOTSTRAP TOPIC_PREFIX TABLE_SUFFIX      (PostgreSQL from PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE)
#
# COPY's CSV format with a tab delimiter and a quote character that JSON text never contains raw (\x01; JSON escapes
# control characters) writes the JSON verbatim: no quoting, no backslash doubling as in COPY's text format.
set -euo pipefail
bootstrap="$1" prefix="$2" suffix="$3"
pids=()
for spec in "pin pinterest_data index" "geo geolocation_data ind" "user user_data ind"; do
  read -r topic table key <<<"$spec"
  (
    set -o pipefail
    psql -X -q -v ON_ERROR_STOP=1 -c "COPY (SELECT \"$key\", row_to_json(t) FROM \"$table$suffix\" t ORDER BY \"$key\") TO STDOUT WITH (FORMAT csv, DELIMITER E'\\t', QUOTE E'\\x01')" \
      | kcat -P -b "$bootstrap" -t "$prefix.$topic" -K $'\t' -X acks=all -X enable.idempotence=true -X linger.ms=5
  ) &
  pids+=($!)
done
rc=0
for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
exit "$rc"
