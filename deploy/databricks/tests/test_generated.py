"""The generator's default data set (`pinpipe generate --rows 11153 --seed 100 --format s3`).

Needs the pinpipe binary ($PINPIPE_BIN, else <repo>/.build/debug/pinpipe): skipped without it locally, a
failure when CI is set.
"""

from __future__ import annotations

import subprocess

import pytest
from conftest import REPO_DIR, pinpipe_binary, unavailable
from expected_fixture import CLEAN_SCHEMAS, PLACEHOLDERS

from pinpipe_analytics.runner import answer_all, prepare

ROWS = 11153
PREFIX = "0ab336d6fcf7"


@pytest.fixture(scope="module")
def generated(spark, tmp_path_factory):
    binary = pinpipe_binary()
    if not binary.exists():
        unavailable("no pinpipe binary at %s (build it with 'swift build --product pinpipe' or set PINPIPE_BIN)"
                    % binary)
    out = tmp_path_factory.mktemp("generated")
    command = [str(binary), "generate", "--rows", str(ROWS), "--seed", "100", "--format", "s3",
               "--out", str(out), "--prefix", PREFIX]
    result = subprocess.run(command, cwd=REPO_DIR, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        unavailable("'%s' failed (%d): %s" % (" ".join(command), result.returncode, result.stderr[-1500:]))
    root = out / "topics"
    for topic in ("pin", "geo", "user"):
        if not list((root / ("%s.%s" % (PREFIX, topic))).rglob("*.json")):
            pytest.fail("pinpipe generate wrote no %s.%s objects under %s" % (PREFIX, topic, root))
    prepare(spark, str(root), PREFIX)
    state = {"answers": {a.question.qid: a.rows for a in answer_all(spark)}}
    for view in CLEAN_SCHEMAS:
        frame = spark.table(view)
        state[view] = [(f.name, f.dataType.simpleString()) for f in frame.schema.fields]
    state["keys"] = {view: spark.sql("SELECT COUNT(*) AS n, COUNT(DISTINCT ind) AS k FROM %s" % view).first()
                     for view in CLEAN_SCHEMAS}
    state["raw_keys"] = spark.sql("SELECT COUNT(DISTINCT `index`) FROM df_pin_raw").first()[0]
    checks = []
    for column, values in PLACEHOLDERS.items():
        if column == "follower_count":
            continue  # an INT column after cleaning: no text can survive there
        quoted = ", ".join("'%s'" % v for v in values)
        checks.append("SUM(CASE WHEN %s IN (%s) THEN 1 ELSE 0 END) AS %s" % (column, quoted, column))
    string_columns = [name for name, kind in CLEAN_SCHEMAS["df_pin"] if kind == "string"]
    checks.append("SUM(CASE WHEN %s THEN 1 ELSE 0 END) AS empty_strings"
                  % " OR ".join("%s = ''" % c for c in string_columns))
    checks.append("SUM(CASE WHEN save_location NOT LIKE '/data/%' THEN 1 ELSE 0 END) AS save_location")
    state["survivors"] = spark.sql("SELECT %s FROM df_pin" % ", ".join(checks)).first().asDict()
    state["raw_placeholders"] = spark.sql(
        "SELECT SUM(CASE WHEN follower_count = 'User Info Error' THEN 1 ELSE 0 END) FROM df_pin_raw").first()[0]
    state["user_text"] = spark.sql(
        "SELECT SUM(CASE WHEN user_name = '' OR user_name IS NULL THEN 1 ELSE 0 END) AS blank, "
        "SUM(CASE WHEN country = '' THEN 1 ELSE 0 END) AS blank_country "
        "FROM df_user FULL JOIN df_geo USING (ind)").first().asDict()
    return state


@pytest.mark.parametrize("view", sorted(CLEAN_SCHEMAS))
def test_cleaned_schema_is_exactly_the_required_one(generated, view):
    assert generated[view] == CLEAN_SCHEMAS[view]


def test_one_row_per_key_in_every_cleaned_view(generated):
    assert generated["raw_keys"] == ROWS
    for view, row in generated["keys"].items():
        assert (view, row["n"], row["k"]) == (view, ROWS, ROWS)


def test_no_placeholder_survives_cleaning(generated):
    assert generated["raw_placeholders"] > 0  # the data set does carry placeholders to clean
    assert generated["survivors"] == {name: 0 for name in generated["survivors"]}
    assert generated["user_text"]["blank_country"] == 0


def test_every_question_has_an_answer(generated):
    for qid, rows in generated["answers"].items():
        assert rows, qid
    assert {row[0] for row in generated["answers"]["q2"]} <= set(range(2018, 2023))
    assert {row[0] for row in generated["answers"]["q6"]} <= set(range(2015, 2021))


def test_median_followers_fall_with_age_group(generated):
    medians = dict(generated["answers"]["q5"])
    assert list(medians) == ["18-24", "25-35", "36-50", "+50"]
    assert medians["18-24"] > medians["25-35"] > medians["36-50"] >= medians["+50"]


def test_median_followers_fall_with_joining_year(generated):
    medians = dict(generated["answers"]["q7"])
    assert [2015, 2016, 2017] == sorted(medians)[:3]
    assert medians[2015] > medians[2016] > medians[2017]
