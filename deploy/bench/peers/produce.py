#!/usr/bin/env python3
"""Benchmark peer (b): PostgreSQL -> Kafka snapshot in Python, written the way a competent data engineer would.

psycopg 3 with a named (server-side) cursor so memory stays bounded, one compact JSON object per row (columns in
table order, timestamps as ISO-8601, like pinpipe), key = the row key as decimal text, and one confluent-kafka
producer with acks=all and idempotence: produce() + poll(0) per row, a retry on a full local queue, flush() at the
end, and every delivery report checked.

    produce.py --dsn DSN --bootstrap HOST:PORT --topic-prefix P --table pin=pinterest_data:index ...
"""
import argparse
import datetime
import decimal
import json
import sys
import time

import psycopg
from psycopg import sql
from confluent_kafka import Producer


def to_json(value):
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return str(value)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic-prefix", required=True)
    parser.add_argument("--table", action="append", required=True, help="SUFFIX=TABLE:KEY (repeatable)")
    parser.add_argument("--itersize", type=int, default=5000)
    args = parser.parse_args()

    producer = Producer({
        "bootstrap.servers": args.bootstrap,
        "client.id": "bench-python-producer",
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": 5,
    })
    failures = []
    delivered = 0

    def on_delivery(error, message):
        nonlocal delivered
        if error is not None:
            failures.append(error)
        else:
            delivered += 1

    encode = json.JSONEncoder(default=to_json, separators=(",", ":"), ensure_ascii=False).encode
    produced = 0
    started = time.monotonic()
    with psycopg.connect(args.dsn) as connection:
        for spec in args.table:
            suffix, _, rest = spec.partition("=")
            table, _, key = rest.partition(":")
            topic = f"{args.topic_prefix}.{suffix}"
            with connection.cursor(name=f"snapshot_{suffix}") as cursor:
                cursor.itersize = args.itersize
                cursor.execute(sql.SQL("SELECT * FROM {} ORDER BY {}").format(sql.Identifier(table), sql.Identifier(key)))
                columns = None
                key_index = None
                for row in cursor:
                    if columns is None:
                        columns = [column.name for column in cursor.description]
                        key_index = columns.index(key)
                    value = encode(dict(zip(columns, row))).encode()
                    while True:
                        try:
                            producer.produce(topic, value=value, key=str(row[key_index]), on_delivery=on_delivery)
                            break
                        except BufferError:
                            producer.poll(0.05)  # local queue full: serve delivery reports, then retry
                    producer.poll(0)
                    produced += 1
            connection.commit()
    remaining = producer.flush(120)
    elapsed = time.monotonic() - started
    print(json.dumps({"produced": produced, "delivered": delivered, "failed": len(failures),
                      "not_flushed": remaining, "seconds": round(elapsed, 3)}), file=sys.stderr)
    if failures or remaining or delivered != produced:
        print(f"delivery failures: {failures[:5]}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
