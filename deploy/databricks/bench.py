#!/usr/bin/env python3
"""Benchmark (prints figures, never passes or fails): load, clean and answer on a large data set locally.

    python3 deploy/databricks/bench.py                      # generate 1,000,000 rows per table, then measure
    python3 deploy/databricks/bench.py --rows 200000
    python3 deploy/databricks/bench.py --input DIR --prefix 0ab336d6fcf7

Stages: generate (pinpipe generate, not Spark), load (read the JSON objects with the explicit schemas and
cache the raw views), clean (the cleaning SQL, cached), then each question on the cached cleaned views.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from pinpipe_analytics import catalog  # noqa: E402
from pinpipe_analytics.cli import resolve_local_root  # noqa: E402
from pinpipe_analytics.load import RAW_VIEWS, load_raw  # noqa: E402
from pinpipe_analytics.runner import answer, clean  # noqa: E402

CLEAN_VIEWS = ("df_pin", "df_geo", "df_user", "user_age_group")


def timed(label, action, figures):
    started = time.monotonic()
    result = action()
    elapsed = time.monotonic() - started
    figures.append((label, elapsed))
    print("%-52s %8.1f s" % (label, elapsed), flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--input", help="existing data (the sink's topics folder or its parent)")
    parser.add_argument("--prefix", default="0ab336d6fcf7")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per table to generate")
    parser.add_argument("--seed", type=int, default=100)
    parser.add_argument("--pinpipe", default=os.environ.get("PINPIPE_BIN")
                        or str(HERE.parent.parent / ".build" / "debug" / "pinpipe"))
    parser.add_argument("--keep", help="generate into this directory and keep it")
    parser.add_argument("--driver-memory", default="4g")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--shuffle-partitions", type=int, default=8)
    args = parser.parse_args()

    figures = []
    scratch = None
    if args.input:
        root = resolve_local_root(Path(args.input), args.prefix)
    else:
        out = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="pinpipe-bench-"))
        scratch = None if args.keep else out
        command = [args.pinpipe, "generate", "--rows", str(args.rows), "--seed", str(args.seed),
                   "--format", "s3", "--out", str(out), "--prefix", args.prefix]
        timed("generate (pinpipe, not Spark)", lambda: subprocess.run(command, check=True), figures)
        root = out / "topics"
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    print("input %s: %.1f MB" % (root, size / 1e6), flush=True)

    from pinpipe_analytics.session import local_session

    spark = local_session(app_name="pinpipe-analytics-bench", cores=args.cores, driver_memory=args.driver_memory,
                          shuffle_partitions=args.shuffle_partitions)
    try:
        def load():
            load_raw(spark, str(root), args.prefix)
            counts = {}
            for view in RAW_VIEWS.values():
                spark.catalog.cacheTable(view)
                counts[view] = spark.table(view).count()
            return counts

        counts = timed("load (read + cache raw)", load, figures)
        print("  rows: %s" % ", ".join("%s=%d" % kv for kv in counts.items()), flush=True)

        def cleaning():
            clean(spark)
            counts = {}
            for view in CLEAN_VIEWS:
                spark.catalog.cacheTable(view)
                counts[view] = spark.table(view).count()
            for view in RAW_VIEWS.values():
                spark.catalog.uncacheTable(view)
            return counts

        counts = timed("clean (SQL + cache)", cleaning, figures)
        print("  rows: %s" % ", ".join("%s=%d" % kv for kv in counts.items()), flush=True)
        for q in catalog.QUESTIONS:
            result = timed("%s %s" % (q.qid, q.sql_file.split("/")[-1][:-4]), lambda q=q: answer(spark, q), figures)
            print("  %d rows" % len(result.rows), flush=True)
    finally:
        spark.stop()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)

    spark_total = sum(seconds for label, seconds in figures if not label.startswith("generate"))
    print("%-52s %8.1f s" % ("total (Spark stages)", spark_total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
