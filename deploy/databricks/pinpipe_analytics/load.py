"""Loading the S3 sink's JSON Lines objects into the raw views df_pin_raw, df_geo_raw, df_user_raw.

The schemas are explicit, so a field missing from every object never changes a column's type, and the
reader does not discover the sink's ``partition=N`` directories as a column (recursive file lookup turns
partition discovery off). Both ``.json`` and gzip ``.json.gz`` objects are read.

The functions below are copied verbatim into the Databricks notebook by notebooks.py, so they use nothing
but their arguments and the constants of this module.
"""

from __future__ import annotations

#: The raw record values as the pipeline writes them (design.md "Messages"): one JSON object per line,
#: columns of the source tables, timestamps as text (cast in the cleaning SQL).
RAW_SCHEMAS = {
    "pin": ("`index` BIGINT, unique_id STRING, title STRING, description STRING, poster_name STRING, "
            "follower_count STRING, tag_list STRING, is_image_or_video STRING, image_src STRING, "
            "downloaded INT, save_location STRING, category STRING"),
    "geo": "ind BIGINT, `timestamp` STRING, latitude DOUBLE, longitude DOUBLE, country STRING",
    "user": "ind BIGINT, first_name STRING, last_name STRING, age INT, date_joined STRING",
}

#: topic suffix -> raw view name
RAW_VIEWS = {"pin": "df_pin_raw", "geo": "df_geo_raw", "user": "df_user_raw"}

#: Reader options: every object below the topic directory, whatever the partition or time-based path
#: segments, without partition discovery; plain and gzip JSON Lines.
READ_OPTIONS = {"recursiveFileLookup": "true", "pathGlobFilter": "*.{json,json.gz}", "mode": "PERMISSIVE"}


def topic_path(root, topic_prefix, topic):
    """``<root>/<topic_prefix>.<topic>``, e.g. ``s3://bucket/topics/0ab336d6fcf7.pin``."""
    return "%s/%s.%s" % (root.rstrip("/"), topic_prefix, topic)


def load_raw(spark, root, topic_prefix):
    """Register df_pin_raw, df_geo_raw and df_user_raw from ``<root>/<topic_prefix>.<topic>/``."""
    for topic, view in RAW_VIEWS.items():
        reader = spark.read.schema(RAW_SCHEMAS[topic])
        for key, value in READ_OPTIONS.items():
            reader = reader.option(key, value)
        reader.json(topic_path(root, topic_prefix, topic)).createOrReplaceTempView(view)
