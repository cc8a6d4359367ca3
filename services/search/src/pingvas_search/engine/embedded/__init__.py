"""The embedded engine: one SQLite file with FTS5 (docs/search.md, "Embedded").

The pieces: `_engine` (`EmbeddedEngine`: the file, its generations, every statement),
`_rows` (an ImageDoc as a row), `_queries` (what was typed as an FTS5 expression),
`_highlights`, `_cursors` (the shared cursor codec of `engine/cursors.py` around this
engine's keyset and offset positions).

Layout of the file:

- `meta(key, value)`: `read` (the generation reads use), `write` (JSON list of the
  generations every write goes to), `next` (the number of the next generation).
- per generation `gN`: `docs_gN`, every ImageDoc field (created_at as microseconds
  since the epoch, so it sorts) plus the spans of the prompt's terms (highlighting
  without analysing again), and `fts_gN`, an FTS5 table whose rowid is the document's:
  `tenant` (one token standing for the tenant), `terms` (morphemes and stems),
  `bigrams` (the prompt's grams, `text.index_grams`: Hangul syllable bigrams, the end
  syllables of compound nouns, the nouns' romanizations), `raw` (the lower-cased words
  as typed; prefix indexes for suggestions). The tokenizer is FTS5's `ascii`: `text.py`
  makes every term a run of alphanumerics, so it reads each back as one token.

All SQL runs in a worker thread on the engine's one connection, under a lock; the file
is in WAL mode with a busy timeout, so the reindex CLI can write to it while the service
reads. Every write transaction reads `meta` first, so a reindex begun by another process
receives this process's writes from its next transaction on.

Queries. What a user types never reaches FTS5 as syntax: it is analysed into terms, each
term double-quoted, and only the engine's own operators join them. Every statement
filters `tenant_id = ?` on the document table and, when it matches, puts the tenant's
token in the MATCH expression as well.

- The query is the shared plan of `engine/plan.py` (every word, any of its forms: as
  typed, its lexicon renderings, its romanization); a form's term matches when its
  morpheme (or stem) is among a prompt's terms, or when all of one set of its grams are
  among the prompt's grams; every word must match. Ranking: bm25 with weights terms 1,
  bigrams 0.3 (tenant, raw 0), ties newest first.
- A query whose words are all English stop words ("the", "a on") looks for those words
  as typed (the raw column) instead; a query without any word (punctuation only) matches
  nothing; an empty query lists everything, newest first.
"""

from __future__ import annotations

from ._engine import EmbeddedEngine
from ._highlights import segments
from ._queries import plan_query

__all__ = ["EmbeddedEngine", "plan_query", "segments"]
