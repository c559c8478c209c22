#!/usr/bin/env bash
# Run the Spark analytics tests: bash deploy/databricks/test.sh [pytest args...]
# Installs the pinned requirements first when they are missing (quick when already installed).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd -P "$here/../.." && pwd -P)"
# The project's virtual environment (deploy/dev/install puts pyspark, pytest and boto3 there); PYTHON overrides it.
python="${PYTHON:-${PINPIPE_DEV_DIR:-$repo/.dev}/venv/bin/python}"
if [[ -z "${PYTHON:-}" ]]; then
  "$repo/deploy/dev/install" >&2
fi

if ! command -v java >/dev/null 2>&1 && [ -z "${JAVA_HOME:-}" ]; then
  echo "error: Spark needs Java 17 (apt-get install openjdk-17-jre-headless)" >&2
  exit 1
fi

cd "$here"
exec "$python" -m pytest -p no:cacheprovider "$here/tests" "$@"
