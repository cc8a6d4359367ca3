"""`pingvas-search`: the search service's command line (reindex, status)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("pingvas-search: not yet", file=sys.stderr)
    return 2
