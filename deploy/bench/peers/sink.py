#!/usr/bin/env python3
"""Benchmark peer (b): Kafka -> S3 uploader in Python, written the way a competent data engineer would.

One confluent-kafka consumer in a group (manual commits, earliest), consume() in batches, a JSON Lines batch per
topic-partition that becomes one S3 object (boto3 put_object) at 10,000 records or 16 MiB, in Confluent's key
layout <prefix>/<topic>/partition=<p>/<topic>+<p>+<startOffset:010>.json, and a synchronous commit of that
partition's offset right after each upload. Exits once every assigned partition reached its end (partition EOF)
and every batch is uploaded and committed.

    sink.py --bootstrap HOST:PORT --group G --topic T ... --bucket B --prefix P --endpoint URL
    (credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in the environment)
"""
import argparse
import json
import sys
import time

import boto3
from botocore.config import Config
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition


class Batch:
    __slots__ = ("start", "last", "values", "size")

    def __init__(self, start):
        self.start = start
        self.last = start
        self.values = []
        self.size = 0


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--topic", action="append", required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--prefix", default="topics")
    parser.add_argument("--endpoint", default=None)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--max-records", type=int, default=10_000)
    parser.add_argument("--max-bytes", type=int, default=16 * 1024 * 1024)
    args = parser.parse_args()

    s3 = boto3.client("s3", endpoint_url=args.endpoint, region_name=args.region,
                      config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 6, "mode": "standard"}))
    consumer = Consumer({
        "bootstrap.servers": args.bootstrap,
        "group.id": args.group,
        "client.id": "bench-python-sink",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "enable.partition.eof": True,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
    })
    batches = {}
    assigned = set()
    at_end = set()
    stats = {"records": 0, "objects": 0, "bytes": 0}

    def upload(tp):
        batch = batches.pop(tp, None)
        if batch is None or not batch.values:
            return
        topic, partition = tp
        key = f"{args.prefix}/{topic}/partition={partition}/{topic}+{partition}+{batch.start:010d}.json"
        body = b"".join(batch.values)
        s3.put_object(Bucket=args.bucket, Key=key, Body=body, ContentType="application/json")
        consumer.commit(offsets=[TopicPartition(topic, partition, batch.last + 1)], asynchronous=False)
        stats["records"] += len(batch.values)
        stats["objects"] += 1
        stats["bytes"] += len(body)

    def on_assign(_consumer, partitions):
        assigned.update((p.topic, p.partition) for p in partitions)

    def on_revoke(_consumer, partitions):
        for p in partitions:
            tp = (p.topic, p.partition)
            upload(tp)
            assigned.discard(tp)
            at_end.discard(tp)

    consumer.subscribe(args.topic, on_assign=on_assign, on_revoke=on_revoke)
    started = time.monotonic()
    try:
        while True:
            for message in consumer.consume(num_messages=1000, timeout=1.0):
                error = message.error()
                tp = (message.topic(), message.partition())
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        upload(tp)
                        at_end.add(tp)
                        continue
                    raise KafkaException(error)
                at_end.discard(tp)
                value = message.value() + b"\n"
                batch = batches.get(tp)
                if batch is not None and batch.size + len(value) > args.max_bytes:
                    upload(tp)
                    batch = None
                if batch is None:
                    batch = batches[tp] = Batch(message.offset())
                batch.values.append(value)
                batch.size += len(value)
                batch.last = message.offset()
                if len(batch.values) >= args.max_records:
                    upload(tp)
            if assigned and at_end >= assigned and not batches:
                break
    finally:
        consumer.close()
    stats["seconds"] = round(time.monotonic() - started, 3)
    print(json.dumps(stats), file=sys.stderr)


if __name__ == "__main__":
    main()
