"""Every tenant-scoped request body: search, suggest, count, delete-by-query.

All of them are built by `tenant_request`, which takes the tenant id first, puts
`{"term": {"tenant_id": ...}}` first in `bool.filter` and `routing` in the request's
parameters. What a user typed only ever becomes the `query` value of a `multi_match` or `match`
(never `query_string` syntax); a search's text goes through the query plan both
engines share (`engine/plan.py`, `text_query`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..base import MARK_END, MARK_START, ImageQuery, Sort
from ..cursors import effective_sort, query_words
from ..plan import Alternative, QueryPlan, Unit, plan_query
from ._documents import GRAMS_FIELD, iso

#: `track_total_hits`: matches are counted exactly up to this many
TOTAL_HITS_CAP = 10_000
#: the most hits one page may ask for
MAX_PAGE = 1000
#: what a search or suggest matches at most (distinct words, characters)
MAX_QUERY_WORDS = 64
MAX_QUERY_CHARS = 1000
#: the most suggestions one call may ask for
MAX_SUGGESTIONS = 100

#: the fields a search matches (the prompt; the negative prompt is not searched)
SEARCH_FIELDS = ["prompt", "prompt.en"]
#: how much a match through the grams counts beside one through the analysed prompt
#: (the embedded engine's bm25 weight of its `bigrams` column)
GRAMS_BOOST = 0.3
#: the fields a suggestion matches (search_as_you_type and its shingles)
SUGGEST_FIELDS = ["prompt.prefix", "prompt.prefix._2gram", "prompt.prefix._3gram"]

SORTS: dict[Sort, list[dict[str, str]]] = {
    "relevance": [{"_score": "desc"}, {"created_at": "desc"}, {"image_id": "desc"}],
    "newest": [{"created_at": "desc"}, {"image_id": "desc"}],
}


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
    params: Mapping[str, str] | None = None,
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
        params={**(params or {}), "routing": tenant_id},
    )


def normalize_text(text: str) -> str:
    """What the user typed, as it is searched: `query_words` (markers removed, each word
    once), at most MAX_QUERY_WORDS words and MAX_QUERY_CHARS characters (a query of
    thousands of words would exceed OpenSearch's clause limit; the API allows 500
    characters)."""
    words = query_words(text)[:MAX_QUERY_WORDS]
    return " ".join(words)[:MAX_QUERY_CHARS].strip()


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


def _any(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    if len(clauses) == 1:
        return clauses[0]
    return {"bool": {"should": clauses, "minimum_should_match": 1}}


def _all(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    return clauses[0] if len(clauses) == 1 else {"bool": {"must": clauses}}


def _words(text: str) -> dict[str, Any]:
    return {
        "multi_match": {
            "query": text,
            "type": "most_fields",
            "operator": "and",
            "fields": list(SEARCH_FIELDS),
        }
    }


def _unit(unit: Unit) -> dict[str, Any]:
    clauses = [_words(unit.surface)]
    for grams in unit.grams:
        clauses.append(
            {
                "match": {
                    GRAMS_FIELD: {
                        "query": " ".join(grams),
                        "operator": "and",
                        "boost": GRAMS_BOOST,
                    }
                }
            }
        )
    return _any(clauses)


def _alternative(alternative: Alternative) -> dict[str, Any]:
    return _all([_unit(u) for u in alternative.units])


def plan_clauses(plan: QueryPlan) -> list[dict[str, Any]]:
    """The `bool.must` of a shared query plan: one clause per group (every one must
    match), any of its alternatives, all of an alternative's units, each by the
    analysed prompt (`prompt`, `prompt.en`) or through all of one set of its grams in
    `prompt_grams` (which `_documents.document` fills with `text.index_grams`)."""
    if not plan.groups:
        return [_words(" ".join(plan.raw))] if plan.raw else []
    return [_any([_alternative(a) for a in g.alternatives]) for g in plan.groups]


def text_query(text: str) -> list[dict[str, Any]]:
    """What a search for `text` must match (empty when it has no word to match)."""
    text = normalize_text(text)
    plan = plan_query(text) if text else None
    if plan is None:
        return [_words(text)] if text else []
    return plan_clauses(plan)


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
        must.extend(text_query(text))
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
    return tenant_request(tenant_id, params=params)
