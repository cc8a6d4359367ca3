"""The one search interface both engines implement (docs/search.md, "Engines").

Every read and every tenant-scoped write takes the tenant id as its first argument:
there is no way to ask an engine for "any tenant's" images. The service takes that id
from the verified identity (reads) or the event's envelope (writes), never from a
request's query string or body."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

Sort = Literal["relevance", "newest"]

#: the highlighter's markers inside a text (private-use characters; stripped from
#: indexed prompts so a prompt cannot forge a highlight)
MARK_START = "\ue000"
MARK_END = "\ue001"


class InvalidCursor(ValueError):
    """A cursor this engine did not issue, or one issued for another query."""


class EngineUnavailable(RuntimeError):
    """The engine cannot answer now (OpenSearch down, index missing)."""


@dataclass(frozen=True)
class ImageDoc:
    """One image as search knows it: what `render.image.created` carried."""

    tenant_id: str
    image_id: str
    job_id: str
    user_id: str | None
    api_key_id: str | None
    index: int
    prompt: str
    negative_prompt: str
    model: str
    width: int
    height: int
    seed: int
    steps: int
    cfg_scale: float
    scheduler: str
    png_key: str
    thumbnail_key: str
    size_bytes: int
    created_at: datetime  # timezone-aware (UTC)


@dataclass(frozen=True)
class Segment:
    """A piece of a prompt; `match` pieces are shown highlighted."""

    text: str
    match: bool = False


@dataclass(frozen=True)
class ImageQuery:
    tenant_id: str
    text: str = ""  # what the user typed ("" lists by filters only)
    model: str | None = None
    since: datetime | None = None  # created_at >= since
    until: datetime | None = None  # created_at < until
    sort: Sort = "relevance"  # with empty text, results are newest first either way
    limit: int = 24
    cursor: str | None = None  # an opaque cursor from a previous page of the same query


@dataclass(frozen=True)
class ImageHit:
    doc: ImageDoc
    score: float | None
    #: the prompt (or, for a long prompt, a window around the first match, with "…"
    #: at a cut end) split into segments; with empty text, one unmatched segment
    highlight: list[Segment]


@dataclass(frozen=True)
class ImageHits:
    items: list[ImageHit]
    next_cursor: str | None
    total: int  # matches in all (an engine may cap the count; docs/search.md)


@dataclass(frozen=True)
class Suggestion:
    prompt: str  # one of the tenant's own prompts, as typed
    images: int  # how many of the tenant's live images have this prompt
    highlight: list[Segment] = field(default_factory=list)


class SearchEngine(Protocol):
    #: "embedded" or "opensearch"
    name: str

    async def start(self) -> None:
        """Open connections; create the index (template, aliases, tables) if missing."""

    async def close(self) -> None: ...

    async def check(self) -> str:
        """ "ok", or a short reason for /readyz."""

    # -- writes: idempotent, to every write target (during a reindex: old and new)
    async def upsert(self, docs: Sequence[ImageDoc]) -> None: ...

    async def delete(self, tenant_id: str, image_ids: Sequence[str]) -> None: ...

    async def delete_tenant(self, tenant_id: str) -> None: ...

    # -- reads
    async def search(self, query: ImageQuery) -> ImageHits: ...

    async def suggest(self, tenant_id: str, prefix: str, *, limit: int = 8) -> list[Suggestion]:
        """The tenant's own prompts that complete `prefix` (its last word may be partial),
        most used first, then most recent; with an empty prefix, the most recent prompts."""

    async def count(self, tenant_id: str | None = None) -> int:
        """Documents behind the read alias (of one tenant, or all: operators' tools)."""

    # -- reindex (docs/search.md, "Reindex")
    async def begin_reindex(self) -> str:
        """Create a new, empty generation and add it to the write targets; its name."""

    async def bulk_load(self, generation: str, docs: Sequence[ImageDoc]) -> None:
        """Write docs into that generation only (insert or replace)."""

    async def delete_from(self, generation: str, pairs: Sequence[tuple[str, str]]) -> None:
        """Remove (tenant_id, image_id) pairs from that generation only."""

    async def finish_reindex(self, generation: str) -> None:
        """Point the read alias at it, make it the only write target, drop the old ones."""

    async def abort_reindex(self, generation: str) -> None:
        """Drop it and leave the read and write targets as they were."""

    async def generations(self) -> dict[str, list[str]]:
        """{"read": [name], "write": [names...]}: for `pingvas-search status`."""


def segments_from_marked(text: str) -> list[Segment]:
    """Split a text carrying MARK_START/MARK_END pairs (a highlighter's output) into
    segments, merging neighbours of the same kind."""
    out: list[Segment] = []
    match = False
    buf: list[str] = []

    def flush() -> None:
        if buf:
            piece = "".join(buf)
            if out and out[-1].match == match:
                out[-1] = Segment(out[-1].text + piece, match)
            else:
                out.append(Segment(piece, match))
            buf.clear()

    for ch in text:
        if ch == MARK_START:
            flush()
            match = True
        elif ch == MARK_END:
            flush()
            match = False
        else:
            buf.append(ch)
    flush()
    return out


def clean_text(text: str) -> str:
    """A prompt as it is indexed: without the highlighter's markers."""
    return text.replace(MARK_START, "").replace(MARK_END, "")
