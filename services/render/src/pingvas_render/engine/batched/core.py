"""The batched denoiser: many rows (one image each) of any tenants in one UNet pass.

Runs in the engine environment (torch, diffusers, compel, InvokeAI) on one thread of its
own, `Batcher.run()`; everything else talks to it through `submit`, `cancel` and the
`emit` callback it was given.

- A **row** is one image: its prompt and negative prompt (conditioning built with compel
  exactly as InvokeAI's `compel` node builds it), its seed (the initial noise made as
  InvokeAI's `noise` node makes it, on the CPU), its CFG scale, and a scheduler instance of
  its own (InvokeAI's SCHEDULER_MAP over the model's scheduler config, the step generator
  seeded `seed ^ 0xFFFFFFFF` as InvokeAI does), so every row has its own step index.
- A **group** is the rows that can share a UNet call: same model, width, height,
  scheduler and step count. Each iteration advances one group by one step; the group
  advanced least recently goes next (round robin over the groups with resident rows), so
  a busy group never holds a small one back by more than one step per other group.
- **Admission** is first come, first served, at every step boundary, while fewer than
  `max_rows` rows are resident: a new row joins the running batch at the next step. A
  row that finished leaves (its latents are decoded with the others that finished on the
  same step) and its slot refills at once.
- A row that goes NaN/inf fails alone; a cancelled row leaves at the next step boundary.

The UNet gets one timestep per row; CFG doubles the batch as InvokeAI does
(`[uncond rows, cond rows]`, zero-padded with an attention mask when the prompts'
token lengths differ) and guidance is applied per row with that row's scale.
"""

from __future__ import annotations

import collections
import inspect
import io
import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .limits import SUPPORTED_BASES, batches

log = logging.getLogger("pingvas.batched")

#: progress updates per row per second, at most
PROGRESS_RATE = 4.0


class Unsupported(Exception):
    """This engine cannot render it (another engine can)."""


@dataclass
class LoadedModel:
    key: str
    base: str
    unet: Any
    vae: Any
    text_encoder: Any
    tokenizer: Any
    scheduler_config: dict[str, Any]
    bytes: int
    last_used: float = field(default_factory=time.monotonic)
    compel: Any = None


@dataclass
class Row:
    handle: str
    spec: dict[str, Any]
    group: tuple
    submitted: float = field(default_factory=time.monotonic)
    cancel: bool = False
    # set on admission
    model: LoadedModel | None = None
    cond: Any = None
    uncond: Any = None
    latents: Any = None
    scheduler: Any = None
    timesteps: Any = None
    step_kwargs: dict[str, Any] = field(default_factory=dict)
    index: int = 0
    last_progress: float = 0.0

    @property
    def steps(self) -> int:
        return len(self.timesteps) if self.timesteps is not None else int(self.spec["steps"])


def group_key(spec: dict[str, Any]) -> tuple:
    return (
        spec["model"]["key"],
        int(spec["width"]),
        int(spec["height"]),
        spec["scheduler"],
        int(spec["steps"]),
    )


def _param_bytes(*modules: Any) -> int:
    return sum(p.numel() * p.element_size() for m in modules for p in m.parameters())


class ModelStore:
    """Catalog models loaded once and kept resident; the least recently used ones are
    evicted past `budget_bytes` (never one with resident rows)."""

    def __init__(
        self,
        device: torch.device,
        dtype: torch.dtype,
        budget_bytes: int,
        *,
        channels_last: bool,
        compile_unet: bool,
    ) -> None:
        self.device = device
        self.dtype = dtype
        self.budget_bytes = budget_bytes
        self.channels_last = channels_last
        self.compile_unet = compile_unet
        self.models: collections.OrderedDict[str, LoadedModel] = collections.OrderedDict()
        self.lock = threading.Lock()
        self.load_lock = threading.Lock()  # one load at a time, never the same model twice

    @staticmethod
    def folder_for(model: dict[str, Any], models_dir: str | None) -> Path:
        base = model.get("base")
        if base not in SUPPORTED_BASES:
            raise Unsupported(f"base {base!r} is not batched (SD-1 and SD-2 are)")
        source = str(model["source"])
        if "{models_dir}" in source:
            if not models_dir:
                raise Unsupported(f"model {model['key']!r} needs models_dir")
            source = source.replace("{models_dir}", models_dir)
        path = Path(source)
        if not (path / "model_index.json").is_file():
            # a hub id, a URL or a single checkpoint file: InvokeAI installs and converts those
            raise Unsupported(f"{source!r} is not a diffusers folder on this machine")
        return path

    def sizes(self) -> dict[str, int]:
        with self.lock:
            return {k: m.bytes for k, m in self.models.items()}

    def get(self, model: dict[str, Any], models_dir: str | None, in_use: set[str]) -> LoadedModel:
        with self.lock:
            found = self.models.get(model["key"])
            if found is not None:
                self.models.move_to_end(model["key"])
                found.last_used = time.monotonic()
                return found
        path = self.folder_for(model, models_dir)
        with self.load_lock:
            with self.lock:
                found = self.models.get(model["key"])
            if found is not None:
                return found
            loaded = self._load(model, path)
        with self.lock:
            self.models[model["key"]] = loaded
            self._evict(in_use | {model["key"]})
        return loaded

    def _evict(self, keep: set[str]) -> None:
        total = sum(m.bytes for m in self.models.values())
        for key in list(self.models):
            if total <= self.budget_bytes:
                break
            if key in keep:
                continue
            gone = self.models.pop(key)
            total -= gone.bytes
            log.info("batched.model_evicted key=%s bytes=%d", key, gone.bytes)
            del gone
            if self.device.type == "cuda":
                torch.cuda.empty_cache()

    def _load(self, model: dict[str, Any], path: Path) -> LoadedModel:
        from diffusers import AutoencoderKL, UNet2DConditionModel
        from transformers import CLIPTextModel, CLIPTokenizer

        started = time.monotonic()
        kw = {"torch_dtype": self.dtype, "local_files_only": True}
        unet = UNet2DConditionModel.from_pretrained(path / "unet", **kw).to(self.device).eval()
        vae = AutoencoderKL.from_pretrained(path / "vae", **kw).to(self.device).eval()
        text_encoder = (
            CLIPTextModel.from_pretrained(path / "text_encoder", **kw).to(self.device).eval()
        )
        tokenizer = CLIPTokenizer.from_pretrained(path / "tokenizer", local_files_only=True)
        config = json.loads((path / "scheduler" / "scheduler_config.json").read_text())
        if self.channels_last:
            unet.to(memory_format=torch.channels_last)
        size = _param_bytes(unet, vae, text_encoder)
        if self.compile_unet:
            unet = torch.compile(unet, dynamic=True)
        loaded = LoadedModel(
            key=model["key"],
            base=model["base"],
            unet=unet,
            vae=vae,
            text_encoder=text_encoder,
            tokenizer=tokenizer,
            scheduler_config=config,
            bytes=size,
        )
        log.info(
            "batched.model_loaded key=%s bytes=%d in %.1fs",
            model["key"],
            size,
            time.monotonic() - started,
        )
        return loaded


class Batcher:
    """The denoising loop. `emit(handle, kind, **data)` is called from its thread."""

    def __init__(
        self,
        store: ModelStore,
        emit: Callable[..., None],
        *,
        max_rows: int,
        models_dir: str | None,
        encoders: int = 2,
    ) -> None:
        self.store = store
        self.emit = emit
        self.max_rows = max(1, max_rows)
        self.models_dir = models_dir
        self.device = store.device
        self.dtype = store.dtype
        self.pending: collections.deque[Row] = collections.deque()
        self.groups: dict[tuple, list[Row]] = {}
        self.last_stepped: dict[tuple, float] = {}
        self.rows: dict[str, Row] = {}
        self.cv = threading.Condition()
        self.stopping = False
        self.encode_pool = ThreadPoolExecutor(max_workers=encoders, thread_name_prefix="png")
        # figures for the benchmark (`stats`)
        self.started_at = time.monotonic()
        self.busy_s = 0.0
        self.unet_calls = 0
        self.rows_stepped = 0
        self.images_done = 0
        self.peak_rows = 0
        self.per_row_bytes: dict[str, int] = {}

    # -- called from the I/O thread ----------------------------------------------------

    def submit(self, handle: str, spec: dict[str, Any]) -> None:
        if not batches(spec["scheduler"]):
            raise Unsupported(f"scheduler {spec['scheduler']!r} is not batched")
        row = Row(handle=handle, spec=spec, group=group_key(spec))
        with self.cv:
            self.rows[handle] = row
            self.pending.append(row)
            self.cv.notify()

    def cancel(self, handle: str) -> None:
        with self.cv:
            row = self.rows.get(handle)
            if row is not None:
                row.cancel = True
                self.cv.notify()

    def stop(self) -> None:
        with self.cv:
            self.stopping = True
            self.cv.notify()

    def stats(self) -> dict[str, Any]:
        with self.cv:
            resident = sum(len(g) for g in self.groups.values())
            pending = len(self.pending)
        wall = max(1e-9, time.monotonic() - self.started_at)
        return {
            "resident_rows": resident,
            "pending_rows": pending,
            "max_rows": self.max_rows,
            "busy_s": self.busy_s,
            "wall_s": wall,
            "unet_calls": self.unet_calls,
            "rows_stepped": self.rows_stepped,
            "images_done": self.images_done,
            "peak_rows": self.peak_rows,
            "models": self.store.sizes(),
            "per_row_bytes": dict(self.per_row_bytes),
            "device": str(self.device),
            "dtype": str(self.dtype).replace("torch.", ""),
            "gpu": gpu_figures(self.device),
        }

    # -- the loop ----------------------------------------------------------------------

    def run(self) -> None:
        with torch.inference_mode():
            while True:
                with self.cv:
                    while not self.stopping and not self.pending and not self._resident():
                        self.cv.wait()
                    if self.stopping:
                        return
                began = time.monotonic()
                try:
                    self._drop_cancelled()
                    self._admit()
                    group = self._next_group()
                    if group is not None:
                        self._step(group)
                except Exception as exc:  # noqa: BLE001 - one bad batch must not stop the engine
                    log.exception("batched.loop_error")
                    self._fail_all_resident(f"{type(exc).__name__}: {exc}")
                self.busy_s += time.monotonic() - began

    def _resident(self) -> bool:
        return any(self.groups.values())

    def _drop_cancelled(self) -> None:
        with self.cv:
            for row in [r for r in self.pending if r.cancel]:
                self.pending.remove(row)
                self._finish(row, "cancelled", progress=0.0)
            for rows in self.groups.values():
                for row in [r for r in rows if r.cancel]:
                    rows.remove(row)
                    self._finish(row, "cancelled", progress=row.index / max(1, row.steps))

    def _finish(self, row: Row, kind: str, **data: Any) -> None:
        self.rows.pop(row.handle, None)
        self.emit(row.handle, kind, **data)

    def _admit(self) -> None:
        while True:
            with self.cv:
                resident = sum(len(g) for g in self.groups.values())
                if resident >= self.max_rows or not self.pending:
                    return
                row = self.pending.popleft()
            try:
                self._prepare(row)
            except Unsupported as exc:
                self._finish(row, "failed", error=str(exc), code="unsupported")
                continue
            except Exception as exc:  # noqa: BLE001
                log.exception("batched.prepare_failed handle=%s", row.handle)
                self._finish(row, "failed", error=f"{type(exc).__name__}: {exc}", code="internal")
                continue
            with self.cv:
                if row.cancel:
                    self._finish(row, "cancelled", progress=0.0)
                    continue
                self.groups.setdefault(row.group, []).append(row)
                # a new group goes to the back of the round robin
                self.last_stepped.setdefault(row.group, time.monotonic())
                self.peak_rows = max(self.peak_rows, sum(len(g) for g in self.groups.values()))
            self.emit(row.handle, "started", progress=0.0)

    def _prepare(self, row: Row) -> None:
        spec = row.spec
        in_use = {key[0] for key, rows in self.groups.items() if rows}
        model = self.store.get(spec["model"], self.models_dir, in_use)
        model.last_used = time.monotonic()
        row.model = model
        row.cond = self._conditioning(model, spec.get("prompt", ""))
        row.uncond = self._conditioning(model, spec.get("negative_prompt", "") or "")
        seed = int(spec["seed"])
        width, height = int(spec["width"]), int(spec["height"])
        # InvokeAI's noise node: on the CPU, in the compute dtype, from the seed
        noise = torch.randn(
            1,
            4,
            height // 8,
            width // 8,
            dtype=self.dtype,
            device="cpu",
            generator=torch.Generator(device="cpu").manual_seed(seed),
        ).to(self.device, dtype=self.dtype)
        scheduler = make_scheduler(model.scheduler_config, spec["scheduler"], seed)
        timesteps, init_timestep, step_kwargs = init_scheduler(
            scheduler, self.device, int(spec["steps"]), seed
        )
        row.scheduler = scheduler
        row.timesteps = timesteps
        row.step_kwargs = step_kwargs
        latents = torch.zeros_like(noise)
        if init_timestep.shape[0]:
            latents = scheduler.add_noise(latents, noise, init_timestep.expand(1))
        row.latents = latents

    def _conditioning(self, model: LoadedModel, prompt: str) -> Any:
        if model.compel is None:
            from compel import Compel, SplitLongTextMode

            model.compel = Compel(
                tokenizer=model.tokenizer,
                text_encoder=model.text_encoder,
                textual_inversion_manager=None,
                dtype_for_device_getter=lambda _device: self.dtype,
                truncate_long_prompts=False,
                device=self.device,
                split_long_text_mode=SplitLongTextMode.SENTENCES,
            )
        from compel import Compel

        conjunction = Compel.parse_prompt_string(prompt)
        c, _options = model.compel.build_conditioning_tensor_for_conjunction(conjunction)
        return c.detach().to(self.device, dtype=self.dtype)

    def _next_group(self) -> tuple | None:
        with self.cv:
            live = [k for k, rows in self.groups.items() if rows]
            for k in [k for k, rows in self.groups.items() if not rows]:
                del self.groups[k]
                self.last_stepped.pop(k, None)
            if not live:
                return None
            return min(live, key=lambda k: self.last_stepped.get(k, 0.0))

    def _step(self, key: tuple) -> None:
        with self.cv:
            rows = list(self.groups.get(key, []))
            self.last_stepped[key] = time.monotonic()
        if not rows:
            return
        model = rows[0].model
        assert model is not None
        size = f"{key[1]}x{key[2]}"
        # measured once per size, on a batch of at least half the rows (a lone row's peak
        # is mostly the model's own working memory, not the row's)
        measure = (
            self.device.type == "cuda"
            and size not in self.per_row_bytes
            and len(rows) >= max(1, self.max_rows // 2)
        )
        if measure:
            torch.cuda.synchronize()
            base = torch.cuda.memory_allocated()
            torch.cuda.reset_peak_memory_stats()
        ts = [r.timesteps[r.index] for r in rows]
        model_in = torch.cat(
            [r.scheduler.scale_model_input(r.latents, t) for r, t in zip(rows, ts, strict=True)]
        )
        t_batch = torch.stack([t.reshape(()) for t in ts]).to(self.device)
        embeds, mask = _batch_conditioning([r.uncond for r in rows] + [r.cond for r in rows])
        kwargs: dict[str, Any] = {}
        if mask is not None:
            kwargs["encoder_attention_mask"] = mask
        sample = torch.cat([model_in, model_in])
        if self.store.channels_last:
            sample = sample.contiguous(memory_format=torch.channels_last)
        out = model.unet(sample, torch.cat([t_batch, t_batch]), embeds, **kwargs).sample
        uncond, cond = out.chunk(2)
        self.unet_calls += 1
        self.rows_stepped += len(rows)
        new_latents = []
        for k, (row, t) in enumerate(zip(rows, ts, strict=True)):
            u, c = uncond[k : k + 1], cond[k : k + 1]
            noise_pred = u + (c - u) * float(row.spec["cfg_scale"])
            result = row.scheduler.step(noise_pred, t, row.latents, **row.step_kwargs)
            new_latents.append(result.prev_sample)
        finite = torch.isfinite(torch.cat(new_latents).flatten(1)).all(dim=1).tolist()
        if measure:
            peak = torch.cuda.max_memory_allocated() - base
            self.per_row_bytes[size] = int(peak / len(rows))
        now = time.monotonic()
        finished: list[Row] = []
        with self.cv:
            live = self.groups.get(key, [])
            for row, latents, ok in zip(rows, new_latents, finite, strict=True):
                row.latents = latents
                row.index += 1
                if not ok:
                    if row in live:
                        live.remove(row)
                    self._finish(
                        row,
                        "failed",
                        error="the image went numerically unstable (NaN or infinity) while denoising",
                        code="numerical",
                    )
                    continue
                if row.index >= row.steps:
                    if row in live:
                        live.remove(row)
                    finished.append(row)
                elif now - row.last_progress >= 1.0 / PROGRESS_RATE or row.index == 1:
                    row.last_progress = now
                    self.emit(
                        row.handle,
                        "progress",
                        progress=row.index / row.steps,
                        step=row.index,
                        steps=row.steps,
                        preview=_preview(row.latents),
                    )
        if finished:
            self._decode(model, finished)

    def _decode(self, model: LoadedModel, rows: list[Row]) -> None:
        latents = torch.cat([r.latents for r in rows])
        vae = model.vae
        if self.device.type == "cpu":
            if vae.dtype != torch.float32:
                vae = vae.to(dtype=torch.float32)
            latents = latents.float()
        else:
            latents = latents.to(vae.dtype)
        image = vae.decode(latents / vae.config.scaling_factor, return_dict=False)[0]
        image = (image / 2 + 0.5).clamp(0, 1)
        arrays = image.cpu().permute(0, 2, 3, 1).float().numpy()
        for row, array in zip(rows, arrays, strict=True):
            self.images_done += 1
            self.rows.pop(row.handle, None)
            # PNG encoding off the denoising thread: the GPU does not wait for it
            self.encode_pool.submit(self._encode_and_emit, row.handle, array)

    def _encode_and_emit(self, handle: str, array: Any) -> None:
        try:
            from PIL import Image

            pixels = (array * 255).round().astype("uint8")
            out = io.BytesIO()
            Image.fromarray(pixels).save(out, format="PNG", compress_level=1)
            self.emit(handle, "completed", progress=1.0, png=out.getvalue())
        except Exception as exc:  # noqa: BLE001
            self.emit(handle, "failed", error=f"encoding the image failed: {exc}", code="internal")

    def _fail_all_resident(self, reason: str) -> None:
        with self.cv:
            rows = [r for g in self.groups.values() for r in g]
            self.groups.clear()
        for row in rows:
            self._finish(row, "failed", error=reason, code="internal")


def _batch_conditioning(embeds: list[Any]) -> tuple[Any, Any]:
    """One tensor of the rows' conditionings; zero-padded with an attention mask (as
    InvokeAI pads an unconditioning and a conditioning of different lengths) only when
    their lengths differ."""
    lengths = {e.shape[1] for e in embeds}
    if len(lengths) == 1:
        return torch.cat(embeds), None
    longest = max(lengths)
    padded, masks = [], []
    for e in embeds:
        missing = longest - e.shape[1]
        mask = torch.ones((e.shape[0], e.shape[1]), device=e.device, dtype=e.dtype)
        if missing:
            e = torch.cat(
                [e, torch.zeros((e.shape[0], missing, e.shape[2]), device=e.device, dtype=e.dtype)],
                dim=1,
            )
            mask = torch.cat(
                [mask, torch.zeros((mask.shape[0], missing), device=e.device, dtype=e.dtype)], dim=1
            )
        padded.append(e)
        masks.append(mask)
    return torch.cat(padded), torch.cat(masks)


def make_scheduler(model_config: dict[str, Any], name: str, seed: int) -> Any:
    """The scheduler InvokeAI's denoise node makes (denoise_latents.get_scheduler)."""
    from diffusers import (
        DPMSolverMultistepScheduler,
        DPMSolverSDEScheduler,
        DPMSolverSinglestepScheduler,
    )
    from invokeai.backend.stable_diffusion.schedulers.schedulers import SCHEDULER_MAP

    if name not in SCHEDULER_MAP:
        raise Unsupported(f"unknown scheduler {name!r}")
    scheduler_class, extra = SCHEDULER_MAP[name]
    config = dict(model_config)
    if "_backup" in config:
        config = config["_backup"]
    config = {**config, **extra, "_backup": config}
    if scheduler_class is DPMSolverSDEScheduler:
        config["noise_sampler_seed"] = seed
    if scheduler_class in (DPMSolverMultistepScheduler, DPMSolverSinglestepScheduler):
        if (
            config.get("_class_name") == "DEISMultistepScheduler"
            and config.get("algorithm_type") == "deis"
        ):
            config["algorithm_type"] = "dpmsolver++"
    return scheduler_class.from_config(config)


def init_scheduler(
    scheduler: Any, device: torch.device, steps: int, seed: int
) -> tuple[Any, Any, dict[str, Any]]:
    """Timesteps, the first timestep and the step() keyword arguments, as InvokeAI's
    denoise node sets them for denoising_start 0 and denoising_end 1."""
    from diffusers import TCDScheduler

    if scheduler.config.get("cpu_only", False):
        scheduler.set_timesteps(steps, device="cpu")
        timesteps = scheduler.timesteps.to(device=device)
    else:
        scheduler.set_timesteps(steps, device=device)
        timesteps = scheduler.timesteps
    order = scheduler.order
    coarse = timesteps[::order]
    t_start_val = int(round(scheduler.config["num_train_timesteps"] * 1.0))
    t_start_idx = len([t for t in coarse if t >= t_start_val])
    t_end_idx = len([t for t in coarse[t_start_idx:] if t >= 0])
    t_start_idx *= order
    t_end_idx *= order
    init_timestep = timesteps[t_start_idx : t_start_idx + 1]
    timesteps = timesteps[t_start_idx : t_start_idx + t_end_idx]
    kwargs: dict[str, Any] = {}
    if "generator" in inspect.signature(scheduler.step).parameters:
        kwargs["generator"] = torch.Generator(device=device).manual_seed(seed ^ 0xFFFFFFFF)
    if isinstance(scheduler, TCDScheduler):
        kwargs["eta"] = 1.0
    return timesteps, init_timestep, kwargs


_FACTORS: Any = None


def _preview(latents: Any) -> bytes | None:
    """Latents to a small RGB picture with InvokeAI's linear SD-1 factors, as PNG."""
    global _FACTORS
    try:
        from PIL import Image

        if _FACTORS is None:
            from invokeai.app.util.step_callback import SD1_5_LATENT_RGB_FACTORS

            _FACTORS = torch.tensor(SD1_5_LATENT_RGB_FACTORS, dtype=torch.float32)
        sample = latents[0].float().cpu()
        rgb = sample.permute(1, 2, 0) @ _FACTORS
        pixels = ((rgb + 1) / 2).clamp(0, 1).mul(255).byte().numpy()
        out = io.BytesIO()
        Image.fromarray(pixels).save(out, format="PNG", compress_level=1)
        return out.getvalue()
    except Exception:  # noqa: BLE001 - a preview is a nicety
        return None


def memory_budget(device: torch.device, setting_mb: int) -> int:
    """Bytes the resident models may take: the setting, or on a GPU 60% of free VRAM."""
    if setting_mb > 0:
        return setting_mb * 2**20
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free * 0.6)
    return 8 * 2**30


def rows_for_memory(device: torch.device, setting_rows: int, reserve_bytes: int) -> int:
    """Rows per batch: the setting, lowered on a GPU when free VRAM (less what the models
    take) cannot hold them at a conservative 512x512 SD-1 estimate per row."""
    if device.type != "cuda":
        return setting_rows
    free, _total = torch.cuda.mem_get_info(device)
    per_row = 350 * 2**20  # fp16 SD-1 512x512 with CFG, measured peak per row (docs/render.md)
    return max(1, min(setting_rows, int(max(0, free - reserve_bytes) // per_row)))


__all__ = [
    "SUPPORTED_BASES",
    "Batcher",
    "ModelStore",
    "Unsupported",
    "group_key",
    "init_scheduler",
    "make_scheduler",
    "memory_budget",
    "rows_for_memory",
]


def gpu_figures(device: torch.device) -> dict[str, float]:
    """The GPU's memory (the device's use by every process, and this process's tensors and
    cache) and utilisation (NVML through torch; left out where it cannot be read); empty
    off a GPU."""
    if device.type != "cuda":
        return {}
    free, total = torch.cuda.mem_get_info(device)
    figures: dict[str, float] = {
        "memory_used_bytes": float(total - free),
        "memory_total_bytes": float(total),
        "memory_allocated_bytes": float(torch.cuda.memory_allocated(device)),
        "memory_reserved_bytes": float(torch.cuda.memory_reserved(device)),
    }
    try:
        figures["utilization_ratio"] = torch.cuda.utilization(device) / 100.0
    except Exception:  # noqa: BLE001 - no NVML (pynvml) here: memory figures only
        pass
    return figures
