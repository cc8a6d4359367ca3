"""The model catalog: which models Pingvas offers, where their weights come from, and
what they cost. Read by the render service (validation, prices, `GET models`) and by the
GPU workers (what to install into their engine).

The catalog is `catalog.toml` next to this file unless `RENDER_CATALOG` names another.
A `source` may use `{models_dir}` (the local model folder, `var/models` in the local run);
real deployments point it at the shared model volume or a hub id.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

DEFAULT_CATALOG = Path(__file__).with_name("catalog.toml")

Base = Literal["sd-1", "sd-2", "sdxl", "flux"]


@dataclass(frozen=True, slots=True)
class CatalogModel:
    key: str
    name: str
    base: Base
    source: str
    default_width: int
    default_height: int
    max_width: int
    max_height: int
    default_steps: int
    max_steps: int
    default_cfg_scale: float
    default_scheduler: str
    credit_factor: float
    test: bool = False

    def as_dict(self) -> dict:
        return asdict(self)

    def resolved_source(self, models_dir: str | os.PathLike[str]) -> str:
        return self.source.replace("{models_dir}", str(models_dir))


class Catalog:
    def __init__(self, models: list[CatalogModel]):
        self._models = {m.key: m for m in models}

    def get(self, key: str) -> CatalogModel | None:
        return self._models.get(key)

    def __iter__(self):
        return iter(self._models.values())

    def __len__(self) -> int:
        return len(self._models)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Catalog:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        return cls([CatalogModel(key=key, **spec) for key, spec in data["models"].items()])


@lru_cache(maxsize=8)
def load_catalog(path: str | None = None) -> Catalog:
    return Catalog.from_file(path or os.environ.get("RENDER_CATALOG") or DEFAULT_CATALOG)
