"""The worker's engine figures: batch occupancy always, GPU memory and utilisation only
when the engine runs on a GPU (no made-up zeros on a CPU worker)."""

from __future__ import annotations

from pingvas_render.worker.__main__ import record_occupancy_and_gpu
from prometheus_client import REGISTRY


def value(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def test_a_cpu_engine_reports_occupancy_and_no_gpu_series() -> None:
    record_occupancy_and_gpu({"max_rows": 8, "resident_rows": 6, "device": "cpu", "gpu": {}})
    assert value("pingvas_render_engine_batch_occupancy_ratio") == 0.75
    assert value("pingvas_render_gpu_memory_bytes", device="cpu", kind="used") is None
    assert value("pingvas_render_gpu_utilization_ratio", device="cpu") is None


def test_a_gpu_engine_reports_memory_by_kind_and_utilisation() -> None:
    gpu = {
        "memory_used_bytes": 30e9,
        "memory_total_bytes": 80e9,
        "memory_allocated_bytes": 20e9,
        "memory_reserved_bytes": 24e9,
        "utilization_ratio": 0.93,
    }
    stats = {"max_rows": 16, "resident_rows": 16, "device": "cuda:0", "gpu": gpu}
    record_occupancy_and_gpu(stats)
    assert value("pingvas_render_engine_batch_occupancy_ratio") == 1.0
    for kind in ("used", "total", "allocated", "reserved"):
        expected = gpu[f"memory_{kind}_bytes"]
        assert value("pingvas_render_gpu_memory_bytes", device="cuda:0", kind=kind) == expected
    assert value("pingvas_render_gpu_utilization_ratio", device="cuda:0") == 0.93
