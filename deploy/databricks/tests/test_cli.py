"""The local command, run as a user would: readable tables on stdout, CSV files, input errors."""

from __future__ import annotations

import csv
import subprocess
import sys

from conftest import DATABRICKS_DIR, FIXTURE_PREFIX, FIXTURE_ROOT
from expected_fixture import EXPECTED

from pinpipe_analytics import catalog
from pinpipe_analytics.cli import resolve_local_root
from pinpipe_analytics.table import format_table

RUN_LOCAL = DATABRICKS_DIR / "run_local.py"


def test_format_table_aligns_columns_and_counts_rows():
    text = format_table("Q9. Example", ("country", "n"), [("Chad", 1), ("Albania", 12), (None, 3)])
    assert text.split("\n") == [
        "Q9. Example",
        "+---------+----+",
        "| country | n  |",
        "+---------+----+",
        "| Chad    |  1 |",
        "| Albania | 12 |",
        "| NULL    |  3 |",
        "+---------+----+",
        "(3 rows)",
    ]


def test_input_may_be_the_topics_folder_or_its_parent(tmp_path):
    assert resolve_local_root(FIXTURE_ROOT, FIXTURE_PREFIX) == FIXTURE_ROOT
    assert resolve_local_root(FIXTURE_ROOT.parent, FIXTURE_PREFIX) == FIXTURE_ROOT
    result = subprocess.run([sys.executable, str(RUN_LOCAL), "--input", str(tmp_path), "--prefix", "nope"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "nope.pin" in result.stderr


def test_command_prints_every_answer_and_writes_csv(tmp_path):
    out = tmp_path / "csv"
    result = subprocess.run(
        [sys.executable, str(RUN_LOCAL), "--input", str(FIXTURE_ROOT.parent), "--prefix", FIXTURE_PREFIX,
         "--csv", str(out), "--driver-memory", "1g"],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    for q in catalog.QUESTIONS:
        assert format_table("%s. %s" % (q.qid.upper(), q.title), q.columns, EXPECTED[q.qid]) in result.stdout
        with (out / ("%s.csv" % q.qid)).open(newline="") as handle:
            rows = list(csv.reader(handle))
        assert tuple(rows[0]) == q.columns
        assert rows[1:] == [[str(v) for v in row] for row in EXPECTED[q.qid]]
