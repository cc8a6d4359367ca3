"""The OpenSearch engine (docs/search.md, "OpenSearch"): opensearch-py's async client.

Everything the engine sends is built by the pure functions at the top of this module
(tests/test_opensearch_bodies.py checks them as data); `OpenSearchEngine` only sends
them and reads the answers.

Names, for a prefix `P` (SEARCH_OPENSEARCH_INDEX_PREFIX):

- `P-template`: the index template for `P-g*` (analysis, mappings, 1 s refresh).
- `P-g<N>`: one index per generation.
- `P-read`: the generation searches read (one index).
- `P-write`: every generation that takes writes (one, or two during a reindex). An
  alias naming two indexes cannot take writes, so it only lists them: each write goes
  to each generation through that generation's own alias `P-write-g<N>` (one index,
  so writable), with `require_alias=true`. A writer whose short cache of the targets
  is stale after a reindex finished therefore gets "no such alias" (and looks again)
  instead of silently re-creating a dropped index from the template.

Tenancy: every document is written with `routing=<tenant id>` under the id
`<tenant id>/<image id>` (so a delete in one tenant can never name another tenant's
document), and every search, count, suggest and delete-by-query is built by
`tenant_request`, which takes the tenant id first, puts `{"term": {"tenant_id": ...}}`
in `bool.filter` and `routing` in the request's parameters. What a user typed only ever
becomes the `query` value of a `multi_match` (never `query_string` syntax).

Totals: `hits.total` is counted up to `TOTAL_HITS_CAP` (10,000) matches; past that,
`ImageHits.total` says 10000 (OpenSearch's `track_total_hits` cap: counting every
match of a large tenant exactly costs a full scan on each page).

Freshness: writes do not force a refresh by default; the index refreshes every second
(`refresh_interval: 1s`), which meets "searchable within about a second". Tests pass
`refresh=True` (or "wait_for") to read their own writes at once.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import json
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from opensearchpy import AsyncOpenSearch
from opensearchpy import exceptions as os_errors

from pingvas_kit.logging import get_logger

from .base import (
    MARK_END,
    MARK_START,
    EngineUnavailable,
    ImageDoc,
    ImageHit,
    ImageHits,
    ImageQuery,
    InvalidCursor,
    Segment,
    Suggestion,
    clean_text,
    segments_from_marked,
)

log = get_logger("pingvas.search.opensearch")

#: `track_total_hits`: matches are counted exactly up to this many
TOTAL_HITS_CAP = 10_000
#: documents per `_bulk` request
BULK_BATCH = 500
#: the most hits one page may ask for
MAX_PAGE = 1000
#: what a search or suggest matches at most (distinct words, characters)
MAX_QUERY_WORDS = 64
MAX_QUERY_CHARS = 1000
#: the most suggestions one call may ask for
MAX_SUGGESTIONS = 100
#: `prompt.raw` keeps prompts up to this many characters (render allows 2,000)
RAW_IGNORE_ABOVE = 2048
#: a highlight longer than this many characters is cut to a window around its first match
HIGHLIGHT_WINDOW = 200
#: how much of the text before the first match the window keeps
HIGHLIGHT_LEAD = 40
ELLIPSIS = "…"
#: the template's priority (composable templates with overlapping patterns must differ)
TEMPLATE_PRIORITY = 100
#: a cursor longer than this is not one of ours
MAX_CURSOR_CHARS = 2048
#: delete-by-query of a large tenant can take a while
DELETE_TENANT_TIMEOUT_S = 300

#: nori part-of-speech tags dropped from prompts and queries: endings (E), particles (J),
#: interjections, adverbs and determiners, copulas and auxiliaries, affixes, spaces,
#: punctuation and symbols, and unknown tokens. Kept: nouns (NN*, NP, NR), verb and
#: adjective stems (VV, VA), roots (XR), Hanja (SH), Latin words (SL), numbers (SN).
POS_STOPTAGS = [
    "E",
    "IC",
    "J",
    "MAG",
    "MAJ",
    "MM",
    "NA",
    "SC",
    "SE",
    "SF",
    "SP",
    "SSC",
    "SSO",
    "SY",
    "UNA",
    "VCN",
    "VCP",
    "VSV",
    "VX",
    "XPN",
    "XSA",
    "XSN",
    "XSV",
]

#: the fields a search matches (the prompt; the negative prompt is not searched)
SEARCH_FIELDS = ["prompt", "prompt.en"]
#: the fields a suggestion matches (search_as_you_type and its shingles)
SUGGEST_FIELDS = ["prompt.prefix", "prompt.prefix._2gram", "prompt.prefix._3gram"]

SORTS: dict[str, list[dict[str, str]]] = {
    "relevance": [{"_score": "desc"}, {"created_at": "desc"}, {"image_id": "desc"}],
    "newest": [{"created_at": "desc"}, {"image_id": "desc"}],
}

_PREFIX_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,150}$")


# -- names ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Names:
    """The template, index and alias names of one index prefix."""

    prefix: str

    def __post_init__(self) -> None:
        if not _PREFIX_RE.match(self.prefix):
            raise ValueError("the index prefix must be lower-case letters, digits, '-', '_' or '.'")

    @property
    def template(self) -> str:
        return f"{self.prefix}-template"

    @property
    def pattern(self) -> str:
        return f"{self.prefix}-g*"

    @property
    def read(self) -> str:
        return f"{self.prefix}-read"

    @property
    def write(self) -> str:
        return f"{self.prefix}-write"

    def generation(self, number: int) -> str:
        return f"{self.prefix}-g{number}"

    def number(self, index: str) -> int | None:
        """The generation number of one of our indexes, else None."""
        m = re.fullmatch(re.escape(self.prefix) + r"-g([0-9]{1,9})", index)
        return int(m.group(1)) if m else None

    def write_alias(self, generation: str) -> str:
        """The alias through which that generation takes writes (while it is a target)."""
        number = self.number(generation)
        if number is None:
            raise ValueError(f"{generation!r} is not a generation of {self.prefix!r}")
        return f"{self.prefix}-write-g{number}"


# -- the index template --------------------------------------------------------------


def index_template(prefix: str, shards: int = 1, replicas: int = 0) -> dict[str, Any]:
    """The body of `PUT _index_template/<prefix>-template`."""
    names = Names(prefix)
    keyword = {"type": "keyword"}
    stored_only = {"type": "keyword", "index": False, "doc_values": False}

    def prompt_field(*, prefix_field: bool) -> dict[str, Any]:
        fields: dict[str, Any] = {
            # English: possessives, stop words, Porter stemming (cats -> cat)
            "en": {"type": "text", "analyzer": "english"},
            # the prompt as typed: grouping suggestions
            "raw": {"type": "keyword", "ignore_above": RAW_IGNORE_ABOVE},
        }
        if prefix_field:
            # words as typed (lower-cased), for completing what is being typed
            fields["prefix"] = {"type": "search_as_you_type", "analyzer": "prompt_words"}
        return {"type": "text", "analyzer": "korean", "fields": fields}

    return {
        "index_patterns": [names.pattern],
        "priority": TEMPLATE_PRIORITY,
        "template": {
            "settings": {
                "index": {
                    "number_of_shards": shards,
                    "number_of_replicas": replicas,
                    "refresh_interval": "1s",
                },
                "analysis": {
                    "tokenizer": {
                        "korean_nori": {"type": "nori_tokenizer", "decompound_mode": "mixed"}
                    },
                    "filter": {
                        "korean_pos": {"type": "nori_part_of_speech", "stoptags": POS_STOPTAGS},
                        # Latin words inside a Korean prompt: the same stop words and
                        # stems as the `english` analyzer, so a mixed query ("고양이 cats")
                        # matches within the one field
                        "korean_latin_stop": {"type": "stop", "stopwords": "_english_"},
                        "korean_latin_stem": {"type": "stemmer", "language": "english"},
                    },
                    "analyzer": {
                        "korean": {
                            "type": "custom",
                            "tokenizer": "korean_nori",
                            "filter": [
                                "korean_pos",
                                "nori_readingform",
                                "lowercase",
                                "korean_latin_stop",
                                "korean_latin_stem",
                            ],
                        },
                        "prompt_words": {
                            "type": "custom",
                            "tokenizer": "standard",
                            "filter": ["lowercase"],
                        },
                    },
                },
            },
            "mappings": {
                "dynamic": "strict",
                "properties": {
                    "tenant_id": keyword,
                    "image_id": keyword,
                    "job_id": keyword,
                    "user_id": keyword,
                    "api_key_id": keyword,
                    "index": {"type": "integer"},
                    "prompt": prompt_field(prefix_field=True),
                    "negative_prompt": prompt_field(prefix_field=False),
                    "model": keyword,
                    "scheduler": keyword,
                    "width": {"type": "integer"},
                    "height": {"type": "integer"},
                    "steps": {"type": "integer"},
                    "seed": {"type": "long"},
                    "size_bytes": {"type": "long"},
                    "cfg_scale": {"type": "float"},
                    "png_key": stored_only,
                    "thumbnail_key": stored_only,
                    # nanoseconds: images created within the same millisecond keep their order
                    "created_at": {"type": "date_nanos"},
                },
            },
        },
    }


# -- documents -----------------------------------------------------------------------


def iso(at: datetime) -> str:
    """A datetime as OpenSearch reads it: UTC, microseconds, 'Z' (naive = UTC)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def doc_id(tenant_id: str, image_id: str) -> str:
    """A document's `_id`: the tenant's, so no tenant can name another's document."""
    return f"{tenant_id}/{image_id}"


def document(doc: ImageDoc) -> dict[str, Any]:
    """The `_source` of one image (prompts without the highlighter's markers)."""
    return {
        "tenant_id": doc.tenant_id,
        "image_id": doc.image_id,
        "job_id": doc.job_id,
        "user_id": doc.user_id,
        "api_key_id": doc.api_key_id,
        "index": doc.index,
        "prompt": clean_text(doc.prompt),
        "negative_prompt": clean_text(doc.negative_prompt),
        "model": doc.model,
        "width": doc.width,
        "height": doc.height,
        "seed": doc.seed,
        "steps": doc.steps,
        "cfg_scale": doc.cfg_scale,
        "scheduler": doc.scheduler,
        "png_key": doc.png_key,
        "thumbnail_key": doc.thumbnail_key,
        "size_bytes": doc.size_bytes,
        "created_at": iso(doc.created_at),
    }


def doc_from_source(src: dict[str, Any]) -> ImageDoc:
    created = datetime.fromisoformat(src["created_at"])
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return ImageDoc(
        tenant_id=src["tenant_id"],
        image_id=src["image_id"],
        job_id=src["job_id"],
        user_id=src.get("user_id"),
        api_key_id=src.get("api_key_id"),
        index=src["index"],
        prompt=src["prompt"],
        negative_prompt=src.get("negative_prompt", ""),
        model=src["model"],
        width=src["width"],
        height=src["height"],
        seed=src["seed"],
        steps=src["steps"],
        cfg_scale=src["cfg_scale"],
        scheduler=src["scheduler"],
        png_key=src["png_key"],
        thumbnail_key=src["thumbnail_key"],
        size_bytes=src["size_bytes"],
        created_at=created,
    )


def index_ops(docs: Sequence[ImageDoc]) -> list[list[dict[str, Any]]]:
    """`_bulk` operations writing (insert or replace) the docs, each routed by its tenant."""
    return [
        [
            {"index": {"_id": doc_id(d.tenant_id, d.image_id), "routing": d.tenant_id}},
            document(d),
        ]
        for d in docs
    ]


def delete_ops(pairs: Sequence[tuple[str, str]]) -> list[list[dict[str, Any]]]:
    """`_bulk` operations deleting (tenant_id, image_id) pairs, each routed by its tenant."""
    return [
        [{"delete": {"_id": doc_id(tenant_id, image_id), "routing": tenant_id}}]
        for tenant_id, image_id in pairs
    ]


def bulk_batches(
    ops: Sequence[list[dict[str, Any]]], size: int = BULK_BATCH
) -> Iterator[list[dict[str, Any]]]:
    """The ops as `_bulk` bodies (lists of NDJSON lines) of at most `size` operations."""
    for start in range(0, len(ops), size):
        yield [line for op in ops[start : start + size] for line in op]


class BulkRejected(RuntimeError):
    """OpenSearch refused some writes of a `_bulk` for a reason retrying will not fix."""


def bulk_outcome(resp: dict[str, Any]) -> bool:
    """Check a `_bulk` answer: True when the target alias is gone (the write targets
    changed: look them up again); EngineUnavailable when OpenSearch is overloaded;
    BulkRejected for any other item error. Deleting a missing document is no error."""
    if not resp.get("errors"):
        return False
    stale = False
    rejected: list[str] = []
    for item in resp.get("items", []):
        for _op, info in item.items():
            err = info.get("error")
            if not err:
                continue
            status = int(info.get("status") or 0)
            kind = err.get("type", "") if isinstance(err, dict) else str(err)
            if kind == "index_not_found_exception":
                stale = True
            elif status == 429 or status >= 500:
                raise EngineUnavailable(f"opensearch could not take the writes ({status})")
            else:
                reason = err.get("reason", "") if isinstance(err, dict) else ""
                rejected.append(f"{kind}: {reason[:200]}")
    if rejected:
        raise BulkRejected(f"opensearch rejected {len(rejected)} writes, e.g. {rejected[0]}")
    return stale


# -- tenant-scoped requests ----------------------------------------------------------


@dataclass(frozen=True)
class TenantRequest:
    """One request of one tenant: its body and its URL parameters (`routing` included)."""

    body: dict[str, Any]
    params: dict[str, str]


def tenant_request(
    tenant_id: str,
    *,
    must: Sequence[dict[str, Any]] = (),
    filters: Sequence[dict[str, Any]] = (),
    body: dict[str, Any] | None = None,
    **params: str,
) -> TenantRequest:
    """The one way to build a tenant's request: the tenant's `term` first in
    `bool.filter`, `routing` set to the tenant."""
    if not isinstance(tenant_id, str) or not tenant_id:
        raise ValueError("a tenant-scoped request needs a tenant id")
    query: dict[str, Any] = {"bool": {"filter": [{"term": {"tenant_id": tenant_id}}, *filters]}}
    if must:
        query["bool"]["must"] = list(must)
    return TenantRequest(
        body={"query": query, **(body or {})},
        params={**params, "routing": tenant_id},
    )


def normalize_text(text: str) -> str:
    """What the user typed, as it is searched: markers removed, whitespace collapsed,
    each word once (every word must match anyway), at most MAX_QUERY_WORDS words and
    MAX_QUERY_CHARS characters (a query of thousands of words would exceed
    OpenSearch's clause limit; the API allows 500 characters)."""
    words = list(dict.fromkeys(clean_text(text).split()))[:MAX_QUERY_WORDS]
    return " ".join(words)[:MAX_QUERY_CHARS].strip()


def effective_sort(query: ImageQuery) -> str:
    """With nothing to match, results are newest first whatever was asked."""
    return query.sort if normalize_text(query.text) else "newest"


def page_size(limit: int) -> int:
    return max(1, min(int(limit), MAX_PAGE))


def highlight_spec() -> dict[str, Any]:
    return {
        "pre_tags": [MARK_START],
        "post_tags": [MARK_END],
        # the whole prompt, marked; a long one is cut to a window in Python
        "number_of_fragments": 0,
        "require_field_match": True,
        "fields": {field: {} for field in SEARCH_FIELDS},
    }


def search_body(query: ImageQuery, after: Sequence[Any] | None = None) -> TenantRequest:
    """A page of `query` (after the sort values `after`): one more hit than the limit is
    asked for, to know whether there is a next page."""
    text = normalize_text(query.text)
    filters: list[dict[str, Any]] = []
    if query.model:
        filters.append({"term": {"model": query.model}})
    created: dict[str, str] = {}
    if query.since is not None:
        created["gte"] = iso(query.since)
    if query.until is not None:
        created["lt"] = iso(query.until)
    if created:
        filters.append({"range": {"created_at": created}})
    must = []
    extra: dict[str, Any] = {
        "size": page_size(query.limit) + 1,
        "sort": SORTS[effective_sort(query)],
        "track_total_hits": TOTAL_HITS_CAP,
    }
    if text:
        must.append(
            {
                "multi_match": {
                    "query": text,
                    "type": "most_fields",
                    "operator": "and",
                    "fields": list(SEARCH_FIELDS),
                }
            }
        )
        extra["highlight"] = highlight_spec()
        extra["track_scores"] = True
    if after is not None:
        extra["search_after"] = list(after)
    return tenant_request(query.tenant_id, must=must, filters=filters, body=extra)


def suggest_body(tenant_id: str, prefix: str, limit: int = 8) -> TenantRequest:
    """The tenant's prompts completing `prefix` (every word typed, the last one as a
    prefix), grouped by prompt: most images first, then most recent; with an empty
    prefix, the most recent prompts. One more bucket than asked (an empty prompt is
    skipped)."""
    words = normalize_text(prefix)
    must = []
    if words:
        must.append(
            {
                "multi_match": {
                    "query": words,
                    "type": "bool_prefix",
                    "operator": "and",
                    "fields": list(SUGGEST_FIELDS),
                }
            }
        )
        order: list[dict[str, str]] = [{"_count": "desc"}, {"latest": "desc"}]
    else:
        order = [{"latest": "desc"}]
    size = max(1, min(int(limit), MAX_SUGGESTIONS)) + 1
    return tenant_request(
        tenant_id,
        must=must,
        body={
            "size": 0,
            "track_total_hits": False,
            "aggs": {
                "prompts": {
                    "terms": {"field": "prompt.raw", "size": size, "order": order},
                    "aggs": {"latest": {"max": {"field": "created_at"}}},
                }
            },
        },
    )


def count_body(tenant_id: str) -> TenantRequest:
    return tenant_request(tenant_id)


def delete_tenant_body(tenant_id: str, *, refresh: bool = False) -> TenantRequest:
    params = {"conflicts": "proceed"}
    if refresh:
        params["refresh"] = "true"
    return tenant_request(tenant_id, **params)


# -- cursors -------------------------------------------------------------------------


def query_fingerprint(query: ImageQuery) -> str:
    """A short hash of what a page depends on (not the limit): a cursor carries it."""
    parts = [
        query.tenant_id,
        normalize_text(query.text),
        query.model or "",
        iso(query.since) if query.since else "",
        iso(query.until) if query.until else "",
        effective_sort(query),
    ]
    digest = hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode()


def encode_cursor(query: ImageQuery, sort_values: Sequence[Any]) -> str:
    payload = json.dumps(
        {"a": list(sort_values), "q": query_fingerprint(query)}, separators=(",", ":")
    )
    return base64.urlsafe_b64encode(payload.encode()).rstrip(b"=").decode()


def _is_sort_date(v: Any) -> bool:
    """created_at's sort value: epoch nanoseconds (or a date string)."""
    return (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, str) and len(v) <= 64)


def decode_cursor(cursor: str, query: ImageQuery) -> list[Any]:
    """The `search_after` values of a cursor issued for this very query (and tenant)."""
    if not isinstance(cursor, str) or not cursor or len(cursor) > MAX_CURSOR_CHARS:
        raise InvalidCursor("not a cursor")
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        data = json.loads(raw.decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidCursor("not a cursor") from None
    if not isinstance(data, dict) or not isinstance(data.get("a"), list):
        raise InvalidCursor("not a cursor")
    if data.get("q") != query_fingerprint(query):
        raise InvalidCursor("a cursor of another query")
    after = data["a"]
    if effective_sort(query) == "relevance":
        ok = (
            len(after) == 3
            and isinstance(after[0], int | float)
            and not isinstance(after[0], bool)
            and _is_sort_date(after[1])
            and isinstance(after[2], str)
        )
    else:
        ok = len(after) == 2 and _is_sort_date(after[0]) and isinstance(after[1], str)
    if not ok:
        raise InvalidCursor("not a cursor")
    return after


# -- highlights ----------------------------------------------------------------------


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


def _window(source: str, mask: list[bool]) -> list[Segment]:
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
    return _window(source, mask)


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


# -- answers -------------------------------------------------------------------------


def _total(hits: dict[str, Any]) -> int:
    total = hits.get("total", 0)
    if isinstance(total, dict):
        return int(total.get("value", 0))
    return int(total or 0)


def parse_search(resp: dict[str, Any], query: ImageQuery) -> ImageHits:
    text = normalize_text(query.text)
    limit = page_size(query.limit)
    raw_hits = resp["hits"]["hits"]
    page = raw_hits[:limit]
    items = []
    for hit in page:
        doc = doc_from_source(hit["_source"])
        if text:
            marked = [t for texts in (hit.get("highlight") or {}).values() for t in texts]
            highlight = highlight_segments(doc.prompt, marked)
            score = hit.get("_score")
        else:
            highlight = _window(doc.prompt, [False] * len(doc.prompt)) if doc.prompt else []
            score = None
        items.append(
            ImageHit(
                doc=doc, score=float(score) if score is not None else None, highlight=highlight
            )
        )
    next_cursor = None
    if len(raw_hits) > limit and page:
        next_cursor = encode_cursor(query, page[-1]["sort"])
    return ImageHits(items=items, next_cursor=next_cursor, total=_total(resp["hits"]))


def parse_suggest(resp: dict[str, Any], prefix: str, limit: int) -> list[Suggestion]:
    out = []
    for bucket in resp.get("aggregations", {}).get("prompts", {}).get("buckets", []):
        prompt = bucket["key"]
        if not prompt:
            continue
        out.append(
            Suggestion(
                prompt=prompt,
                images=int(bucket["doc_count"]),
                highlight=suggestion_segments(prompt, prefix),
            )
        )
    return out[: max(1, min(int(limit), MAX_SUGGESTIONS))]


# -- generations ---------------------------------------------------------------------

#: {index: {alias, ...}} for every generation of a prefix
AliasState = dict[str, set[str]]


def alias_state(names: Names, resp: dict[str, Any]) -> AliasState:
    """`GET <prefix>-g*/_alias` as {generation: {alias, ...}} (other indexes left out)."""
    return {
        index: set((info or {}).get("aliases", {}))
        for index, info in resp.items()
        if names.number(index) is not None
    }


def next_generation(names: Names, state: AliasState) -> str:
    numbers = [n for n in (names.number(i) for i in state) if n is not None]
    return names.generation(max(numbers, default=0) + 1)


def create_generation_body(prefix: str, generation: str, *, read: bool) -> dict[str, Any]:
    """`PUT <generation>`: created with its aliases in one step (the template gives the
    settings and mappings); `read` for the first generation of a new prefix."""
    names = Names(prefix)
    aliases: dict[str, dict[str, Any]] = {
        names.write: {},
        names.write_alias(generation): {},
    }
    if read:
        aliases[names.read] = {}
    return {"aliases": aliases}


def begin_reindex_body(prefix: str, generation: str) -> dict[str, Any]:
    """A new generation that takes writes (from now on) but is not read yet."""
    return create_generation_body(prefix, generation, read=False)


def finish_reindex_actions(prefix: str, generation: str, state: AliasState) -> dict[str, Any]:
    """`POST _aliases`, atomically: the read alias moves to `generation`, which stays a
    write target, and every other generation that was read or written is dropped."""
    names = Names(prefix)
    actions: list[dict[str, Any]] = [
        {"add": {"index": generation, "alias": names.read}},
        {"add": {"index": generation, "alias": names.write}},
        {"add": {"index": generation, "alias": names.write_alias(generation)}},
    ]
    for index in sorted(state, key=lambda i: names.number(i) or 0):
        if index != generation and state[index] & {names.read, names.write}:
            actions.append({"remove_index": {"index": index}})
    return {"actions": actions}


def abort_reindex_actions(prefix: str, generation: str, state: AliasState) -> dict[str, Any]:
    """`POST _aliases`: drop the generation (its aliases go with it); refused for the
    generation searches read."""
    names = Names(prefix)
    names.write_alias(generation)  # one of ours
    if names.read in state.get(generation, set()):
        raise ValueError(f"{generation} is what searches read: it cannot be aborted")
    return {"actions": [{"remove_index": {"index": generation}}]}


# -- the engine ----------------------------------------------------------------------


@contextlib.contextmanager
def _unavailable() -> Iterator[None]:
    """Cluster trouble as EngineUnavailable, with a short reason (never the URL)."""
    try:
        yield
    except os_errors.ConnectionTimeout as exc:
        raise EngineUnavailable("opensearch timed out") from exc
    except os_errors.ConnectionError as exc:
        raise EngineUnavailable("opensearch is unreachable") from exc
    except os_errors.NotFoundError as exc:
        raise EngineUnavailable("opensearch: the index or alias is missing") from exc
    except (os_errors.AuthenticationException, os_errors.AuthorizationException) as exc:
        raise EngineUnavailable("opensearch refused the credentials") from exc
    except os_errors.TransportError as exc:
        status = exc.status_code
        if isinstance(status, int) and (status == 429 or status >= 500):
            raise EngineUnavailable(f"opensearch answered {status}") from exc
        raise


class OpenSearchEngine:
    """The search engine on an OpenSearch cluster (with analysis-nori)."""

    name = "opensearch"

    def __init__(
        self,
        url: str,
        *,
        index_prefix: str = "pingvas-images",
        shards: int = 1,
        replicas: int = 0,
        timeout_s: float = 10.0,
        verify_certs: bool = True,
        refresh: bool | str = False,
        write_targets_ttl_s: float = 1.0,
    ) -> None:
        self._names = Names(index_prefix)
        self._shards = shards
        self._replicas = replicas
        if refresh not in (False, True, "true", "false", "wait_for"):
            raise ValueError("refresh is False, True or 'wait_for'")
        self._refresh = {True: "true", False: None, "false": None}.get(refresh, refresh)
        self._targets_ttl_s = write_targets_ttl_s
        self._targets: list[str] = []  # cached write targets, looked up at _targets_at
        self._targets_at = 0.0
        # the URL may carry credentials: it goes to the client and nowhere else
        self._client = AsyncOpenSearch(
            hosts=[url],
            timeout=timeout_s,
            verify_certs=verify_certs,
            ssl_show_warn=verify_certs,
            max_retries=2,
            retry_on_timeout=False,
        )

    def __repr__(self) -> str:
        return f"OpenSearchEngine(index_prefix={self._names.prefix!r})"

    @property
    def names(self) -> Names:
        return self._names

    # -- lifecycle

    async def start(self) -> None:
        names = self._names
        with _unavailable():
            await self._client.indices.put_index_template(
                name=names.template,
                body=index_template(names.prefix, self._shards, self._replicas),
            )
            state = await self._state()
            if any(names.read in aliases for aliases in state.values()):
                return
            generation = next_generation(names, state)
            try:
                await self._client.indices.create(
                    index=generation,
                    body=create_generation_body(names.prefix, generation, read=True),
                )
            except os_errors.RequestError as exc:
                if exc.error != "resource_already_exists_exception":
                    raise
                # another process started at the same moment: fine if it made the index
                state = await self._state()
                if not any(names.read in aliases for aliases in state.values()):
                    raise
        self._forget_targets()

    async def close(self) -> None:
        await self._client.close()

    async def check(self) -> str:
        try:
            resp = await self._client.indices.get_alias(name=self._names.read)
        except os_errors.ConnectionTimeout:
            return "opensearch timed out"
        except os_errors.ConnectionError:
            return "opensearch is unreachable"
        except os_errors.NotFoundError:
            return f"opensearch: no index behind {self._names.read}"
        except (os_errors.AuthenticationException, os_errors.AuthorizationException):
            return "opensearch refused the credentials"
        except os_errors.TransportError as exc:
            return f"opensearch answered {exc.status_code}"
        if len(resp) != 1:
            return f"opensearch: {self._names.read} names {len(resp)} indexes"
        return "ok"

    # -- writes

    async def upsert(self, docs: Sequence[ImageDoc]) -> None:
        if docs:
            await self._write_all(index_ops(docs))

    async def delete(self, tenant_id: str, image_ids: Sequence[str]) -> None:
        if not tenant_id:
            raise ValueError("a delete needs a tenant id")
        if image_ids:
            await self._write_all(delete_ops([(tenant_id, i) for i in image_ids]))

    async def delete_tenant(self, tenant_id: str) -> None:
        req = delete_tenant_body(tenant_id, refresh=self._refresh is not None)
        with _unavailable():
            await self._client.delete_by_query(
                index=self._names.write,
                body=req.body,
                request_timeout=DELETE_TENANT_TIMEOUT_S,
                **req.params,
            )

    # -- reads

    async def search(self, query: ImageQuery) -> ImageHits:
        after = decode_cursor(query.cursor, query) if query.cursor else None
        req = search_body(query, after=after)
        with _unavailable():
            try:
                resp = await self._client.search(
                    index=self._names.read, body=req.body, **req.params
                )
            except os_errors.RequestError:
                if after is not None:  # a hand-made cursor OpenSearch cannot use
                    raise InvalidCursor("not a cursor") from None
                raise
        return parse_search(resp, query)

    async def suggest(self, tenant_id: str, prefix: str, *, limit: int = 8) -> list[Suggestion]:
        req = suggest_body(tenant_id, prefix, limit)
        with _unavailable():
            resp = await self._client.search(index=self._names.read, body=req.body, **req.params)
        return parse_suggest(resp, prefix, limit)

    async def count(self, tenant_id: str | None = None) -> int:
        with _unavailable():
            if tenant_id is None:
                resp = await self._client.count(index=self._names.read)
            else:
                req = count_body(tenant_id)
                resp = await self._client.count(index=self._names.read, body=req.body, **req.params)
        return int(resp["count"])

    # -- reindex

    async def begin_reindex(self) -> str:
        names = self._names
        with _unavailable():
            for _attempt in range(5):
                generation = next_generation(names, await self._state())
                try:
                    await self._client.indices.create(
                        index=generation, body=begin_reindex_body(names.prefix, generation)
                    )
                    break
                except os_errors.RequestError as exc:
                    if exc.error != "resource_already_exists_exception":
                        raise
            else:
                raise EngineUnavailable("could not create a new generation")
        self._forget_targets()
        # every process caches the write targets this long: once it has passed, every
        # write handled from now on lands in the new generation too
        await asyncio.sleep(self._targets_ttl_s)
        return generation

    async def bulk_load(self, generation: str, docs: Sequence[ImageDoc]) -> None:
        if docs and await self._write_one(generation, index_ops(docs)):
            raise ValueError(f"{generation} is not a generation being written")

    async def delete_from(self, generation: str, pairs: Sequence[tuple[str, str]]) -> None:
        if pairs and await self._write_one(generation, delete_ops(pairs)):
            raise ValueError(f"{generation} is not a generation being written")

    async def finish_reindex(self, generation: str) -> None:
        names = self._names
        names.write_alias(generation)  # one of ours, or ValueError
        with _unavailable():
            state = await self._state()
            if names.write not in state.get(generation, set()):
                raise ValueError(f"{generation} is not a generation being written")
            await self._client.indices.update_aliases(
                body=finish_reindex_actions(names.prefix, generation, state)
            )
        self._forget_targets()

    async def abort_reindex(self, generation: str) -> None:
        names = self._names
        with _unavailable():
            state = await self._state()
            if generation not in state:
                names.write_alias(generation)  # one of ours, or ValueError
                return  # already gone
            body = abort_reindex_actions(names.prefix, generation, state)
            try:
                await self._client.indices.update_aliases(body=body)
            except os_errors.NotFoundError:
                pass  # dropped meanwhile
        self._forget_targets()

    async def generations(self) -> dict[str, list[str]]:
        names = self._names
        with _unavailable():
            state = await self._state()
        ordered = sorted(state, key=lambda i: names.number(i) or 0)
        return {
            "read": [i for i in ordered if names.read in state[i]],
            "write": [i for i in ordered if names.write in state[i]],
        }

    # -- internals

    async def _state(self) -> AliasState:
        try:
            resp = await self._client.indices.get_alias(index=self._names.pattern)
        except os_errors.NotFoundError:
            return {}
        return alias_state(self._names, resp)

    def _forget_targets(self) -> None:
        self._targets = []

    async def _write_targets(self) -> list[str]:
        """The generations taking writes, cached for `write_targets_ttl_s`."""
        now = time.monotonic()
        if self._targets and now - self._targets_at < self._targets_ttl_s:
            return self._targets
        with _unavailable():
            try:
                resp = await self._client.indices.get_alias(name=self._names.write)
            except os_errors.NotFoundError:
                raise EngineUnavailable(
                    f"opensearch: no index behind {self._names.write}"
                ) from None
        names = self._names
        targets = sorted(
            (i for i in resp if names.number(i) is not None), key=lambda i: names.number(i)
        )
        if not targets:
            raise EngineUnavailable(f"opensearch: no index behind {names.write}")
        self._targets, self._targets_at = targets, now
        return targets

    async def _write_all(self, ops: list[list[dict[str, Any]]]) -> None:
        """Write to every write target; when one has gone meanwhile (a reindex finished
        or was aborted), look the targets up again and write once more (writes are
        idempotent)."""
        for attempt in range(2):
            targets = await self._write_targets()
            stale = False
            for generation in targets:
                stale = await self._write_one(generation, ops) or stale
            if not stale:
                return
            self._forget_targets()
            log.info("search.write_targets_changed", attempt=attempt + 1)
        raise EngineUnavailable("opensearch write targets kept changing")

    async def _write_one(self, generation: str, ops: list[list[dict[str, Any]]]) -> bool:
        """Write to one generation through its write alias; True if that alias is gone."""
        alias = self._names.write_alias(generation)
        params: dict[str, str] = {"require_alias": "true"}
        if self._refresh is not None:
            params["refresh"] = self._refresh
        with _unavailable():
            for body in bulk_batches(ops):
                try:
                    resp = await self._client.bulk(index=alias, body=body, **params)
                except os_errors.NotFoundError:
                    return True
                if bulk_outcome(resp):
                    return True
        return False
