"""``python3 -m pinpipe_analytics``: the local runner (see cli.py)."""

import sys

from .cli import main

sys.exit(main())
