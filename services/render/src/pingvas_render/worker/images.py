"""What the worker stores per image: the PNG with its generation parameters embedded as
PNG text chunks, and a WebP thumbnail."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from typing import Any

from PIL import Image, PngImagePlugin

#: PNG text keys: `pingvas` holds the parameters as JSON; `parameters` is the one-line form
#: other tools (and people) read
METADATA_KEY = "pingvas"


@dataclass(frozen=True, slots=True)
class StoredImage:
    png: bytes
    thumbnail: bytes
    width: int
    height: int
    sha256: str


def png_key(tenant_id: str, image_id: str) -> str:
    return f"tenants/{tenant_id}/images/{image_id}.png"


def thumbnail_key(tenant_id: str, image_id: str) -> str:
    return f"tenants/{tenant_id}/images/{image_id}.thumb.webp"


def parameters_line(params: dict[str, Any]) -> str:
    text = params.get("prompt", "")
    if params.get("negative_prompt"):
        text += f"\nNegative prompt: {params['negative_prompt']}"
    text += (
        f"\nSteps: {params.get('steps')}, Sampler: {params.get('scheduler')}, "
        f"CFG scale: {params.get('cfg_scale')}, Seed: {params.get('seed')}, "
        f"Size: {params.get('width')}x{params.get('height')}, Model: {params.get('model')}"
    )
    return text


def prepare(png: bytes, params: dict[str, Any], *, thumbnail_size: int) -> StoredImage:
    """Re-encode the engine's PNG with our metadata (the engine's own chunks are dropped:
    they name internal paths) and make the thumbnail."""
    with Image.open(io.BytesIO(png)) as source:
        source.load()
        image = source.convert("RGB") if source.mode not in ("RGB", "RGBA") else source.copy()
    info = PngImagePlugin.PngInfo()
    info.add_itxt(METADATA_KEY, json.dumps(params, ensure_ascii=False, sort_keys=True))
    info.add_itxt("parameters", parameters_line(params))
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info, optimize=False)
    data = out.getvalue()

    thumb = image.copy()
    thumb.thumbnail((thumbnail_size, thumbnail_size))
    thumb_out = io.BytesIO()
    thumb.save(thumb_out, format="WEBP", quality=80, method=4)
    return StoredImage(
        png=data,
        thumbnail=thumb_out.getvalue(),
        width=image.width,
        height=image.height,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def read_metadata(png: bytes) -> dict[str, Any]:
    """The parameters embedded by `prepare` (for tests and for "use these settings")."""
    with Image.open(io.BytesIO(png)) as image:
        return json.loads(image.text[METADATA_KEY])  # type: ignore[attr-defined]
