"""What the batched engine renders; standard library only, so the worker can route a job
without loading torch (and the engine's process, which has no contracts package, can
check it too)."""

#: schedulers the batched engine leaves to InvokeAI: ddim and ddpm draw a different
#: picture than InvokeAI for the same seed (docs/render.md); dpmpp_sde(_k) and er_sde
#: were not in the parity run. Every other scheduler of the API's list was
#: pixel-identical to InvokeAI.
UNBATCHED_SCHEDULERS = frozenset({"ddim", "ddpm", "dpmpp_sde", "dpmpp_sde_k", "er_sde"})
SUPPORTED_BASES = frozenset({"sd-1", "sd-2"})


def batches(scheduler: str) -> bool:
    """Whether the batched engine renders this scheduler (an unknown one it refuses when
    it builds the scheduler, as unsupported)."""
    return scheduler not in UNBATCHED_SCHEDULERS
