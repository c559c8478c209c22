#!/usr/bin/env bash
# Run the Spark analytics tests: bash deploy/databricks/test.sh [pytest args...]
# Installs the pinned requirements first when they are missing (quick when already installed).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python3}"

if ! "$python" - "$here/requirements.txt" <<'PY'
import sys
from importlib import metadata
for line in open(sys.argv[1]):
    spec = line.split("#", 1)[0].strip()
    if not spec:
        continue
    name, _, pinned = spec.partition("==")
    name = name.split(">=")[0].strip()
    try:
        installed = metadata.version(name)
    except metadata.PackageNotFoundError:
        sys.exit(1)
    if pinned and installed != pinned.strip():
        sys.exit(1)
PY
then
  echo "installing $here/requirements.txt" >&2
  "$python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
fi

if ! command -v java >/dev/null 2>&1 && [ -z "${JAVA_HOME:-}" ]; then
  echo "error: Spark needs Java 17 (apt-get install openjdk-17-jre-headless)" >&2
  exit 1
fi

cd "$here"
exec "$python" -m pytest -p no:cacheprovider "$here/tests" "$@"
