"""Shared pytest fixtures: one local SparkSession for the whole run, paths, and the stack/binary lookups."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
DATABRICKS_DIR = TESTS_DIR.parent
REPO_DIR = DATABRICKS_DIR.parent.parent
FIXTURE_ROOT = TESTS_DIR / "fixture" / "topics"
FIXTURE_PREFIX = "fx"

sys.path.insert(0, str(DATABRICKS_DIR))
sys.path.insert(0, str(TESTS_DIR))


def in_ci() -> bool:
    return bool(os.environ.get("CI"))


def unavailable(reason: str):
    """Skip locally, fail under CI: a missing project component must not pass CI silently."""
    if in_ci():
        pytest.fail(reason + " (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def spark():
    from pinpipe_analytics.session import local_session

    # ANSI on: the SQL must also hold under Spark 4 / Databricks SQL defaults.
    session = local_session(app_name="pinpipe-analytics-tests", cores=2, driver_memory="2g",
                            shuffle_partitions=2, ansi=True)
    yield session
    session.stop()


def pinpipe_binary() -> Path:
    return Path(os.environ.get("PINPIPE_BIN") or REPO_DIR / ".build" / "debug" / "pinpipe")


def stack_environment() -> dict[str, str]:
    """Start the project's dev stack (idempotent) and return the keys of .dev/stack.env."""
    script = REPO_DIR / "deploy" / "dev" / "stack"
    if not script.exists():
        unavailable("the dev stack script %s does not exist yet" % script)
    result = subprocess.run(["bash", str(script), "up"], cwd=REPO_DIR, capture_output=True, text=True,
                            timeout=600)
    if result.returncode != 0:
        unavailable("deploy/dev/stack up failed (%d): %s" % (result.returncode, result.stderr[-2000:]))
    env_file = REPO_DIR / ".dev" / "stack.env"
    values = {}
    for line in env_file.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        key = key.removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values
