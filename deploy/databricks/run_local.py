#!/usr/bin/env python3
"""Local runner: ``python3 deploy/databricks/run_local.py --input DIR_OR_S3URI --prefix PREFIX [--csv OUTDIR]``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pinpipe_analytics.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
