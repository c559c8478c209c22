#!/usr/bin/env python3
"""The chaos suite (run it through deploy/chaos/run, which installs what it needs first).

Each scenario gets its own Kafka cluster (`pinpipe dev-broker`), its own tables (copies of the stack's schema
with a suffix), topic prefix, consumer group, state directory and S3 prefix, so scenarios never see each
other's data. Each one injects its fault, proves that the fault happened, runs the pipeline to completion,
then reads the tables, Kafka and S3 with deploy/chaos/checker.py and runs `pinpipe verify`, whose exit status
must agree with the checker.
"""
from __future__ import annotations

import argparse
import collections
import concurrent.futures
import contextlib
import csv
import dataclasses
import io
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

import psycopg
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

sys.path.insert(0, str(Path(__file__).resolve().parent))
import checker  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEV = Path(os.environ.get("PINPIPE_DEV_DIR") or REPO / ".dev")
TABLES = (("pin", "pinterest_data", "index"), ("geo", "geolocation_data", "ind"), ("user", "user_data", "ind"))
SCENARIOS = ("kill-both", "kill-producer", "kill-sink", "broker-freeze-start", "broker-freeze-mid", "s3-outage",
             "pg-restart", "retention-loss", "malformed")
T0 = time.monotonic()


def log(msg: str) -> None:
    print(f"[chaos {time.monotonic() - T0:6.1f}s] {msg}", flush=True)


class ScenarioFailed(Exception):
    """A scenario cannot go on (its setup or a required step failed)."""


# --- processes ----------------------------------------------------------------------------------------------

class Proc:
    """A child process that this suite started (its own session), its output in a log file."""

    registry: list["Proc"] = []

    def __init__(self, name: str, argv: list[str], log_path: Path, env: dict | None = None):
        self.name, self.log_path = name, log_path
        self.log = open(log_path, "ab")
        self.offset = self.log.tell()
        self.log.write(f"--- {time.strftime('%H:%M:%S')} start {name}: {' '.join(argv)}\n".encode())
        self.log.flush()
        self.started = time.monotonic()
        self.p = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  env=env, start_new_session=True)
        self.pid = self.p.pid
        Proc.registry.append(self)

    def alive(self) -> bool:
        return self.p.poll() is None

    def text(self) -> str:
        with open(self.log_path, "rb") as f:
            f.seek(self.offset)
            return f.read().decode("utf-8", "replace")

    def wait_for_log(self, pattern: str, timeout: float, since: int = 0) -> bool:
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while time.monotonic() < deadline:
            if rx.search(self.text()[since:]):
                return True
            if not self.alive():
                return bool(rx.search(self.text()[since:]))
            time.sleep(0.05)
        return False

    def wait(self, timeout: float) -> int | None:
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill9(self) -> dict:
        """SIGKILL, reaped; confirmed when the exit was by signal 9 and the PID is gone."""
        was_alive = self.alive()
        if was_alive:
            os.kill(self.pid, signal.SIGKILL)
        rc = self.wait(30)
        gone = not Path(f"/proc/{self.pid}").exists()
        return {"was_alive": was_alive, "rc": rc, "gone": gone, "by_signal_9": rc == -signal.SIGKILL}

    def term(self, timeout: float = 60) -> int | None:
        if self.alive():
            os.kill(self.pid, signal.SIGTERM)
        rc = self.wait(timeout)
        if rc is None:
            os.kill(self.pid, signal.SIGKILL)
            self.wait(10)
        return rc

    def close(self) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGCONT)
            self.term(20)
        self.log.close()
        if self in Proc.registry:
            Proc.registry.remove(self)


def proc_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "?"


# --- the data -----------------------------------------------------------------------------------------------

class Data:
    """`pinpipe generate` rows, per table a list of raw CSV records (keys 0..n-1), generated once per run."""

    def __init__(self, binary: Path, rows: int, work: Path):
        self.records: dict[str, list[str]] = {}
        for name, _, _ in TABLES:
            path = work / f"{name}.csv"
            subprocess.run([str(binary), "generate", "--rows", str(rows), "--seed", "100", "--format", "csv",
                            "--table", name, "--out", str(path)], check=True, stdout=subprocess.DEVNULL)
            lines = path.read_text().splitlines(keepends=True)
            reader = csv.reader(lines)
            records, start = [], 0
            for _ in reader:
                records.append("".join(lines[start:reader.line_num]))
                start = reader.line_num
            if len(records) != rows:
                raise RuntimeError(f"{path}: {len(records)} records, {rows} expected")
            self.records[name] = records
            path.unlink()

    def chunk(self, name: str, first: int, end: int) -> str:
        return "".join(self.records[name][first:end])


# --- the suite ----------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Result:
    scenario: str
    eos: str
    expected: int = 0
    kafka: int = 0
    s3: int = 0
    s3_lines: int = 0
    dup_kafka: int = 0
    dup_s3: int = 0
    dup_offsets: int = 0
    missing: int = 0
    loss: int = 0
    fault: str = ""
    fault_ok: bool = False
    duration: float = 0.0
    failures: list = dataclasses.field(default_factory=list)
    notes: list = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.fault_ok and not self.failures


class Suite:
    def __init__(self, args):
        self.args = args
        self.run_id = f"{time.strftime('%m%d%H%M%S')}{random.randrange(16**2):02x}"
        self.work = DEV / "chaos" / self.run_id
        self.work.mkdir(parents=True, exist_ok=True)
        self.started_stack = False
        self.env: dict[str, str] = {}

    # --- preparation
    def prepare(self) -> None:
        a = self.args
        log(f"run {self.run_id}: {a.rows} rows per table, {a.kills} kills, eos {a.eos}, seed {a.seed}; work dir {self.work}")
        out = subprocess.run([str(REPO / "deploy/bench/build-broker.sh")], capture_output=True, text=True)
        if out.returncode != 0:
            sys.stderr.write(out.stderr[-3000:])
            raise SystemExit("chaos: deploy/bench/build-broker.sh failed")
        self.big_lib = out.stdout.strip().splitlines()[-1]
        log(f"big-volume librdkafka for the brokers: {self.big_lib}")
        status = subprocess.run([str(REPO / "deploy/dev/stack"), "status"], capture_output=True, text=True)
        self.started_stack = status.returncode != 0
        env = dict(os.environ, PINPIPE_STACK_BROKER_LIBRARY_PATH=self.big_lib)
        binary = self.binary()
        env["PINPIPE_BIN"] = str(binary)
        up = subprocess.run([str(REPO / "deploy/dev/stack"), "up"], env=env, capture_output=True, text=True)
        if up.returncode != 0:
            sys.stderr.write(up.stdout[-2000:] + up.stderr[-3000:])
            raise SystemExit("chaos: deploy/dev/stack up failed")
        for line in (DEV / "stack.env").read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                self.env[k] = v
        self.pg = {"host": self.env["PINPIPE_PG_HOST"], "port": int(self.env["PINPIPE_PG_PORT"]),
                   "user": self.env["PINPIPE_PG_USER"], "password": self.env["PINPIPE_PG_PASSWORD"],
                   "dbname": self.env["PINPIPE_PG_DATABASE"]}
        self.knows_exactly_once = self.knows_key("exactly_once: false")
        log(f"this build {'knows' if self.knows_exactly_once else 'does not know'} kafka.exactly_once")
        help_text = subprocess.run([str(self.bin), "verify", "--help"], capture_output=True, text=True).stdout
        self.verify_flags = [f for f in ("--deep", "--require-complete") if f in help_text]
        log(f"pinpipe verify flags used: {' '.join(self.verify_flags) or '(none: this build has neither --deep nor --require-complete)'}")
        t = time.monotonic()
        self.data = Data(self.bin, a.rows * 2 + 1000, self.work)
        log(f"generated {a.rows * 2 + 1000} rows per table in {time.monotonic() - t:.1f} s")

    def knows_key(self, kafka_line: str) -> bool:
        """Whether `pinpipe check-config` accepts a key in the kafka section (unknown keys are errors)."""
        text = subprocess.run([str(REPO / "deploy/dev/pinpipe-stack-config.sh"), "chaoscheck"], capture_output=True,
                              text=True, check=True).stdout
        key, value = kafka_line.split(":", 1)
        path = self.work / "check-config.yaml"
        path.write_text(set_key(text, "kafka", key.strip(), value.strip()))
        out = subprocess.run([str(self.bin), "check-config", "--config", str(path)], capture_output=True, text=True)
        return "unknown key" not in (out.stdout + out.stderr)

    def binary(self) -> Path:
        """The pinpipe binary: --binary, else `swift build --product pinpipe` (debug, like the stack), copied into
        the run directory so that a concurrent rebuild cannot change what runs."""
        if self.args.binary:
            source = Path(self.args.binary)
        else:
            t = time.monotonic()
            build = subprocess.run(["swift", "build", "--product", "pinpipe"], cwd=REPO, capture_output=True, text=True)
            if build.returncode != 0:
                sys.stderr.write(build.stdout[-3000:] + build.stderr[-3000:])
                raise SystemExit("chaos: swift build --product pinpipe failed")
            bin_dir = subprocess.run(["swift", "build", "--show-bin-path"], cwd=REPO, capture_output=True,
                                     text=True, check=True).stdout.strip()
            source = Path(bin_dir) / "pinpipe"
            log(f"swift build --product pinpipe: {time.monotonic() - t:.0f} s")
        self.bin = self.work / "pinpipe"
        shutil.copy2(source, self.bin)
        return self.bin

    def teardown(self) -> None:
        for p in list(Proc.registry):
            p.close()
        if self.started_stack and not self.args.keep_stack:
            subprocess.run([str(REPO / "deploy/dev/stack"), "down"], capture_output=True)
            log("stack stopped (this run had started it)")

    def pg_connect(self, autocommit: bool = False):
        return psycopg.connect(**self.pg, connect_timeout=10, autocommit=autocommit)


# --- helpers of one scenario --------------------------------------------------------------------------------

class Inserter(threading.Thread):
    """A live insert load: the next generated rows into the scenario's three tables, in one transaction per
    step, at a steady rate. Survives a database restart (reconnects and resumes after the highest key)."""

    def __init__(self, scenario: "Scenario", first: int, rate: float, limit: int):
        super().__init__(daemon=True)
        self.s, self.next, self.rate, self.end = scenario, first, rate, first + limit
        self.stop_event = threading.Event()
        self.errors = 0
        self.inserted = 0
        self.last_error = ""

    def run(self) -> None:
        conn = None
        step = 0.2
        while not self.stop_event.is_set() and self.next < self.end:
            t = time.monotonic()
            try:
                if conn is None or conn.closed:
                    conn = self.s.suite.pg_connect(autocommit=True)
                    with conn.cursor() as cur:
                        cur.execute(f'SELECT coalesce(max("index"), -1) FROM {self.s.table("pinterest_data")}')
                        self.next = max(self.next, cur.fetchone()[0] + 1)
                n = max(1, int(self.rate * step))
                end = min(self.end, self.next + n)
                with conn.transaction():
                    with conn.cursor() as cur:
                        for name, table, _ in TABLES:
                            with cur.copy(f"COPY {self.s.table(table)} FROM STDIN (FORMAT csv)") as copy:
                                copy.write(self.s.suite.data.chunk(name, self.next, end))
                self.inserted += end - self.next
                self.next = end
            except Exception as error:  # noqa: BLE001 - the database may be restarting: reconnect and go on
                self.errors += 1
                self.last_error = f"{type(error).__name__}: {error}"
                with contextlib.suppress(Exception):
                    conn.close()
                conn = None
                self.stop_event.wait(0.3)
                continue
            self.stop_event.wait(max(0.0, step - (time.monotonic() - t)))
        if conn is not None:
            conn.close()

    def stop(self) -> None:
        self.stop_event.set()
        self.join(30)


class Broker:
    """`pinpipe dev-broker` for one scenario: 3 brokers, the three topics created with `partitions` partitions."""

    def __init__(self, s: "Scenario", partitions: int = 3, stock: bool = False):
        self.file = s.dir / "bootstrap"
        env = dict(os.environ)
        env.pop("LD_LIBRARY_PATH", None)
        if not stock:
            env["LD_LIBRARY_PATH"] = s.suite.big_lib
        topics = ",".join(s.topic(name) for name, _, _ in TABLES)
        self.proc = Proc("dev-broker", [str(s.suite.bin), "dev-broker", "--brokers", "3", "--partitions", str(partitions),
                                        "--topics", topics, "--bootstrap-file", str(self.file)], s.dir / "broker.log", env)
        deadline = time.monotonic() + 30
        while not self.file.exists() or not self.file.read_text().strip():
            if not self.proc.alive() or time.monotonic() > deadline:
                raise ScenarioFailed(f"dev-broker did not start (see {s.dir / 'broker.log'})")
            time.sleep(0.05)
        time.sleep(0.05)
        self.bootstrap = self.file.read_text().strip()
        self.pid = self.proc.pid
        maps = Path(f"/proc/{self.pid}/maps").read_text()
        self.library = "big-volume build" if s.suite.big_lib in maps else "Debian's librdkafka"

    def freeze(self) -> str:
        os.kill(self.pid, signal.SIGSTOP)
        for _ in range(50):
            state = proc_state(self.pid)
            if state == "T":
                return state
            time.sleep(0.02)
        return proc_state(self.pid)

    def thaw(self) -> str:
        os.kill(self.pid, signal.SIGCONT)
        time.sleep(0.05)
        return proc_state(self.pid)


class FaultProxy:
    def __init__(self, s: "Scenario", target: str):
        self.out = s.dir / "proxy.out"
        self.proc = subprocess.Popen([sys.executable, str(REPO / "deploy/dev/fault-proxy.py"), target],
                                     stdin=subprocess.PIPE, stdout=open(self.out, "wb"), stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 10
        while not re.search(r"^port \d+", self.read(), re.M):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise ScenarioFailed("the fault proxy did not start")
            time.sleep(0.05)
        self.port = int(re.search(r"^port (\d+)", self.read(), re.M).group(1))

    def read(self) -> str:
        return self.out.read_text() if self.out.exists() else ""

    def command(self, cmd: str) -> bool:
        seen = self.read().count(f"ok {cmd}\n")
        self.proc.stdin.write(f"{cmd}\n".encode())
        self.proc.stdin.flush()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if self.read().count(f"ok {cmd}\n") > seen:
                return True
            time.sleep(0.05)
        return False

    def stats(self) -> dict:
        self.command("stats")
        found = re.findall(r"^stats accepted=(\d+) cut=(\d+) refused=(\d+)", self.read(), re.M)
        a, c, r = map(int, found[-1]) if found else (0, 0, 0)
        return {"accepted": a, "cut": c, "refused": r}

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.proc.stdin.write(b"quit\n")
            self.proc.stdin.flush()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def set_key(text: str, section: str, key: str, value: str) -> str:
    """Sets `section.key` in a rendered configuration: replaces the line if the section has it, else adds it."""
    lines = text.splitlines(keepends=True)
    head = next((i for i, line in enumerate(lines) if line.rstrip("\n") == f"{section}:"), None)
    if head is None:
        return text + f"{section}:\n  {key}: {value}\n"
    i = head + 1
    while i < len(lines) and (lines[i].startswith(" ") or not lines[i].strip()):
        if re.match(rf"^  {re.escape(key)}:", lines[i]):
            lines[i] = f"  {key}: {value}\n"
            return "".join(lines)
        i += 1
    lines.insert(head + 1, f"  {key}: {value}\n")
    return "".join(lines)


class Scenario:
    name = ""
    default_mode = "follow"

    def __init__(self, suite: Suite, eos: bool):
        self.suite, self.eos = suite, eos
        self.eos_label = "on" if eos else "off"
        self.label = f"{self.name}/{self.eos_label}"
        slug = f"{self.name}-{self.eos_label}"
        self.dir = suite.work / slug
        self.dir.mkdir(parents=True, exist_ok=True)
        self.prefix = f"ch{suite.run_id}-{slug}"
        self.group = f"chaos-{suite.run_id}-{slug}"
        self.s3_prefix = f"chaos/{suite.run_id}/{slug}/topics"
        self.dl_prefix = f"chaos/{suite.run_id}/{slug}/dead-letter"
        self.suffix = "_c" + re.sub(r"[^a-z0-9]", "_", f"{suite.run_id}_{slug}".lower())
        self.result = Result(self.name, self.eos_label)
        self.rng = random.Random(f"{suite.args.seed}-{slug}")
        self.rows = suite.args.rows
        self.broker: Broker | None = None
        self.proxy: FaultProxy | None = None
        self.load: Inserter | None = None
        self.expect: dict = {}
        self.procs: list[Proc] = []
        self.s3 = checker.s3_client(self.s3_spec())
        self._probe: Consumer | None = None

    # names
    def topic(self, name: str) -> str:
        return f"{self.prefix}.{name}"

    def table(self, base: str) -> str:
        return f'"{base}{self.suffix}"'

    def topics(self) -> list[str]:
        return [self.topic(n) for n, _, _ in TABLES]

    def s3_spec(self) -> dict:
        e = self.suite.env
        return {"endpoint": e["PINPIPE_S3_ENDPOINT"], "region": e["PINPIPE_S3_REGION"], "bucket": e["PINPIPE_S3_BUCKET"],
                "access_key": e["PINPIPE_S3_ACCESS_KEY"], "secret_key": e["PINPIPE_S3_SECRET_KEY"],
                "prefix": self.s3_prefix, "dead_letter_prefix": self.dl_prefix}

    def note(self, msg: str) -> None:
        self.result.notes.append(msg)
        log(f"{self.label}: {msg}")

    def fail(self, msg: str) -> None:
        self.result.failures.append(msg)
        log(f"{self.label}: FAIL: {msg}")

    # setup
    def create_tables(self, rows: int) -> None:
        with self.suite.pg_connect() as conn:
            for name, table, _ in TABLES:
                conn.execute(f"DROP TABLE IF EXISTS {self.table(table)}")
                conn.execute(f"CREATE TABLE {self.table(table)} (LIKE {table} INCLUDING ALL)")
                with conn.cursor().copy(f"COPY {self.table(table)} FROM STDIN (FORMAT csv)") as copy:
                    copy.write(self.suite.data.chunk(name, 0, rows))

    def insert_rows(self, first: int, end: int) -> None:
        with self.suite.pg_connect() as conn:
            for name, table, _ in TABLES:
                with conn.cursor().copy(f"COPY {self.table(table)} FROM STDIN (FORMAT csv)") as copy:
                    copy.write(self.suite.data.chunk(name, first, end))

    def drop_tables(self) -> None:
        with contextlib.suppress(Exception), self.suite.pg_connect() as conn:
            conn.execute("DROP TABLE IF EXISTS " + ", ".join(self.table(t) for _, t, _ in TABLES))

    def start_load(self, seconds: float, first: int | None = None) -> Inserter:
        """Inserts up to `rows` more rows per table, spread over about `seconds`."""
        limit = self.rows
        self.load = Inserter(self, self.rows if first is None else first, max(50.0, limit / seconds), limit)
        self.load.start()
        return self.load

    def stop_load(self) -> None:
        if self.load is not None and not self.load.stop_event.is_set():
            self.load.stop()
            self.note(f"insert load: {self.load.inserted} rows per table inserted live"
                      + (f", {self.load.errors} retried steps (last: {self.load.last_error})" if self.load.errors else ""))

    def config(self, roles: str = "produce, sink", mode: str | None = None, s3_endpoint: str | None = None,
               max_age: str = "1s", max_records: int = 5000, on_data_loss: str | None = None,
               name: str = "pinpipe", session_timeout_ms: int | None = None) -> Path:
        """A pinpipe.yaml rendered by deploy/dev/pinpipe-stack-config.sh, pointed at this scenario's broker,
        tables and S3 prefix (the keys the stack script has no variable for are set here)."""
        env = dict(os.environ, PINPIPE_CONFIG_STATE_DIR=str(self.dir / "state"), PINPIPE_CONFIG_GROUP=self.group,
                   PINPIPE_CONFIG_ROLES=roles, PINPIPE_CONFIG_MAX_AGE=max_age,
                   PINPIPE_CONFIG_MAX_RECORDS=str(max_records), PINPIPE_CONFIG_TABLE_SUFFIX=self.suffix)
        if s3_endpoint:
            env["PINPIPE_CONFIG_S3_ENDPOINT"] = s3_endpoint
        text = subprocess.run([str(REPO / "deploy/dev/pinpipe-stack-config.sh"), self.prefix, mode or self.default_mode],
                              env=env, capture_output=True, text=True, check=True).stdout
        text, n = re.subn(r'^(\s*bootstrap_servers:).*$', rf'\1 "{self.broker.bootstrap}"', text, flags=re.M)
        assert n == 1, "bootstrap_servers not found in the rendered configuration"
        if session_timeout_ms:
            # A killed member stays in the group until its session times out; a shorter session makes each
            # restart's rejoin quicker (kill scenarios restart the sink many times).
            text, n = re.subn(r"^(\s*consumer_properties:).*$",
                              rf'\1 {{session.timeout.ms: "{session_timeout_ms}", heartbeat.interval.ms: "{max(100, session_timeout_ms // 10)}"}}',
                              text, flags=re.M)
            assert n == 1, "consumer_properties not found in the rendered configuration"
        # exactly_once is written only when this build knows the key (an unknown key is an error), except when
        # the scenario asks for it: then a build without it fails the scenario, as it should.
        if self.eos or self.suite.knows_exactly_once:
            text = set_key(text, "kafka", "exactly_once", "true" if self.eos else "false")
        if on_data_loss:
            text = set_key(text, "kafka", "on_data_loss", on_data_loss)
        text = set_key(text, "s3", "prefix", f'"{self.s3_prefix}"')
        text = set_key(text, "s3", "dead_letter", f'{{s3_prefix: "{self.dl_prefix}"}}')
        path = self.dir / f"{name}.yaml"
        path.write_text(text)
        # `check-config` reads the file only (no connections): a key this build does not know stops the
        # scenario here, with pinpipe's own message, instead of as a cascade of failed starts.
        out = subprocess.run([str(self.suite.bin), "check-config", "--config", str(path)], capture_output=True, text=True)
        if out.returncode != 0:
            message = (out.stderr.strip() or out.stdout.strip()).splitlines()[-1:] or [f"status {out.returncode}"]
            raise ScenarioFailed(f"pinpipe rejects {path.name}: {message[0].replace(str(path), path.name)[:300]}")
        return path

    def pinpipe(self, config: Path, once: bool = False, name: str = "pinpipe") -> Proc:
        argv = [str(self.suite.bin), "run", "--config", str(config)] + (["--once"] if once else [])
        env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "LD_LIBRARY_PATH", "JOURNAL_STREAM")}
        p = Proc(name, argv, self.dir / f"{name}.log", env)
        self.procs.append(p)
        return p

    # probes
    def probe(self) -> Consumer:
        if self._probe is None:
            self._probe = checker.kafka_consumer(self.broker.bootstrap, read_committed=False)
        return self._probe

    def high_total(self) -> int:
        total = 0
        for t in self.topics():
            try:
                total += sum(h for _, h in checker.watermarks(self.probe(), t, range(self.partitions)).values())
            except Exception:  # noqa: BLE001 - a frozen or busy broker: treat as no news
                pass
        return total

    @property
    def partitions(self) -> int:
        return getattr(self, "_partitions", 3)

    def s3_listing(self) -> dict[str, str]:
        return {o["Key"]: o["ETag"] for o in checker.list_objects(self.s3, self.s3_spec()["bucket"], self.s3_prefix + "/")
                if "/_pinpipe/" not in o["Key"]}

    def highs(self) -> dict[tuple[str, int], int]:
        out = {}
        for t in self.topics():
            with contextlib.suppress(Exception):  # a frozen or busy broker: no news
                for p, (_, hi) in checker.watermarks(self.probe(), t, range(self.partitions)).items():
                    out[(t, p)] = hi
        return out

    def table_tops(self) -> dict[str, int]:
        """The highest key of each table."""
        with self.suite.pg_connect() as conn:
            return {self.topic(name): conn.execute(f'SELECT coalesce(max("{key}"), -1) FROM {self.table(table)}').fetchone()[0]
                    for name, table, key in TABLES}

    def kafka_tops(self) -> dict[str, int]:
        """The highest row key in each topic, from the last records of every partition."""
        c = checker.kafka_consumer(self.broker.bootstrap, read_committed=False)
        best = {t: -1 for t in self.topics()}
        try:
            assign, todo = [], set()
            for t in self.topics():
                for p, (lo, hi) in checker.watermarks(c, t, range(self.partitions)).items():
                    if hi > lo:
                        assign.append(TopicPartition(t, p, max(lo, hi - 30)))
                        todo.add((t, p))
            if assign:
                c.assign(assign)
            deadline = time.monotonic() + 10
            while todo and time.monotonic() < deadline:
                for m in c.consume(1000, 0.5):
                    if m.error():
                        if m.error().code() == KafkaError._PARTITION_EOF:
                            todo.discard((m.topic(), m.partition()))
                        continue
                    with contextlib.suppress(TypeError, ValueError):
                        best[m.topic()] = max(best[m.topic()], int(m.key()))
        finally:
            c.close()
        return best

    def producer_backlog(self, tops: dict[str, int] | None = None) -> int:
        """Rows in the tables above the highest key in Kafka (summed over the tables)."""
        tops = tops or self.table_tops()
        kafka = self.kafka_tops()
        return sum(max(0, top - kafka[t]) for t, top in tops.items())

    def s3_ends(self) -> dict[tuple[str, int], int]:
        """Per topic-partition: the offset after the newest S3 object."""
        newest: dict[tuple[str, int], tuple[int, str]] = {}
        for key in self.s3_listing():
            m = checker.DATA_KEY.match(key.rsplit("/", 1)[-1])
            if m:
                tp = (m.group("topic"), int(m.group("partition")))
                newest[tp] = max(newest.get(tp, (-1, "")), (int(m.group("offset")), key))
        ends = {}
        for tp, (_, key) in newest.items():
            meta = self.s3.head_object(Bucket=self.s3_spec()["bucket"], Key=key).get("Metadata", {})
            ends[tp] = int(meta.get("last-offset", "-1")) + 1
        return ends

    def s3_starts(self) -> dict[tuple[str, int], int]:
        """Per topic-partition: the first offset of the oldest S3 object (from its key)."""
        starts: dict[tuple[str, int], int] = {}
        for key in self.s3_listing():
            m = checker.DATA_KEY.match(key.rsplit("/", 1)[-1])
            if m:
                tp = (m.group("topic"), int(m.group("partition")))
                starts[tp] = min(starts.get(tp, int(m.group("offset"))), int(m.group("offset")))
        return starts

    def sink_backlog(self, highs: dict | None = None) -> int:
        """Kafka offsets beyond the S3 objects (summed over partitions; transaction markers count too)."""
        highs = highs or self.highs()
        if len(highs) < len(self.topics()) * self.partitions:
            raise RuntimeError("the broker did not answer for every partition")  # no news is not "no backlog"
        ends = self.s3_ends()
        return sum(max(0, hi - ends.get(tp, 0)) for tp, hi in highs.items())

    def wait_for_upload(self, since: dict[str, str], timeout: float, proc: Proc | None = None) -> int:
        """Waits until S3 holds an object (or a version of one) not in `since`; returns how many new ones."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = self.s3_listing()
            fresh = sum(1 for k, e in now.items() if since.get(k) != e)
            if fresh:
                return fresh
            if proc is not None and not proc.alive():
                return 0
            time.sleep(0.2)
        return 0

    # the kill loop
    def kill_at_random(self, proc: Proc, produce: bool, sink: bool) -> dict:
        """Kills `proc` with SIGKILL at a random moment 0.3-5 s after its start, deferred until it made progress
        (produced into Kafka and/or uploaded to S3). Confirmed when the process was alive, died of signal 9, its
        PID is gone, it had made progress, and work was left: rows in the tables above the last key in Kafka
        (producer) or Kafka offsets beyond the S3 objects (sink), as they stood at the kill."""
        base_high, base_s3 = sum(self.highs().values()), self.s3_listing()
        moment = self.rng.uniform(0.3, 5.0)
        while time.monotonic() < proc.started + moment and proc.alive():
            time.sleep(0.02)
        deadline = time.monotonic() + 30
        produced = uploaded = 0

        def progressed() -> bool:
            if produce and sink:
                return produced > 0 or uploaded > 0
            return produced > 0 if produce else uploaded > 0

        while proc.alive():
            produced = sum(self.highs().values()) - base_high if produce else 0
            if sink and not (produce and produced > 0):
                now = self.s3_listing()
                uploaded = sum(1 for k, e in now.items() if base_s3.get(k) != e)
            if progressed() or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        tops = self.table_tops() if produce else None
        highs = self.highs() if sink else None
        at = time.monotonic() - proc.started
        k = proc.kill9()
        backlog = 0
        with contextlib.suppress(Exception):
            backlog = (self.producer_backlog(tops) if produce else 0) + (self.sink_backlog(highs) if sink else 0)
        progress = progressed()
        slack = 2 * self.partitions * 3 if self.eos else 0
        ok = k["was_alive"] and k["by_signal_9"] and k["gone"] and progress and backlog > slack
        return {"at": at, "planned": moment, "produced": produced, "uploaded": uploaded, "backlog": backlog,
                "ok": ok, **k}

    def kill_loop(self, start, produce: bool, sink: bool) -> list[dict]:
        """`--kills` confirmed kills of processes made by `start()`. A kill that cannot be confirmed mid-work (the
        process had caught up, or exited by itself) does not count; a few extra attempts make up for it."""
        want = self.suite.args.kills
        kills: list[dict] = []
        while sum(1 for k in kills if k["ok"]) < want and len(kills) < want + max(3, want // 2):
            if len(kills) >= want and self.load is not None and not self.load.is_alive():
                break  # the insert load is used up: an extra attempt would find no work
            kills.append(self.kill_at_random(start(), produce=produce, sink=sink))
        return kills

    def kill_summary(self, kills: list[dict]) -> None:
        good = sum(1 for k in kills if k["ok"])
        want = self.suite.args.kills
        deferred = sum(1 for k in kills if k["ok"] and k["at"] > k["planned"] + 0.5)
        extra = len(kills) - good
        self.result.fault = (f"kill -9 {min(good, want)}/{want} mid-work" + (f", {deferred} deferred" if deferred else "")
                             + (f", {extra} unconfirmed attempts" if extra else ""))
        self.result.fault_ok = good >= want and want > 0
        for i, k in enumerate(kills, 1):
            if not k["ok"]:
                (self.note if self.result.fault_ok else self.fail)(
                    f"kill attempt {i} not confirmed mid-work: "
                    + json.dumps({x: (round(k[x], 2) if isinstance(k[x], float) else k[x])
                                  for x in ('at', 'was_alive', 'rc', 'gone', 'produced', 'uploaded', 'backlog')}))
        with open(self.dir / "kills.json", "w") as f:
            json.dump(kills, f, indent=1)
        self.note("kill moments (s after start): " + ", ".join(f"{k['at']:.1f}" for k in kills if k["ok"]))

    # completion
    def complete(self, procs: list[Proc], timeout: float | None = None, want_dead_letters: int = 0,
                 until: str = "keys") -> bool:
        """Lets `procs` run until S3 holds every table row (or, until="kafka", everything Kafka holds), then stops
        them with SIGTERM and expects exit status 0."""
        self.stop_load()
        timeout = timeout or 90 + self.rows / 1000
        deadline = time.monotonic() + timeout
        scanners = {name: checker.S3Scanner(self.s3, self.s3_spec()["bucket"], self.s3_prefix, self.topic(name), key)
                    for name, _, key in TABLES}
        expected = {}
        with self.suite.pg_connect() as conn:
            for name, table, key in TABLES:
                expected[name] = {r[0] for r in conn.execute(f'SELECT "{key}" FROM {self.table(table)}')}
        done = False
        last_dl, still_since = -1, time.monotonic()
        last_listing, moved_at = None, time.monotonic()
        while time.monotonic() < deadline:
            listing = self.s3_listing()
            if listing != last_listing:
                last_listing, moved_at = listing, time.monotonic()
            elif time.monotonic() - moved_at > self.suite.args.stall:
                self.fail(f"stalled: no upload for {self.suite.args.stall:.0f} s while the pipeline was not complete")
                break
            if until == "keys":
                missing = sum(len(expected[n] - set(s.scan().counts)) for n, s in scanners.items())
                dl = sum(int(o.meta.get("dead-letter-count", "0") or 0) for s in scanners.values() for o in s.objects.values())
                if dl != last_dl:
                    last_dl, still_since = dl, time.monotonic()
                # Short of dead letters but nothing moves for 10 s: stop waiting, the checker counts them.
                done = missing == 0 and (dl >= want_dead_letters or time.monotonic() - still_since > 10)
            else:
                with contextlib.suppress(Exception):
                    done = self.sink_backlog() <= (2 * self.partitions * 3 if self.eos else 0)
            if done or not any(p.alive() for p in procs):
                break
            time.sleep(1.0)
        if not done and not any(p.alive() for p in procs):
            self.fail("pinpipe exited before the pipeline was complete")
        elif not done and time.monotonic() >= deadline:
            self.fail(f"the pipeline did not complete within {timeout:.0f} s")
        for p in procs:
            rc = p.term(90) if p.alive() else p.p.returncode
            if rc != 0:
                self.fail(f"{p.name} (pid {p.pid}) ended with status {rc} at the end (0 expected after SIGTERM)")
        return done

    def run_once(self, config: Path, timeout: float, name: str = "pinpipe") -> int | None:
        p = self.pinpipe(config, once=True, name=name)
        rc = p.wait(timeout)
        if rc is None:
            self.fail(f"`pinpipe run --once` ({name}) did not finish within {timeout:.0f} s")
            p.term(30)
        elif rc != 0:
            self.fail(f"`pinpipe run --once` ({name}) exited with status {rc}")
        return rc

    # the final check
    def final_check(self, expect_verify: int = 0) -> None:
        spec = {"scenario": self.name, "eos": self.eos, "pg": self.suite.pg,
                "tables": [{"name": n, "table": f"{t}{self.suffix}", "key": k, "topic": self.topic(n)} for n, t, k in TABLES],
                "bootstrap": self.broker.bootstrap, "s3": self.s3_spec(), "expect": self.expect}
        (self.dir / "checker.json").write_text(json.dumps(spec, indent=1))
        results = checker.check(spec)
        r = self.result
        with open(self.dir / "checker.out", "w") as f:
            for t in results:
                f.write(t.line() + "\n" + "".join(f"  SURPRISE: {s}\n" for s in t.surprises))
        for t in results:
            r.expected += t.expected
            r.kafka += t.kafka_keys
            r.s3 += t.s3_keys
            r.s3_lines += t.s3_lines
            r.dup_kafka += t.kafka_dup_keys
            r.dup_s3 += t.s3_dup_keys
            r.dup_offsets += t.s3_dup_offsets
            r.missing += t.missing
            r.loss += t.loss_count
            for s in t.surprises:
                self.fail(f"checker: {t.topic}: {s}")
        verify = self.dir / "verify.yaml"
        if not verify.exists():
            self.config(name="verify")
        out = subprocess.run([str(self.suite.bin), "verify", "--config", str(verify)] + self.suite.verify_flags,
                             capture_output=True, text=True, timeout=300)
        (self.dir / "verify.out").write_text(out.stdout + out.stderr)
        last = (out.stdout.strip().splitlines() or [""])[-1]
        checker_ok = not any(t.surprises for t in results)
        self.note(f"pinpipe verify: status {out.returncode} ({last})")
        if checker_ok and out.returncode != expect_verify:
            self.fail(f"pinpipe verify exited {out.returncode} but the checker found "
                      f"{'the expected loss' if expect_verify else 'nothing wrong'} ({expect_verify} expected)")
        if not checker_ok and out.returncode == 0:
            self.fail("pinpipe verify says CLEAN (0) but the checker found surprises")

    # the frame
    def run(self) -> Result:
        t = time.monotonic()
        log(f"{self.label}: start")
        try:
            self.body()
            if self.broker is not None:
                self.final_check(getattr(self, "expect_verify", 0))
        except ScenarioFailed as error:
            self.fail(str(error))
        except Exception as error:  # noqa: BLE001 - a broken scenario is a FAIL, the suite goes on
            self.fail(f"{type(error).__name__}: {error}")
            (self.dir / "traceback.txt").write_text(traceback.format_exc())
        finally:
            self.cleanup()
        self.result.duration = time.monotonic() - t
        log(f"{self.label}: {'PASS' if self.result.ok else 'FAIL'} in {self.result.duration:.0f} s")
        return self.result

    def cleanup(self) -> None:
        if self.load is not None and self.load.is_alive():
            self.load.stop()
        for p in self.procs:
            p.close()
        if self._probe is not None:
            with contextlib.suppress(Exception):
                self._probe.close()
        if self.proxy is not None:
            self.proxy.close()
        if self.broker is not None:
            self.broker.proc.close()
        if not self.suite.args.keep:
            self.drop_tables()
            if self.result.ok:
                shutil.rmtree(self.dir / "state", ignore_errors=True)

    def body(self) -> None:
        raise NotImplementedError

    def start(self, partitions: int = 3, stock: bool = False, rows: int | None = None) -> None:
        self._partitions = partitions
        self.create_tables(self.rows if rows is None else rows)
        self.broker = Broker(self, partitions, stock)


# --- the scenarios ------------------------------------------------------------------------------------------

class KillBoth(Scenario):
    """produce+sink in one process (follow mode, live insert load): kill -9 at N random moments."""
    name = "kill-both"

    def body(self) -> None:
        self.start()
        cfg = self.config(session_timeout_ms=3000)
        self.start_load(self.suite.args.kills * 8.0)
        self.kill_summary(self.kill_loop(lambda: self.pinpipe(cfg), produce=True, sink=True))
        self.complete([self.pinpipe(cfg)])


class KillProducer(Scenario):
    """roles [produce] only, killed at N random moments; a sink process runs throughout."""
    name = "kill-producer"

    def body(self) -> None:
        self.start()
        prod = self.config(roles="produce", name="producer")
        sink = self.pinpipe(self.config(roles="sink", name="sink", session_timeout_ms=3000), name="sink")
        self.start_load(self.suite.args.kills * 8.0)
        self.kill_summary(self.kill_loop(lambda: self.pinpipe(prod, name="producer"), produce=True, sink=False))
        self.complete([self.pinpipe(prod, name="producer"), sink])


class KillSink(Scenario):
    """roles [sink] only, killed at N random moments under a live insert load while a follow-mode producer runs."""
    name = "kill-sink"

    def body(self) -> None:
        self.start()
        # Small objects: a restarted sink catches up over several uploads, so a kill lands mid-way.
        sink = self.config(roles="sink", name="sink", session_timeout_ms=3000, max_records=500)
        producer = self.pinpipe(self.config(roles="produce", name="producer"), name="producer")
        self.start_load(self.suite.args.kills * 8.0)
        self.kill_summary(self.kill_loop(lambda: self.pinpipe(sink, name="sink"), produce=False, sink=True))
        self.complete([producer, self.pinpipe(sink, name="sink")])


class BrokerFreezeStart(Scenario):
    """SIGSTOP the broker for 30 s right after pinpipe starts, before its sink joined the group; the run must
    get its partitions and finish by itself within a deadline after the broker resumes (a hang fails)."""
    name = "broker-freeze-start"

    def body(self) -> None:
        self.start()
        cfg = self.config(mode="snapshot")
        p = self.pinpipe(cfg, once=True)
        if not p.wait_for_log(r"Kafka consumer subscribed|pinpipe ready", 30):
            raise ScenarioFailed("pinpipe did not start within 30 s")
        state = self.broker.freeze()
        joined = "Partitions assigned" in p.text()
        at = time.monotonic() - p.started
        time.sleep(self.suite.args.freeze)
        after = self.broker.thaw()
        resumed = time.monotonic()
        mark = len(p.text())
        self.result.fault = f"broker SIGSTOP {self.suite.args.freeze:.0f} s at {at:.1f} s (state {state}, sink had {'partitions' if joined else 'no partitions'})"
        self.result.fault_ok = state == "T" and after != "T" and not joined
        if joined:
            self.fail("the sink had its partitions before the freeze: the freeze came too late")
        deadline = self.suite.args.hang_deadline
        if not p.wait_for_log(r"Partitions assigned", deadline, since=mark):
            self.fail(f"hang: the sink got no partitions within {deadline:.0f} s after the broker resumed")
            rc = None if p.alive() else p.p.returncode
        else:
            rc = p.wait(max(10.0, deadline * 2 - (time.monotonic() - resumed)))
        if rc is None:
            self.fail(f"hang: `run --once` had not finished {time.monotonic() - resumed:.0f} s after the broker resumed"
                      f" (last log line: {p.text().strip().splitlines()[-1][:160]!r})")
            p.term(30)
            self.note("finishing with a fresh `run --once` to check the data")
            self.run_once(cfg, 120 + self.rows / 1000, name="pinpipe-after-hang")
        elif rc != 0:
            self.fail(f"`run --once` exited with status {rc} after the freeze")
        else:
            self.note(f"`run --once` finished {time.monotonic() - resumed:.1f} s after the broker resumed")


class BrokerFreezeMid(Scenario):
    """SIGSTOP the broker for 30 s mid-run (the sink has uploaded, the load keeps inserting); the same process
    must carry on and complete."""
    name = "broker-freeze-mid"

    def body(self) -> None:
        self.start()
        cfg = self.config()
        self.start_load(self.suite.args.freeze + 20)
        p = self.pinpipe(cfg)
        if not self.wait_for_upload({}, 30, p):
            raise ScenarioFailed("no object in S3 within 30 s of the start")
        backlog = self.producer_backlog() + self.sink_backlog()
        state = self.broker.freeze()
        at = time.monotonic() - p.started
        time.sleep(self.suite.args.freeze)
        after = self.broker.thaw()
        self.result.fault = f"broker SIGSTOP {self.suite.args.freeze:.0f} s at {at:.1f} s (state {state}, backlog {backlog})"
        self.result.fault_ok = state == "T" and after != "T" and backlog > 0
        listing = self.s3_listing()
        if not self.wait_for_upload(listing, self.suite.args.hang_deadline, p):
            self.fail(f"hang: no upload within {self.suite.args.hang_deadline:.0f} s after the broker resumed")
        time.sleep(2)
        self.complete([p])


class S3Outage(Scenario):
    """S3 refuses every connection for 60 s (the fault proxy between pinpipe and SeaweedFS)."""
    name = "s3-outage"

    def body(self) -> None:
        self.start()
        target = self.suite.env["PINPIPE_S3_ENDPOINT"].split("//", 1)[1]
        self.proxy = FaultProxy(self, target)
        self.config(name="verify")  # direct to S3, for verify
        cfg = self.config(s3_endpoint=f"http://127.0.0.1:{self.proxy.port}")
        self.start_load(self.suite.args.outage + 20)
        p = self.pinpipe(cfg)
        if not self.wait_for_upload({}, 30, p):
            raise ScenarioFailed("no object in S3 within 30 s of the start")
        if not self.proxy.command("refuse"):
            raise ScenarioFailed("the fault proxy did not confirm 'refuse'")
        before = self.proxy.stats()
        time.sleep(self.suite.args.outage)
        during = self.proxy.stats()
        self.proxy.command("up")
        refused = during["refused"] - before["refused"]
        self.result.fault = f"S3 refused {refused} connections in {self.suite.args.outage:.0f} s (cut {during['cut']})"
        self.result.fault_ok = refused > 0
        listing = self.s3_listing()
        if not self.wait_for_upload(listing, self.suite.args.hang_deadline, p):
            self.fail(f"no upload within {self.suite.args.hang_deadline:.0f} s after S3 came back")
        time.sleep(2)
        self.complete([p])


class PgRestart(Scenario):
    """PostgreSQL restarted twice: right after pinpipe is ready (during the snapshot when the table is big
    enough) and mid-follow under the insert load; each restart confirmed by a new postmaster PID."""
    name = "pg-restart"

    def postmaster(self) -> int:
        return int(Path(self.suite.env["PINPIPE_PG_DATA"], "postmaster.pid").read_text().split()[0])

    def restart(self) -> tuple[int, int]:
        old = self.postmaster()
        out = subprocess.run([str(REPO / "deploy/dev/stack"), "restart", "postgres"], capture_output=True, text=True)
        if out.returncode != 0:
            raise ScenarioFailed(f"deploy/dev/stack restart postgres failed: {out.stderr.strip()[-300:]}")
        return old, self.postmaster()

    def body(self) -> None:
        self.start()
        cfg = self.config()
        p = self.pinpipe(cfg)
        if not p.wait_for_log(r"pinpipe ready", 30):
            raise ScenarioFailed("pinpipe did not start within 30 s")
        old1, new1 = self.restart()
        snap_done = len(re.findall(r"Snapshot of table read", p.text()))
        self.start_load(30)
        time.sleep(4)
        self.wait_for_upload({}, 30, p)
        old2, new2 = self.restart()
        time.sleep(4)
        noticed = len(re.findall(r"PostgreSQL unavailable", p.text()))
        self.result.fault = (f"2 restarts (postmaster {old1}->{new1}, {old2}->{new2}; first with {3 - snap_done}/3 "
                             f"snapshots running; pinpipe logged {noticed} outages)")
        self.result.fault_ok = old1 != new1 and old2 != new2 and new1 != new2
        self.complete([p])


class RetentionLoss(Scenario):
    """The broker (Debian's librdkafka: 5 MiB per partition) deletes records the stopped sink has not read; the
    sink must detect the loss, write a loss record, stop with status 4 (policy stop), and with policy record go
    on. The checker accepts the missing rows only when reported lost; verify must never say CLEAN."""
    name = "retention-loss"
    expect_verify = 1

    def body(self) -> None:
        total = max(self.rows, 30000)
        # Phase A must stay well inside the stock broker's ~5 MiB per partition (about 9,000 pin rows), or the
        # broker deletes its first records before the new group's first read, and a group without a committed
        # offset starts at the log start: that is no loss pinpipe can see, but the checker would count it.
        first = min(3000, max(1000, total // 20))
        self.start(partitions=1, stock=True, rows=first)
        if self.broker.library != "Debian's librdkafka":
            raise ScenarioFailed("the broker does not run Debian's librdkafka")
        both = self.config(mode="snapshot", name="phase-a")
        self.run_once(both, 120, name="phase-a")
        if not self.s3_listing():
            raise ScenarioFailed("phase A stored nothing in S3")
        if (low := min(self.s3_starts().values(), default=0)) != 0:
            raise ScenarioFailed(f"phase A's objects start at offset {low}, not 0: the broker deleted records before the"
                                 " first read (phase A is too big for the stock broker's retention)")
        committed = self.committed()
        self.insert_rows(first, total)
        tap = Tap(self.broker.bootstrap, self.topics())
        tap.start()
        self.run_once(self.config(roles="produce", mode="snapshot", name="phase-b"), 120, name="phase-b")
        tap.stop()
        marks = {t: checker.watermarks(self.probe(), t, range(1)) for t in self.topics()}
        lost = {t: (committed.get(t, 0), lo) for t, m in marks.items() for _, (lo, hi) in m.items() if lo > committed.get(t, 0)}
        self.result.fault = ("broker deleted unread offsets " + ", ".join(f"{t.rsplit('.', 1)[1]}[0] {a}..{b - 1}" for t, (a, b) in lost.items())
                             if lost else "no unread record was deleted")
        self.result.fault_ok = bool(lost)
        self.expect = {"loss": True, "lost_keys": {t: {f"{p}:{o}": k for (p, o), k in tap.keys[t].items()
                                                       if t in lost and lost[t][0] <= o < lost[t][1]} for t in self.topics()}}
        # Phase C: policy stop (the default): exit status 4 after writing the loss record.
        p = self.pinpipe(self.config(roles="sink", name="phase-c"), name="phase-c")
        rc = p.wait(30)
        if rc is None:
            self.fail("policy stop: the sink did not stop within 30 s after the loss")
            p.term(30)
        elif rc != 4:
            self.fail(f"policy stop: the sink exited with status {rc}, 4 expected")
        else:
            self.note("policy stop: the sink exited with status 4")
        # Phase D: policy record: go on and store what is left.
        p = self.pinpipe(self.config(roles="sink", on_data_loss="record", name="phase-d"), name="phase-d")
        self.complete([p], timeout=120, until="kafka")

    def committed(self) -> dict[str, int]:
        c = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": self.group, "enable.auto.commit": False})
        try:
            got = c.committed([TopicPartition(t, 0) for t in self.topics()], timeout=10)
            return {tp.topic: tp.offset for tp in got if tp.offset >= 0}
        finally:
            c.close()


class Tap(threading.Thread):
    """Reads topics while they are produced (before retention deletes them) and remembers offset -> row key."""

    def __init__(self, bootstrap: str, topics: list[str]):
        super().__init__(daemon=True)
        self.c = checker.kafka_consumer(bootstrap, read_committed=False)
        self.topics = topics
        self.keys: dict[str, dict] = {t: {} for t in topics}
        self.stop_event = threading.Event()

    def run(self) -> None:
        self.c.assign([TopicPartition(t, 0, OFFSET_BEGINNING) for t in self.topics])
        idle = 0
        while not (self.stop_event.is_set() and idle >= 2):
            msgs = self.c.consume(5000, 0.2)
            got = 0
            for m in msgs:
                if m.error():
                    continue
                got += 1
                with contextlib.suppress(TypeError, ValueError):
                    self.keys[m.topic()][(m.partition(), m.offset())] = int(m.key())
            idle = idle + 1 if not got else 0
        self.c.close()

    def stop(self) -> None:
        self.stop_event.set()
        self.join(60)


def malformed_values(per_kind: int, huge: int) -> list[tuple[str, bytes | None]]:
    """(kind, value) of every kind of bad record; `per_kind` of each, `huge` records of about 900 kB."""
    utf8 = [b'{"v":"\xff"}', b'{"v":"\xc0\xaf"}', b'{"v":"\x80"}', b'{"v":"\xe0\x80\xaf"}',
            b'{"v":"\xed\xa0\x80"}', b'{"v":"\xf4\x90\x80\x80"}', b'{"v":"caf\xc3"}']
    kinds = {
        "not-json": lambda i: f"not json at all #{i}".encode(),
        "truncated": lambda i: f'{{"index": {i}, "title": "cut here'.encode()[: 10 + i % 20],
        "invalid-utf8": lambda i: utf8[i % len(utf8)],
        "empty": lambda i: b"",
        "null-value": lambda i: None,
        "whitespace": lambda i: b" \n\t ",
        "array": lambda i: f"[{i}, 2, 3]".encode(),
        "number": lambda i: str(i).encode(),
        "string": lambda i: f'"row {i}"'.encode(),
        "literal": lambda i: (b"true", b"false", b"null")[i % 3],
        "nul-bytes": lambda i: (b'{"v":"a\x00b"}', b"\x00" * 8, b'{"v":1}\x00')[i % 3],
        "trailing-data": lambda i: b'{"v":1} {"w":2}',
        "deep-nesting": lambda i: b'{"a":' * 600 + b"1" + b"}" * 600,
    }
    out = [(kind, make(i)) for kind, make in kinds.items() for i in range(per_kind)]
    out += [("huge", b'{"blob":"' + b"x" * 900_000) for _ in range(huge)]
    return out


class Malformed(Scenario):
    """Bad records of every kind written straight into the topics (confluent-kafka) between valid rows: all in
    the dead-letter location with a reason, every valid row in S3 exactly once."""
    name = "malformed"

    def inject(self, values: list[tuple[str, bytes | None]], offset: int) -> collections.Counter:
        producer = Producer({"bootstrap.servers": self.broker.bootstrap, "enable.idempotence": True,
                             "message.max.bytes": 2_000_000, "linger.ms": 5, "log_level": 3})
        counts = collections.Counter()
        topics = self.topics()
        for i, (kind, value) in enumerate(values):
            topic = topics[(offset + i) % len(topics)]
            while True:
                try:
                    producer.produce(topic, key=f"malformed-{kind}-{offset + i}".encode(), value=value)
                    break
                except BufferError:
                    producer.poll(0.1)
            counts[topic] += 1
            producer.poll(0)
        if producer.flush(60) != 0:
            raise ScenarioFailed("the malformed records were not all acknowledged")
        return counts

    def body(self) -> None:
        self.start()
        values = malformed_values(self.suite.args.malformed, max(2, self.suite.args.malformed // 100))
        random.Random(7).shuffle(values)
        half = len(values) // 2
        counts = self.inject(values[:half], 0)
        cfg = self.config()
        p = self.pinpipe(cfg)
        self.start_load(20)
        p.wait_for_log(r"pinpipe ready", 30)
        counts += self.inject(values[half:], half)
        self.expect = {"dead_letters": dict(counts)}
        kinds = collections.Counter(k for k, _ in values)
        self.result.fault = f"{len(values)} bad records ({len(kinds)} kinds) written"
        self.result.fault_ok = sum(counts.values()) == len(values)
        time.sleep(5)
        self.complete([p], want_dead_letters=len(values))


# Rough durations at CI size (seconds), for the order of the work queue.
EXPECTED_SECONDS = {"s3-outage": 95, "malformed": 95, "kill-sink": 80, "kill-both": 70, "broker-freeze-start": 60,
                    "broker-freeze-mid": 50, "kill-producer": 50, "retention-loss": 40, "pg-restart": 20}

CLASSES = {c.name: c for c in (KillBoth, KillProducer, KillSink, BrokerFreezeStart, BrokerFreezeMid, S3Outage,
                               PgRestart, RetentionLoss, Malformed)}


# --- the report ---------------------------------------------------------------------------------------------

def table(results: list[Result]) -> str:
    head = ("scenario", "eos", "expected", "in Kafka", "in S3", "dup keys K/S3", "missing", "loss rep.",
            "fault confirmed", "time", "result")
    rows = [head]
    for r in results:
        rows.append((r.scenario, r.eos, str(r.expected), str(r.kafka), str(r.s3), f"{r.dup_kafka}/{r.dup_s3}",
                     str(r.missing), str(r.loss), ("yes: " if r.fault_ok else "NO: ") + (r.fault or "not injected"),
                     f"{r.duration:.0f}s", "PASS" if r.ok else "FAIL"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = []
    for n, row in enumerate(rows):
        lines.append(" | ".join(c.ljust(w) if i in (0, 1, 8) else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if n == 0:
            lines.append("-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(prog="deploy/chaos/run", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true", help="200,000 rows per table and 20 kills")
    ap.add_argument("--eos", choices=("on", "off", "both"), default="both",
                    help="kafka.exactly_once for the scenarios (default both: each scenario once per mode)")
    ap.add_argument("--only", nargs="+", metavar="SCENARIO", choices=SCENARIOS, help="run only these scenarios")
    ap.add_argument("--rows", type=int, help="rows per table (default 20,000; --full 200,000)")
    ap.add_argument("--kills", type=int, help="kills per kill scenario (default 10; --full 20)")
    ap.add_argument("--jobs", type=int, default=2, help="scenarios run side by side (default 2; pg-restart runs alone)")
    ap.add_argument("--hang-deadline", type=float, default=45.0,
                    help="seconds after a broker freeze or S3 outage within which pinpipe must make progress (45)")
    ap.add_argument("--seed", type=int, default=None, help="seed of the kill moments (default: random, printed)")
    ap.add_argument("--binary", help="a pinpipe binary to use instead of building one")
    ap.add_argument("--keep", action="store_true", help="keep the scenarios' tables and state")
    ap.add_argument("--keep-stack", action="store_true", help="leave the stack up even if this run started it")
    ap.add_argument("--list", action="store_true", help="list the scenarios and exit")
    args = ap.parse_args()
    if args.list:
        for name in SCENARIOS:
            print(f"{name:20s} {CLASSES[name].__doc__.splitlines()[0]}")
        return 0
    args.rows = args.rows or (200_000 if args.full else 20_000)
    args.kills = args.kills if args.kills is not None else (20 if args.full else 10)
    args.seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    args.freeze, args.outage, args.stall = 30.0, 60.0, 30.0
    args.malformed = 1000
    names = args.only or list(SCENARIOS)
    modes = {"on": [True], "off": [False], "both": [False, True]}[args.eos]
    suite = Suite(args)
    results: list[Result] = []
    interrupted = False
    # Longest first over `--jobs` workers (the freezes and the outage mostly wait, so they overlap well with
    # the busy scenarios); pg-restart restarts the database every scenario shares, so it runs alone, last.
    order = sorted(((n, e) for e in modes for n in names if n != "pg-restart"),
                   key=lambda job: (-EXPECTED_SECONDS.get(job[0], 60), job[1]))
    alone = [(n, e) for e in modes for n in names if n == "pg-restart"]
    try:
        suite.prepare()
        with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
            futures = [pool.submit(lambda job: CLASSES[job[0]](suite, job[1]).run(), job) for job in order]
            for future in futures:
                results.append(future.result())
        for name, eos in alone:
            results.append(CLASSES[name](suite, eos).run())
        rank = {(n, "on" if e else "off"): i for i, (e, n) in enumerate((e, n) for e in modes for n in names)}
        results.sort(key=lambda r: rank[(r.scenario, r.eos)])
    except KeyboardInterrupt:
        interrupted = True
        log("interrupted")
    finally:
        suite.teardown()
    print()
    print(table(results))
    print()
    for r in results:
        for f in r.failures:
            print(f"FAIL {r.scenario}/{r.eos}: {f}")
        for n in r.notes:
            print(f"     {r.scenario}/{r.eos}: {n}")
    failed = sum(1 for r in results if not r.ok)
    total = time.monotonic() - T0
    print(f"\nchaos: total {total:.0f} s ({total / 60:.1f} min); rows {args.rows}, kills {args.kills}, eos {args.eos}, "
          f"jobs {args.jobs}, seed {args.seed}; logs in {suite.work}")
    print(f"chaos: {len(results) - failed} passed, {failed} failed")
    return 1 if failed or interrupted or not results else 0


if __name__ == "__main__":
    sys.exit(main())
