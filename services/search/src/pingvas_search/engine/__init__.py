"""The search engines behind one interface (docs/search.md, "Engines")."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import (
    EngineUnavailable,
    ImageDoc,
    ImageHit,
    ImageHits,
    ImageQuery,
    InvalidCursor,
    SearchEngine,
    Segment,
    Suggestion,
)

if TYPE_CHECKING:
    from ..settings import Settings

__all__ = [
    "EngineUnavailable",
    "ImageDoc",
    "ImageHit",
    "ImageHits",
    "ImageQuery",
    "InvalidCursor",
    "SearchEngine",
    "Segment",
    "Suggestion",
    "make_engine",
]


def make_engine(settings: Settings) -> SearchEngine:
    """The engine the settings name (not started: call `await engine.start()`)."""
    if settings.engine_name == "opensearch":
        from .opensearch import OpenSearchEngine

        if settings.opensearch_url is None:
            raise ValueError("SEARCH_ENGINE=opensearch needs SEARCH_OPENSEARCH_URL")
        return OpenSearchEngine(
            settings.opensearch_url.get_secret_value(),
            index_prefix=settings.opensearch_index_prefix,
            shards=settings.opensearch_shards,
            replicas=settings.opensearch_replicas,
            timeout_s=settings.opensearch_timeout_s,
            verify_certs=settings.opensearch_verify_certs,
        )
    from .embedded import EmbeddedEngine

    return EmbeddedEngine(settings.index_file)
