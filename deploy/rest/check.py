"""The REST endpoint end to end, as the original producers use it (deploy/rest/check runs it with the stack up).

1. pinpipe runs with roles [rest, sink] on fresh topics.
2. original_client.py posts exactly as the original emulator did (one row per POST to each of the three
   topics, seed 100). Every reply must be 200 in the v2 shape.
3. kcat reads each topic back: one record per POST, at the partition and offset its reply named, with the same
   JSON value as the row posted.
4. The S3 sink's objects (read with boto3) hold every posted row once; `pinpipe verify` agrees.
5. The bad-input table: every malformed or forbidden request gets its documented reply, and the topics' record
   counts (kcat) do not move. A client that sends headers and stalls is cut off.
"""
import collections
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import boto3
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEV = os.environ.get("PINPIPE_DEV_DIR", os.path.join(REPO, ".dev"))
PINPIPE = os.environ.get("PINPIPE_BIN") or os.path.join(REPO, ".build", "debug", "pinpipe")
JSON_V2 = "application/vnd.kafka.json.v2+json"
EVENTS = int(os.environ.get("REST_CHECK_EVENTS", "20"))


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


def wait(what, predicate, timeout, interval=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except (OSError, requests.RequestException):
            pass
        time.sleep(interval)
    raise SystemExit(f"rest check: timed out waiting for {what}")


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def kcat_records(bootstrap, topic):
    """(partition, offset) -> value text, read with kcat (an independent Kafka client)."""
    out = subprocess.run(
        ["kcat", "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%p\t%o\t%s\n"],
        check=True, capture_output=True, text=True, timeout=60).stdout
    records = {}
    for line in out.splitlines():
        if not line:
            continue
        partition, offset, value = line.split("\t", 2)
        records[(int(partition), int(offset))] = value
    return records


def s3_lines(env, prefix_topic):
    s3 = boto3.client("s3", endpoint_url=env["PINPIPE_S3_ENDPOINT"], region_name=env["PINPIPE_S3_REGION"],
                      aws_access_key_id=env["PINPIPE_S3_ACCESS_KEY"],
                      aws_secret_access_key=env["PINPIPE_S3_SECRET_KEY"])
    lines = []
    objects = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=env["PINPIPE_S3_BUCKET"],
                                                           Prefix=f"topics/{prefix_topic}/"):
        for item in page.get("Contents", []):
            objects += 1
            body = s3.get_object(Bucket=env["PINPIPE_S3_BUCKET"], Key=item["Key"])["Body"].read().decode()
            lines += [line for line in body.split("\n") if line]
    return objects, lines


def write_config(env, prefix, rest_port, metrics_port, state):
    generated = subprocess.run(
        [os.path.join(REPO, "deploy", "dev", "pinpipe-stack-config.sh"), prefix],
        check=True, capture_output=True, text=True,
        env={**os.environ, "PINPIPE_DEV_DIR": DEV, "PINPIPE_CONFIG_ROLES": "rest, sink",
             "PINPIPE_CONFIG_STATE_DIR": state, "PINPIPE_CONFIG_MAX_AGE": "2s",
             "PINPIPE_CONFIG_METRICS_LISTEN": f"127.0.0.1:{metrics_port}"}).stdout
    generated += f"""rest:
  listen: 127.0.0.1:{rest_port}
  topics: [{prefix}.missing]
  max_body_bytes: 1MiB
  max_records: 100
  max_record_bytes: 100000
  request_timeout: 2s
  idle_timeout: 5s
"""
    path = os.path.join(state, "pinpipe.yaml")
    with open(path, "w") as f:
        f.write(generated)
    return path


def bad_inputs(url, prefix, partitions):
    """(case, method, path, headers, body, expected status, expected error_code)."""
    pin = f"/topics/{prefix}.pin"
    row = {"records": [{"value": {"index": 1, "title": "x"}}]}
    return [
        ("invalid JSON", pin, {"Content-Type": JSON_V2}, b'{"records":[{"value":{"index":1,}}]}', 400, 400),
        ("truncated JSON", pin, {"Content-Type": JSON_V2}, b'{"records":[{"value":', 400, 400),
        ("wrong content type (text/plain)", pin, {"Content-Type": "text/plain"}, json.dumps(row).encode(), 415, 415),
        ("schema format (avro)", pin, {"Content-Type": "application/vnd.kafka.avro.v2+json"},
         json.dumps(row).encode(), 415, 415),
        ("no content type", pin, {}, json.dumps(row).encode(), 415, 415),
        ("Accept: text/html only", pin, {"Content-Type": JSON_V2, "Accept": "text/html"},
         json.dumps(row).encode(), 406, 406),
        ("missing records field", pin, {"Content-Type": JSON_V2}, b'{"value":{"index":1}}', 422, 422),
        ("records not an array", pin, {"Content-Type": JSON_V2}, b'{"records":{"value":1}}', 422, 422),
        ("empty records", pin, {"Content-Type": JSON_V2}, b'{"records":[]}', 422, 422),
        ("binary format, value is an object", pin, {"Content-Type": "application/vnd.kafka.binary.v2+json"},
         json.dumps(row).encode(), 422, 422),
        ("binary format, value not base64", pin, {"Content-Type": "application/vnd.kafka.binary.v2+json"},
         b'{"records":[{"value":"not base64!"}]}', 422, 422),
        ("10 MB body", pin, {"Content-Type": JSON_V2},
         b'{"records":[{"value":"' + b"x" * (10 * 1024 * 1024) + b'"}]}', 413, 413),
        ("record too large (200 kB value)", pin, {"Content-Type": JSON_V2},
         json.dumps({"records": [{"value": "y" * 200_000}]}).encode(), 422, 42201),
        ("too many records (101)", pin, {"Content-Type": JSON_V2},
         json.dumps({"records": [{"value": i} for i in range(101)]}).encode(), 422, 422),
        ("topic not in the allow list", f"/topics/{prefix}.nope", {"Content-Type": JSON_V2},
         json.dumps(row).encode(), 403, 40301),
        ("topic allowed (rest.topics) but not in Kafka", f"/topics/{prefix}.missing", {"Content-Type": JSON_V2},
         json.dumps(row).encode(), 404, 40401),
        ("forbidden topic (__consumer_offsets)", "/topics/__consumer_offsets", {"Content-Type": JSON_V2},
         json.dumps(row).encode(), 403, 40301),
        ("partition out of range in the path", f"{pin}/partitions/{partitions}", {"Content-Type": JSON_V2},
         json.dumps(row).encode(), 404, 40402),
        ("partition not a number in the path", f"{pin}/partitions/x", {"Content-Type": JSON_V2},
         json.dumps(row).encode(), 404, 40402),
        ("record partition out of range", pin, {"Content-Type": JSON_V2},
         json.dumps({"records": [{"value": 1}, {"value": 2, "partition": partitions + 4}]}).encode(), 422, 42202),
        ("record partition negative", pin, {"Content-Type": JSON_V2},
         json.dumps({"records": [{"value": 1, "partition": -1}]}).encode(), 422, 42202),
        ("unknown path", "/consumers/x", {"Content-Type": JSON_V2}, b"{}", 404, 404),
        ("GET-only path with POST", "/", {"Content-Type": JSON_V2}, b"{}", 405, 405),
    ]


def stalled_client(port, request_timeout):
    """Sends a request head announcing a body, then nothing: the endpoint must close the connection."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"POST /topics/x HTTP/1.1\r\nHost: x\r\nContent-Type: " + JSON_V2.encode()
                     + b"\r\nContent-Length: 100\r\n\r\n")
        sock.settimeout(request_timeout + 10)
        data = sock.recv(65536)
    return data, time.monotonic() - started


def main():
    env = stack_env()
    bootstrap = env["PINPIPE_KAFKA_BOOTSTRAP"]
    prefix = "rest" + uuid.uuid4().hex[:8]
    state = tempfile.mkdtemp(prefix="pinpipe-rest-check-")
    rest_port, metrics_port = free_port(), free_port()
    config = write_config(env, prefix, rest_port, metrics_port, state)
    url = f"http://127.0.0.1:{rest_port}"
    log = open(os.path.join(state, "pinpipe.log"), "w")
    daemon = subprocess.Popen([PINPIPE, "run", "--config", config], stdout=log, stderr=subprocess.STDOUT)
    failures = []
    try:
        wait("the REST endpoint", lambda: requests.get(url + "/", timeout=2).status_code == 200, 90)
        print(f"-- pinpipe roles [rest, sink] on {url}, topics {prefix}.pin/.geo/.user (state {state})")
        info = requests.get(url + "/", timeout=5).json()
        topics = requests.get(url + "/topics", timeout=5).json()
        pin_meta = requests.get(f"{url}/topics/{prefix}.pin", timeout=5).json()
        partitions = len(pin_meta["partitions"])
        print(f"   GET / -> {info}; GET /topics -> {topics}; {prefix}.pin has {partitions} partitions")

        # 2. The original client.
        client_log = os.path.join(state, "client.jsonl")
        dsn = (f"host={env['PINPIPE_PG_HOST']} port={env['PINPIPE_PG_PORT']} user={env['PINPIPE_PG_USER']} "
               f"password={env['PINPIPE_PG_PASSWORD']} dbname={env['PINPIPE_PG_DATABASE']}")
        started = time.monotonic()
        run = subprocess.run([sys.executable, os.path.join(HERE, "original_client.py"), "--url", url, "--prefix", prefix,
                              "--dsn", dsn, "--events", str(EVENTS), "--log", client_log])
        elapsed = time.monotonic() - started
        posts = [json.loads(line) for line in open(client_log)]
        if run.returncode != 0:
            failures.append("the original client got a non-200 reply")
        for post in posts:
            reply = post["reply"]
            shape_ok = (post["status"] == 200 and set(reply) == {"offsets", "key_schema_id", "value_schema_id"}
                        and reply["key_schema_id"] is None and reply["value_schema_id"] is None
                        and len(reply["offsets"]) == 1
                        and set(reply["offsets"][0]) == {"partition", "offset", "error_code", "error"}
                        and reply["offsets"][0]["error_code"] is None and reply["offsets"][0]["error"] is None
                        and post["content_type"] == "application/vnd.kafka.v2+json")
            if not shape_ok:
                failures.append(f"reply not in the v2 shape: {post['status']} {reply}")
        by_topic = collections.Counter(post["topic"] for post in posts)
        print(f"-- original client: {len(posts)} POSTs in {elapsed:.1f} s ({EVENTS} events, seed 100: "
              f"n = {', '.join(str(p['n']) for p in posts[::3][:6])}, ...), every reply 200 in the v2 shape: "
              f"{not any('v2 shape' in f for f in failures)}")

        # 3. kcat reads back.
        kafka = {}
        for suffix in ("pin", "geo", "user"):
            topic = f"{prefix}.{suffix}"
            kafka[topic] = kcat_records(bootstrap, topic)
        for post in posts:
            where = (post["reply"]["offsets"][0]["partition"], post["reply"]["offsets"][0]["offset"])
            value = kafka[post["topic"]].get(where)
            if value is None:
                failures.append(f"kcat: no record at {post['topic']} {where}")
            elif json.loads(value) != post["row"]:
                failures.append(f"kcat: {post['topic']} {where} holds {value}, posted {post['row']}")
        for topic, count in by_topic.items():
            if len(kafka[topic]) != count:
                failures.append(f"kcat: {topic} holds {len(kafka[topic])} records, {count} were posted")
        print("-- kcat: " + ", ".join(f"{t}: {len(kafka[t])} records (posted {by_topic[t]})" for t in sorted(kafka))
              + "; every reply's partition/offset holds the posted row: "
              + str(not any(f.startswith("kcat") for f in failures)))

        # 4. S3.
        def s3_complete():
            result = {t: s3_lines(env, t) for t in kafka}
            return result if all(len(result[t][1]) >= by_topic[t] for t in kafka) else None
        s3 = wait("every posted row in S3", s3_complete, 90, interval=1)
        for topic in kafka:
            posted = collections.Counter(canonical(p["row"]) for p in posts if p["topic"] == topic)
            stored = collections.Counter(canonical(json.loads(line)) for line in s3[topic][1])
            if posted != stored:
                failures.append(f"S3: {topic} rows differ from the posted ones "
                                f"(missing {sum((posted - stored).values())}, extra {sum((stored - posted).values())})")
        verify = subprocess.run([PINPIPE, "verify", "--config", config], capture_output=True, text=True)
        if verify.returncode != 0:
            failures.append(f"pinpipe verify exited {verify.returncode}: {verify.stdout[-500:]}")
        print("-- S3: " + ", ".join(f"{t}: {len(s3[t][1])} rows in {s3[t][0]} objects" for t in sorted(s3))
              + f"; same rows as posted (each once): {not any(f.startswith('S3') for f in failures)}; "
              + f"pinpipe verify exit {verify.returncode}")

        # 5. Bad inputs.
        before = {t: len(kcat_records(bootstrap, t)) for t in kafka}
        print("-- bad inputs (each must produce nothing):")
        print(f"   {'case':<52} {'status':>6}  reply")
        for case, path, headers, body, status, code in bad_inputs(url, prefix, partitions):
            response = requests.post(url + path, headers=headers, data=body, timeout=30)
            try:
                reply = response.json()
            except ValueError:
                reply = response.text
            text = json.dumps(reply) if not isinstance(reply, str) else reply
            print(f"   {case:<52} {response.status_code:>6}  {text[:150]}")
            if response.status_code != status or not isinstance(reply, dict) or reply.get("error_code") != code \
                    or not reply.get("message"):
                failures.append(f"bad input '{case}': got {response.status_code} {text[:200]}, expected {status}/{code}")
        data, took = stalled_client(rest_port, 2)
        print(f"   {'headers then stall (request_timeout 2s)':<52} {'closed':>6}  "
              f"connection closed after {took:.1f} s, {len(data)} bytes of reply")
        if data != b"" or took > 8:
            failures.append(f"stalled client: got {data[:100]!r} after {took:.1f} s")
        after = {t: len(kcat_records(bootstrap, t)) for t in kafka}
        print(f"   records per topic before {before}, after {after}: nothing produced: {before == after}")
        if before != after:
            failures.append(f"bad inputs produced records: {before} -> {after}")

        # Metrics and STATUS figures.
        metrics = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
        rest_lines = [line for line in metrics.splitlines()
                      if line.startswith(("pinpipe_rest_requests_total", "pinpipe_rest_records_total"))]
        print("-- metrics: " + "; ".join(rest_lines))
        recorded = sum(float(line.rsplit(" ", 1)[1]) for line in rest_lines
                       if line.startswith("pinpipe_rest_records_total"))
        if int(recorded) != len(posts):
            failures.append(f"metrics: pinpipe_rest_records_total is {recorded}, {len(posts)} records were posted")

        # 6. SIGTERM while 8 clients post: every 200 reply's record is in Kafka with its value, once; no record
        #    whose request got no reply is in Kafka (its client would send it again: a duplicate); and pinpipe
        #    stops cleanly (stops accepting, answers what it accepted, flushes the producer).
        stop = threading.Event()
        acked, refused, unanswered = [], collections.Counter(), []

        def poster(number):
            session, k = requests.Session(), 0
            while not stop.is_set():
                k += 1
                row = {"drain": number, "k": k}
                try:
                    r = session.post(f"{url}/topics/{prefix}.user", headers={"Content-Type": JSON_V2},
                                     data=json.dumps({"records": [{"value": row}]}), timeout=30)
                except requests.RequestException as error:
                    refused[type(error).__name__] += 1
                    unanswered.append(row)
                    time.sleep(0.05)
                    continue
                entry = r.json()["offsets"][0] if r.status_code == 200 else None
                if entry and entry["error_code"] is None:
                    acked.append((entry["partition"], entry["offset"], row))
                else:
                    refused[r.status_code] += 1

        threads = [threading.Thread(target=poster, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        time.sleep(2)
        drain_started = time.monotonic()
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            failures.append("drain: pinpipe did not stop within 60 s of SIGTERM under load")
        drained_in = time.monotonic() - drain_started
        stop.set()
        for thread in threads:
            thread.join()
        stored = kcat_records(bootstrap, f"{prefix}.user")
        lost = [a for a in acked if (a[0], a[1]) not in stored or json.loads(stored[(a[0], a[1])]) != a[2]]
        drained_rows = collections.Counter()
        for value in stored.values():
            try:
                row = json.loads(value)
            except ValueError:
                continue
            if isinstance(row, dict) and "drain" in row:
                drained_rows[(row["drain"], row["k"])] += 1
        doubled = [key for key, count in drained_rows.items() if count > 1]
        produced_unanswered = [r for r in unanswered if (r["drain"], r["k"]) in drained_rows]
        print(f"-- SIGTERM under load (8 clients): {len(acked)} POSTs answered 200, then pinpipe exited "
              f"{daemon.returncode} after {drained_in:.1f} s; after it: {dict(refused)}; "
              f"answered records missing in Kafka: {len(lost)}; records in Kafka whose request got no reply: "
              f"{len(produced_unanswered)} of {len(unanswered)}; records stored twice: {len(doubled)}")
        if produced_unanswered:
            failures.append(f"drain: {len(produced_unanswered)} records are in Kafka although their request got no "
                            f"reply (a client would send them again), e.g. {produced_unanswered[:3]}")
        if doubled:
            failures.append(f"drain: {len(doubled)} records are in Kafka twice, e.g. {doubled[:3]}")
        if lost:
            failures.append(f"drain: {len(lost)} records answered 200 are not in Kafka, e.g. {lost[:3]}")
        if not acked:
            failures.append("drain: no POST was answered during the drain test")
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            daemon.kill()
            failures.append("pinpipe did not stop within 60 s of SIGTERM")
        log.close()
    if daemon.returncode not in (0, None):
        failures.append(f"pinpipe exited {daemon.returncode} (log {state}/pinpipe.log)")
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        return 1
    print("rest check: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
