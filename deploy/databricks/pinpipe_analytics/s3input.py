"""Fetching the sink's objects from S3 (or an S3-compatible store) for a local run.

Local PySpark has no S3 filesystem (the hadoop-aws jars are not on PyPI), so the local runner copies the
three topics' objects with boto3 into a temporary directory and reads that. On Databricks the notebooks read
``s3://`` paths natively and none of this is used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse


@dataclass(frozen=True)
class S3Options:
    endpoint: str | None = None
    region: str | None = None
    access_key: str | None = None
    secret_key: str | None = None


def is_s3_uri(text: str) -> bool:
    return text.startswith(("s3://", "s3a://", "s3n://"))


def split_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> (``bucket``, ``some/prefix``) without slashes at the ends."""
    parsed = urlparse(uri)
    if not parsed.netloc:
        raise ValueError("%s: no bucket in the S3 URI" % uri)
    return parsed.netloc, parsed.path.strip("/")


def client(options: S3Options):
    import boto3
    from botocore.config import Config

    kwargs = {}
    if options.endpoint:
        kwargs["endpoint_url"] = options.endpoint
        kwargs["config"] = Config(s3={"addressing_style": "path"})
    if options.region:
        kwargs["region_name"] = options.region
    if options.access_key and options.secret_key:
        kwargs["aws_access_key_id"] = options.access_key
        kwargs["aws_secret_access_key"] = options.secret_key
    return boto3.client("s3", **kwargs)


def _keys(s3, bucket: str, prefix: str):
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            yield item["Key"]


def download_topics(uri: str, topic_prefix: str, dest: Path, options: S3Options) -> Path:
    """Copy ``<uri>/<topic_prefix>.{pin,geo,user}/**`` below ``dest``; return the local root to read.

    If nothing is found directly below ``uri`` but something is below ``<uri>/topics`` (the sink's default
    prefix), that is used instead. Raises FileNotFoundError when a topic has no objects.
    """
    bucket, base = split_uri(uri)
    s3 = client(options)
    for candidate in (base, "/".join(p for p in (base, "topics") if p)):
        listed = {}
        for topic in ("pin", "geo", "user"):
            key_prefix = "/".join(p for p in (candidate, "%s.%s/" % (topic_prefix, topic)) if p)
            listed[topic] = [k for k in _keys(s3, bucket, key_prefix) if not k.endswith("/")]
        if all(listed.values()):
            break
    else:
        missing = [t for t, keys in listed.items() if not keys]
        raise FileNotFoundError("s3://%s/%s: no objects for topic(s) %s"
                                % (bucket, base, ", ".join("%s.%s" % (topic_prefix, t) for t in missing)))
    root = dest.joinpath(*candidate.split("/")) if candidate else dest
    for keys in listed.values():
        for key in keys:
            target = dest.joinpath(*key.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, key, os.fspath(target))
    return root
