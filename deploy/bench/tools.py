#!/usr/bin/env python3
"""Helpers for deploy/bench/run.sh (not timed).

    tools.py watermarks --bootstrap B --topic T ...          sum of the topics' high watermarks
    tools.py committed --bootstrap B --group G --topic T ...  sum of the group's committed offsets
    tools.py s3-bucket --bucket B                             create the bucket when missing
    tools.py s3-summary --bucket B --prefix P                 "<objects> <bytes>" under the prefix
    tools.py s3-drop --bucket B                               delete every object, then the bucket
    tools.py cpu PID...                                        CPU seconds (user+sys, with reaped children)
    tools.py cpu system                                       busy CPU seconds of the whole machine (/proc/stat)
    tools.py report --results TSV --meta JSON --out RESULTS.md
S3 commands read PINPIPE_S3_ENDPOINT, PINPIPE_S3_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
"""
import argparse
import json
import os
import statistics
import sys


def kafka_partitions(consumer, topics):
    from confluent_kafka import TopicPartition
    metadata = consumer.list_topics(timeout=10)
    result = []
    for topic in topics:
        info = metadata.topics.get(topic)
        if info is None or info.error is not None:
            sys.exit(f"topic {topic} is missing: {info.error if info else 'unknown'}")
        result += [TopicPartition(topic, p) for p in sorted(info.partitions)]
    return result


def cmd_watermarks(args):
    from confluent_kafka import Consumer
    consumer = Consumer({"bootstrap.servers": args.bootstrap, "group.id": "bench-watermarks"})
    total = 0
    for tp in kafka_partitions(consumer, args.topic):
        low, high = consumer.get_watermark_offsets(tp, timeout=10)
        total += high
    consumer.close()
    print(total)


def cmd_count(args):
    """Records a read_committed consumer reads from the topics, and their distinct (topic, key) pairs."""
    from confluent_kafka import Consumer, KafkaError
    consumer = Consumer({"bootstrap.servers": args.bootstrap, "group.id": "bench-count",
                         "isolation.level": "read_committed", "enable.partition.eof": True,
                         "enable.auto.commit": False})
    partitions = kafka_partitions(consumer, args.topic)
    for tp in partitions:
        tp.offset = -2  # beginning
    consumer.assign(partitions)
    remaining = {(tp.topic, tp.partition) for tp in partitions}
    records = 0
    keys = set()
    while remaining:
        for message in consumer.consume(10000, timeout=10):
            if message.error():
                if message.error().code() == KafkaError._PARTITION_EOF:
                    remaining.discard((message.topic(), message.partition()))
                    continue
                sys.exit(f"consumer error: {message.error()}")
            records += 1
            keys.add((message.topic(), message.key()))
    consumer.close()
    print(records, len(keys))


def cmd_committed(args):
    from confluent_kafka import Consumer
    consumer = Consumer({"bootstrap.servers": args.bootstrap, "group.id": args.group, "enable.auto.commit": False})
    total = 0
    for tp in consumer.committed(kafka_partitions(consumer, args.topic), timeout=10):
        total += max(tp.offset, 0)
    consumer.close()
    print(total)


def s3_client():
    import boto3
    from botocore.config import Config
    return boto3.client("s3", endpoint_url=os.environ["PINPIPE_S3_ENDPOINT"],
                        region_name=os.environ.get("PINPIPE_S3_REGION", "us-east-1"),
                        config=Config(s3={"addressing_style": "path"}))


def cmd_s3_bucket(args):
    from botocore.exceptions import ClientError
    s3 = s3_client()
    try:
        s3.head_bucket(Bucket=args.bucket)
    except ClientError:
        s3.create_bucket(Bucket=args.bucket)
        s3.head_bucket(Bucket=args.bucket)


def cmd_s3_summary(args):
    s3 = s3_client()
    objects = size = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=args.bucket, Prefix=args.prefix):
        for item in page.get("Contents", []):
            objects += 1
            size += item["Size"]
    print(objects, size)


def cmd_s3_drop(args):
    from botocore.exceptions import ClientError
    s3 = s3_client()
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=args.bucket):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=args.bucket, Delete={"Objects": keys, "Quiet": True})
        s3.delete_bucket(Bucket=args.bucket)
    except ClientError as error:
        print(f"s3-drop {args.bucket}: {error}", file=sys.stderr)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state): utime=14, stime=15, cutime=16, cstime=17
    ticks = sum(int(fields[i - 3]) for i in (14, 15, 16, 17))
    return ticks / os.sysconf("SC_CLK_TCK")


def system_busy_seconds():
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:9]]
    # user nice system idle iowait irq softirq steal: busy = all but idle and iowait
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def cmd_cpu(args):
    if args.pid == ["system"]:
        print(f"{system_busy_seconds():.2f}")
        return
    total = 0.0
    for pid in args.pid:
        try:
            total += cpu_seconds(pid)
        except OSError:
            pass
    print(f"{total:.2f}")


# --- report -------------------------------------------------------------------------------------------------

def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, digits=1):
    if value is None:
        return "–"
    if digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def cmd_report(args):
    with open(args.meta) as f:
        meta = json.load(f)
    runs = []
    with open(args.results) as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            row = dict(zip(header, line.rstrip("\n").split("\t")))
            row.setdefault("brokers", "1")
            for key in ("rep", "records", "rc", "brokers"):
                row[key] = int(row[key])
            for key in ("wall_s", "user_s", "sys_s", "maxrss_kb", "broker_cpu_s", "pg_cpu_s", "weed_cpu_s",
                        "sys_busy_s", "load1"):
                row[key] = float(row[key]) if row.get(key) not in (None, "", "-") else None
            row["cpu_s"] = row["user_s"] + row["sys_s"]
            row["rate"] = row["records"] / row["wall_s"] if row["wall_s"] else None
            # CPU used by everything else on the machine during the run, as a share of all cores
            ours = row["cpu_s"] + sum(row[k] or 0 for k in ("broker_cpu_s", "pg_cpu_s", "weed_cpu_s"))
            row["other_pct"] = (max(0.0, 100 * (row["sys_busy_s"] - ours) / (row["wall_s"] * meta["nproc"]))
                                if row["sys_busy_s"] is not None and row["wall_s"] else None)
            runs.append(row)

    shapes = meta.get("shapes") or sorted({r["brokers"] for r in runs}, reverse=True)

    def group(phase, contender, brokers):
        selected = [r for r in runs if r["phase"] == phase and r["contender"] == contender and r["rc"] == 0
                    and r["brokers"] == brokers]
        if not selected:
            return None
        per_m = lambda key: median([(r[key] or 0) * 1e6 / r["records"] for r in selected])
        return {
            "n": len(selected),
            "records": selected[0]["records"],
            "rate": median([r["rate"] for r in selected]),
            "wall": median([r["wall_s"] for r in selected]),
            "cpu": median([r["cpu_s"] for r in selected]),
            "cpu_m": median([r["cpu_s"] * 1e6 / r["records"] for r in selected]),
            "rss": median([r["maxrss_kb"] / 1024 for r in selected]),
            "rss_max": max(r["maxrss_kb"] / 1024 for r in selected),
            "broker": median([r["broker_cpu_s"] for r in selected]),
            "broker_m": per_m("broker_cpu_s"),
            "pg": median([r["pg_cpu_s"] for r in selected]),
            "pg_m": per_m("pg_cpu_s"),
            "weed": median([r["weed_cpu_s"] for r in selected]),
            "weed_m": per_m("weed_cpu_s"),
            "rates": [r["rate"] for r in selected],
        }

    def ratio(a, b):
        return a / b if a and b else None

    def against(r, target):
        """`r` to 2 decimals, or 3 when 2 would round it onto the target it misses (2.999 is not 3.00)."""
        return f"{r:.3f}" if r < target and round(r, 2) >= target else f"{r:.2f}"

    def shape_name(brokers):
        return f"{brokers} broker{'s' if brokers != 1 else ''}"

    n = meta["rows"]
    others = sorted(r["other_pct"] for r in runs if r["other_pct"] is not None)
    other_text = (f"median {statistics.median(others):.0f} %, range {others[0]:.0f}–{others[-1]:.0f} %"
                  if others else "not measured")
    out = []
    w = out.append
    w("# pinpipe benchmarks — producer and sink")
    w("")
    w(f"Generated by `deploy/bench/run.sh --rows {n} --repeats {meta['repeats']} --brokers "
      f"{','.join(str(b) for b in shapes)}` on {meta['date']} "
      f"(pinpipe commit `{meta['commit']}`, release build). Every figure is the **median of "
      f"{meta['repeats']} repeats** measured in the same run; the contenders of one repeat run back to back, in a "
      f"rotated order, against the same data and the same broker build. Each phase runs on two cluster shapes: "
      f"three brokers (partition leaders spread over them, as on MSK) and one broker.")
    w("")
    if n != 1_000_000:
        w(f"> **Scale:** these figures use N = {n:,} rows per table ({3 * n:,} records), not the script's default "
          f"of 1,000,000: {meta.get('scale_note', 'the machine was too busy to finish the full size in time')}.")
        w("")
    w("## Machine and load caveat")
    w("")
    w(f"- {meta['cpu_model']}, {meta['nproc']} cores, {meta['mem_gib']} GiB RAM, {meta['os']}; "
      f"{meta['swift']}.")
    w(f"- The machine is **shared and noisy**: other work uses 10–40 % of it at any time (1-minute load average "
      f"before the runs: {meta['load_min']:.1f}–{meta['load_max']:.1f} on {meta['nproc']} cores; CPU used by "
      f"other processes during the runs, as a share of all cores: {other_text}). Absolute "
      f"numbers move by tens of percent between runs. **Compare contenders within one run** (the ratios), "
      f"using the medians; the per-repeat rates are listed below the tables to show the spread. CPU seconds per "
      f"million records (contender, broker, PostgreSQL, SeaweedFS) show progress even when wall times are noisy.")
    w("- Everything is local: PostgreSQL 15 (the dev stack's cluster, separate `*_bench` tables), a dedicated "
      "librdkafka mock cluster (`pinpipe dev-broker --brokers 3|1 --partitions 3`, run against the big-volume "
      "librdkafka from `deploy/bench/build-broker.sh`, whose mock brokers keep every message and, like Kafka's "
      "SocketServer, set TCP_NODELAY on their connections), and SeaweedFS as S3, all sharing the same 2 cores with "
      "the contender. The broker, PostgreSQL and SeaweedFS CPU is reported separately (it is not in the "
      "contender's CPU seconds).")
    w("- Wall time, CPU seconds (user + sys) and peak RSS come from `/usr/bin/time -v`. For a pipeline "
      "(`psql | kcat`, three of them in parallel) CPU is the sum over its processes and peak RSS is that of its "
      "largest single process (what `getrusage(RUSAGE_CHILDREN)` reports).")
    w("")

    # Producer
    w(f"## 1. Producer: snapshot of {n:,} rows per table ({3 * n:,} records, {meta['produce_bytes_h']} of JSON "
      f"values) into the broker")
    w("")
    w("| cluster | contender | rows/s | wall s | CPU s | CPU s / M rows | peak RSS MB | broker CPU s / M | "
      "PostgreSQL CPU s / M | pinpipe speed-up |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    summary = []
    for b in shapes:
        p_pin = group("produce", "pinpipe", b)
        p_kcat = group("produce", "psql-kcat", b)
        p_py = group("produce", "python", b)
        p_small = group("produce", "pinpipe-small", b)
        p_before = group("produce", "pinpipe-before", b)
        p_eos = group("produce", "pinpipe-eos", b)
        for name, g in (("**pinpipe** `run --once --from-scratch` (roles: produce), `exactly_once: false`", p_pin),
                        ("pinpipe with `exactly_once: true` (pinpipe's default; read_committed count checked)", p_eos),
                        ("pinpipe before (`BENCH_BEFORE_BIN`)", p_before),
                        ("(a) `psql` COPY row_to_json → `kcat -P` (acks=all, idempotence)", p_kcat),
                        ("(b) Python psycopg 3 + confluent-kafka", p_py),
                        ("pinpipe on N/10 rows per table (RSS check)", p_small)):
            if g is None:
                continue
            speed = ("1.00×" if g is p_pin else "" if g is p_small
                     else (f"{ratio(p_pin['rate'], g['rate']):.2f}×" if p_pin else "–"))
            w(f"| {shape_name(b)} | {name} | {fmt(g['rate'], 0)} | {fmt(g['wall'])} | {fmt(g['cpu'])} | "
              f"{fmt(g['cpu_m'], 2)} | {fmt(g['rss'])} | {fmt(g['broker_m'], 2)} | {fmt(g['pg_m'], 2)} | {speed} |")
        if p_pin:
            line = f"- {shape_name(b)}:"
            if p_kcat:
                r = ratio(p_pin["rate"], p_kcat["rate"])
                line += f" **{against(r, 1.5)}×** `psql | kcat`" + (f" ({'meets' if r >= 1.5 else 'misses'} the ≥ 1.5× target)" if b == 3 else "") + ";"
            if p_py:
                line += f" {ratio(p_pin['rate'], p_py['rate']):.2f}× the Python producer;"
            if p_eos and p_kcat:
                line += (f" with `exactly_once: true` {ratio(p_eos['rate'], p_kcat['rate']):.2f}× `psql | kcat` "
                         f"(it costs {ratio(p_pin['rate'], p_eos['rate']):.2f}× the wall time of at-least-once);")
            line += (f" peak RSS {fmt(p_pin['rss'])} MB median, max {fmt(p_pin['rss_max'])} MB"
                     + (f", {fmt(p_small['rss'])} MB at N/10" if p_small else "")
                     + f" ({'under' if p_pin['rss_max'] < 100 else 'NOT under'} 100 MB).")
            summary.append(line)
    w("")
    w("Targets (issue 15): on three brokers pinpipe ≥ 1.5× `psql | kcat`; peak RSS under 100 MB.")
    w("")
    for line in summary:
        w(line)
    w("")
    w(f"pinpipe producer settings: {meta['producer_settings']}. The peers: (a) {meta['peer_a']}; (b) "
      f"{meta['peer_b']}.")
    w("")

    # Sink
    w(f"## 2. Sink: {3 * n:,} records (the producer benchmark's topics) from the three topics to S3")
    w("")
    w("| cluster | contender | records/s | wall s | CPU s | CPU s / M records | peak RSS MB | SeaweedFS CPU s / M | "
      "broker CPU s / M | pinpipe speed-up |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    summary = []
    for b in shapes:
        s_pin = group("sink", "pinpipe", b)
        s_kcat = group("sink", "kcat", b)
        s_py = group("sink", "python", b)
        s_small = group("sink", "pinpipe-small", b)
        s_before = group("sink", "pinpipe-before", b)
        for name, g in (("**pinpipe** `run --once` (roles: sink)", s_pin),
                        ("pinpipe before (`BENCH_BEFORE_BIN`)", s_before),
                        ("(a) `kcat -C -G` to /dev/null (no upload)", s_kcat),
                        ("(b) Python confluent-kafka + boto3", s_py),
                        ("pinpipe on a backlog of N/10 (RSS check)", s_small)):
            if g is None:
                continue
            speed = ("1.00×" if g is s_pin else "" if g is s_small
                     else (f"{ratio(s_pin['rate'], g['rate']):.2f}×" if s_pin else "–"))
            w(f"| {shape_name(b)} | {name} | {fmt(g['rate'], 0)} | {fmt(g['wall'])} | {fmt(g['cpu'])} | "
              f"{fmt(g['cpu_m'], 2)} | {fmt(g['rss'])} | {fmt(g['weed_m'], 2)} | {fmt(g['broker_m'], 2)} | {speed} |")
        if s_pin:
            line = f"- {shape_name(b)}:"
            if s_py:
                r = ratio(s_pin["rate"], s_py["rate"])
                line += f" **{against(r, 3)}×** the Python uploader" + (f" ({'meets' if r >= 3 else 'misses'} ≥ 3×)" if b == 3 else "") + ";"
            if s_kcat:
                r = ratio(s_pin["rate"], s_kcat["rate"])
                line += f" **{100 * r:.0f} %** of `kcat`'s read-only rate" + (f" ({'meets' if r >= 0.6 else 'misses'} ≥ 60 %)" if b == 3 else "") + ";"
            line += (f" peak RSS {fmt(s_pin['rss'])} MB median, max {fmt(s_pin['rss_max'])} MB"
                     + (f", {fmt(s_small['rss'])} MB for N/10" if s_small else "")
                     + f" ({'under' if s_pin['rss_max'] < 100 else 'NOT under'} 100 MB).")
            summary.append(line)
    w("")
    w("Targets (issue 15): on three brokers ≥ 3× (b) and ≥ 60 % of (a); peak RSS under 100 MB at any backlog.")
    w("")
    for line in summary:
        w(line)
    w("")
    w(f"Sink settings (pinpipe and (b)): {meta['sink_settings']}. Each contender and repeat has its own consumer "
      f"group and its own S3 key prefix in a bench bucket; every upload run was checked afterwards (committed "
      f"offsets = records; objects and bytes listed under its prefix). Every run of `run --once` and `kcat -G` "
      f"includes the mock coordinator's group join (about 3 s, the same for both).")
    w("")

    w("## Every run")
    w("")
    w("| phase | brokers | contender | repeat | records | wall s | rate/s | CPU s | peak RSS MB | broker CPU s | PG CPU s | "
      "SeaweedFS CPU s | other load % | check |")
    w("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in runs:
        w(f"| {r['phase']} | {r['brokers']} | {r['contender']} | {r['rep']} | {r['records']:,} | {fmt(r['wall_s'])} | "
          f"{fmt(r['rate'], 0)} | {fmt(r['cpu_s'])} | {fmt(r['maxrss_kb'] / 1024)} | {fmt(r['broker_cpu_s'])} | "
          f"{fmt(r['pg_cpu_s'])} | {fmt(r['weed_cpu_s'])} | {fmt(r['other_pct'], 0)} | {r['check']} |")
    w("")
    if meta.get("notes"):
        w("## Notes")
        w("")
        for note in meta["notes"]:
            w(f"- {note}")
        w("")
    w("Reproduce: `deploy/bench/run.sh [--rows N] [--repeats R] [--brokers 3,1]` (defaults 1,000,000, 3 and both shapes). It needs the dev "
      "stack (`deploy/dev/stack up`), builds pinpipe in release mode into `.build-release`, builds the "
      "big-volume librdkafka, seeds `*_bench` tables, runs its own broker, and rewrites this file.")
    with open(args.out, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("watermarks"); p.add_argument("--bootstrap", required=True); p.add_argument("--topic", action="append", required=True)
    p = sub.add_parser("count"); p.add_argument("--bootstrap", required=True); p.add_argument("--topic", action="append", required=True)
    p = sub.add_parser("committed"); p.add_argument("--bootstrap", required=True); p.add_argument("--group", required=True); p.add_argument("--topic", action="append", required=True)
    p = sub.add_parser("s3-bucket"); p.add_argument("--bucket", required=True)
    p = sub.add_parser("s3-summary"); p.add_argument("--bucket", required=True); p.add_argument("--prefix", required=True)
    p = sub.add_parser("s3-drop"); p.add_argument("--bucket", required=True)
    p = sub.add_parser("cpu"); p.add_argument("pid", nargs="+")
    p = sub.add_parser("report"); p.add_argument("--results", required=True); p.add_argument("--meta", required=True); p.add_argument("--out", required=True)
    args = parser.parse_args()
    {"watermarks": cmd_watermarks, "count": cmd_count, "committed": cmd_committed, "s3-bucket": cmd_s3_bucket,
     "s3-summary": cmd_s3_summary, "s3-drop": cmd_s3_drop, "cpu": cmd_cpu, "report": cmd_report}[args.command](args)


if __name__ == "__main__":
    main()
