"""Running the SQL: load, clean, answer. Shared by the CLI, the tests and the benchmark."""

from __future__ import annotations

from dataclasses import dataclass

from . import catalog
from .load import load_raw


@dataclass(frozen=True)
class Answer:
    """The result of one question, collected to the driver (answers are small)."""

    question: catalog.Question
    columns: tuple[str, ...]
    rows: list[tuple]


def clean(spark) -> None:
    """Create df_pin, df_geo, df_user and the shared helper views from the raw views."""
    for relative in catalog.CLEANING + catalog.SHARED:
        spark.sql(catalog.read_sql(relative))


def prepare(spark, root: str, topic_prefix: str) -> None:
    """Load the raw views from ``root`` and clean them."""
    load_raw(spark, root, topic_prefix)
    clean(spark)


def answer(spark, question: catalog.Question) -> Answer:
    frame = spark.sql(question.sql())
    columns = tuple(frame.columns)
    if columns != question.columns:
        raise RuntimeError("%s returned columns %s, expected %s" % (question.qid, columns, question.columns))
    return Answer(question, columns, [tuple(row) for row in frame.collect()])


def answer_all(spark) -> list[Answer]:
    return [answer(spark, q) for q in catalog.QUESTIONS]
