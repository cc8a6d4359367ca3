"""What the batched engine renders; standard library only, so the worker can route a job
without loading torch."""

#: the schedulers this engine renders, each pixel-identical to InvokeAI in the parity
#: test; any other (ddim and ddpm, which differ: docs/render.md) goes to InvokeAI
SUPPORTED_SCHEDULERS = frozenset(
    {
        "deis",
        "deis_k",
        "lms",
        "lms_k",
        "pndm",
        "heun",
        "heun_k",
        "euler",
        "euler_k",
        "euler_a",
        "kdpm_2",
        "kdpm_2_k",
        "kdpm_2_a",
        "kdpm_2_a_k",
        "dpmpp_2s",
        "dpmpp_2s_k",
        "dpmpp_2m",
        "dpmpp_2m_k",
        "dpmpp_2m_sde",
        "dpmpp_2m_sde_k",
        "dpmpp_3m",
        "dpmpp_3m_k",
        "unipc",
        "unipc_k",
        "lcm",
        "tcd",
    }
)
SUPPORTED_BASES = frozenset({"sd-1", "sd-2"})
