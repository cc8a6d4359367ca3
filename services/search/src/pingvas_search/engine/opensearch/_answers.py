"""OpenSearch's answers read back: a page of hits (with its next cursor), suggestions."""

from __future__ import annotations

from typing import Any

from ..base import ImageHit, ImageHits, ImageQuery, Suggestion
from ._bodies import MAX_SUGGESTIONS, normalize_text, page_size
from ._cursors import encode_cursor
from ._documents import doc_from_source
from ._highlights import highlight_segments, highlight_window, suggestion_segments


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
            highlight = (
                highlight_window(doc.prompt, [False] * len(doc.prompt)) if doc.prompt else []
            )
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
