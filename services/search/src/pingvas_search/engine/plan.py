"""The query plan both engines run: what a user typed, word by word, with the other
forms each word may take in a prompt. docs/search.md, "How matching works".

`plan_query(text)` splits the query at whitespace (`cursors.query_words`). Every word
is a `Group` that must match (AND); a group matches when any of its `Alternative`s does:

- the word as typed;
- its renderings in the bilingual lexicon (`lexicon.py`): "고양이" → cat, kitten;
  "cats" → 고양이; two English words the lexicon knows together ("night sky") also as
  one group (→ 밤하늘);
- for a Hangul word, its romanization (`text.romanize`: "한라산" → hallasan), for names
  and loanwords written in Latin letters in English prompts.

An alternative matches when all its `Unit`s do (the content terms of its text, as
`text.analyze` finds them: "고양이카페" → 고양이, 카페). A unit matches by its term, or
through a prompt's grams (`text.index_grams`): all the syllable bigrams of its Hangul
word, its one syllable at an end of a compound noun ("별" in "별빛"), or, for a Latin
word, the romanization of a Korean prompt word ("seoul" → "서울"). A lexicon word of
one syllable matches by its term only ("sun" finds "해" but not "해변").

The embedded engine turns a plan into an FTS5 expression (`embedded/_queries.py`), the
OpenSearch engine into a `bool` query (`opensearch/_bodies.py`); nothing else decides
what a query means.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from .base import clean_text
from .cursors import query_words
from .lexicon import english_key, get_lexicon
from .text import Token, analyze, hangul_bigrams, has_hangul, raw_words, romanize

#: a query is cut to this many characters and words; a group has at most this many
#: alternatives
MAX_QUERY_CHARS = 1000
MAX_GROUPS = 32
MAX_ALTERNATIVES = 8
#: alternatives of all groups together (OpenSearch's clause limit); past it a word has
#: only its typed form
MAX_PLAN_ALTERNATIVES = 96

Source = Literal["typed", "lexicon", "romanized"]

_HANGUL_RUN = re.compile(r"[\uac00-\ud7a3]+")
_LATIN_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Unit:
    """One content term of an alternative; every unit of the alternative must match."""

    surface: str  # the term's text as written (what OpenSearch analyses)
    term: str  # the shared analyser's term (what the embedded engine looks up)
    grams: tuple[tuple[str, ...], ...]  # each: grams that together also match the unit


@dataclass(frozen=True)
class Alternative:
    text: str
    source: Source
    units: tuple[Unit, ...]


@dataclass(frozen=True)
class Group:
    """One typed word (or two English words the lexicon knows as one phrase)."""

    word: str
    alternatives: tuple[Alternative, ...]


@dataclass(frozen=True)
class QueryPlan:
    groups: tuple[Group, ...]
    raw: tuple[str, ...]  # stop-word-only queries: the words as typed

    @property
    def terms(self) -> frozenset[str]:
        return frozenset(u.term for g in self.groups for a in g.alternatives for u in a.units)

    @property
    def substrings(self) -> tuple[str, ...]:
        """Hangul words of two syllables or more that may match inside a prompt's words
        (highlighted wherever they occur)."""
        out: dict[str, None] = {}
        for g in self.groups:
            for a in g.alternatives:
                for run in _HANGUL_RUN.findall(a.text):
                    if len(run) >= 2:
                        out[run] = None
        return tuple(out)


def _units(text: str, source: Source) -> tuple[Unit, ...]:
    runs = [(m.start(), m.end()) for m in _HANGUL_RUN.finditer(text)]
    tokens = analyze(text)
    if not tokens:
        # a Hangul word the analyser reads as no content word ("별" alone, a determiner
        # to kiwi): the word itself
        tokens = [Token(text[s:e], s, e) for s, e in runs]
    elif source == "lexicon" and len(runs) == 1 and runs[0][1] - runs[0][0] == 1:
        # a lexicon word of one syllable is that noun ("해", which kiwi alone reads as
        # the verb 하)
        tokens = [Token(text[runs[0][0] : runs[0][1]], *runs[0])]
    out: dict[str, Unit] = {}
    for token in tokens:
        if token.term in out:
            continue
        surface = text[token.start : token.end]
        grams: list[tuple[str, ...]] = []
        if _HANGUL_RUN.fullmatch(surface):
            if len(surface) >= 2:
                grams.append(tuple(dict.fromkeys(hangul_bigrams(surface))))
            for start, end in runs:  # the whole Hangul word it stands in ("노는": 놀)
                if start <= token.start < end:
                    whole = tuple(dict.fromkeys(hangul_bigrams(text[start:end])))
                    # one typed syllable also matches at an end of a compound ("별" of
                    # "별빛"); one of the lexicon's only as a word ("해" is not "해변")
                    if whole not in grams and (end - start >= 2 or source == "typed"):
                        grams.append(whole)
                    break
        elif not has_hangul(surface):
            latin = "".join(_LATIN_WORD.findall(unicodedata.normalize("NFKC", surface).lower()))
            if latin:
                grams.append((latin,))  # the romanization of a Korean prompt word
        out[token.term] = Unit(surface, token.term, tuple(grams))
    return tuple(out.values())


def _alternative(text: str, source: Source) -> Alternative | None:
    units = _units(text, source)
    return Alternative(text, source, units) if units else None


def _joined(parts: list[Alternative], source: Source) -> Alternative:
    return Alternative(
        " ".join(p.text for p in parts), source, tuple(u for p in parts for u in p.units)
    )


def _group(word: str) -> Group | None:
    typed = _alternative(word, "typed")
    if typed is None:
        return None
    hangul = [has_hangul(u.surface) for u in typed.units]
    if all(hangul):
        found = _korean_forms(word, [u.term for u in typed.units])
    elif any(hangul):
        found = []  # Hangul and Latin in one word ("NEAR(고양이"): only as typed
    else:
        korean = get_lexicon().korean(english_key(word))
        found = [_alternative(k, "lexicon") for k in korean]
    return Group(word, _distinct([typed, *found]))


def _korean_forms(word: str, terms: list[str]) -> list[Alternative | None]:
    """A Hangul word's lexicon renderings and romanization."""
    lexicon = get_lexicon()
    renderings = [
        *lexicon.english("".join(_HANGUL_RUN.findall(word))),
        *lexicon.english(" ".join(terms)),
    ]
    if not renderings and len(terms) > 1:
        # a compound the lexicon does not know: its parts', when it knows them all
        # ("고양이카페" → cat cafe)
        parts = [lexicon.english(t) for t in terms]
        if all(parts):
            renderings.append(" ".join(p[0] for p in parts))
    found = [_alternative(r, "lexicon") for r in dict.fromkeys(renderings)]
    latin = [romanize(t) for t in terms if len(t) >= 2]
    if len(latin) == len(terms) and all(latin):
        found.append(_alternative(" ".join(r for r in latin if r), "romanized"))
    return found


def _distinct(alternatives: list[Alternative | None]) -> tuple[Alternative, ...]:
    out: dict[tuple[str, ...], Alternative] = {}
    for a in alternatives:
        if a is not None:
            out.setdefault(tuple(u.term for u in a.units), a)
    return tuple(out.values())[:MAX_ALTERNATIVES]


def _phrase(first: Group, second: Group) -> Group | None:
    """Two English words the lexicon knows together ("night sky" → 밤하늘) as one group:
    both words as typed, the phrase's renderings, and the pairs of the words' own."""
    if has_hangul(first.word) or has_hangul(second.word):
        return None
    korean = get_lexicon().korean(english_key(f"{first.word} {second.word}"))
    if not korean:
        return None
    pairs = [
        _joined([a, b], "typed" if a.source == b.source == "typed" else "lexicon")
        for a, b in itertools.product(first.alternatives, second.alternatives)
    ]
    return Group(
        f"{first.word} {second.word}",
        _distinct([pairs[0], *(_alternative(k, "lexicon") for k in korean), *pairs[1:]]),
    )


def plan_query(text: str) -> QueryPlan | None:
    """The plan of what a user typed; None when it has no word at all."""
    text = clean_text(text)[:MAX_QUERY_CHARS]
    groups: list[Group] = []
    for word in query_words(text):
        if len(groups) >= MAX_GROUPS:
            break
        group = _group(word)
        if group is None:
            continue
        if sum(len(g.alternatives) for g in groups) + len(group.alternatives) > (
            MAX_PLAN_ALTERNATIVES
        ):
            group = Group(word, group.alternatives[:1])
        if groups and (phrase := _phrase(groups[-1], group)) is not None:
            groups[-1] = phrase
        else:
            groups.append(group)
    if groups:
        return QueryPlan(tuple(groups), ())
    raw = tuple(dict.fromkeys(w.term for w in raw_words(text)))[:MAX_GROUPS]
    return QueryPlan((), raw) if raw else None
