"""InvokeAI graphs for text-to-image: SD-1/SD-2 and SDXL.

A graph is a dict in InvokeAI's wire format: `{"id", "nodes": {id: node}, "edges": [...]}`,
each edge `{"source": {"node_id", "field"}, "destination": {"node_id", "field"}}`. Every
node has `use_cache: false`: the engine's node cache could otherwise answer a repeated job
with an image the worker has already taken out of the engine."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from . import EngineError, EngineJob

MODEL_NODE = "model"
POSITIVE_NODE = "positive"
NEGATIVE_NODE = "negative"
NOISE_NODE = "noise"
DENOISE_NODE = "denoise"
OUTPUT_NODE = "l2i"  # the node whose output is the finished image

SD1_BASES = frozenset({"sd-1", "sd-2"})
SDXL_BASES = frozenset({"sdxl"})


@dataclass(frozen=True, slots=True)
class InstalledModel:
    """A model as the engine knows it (its ModelIdentifierField)."""

    key: str
    hash: str
    name: str
    base: str
    type: str = "main"

    def identifier(self) -> dict[str, str]:
        return {
            "key": self.key,
            "hash": self.hash,
            "name": self.name,
            "base": self.base,
            "type": self.type,
        }


def _node(node_id: str, node_type: str, **fields: Any) -> dict[str, Any]:
    return {"id": node_id, "type": node_type, "is_intermediate": True, "use_cache": False, **fields}


def _edge(src: str, src_field: str, dst: str, dst_field: str) -> dict[str, Any]:
    return {
        "source": {"node_id": src, "field": src_field},
        "destination": {"node_id": dst, "field": dst_field},
    }


def _common_tail(job: EngineJob) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    nodes = {
        NOISE_NODE: _node(
            NOISE_NODE, "noise", seed=job.seed, width=job.width, height=job.height, use_cpu=True
        ),
        DENOISE_NODE: _node(
            DENOISE_NODE,
            "denoise_latents",
            steps=job.steps,
            cfg_scale=job.cfg_scale,
            scheduler=job.scheduler,
            denoising_start=0.0,
            denoising_end=1.0,
        ),
        # the output image is not intermediate: InvokeAI keeps it where images() reads it
        OUTPUT_NODE: {**_node(OUTPUT_NODE, "l2i"), "is_intermediate": False},
    }
    edges = [
        _edge(POSITIVE_NODE, "conditioning", DENOISE_NODE, "positive_conditioning"),
        _edge(NEGATIVE_NODE, "conditioning", DENOISE_NODE, "negative_conditioning"),
        _edge(NOISE_NODE, "noise", DENOISE_NODE, "noise"),
        _edge(MODEL_NODE, "unet", DENOISE_NODE, "unet"),
        _edge(DENOISE_NODE, "latents", OUTPUT_NODE, "latents"),
        _edge(MODEL_NODE, "vae", OUTPUT_NODE, "vae"),
    ]
    return nodes, edges


def sd1_text_to_image(job: EngineJob, model: InstalledModel) -> dict[str, Any]:
    """main_model_loader → clip_skip → compel (positive, negative) → denoise_latents → l2i."""
    nodes, edges = _common_tail(job)
    nodes[MODEL_NODE] = _node(MODEL_NODE, "main_model_loader", model=model.identifier())
    nodes["clip_skip"] = _node("clip_skip", "clip_skip", skipped_layers=0)
    nodes[POSITIVE_NODE] = _node(POSITIVE_NODE, "compel", prompt=job.prompt)
    nodes[NEGATIVE_NODE] = _node(NEGATIVE_NODE, "compel", prompt=job.negative_prompt)
    edges += [
        _edge(MODEL_NODE, "clip", "clip_skip", "clip"),
        _edge("clip_skip", "clip", POSITIVE_NODE, "clip"),
        _edge("clip_skip", "clip", NEGATIVE_NODE, "clip"),
    ]
    return {"id": f"pingvas-{uuid.uuid4().hex}", "nodes": nodes, "edges": edges}


def sdxl_text_to_image(job: EngineJob, model: InstalledModel) -> dict[str, Any]:
    """sdxl_model_loader → sdxl_compel_prompt (positive, negative) → denoise_latents → l2i.
    Not exercised by the tests (there is no tiny SDXL model yet)."""
    nodes, edges = _common_tail(job)
    nodes[MODEL_NODE] = _node(MODEL_NODE, "sdxl_model_loader", model=model.identifier())
    size = {
        "original_width": job.width,
        "original_height": job.height,
        "target_width": job.width,
        "target_height": job.height,
        "crop_top": 0,
        "crop_left": 0,
    }
    nodes[POSITIVE_NODE] = _node(
        POSITIVE_NODE, "sdxl_compel_prompt", prompt=job.prompt, style=job.prompt, **size
    )
    nodes[NEGATIVE_NODE] = _node(
        NEGATIVE_NODE,
        "sdxl_compel_prompt",
        prompt=job.negative_prompt,
        style=job.negative_prompt,
        **size,
    )
    for node in (POSITIVE_NODE, NEGATIVE_NODE):
        edges += [
            _edge(MODEL_NODE, "clip", node, "clip"),
            _edge(MODEL_NODE, "clip2", node, "clip2"),
        ]
    return {"id": f"pingvas-{uuid.uuid4().hex}", "nodes": nodes, "edges": edges}


def text_to_image_graph(job: EngineJob, model: InstalledModel) -> dict[str, Any]:
    if model.base in SD1_BASES:
        return sd1_text_to_image(job, model)
    if model.base in SDXL_BASES:
        return sdxl_text_to_image(job, model)
    raise EngineError(f"no text-to-image graph for base {model.base!r} (model {model.name!r})")
