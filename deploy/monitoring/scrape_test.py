"""Debian's Prometheus scrapes a real pinpipe run on loopback; its HTTP API must report the records and objects
that an independent reader (boto3) finds in S3 and that `pinpipe verify` counts. The alert rules load, evaluate
without errors, and none fires on this healthy run.

Run by deploy/monitoring/check with the stack up. Prints a scrape excerpt and the queries that matched."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEV = os.environ.get("PINPIPE_DEV_DIR", os.path.join(REPO, ".dev"))
PINPIPE = os.environ.get("PINPIPE_BIN", os.path.join(REPO, ".build", "debug", "pinpipe"))


def stack_env():
    env = {}
    for line in open(os.path.join(DEV, "stack.env")):
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.removeprefix("export ").split("=", 1)
        env[key] = value.strip("'\"")
    return env


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read().decode()


def wait(what, predicate, timeout, interval=1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except OSError:
            pass
        time.sleep(interval)
    raise SystemExit(f"scrape test: timed out waiting for {what}")


class Prometheus:
    def __init__(self, base):
        self.base = base

    def query(self, expr):
        url = f"{self.base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        _, body = get(url)
        data = json.loads(body)
        assert data["status"] == "success", data
        return {tuple(sorted((k, v) for k, v in r["metric"].items())): float(r["value"][1]) for r in data["data"]["result"]}

    def by(self, expr, label):
        return {dict(k).get(label, ""): v for k, v in self.query(expr).items()}

    def scalar(self, expr):
        values = list(self.query(expr).values())
        return values[0] if values else None


def main():
    env = stack_env()
    work = tempfile.mkdtemp(prefix="pinpipe-monitoring-", dir=DEV)
    prefix = f"mon{int(time.time())}{os.getpid()}"
    metrics_port, prometheus_port = free_port(), free_port()
    config_env = dict(os.environ, PINPIPE_CONFIG_METRICS_LISTEN=f"127.0.0.1:{metrics_port}",
                      PINPIPE_CONFIG_STATE_DIR=os.path.join(work, "state"), PINPIPE_CONFIG_MAX_AGE="1s",
                      PINPIPE_CONFIG_MAX_RECORDS="2000")
    config = subprocess.run([os.path.join(REPO, "deploy/dev/pinpipe-stack-config.sh"), prefix, "follow"],
                            env=config_env, check=True, capture_output=True, text=True).stdout
    config_path = os.path.join(work, "pinpipe.yaml")
    open(config_path, "w").write(config)
    prometheus_config = os.path.join(work, "prometheus.yml")
    open(prometheus_config, "w").write(f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: ["{os.path.join(HERE, 'pinpipe-alerts.yml')}"]
scrape_configs:
  - job_name: pinpipe
    static_configs: [{{targets: ["127.0.0.1:{metrics_port}"]}}]
""")
    run_env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "JOURNAL_STREAM", "WATCHDOG_USEC")}
    pinpipe_log = open(os.path.join(work, "pinpipe.log"), "w")
    pinpipe = subprocess.Popen([PINPIPE, "run", "--config", config_path], stdout=pinpipe_log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, env=run_env)
    prometheus_log = open(os.path.join(work, "prometheus.log"), "w")
    prometheus = subprocess.Popen(["prometheus", f"--config.file={prometheus_config}",
                                   f"--storage.tsdb.path={os.path.join(work, 'tsdb')}",
                                   f"--web.listen-address=127.0.0.1:{prometheus_port}"],
                                  stdout=prometheus_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    ok = False
    try:
        base = f"http://127.0.0.1:{metrics_port}"
        wait("pinpipe /readyz", lambda: get(f"{base}/readyz")[0] == 200, 180)
        prom = Prometheus(f"http://127.0.0.1:{prometheus_port}")
        wait("Prometheus to scrape pinpipe", lambda: prom.scalar('up{job="pinpipe"}') == 1, 60)

        # The snapshot is stored when the scraped figures stop moving, nothing lags and all that was produced is stored.
        last = [None]

        def settled():
            stored = prom.scalar('sum(pinpipe_sink_records_total{job="pinpipe"})')
            produced = prom.scalar('sum(pinpipe_source_records_produced_total{job="pinpipe"})')
            lag = prom.scalar('sum(pinpipe_consumer_lag_records{job="pinpipe"})')
            done = stored and stored == produced and lag == 0 and last[0] == stored
            last[0] = stored
            return done
        wait("the run to settle in Prometheus", settled, 240, interval=2)

        topics = [f"{prefix}.{t}" for t in ("pin", "geo", "user")]
        records_query = 'sum by (topic) (pinpipe_sink_records_total{job="pinpipe"})'
        objects_query = 'sum by (topic) (pinpipe_sink_objects_total{job="pinpipe"})'
        prom_records = prom.by(records_query, "topic")
        prom_objects = prom.by(objects_query, "topic")

        import boto3
        s3 = boto3.client("s3", endpoint_url=env["PINPIPE_S3_ENDPOINT"], region_name=env["PINPIPE_S3_REGION"],
                          aws_access_key_id=env["PINPIPE_S3_ACCESS_KEY"], aws_secret_access_key=env["PINPIPE_S3_SECRET_KEY"])
        s3_records, s3_objects = {}, {}
        for topic in topics:
            keys = []
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=env["PINPIPE_S3_BUCKET"], Prefix=f"topics/{topic}/"):
                keys += [o["Key"] for o in page.get("Contents", [])]
            s3_objects[topic] = len(keys)
            s3_records[topic] = sum(
                len(s3.get_object(Bucket=env["PINPIPE_S3_BUCKET"], Key=k)["Body"].read().splitlines()) for k in keys)

        verify = subprocess.run([PINPIPE, "verify", "--config", config_path, "--deep"], capture_output=True, text=True,
                                env=run_env)
        total_match = re.search(r"total records in S3: (\d+)", verify.stdout)
        verify_objects = {}
        for line in verify.stdout.splitlines():
            m = re.match(r"(\S+)\[(\d+)\]\s+(\d+)\s+(\d+)", line)
            if m:
                verify_objects[m.group(1)] = verify_objects.get(m.group(1), 0) + int(m.group(3))

        _, rules_body = get(f"http://127.0.0.1:{prometheus_port}/api/v1/rules")
        rules = [r for g in json.loads(rules_body)["data"]["groups"] for r in g["rules"]]
        _, alerts_body = get(f"http://127.0.0.1:{prometheus_port}/api/v1/alerts")
        firing = [a["labels"]["alertname"] for a in json.loads(alerts_body)["data"]["alerts"] if a["state"] == "firing"]
        _, scrape = get(f"{base}/metrics")

        print(f"scrape excerpt (GET {base}/metrics):")
        for line in scrape.splitlines():
            if line.startswith(("pinpipe_sink_records_total", "pinpipe_sink_objects_total", "pinpipe_watchdog_ok",
                                "pinpipe_build_info", "pinpipe_consumer_lag_records{topic=\"" + topics[0])):
                print("  " + line)
        print(f"query: {records_query}")
        print(f"query: {objects_query}")
        print(f"{'topic':<32} {'records: prometheus':>20} {'s3 (boto3)':>11} {'objects: prometheus':>20} {'s3':>5} {'verify':>7}")
        failures = []
        for topic in topics:
            row = (prom_records.get(topic, 0), s3_records[topic], prom_objects.get(topic, 0), s3_objects[topic],
                   verify_objects.get(topic, -1))
            print(f"{topic:<32} {int(row[0]):>20} {row[1]:>11} {int(row[2]):>20} {row[3]:>5} {row[4]:>7}")
            if not (row[0] == row[1] > 0 and row[2] == row[3] == row[4] > 0):
                failures.append(f"{topic}: Prometheus, S3 and verify disagree: {row}")
        prom_total = int(sum(prom_records.values()))
        print(f"total records: prometheus {prom_total}, s3 {sum(s3_records.values())}, "
              f"verify {total_match.group(1) if total_match else '?'} ({verify.stdout.strip().splitlines()[-1]})")
        if verify.returncode != 0 or not total_match or int(total_match.group(1)) != prom_total:
            failures.append(f"pinpipe verify (exit {verify.returncode}) does not count {prom_total}:\n{verify.stdout}{verify.stderr}")
        print(f"alert rules: {len(rules)} loaded, health {sorted({r['health'] for r in rules})}, firing: {firing or 'none'}")
        if len(rules) != 7 or any(r["health"] != "ok" for r in rules):
            failures.append(f"alert rules did not all load and evaluate: {[(r['name'], r['health'], r.get('lastError')) for r in rules]}")
        if firing:
            failures.append(f"alerts fire on a healthy run: {firing}")
        if failures:
            print("\n".join(failures))
            sys.exit(1)
        ok = True
        print("scrape test: passed")
    finally:
        for process in (pinpipe, prometheus):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in (pinpipe, prometheus):
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        if ok:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"logs kept in {work}")


if __name__ == "__main__":
    main()
