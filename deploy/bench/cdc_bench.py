#!/usr/bin/env python3
"""Change data capture benchmark: pinpipe's `source.mode: cdc` against the shell peer
`pg_recvlogical -P wal2json | kcat -P`, draining the same backlog of changes into Kafka.

Run it through deploy/bench/cdc-bench.sh (stack up with the test broker, release build). For each repeat: a fresh
table of --rows rows (REPLICA IDENTITY FULL), both contenders' slots made before the load (pinpipe's by a first
`run --once`, which also takes its snapshot), then a pgbench-style update load of --updates single-row updates in
transactions of --per-txn statements; then each contender drains its slot into its own topic, timed from start to
the moment the topic holds every change. Reported: changes/s, CPU seconds (user+system of the contender's
processes), peak RSS; medians over the repeats.
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from confluent_kafka import Consumer, TopicPartition

REPO = Path(__file__).resolve().parents[2]
DEV = Path(os.environ.get("PINPIPE_DEV_DIR") or REPO / ".dev")
ENV = dict(l.split("=", 1) for l in (DEV / "stack.env").read_text().splitlines() if "=" in l and not l.startswith("#"))
PG = dict(host=ENV["PINPIPE_PG_HOST"], port=int(ENV["PINPIPE_PG_PORT"]), user=ENV["PINPIPE_PG_USER"],
          password=ENV["PINPIPE_PG_PASSWORD"], dbname=ENV["PINPIPE_PG_DATABASE"])
BOOTSTRAP = ENV["PINPIPE_KAFKA_BOOTSTRAP"]


def pg():
    return psycopg.connect(**PG, autocommit=True)


def topic_count(topic: str) -> int:
    c = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "cdc-bench-probe"})
    try:
        md = c.list_topics(topic, timeout=5).topics.get(topic)
        if md is None or md.error:
            return 0
        return sum(c.get_watermark_offsets(TopicPartition(topic, p), timeout=5)[1] for p in md.partitions)
    finally:
        c.close()


def proc_figures(pids: list[int]) -> tuple[float, int]:
    """CPU seconds (user + system) and peak RSS in MB, summed over the processes (read before they exit)."""
    tick = os.sysconf("SC_CLK_TCK")
    cpu, rss = 0.0, 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / tick
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    rss += int(line.split()[1]) // 1024
        except OSError:
            pass
    return cpu, rss


def wait_for(topic: str, target: int, pids: list[int], timeout: float) -> tuple[float, float, int]:
    start = time.monotonic()
    cpu = rss = 0
    while time.monotonic() - start < timeout:
        cpu, rss = proc_figures(pids)  # the last reading before the count is reached
        if topic_count(topic) >= target:
            return time.monotonic() - start, cpu, rss
        time.sleep(0.1)
    raise RuntimeError(f"{topic}: fewer than {target} records after {timeout:.0f} s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--updates", type=int, default=200_000)
    ap.add_argument("--per-txn", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--binary", default=str(REPO / ".build/release/pinpipe"))
    args = ap.parse_args()
    results: dict[str, list[tuple[float, float, int]]] = {"pinpipe": [], "pg_recvlogical | kcat": []}
    for repeat in range(args.repeats):
        tag = f"cb{int(time.time()) % 100000}r{repeat}"
        table = f"geolocation_data_{tag}"
        work = DEV / "bench" / "cdc" / tag
        work.mkdir(parents=True, exist_ok=True)
        with pg() as c:
            c.execute(f"CREATE TABLE {table} (LIKE geolocation_data INCLUDING ALL)")
            c.execute(f"INSERT INTO {table} SELECT * FROM geolocation_data WHERE ind < %s", (args.rows,))
            c.execute(f"CREATE PUBLICATION peer_{tag} FOR TABLE {table}")
            c.execute(f"SELECT pg_create_logical_replication_slot('peer_{tag}', 'wal2json')")
        # pinpipe: only the geo table matters; the other two are empty copies so its configuration is complete.
        with pg() as c:
            for t in ("pinterest_data", "user_data"):
                c.execute(f"CREATE TABLE {t}_{tag} (LIKE {t} INCLUDING ALL)")
        env = dict(os.environ, PINPIPE_CONFIG_TABLE_SUFFIX=f"_{tag}", PINPIPE_CONFIG_ROLES="produce",
                   PINPIPE_CONFIG_STATE_DIR=str(work / "state"), PINPIPE_CONFIG_EXACTLY_ONCE="false")
        cfg = work / "pinpipe.yaml"
        cfg.write_text(subprocess.run(["bash", str(REPO / "deploy/dev/pinpipe-stack-config.sh"), tag, "cdc"], env=env,
                                      check=True, capture_output=True, text=True).stdout)
        subprocess.run([args.binary, "cdc", "setup", "-c", str(cfg)], check=True, capture_output=True)
        clean = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET",)}
        subprocess.run([args.binary, "run", "-c", str(cfg), "--once"], check=True, capture_output=True, env=clean)
        base = topic_count(f"{tag}.geo")
        # The load: single-row updates, --per-txn to a transaction.
        t0 = time.monotonic()
        with pg() as c:
            for i in range(0, args.updates, args.per_txn):
                with c.transaction():
                    for j in range(args.per_txn):
                        c.execute(f"UPDATE {table} SET country = %s WHERE ind = %s", (f"c{i + j}", (i + j) % args.rows))
        print(f"repeat {repeat + 1}: {args.updates} updates written in {time.monotonic() - t0:.1f} s", flush=True)

        # pinpipe drains its slot.
        log = open(work / "pinpipe.log", "wb")
        p = subprocess.Popen([args.binary, "run", "-c", str(cfg), "--once"], stdout=log, stderr=subprocess.STDOUT, env=clean)
        secs, cpu, rss = wait_for(f"{tag}.geo", base + args.updates, [p.pid], 600)
        p.wait(120)
        results["pinpipe"].append((secs, cpu, rss))

        # The peer drains its slot: one wal2json (format 2) line per change, one Kafka record per line.
        recv = subprocess.Popen(["pg_recvlogical", "-h", PG["host"], "-p", str(PG["port"]), "-U", PG["user"], "-d", PG["dbname"],
                                 "--slot", f"peer_{tag}", "--start", "-o", "format-version=2", "-o", "include-transaction=false",
                                 "-f", "-"], stdout=subprocess.PIPE, env=dict(os.environ, PGPASSWORD=PG["password"]),
                                start_new_session=True)
        kcat = subprocess.Popen(["kcat", "-P", "-b", BOOTSTRAP, "-t", f"{tag}.peer", "-X", "acks=all"], stdin=recv.stdout,
                                start_new_session=True)
        recv.stdout.close()
        secs, cpu, rss = wait_for(f"{tag}.peer", args.updates, [recv.pid, kcat.pid], 600)
        results["pg_recvlogical | kcat"].append((secs, cpu, rss))
        for q in (recv, kcat):
            os.killpg(q.pid, signal.SIGTERM)
            q.wait(30)
        subprocess.run([args.binary, "cdc", "drop", "-c", str(cfg)], capture_output=True)
        with pg() as c:
            c.execute(f"SELECT pg_drop_replication_slot('peer_{tag}')")
            c.execute(f"DROP PUBLICATION peer_{tag}")
            for t in ("geolocation_data", "pinterest_data", "user_data"):
                c.execute(f"DROP TABLE {t}_{tag}")
        for name, runs in results.items():
            s, c_, r = runs[-1]
            print(f"  {name}: {args.updates / s:,.0f} changes/s ({s:.2f} s), {c_:.2f} CPU s, peak RSS {r} MB", flush=True)
    print(f"\n{args.updates:,} single-row updates ({args.per_txn} per transaction) on a {args.rows}-row table, medians of {args.repeats}:")
    print("| contender | changes/s | wall s | CPU s | peak RSS MB |\n|---|---:|---:|---:|---:|")
    for name, runs in results.items():
        s = statistics.median(r[0] for r in runs)
        print(f"| {name} | {args.updates / s:,.0f} | {s:.2f} | {statistics.median(r[1] for r in runs):.2f} | "
              f"{statistics.median(r[2] for r in runs)} |")


if __name__ == "__main__":
    sys.exit(main())
