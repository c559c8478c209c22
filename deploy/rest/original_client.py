"""The original emulator's producer, against pinpipe's `rest` role: the same loop and the same HTTP requests.

Forever (here: --events times): sleep randrange(0, 2) seconds (--no-sleep skips it), draw n = randint(0, 11000)
with random.seed(100), read the row at offset n of each of the three tables, and POST each row on its own to
`<url>/topics/<prefix>.pin|.geo|.user` with `Content-Type: application/vnd.kafka.json.v2+json` and the body
`{"records": [{"value": row}]}` built by json.dumps(..., default=str), exactly as the original did.

Writes one JSON line per POST to --log: topic, table offset, the row as posted, HTTP status and the reply.
"""
import argparse
import json
import random
import sys
import time

import psycopg
import requests


def post_to_api(invoke_url, data, session):
    # The original's request, unchanged: a dict body serialised with default=str (datetimes as text).
    payload = json.dumps({"records": [{"value": data}]}, default=str)
    headers = {"Content-Type": "application/vnd.kafka.json.v2+json"}
    return session.request("POST", invoke_url, headers=headers, data=payload, timeout=30)


def row_at(cursor, table, n):
    cursor.execute(f"SELECT * FROM {table} LIMIT 1 OFFSET %s", (n,))
    names = [column.name for column in cursor.description]
    row = cursor.fetchone()
    return None if row is None else dict(zip(names, row))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True, help="pinpipe's rest.listen, e.g. http://127.0.0.1:8082")
    parser.add_argument("--prefix", required=True, help="kafka.topic_prefix")
    parser.add_argument("--dsn", required=True, help="PostgreSQL connection string")
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--max-key", type=int, default=11000)
    parser.add_argument("--no-sleep", action="store_true", help="skip the original's 0-1 s sleeps")
    parser.add_argument("--log", required=True)
    args = parser.parse_args()

    random.seed(100)
    session = requests.Session()
    posted = failed = 0
    with psycopg.connect(args.dsn) as connection, connection.cursor() as cursor, open(args.log, "w") as log:
        for _ in range(args.events):
            pause = random.randrange(0, 2)
            if not args.no_sleep:
                time.sleep(pause)
            n = random.randint(0, args.max_key)
            for table, suffix in (("pinterest_data", "pin"), ("geolocation_data", "geo"), ("user_data", "user")):
                row = row_at(cursor, table, n)
                if row is None:
                    continue
                topic = f"{args.prefix}.{suffix}"
                response = post_to_api(f"{args.url}/topics/{topic}", row, session)
                posted += 1
                ok = response.status_code == 200
                failed += 0 if ok else 1
                log.write(json.dumps({
                    "topic": topic, "n": n, "row": json.loads(json.dumps(row, default=str)),
                    "status": response.status_code, "content_type": response.headers.get("Content-Type"),
                    "reply": response.json(),
                }) + "\n")
    print(f"original client: {posted} POSTs, {posted - failed} answered 200, {failed} not")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
