"""The generated Databricks notebooks: up to date with the SQL, well-formed, and giving the same answers."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIXTURE_PREFIX, FIXTURE_ROOT
from expected_fixture import EXPECTED

from pinpipe_analytics import catalog, notebooks

HEADER = "# Databricks notebook source\n"
SEPARATOR = "\n\n# COMMAND ----------\n\n"


def cells_of(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    assert text.startswith(HEADER)
    return text[len(HEADER):].rstrip("\n").split(SEPARATOR)


def magic_of(cell: str):
    """(command line, body) for a ``# MAGIC`` cell, None for a Python cell."""
    lines = cell.split("\n")
    if not all(line.startswith("# MAGIC") for line in lines):
        assert not any(line.startswith("# MAGIC") for line in lines), cell
        return None
    stripped = [line[len("# MAGIC "):] if line.startswith("# MAGIC ") else line[len("# MAGIC"):]
                for line in lines]
    return stripped[0], "\n".join(stripped[1:])


class FakeWidgets:
    def __init__(self, values):
        self.values = dict(values)

    def text(self, name, default_value, label=None):
        self.values.setdefault(name, default_value)

    def get(self, name):
        return self.values[name]


class FakeDbutils:
    def __init__(self, values):
        self.widgets = FakeWidgets(values)


def run_notebook(spark, path: Path, dbutils, results: list):
    """Execute a notebook the way Databricks does: Python cells, %sql cells, %run, %md ignored."""
    scope = {"spark": spark, "dbutils": dbutils}
    for cell in cells_of(path):
        magic = magic_of(cell)
        if magic is None:
            exec(compile(cell, str(path), "exec"), scope)
            continue
        command, body = magic
        if command == "%md":
            continue
        if command == "%sql":
            frame = spark.sql(body)
            results.append((tuple(frame.columns), [tuple(r) for r in frame.collect()]))
        elif command.startswith("%run "):
            target = path.parent / (command.split(" ", 1)[1].strip().removeprefix("./") + ".py")
            run_notebook(spark, target, dbutils, [])
        else:
            raise AssertionError("unexpected magic %r in %s" % (command, path))


def test_committed_notebooks_are_up_to_date():
    assert notebooks.stale() == [], "run: cd deploy/databricks && python3 -m pinpipe_analytics.notebooks"


def test_notebooks_carry_every_sql_file_verbatim():
    clean_sql = [magic_of(c)[1] for c in cells_of(notebooks.NOTEBOOK_DIR / "pinpipe_clean.py")
                 if magic_of(c) and magic_of(c)[0] == "%sql"]
    assert clean_sql == [catalog.read_sql(rel) for rel in catalog.CLEANING + catalog.SHARED]
    question_sql = [magic_of(c)[1] for c in cells_of(notebooks.NOTEBOOK_DIR / "pinpipe_questions.py")
                    if magic_of(c) and magic_of(c)[0] == "%sql"]
    assert question_sql == [q.sql() for q in catalog.QUESTIONS]
    every_file = sorted(str(p.relative_to(catalog.SQL_DIR)) for p in catalog.SQL_DIR.rglob("*.sql"))
    assert every_file == sorted(list(catalog.CLEANING + catalog.SHARED) + [q.sql_file for q in catalog.QUESTIONS])


def test_questions_notebook_answers_like_the_local_runner(spark):
    dbutils = FakeDbutils({"input_root": str(FIXTURE_ROOT), "topic_prefix": FIXTURE_PREFIX})
    results = []
    run_notebook(spark, notebooks.NOTEBOOK_DIR / "pinpipe_questions.py", dbutils, results)
    assert len(results) == len(catalog.QUESTIONS)
    for q, (columns, rows) in zip(catalog.QUESTIONS, results):
        assert columns == q.columns
        assert rows == EXPECTED[q.qid], q.qid


@pytest.mark.parametrize("name", ["pinpipe_clean.py", "pinpipe_questions.py"])
def test_python_cells_compile(name):
    path = notebooks.NOTEBOOK_DIR / name
    for cell in cells_of(path):
        if magic_of(cell) is None:
            compile(cell, str(path), "exec")
