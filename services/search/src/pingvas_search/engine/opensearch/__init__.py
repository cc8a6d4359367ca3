"""The OpenSearch engine (docs/search.md, "OpenSearch"): opensearch-py's async client.

Everything the engine sends is built by pure functions (tests/test_opensearch_bodies.py
checks them as data); `OpenSearchEngine` (`_engine`) only sends them and reads the
answers. The pieces: `_names` (index and alias names), `_template` (the index
template), `_documents` (documents and `_bulk` writes), `_bodies` (every tenant-scoped
request, through the one builder `tenant_request`), `_cursors` (the shared cursor codec
of `engine/cursors.py` around `search_after`), `_highlights`, `_answers` (reading hits
and suggestions back), `_generations` (alias actions of `start` and a reindex).

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
`_bodies.tenant_request`, which takes the tenant id first, puts
`{"term": {"tenant_id": ...}}` in `bool.filter` and `routing` in the request's
parameters. What a user typed only ever becomes the `query` value of a `multi_match`
(never `query_string` syntax).

Totals: `hits.total` is counted up to `TOTAL_HITS_CAP` (10,000) matches; past that,
`ImageHits.total` says 10000 (OpenSearch's `track_total_hits` cap: counting every
match of a large tenant exactly costs a full scan on each page).

Freshness: writes do not force a refresh by default; the index refreshes every second
(`refresh_interval: 1s`), which meets "searchable within about a second". Tests pass
`refresh=True` (or "wait_for") to read their own writes at once.
"""

from __future__ import annotations

from ._bodies import TenantRequest
from ._documents import BulkRejected
from ._engine import OpenSearchEngine
from ._names import Names

__all__ = ["BulkRejected", "Names", "OpenSearchEngine", "TenantRequest"]
