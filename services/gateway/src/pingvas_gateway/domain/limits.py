"""How long a log-in must wait after failed attempts: the rule, apart from where the
attempts are counted (adapters/login_delays.py) and the middleware that applies it (limits.py)."""

from __future__ import annotations


def login_delay(attempts: int, *, threshold: int, initial: float, cap: float) -> float:
    """Seconds the next attempt must wait after `attempts` without a success: none before
    `threshold`, then `initial`, doubling with each attempt, never above `cap`."""
    if attempts < threshold:
        return 0.0
    return min(initial * 2.0 ** min(attempts - threshold, 62), cap)
