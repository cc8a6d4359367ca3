"""Search freshness on the local stack: how long after render stores an image it is
searchable, and how long after a delete it is gone (issue 7: within 1 s, p95).

`pingvas-dev up --only gateway,tenants,render,search` with render's worker and its engine
(the tiny SD-1 model, 64x64, 1 step: the image itself is not what is measured). For each
sample, through the gateway as the SPA would:

  created   render's `created_at` of the image (when it committed the image row and its
            `image.created` event) -> the first search that returns it
  deleted   DELETE /api/v1/images/{id} sent -> the first search that no longer returns it

Between them: render's outbox relay, SNS -> SQS (moto's server), search's consumer, one
engine write. Searches poll every 20 ms. Prints p50/p95/max of each.

    uv run python bench/search_freshness.py [--samples 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from pingvas_render.engine.testing import ensure_tiny_model
from tqdm import tqdm

from pingvas_kit.dev.stack import REPO, Stack, Team

TARGET_S = 1.0
POLL_S = 0.02


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _until(check, timeout: float = 30) -> float:  # noqa: ANN001
    """Poll until check() is true; the wall-clock time (epoch seconds) it first was."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return time.time()
        time.sleep(POLL_S)
    raise TimeoutError("not within 30 s")


def _ids(team: Team, q: str) -> set[str]:
    r = team.http.get("/search/images", params={"q": q, "sort": "newest", "limit": 5})
    r.raise_for_status()
    return {item["id"] for item in r.json()["items"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=30)
    args, _ = parser.parse_known_args()  # `./pingvas bench` passes every bench the same args

    models = REPO / "var" / "models"
    ensure_tiny_model(models)
    root = Path(tempfile.mkdtemp(prefix="pingvas-bench-search-"))
    stack = Stack(
        root,
        args=["--only", "gateway,tenants,render,search", "--startup-timeout", "180"],
        env={
            "PINGVAS_MODELS_DIR": str(models),
            "PINGVAS_LOG_LEVEL": "WARNING",
            # the bench polls every 20 ms, well past a tenant's 1200 requests a minute:
            # rate limiting is not what it measures
            "GATEWAY_RATE_LIMIT_TENANT": "1000000/minute",
        },
    )
    created: list[float] = []
    deleted: list[float] = []
    try:
        stack.wait_ready(timeout=240, services=("search", "render-worker"))
        team = Team(stack, "freshness")
        team.entitlements()  # tenant.created has reached render
        for i in tqdm(range(args.samples), desc="samples", unit="image"):
            word = f"probe{uuid.uuid4().hex[:10]}"
            job = team.generate(
                f"{word} 고양이 sample {i}", model="tiny-sd1", width=64, height=64, steps=1
            )
            image_id = None
            deadline = time.monotonic() + 120
            while image_id is None and time.monotonic() < deadline:
                answer = team.http.get(f"/generations/{job['id']}")
                answer.raise_for_status()
                state = answer.json()
                assert state["status"] not in ("failed", "cancelled"), state
                if state["status"] == "completed":
                    image_id = state["image_ids"][0]
                else:
                    time.sleep(POLL_S)
            assert image_id, "the job did not complete"
            image = team.http.get(f"/images/{image_id}")
            image.raise_for_status()
            stored = datetime.fromisoformat(image.json()["created_at"])
            found = _until(lambda i=image_id, w=word: i in _ids(team, w))
            created.append(found - stored.astimezone(UTC).timestamp())

            sent = time.time()
            assert team.http.delete(f"/images/{image_id}").status_code == 204
            gone = _until(lambda i=image_id, w=word: i not in _ids(team, w))
            deleted.append(gone - sent)
    finally:
        stack.stop()

    print(
        f"\nsearch freshness on the local stack ({len(created)} images, polls every {POLL_S * 1000:.0f} ms)"
    )
    ok = True
    for name, values in (("created -> searchable", created), ("deleted -> gone", deleted)):
        p95 = _pct(values, 95)
        verdict = "PASS" if p95 <= TARGET_S else "MISS"
        ok &= p95 <= TARGET_S
        print(
            f"  {name:<22} p50 {statistics.median(values) * 1000:6.0f} ms   "
            f"p95 {p95 * 1000:6.0f} ms   max {max(values) * 1000:6.0f} ms   "
            f"[{verdict}: p95 <= {TARGET_S * 1000:.0f} ms]"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
