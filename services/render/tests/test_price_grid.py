"""The price the Generate page estimates is the price render charges: the SPA's estimate
(web/src/features/render/params.ts, checked by params.test.ts) and the formula here
(domain/pricing.py) are both held to one grid of models, sizes, steps and counts,
web/src/features/render/price-grid.json. When the formula changes on purpose, rewrite
the grid with `PINGVAS_WRITE_PRICE_GRID=1 pytest services/render/tests/test_price_grid.py`
and the SPA's test then says whether the estimate still agrees."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from pingvas_render.catalog import load_catalog
from pingvas_render.domain.pricing import price

GRID = Path(__file__).parents[3] / "web" / "src" / "features" / "render" / "price-grid.json"
FACTORS = (0.5, 1.0, 1.5, 2.0, 3.0)
SIZES = ((64, 64), (256, 256), (512, 512), (512, 768), (768, 512), (640, 448), (1024, 1024))
SIZES += ((1216, 832), (2048, 2048))
STEPS = (1, 4, 10, 20, 25, 30, 50, 100)
IMAGES = (1, 3)


COLUMNS = ["credit_factor", "width", "height", "steps", "images", "credits"]


def grid() -> list[list[float]]:
    model = next(iter(load_catalog()))
    rows: list[list[float]] = []
    for factor in FACTORS:
        priced = dataclasses.replace(model, credit_factor=factor)
        for width, height in SIZES:
            for steps in STEPS:
                for images in IMAGES:
                    credits = price(priced, width, height, steps, images)
                    rows.append([factor, width, height, steps, images, credits])
    return rows


def test_the_spa_price_grid_is_the_formula_render_charges() -> None:
    rows = grid()
    if os.environ.get("PINGVAS_WRITE_PRICE_GRID"):
        lines = ",\n".join("  " + json.dumps(row) for row in rows)
        text = f'{{"columns": {json.dumps(COLUMNS)},\n "rows": [\n{lines}\n]}}\n'
        GRID.write_text(text, encoding="utf-8")
    assert json.loads(GRID.read_text(encoding="utf-8")) == {"columns": COLUMNS, "rows": rows}
    # the grid is one a wrong estimate fails: prices move with every input
    credits = {row[-1] for row in rows}
    assert len(credits) > 20 and min(credits) == 1
