"""Text analysis of the embedded engine: what a prompt is indexed as, what a query looks
for, and where a prompt's words are (for highlighting). docs/search.md, "Embedded".

- `analyze(text)`: content morphemes of Korean (kiwipiepy) and stemmed English words,
  each with its character span in `text`.
- `hangul_bigrams(text)`: syllable bigrams of every Hangul run (the recall column).
- `index_grams(text, terms)`: what both engines index as a prompt's grams (the embedded
  engine's `bigrams` column, OpenSearch's `prompt_grams` field): those bigrams, the first
  and last syllable of every Hangul noun of two syllables or more (the parts of a
  compound at its ends: "별" of "별빛", "빛" of "달빛") and that noun's romanization
  (`seoul` for "서울"), so an English query meets a Korean name. `engine/plan.py` is
  the query side.
- `raw_words(text)`: the lower-cased words as typed (suggestions' prefix matching).

Every term these functions return is made only of characters for which `str.isalnum()`
is true: no whitespace, no ASCII punctuation, so SQLite FTS5's `ascii` tokenizer (which
splits on ASCII non-alphanumerics only and keeps every other character) reads each one
back as exactly one token, and a double-quoted term is never FTS5 syntax.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import snowballstemmer

from .base import clean_text

if TYPE_CHECKING:
    from kiwipiepy import Kiwi

#: Lucene's English stop words (OpenSearch's `_english_`), so both engines drop the same
ENGLISH_STOP_WORDS = frozenset(
    """a an and are as at be but by for if in into is it no not of on or such that the
    their then there these they this to was will with""".split()
)

#: kiwi tags kept as content morphemes (besides NN*, minus NNB): verb and adjective
#: stems, roots, numbers, Hanja, Latin words
_KEPT_TAGS = frozenset({"VV", "VA", "XR", "SN", "SH", "SL"})

#: alphanumeric runs: a word of the raw column (no "_": FTS5's ascii tokenizer splits it)
_WORD = re.compile(r"[^\W_]+")
_HANGUL_RUN = re.compile(r"[\uac00-\ud7a3]+")

_kiwi: Kiwi | None = None
_kiwi_lock = threading.Lock()
_local = threading.local()


@dataclass(frozen=True, slots=True)
class Token:
    """A normalized term and the span [start, end) of its surface in the analysed text."""

    term: str
    start: int
    end: int
    noun: bool = field(
        default=False, compare=False
    )  # a Korean noun (kiwi's NN*): its ends and romanization are grams


def get_analyzer() -> Kiwi:
    """The process's one Kiwi (about 2.5 s and 300 MB to build), created on first use.

    Building happens once, under a lock; using one built instance from several threads
    is safe (kiwipiepy's analysis does not mutate it)."""
    global _kiwi
    if _kiwi is None:
        with _kiwi_lock:
            if _kiwi is None:
                from kiwipiepy import Kiwi

                kiwi = Kiwi()
                kiwi.tokenize("")  # finish the lazy part of the initialisation now
                _kiwi = kiwi
    return _kiwi


def _stemmer() -> snowballstemmer.stemmer:
    stemmer = getattr(_local, "stemmer", None)  # a stemmer keeps state: one per thread
    if stemmer is None:
        stemmer = _local.stemmer = snowballstemmer.stemmer("english")
    return stemmer


@lru_cache(maxsize=65536)
def english_term(word: str) -> str | None:
    """A Latin word's term: lower-cased, None for a stop word, else its Snowball stem."""
    word = word.lower()
    if word in ENGLISH_STOP_WORDS:
        return None
    return _stemmer().stemWord(word)


def _alnum_runs(text: str) -> list[str]:
    return _WORD.findall(text)


def _latin_tokens(surface: str, start: int, end: int, out: list[Token]) -> None:
    for run in _alnum_runs(unicodedata.normalize("NFKC", surface)):
        term = english_term(run)
        if term:
            for piece in _alnum_runs(term):
                out.append(Token(piece, start, end))


def _tokens(text: str, morphs: Iterable) -> list[Token]:
    out: list[Token] = []
    for m in morphs:
        tag: str = m.tag
        if tag.endswith("-I") or tag.endswith("-R"):  # irregular / regular conjugation
            tag = tag[:-2]
        start, end = m.start, m.start + m.len
        if tag == "SL" or tag == "SW":
            # SW: e.g. full-width Latin letters; NFKC makes them plain Latin, and what
            # stays non-alphanumeric (emoji, symbols) yields nothing
            surface = text[start:end]
            if tag == "SW" and not unicodedata.normalize("NFKC", surface).isascii():
                continue
            _latin_tokens(surface, start, end, out)
        elif tag in ("W_HASHTAG", "W_MENTION"):
            # "#고양이": the words after the sign
            for t in analyze(text[start + 1 : end]):
                out.append(Token(t.term, t.start + start + 1, t.end + start + 1))
        elif (tag.startswith("NN") and tag != "NNB") or tag in _KEPT_TAGS:
            form = m.form.lower() if tag == "SH" else m.form
            for piece in _alnum_runs(form):
                out.append(Token(piece, start, end, tag.startswith("NN")))
    return out


def analyze(text: str) -> list[Token]:
    """The content terms of `text` with their spans (see the module's docstring).

    "귀여운 고양이들이 노는 사진" → 귀엽(0,3) 고양이(4,7) 놀(10,11) 사진(13,15);
    "a cat on a sofa, cats sleeping" → cat sofa cat sleep."""
    if not text or text.isspace():
        return []
    return _tokens(text, get_analyzer().tokenize(text))


def analyze_many(texts: Sequence[str]) -> list[list[Token]]:
    """`analyze` of each text, through kiwi's batch interface (its worker threads)."""
    if not texts:
        return []
    if len(texts) < 4:
        return [analyze(t) for t in texts]
    results = get_analyzer().tokenize(texts)
    return [_tokens(text, morphs) for text, morphs in zip(texts, results, strict=True)]


def hangul_bigrams(text: str) -> list[str]:
    """Syllable bigrams of each Hangul run, in order (a one-syllable run gives itself):
    "고양이들이 cat 꽃" → 고양 양이 이들 들이 꽃."""
    out: list[str] = []
    for run in _HANGUL_RUN.findall(text):
        if len(run) == 1:
            out.append(run)
        else:
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
    return out


def is_hangul(text: str) -> bool:
    """Whether `text` is one Hangul run (syllables only)."""
    return _HANGUL_RUN.fullmatch(text) is not None


@lru_cache(maxsize=65536)
def romanize(word: str) -> str | None:
    """A Hangul word in the Revised Romanization, lower-cased ("서울" → "seoul",
    "한복" → "hanbok"); None when it is not one Hangul run."""
    if not is_hangul(word):
        return None
    from korean_romanizer.romanizer import Romanizer

    out = "".join(_alnum_runs(Romanizer(word).romanize().lower()))
    return out or None


def term_grams(term: str) -> list[str]:
    """What a Hangul term of two syllables or more adds to the grams: its first and
    last syllable and its romanization (nothing for any other term)."""
    if len(term) < 2 or not is_hangul(term):
        return []
    out = [term[0], term[-1]]
    latin = romanize(term)
    if latin:
        out.append(latin)
    return out


def index_grams(text: str, terms: Sequence[Token]) -> list[str]:
    """A prompt's grams (see the module's docstring): "밤하늘의 별빛" → 밤하 하늘 늘의
    별빛 밤 늘 bamhaneul 별 빛 byeolbit."""
    out = hangul_bigrams(text)
    seen: set[str] = set()
    for t in terms:
        if t.noun and t.term not in seen:
            seen.add(t.term)
            out.extend(term_grams(t.term))
    return out


def has_hangul(text: str) -> bool:
    return _HANGUL_RUN.search(text) is not None


def raw_words(text: str) -> list[Token]:
    """The words of `text` as typed, lower-cased, with their spans (alphanumeric runs)."""
    return [Token(m.group().lower(), m.start(), m.end()) for m in _WORD.finditer(text)]


@dataclass(frozen=True, slots=True)
class IndexedText:
    """What one prompt contributes to the index (shared: never change its lists)."""

    terms: list[Token]
    bigrams: list[str]
    raw: list[str]

    @property
    def terms_column(self) -> str:
        return " ".join(t.term for t in self.terms)

    @property
    def spans_column(self) -> str:
        """The terms' spans, "start end" pairs in the terms' order."""
        return " ".join(f"{t.start} {t.end}" for t in self.terms)

    @property
    def bigrams_column(self) -> str:
        return " ".join(self.bigrams)

    @property
    def raw_column(self) -> str:
        return " ".join(self.raw)


#: recently indexed prompts: a job's images share one prompt, and their events come
#: one by one (each image analysed once, not four times)
_CACHE_SIZE = 4096
_cache: OrderedDict[str, IndexedText] = OrderedDict()
_cache_lock = threading.Lock()


def index_texts(prompts: Sequence[str]) -> list[IndexedText]:
    """Each prompt (without highlight markers) as its index columns."""
    cleaned = [clean_text(p) for p in prompts]
    found: dict[str, IndexedText] = {}
    missing: list[str] = []
    with _cache_lock:
        for text in dict.fromkeys(cleaned):
            hit = _cache.get(text)
            if hit is None:
                missing.append(text)
            else:
                _cache.move_to_end(text)
                found[text] = hit
    analysed = analyze_many(missing)
    fresh = {
        text: IndexedText(terms, index_grams(text, terms), [w.term for w in raw_words(text)])
        for text, terms in zip(missing, analysed, strict=True)
    }
    if fresh:
        with _cache_lock:
            _cache.update(fresh)
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    found.update(fresh)
    return [found[text] for text in cleaned]


def tokens_from_columns(terms_column: str, spans_column: str) -> list[Token]:
    """The inverse of `IndexedText.terms_column` / `spans_column`."""
    terms = terms_column.split()
    spans = spans_column.split()
    return [
        Token(term, int(spans[2 * i]), int(spans[2 * i + 1]))
        for i, term in enumerate(terms)
        if 2 * i + 1 < len(spans)
    ]
