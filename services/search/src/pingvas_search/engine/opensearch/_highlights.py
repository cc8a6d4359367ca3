"""Highlights: the highlighter's marked prompt as segments, a long one cut to a window.

A character is marked when either highlighted field (`prompt`, `prompt.en`) marks it;
marked text that is not a piece of the stored prompt is ignored, so a highlight never
shows text the prompt does not hold.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..base import MARK_END, MARK_START, Segment, clean_text, segments_from_marked

#: a highlight longer than this many characters is cut to a window around its first match
HIGHLIGHT_WINDOW = 200
#: how much of the text before the first match the window keeps
HIGHLIGHT_LEAD = 40
ELLIPSIS = "…"


def _mark_mask(source: str, marked: str) -> list[bool] | None:
    """Which characters of `source` a highlighter's marked text marks (None if the
    marked text is not a piece of the source)."""
    plain = marked.replace(MARK_START, "").replace(MARK_END, "")
    offset = source.find(plain)
    if offset < 0:
        return None
    mask = [False] * len(source)
    pos = offset
    on = False
    for ch in marked:
        if ch == MARK_START:
            on = True
        elif ch == MARK_END:
            on = False
        else:
            mask[pos] = on
            pos += 1
    return mask


def highlight_window(source: str, mask: list[bool]) -> list[Segment]:
    """Segments of the source (or, when it is long, of a window around its first marked
    character, with "…" at a cut end)."""
    start, end = 0, len(source)
    if len(source) > HIGHLIGHT_WINDOW:
        first = next((i for i, m in enumerate(mask) if m), 0)
        start = max(0, min(first - HIGHLIGHT_LEAD, len(source) - HIGHLIGHT_WINDOW))
        if start > 0:  # begin at a word
            space = source.find(" ", start, max(start, first))
            if space >= 0:
                start = space + 1
        end = min(len(source), start + HIGHLIGHT_WINDOW)
        if end < len(source):  # end at a word
            space = source.rfind(" ", max(first + 1, start + HIGHLIGHT_WINDOW // 2), end)
            if space > start:
                end = space
    return _segments(source, mask, start, end)


def _segments(source: str, mask: list[bool], start: int, end: int) -> list[Segment]:
    """source[start:end] as segments, "…" where it was cut."""
    pieces: list[str] = [ELLIPSIS] if start > 0 else []
    on = False
    for i in range(start, end):
        if mask[i] != on:
            pieces.append(MARK_START if mask[i] else MARK_END)
            on = mask[i]
        pieces.append(source[i])
    if on:
        pieces.append(MARK_END)
    if end < len(source):
        pieces.append(ELLIPSIS)
    return segments_from_marked("".join(pieces))


def highlight_segments(source: str, marked_texts: Sequence[str]) -> list[Segment]:
    """The prompt's segments from the highlighter's marked texts (of `prompt` and
    `prompt.en`, merged: a character is marked if either marks it)."""
    if not source:
        return []
    mask = [False] * len(source)
    for marked in marked_texts:
        one = _mark_mask(source, marked)
        if one is not None:
            mask = [a or b for a, b in zip(mask, one, strict=True)]
    return highlight_window(source, mask)


_WORD = re.compile(r"\w+")


def suggestion_segments(prompt: str, prefix: str) -> list[Segment]:
    """A suggested prompt (whole) with what was typed marked: words equal to a typed
    word, and the beginning of words the last typed word begins."""
    if not prompt:
        return []
    typed = [w.lower() for w in _WORD.findall(clean_text(prefix))]
    mask = [False] * len(prompt)
    if typed:
        whole, last = set(typed), typed[-1]
        for m in _WORD.finditer(prompt):
            word = m.group().lower()
            if word in whole:
                n = len(m.group())
            elif word.startswith(last):
                n = min(len(last), len(m.group()))
            else:
                continue
            for i in range(m.start(), m.start() + n):
                mask[i] = True
    return _segments(prompt, mask, 0, len(prompt))
