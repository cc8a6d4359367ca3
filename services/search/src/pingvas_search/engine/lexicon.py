"""The bilingual lexicon (`data/lexicon_ko_en.tsv`): common prompt vocabulary in Korean
and English, both ways, as the query plan (`plan.py`) uses it.

Keys are analysed as the engines analyse prompts (`text.analyze`): a Korean entry is
found by its surface and by its content terms ("귀여운" and 귀엽, so "귀엽고" finds
"cute"), an English one by its stems ("cats" finds 고양이).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from importlib import resources

from .text import analyze

_DATA = "lexicon_ko_en.tsv"


@dataclass(frozen=True)
class Lexicon:
    ko_en: dict[str, tuple[str, ...]]  # Korean surface or terms -> English renderings
    en_ko: dict[str, tuple[str, ...]]  # English stems -> Korean words

    def english(self, key: str) -> tuple[str, ...]:
        return self.ko_en.get(key, ())

    def korean(self, stems: str) -> tuple[str, ...]:
        return self.en_ko.get(stems, ())


def _add(table: dict[str, list[str]], key: str, value: str) -> None:
    values = table.setdefault(key, [])
    if value not in values:
        values.append(value)


def english_key(text: str) -> str:
    """The stems of an English word or phrase, as the lexicon keys it ("Night skies" →
    "night sky")."""
    return " ".join(t.term for t in analyze(text))


def parse(text: str) -> Lexicon:
    ko_en: dict[str, list[str]] = {}
    en_ko: dict[str, list[str]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        korean, sep, english = line.partition("\t")
        renderings = [e.strip() for e in english.split("|") if e.strip()]
        if not sep or not korean.strip() or not renderings:
            raise ValueError(f"{_DATA}:{number}: expected 'korean<TAB>english|english'")
        korean = korean.strip()
        keys = dict.fromkeys([korean])
        if len(korean) >= 2:  # one syllable alone is too ambiguous to analyse ("해": 하)
            keys[" ".join(t.term for t in analyze(korean))] = None
        for en in renderings:
            for key in keys:
                if key:
                    _add(ko_en, key, en)
            stems = english_key(en)
            if stems:
                _add(en_ko, stems, korean)
    return Lexicon({k: tuple(v) for k, v in ko_en.items()}, {k: tuple(v) for k, v in en_ko.items()})


_lexicon: Lexicon | None = None
_lock = threading.Lock()


def get_lexicon() -> Lexicon:
    """The shipped lexicon, read (and analysed) once per process."""
    global _lexicon
    if _lexicon is None:
        with _lock:
            if _lexicon is None:
                source = resources.files(__package__).joinpath("data", _DATA)
                _lexicon = parse(source.read_text(encoding="utf-8"))
    return _lexicon
