"""The search service's settings: environment variables prefixed SEARCH_ (e.g. SEARCH_PORT)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from pingvas_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SEARCH_", extra="ignore")
    service_name: ClassVar[str] = "search"
    optional_secret_settings: ClassVar[tuple[str, ...]] = ("render_export_token",)

    port: int = 8105

    # -- the engine (docs/search.md, "Engines")
    #: "embedded" (SQLite FTS5 + Korean morphemes) or "opensearch"; unset: OpenSearch
    #: when SEARCH_OPENSEARCH_URL is set, else embedded
    engine: Literal["embedded", "opensearch"] | None = None
    #: the embedded engine's file (default <var_dir>/search-index.sqlite)
    index_path: Path | None = None
    #: e.g. https://user:pass@search-domain.region.es.amazonaws.com (credentials masked in logs)
    opensearch_url: SecretStr | None = None
    #: names: <prefix>-<generation> indexes, <prefix>-read and <prefix>-write aliases
    opensearch_index_prefix: str = "pingvas-images"
    opensearch_shards: int = 1
    opensearch_replicas: int = 0
    opensearch_timeout_s: float = 10.0
    opensearch_verify_certs: bool = True

    # -- results: thumbnails and PNGs presigned from the keys the events carried
    images_bucket: str = "pingvas-images"
    presign_ttl_s: int = 3600

    # -- reindex: render's export API
    render_url: str = "http://127.0.0.1:8103"
    render_export_token: SecretStr | None = None
    reindex_batch_size: int = 500

    @property
    def engine_name(self) -> str:
        if self.engine:
            return self.engine
        return "opensearch" if self.opensearch_url else "embedded"

    @property
    def index_file(self) -> Path:
        return self.index_path or (self.var_dir / "search-index.sqlite")

    @property
    def export_token_value(self) -> str:
        if self.render_export_token is not None:
            return self.render_export_token.get_secret_value()
        return self.derived_token("render-export")
