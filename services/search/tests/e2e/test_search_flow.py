"""Search on the whole local stack, for real (issue 7, "Must show").

`pingvas-dev up --only gateway,tenants,render,search` as a subprocess, with render's worker
and its InvokeAI engine on the CPU (the tiny SD-1 model). Through the gateway, as the SPA
or a partner would:

- images generated from a Korean and an English prompt about a cat are both found by
  "고양이" and by "cats" (the lexicon joins the languages), by their own team only; a
  deleted one is gone;
- `pingvas-search reindex` rebuilds the index from render while the service runs, and
  searches find the same afterwards;
- an operator granted with `pingvas-tenants operator grant` sees the team in the
  tenant directory; a team owner does not.

SLOW: about 1-2 minutes, most of it the engine starting."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pingvas_render.engine.testing import ensure_tiny_model

from pingvas_kit.dev.stack import REPO, SCRUB, Stack, Team, running_stack

pytestmark = [pytest.mark.timeout(600)]

MODELS = REPO / "var" / "models"
SMALL = {"model": "tiny-sd1", "width": 64, "height": 64, "steps": 2, "cfg_scale": 7.5}
KO = "귀여운 고양이들이 노는 사진"
EN = "a cat on a sofa"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    ensure_tiny_model(MODELS)
    with running_stack(
        tmp_path_factory.mktemp("search-e2e"),
        ["--only", "gateway,tenants,render,search", "--startup-timeout", "180"],
        {"PINGVAS_MODELS_DIR": str(MODELS)},
        services=("search", "render-worker"),
    ) as stack:
        yield stack


def _completed(team: Team, job_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = team.http.get(f"/generations/{job_id}").json()
        if job["status"] in ("completed", "failed", "cancelled"):
            assert job["status"] == "completed", job
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish in {timeout:g} s")


def _found(team: Team, q: str) -> list[str]:
    r = team.http.get("/search/images", params={"q": q})
    assert r.status_code == 200, r.text
    return [item["prompt"] for item in r.json()["items"]]


def _eventually(check: Any, what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _cli(stack: Stack, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in SCRUB}
    return subprocess.run(
        [str(Path(sys.executable).with_name(args[0])), *args[1:]],
        env={**base, "NO_COLOR": "1", **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def teams(stack: Stack) -> dict[str, Any]:
    team, other = Team(stack, "searchers"), Team(stack, "others")
    ko = team.generate(KO, **SMALL)
    en = team.generate(EN, **SMALL)
    images = {
        KO: _completed(team, ko["id"])["image_ids"][0],
        EN: _completed(team, en["id"])["image_ids"][0],
    }
    return {"team": team, "other": other, "images": images}


def test_generated_images_are_found_in_korean_and_english_by_their_team_only(teams):
    team, other = teams["team"], teams["other"]
    _eventually(lambda: set(_found(team, "고양이")) == {KO, EN}, "the prompts to be searchable")
    assert set(_found(team, "cats")) == {KO, EN}
    # highlighted, with URLs the browser can load
    items = team.http.get("/search/images", params={"q": "cats"}).json()["items"]
    (item,) = [i for i in items if i["prompt"] == EN]
    assert [s["text"] for s in item["highlight"] if s["match"]] == ["cat"]
    assert httpx.get(item["thumbnail_url"], timeout=10).status_code == 200
    suggestions = team.http.get("/search/suggest", params={"q": "고양"}).json()["items"]
    assert [s["prompt"] for s in suggestions] == [KO]
    # the other team: nothing, whatever it types
    for q in ("고양이", "cats", "cat", "*", '" OR 1=1 --'):
        assert _found(other, q) == [], q
    assert other.http.get("/search/suggest", params={"q": "고"}).json()["items"] == []


def test_reindex_rebuilds_from_render_while_the_service_runs(stack, teams):
    team = teams["team"]
    _eventually(lambda: _found(team, "sofa") == [EN], "the English prompt to be searchable")
    env = {
        "SEARCH_VAR_DIR": str(stack.var),
        "SEARCH_RENDER_URL": stack.service_url("render") or "",
        "SEARCH_LOG_JSON": "false",
    }
    done = _cli(stack, "pingvas-search", "reindex", "--no-progress", **env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "reindexed 2 images into g2" in done.stdout, done.stdout
    status = _cli(stack, "pingvas-search", "status", "--json", **env)
    assert status.returncode == 0, status.stderr
    assert '"read": ["g2"]' in status.stdout and '"documents": 2' in status.stdout
    # the running service reads the new generation and still writes to it
    assert set(_found(team, "고양이")) == {KO, EN} and _found(team, "sofa") == [EN]


def test_a_deleted_image_is_gone(teams):
    team = teams["team"]
    assert team.http.delete(f"/images/{teams['images'][EN]}").status_code == 204
    _eventually(lambda: _found(team, "sofa") == [], "the deleted image to be gone")
    assert _found(team, "고양이") == [KO] and _found(team, "cats") == [KO]


def test_an_operator_sees_the_tenant_directory(stack, teams):
    team, other = teams["team"], teams["other"]
    assert team.http.get("/admin/tenants").status_code == 403
    granted = _cli(
        stack, "pingvas-tenants", "operator", "grant", team.email, TENANTS_VAR_DIR=str(stack.var)
    )
    assert granted.returncode == 0, granted.stdout + granted.stderr
    team.log_in()
    r = team.http.get("/admin/tenants", params={"q": other.email})
    assert r.status_code == 200, r.text
    (row,) = r.json()["items"]
    assert row["name"] == "others" and row["plan"] == "free" and row["status"] == "active"
    assert other.http.get("/admin/tenants").status_code == 403
