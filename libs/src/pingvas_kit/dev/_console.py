"""The runner's own output: plain or coloured lines, and the one error it prints bare.

Every service's line is echoed as `[name] ...` in that service's colour; colour is off
when stdout is not a terminal, with --no-color or NO_COLOR."""

from __future__ import annotations

from typing import TextIO

_COLOURS = ("36", "35", "33", "32", "34", "96", "95", "93", "92", "94")


class DevError(Exception):
    """A problem the developer can act on; printed without a traceback."""


class Console:
    """Progress lines, service output with a coloured `[name]` prefix, and the banner."""

    def __init__(self, stream: TextIO, *, colour: bool) -> None:
        self.stream = stream
        self.colour = colour
        self.width = 7

    def _paint(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.colour else text

    def write(self, text: str = "") -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def step(self, text: str) -> None:
        self.write(f"{self._paint('1;32', '✓')} {text}")

    def doing(self, text: str) -> None:
        self.write(f"{self._paint('2', '…')} {text}")

    def warn(self, text: str) -> None:
        self.write(f"{self._paint('1;33', '!')} {text}")

    def fail(self, text: str) -> None:
        self.write(f"{self._paint('1;31', '✗')} {text}")

    def service_line(self, name: str, colour: str, line: str) -> None:
        self.write(f"{self._paint(colour, f'[{name}]'.ljust(self.width + 2))} {line}")

    def bold(self, text: str) -> str:
        return self._paint("1", text)
