"""`python -m sciad …`: the `sciad` command, for hosts where only PYTHONPATH is set (no console script)."""

import sys

from .cli import main

sys.exit(main())
