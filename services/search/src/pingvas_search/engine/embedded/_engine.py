"""`EmbeddedEngine`: the SQLite file, its generations, and every statement it runs.

All SQL runs in a worker thread on the engine's one connection, under a lock; every
write transaction reads `meta` first, so a reindex begun by another process receives
this process's writes from its next transaction on. Every statement filters
`tenant_id = ?` on the document table and, when it matches, puts the tenant's token in
the MATCH expression as well.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from ..base import (
    EngineUnavailable,
    ImageDoc,
    ImageHit,
    ImageHits,
    ImageQuery,
    Segment,
    Suggestion,
    clean_text,
)
from ..cursors import effective_sort
from ..text import IndexedText, get_analyzer, has_hangul, index_texts, raw_words
from ._cursors import decode_cursor, encode_cursor
from ._highlights import hit_marks, segments
from ._queries import MAX_QUERY_CHARS, MAX_QUERY_TERMS, plan_query, quote, tenant_token
from ._rows import DOC_COLUMNS, INSERT_DOC, SELECT_DOC, doc_from_row, doc_row, micros

T = TypeVar("T")

MAX_LIMIT = 1000
#: bm25 weights of the FTS columns: tenant, terms, bigrams, raw
RANK = "bm25(0.0, 1.0, 0.3, 0.0)"

_GENERATION = re.compile(r"g[1-9][0-9]{0,8}")


class EmbeddedEngine:
    """SearchEngine on a SQLite FTS5 file (see the package's docstring)."""

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
        insert_doc = INSERT_DOC.format(docs=docs_t)
        for doc, text in zip(docs, texts, strict=True):
            old = conn.execute(
                f"SELECT id FROM {docs_t} WHERE image_id = ?", (doc.image_id,)
            ).fetchone()
            if old is not None:
                conn.execute(f"DELETE FROM {fts_t} WHERE rowid = ?", old)
                conn.execute(f"DELETE FROM {docs_t} WHERE id = ?", old)
            rowid = conn.execute(insert_doc, doc_row(doc, text.spans_column)).lastrowid
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
        sort = effective_sort(q)
        after = decode_cursor(q.cursor, q) if q.cursor else None
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
            args.append(micros(q.since))
        if q.until is not None:
            where.append("d.created_us < ?")
            args.append(micros(q.until))

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
                if after is not None:
                    page_where.append("(d.created_us, d.image_id) < (?, ?)")
                    page_args.extend(after)
            else:
                order = f"{fts_t}.rank, d.created_us DESC, d.image_id DESC"
                offset = after[0] if after is not None else 0
            rows = conn.execute(
                f"SELECT {SELECT_DOC}{extra} FROM {source} WHERE {' AND '.join(page_where)} "
                f"ORDER BY {order} LIMIT ? OFFSET ?",
                [*page_args, limit + 1, offset],
            ).fetchall()
            more = len(rows) > limit
            rows = rows[:limit]
            if after is None and not more:
                total = len(rows)
            elif sort == "relevance" and rows and not more:
                total = offset + len(rows)
            else:
                total = conn.execute(
                    f"SELECT count(*) FROM {source} WHERE {' AND '.join(where)}", args
                ).fetchone()[0]

        items: list[ImageHit] = []
        n = len(DOC_COLUMNS)
        for row in rows:
            doc = doc_from_row(row)
            prompt = clean_text(doc.prompt)
            if plan is not None:
                marks = hit_marks(prompt, plan, row[n], row[n + 1])
                score: float | None = -row[n + 2]
            else:
                marks, score = [], None
            items.append(ImageHit(doc=doc, score=score, highlight=segments(prompt, marks)))
        next_cursor = None
        if more and rows:
            last = rows[-1]
            if sort == "newest":
                next_cursor = encode_cursor(q, [last[18], last[0]])
            else:
                next_cursor = encode_cursor(q, [offset + len(rows)])
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
