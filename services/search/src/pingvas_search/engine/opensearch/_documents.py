"""Documents and `_bulk` writes: every document routed by, and named within, its tenant.

The `_id` is `<tenant id>/<image id>` and `routing` the tenant id, so no write or
delete of one tenant can ever name another tenant's document.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from ..base import EngineUnavailable, ImageDoc, clean_text
from ..text import index_texts

#: the prompt's grams as the shared analysis computes them (`text.index_grams`):
#: whitespace-separated, indexed as they are (the template's `whitespace` analyzer)
GRAMS_FIELD = "prompt_grams"
#: documents per `_bulk` request
BULK_BATCH = 500


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
        GRAMS_FIELD: index_texts([doc.prompt])[0].bigrams_column,
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
