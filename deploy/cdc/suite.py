#!/usr/bin/env python3
"""The change data capture suite (run it through deploy/cdc/run).

Each scenario copies the stack's three tables (a suffix per scenario), prepares them with `pinpipe cdc setup`,
runs `pinpipe run` in `source.mode: cdc` (produce and sink in one process, at least once) while writers insert,
update and delete in multi-statement transactions, and then rebuilds each table's final state independently of
pinpipe: from Kafka (every record in offset order per partition: the last record of a key wins, a
`pinpipe.op=d` record removes it) and from S3 (the sink's objects in offset order, `"__deleted": true` removes).
Both must equal the table, key for key and value for value (the checked columns are the ones the writers change).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3
import psycopg
from confluent_kafka import Consumer, KafkaError, TopicPartition

REPO = Path(__file__).resolve().parents[2]
DEV = Path(os.environ.get("PINPIPE_DEV_DIR") or REPO / ".dev")
# (topic suffix, stack table, key column, the column the writers change)
TABLES = (("pin", "pinterest_data", "index", "title"), ("geo", "geolocation_data", "ind", "country"),
          ("user", "user_data", "ind", "first_name"))
T0 = time.monotonic()
failures: list[str] = []


def log(msg: str) -> None:
    print(f"[cdc {time.monotonic() - T0:6.1f}s] {msg}", flush=True)


def stack_env() -> dict[str, str]:
    env = {}
    for line in (DEV / "stack.env").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            env[k] = v
    return env


ENV = stack_env()
BIN = os.environ.get("PINPIPE_BIN") or str(REPO / ".build/debug/pinpipe")
PG = dict(host=ENV["PINPIPE_PG_HOST"], port=int(ENV["PINPIPE_PG_PORT"]), user=ENV["PINPIPE_PG_USER"],
          password=ENV["PINPIPE_PG_PASSWORD"], dbname=ENV["PINPIPE_PG_DATABASE"])


def pg(autocommit: bool = True):
    return psycopg.connect(**PG, autocommit=autocommit, connect_timeout=10)


class Scenario:
    def __init__(self, name: str, run_id: str, rows: int, eos: bool = False, txn_records: int = 50000):
        self.name = name
        self.suffix = f"_cdc{run_id}_{name.replace('-', '_')}"
        self.prefix = f"cdc{run_id}{name.replace('-', '')}"
        self.dir = DEV / "cdc" / run_id / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.rows = rows
        self.eos = eos
        self.procs: list[subprocess.Popen] = []
        self.next_key = {t: rows + 1_000_000 for t, *_ in TABLES}
        self.config = self.dir / "pinpipe.yaml"
        env = dict(os.environ, PINPIPE_CONFIG_TABLE_SUFFIX=self.suffix, PINPIPE_CONFIG_STATE_DIR=str(self.dir / "state"),
                   PINPIPE_CONFIG_GROUP=f"g-{self.prefix}", PINPIPE_CONFIG_EXACTLY_ONCE="true" if eos else "false",
                   PINPIPE_CONFIG_TXN_MAX_RECORDS=str(txn_records),
                   PINPIPE_CONFIG_MAX_AGE="1s")
        text = subprocess.run(["bash", str(REPO / "deploy/dev/pinpipe-stack-config.sh"), self.prefix, "cdc"],
                              env=env, check=True, capture_output=True, text=True).stdout
        self.config.write_text(text)

    def table(self, name: str) -> str:
        return next(f"{t}{self.suffix}" for n, t, *_ in TABLES if n == name)

    def create_tables(self) -> None:
        with pg() as c:
            for name, table, key, _ in TABLES:
                c.execute(f"DROP TABLE IF EXISTS {table}{self.suffix}")
                c.execute(f"CREATE TABLE {table}{self.suffix} (LIKE {table} INCLUDING ALL)")
                c.execute(f'INSERT INTO {table}{self.suffix} SELECT * FROM {table} WHERE "{key}" < %s', (self.rows,))
        out = subprocess.run([BIN, "cdc", "setup", "-c", str(self.config)], capture_output=True, text=True)
        (self.dir / "cdc-setup.out").write_text(out.stdout + out.stderr)
        if out.returncode != 0:
            raise RuntimeError(f"pinpipe cdc setup failed: {out.stdout}{out.stderr}")

    def start(self, once: bool = False) -> subprocess.Popen:
        logf = open(self.dir / "pinpipe.log", "ab")
        env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "LD_LIBRARY_PATH")}
        p = subprocess.Popen([BIN, "run", "-c", str(self.config)] + (["--once"] if once else []),
                             stdout=logf, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.procs.append(p)
        return p

    # --- writers ---------------------------------------------------------------------------------------------

    def write_step(self, conn, rng: random.Random) -> None:
        """One transaction of 1-4 statements: inserts, updates and deletes over the three tables."""
        with conn.transaction():
            for _ in range(rng.randint(1, 4)):
                name, table, key, column = rng.choice(TABLES)
                t = f"{table}{self.suffix}"
                op = rng.random()
                if op < 0.4:
                    k = self.next_key[name]
                    self.next_key[name] += 1
                    conn.execute(f'INSERT INTO {t} SELECT * FROM {table} ORDER BY "{key}" LIMIT 1 ON CONFLICT DO NOTHING')
                    conn.execute(f'UPDATE {t} SET "{key}" = %s WHERE "{key}" = (SELECT min("{key}") FROM {table})', (k,))
                elif op < 0.8:
                    conn.execute(f'UPDATE {t} SET "{column}" = %s WHERE "{key}" = %s',
                                 (f"w{rng.randrange(10**9)}", rng.randrange(self.rows)))
                else:
                    conn.execute(f'DELETE FROM {t} WHERE "{key}" = %s', (rng.randrange(self.rows),))

    def writers(self, seconds: float, seed: int, threads: int = 2) -> list[threading.Thread]:
        stop_at = time.monotonic() + seconds
        counts = {"steps": 0}
        lock = threading.Lock()

        def work(n: int) -> None:
            rng = random.Random(seed * 100 + n)
            conn = None
            while time.monotonic() < stop_at:
                try:
                    conn = conn or pg(autocommit=True)
                    self.write_step(conn, rng)
                    with lock:
                        counts["steps"] += 1
                except psycopg.Error:
                    conn = None
                    time.sleep(0.2)
                time.sleep(0.005)

        # One writer inserts new keys: the key counter is shared, so only thread 0 inserts.
        ts = [threading.Thread(target=work, args=(n,), daemon=True) for n in range(threads)]
        for t in ts:
            t.start()
        self.write_counts = counts
        return ts

    # --- waiting and checking ------------------------------------------------------------------------------

    def wait_caught_up(self, timeout: float = 120) -> bool:
        """The slot confirmed everything written so far (the WAL position after the writers stopped)."""
        with pg() as c:
            target = c.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
            slot = f"pinpipe_{self.prefix}"
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                row = c.execute("SELECT confirmed_flush_lsn >= %s::pg_lsn FROM pg_replication_slots WHERE slot_name = %s",
                                (target, slot)).fetchone()
                if row and row[0]:
                    return True
                time.sleep(0.5)
        return False

    def truth(self) -> dict[str, dict[int, str]]:
        out = {}
        with pg() as c:
            for name, table, key, column in TABLES:
                out[name] = {k: v for k, v in c.execute(f'SELECT "{key}", "{column}" FROM {table}{self.suffix}')}
        return out

    def kafka_state(self) -> tuple[dict[str, dict[int, str]], int, int, int]:
        """Final state per table from Kafka (committed records only); also the records read, the changes seen
        twice (same pinpipe.lsn, key and op) and the snapshot rows seen twice (op r, same key)."""
        c = Consumer({"bootstrap.servers": ENV["PINPIPE_KAFKA_BOOTSTRAP"], "group.id": f"cdc-check-{time.time()}",
                      "enable.auto.commit": False, "enable.partition.eof": True, "isolation.level": "read_committed"})
        state, records, seen, twice, snapshot_twice = {}, 0, set(), 0, 0
        try:
            for name, _, key, column in TABLES:
                topic = f"{self.prefix}.{name}"
                parts = c.list_topics(topic, timeout=10).topics[topic].partitions
                tps = [TopicPartition(topic, p, 0) for p in parts]
                highs = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts}
                c.assign(tps)
                done = {p for p, h in highs.items() if h == 0}
                per: dict[int, dict[int, str]] = {p: {} for p in parts}  # a key lives in one partition
                while len(done) < len(parts):
                    for m in c.consume(1000, 1.0):
                        if m.error():
                            if m.error().code() == KafkaError._PARTITION_EOF:
                                done.add(m.partition())
                            continue
                        records += 1
                        h = dict((k, v.decode()) for k, v in (m.headers() or []))
                        op = h.get("pinpipe.op")
                        table = per[m.partition()]
                        if op == "t":
                            table.clear()  # the truncate marker is in every partition, in order
                            continue
                        k = int(m.key())
                        mark = (name, k, "r") if op == "r" else (name, h.get("pinpipe.lsn"), k, op)
                        if mark in seen:
                            if op == "r":
                                snapshot_twice += 1
                            else:
                                twice += 1
                        seen.add(mark)
                        if op == "d":
                            table.pop(k, None)
                        else:
                            table[k] = json.loads(m.value())[column]
                        if m.offset() + 1 >= highs[m.partition()]:
                            done.add(m.partition())
                c.unassign()
                state[name] = {k: v for part in per.values() for k, v in part.items()}
        finally:
            c.close()
        return state, records, twice, snapshot_twice

    def s3_state(self) -> dict[str, dict[int, str]]:
        s3 = boto3.client("s3", endpoint_url=ENV["PINPIPE_S3_ENDPOINT"], region_name=ENV["PINPIPE_S3_REGION"],
                          aws_access_key_id=ENV["PINPIPE_S3_ACCESS_KEY"], aws_secret_access_key=ENV["PINPIPE_S3_SECRET_KEY"])
        bucket = ENV["PINPIPE_S3_BUCKET"]
        state = {}
        for name, _, key, column in TABLES:
            topic = f"{self.prefix}.{name}"
            objects = []
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"topics/{topic}/"):
                for o in page.get("Contents", []):
                    base = o["Key"].rsplit("/", 1)[-1]
                    if base.startswith(topic + "+"):
                        _, part, offset = base[:-len(".json")].rsplit("+", 2)
                        objects.append((int(part), int(offset), o["Key"]))
            per: dict[int, dict[int, str]] = {}
            for part, _, k in sorted(objects):
                table = per.setdefault(part, {})
                for line in s3.get_object(Bucket=bucket, Key=k)["Body"].read().decode().splitlines():
                    v = json.loads(line)
                    if v.get("__truncated"):
                        table.clear()
                    elif v.get("__deleted"):
                        table.pop(v[key], None)
                    else:
                        table[v[key]] = v[column]
            state[name] = {k: v for part in per.values() for k, v in part.items()}
        return state

    def compare(self, label: str, got: dict, truth: dict, report: bool = True) -> bool:
        if not report:
            return all(got.get(name, {}) == rows for name, rows in truth.items())
        ok = True
        for name, rows in truth.items():
            have = got.get(name, {})
            missing = rows.keys() - have.keys()
            extra = have.keys() - rows.keys()
            wrong = [k for k in rows.keys() & have.keys() if rows[k] != have[k]]
            if missing or extra or wrong:
                ok = False
                fail(f"{self.name}: {label} {name}: {len(missing)} rows missing {sorted(missing)[:5]}, {len(extra)} deleted rows"
                     f" still present {sorted(extra)[:5]}, {len(wrong)} stale values {sorted(wrong)[:5]}")
        return ok

    def final_check(self, settle: float = 8) -> dict:
        time.sleep(settle)  # the sink's batches roll after max_age
        truth = self.truth()
        kafka, records, twice, snapshot_twice = self.kafka_state()
        # The sink may still be joining its group (a restarted member waits out the killed ones' sessions):
        # give it up to 90 s to store what Kafka holds.
        deadline = time.monotonic() + 90
        s3 = self.s3_state()
        while not self.compare("S3", s3, truth, report=False) and time.monotonic() < deadline:
            time.sleep(3)
            s3 = self.s3_state()
        ok_k = self.compare("Kafka", kafka, truth)
        ok_s = self.compare("S3", s3, truth)
        if self.eos and (twice or snapshot_twice):
            fail(f"{self.name}: exactly once, yet Kafka holds {twice} changes twice (same lsn, key, op) and "
                 f"{snapshot_twice} snapshot rows twice")
        return {"rows": sum(len(v) for v in truth.values()), "records": records, "relsn": twice,
                "resnap": snapshot_twice, "kafka": ok_k, "s3": ok_s}

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(60)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)

    def cleanup(self) -> None:
        self.stop()
        subprocess.run([BIN, "cdc", "drop", "-c", str(self.config)], capture_output=True)
        with pg() as c:
            for _, table, *_ in TABLES:
                c.execute(f"DROP TABLE IF EXISTS {table}{self.suffix}")


def fail(msg: str) -> None:
    failures.append(msg)
    log("FAIL " + msg)


def rss_peak(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


# --- scenarios -------------------------------------------------------------------------------------------------

def consistency(s: Scenario, args) -> str:
    """Writers run while the snapshot is taken and afterwards; the final states must equal the tables."""
    s.create_tables()
    ws = s.writers(args.write_seconds, args.seed)
    time.sleep(0.3)
    p = s.start()
    for w in ws:
        w.join()
    if not s.wait_caught_up():
        fail(f"{s.name}: the slot did not confirm the writers' last change within 120 s")
    r = s.final_check()
    s.stop()
    if p.returncode != 0:
        fail(f"{s.name}: pinpipe exited with status {p.returncode} after SIGTERM")
    # The slot confirmed everything: the last STATUS pinpipe reports must say so (not the lag of a round before).
    final = [l for l in (s.dir / "pinpipe.log").read_text(errors="replace").splitlines() if "drained and stopped" in l]
    if not final or "replication lag 0 bytes" not in final[-1]:
        fail(f"{s.name}: the final status does not report the caught-up slot: {final[-1:] or 'no final status line'}")
    return f"{s.write_counts['steps']} write transactions; {r['rows']} rows; {r['records']} records; Kafka {'=' if r['kafka'] else '≠'} tables, S3 {'=' if r['s3'] else '≠'} tables; re-sent changes {r['relsn']}; final status lag 0 bytes"


def kills(s: Scenario, args) -> str:
    """kill -9 at random moments while the writers run; each restart resumes from the slot (exactly once: from
    the position committed with the records, also in the middle of the snapshot)."""
    s.create_tables()
    rng = random.Random(args.seed)
    ws = s.writers(args.kills * 3.0 + 5, args.seed + 1)
    confirmed = mid_snapshot = 0
    logfile = s.dir / "pinpipe.log"
    for i in range(args.kills):
        start = logfile.stat().st_size if logfile.exists() else 0
        p = s.start()
        if i < 2:
            # The first two kills land while the snapshot (first its start, then its rest) is being taken.
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and p.poll() is None:
                with open(logfile, "rb") as f:
                    f.seek(start)
                    if b"CDC snapshot starting" in f.read():
                        break
                time.sleep(0.02)
            time.sleep(rng.uniform(0.05, 0.3))
        else:
            time.sleep(rng.uniform(0.5, 4.0))
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(30)
            confirmed += p.returncode == -signal.SIGKILL
            with open(logfile, "rb") as f:
                f.seek(start)
                part = f.read().decode(errors="replace")
            mid_snapshot += "CDC snapshot starting" in part and "CDC snapshot delivered" not in part
    p = s.start()
    for w in ws:
        w.join()
    if not s.wait_caught_up():
        fail(f"{s.name}: the slot did not confirm the writers' last change within 120 s")
    r = s.final_check()
    s.stop()
    if confirmed < args.kills:
        fail(f"{s.name}: only {confirmed} of {args.kills} kills hit a running pinpipe")
    if s.eos and mid_snapshot == 0:
        fail(f"{s.name}: no kill hit the snapshot (exactly once must resume a snapshot in the middle)")
    return (f"{'exactly once' if s.eos else 'at least once'}: kill -9 {confirmed}/{args.kills} ({mid_snapshot} during "
            f"the snapshot); {s.write_counts['steps']} write transactions; {r['rows']} rows; "
            f"{r['records']} records; Kafka {'=' if r['kafka'] else '≠'} tables, S3 {'=' if r['s3'] else '≠'} tables; "
            f"changes twice (same lsn, key, op) {r['relsn']}, snapshot rows twice {r['resnap']}")


def big_transaction(s: Scenario, args) -> str:
    """One transaction of N inserts: every one arrives, and memory stays bounded (the peak RSS is reported)."""
    s.rows = 10
    # A low warning threshold: the transaction's WAL must be reported while it is streamed.
    text = s.config.read_text()
    s.config.write_text(text.replace("  reconnect:", "  cdc: {lag_warning_bytes: 1000000}\n  reconnect:", 1))
    s.create_tables()
    p = s.start()
    time.sleep(3)
    n = args.big
    with pg() as c:
        geo = f"geolocation_data{s.suffix}"
        c.execute(f"INSERT INTO {geo} SELECT g, now()::timestamp, 1.5, 2.5, 'big ' || g FROM generate_series(1000000, 1000000 + %s - 1) g", (n,))
    if not s.wait_caught_up(timeout=300):
        fail(f"{s.name}: the slot did not confirm the big transaction within 300 s")
    peak = rss_peak(p.pid)
    r = s.final_check()
    s.stop()
    warned = "holds back more WAL than source.cdc.lag_warning_bytes" in (s.dir / "pinpipe.log").read_text()
    if not warned:
        fail(f"{s.name}: no lag warning although the transaction's WAL exceeded lag_warning_bytes (1 MB)")
    return (f"{'exactly once, ' if s.eos else ''}{n} rows in one transaction; {r['records']} records; Kafka {'=' if r['kafka'] else '≠'} tables, "
            f"S3 {'=' if r['s3'] else '≠'} tables; peak RSS {peak} MB; lag warning logged {warned}")


def truncate(s: Scenario, args) -> str:
    """TRUNCATE is reported as a pinpipe.op=t record and in the journal; rows written after it arrive."""
    s.rows = 50
    s.create_tables()
    p = s.start()
    time.sleep(3)
    with pg() as c:
        c.execute(f"TRUNCATE user_data{s.suffix}")
        c.execute(f"INSERT INTO user_data{s.suffix} SELECT * FROM user_data WHERE ind < 5")
    if not s.wait_caught_up():
        fail(f"{s.name}: the slot did not confirm the truncate within 120 s")
    r = s.final_check()
    s.stop()
    kafka_ok_note = f"Kafka {'=' if r['kafka'] else '≠'} tables, S3 {'=' if r['s3'] else '≠'} tables"
    logged = "TRUNCATE of a captured table" in (s.dir / "pinpipe.log").read_text()
    if not logged:
        fail(f"{s.name}: the journal has no TRUNCATE line")
    return f"{r['records']} records (the marker once per partition); {kafka_ok_note}; logged {logged}"


def pg_restart(s: Scenario, args) -> str:
    """PostgreSQL restarts mid-stream (the stack's fast restart): the stream resumes from the slot."""
    s.create_tables()
    ws = s.writers(12, args.seed + 2, threads=1)
    p = s.start()
    time.sleep(4)
    out = subprocess.run(["bash", str(REPO / "deploy/dev/stack"), "restart", "postgres"], capture_output=True, text=True)
    for w in ws:
        w.join()
    if not s.wait_caught_up():
        fail(f"{s.name}: the slot did not confirm the writers' last change within 120 s after the restart")
    r = s.final_check()
    s.stop()
    resumed = "PostgreSQL replication unavailable" in (s.dir / "pinpipe.log").read_text()
    if not resumed:
        fail(f"{s.name}: pinpipe logged no replication outage (did the restart happen? {out.stdout.strip()})")
    return f"{out.stdout.strip()}; {r['records']} records; Kafka {'=' if r['kafka'] else '≠'} tables, S3 {'=' if r['s3'] else '≠'} tables"


SCENARIOS = {"consistency": consistency, "kills": kills, "kills-eos": kills, "big-transaction": big_transaction,
             "big-transaction-eos": big_transaction, "truncate": truncate, "pg-restart": pg_restart}
# The exactly-once variants: kafka.exactly_once, and transactions small enough that a kill lands between commits
# of the snapshot and of one big PostgreSQL transaction.
EOS_SETTINGS = {"kills-eos": dict(eos=True, txn_records=1000, rows=10000),
                "big-transaction-eos": dict(eos=True, txn_records=50000)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=3000)
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--big", type=int, default=200_000)
    ap.add_argument("--write-seconds", type=float, default=15)
    ap.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    ap.add_argument("--only", nargs="*", default=list(SCENARIOS))
    args = ap.parse_args()
    run_id = time.strftime("%H%M%S")
    log(f"run {run_id}: rows {args.rows}, kills {args.kills}, big {args.big}, seed {args.seed}; pinpipe {BIN}")
    results = []
    for name in args.only:
        settings = dict(EOS_SETTINGS.get(name, {}))
        s = Scenario(name, run_id, settings.pop("rows", args.rows), **settings)
        t0 = time.monotonic()
        before = len(failures)
        try:
            summary = SCENARIOS[name](s, args)
        except Exception as e:  # noqa: BLE001
            summary = f"error: {e!r}"
            fail(f"{name}: {e!r}")
        finally:
            s.cleanup()
        verdict = "PASS" if len(failures) == before else "FAIL"
        results.append((name, verdict, time.monotonic() - t0, summary))
        log(f"{name}: {verdict} in {time.monotonic() - t0:.0f} s: {summary}")
    print()
    for name, verdict, secs, summary in results:
        print(f"{name:16} {verdict:4} {secs:5.0f} s  {summary}")
    print(f"cdc: {sum(1 for r in results if r[1] == 'PASS')} passed, {sum(1 for r in results if r[1] != 'PASS')} failed in {time.monotonic() - T0:.0f} s; logs in {DEV / 'cdc' / run_id}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
