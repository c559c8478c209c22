"""s3:// input for the local runner, against the dev stack's S3 store (SeaweedFS)."""

from __future__ import annotations

import uuid

import pytest
from conftest import FIXTURE_PREFIX, FIXTURE_ROOT, stack_environment
from expected_fixture import EXPECTED

from pinpipe_analytics.runner import answer_all, prepare
from pinpipe_analytics.s3input import S3Options, client, download_topics, split_uri


def test_split_uri():
    assert split_uri("s3://bucket/a/b/") == ("bucket", "a/b")
    assert split_uri("s3a://bucket") == ("bucket", "")
    with pytest.raises(ValueError):
        split_uri("s3:///nobucket")


def test_runner_reads_the_fixture_from_s3(spark, tmp_path):
    env = stack_environment()
    options = S3Options(env["PINPIPE_S3_ENDPOINT"], env.get("PINPIPE_S3_REGION"),
                        env["PINPIPE_S3_ACCESS_KEY"], env["PINPIPE_S3_SECRET_KEY"])
    bucket = env["PINPIPE_S3_BUCKET"]
    base = "analytics-test-%s" % uuid.uuid4().hex[:12]
    s3 = client(options)
    uploaded = set()
    for path in FIXTURE_ROOT.rglob("*.json"):
        key = "%s/topics/%s" % (base, path.relative_to(FIXTURE_ROOT).as_posix())
        s3.upload_file(str(path), bucket, key)
        uploaded.add(key)
    # An object of another prefix must not be fetched.
    s3.put_object(Bucket=bucket, Key="%s/topics/other.pin/partition=0/x.json" % base, Body=b"{}\n")
    try:
        # The sink's 'topics' folder is found below the given prefix.
        root = download_topics("s3://%s/%s" % (bucket, base), FIXTURE_PREFIX, tmp_path, options)
        assert root == tmp_path / base / "topics"
        fetched = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
        assert fetched == uploaded
        for key in uploaded:
            local = FIXTURE_ROOT / key.split("/topics/", 1)[1]
            assert (tmp_path / key).read_bytes() == local.read_bytes()
        prepare(spark, str(root), FIXTURE_PREFIX)
        assert {a.question.qid: a.rows for a in answer_all(spark)} == EXPECTED
        with pytest.raises(FileNotFoundError):
            download_topics("s3://%s/%s" % (bucket, base), "absent", tmp_path / "none", options)
    finally:
        for key in uploaded | {"%s/topics/other.pin/partition=0/x.json" % base}:
            s3.delete_object(Bucket=bucket, Key=key)
