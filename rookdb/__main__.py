"""``python -m rookdb``."""

import sys

from rookdb.cli import main

sys.exit(main())
