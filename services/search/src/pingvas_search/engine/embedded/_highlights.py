"""Highlights of the embedded engine: marked spans of a prompt, cut to a window.

The spans come from the terms and spans stored with the row (no second analysis), the
Hangul words a query may match inside a prompt's words, and, for a stop-word-only
query, the words as typed.
"""

from __future__ import annotations

from ..base import Segment
from ..text import raw_words, tokens_from_columns
from ._queries import Plan

#: highlights of longer prompts are a window of about this many characters
HIGHLIGHT_WINDOW = 200


def _merge(marks: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(marks):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def segments(
    text: str, marks: list[tuple[int, int]], window: int = HIGHLIGHT_WINDOW
) -> list[Segment]:
    """`text` split at the marked spans; a text longer than `window` is cut to a window
    that starts a little before the first mark (or at the start), "…" at a cut end."""
    marks = [(max(0, s), min(len(text), e)) for s, e in _merge(marks) if s < e]
    start, end = 0, len(text)
    if len(text) > window:
        first = marks[0] if marks else (0, 0)
        start = max(0, first[0] - window // 4)
        if start > 0:  # back to the start of the word
            i = start
            while i > max(0, start - 20) and not text[i - 1].isspace():
                i -= 1
            if i == 0 or text[i - 1].isspace():
                start = i
        end = min(len(text), start + window)
        if end < len(text):  # back to the end of a word, keeping the first mark
            j = end
            while j > max(first[1], end - 20) and not text[j].isspace():
                j -= 1
            if text[j].isspace() and j >= first[1]:
                end = j
    pieces: list[tuple[str, bool]] = []
    pos = start
    for s, e in marks:
        s, e = max(s, start), min(e, end)
        if s >= e:
            continue
        pieces.append((text[pos:s], False))
        pieces.append((text[s:e], True))
        pos = e
    pieces.append((text[pos:end], False))
    if start > 0:
        pieces.insert(0, ("…", False))
    if end < len(text):
        pieces.append(("…", False))
    out: list[Segment] = []
    for piece, match in pieces:
        if not piece:
            continue
        if out and out[-1].match == match:
            out[-1] = Segment(out[-1].text + piece, match)
        else:
            out.append(Segment(piece, match))
    return out or [Segment(text[start:end])]


def hit_marks(text: str, plan: Plan, terms_column: str, spans_column: str) -> list[tuple[int, int]]:
    marks = [
        (t.start, t.end)
        for t in tokens_from_columns(terms_column, spans_column)
        if t.term in plan.terms
    ]
    for sub in plan.substrings:
        i = text.find(sub)
        while i >= 0:
            marks.append((i, i + len(sub)))
            i = text.find(sub, i + len(sub))
    if plan.raw:
        marks.extend((w.start, w.end) for w in raw_words(text) if w.term in plan.raw)
    return marks
