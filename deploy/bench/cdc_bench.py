#!/usr/bin/env python3
"""Change data capture benchmark: pinpipe's `source.mode: cdc` against the shell peer
`pg_recvlogical -P wal2json | kcat -P`, draining the same backlog of changes into Kafka.

Run it through deploy/bench/cdc-bench.sh (stack up with the test broker, release build). For each repeat: a fresh
table of --rows rows (REPLICA IDENTITY FULL), both contenders' slots made before the load (pinpipe's by a first
`run --once`, which also takes its snapshot), then a pgbench-style update load of --updates single-row updates in
transactions of --per-txn statements; then each contender drains its slot into its own topic, timed from start to
the moment it exited with the topic holding every change (pinpipe `run --once`, at least once and with
kafka.exactly_once; the peer `pg_recvlogical --endpos <the load's WAL end> | kcat -P`), and as a reference (not a
contender) `pg_recvlogical` with pgoutput (the plugin pinpipe uses) writing to /dev/null: the stock client reading the
same stream without Kafka. Contenders run in a rotated order. Reported: changes/s, CPU seconds (user+system of the contender's processes) and peak RSS from wait4; medians
over the repeats.
"""
from __future__ import annotations

import argparse
import os
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
# A reference, not a contender: the stock client reading the pgoutput stream pinpipe reads, discarding it (no Kafka).
REFERENCE = "reference: pg_recvlogical pgoutput > /dev/null"


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


def drain(procs: list[subprocess.Popen], topic: str | None, target: int, timeout: float) -> tuple[float, float, int]:
    """Waits until every process of a contender exited (each drains to a fixed end and exits), then checks the
    topic holds `target` records. Returns wall seconds from `start`, CPU seconds (user + system) and the summed
    peak RSS in MB, from wait4's resource usage."""
    cpu, rss = 0.0, 0
    deadline = time.monotonic() + timeout
    for p in procs:
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                p.returncode = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{topic}: a contender did not finish within {timeout:.0f} s")
            time.sleep(0.02)
        cpu += usage.ru_utime + usage.ru_stime
        rss += usage.ru_maxrss // 1024
    wall = time.monotonic()
    if topic is None:
        return wall, cpu, rss
    have = topic_count(topic)
    if have < target:
        raise RuntimeError(f"{topic}: {have} records, expected at least {target}")
    return wall, cpu, rss


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--updates", type=int, default=200_000)
    ap.add_argument("--per-txn", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--binary", default=str(REPO / ".build/release/pinpipe"))
    args = ap.parse_args()
    results: dict[str, list[tuple[float, float, int]]] = {"pinpipe": [], "pinpipe exactly_once": [],
                                                          "pg_recvlogical | kcat": [], REFERENCE: []}
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
            c.execute(f"SELECT pg_create_logical_replication_slot('ref_{tag}', 'pgoutput')")
        # pinpipe: only the geo table matters; the other two are empty copies so its configuration is complete.
        with pg() as c:
            for t in ("pinterest_data", "user_data"):
                c.execute(f"CREATE TABLE {t}_{tag} (LIKE {t} INCLUDING ALL)")
        clean = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET",)}
        # Two pinpipe contenders, each with its own slot, topics and state: at least once and exactly once.
        configs, bases = {}, {}
        for name, prefix, eos in (("pinpipe", tag, "false"), ("pinpipe exactly_once", f"{tag}e", "true")):
            env = dict(os.environ, PINPIPE_CONFIG_TABLE_SUFFIX=f"_{tag}", PINPIPE_CONFIG_ROLES="produce",
                       PINPIPE_CONFIG_STATE_DIR=str(work / f"state-{prefix}"), PINPIPE_CONFIG_EXACTLY_ONCE=eos)
            cfg = work / f"pinpipe-{prefix}.yaml"
            cfg.write_text(subprocess.run(["bash", str(REPO / "deploy/dev/pinpipe-stack-config.sh"), prefix, "cdc"],
                                          env=env, check=True, capture_output=True, text=True).stdout)
            subprocess.run([args.binary, "cdc", "setup", "-c", str(cfg)], check=True, capture_output=True)
            subprocess.run([args.binary, "run", "-c", str(cfg), "--once"], check=True, capture_output=True, env=clean)
            configs[name] = (cfg, f"{prefix}.geo")
            bases[name] = topic_count(f"{prefix}.geo")
        # The load: single-row updates, --per-txn to a transaction.
        t0 = time.monotonic()
        with pg() as c:
            for i in range(0, args.updates, args.per_txn):
                with c.transaction():
                    for j in range(args.per_txn):
                        c.execute(f"UPDATE {table} SET country = %s WHERE ind = %s", (f"c{i + j}", (i + j) % args.rows))
        with pg() as c:
            end = c.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        print(f"repeat {repeat + 1}: {args.updates} updates written in {time.monotonic() - t0:.1f} s; WAL end {end}", flush=True)

        # Every contender drains the same backlog and exits: pinpipe --once stops at the WAL end of its start once
        # Kafka acknowledged (exactly once: committed) everything; pg_recvlogical --endpos stops at the load's WAL
        # end, and kcat then sends what it read and exits at end of input (kcat reads its input in blocks, so it
        # holds the last lines until the pipe closes: a peer without an end would never be measured complete).
        order = list(results)
        order = order[repeat % len(order):] + order[:repeat % len(order)]
        for name in order:
            start = time.monotonic()
            if name.startswith("pinpipe"):
                cfg, topic = configs[name]
                log = open(work / f"{topic}.log", "wb")
                procs = [subprocess.Popen([args.binary, "run", "-c", str(cfg), "--once"], stdout=log,
                                          stderr=subprocess.STDOUT, env=clean)]
                target = bases[name] + args.updates
            elif name == REFERENCE:
                # The stock client on pinpipe's stream (pgoutput), writing the messages to /dev/null: what reading
                # the stream costs without Kafka.
                topic = None
                procs = [subprocess.Popen(["pg_recvlogical", "-h", PG["host"], "-p", str(PG["port"]), "-U", PG["user"],
                                           "-d", PG["dbname"], "--slot", f"ref_{tag}", "--start", "--endpos", str(end),
                                           "-o", "proto_version=1", "-o", f"publication_names=peer_{tag}",
                                           "-f", "/dev/null"], env=dict(os.environ, PGPASSWORD=PG["password"]))]
                target = 0
            else:
                topic = f"{tag}.peer"
                recv = subprocess.Popen(["pg_recvlogical", "-h", PG["host"], "-p", str(PG["port"]), "-U", PG["user"],
                                         "-d", PG["dbname"], "--slot", f"peer_{tag}", "--start", "--endpos", str(end),
                                         "-o", "format-version=2", "-o", "include-transaction=false", "-f", "-"],
                                        stdout=subprocess.PIPE, env=dict(os.environ, PGPASSWORD=PG["password"]))
                kcat = subprocess.Popen(["kcat", "-P", "-b", BOOTSTRAP, "-t", topic, "-X", "acks=all"], stdin=recv.stdout)
                recv.stdout.close()
                procs = [recv, kcat]
                target = args.updates
            done, cpu, rss = drain(procs, topic, target, 600)
            results[name].append((done - start, cpu, rss))
        for cfg, _ in configs.values():
            subprocess.run([args.binary, "cdc", "drop", "-c", str(cfg)], capture_output=True)
        with pg() as c:
            c.execute(f"SELECT pg_drop_replication_slot('peer_{tag}')")
            c.execute(f"SELECT pg_drop_replication_slot('ref_{tag}')")
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
    peer = statistics.median(r[0] for r in results["pg_recvlogical | kcat"])
    for name in ("pinpipe", "pinpipe exactly_once"):
        mine = statistics.median(r[0] for r in results[name])
        faster = sum(a[0] < b[0] for a, b in zip(results[name], results["pg_recvlogical | kcat"]))
        print(f"{name}: {peer / mine:.2f}x the peer's rate (medians); faster in {faster} of {args.repeats} repeats")


if __name__ == "__main__":
    sys.exit(main())
