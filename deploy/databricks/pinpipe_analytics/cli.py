"""The local command: load the sink's objects, clean them, print every answer, optionally write CSV.

    python3 deploy/databricks/run_local.py --input DIR_OR_S3URI --prefix 0ab336d6fcf7 [--csv OUTDIR]

``--input`` is the directory (or S3 URI) that holds ``<prefix>.pin/``, ``<prefix>.geo/`` and
``<prefix>.user/``, i.e. the sink's ``topics`` folder; its parent is accepted too.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from . import catalog
from .runner import answer_all, prepare
from .s3input import S3Options, download_topics, is_s3_uri
from .table import format_table, write_csv


def parse_args(argv=None):
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="pinpipe_analytics",
        description="Clean pinpipe's S3 output with Spark SQL and answer the eight analysis questions.")
    parser.add_argument("--input", required=True,
                        help="local directory or s3://bucket/prefix holding <prefix>.pin/.geo/.user "
                             "(the sink's 'topics' folder, or its parent)")
    parser.add_argument("--prefix", required=True, help="the topic prefix, e.g. 0ab336d6fcf7")
    parser.add_argument("--csv", metavar="OUTDIR", help="also write one CSV file per question into OUTDIR")
    parser.add_argument("--s3-endpoint", default=env("PINPIPE_S3_ENDPOINT"),
                        help="S3-compatible endpoint URL (default: $PINPIPE_S3_ENDPOINT, else AWS)")
    parser.add_argument("--s3-region", default=env("PINPIPE_S3_REGION"),
                        help="region (default: $PINPIPE_S3_REGION, else the AWS default chain)")
    parser.add_argument("--s3-access-key", default=env("PINPIPE_S3_ACCESS_KEY"),
                        help="access key (default: $PINPIPE_S3_ACCESS_KEY, else the AWS default chain)")
    parser.add_argument("--s3-secret-key", default=env("PINPIPE_S3_SECRET_KEY"),
                        help="secret key (default: $PINPIPE_S3_SECRET_KEY, else the AWS default chain)")
    parser.add_argument("--driver-memory", default="4g", help="Spark driver memory (default 4g)")
    parser.add_argument("--cores", type=int, default=2, help="local Spark cores (default 2)")
    return parser.parse_args(argv)


def resolve_local_root(path: Path, topic_prefix: str) -> Path:
    """The directory holding ``<prefix>.pin`` etc.: ``path`` itself or ``path/topics``."""
    for candidate in (path, path / "topics"):
        if all((candidate / ("%s.%s" % (topic_prefix, t))).is_dir() for t in ("pin", "geo", "user")):
            return candidate
    raise FileNotFoundError("%s: no %s.pin, %s.geo and %s.user directories here or in %s/topics"
                            % (path, topic_prefix, topic_prefix, topic_prefix, path))


def main(argv=None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pinpipe-analytics-") as scratch:
        try:
            if is_s3_uri(args.input):
                options = S3Options(args.s3_endpoint, args.s3_region, args.s3_access_key, args.s3_secret_key)
                root = download_topics(args.input, args.prefix, Path(scratch), options)
                print("downloaded %s to %s" % (args.input, root), file=sys.stderr)
            else:
                root = resolve_local_root(Path(args.input), args.prefix)
        except FileNotFoundError as error:
            print("error: %s" % error, file=sys.stderr)
            return 2

        from .session import local_session

        spark = local_session(driver_memory=args.driver_memory, cores=args.cores)
        try:
            started = time.monotonic()
            prepare(spark, str(root), args.prefix)
            answers = answer_all(spark)
            for result in answers:
                q = result.question
                print(format_table("%s. %s" % (q.qid.upper(), q.title), result.columns, result.rows))
                print()
                if args.csv:
                    write_csv(Path(args.csv) / ("%s.csv" % q.qid), result.columns, result.rows)
            print("answered %d questions in %.1f s" % (len(answers), time.monotonic() - started),
                  file=sys.stderr)
        finally:
            spark.stop()
    return 0
