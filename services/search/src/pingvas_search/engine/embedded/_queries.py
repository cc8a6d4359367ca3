"""What a user typed, as an FTS5 expression of the engine's own operators only.

Every term is double-quoted (`quote`), so what was typed is never FTS5 syntax; the
tenant's token (`tenant_token`) is put in front of every MATCH by the engine.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from ..base import clean_text
from ..text import analyze, hangul_bigrams, raw_words

#: a query is cut to this many characters and this many distinct terms
MAX_QUERY_CHARS = 1000
MAX_QUERY_TERMS = 32

_HANGUL_RUN = re.compile(r"[\uac00-\ud7a3]+")


def tenant_token(tenant_id: str) -> str:
    """The tenant's token in the FTS rows: hex, so no tokenizer splits it and no prompt
    word equals it by accident (and one would only ever be looked for in `tenant`)."""
    return "t" + hashlib.blake2b(tenant_id.encode(), digest_size=12).hexdigest()


def quote(term: str) -> str:
    """An FTS5 string: whatever `term` holds, it is one string, never syntax."""
    return '"' + term.replace('"', '""') + '"'


@dataclass(frozen=True)
class Plan:
    """A query's FTS5 expression (without the tenant) and what highlighting marks."""

    expression: str
    terms: frozenset[str]
    substrings: tuple[str, ...]  # Hangul words that may match inside a prompt's words
    raw: frozenset[str]  # words looked for as typed (stop-word-only queries)


def plan_query(text: str) -> Plan | None:
    """The FTS5 expression for what a user typed; None when it has no word at all.

    Each term becomes `terms : "term"`; a Hangul one also matches through bigrams:
    all bigrams of its own surface ("고양시에서" → 고양 양시) or all bigrams of the
    Hangul run it stands in ("노는", which kiwi reads as the noun 노 alone, but as the
    verb 놀 in a prompt → 노는)."""
    text = clean_text(text)[:MAX_QUERY_CHARS]
    runs = [(m.start(), m.end()) for m in _HANGUL_RUN.finditer(text)]
    clauses: list[str] = []
    terms: dict[str, None] = {}
    substrings: dict[str, None] = {}
    for token in analyze(text):
        if token.term in terms:
            continue
        if len(terms) >= MAX_QUERY_TERMS:
            break
        terms[token.term] = None
        alternatives: list[list[str]] = []
        surface = text[token.start : token.end]
        for run in _HANGUL_RUN.findall(surface):
            if len(run) >= 2:
                alternatives.append(hangul_bigrams(surface))
                substrings[run] = None
                break
        for start, end in runs:
            if start <= token.start < end:
                grams = hangul_bigrams(text[start:end])
                if grams not in alternatives:
                    alternatives.append(grams)
                if end - start >= 2:
                    substrings[text[start:end]] = None
                break
        clause = f"terms : {quote(token.term)}"
        for grams in alternatives:
            grams = list(dict.fromkeys(grams))
            clause += f" OR bigrams : ({' AND '.join(map(quote, grams))})"
        clauses.append(f"({clause})" if alternatives else clause)
    raw: dict[str, None] = {}
    if not clauses:
        # only stop words (or words the analyser drops): the words as typed
        for word in raw_words(text):
            if len(raw) >= MAX_QUERY_TERMS:
                break
            raw[word.term] = None
        clauses = [f"raw : {quote(w)}" for w in raw]
    if not clauses:
        return None
    return Plan(" AND ".join(clauses), frozenset(terms), tuple(substrings), frozenset(raw))
