"""The hand-written fixture: cleaning results and the eight answers, stated in expected_fixture.py."""

from __future__ import annotations

import datetime as dt
import gzip
import shutil

import pytest
from conftest import FIXTURE_PREFIX, FIXTURE_ROOT
from expected_fixture import CLEAN_SCHEMAS, EXPECTED, PLACEHOLDERS

from pinpipe_analytics import catalog
from pinpipe_analytics.load import RAW_SCHEMAS, RAW_VIEWS
from pinpipe_analytics.runner import answer_all, clean, prepare


def schema_of(frame):
    return [(f.name, f.dataType.simpleString()) for f in frame.schema.fields]


def collect_state(spark):
    """Everything the tests look at, collected now (temp views are replaced by later loads)."""
    state = {"answers": {a.question.qid: a for a in answer_all(spark)}}
    for view in CLEAN_SCHEMAS:
        frame = spark.table(view)
        state[view] = {"schema": schema_of(frame), "rows": {r["ind"]: r.asDict() for r in frame.collect()},
                       "count": frame.count()}
    for topic, view in RAW_VIEWS.items():
        frame = spark.table(view)
        state[view] = {"schema": schema_of(frame), "count": frame.count()}
    return state


@pytest.fixture(scope="module")
def fixture_state(spark):
    prepare(spark, str(FIXTURE_ROOT), FIXTURE_PREFIX)
    return collect_state(spark)


@pytest.mark.parametrize("qid", sorted(EXPECTED))
def test_answer_matches_hand_worked_result(fixture_state, qid):
    result = fixture_state["answers"][qid]
    assert result.columns == catalog.question(qid).columns
    assert result.rows == EXPECTED[qid]


def test_every_question_is_answered():
    assert sorted(q.qid for q in catalog.QUESTIONS) == sorted(EXPECTED)


@pytest.mark.parametrize("view", sorted(CLEAN_SCHEMAS))
def test_cleaned_schema_is_exactly_the_required_one(fixture_state, view):
    assert fixture_state[view]["schema"] == CLEAN_SCHEMAS[view]


def test_raw_views_have_the_declared_schema_and_no_partition_column(fixture_state, spark):
    for topic, view in RAW_VIEWS.items():
        declared = [(f.name, f.dataType.simpleString())
                    for f in spark.createDataFrame([], RAW_SCHEMAS[topic]).schema.fields]
        assert fixture_state[view]["schema"] == declared
        assert "partition" not in [name for name, _ in fixture_state[view]["schema"]]


def test_resent_events_collapse_to_one_row_per_key(fixture_state):
    # The objects hold 15 pin lines (1 twice, 6 three times), 14 geo lines (6 twice), 14 user lines (2 twice).
    assert fixture_state["df_pin_raw"]["count"] == 15
    assert fixture_state["df_geo_raw"]["count"] == 14
    assert fixture_state["df_user_raw"]["count"] == 14
    assert sorted(fixture_state["df_pin"]["rows"]) == list(range(12))
    assert fixture_state["df_pin"]["count"] == 12
    assert fixture_state["df_geo"]["count"] == 13
    assert fixture_state["df_user"]["count"] == 13


def test_every_placeholder_and_empty_string_becomes_null(fixture_state):
    pins = fixture_state["df_pin"]["rows"]
    for column, values in PLACEHOLDERS.items():
        for row in pins.values():
            assert row[column] not in values, (column, row)
    for view in CLEAN_SCHEMAS:
        for row in fixture_state[view]["rows"].values():
            assert "" not in row.values(), (view, row)
    assert pins[0]["title"] is None
    assert [pins[i]["description"] for i in (1, 2, 3, 4)] == [None] * 4
    assert pins[4]["poster_name"] is None and pins[4]["follower_count"] is None
    assert pins[4]["tag_list"] is None and pins[4]["image_src"] is None
    assert pins[5]["title"] is None and pins[5]["tag_list"] is None and pins[5]["unique_id"] is None
    assert pins[9]["category"] is None and pins[9]["is_image_or_video"] is None
    assert pins[8]["description"] is None  # the field is missing from the object
    # Untouched values stay as they were.
    assert pins[0]["description"] == "Watercolour basics" and pins[6]["title"] == "Alps"


def test_pin_values_are_converted(fixture_state):
    pins = fixture_state["df_pin"]["rows"]
    followers = {i: pins[i]["follower_count"] for i in sorted(pins)}
    assert followers == {0: 10000, 1: 2000000, 2: 437, 3: 1000, 4: None, 5: 0, 6: 5000000, 7: 5000000,
                         8: 26000, 9: 7000, 10: 12000, 11: 2000000}
    assert pins[0]["save_location"] == "/data/art"
    assert pins[4]["save_location"] == "/data/travel"
    assert pins[9]["save_location"] == "/data/"
    assert pins[1]["is_image_or_video"] == "multi-video(story page format)"


def test_geo_and_user_values_are_converted(fixture_state):
    geo = fixture_state["df_geo"]["rows"]
    assert geo[0]["coordinates"] == [10.5, 20.25]
    assert geo[1]["coordinates"] == [-45.125, 170.0]
    assert geo[12]["coordinates"] is None and geo[12]["country"] is None
    assert geo[10]["timestamp"] == dt.datetime(2018, 6, 1, 12, 0, 0)
    assert geo[3]["timestamp"] == dt.datetime(2022, 12, 31, 23, 59, 59)
    users = fixture_state["df_user"]["rows"]
    assert users[0]["user_name"] == "Ann Lee"
    assert users[12]["user_name"] == "Solo"
    assert users[11]["age"] is None and users[11]["user_name"] == "Kim Sun"
    assert users[10]["date_joined"] == dt.datetime(2018, 10, 10, 10, 10, 10)


def test_gzip_objects_are_read_like_plain_ones(spark, tmp_path):
    root = tmp_path / "topics"
    shutil.copytree(FIXTURE_ROOT, root)
    zipped = 0
    for path in sorted(root.rglob("*+0000000000.json")):
        with path.open("rb") as source, gzip.open(str(path) + ".gz", "wb") as target:
            shutil.copyfileobj(source, target)
        path.unlink()
        zipped += 1
    assert zipped == 5
    prepare(spark, str(root), FIXTURE_PREFIX)
    answers = {a.question.qid: a.rows for a in answer_all(spark)}
    assert answers == EXPECTED


def test_missing_fields_do_not_change_types(spark, tmp_path):
    # Objects in which whole fields never appear: with inference these columns would vanish or change type.
    for topic, line in (("pin", '{"index":1,"title":"t","category":"art"}'),
                        ("geo", '{"ind":1,"country":"Chad"}'),
                        ("user", '{"ind":1,"first_name":"A"}')):
        folder = tmp_path / ("p.%s" % topic) / "partition=3"
        folder.mkdir(parents=True)
        (folder / ("p.%s+3+0000000000.json" % topic)).write_text(line + "\n")
    prepare(spark, str(tmp_path), "p")
    for view, schema in CLEAN_SCHEMAS.items():
        assert schema_of(spark.table(view)) == schema
    assert spark.table("df_user").collect()[0]["user_name"] == "A"


def test_follower_count_forms(spark):
    texts = ["437", "26k", "26K", "6M", "1.5k", "0.25M", " 12k ", "3000M", "User Info Error", "", "12 k",
             "-5", "abc", "7m", None]
    expected = [437, 26000, 26000, 6000000, 1500, 250000, 12000, None, None, None, None,
                None, None, None, None]
    rows = [(i, "u%d" % i, None, None, None, text, None, None, None, 0, None, "art")
            for i, text in enumerate(texts)]
    spark.createDataFrame(rows, RAW_SCHEMAS["pin"]).createOrReplaceTempView("df_pin_raw")
    spark.createDataFrame([], RAW_SCHEMAS["geo"]).createOrReplaceTempView("df_geo_raw")
    spark.createDataFrame([], RAW_SCHEMAS["user"]).createOrReplaceTempView("df_user_raw")
    clean(spark)
    got = {r["ind"]: r["follower_count"] for r in spark.table("df_pin").collect()}
    assert [got[i] for i in range(len(texts))] == expected


def test_differing_copies_of_a_key_resolve_the_same_whatever_the_order(spark):
    base = (5, "u", "t", "d", "p", "1k", None, "image", None, 0, "Local save in /data/art", "art")
    other = (5, "u", "t", "d", "p", "2k", None, "image", None, 0, "Local save in /data/art", "art")
    picks = []
    for rows in ([base, other], [other, base]):
        spark.createDataFrame(rows, RAW_SCHEMAS["pin"]).createOrReplaceTempView("df_pin_raw")
        clean(spark)
        picks.append([r["follower_count"] for r in spark.table("df_pin").collect()])
    assert picks == [[1000], [1000]]
