"""The console both CLIs print to (rich)."""

from __future__ import annotations

import sys


def console():
    from rich.console import Console

    # Piped output (CI logs, files) gets wide tables rather than names folded at 80 columns.
    return Console(highlight=False, width=None if sys.stdout.isatty() else 200)
