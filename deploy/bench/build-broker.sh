#!/usr/bin/env bash
# Builds a "big" librdkafka 2.0.2 for benchmark-sized mock brokers that honour transactions.
#
# Debian's librdkafka keeps only the newest 5 MiB / 100,000 message sets per mock-cluster partition
# (hard-coded in rd_kafka_mock_partition_init, src/rdkafka_mock.c) and silently drops anything older,
# which loses data at benchmark volumes. Its mock brokers also speak the transaction protocol without its
# meaning: EndTxn writes no commit/abort marker, Fetch reports the high watermark as the last stable offset
# and no aborted transactions (a read_committed consumer sees aborted and open transactions), and a new
# instance with the same transactional.id gets a new producer id instead of fencing the old one.
# mock-transactions.patch (beside this script) adds markers, the last stable offset, the aborted-transaction
# list for read_committed fetches and ListOffsets, and the coordinator's fencing (InitProducerId aborts the
# previous instance's open transaction and bumps the epoch). mock-group-rebalance.patch makes the mock's group
# coordinator keep Kafka's rules during a rebalance: a heartbeat of the current generation keeps the member's
# session alive, a member of the current generation may still commit, and the join waits for every live member
# to rejoin (the mock elected a leader after session.timeout.ms - 1 s and evicted a member that was finishing
# its work before rejoining). The client side of the library is unchanged.
# This script fetches Debian's own source package, applies the patch, raises both limits, builds only the
# shared library and installs it to
#   ${PINPIPE_DEV_DIR:-<repo>/.dev}/librdkafka-big/lib/librdkafka.so.1
# Run the broker with it:
#   LD_LIBRARY_PATH=<that lib dir> pinpipe dev-broker --brokers 1 --partitions 3 --topics a,b,c
#
# Idempotent: does nothing when the installed library already carries the requested limits.
# Environment: PINPIPE_DEV_DIR, PINPIPE_MOCK_MAX_BYTES (default 8 GiB), PINPIPE_MOCK_MAX_SETS (default 50,000,000),
# FORCE=1 to rebuild. Needs root only to add a deb-src entry for bookworm when none is configured.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dev_dir="${PINPIPE_DEV_DIR:-$repo_root/.dev}"
max_bytes="${PINPIPE_MOCK_MAX_BYTES:-8589934592}"
max_sets="${PINPIPE_MOCK_MAX_SETS:-50000000}"
version="2.0.2"
patch_file="$repo_root/deploy/bench/mock-transactions.patch"
group_patch="$repo_root/deploy/bench/mock-group-rebalance.patch"
patch_sum="$(cat "$patch_file" "$group_patch" | sha256sum | cut -c1-12)"

prefix="$dev_dir/librdkafka-big"
lib="$prefix/lib/librdkafka.so.1"
stamp="$prefix/lib/limits"
work="$prefix/build"
want="librdkafka $version max_size=$max_bytes max_cnt=$max_sets transactions=$patch_sum nodelay=1"

log() { printf 'build-broker: %s\n' "$*" >&2; }

if [[ "${FORCE:-0}" != 1 && -f "$lib" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    log "up to date: $lib ($want)"
    echo "$prefix/lib"
    exit 0
fi

[[ "$max_bytes" =~ ^[0-9]+$ && "$max_sets" =~ ^[0-9]+$ ]] || { log "limits must be integers"; exit 2; }

# 1. Debian's source package (needs a deb-src entry; add one for bookworm main if there is none).
mkdir -p "$work"
cd "$work"
srcdir="$(find . -maxdepth 1 -type d -name "librdkafka-$version*" | head -n1 || true)"
if [[ -z "$srcdir" ]]; then
    if ! apt-get source --print-uris "librdkafka=$version-1" >/dev/null 2>&1; then
        list=/etc/apt/sources.list.d/pinpipe-deb-src.sources
        log "adding $list (deb-src for bookworm main)"
        cat >"$list" <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
        # Update only the new source list so other lists are left alone.
        apt-get update -o Dir::Etc::sourcelist="$list" -o Dir::Etc::sourceparts=- \
            -o APT::Get::List-Cleanup=0 >&2
    fi
    log "apt-get source librdkafka=$version-1"
    apt-get source "librdkafka=$version-1" >&2
    srcdir="$(find . -maxdepth 1 -type d -name "librdkafka-$version*" | head -n1)"
fi
cd "$srcdir"

# 2. Transaction markers for the mock (patched from the pristine files on every run), then the two
#    per-partition retention limits.
for file in src/rdkafka_mock.c src/rdkafka_mock_handlers.c src/rdkafka_mock_int.h src/rdkafka_mock_cgrp.c; do
    [[ -f "$file.orig" ]] || cp "$file" "$file.orig"
    cp "$file.orig" "$file"
done
patch -p1 --quiet --no-backup-if-mismatch <"$patch_file" || { log "mock-transactions.patch does not apply"; exit 1; }
patch -p1 --quiet --no-backup-if-mismatch <"$group_patch" || { log "mock-group-rebalance.patch does not apply"; exit 1; }
mock=src/rdkafka_mock.c
grep -q 'mpart->max_size = 1024 \* 1024 \* 5;' "$mock" || { log "unexpected $mock: max_size line not found"; exit 1; }
grep -q 'mpart->max_cnt  = 100000;' "$mock" || { log "unexpected $mock: max_cnt line not found"; exit 1; }
sed -i \
    -e "s/mpart->max_size = 1024 \* 1024 \* 5;/mpart->max_size = (size_t)${max_bytes}ULL;/" \
    -e "s/mpart->max_cnt  = 100000;/mpart->max_cnt  = ${max_sets};/" \
    "$mock"
grep -n 'mpart->max_size =\|mpart->max_cnt  =' "$mock" >&2
# Like a Kafka broker (its SocketServer sets TCP_NODELAY on every accepted connection), the mock broker answers
# without Nagle's algorithm. Without it a small response written while the previous one is not yet acknowledged
# waits for the client's delayed ACK: measured, the 195-byte Produce of a transaction's last record took 43 ms
# (its neighbours 0.3 ms), so every exactly-once commit stalled ~50 ms for a reason no real cluster has.
grep -q 'rd_kafka_mock_connection_new(mrkb, new_s, &peer);' "$mock" || { log "unexpected $mock: accept line not found"; exit 1; }
sed -i \
    -e 's|^\(\s*\)rd_kafka_mock_connection_new(mrkb, new_s, &peer);|\1{ int one = 1; setsockopt(new_s, IPPROTO_TCP, TCP_NODELAY, \&one, sizeof(one)); }\n\1rd_kafka_mock_connection_new(mrkb, new_s, \&peer);|' \
    -e 's|^#include <stdarg.h>|#include <stdarg.h>\n#include <netinet/in.h>\n#include <netinet/tcp.h>|' \
    "$mock"
grep -q 'TCP_NODELAY' "$mock" || { log "could not add TCP_NODELAY to $mock"; exit 1; }

# 3. Configure (only what is installed, never downloads) and build just the shared library.
if [[ ! -f Makefile.config ]]; then
    ./configure --no-download --disable-lz4-ext --disable-gssapi --disable-curl >&2
fi
make -C src -j"$(nproc)" librdkafka.so.1 >&2

# 4. Install.
mkdir -p "$prefix/lib"
install -m 0644 src/librdkafka.so.1 "$lib.tmp"
mv -f "$lib.tmp" "$lib"
echo "$want" >"$stamp"
log "installed $lib ($want)"
echo "$prefix/lib"
