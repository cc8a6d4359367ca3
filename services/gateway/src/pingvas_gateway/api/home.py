"""The placeholder front page, while there is no SPA build: which services are up."""

from __future__ import annotations

from html import escape

from litestar.datastructures import State

from ..adapters.upstreams import UP, upstreams_of


async def status_page(state: State) -> str:
    states = await upstreams_of(state).health()
    rows = "\n".join(
        f'<li><strong>{escape(name)}</strong>: <span class="{"up" if state == UP else "down"}">'
        f"{'up' if state == UP else 'down (' + escape(state) + ')'}</span></li>"
        for name, state in states.items()
    )
    return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Pingvas</title>
<style>body{{font-family:system-ui,sans-serif;margin:3rem}}.up{{color:#16794c}}.down{{color:#b42318}}</style>
</head>
<body>
<h1>Pingvas is running</h1>
<ul>
{rows}
</ul>
</body>
</html>
"""
