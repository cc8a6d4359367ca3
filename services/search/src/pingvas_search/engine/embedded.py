"""The embedded engine: one SQLite file with FTS5 (docs/search.md, "Embedded").

Layout of the file:

- `meta(key, value)`: `read` (the generation reads use), `write` (JSON list of the
  generations every write goes to), `next` (the number of the next generation).
- per generation `gN`: `docs_gN`, every ImageDoc field (created_at as microseconds
  since the epoch, so it sorts) plus the spans of the prompt's terms (highlighting
  without analysing again), and `fts_gN`, an FTS5 table whose rowid is the document's:
  `tenant` (one token standing for the tenant), `terms` (morphemes and stems),
  `bigrams` (Hangul syllable bigrams), `raw` (the lower-cased words as typed; prefix
  indexes for suggestions). The tokenizer is FTS5's `ascii`: `text.py` makes every term
  a run of alphanumerics, so it reads each back as one token.

All SQL runs in a worker thread on the engine's one connection, under a lock; the file
is in WAL mode with a busy timeout, so the reindex CLI can write to it while the service
reads. Every write transaction reads `meta` first, so a reindex begun by another process
receives this process's writes from its next transaction on.

Queries. What a user types never reaches FTS5 as syntax: it is analysed into terms, each
term double-quoted, and only the engine's own operators join them. Every statement
filters `tenant_id = ?` on the document table and, when it matches, puts the tenant's
token in the MATCH expression as well.

- A query word matches when its morpheme (or stem) is among a prompt's terms, or, for a
  Hangul word, when all its syllable bigrams are among the prompt's bigrams; every word
  must match. Ranking: bm25 with weights terms 1, bigrams 0.3 (tenant, raw 0), ties
  newest first.
- A query whose words are all English stop words ("the", "a on") looks for those words
  as typed (the raw column) instead; a query without any word (punctuation only) matches
  nothing; an empty query lists everything, newest first.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from .base import (
    EngineUnavailable,
    ImageDoc,
    ImageHit,
    ImageHits,
    ImageQuery,
    InvalidCursor,
    Segment,
    Suggestion,
    clean_text,
)
from .text import (
    IndexedText,
    analyze,
    get_analyzer,
    hangul_bigrams,
    has_hangul,
    index_texts,
    raw_words,
    tokens_from_columns,
)

T = TypeVar("T")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: highlights of longer prompts are a window of about this many characters
HIGHLIGHT_WINDOW = 200
#: a query is cut to this many characters and this many distinct terms
MAX_QUERY_CHARS = 1000
MAX_QUERY_TERMS = 32
MAX_LIMIT = 1000
#: bm25 weights of the FTS columns: tenant, terms, bigrams, raw
RANK = "bm25(0.0, 1.0, 0.3, 0.0)"

_GENERATION = re.compile(r"g[1-9][0-9]{0,8}")
_HANGUL_RUN = re.compile(r"[\uac00-\ud7a3]+")

_DOC_COLUMNS = (
    "image_id",
    "tenant_id",
    "job_id",
    "user_id",
    "api_key_id",
    "idx",
    "prompt",
    "negative_prompt",
    "model",
    "width",
    "height",
    "seed",
    "steps",
    "cfg_scale",
    "scheduler",
    "png_key",
    "thumbnail_key",
    "size_bytes",
    "created_us",
)
_SELECT_DOC = ", ".join(f"d.{c}" for c in _DOC_COLUMNS)
_INSERT_DOC = (
    f"INSERT INTO {{docs}} ({', '.join(_DOC_COLUMNS)}, spans) "
    f"VALUES ({', '.join('?' for _ in _DOC_COLUMNS)}, ?)"
)


def _micros(when: datetime) -> int:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - EPOCH) // timedelta(microseconds=1)


def _from_micros(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def tenant_token(tenant_id: str) -> str:
    """The tenant's token in the FTS rows: hex, so no tokenizer splits it and no prompt
    word equals it by accident (and one would only ever be looked for in `tenant`)."""
    return "t" + hashlib.blake2b(tenant_id.encode(), digest_size=12).hexdigest()


def quote(term: str) -> str:
    """An FTS5 string: whatever `term` holds, it is one string, never syntax."""
    return '"' + term.replace('"', '""') + '"'


def _doc_row(doc: ImageDoc, spans: str) -> tuple:
    return (
        doc.image_id,
        doc.tenant_id,
        doc.job_id,
        doc.user_id,
        doc.api_key_id,
        doc.index,
        doc.prompt,
        doc.negative_prompt,
        doc.model,
        doc.width,
        doc.height,
        doc.seed,
        doc.steps,
        doc.cfg_scale,
        doc.scheduler,
        doc.png_key,
        doc.thumbnail_key,
        doc.size_bytes,
        _micros(doc.created_at),
        spans,
    )


def _doc_from_row(row: Sequence[Any]) -> ImageDoc:
    return ImageDoc(
        image_id=row[0],
        tenant_id=row[1],
        job_id=row[2],
        user_id=row[3],
        api_key_id=row[4],
        index=row[5],
        prompt=row[6],
        negative_prompt=row[7],
        model=row[8],
        width=row[9],
        height=row[10],
        seed=row[11],
        steps=row[12],
        cfg_scale=row[13],
        scheduler=row[14],
        png_key=row[15],
        thumbnail_key=row[16],
        size_bytes=row[17],
        created_at=_from_micros(row[18]),
    )


# -- queries -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """A query's FTS5 expression (without the tenant) and what highlighting marks."""

    expression: str
    terms: frozenset[str]
    substrings: tuple[str, ...]  # Hangul words that may match inside a prompt's words
    raw: frozenset[str]  # words looked for as typed (stop-word-only queries)


def plan_query(text: str) -> _Plan | None:
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
    return _Plan(" AND ".join(clauses), frozenset(terms), tuple(substrings), frozenset(raw))


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


def _hit_marks(
    text: str, plan: _Plan, terms_column: str, spans_column: str
) -> list[tuple[int, int]]:
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


# -- cursors --------------------------------------------------------------------------


def _query_hash(q: ImageQuery, sort: str) -> str:
    key = [
        q.tenant_id,
        q.text.strip(),
        q.model,
        _micros(q.since) if q.since else None,
        _micros(q.until) if q.until else None,
        sort,
    ]
    return hashlib.sha256(json.dumps(key, ensure_ascii=False).encode()).hexdigest()[:16]


def _encode_cursor(state: dict[str, Any]) -> str:
    raw = json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, qhash: str, sort: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        state = json.loads(raw)
    except (ValueError, TypeError) as exc:
        raise InvalidCursor("not a cursor of this engine") from exc
    if not isinstance(state, dict) or state.get("h") != qhash:
        raise InvalidCursor("a cursor of another query")
    if sort == "newest":
        key = state.get("k")
        if (
            not isinstance(key, list)
            or len(key) != 2
            or type(key[0]) is not int
            or not isinstance(key[1], str)
        ):
            raise InvalidCursor("not a cursor of this engine")
    else:
        offset = state.get("o")
        if type(offset) is not int or not 0 < offset <= 10**9:
            raise InvalidCursor("not a cursor of this engine")
    return state


# -- the engine -----------------------------------------------------------------------


class EmbeddedEngine:
    """SearchEngine on a SQLite FTS5 file (see the module's docstring)."""

    name = "embedded"

    def __init__(self, path: Path, *, busy_timeout_ms: int = 30_000) -> None:
        self.path = Path(path)
        self.busy_timeout_ms = busy_timeout_ms
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    # -- plumbing

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(fn, *args)

    @contextmanager
    def _db(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        """The connection, locked, inside a transaction (IMMEDIATE for writes)."""
        with self._lock:
            conn = self._conn
            if conn is None:
                raise EngineUnavailable("the embedded engine is not started")
            try:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            except sqlite3.OperationalError as exc:
                raise EngineUnavailable(f"search index: {exc}") from exc
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    @staticmethod
    def _meta(conn: sqlite3.Connection) -> tuple[str, list[str]]:
        rows = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('read', 'write')"))
        return rows["read"], json.loads(rows["write"])

    @staticmethod
    def _set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    @staticmethod
    def _create_generation(conn: sqlite3.Connection, gen: str) -> None:
        docs, fts = f"docs_{gen}", f"fts_{gen}"
        conn.execute(
            f"""CREATE TABLE IF NOT EXISTS {docs} (
                id INTEGER PRIMARY KEY,
                image_id TEXT NOT NULL UNIQUE,
                tenant_id TEXT NOT NULL,
                job_id TEXT NOT NULL,
                user_id TEXT,
                api_key_id TEXT,
                idx INTEGER NOT NULL,
                prompt TEXT NOT NULL,
                negative_prompt TEXT NOT NULL,
                model TEXT NOT NULL,
                width INTEGER NOT NULL,
                height INTEGER NOT NULL,
                seed INTEGER NOT NULL,
                steps INTEGER NOT NULL,
                cfg_scale REAL NOT NULL,
                scheduler TEXT NOT NULL,
                png_key TEXT NOT NULL,
                thumbnail_key TEXT NOT NULL,
                size_bytes INTEGER NOT NULL,
                created_us INTEGER NOT NULL,
                spans TEXT NOT NULL
            )"""
        )
        conn.execute(
            f"CREATE INDEX IF NOT EXISTS {docs}_newest ON {docs} (tenant_id, created_us, image_id)"
        )
        conn.execute(
            f"CREATE INDEX IF NOT EXISTS {docs}_model ON {docs} "
            "(tenant_id, model, created_us, image_id)"
        )
        conn.execute(
            f"CREATE INDEX IF NOT EXISTS {docs}_prompt ON {docs} (tenant_id, prompt, created_us)"
        )
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (fts,)
        ).fetchone()
        if not exists:
            conn.execute(
                f"CREATE VIRTUAL TABLE {fts} USING fts5("
                "tenant, terms, bigrams, raw, tokenize = 'ascii', prefix = '1 2 3')"
            )
            conn.execute(f"INSERT INTO {fts} ({fts}, rank) VALUES ('rank', ?)", (RANK,))

    @staticmethod
    def _drop_generation(conn: sqlite3.Connection, gen: str) -> None:
        conn.execute(f"DROP TABLE IF EXISTS fts_{gen}")
        conn.execute(f"DROP TABLE IF EXISTS docs_{gen}")

    @staticmethod
    def _check_generation(name: str) -> str:
        if not isinstance(name, str) or not _GENERATION.fullmatch(name):
            raise ValueError(f"not a generation name: {name!r}")
        return name

    # -- lifecycle

    async def start(self) -> None:
        await self._run(self._start)

    def _start(self) -> None:
        with self._lock:
            if self._conn is not None:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            try:
                conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
                # on a new file: freed pages (a dropped generation) can be given back
                conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.execute(
                        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
                    )
                    if conn.execute("SELECT 1 FROM meta WHERE key = 'read'").fetchone() is None:
                        self._create_generation(conn, "g1")
                        self._set_meta(conn, "schema", "1")
                        self._set_meta(conn, "read", "g1")
                        self._set_meta(conn, "write", json.dumps(["g1"]))
                        self._set_meta(conn, "next", "2")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        get_analyzer()  # build the analyser now rather than on the first request

    async def close(self) -> None:
        await self._run(self._close)

    def _close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    async def check(self) -> str:
        try:
            return await self._run(self._check)
        except (sqlite3.Error, EngineUnavailable, KeyError, ValueError) as exc:
            return f"search index: {exc}"

    def _check(self) -> str:
        with self._db(write=False) as conn:
            read, _ = self._meta(conn)
            conn.execute(f"SELECT 1 FROM docs_{read} LIMIT 1").fetchall()
            conn.execute(f"SELECT 1 FROM fts_{read} LIMIT 1").fetchall()
        return "ok"

    # -- writes

    async def upsert(self, docs: Sequence[ImageDoc]) -> None:
        if docs:
            await self._run(self._upsert, list(docs), None)

    async def bulk_load(self, generation: str, docs: Sequence[ImageDoc]) -> None:
        self._check_generation(generation)
        if docs:
            await self._run(self._upsert, list(docs), generation)

    def _upsert(self, docs: list[ImageDoc], generation: str | None) -> None:
        # the same image twice in one call: the last one wins
        docs = list({d.image_id: d for d in docs}.values())
        texts = index_texts([d.prompt for d in docs])  # outside the lock: CPU only
        with self._db(write=True) as conn:
            read, write = self._meta(conn)
            if generation is None:
                targets = write
            elif generation in write:
                targets = [generation]
            else:
                raise ValueError(f"{generation} is not a generation being written")
            for gen in targets:
                self._put(conn, gen, docs, texts)

    @staticmethod
    def _put(
        conn: sqlite3.Connection, gen: str, docs: list[ImageDoc], texts: list[IndexedText]
    ) -> None:
        docs_t, fts_t = f"docs_{gen}", f"fts_{gen}"
        insert_doc = _INSERT_DOC.format(docs=docs_t)
        for doc, text in zip(docs, texts, strict=True):
            old = conn.execute(
                f"SELECT id FROM {docs_t} WHERE image_id = ?", (doc.image_id,)
            ).fetchone()
            if old is not None:
                conn.execute(f"DELETE FROM {fts_t} WHERE rowid = ?", old)
                conn.execute(f"DELETE FROM {docs_t} WHERE id = ?", old)
            rowid = conn.execute(insert_doc, _doc_row(doc, text.spans_column)).lastrowid
            conn.execute(
                f"INSERT INTO {fts_t} (rowid, tenant, terms, bigrams, raw) VALUES (?, ?, ?, ?, ?)",
                (
                    rowid,
                    tenant_token(doc.tenant_id),
                    text.terms_column,
                    text.bigrams_column,
                    text.raw_column,
                ),
            )

    async def delete(self, tenant_id: str, image_ids: Sequence[str]) -> None:
        if image_ids:
            pairs = [(tenant_id, i) for i in image_ids]
            await self._run(self._delete_pairs, pairs, None)

    async def delete_from(self, generation: str, pairs: Sequence[tuple[str, str]]) -> None:
        self._check_generation(generation)
        if pairs:
            await self._run(self._delete_pairs, list(pairs), generation)

    def _delete_pairs(self, pairs: list[tuple[str, str]], generation: str | None) -> None:
        with self._db(write=True) as conn:
            read, write = self._meta(conn)
            if generation is None:
                targets = write
            elif generation in write or generation == read:
                targets = [generation]
            else:
                raise ValueError(f"{generation} is not a generation of this index")
            for gen in targets:
                docs_t, fts_t = f"docs_{gen}", f"fts_{gen}"
                for tenant_id, image_id in pairs:
                    row = conn.execute(
                        f"SELECT id FROM {docs_t} WHERE tenant_id = ? AND image_id = ?",
                        (tenant_id, image_id),
                    ).fetchone()
                    if row is not None:
                        conn.execute(f"DELETE FROM {fts_t} WHERE rowid = ?", row)
                        conn.execute(f"DELETE FROM {docs_t} WHERE id = ?", row)

    async def delete_tenant(self, tenant_id: str) -> None:
        await self._run(self._delete_tenant, tenant_id)

    def _delete_tenant(self, tenant_id: str) -> None:
        with self._db(write=True) as conn:
            _, write = self._meta(conn)
            for gen in write:
                docs_t, fts_t = f"docs_{gen}", f"fts_{gen}"
                conn.execute(
                    f"DELETE FROM {fts_t} WHERE rowid IN "
                    f"(SELECT id FROM {docs_t} WHERE tenant_id = ?)",
                    (tenant_id,),
                )
                conn.execute(f"DELETE FROM {docs_t} WHERE tenant_id = ?", (tenant_id,))

    # -- reads

    async def search(self, query: ImageQuery) -> ImageHits:
        """The tenant's images whose prompts match every word of `query.text`.

        - Empty text: everything (filters apply), newest first.
        - Words that are all English stop words ("the", "a on"): those words as typed.
        - No word at all (punctuation only, e.g. `"*^`): no results.
        - Relevance pages are offset cursors, newest pages keyset cursors; either one
          carries a hash of the query (tenant, text, filters, sort) and is refused
          (InvalidCursor) with any other query."""
        return await self._run(self._search, query)

    def _search(self, q: ImageQuery) -> ImageHits:
        text = q.text.strip()
        sort = "relevance" if text and q.sort != "newest" else "newest"
        qhash = _query_hash(q, sort)
        state = _decode_cursor(q.cursor, qhash, sort) if q.cursor else None
        limit = max(1, min(int(q.limit), MAX_LIMIT))
        plan = plan_query(text) if text else None
        if text and plan is None:
            return ImageHits(items=[], next_cursor=None, total=0)

        where = ["d.tenant_id = ?"]
        args: list[Any] = [q.tenant_id]
        if q.model is not None:
            where.append("d.model = ?")
            args.append(q.model)
        if q.since is not None:
            where.append("d.created_us >= ?")
            args.append(_micros(q.since))
        if q.until is not None:
            where.append("d.created_us < ?")
            args.append(_micros(q.until))

        with self._db(write=False) as conn:
            read, _ = self._meta(conn)
            docs_t, fts_t = f"docs_{read}", f"fts_{read}"
            if plan is not None:
                # CROSS JOIN: the full-text match drives (SQLite would otherwise walk
                # the tenant's rows and run the whole MATCH again for each one)
                source = f"{fts_t} CROSS JOIN {docs_t} d ON d.id = {fts_t}.rowid"
                where.insert(0, f"{fts_t} MATCH ?")
                args.insert(0, f"tenant : {quote(tenant_token(q.tenant_id))} AND {plan.expression}")
                extra = f", {fts_t}.terms, d.spans, {fts_t}.rank"
            else:
                source = f"{docs_t} d"
                extra = ""
            page_where, page_args = list(where), list(args)
            offset = 0
            if sort == "newest":
                order = "d.created_us DESC, d.image_id DESC"
                if state is not None:
                    page_where.append("(d.created_us, d.image_id) < (?, ?)")
                    page_args.extend(state["k"])
            else:
                order = f"{fts_t}.rank, d.created_us DESC, d.image_id DESC"
                offset = state["o"] if state is not None else 0
            rows = conn.execute(
                f"SELECT {_SELECT_DOC}{extra} FROM {source} WHERE {' AND '.join(page_where)} "
                f"ORDER BY {order} LIMIT ? OFFSET ?",
                [*page_args, limit + 1, offset],
            ).fetchall()
            more = len(rows) > limit
            rows = rows[:limit]
            if state is None and not more:
                total = len(rows)
            elif sort == "relevance" and rows and not more:
                total = offset + len(rows)
            else:
                total = conn.execute(
                    f"SELECT count(*) FROM {source} WHERE {' AND '.join(where)}", args
                ).fetchone()[0]

        items: list[ImageHit] = []
        n = len(_DOC_COLUMNS)
        for row in rows:
            doc = _doc_from_row(row)
            prompt = clean_text(doc.prompt)
            if plan is not None:
                marks = _hit_marks(prompt, plan, row[n], row[n + 1])
                score: float | None = -row[n + 2]
            else:
                marks, score = [], None
            items.append(ImageHit(doc=doc, score=score, highlight=segments(prompt, marks)))
        next_cursor = None
        if more and rows:
            last = rows[-1]
            if sort == "newest":
                next_cursor = _encode_cursor({"h": qhash, "k": [last[18], last[0]]})
            else:
                next_cursor = _encode_cursor({"h": qhash, "o": offset + len(rows)})
        return ImageHits(items=items, next_cursor=next_cursor, total=total)

    async def suggest(self, tenant_id: str, prefix: str, *, limit: int = 8) -> list[Suggestion]:
        """The tenant's prompts that contain every typed word: a Hangul word, or the last
        word unless a space follows it, as the beginning of a prompt word (Korean words
        carry particles: "고양이" completes "고양이들이"), any other word as a whole word
        ("a ca" completes "a cat on a sofa" but "a" alone does not match "apple").
        Ordered by how many images have the prompt, then newest; an empty prefix gives
        the most recent prompts; a prefix of punctuation only gives nothing."""
        return await self._run(self._suggest, tenant_id, prefix, limit)

    def _suggest(self, tenant_id: str, prefix: str, limit: int) -> list[Suggestion]:
        limit = max(1, min(int(limit), 100))
        prefix = clean_text(prefix)[:MAX_QUERY_CHARS]
        if not prefix.strip():
            with self._db(write=False) as conn:
                read, _ = self._meta(conn)
                rows = conn.execute(
                    f"SELECT prompt, count(*), max(created_us) AS newest FROM docs_{read} "
                    "WHERE tenant_id = ? GROUP BY prompt ORDER BY newest DESC LIMIT ?",
                    (tenant_id, limit),
                ).fetchall()
            return [Suggestion(p, n, [Segment(clean_text(p))]) for p, n, _ in rows]

        words = raw_words(prefix)[:MAX_QUERY_TERMS]
        if not words:
            return []
        ends_open = words[-1].end == len(prefix)
        typed: dict[str, bool] = {}  # word -> matched as a prefix
        for i, w in enumerate(words):
            as_prefix = has_hangul(w.term) or (i == len(words) - 1 and ends_open)
            typed[w.term] = typed.get(w.term, False) or as_prefix
        expression = " AND ".join(f"raw : {quote(w)}{'*' if p else ''}" for w, p in typed.items())
        with self._db(write=False) as conn:
            read, _ = self._meta(conn)
            docs_t, fts_t = f"docs_{read}", f"fts_{read}"
            rows = conn.execute(
                f"SELECT d.prompt, count(*) AS n, max(d.created_us) AS newest "
                f"FROM {fts_t} CROSS JOIN {docs_t} d ON d.id = {fts_t}.rowid "
                f"WHERE {fts_t} MATCH ? AND d.tenant_id = ? "
                "GROUP BY d.prompt ORDER BY n DESC, newest DESC LIMIT ?",
                (f"tenant : {quote(tenant_token(tenant_id))} AND {expression}", tenant_id, limit),
            ).fetchall()
        out = []
        for p, n, _ in rows:
            text = clean_text(p)
            marks = []
            for w in raw_words(text):
                for t, as_prefix in typed.items():
                    if w.term == t:
                        marks.append((w.start, w.end))
                    elif as_prefix and w.term.startswith(t):
                        same_length = len(w.term) == w.end - w.start
                        marks.append((w.start, w.start + len(t) if same_length else w.end))
            out.append(Suggestion(p, n, segments(text, marks, window=max(len(text), 1))))
        return out

    async def count(self, tenant_id: str | None = None) -> int:
        return await self._run(self._count, tenant_id)

    def _count(self, tenant_id: str | None) -> int:
        with self._db(write=False) as conn:
            read, _ = self._meta(conn)
            if tenant_id is None:
                return conn.execute(f"SELECT count(*) FROM docs_{read}").fetchone()[0]
            return conn.execute(
                f"SELECT count(*) FROM docs_{read} WHERE tenant_id = ?", (tenant_id,)
            ).fetchone()[0]

    # -- reindex

    async def begin_reindex(self) -> str:
        return await self._run(self._begin_reindex)

    def _begin_reindex(self) -> str:
        with self._db(write=True) as conn:
            _, write = self._meta(conn)
            number = int(conn.execute("SELECT value FROM meta WHERE key = 'next'").fetchone()[0])
            gen = f"g{number}"
            self._create_generation(conn, gen)
            self._set_meta(conn, "write", json.dumps([*write, gen]))
            self._set_meta(conn, "next", str(number + 1))
        return gen

    async def finish_reindex(self, generation: str) -> None:
        self._check_generation(generation)
        await self._run(self._finish_reindex, generation)

    def _finish_reindex(self, generation: str) -> None:
        with self._db(write=True) as conn:
            read, write = self._meta(conn)
            if generation not in write:
                raise ValueError(f"{generation} is not a generation being written")
            # merge the segments bulk loading left behind: faster queries from now on
            conn.execute(f"INSERT INTO fts_{generation} (fts_{generation}) VALUES ('optimize')")
            for gen in {read, *write} - {generation}:
                self._drop_generation(conn, gen)
            self._set_meta(conn, "read", generation)
            self._set_meta(conn, "write", json.dumps([generation]))
        self._vacuum()

    async def abort_reindex(self, generation: str) -> None:
        self._check_generation(generation)
        await self._run(self._abort_reindex, generation)

    def _abort_reindex(self, generation: str) -> None:
        with self._db(write=True) as conn:
            read, write = self._meta(conn)
            if generation == read:
                raise ValueError(f"{generation} is the generation searches read")
            self._drop_generation(conn, generation)
            self._set_meta(conn, "write", json.dumps([g for g in write if g != generation]))
        self._vacuum()

    def _vacuum(self) -> None:
        """Give a dropped generation's pages back to the file system, and empty the
        write-ahead log a bulk load filled (both best effort: a reader in another
        process may hold the log)."""
        with self._lock:
            if self._conn is not None:
                self._conn.execute("PRAGMA incremental_vacuum").fetchall()
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    async def generations(self) -> dict[str, list[str]]:
        return await self._run(self._generations)

    def _generations(self) -> dict[str, list[str]]:
        with self._db(write=False) as conn:
            read, write = self._meta(conn)
        return {"read": [read], "write": write}
