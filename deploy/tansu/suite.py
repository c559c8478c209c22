"""pinpipe against Tansu, a second Kafka broker written independently of librdkafka, with librdkafka 2.16 loaded.

Run by deploy/tansu/run with the stack up (PostgreSQL and S3 from deploy/dev/stack; its Kafka mock is not used).
Each scenario checks its result with its own readers: psycopg for the tables, boto3 for the bucket, and
confluent-kafka's AdminClient for the topics, besides `pinpipe verify`. Prints one line per scenario.
"""
import collections
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import boto3
import psycopg
from botocore.config import Config
from confluent_kafka.admin import AdminClient

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEV = os.environ.get("PINPIPE_DEV_DIR", os.path.join(REPO, ".dev"))
BROKER = os.path.join(HERE, "broker")
PORT = int(os.environ.get("PINPIPE_TANSU_PORT", "19092"))
BOOTSTRAP = f"127.0.0.1:{PORT}"
TABLES = {"pin": ("pinterest_data", "index"), "geo": ("geolocation_data", "ind"), "user": ("user_data", "ind")}
RUN = uuid.uuid4().hex[:8]
USER, WRONG = "pinpipe", f"wrong-{uuid.uuid4().hex[:12]}"


def stack_env():
    env = {}
    for line in open(os.path.join(DEV, "stack.env")):
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.removeprefix("export ").split("=", 1)
            env[key] = value.strip("'\"")
    return env


STACK = stack_env()
PINPIPE = os.environ.get("PINPIPE_BIN", STACK.get("PINPIPE_BIN", os.path.join(REPO, ".build", "debug", "pinpipe")))
WORK = tempfile.mkdtemp(prefix="pinpipe-tansu-")
S3 = boto3.client("s3", endpoint_url=STACK["PINPIPE_S3_ENDPOINT"], region_name=STACK["PINPIPE_S3_REGION"],
                  aws_access_key_id=STACK["PINPIPE_S3_ACCESS_KEY"], aws_secret_access_key=STACK["PINPIPE_S3_SECRET_KEY"],
                  config=Config(s3={"addressing_style": "path"}))
STORAGE_BUCKET = f"tansu-{RUN}"
BROKER_ENV = dict(os.environ, PINPIPE_TANSU_PORT=str(PORT), PINPIPE_TANSU_STORAGE=f"s3://{STORAGE_BUCKET}/",
                  PINPIPE_TANSU_S3_ENDPOINT=STACK["PINPIPE_S3_ENDPOINT"],
                  PINPIPE_TANSU_S3_ACCESS_KEY=STACK["PINPIPE_S3_ACCESS_KEY"],
                  PINPIPE_TANSU_S3_SECRET_KEY=STACK["PINPIPE_S3_SECRET_KEY"],
                  PINPIPE_TANSU_S3_REGION=STACK["PINPIPE_S3_REGION"], PINPIPE_TANSU_CLUSTER_ID=f"pinpipe-tansu-{RUN}")
results = []


class Failed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failed(message)


def broker(*args):
    out = subprocess.run([BROKER, *args], env=BROKER_ENV, capture_output=True, text=True)
    if out.returncode != 0:
        raise Failed(f"deploy/tansu/broker {' '.join(args[:1])} failed: {out.stderr.strip()}")
    return out.stdout.strip()


LIBDIR = broker("libdir")
PINPIPE_ENV = dict(os.environ, LD_LIBRARY_PATH=LIBDIR)


def expected_keys():
    conninfo = (f"host={STACK['PINPIPE_PG_HOST']} port={STACK['PINPIPE_PG_PORT']} user={STACK['PINPIPE_PG_USER']} "
                f"password={STACK['PINPIPE_PG_PASSWORD']} dbname={STACK['PINPIPE_PG_DATABASE']}")
    with psycopg.connect(conninfo) as conn:
        return {name: {row[0] for row in conn.execute(f'SELECT "{key}" FROM {table}')}
                for name, (table, key) in TABLES.items()}


EXPECTED = expected_keys()


def config(prefix, roles="produce, sink", auth=None, max_records=2000, group=None, exactly_once=False):
    env = dict(os.environ, PINPIPE_CONFIG_ROLES=roles, PINPIPE_CONFIG_STATE_DIR=os.path.join(WORK, "state", prefix),
               PINPIPE_CONFIG_EXACTLY_ONCE="true" if exactly_once else "false",
               PINPIPE_CONFIG_MAX_RECORDS=str(max_records), PINPIPE_CONFIG_MAX_AGE="1s",
               PINPIPE_CONFIG_GROUP=group or f"pinpipe-{prefix}")
    text = subprocess.run([os.path.join(REPO, "deploy/dev/pinpipe-stack-config.sh"), prefix, "snapshot"], env=env,
                          capture_output=True, text=True, check=True).stdout
    text = re.sub(r'(?m)^  bootstrap_servers: .*$', f'  bootstrap_servers: "{BOOTSTRAP}"', text)
    if auth:
        text = re.sub(r'(?m)^(  exactly_once: .*)$', lambda m: m.group(1) + "\n" + auth, text)
    path = os.path.join(WORK, f"{prefix}-{uuid.uuid4().hex[:4]}.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def scram(password_file):
    return f"  auth: {{mechanism: scram-sha-512, username: {USER}, password_file: \"{password_file}\"}}"


def secret_file(name, content):
    path = os.path.join(WORK, name)
    with open(path, "w") as f:
        f.write(content + "\n")
    os.chmod(path, 0o600)
    return path


def start(cfg, *extra, log):
    return subprocess.Popen([PINPIPE, "run", "--config", cfg, *extra], env=PINPIPE_ENV, stdout=log, stderr=subprocess.STDOUT)


def run_once(cfg, prefix, timeout=180):
    log_path = os.path.join(WORK, f"{prefix}-run.log")
    with open(log_path, "w") as log:
        proc = start(cfg, "--once", log=log)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise Failed(f"pinpipe run --once did not finish in {timeout} s (log {log_path})")
    text = open(log_path).read()
    check(rc == 0, f"pinpipe run --once exited {rc} (log {log_path}):\n{text[-2000:]}")
    return text


def verify(cfg):
    out = subprocess.run([PINPIPE, "verify", "--config", cfg, "--require-complete"], env=PINPIPE_ENV,
                         capture_output=True, text=True, timeout=120)
    check(out.returncode == 0 and "CLEAN AND COMPLETE" in out.stdout,
          f"pinpipe verify exited {out.returncode}:\n{out.stdout[-1500:]}{out.stderr[-1500:]}")
    return "CLEAN"


def s3_keys(prefix):
    """Row keys per table found in the bucket under the topics of `prefix` (a Counter: duplicates show)."""
    found = {}
    objects = 0
    for name, (_, key) in TABLES.items():
        counter = collections.Counter()
        pages = S3.get_paginator("list_objects_v2").paginate(Bucket=STACK["PINPIPE_S3_BUCKET"],
                                                               Prefix=f"topics/{prefix}.{name}/")
        for page in pages:
            for obj in page.get("Contents", []):
                objects += 1
                body = S3.get_object(Bucket=STACK["PINPIPE_S3_BUCKET"], Key=obj["Key"])["Body"].read().decode()
                for line in body.splitlines():
                    counter[json.loads(line)[key]] += 1
        found[name] = counter
    return found, objects


def object_count(prefix):
    total = 0
    for name in TABLES:
        pages = S3.get_paginator("list_objects_v2").paginate(Bucket=STACK["PINPIPE_S3_BUCKET"],
                                                               Prefix=f"topics/{prefix}.{name}/")
        total += sum(len(page.get("Contents", [])) for page in pages)
    return total


def check_bucket(prefix):
    found, objects = s3_keys(prefix)
    dups = sum(c - 1 for counter in found.values() for c in counter.values() if c > 1)
    missing = sum(len(EXPECTED[name] - set(found[name])) for name in TABLES)
    extra = sum(len(set(found[name]) - EXPECTED[name]) for name in TABLES)
    records = sum(sum(counter.values()) for counter in found.values())
    check(dups == 0 and missing == 0 and extra == 0,
          f"boto3: {records} records in {objects} objects, {dups} duplicated, {missing} missing, {extra} unexpected")
    return records, objects


def partition_counts(prefix, config_extra=None):
    conf = {"bootstrap.servers": BOOTSTRAP}
    conf.update(config_extra or {})
    metadata = AdminClient(conf).list_topics(timeout=10)
    return {name: len(metadata.topics[f"{prefix}.{name}"].partitions) for name in TABLES
            if f"{prefix}.{name}" in metadata.topics}


def scenario(name):
    def wrap(fn):
        def run():
            t0 = time.monotonic()
            try:
                detail = fn()
                results.append((name, "passed", detail, time.monotonic() - t0))
            except Failed as error:
                results.append((name, "FAILED", str(error), time.monotonic() - t0))
            print(f"  {results[-1][1]:6} {name}: {results[-1][2]} ({results[-1][3]:.1f} s)", flush=True)
        return run
    return wrap


@scenario("snapshot to S3 (exactly once: transactions), verify, 3 partitions by CreateTopics")
def snapshot():
    prefix = f"ts{RUN}a"
    log = run_once(config(prefix, exactly_once=True), prefix)
    version = re.search(r"librdkafka[=: \"]+(\d+\.\d+\.\d+)", log)
    check(version and version.group(1).startswith("2.16"), f"startup log names librdkafka {version and version.group(1)}")
    connected = re.search(r"Kafka connected.*", log)
    check(connected and f"pinpipe-tansu-{RUN}" in connected.group(0), "startup log lacks the cluster id")
    counts = partition_counts(prefix)
    check(counts == {"pin": 3, "geo": 3, "user": 3}, f"partitions per topic {counts} (configured 3)")
    commits = re.search(r"Exactly-once: transactions done aborts=(\d+) actor=source commits=(\d+)", log)
    check(commits and int(commits.group(2)) > 0, "the run did not produce in transactions")
    # Tansu can report high watermarks below what it serves (README), so `--once` may stop before the last records.
    # Then verify must not call the bucket complete, and a second `--once` must store the rest, nothing twice.
    early = ""
    try:
        records, objects = check_bucket(prefix)
    except Failed as first:
        out = subprocess.run([PINPIPE, "verify", "--config", config(prefix, exactly_once=True), "--require-complete"],
                             env=PINPIPE_ENV, capture_output=True, text=True, timeout=120)
        check(out.returncode != 0, f"verify said complete although {first}")
        run_once(config(prefix, exactly_once=True), prefix + "-second")
        records, objects = check_bucket(prefix)
        early = f"; the first --once stopped early ({first}; verify exited {out.returncode}), a second --once stored the rest"
    probe = subprocess.run([PINPIPE, "check-config", "--config", config(prefix), "--probe-kafka"], env=PINPIPE_ENV,
                           capture_output=True, text=True, timeout=60)
    check(probe.returncode == 0 and f"pinpipe-tansu-{RUN}" in probe.stdout,
          f"check-config --probe-kafka failed:\n{probe.stdout[-800:]}{probe.stderr[-800:]}")
    global STARTUP_LINE, PROBE
    STARTUP_LINE = connected.group(0)
    PROBE = [l for l in probe.stdout.splitlines() if l.startswith("# kafka")]
    cfg = config(prefix, exactly_once=True)
    return (f"librdkafka {version.group(1)}, {commits.group(2)} transactions committed, {records} records in {objects} "
            f"objects, verify {verify(cfg)}, partitions {counts}{early}")


def assignments(text):
    """The partition lists of each "Partitions assigned" line of a sink's log."""
    return re.findall(r'Partitions assigned (?:[^\n]*? )?partitions="\[(.*?)\]"', text)


def assigned(log_path):
    return any(a.strip() for a in assignments(open(log_path).read()))


@scenario("two sinks in one group with a rebalance")
def rebalance():
    prefix = f"ts{RUN}b"
    run_once(config(prefix, roles="produce"), prefix + "-produce")
    group = f"pinpipe-{prefix}"
    sink_cfg = config(prefix, roles="sink", max_records=300, group=group)
    logs = [open(os.path.join(WORK, f"{prefix}-sink{i}.log"), "w") for i in (1, 2)]
    first = start(sink_cfg, log=logs[0])
    procs = [first]
    try:
        deadline = time.monotonic() + 60
        while object_count(prefix) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        at_join = object_count(prefix)
        check(at_join >= 3, "sink 1 stored no object within 60 s")
        procs.append(start(sink_cfg, log=logs[1]))
        total = sum(len(keys) for keys in EXPECTED.values())
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            found, _ = s3_keys(prefix)
            if sum(sum(c.values()) for c in found.values()) >= total:
                break
            time.sleep(1)
        # The rebalance must have happened before the sinks stop: on a loaded machine sink 2 can start and join
        # after sink 1 already stored everything, so wait (up to 60 s) for sink 2's first non-empty assignment
        # rather than a fixed pause; a rebalance that never completes still fails below.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not assigned(logs[1].name):
            time.sleep(0.5)
        time.sleep(3)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in logs:
            log.close()
    texts = [open(log.name).read() for log in logs]
    check(len(procs) == 2, "the second sink did not start")
    check("Partitions revoked" in texts[0], "sink 1 never gave partitions back (no rebalance)")
    assigned2 = assignments(texts[1])
    check(any(a.strip() for a in assigned2), "sink 2 was never assigned a partition (waited 60 s after the last row)")
    records, objects = check_bucket(prefix)
    return (f"sink 2 joined after {at_join} objects, took [{assigned2[-1]}]; {records} records in {objects} objects, "
            f"no duplicate, no gap; verify {verify(sink_cfg)}")


@scenario("broker restart mid-run")
def restart():
    prefix = f"ts{RUN}c"
    log_path = os.path.join(WORK, f"{prefix}-run.log")
    with open(log_path, "w") as log:
        proc = start(config(prefix, max_records=500), "--once", log=log)
        global RESTART_LOG
        RESTART_LOG = log_path
        # Stop the broker as soon as pinpipe is ready: the source is producing, the sink joining its group.
        deadline = time.monotonic() + 60
        while "pinpipe ready" not in open(log_path).read() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        check(proc.poll() is None, f"pinpipe finished before the restart (log {log_path})")
        # SIGTERM, SIGKILL 1 s later: Tansu would otherwise keep serving its open connections for ~6 s.
        BROKER_ENV["PINPIPE_TANSU_STOP_GRACE"] = "1"
        try:
            broker("stop")
        finally:
            BROKER_ENV.pop("PINPIPE_TANSU_STOP_GRACE")
        before = object_count(prefix)
        time.sleep(3)
        broker("start")
        try:
            rc = proc.wait(timeout=int(os.environ.get("PINPIPE_TANSU_RESTART_TIMEOUT", "240")))
        except subprocess.TimeoutExpired:
            proc.kill()
            raise Failed(f"pinpipe did not finish within 240 s after the restart (log {log_path})")
    check(rc == 0, f"pinpipe exited {rc} (log {log_path})")
    text = open(log_path).read()
    outage = [l for l in text.splitlines() if "librdkafka client error" in l or "Connection refused" in l]
    check(outage, "pinpipe's log shows no sign of the broker going away")
    # pinpipe --once stops when the sink reached the partitions' high watermarks. After a restart Tansu can report
    # high watermarks below what it serves, and a killed Tansu can lose records it acknowledged (README). So the
    # bucket is held against what the broker serves after the run: whatever it serves must be in S3 (a second
    # --once run stores what the first left, from the committed offsets), nothing twice, nothing that is no row.
    # "Twice" is held against the broker too: a producer retry across the kill can leave a row at two offsets
    # when the restarted broker lost its idempotence state; the sink must then store each offset once, so a row
    # may be in S3 as often as the broker serves it, never more.
    cfg = config(prefix, max_records=500)
    served = broker_keys(prefix)
    held = {name: set(counter) for name, counter in served.items()}
    broker_dups = sum(c - 1 for counter in served.values() for c in counter.values() if c > 1)
    found, _ = s3_keys(prefix)
    early = sum(len(held[name] - set(found[name])) for name in TABLES)
    second = ""
    if early:
        run_once(cfg, prefix + "-second")
        second = f"; the first run stopped {early} records early (broker high watermark), a second --once stored them"
    found, objects = s3_keys(prefix)
    dups = sum(c - max(1, served[name][row]) for name, counter in found.items() for row, c in counter.items()
               if c > max(1, served[name][row]))
    not_stored = sum(len(held[name] - set(found[name])) for name in TABLES)
    unexpected = sum(len(set(found[name]) - EXPECTED[name]) for name in TABLES)
    check(dups == 0 and not_stored == 0 and unexpected == 0,
          f"boto3: {dups} duplicated, {not_stored} records the broker serves are not in S3, {unexpected} unexpected")
    lost = sum(len(EXPECTED[name] - held[name]) for name in TABLES)
    records = sum(sum(c.values()) for c in found.values())
    kept = f"; the BROKER lost {lost} acknowledged records when killed" if lost else "; the broker kept every record"
    if broker_dups:
        kept += f"; the BROKER serves {broker_dups} rows twice (a producer retry across the kill), stored as served"
    return (f"stopped at 'pinpipe ready' ({before} objects stored), back 3 s later, {len(outage)} client errors logged; "
            f"{records} records in {objects} objects = every record the broker serves, no duplicate{second}{kept}; "
            f"verify {verify(cfg)}")


def broker_keys(prefix):
    """Row keys per table that the broker serves now (a Counter: a row at two offsets counts 2), read from the
    beginning to each partition's end."""
    from confluent_kafka import Consumer, TopicPartition
    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": f"tansu-suite-{RUN}", "enable.auto.commit": False,
                         "enable.partition.eof": True})
    keys = {}
    try:
        for name, (_, key) in TABLES.items():
            topic = f"{prefix}.{name}"
            # To the end each partition's fetch reports (EOF), not to ListOffsets' high watermark: Tansu's is
            # wrong for some partitions (README).
            consumer.assign([TopicPartition(topic, p, 0) for p in range(3)])
            pending = {0, 1, 2}
            found = collections.Counter()
            deadline = time.monotonic() + 60
            while pending and time.monotonic() < deadline:
                message = consumer.poll(1.0)
                if message is None:
                    continue
                if message.error():
                    if message.error().code() == -191:  # _PARTITION_EOF
                        pending.discard(message.partition())
                    continue
                found[json.loads(message.value())[key]] += 1
            check(not pending, f"could not read {topic} to its end from the broker")
            keys[name] = found
    finally:
        consumer.close()
    return keys


def tansu_log_size():
    path = os.path.join(DEV, "tansu", str(PORT), "log")
    return os.path.getsize(path) if os.path.exists(path) else 0


@scenario("SASL SCRAM-SHA-512 refused by a broker that requires SASL")
def sasl():
    """Tansu 0.6.0 checks SASL only with --authentication, and then refuses AlterUserScramCredentials before a
    client authenticated, while users made on a broker without it do not survive the restart (README): so the
    refusal is what can be shown here, not a successful login."""
    broker("stop")
    broker("start", "--auth")
    wrong = secret_file("wrong_password", WRONG)
    prefix = f"ts{RUN}d"
    # A client that does not authenticate at all must be refused.
    unauthenticated = subprocess.run([PINPIPE, "check-config", "--config", config(prefix), "--probe-kafka"],
                                     env=PINPIPE_ENV, capture_output=True, text=True, timeout=60)
    check(unauthenticated.returncode != 0, "an unauthenticated client was let in")
    log_before = tansu_log_size()
    t0 = time.monotonic()
    out = subprocess.run([PINPIPE, "run", "--config", config(prefix, auth=scram(wrong)), "--once"], env=PINPIPE_ENV,
                         capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - t0
    text = out.stdout + out.stderr
    check(out.returncode != 0, "pinpipe ran with a wrong password")
    check("SCRAM-SHA-512" in text and "refused" in text, f"the error does not name the mechanism:\n{text[-1500:]}")
    check(WRONG not in text, "the password appears in pinpipe's output")
    with open(os.path.join(DEV, "tansu", str(PORT), "log"), "rb") as f:
        f.seek(log_before)
        broker_lines = f.read().decode(errors="replace")
    check(WRONG not in broker_lines, "the password appears in the broker's log")
    attempts = text.count("SASL authentication error")
    check(elapsed < 30, f"the wrong password took {elapsed:.0f} s to fail")
    check(attempts <= 20, f"{attempts} authentication attempts: a retry storm")
    error_line = next((l for l in text.splitlines() if "refused pinpipe's SASL" in l), "")
    global SASL_ERROR
    SASL_ERROR = error_line.strip()
    return (f"no credentials: refused; wrong password: exit {out.returncode} after {elapsed:.1f} s, "
            f"{attempts} 'SASL authentication error' log lines, password in no log")


STARTUP_LINE = SASL_ERROR = ""
PROBE = []


def main():
    print(f"tansu suite: broker {broker('bin')}, 127.0.0.1:{PORT}, storage s3://{STORAGE_BUCKET}/ on the stack's S3; "
          f"pinpipe {PINPIPE} with LD_LIBRARY_PATH={LIBDIR}; work dir {WORK}", flush=True)
    S3.create_bucket(Bucket=STORAGE_BUCKET)
    broker("start")
    t0 = time.monotonic()
    try:
        only = os.environ.get("PINPIPE_TANSU_ONLY", "").split(",")  # e.g. "restart" (development)
        for name, fn in (("snapshot", snapshot), ("rebalance", rebalance), ("restart", restart), ("sasl", sasl)):
            if only == [""] or name in only:
                fn()
    finally:
        broker("stop")
    print(f"tansu suite: {sum(r[1] == 'passed' for r in results)}/{len(results)} passed in {time.monotonic() - t0:.0f} s")
    if STARTUP_LINE:
        print(f"  startup log: {STARTUP_LINE[:400]}")
    if SASL_ERROR:
        print(f"  wrong password: {SASL_ERROR[:400]}")
    for line in PROBE:
        print(f"  check-config --probe-kafka: {line}")
    passed = all(r[1] == "passed" for r in results)
    if passed:
        shutil.rmtree(WORK, ignore_errors=True)  # kept when something failed: its logs are named above
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
