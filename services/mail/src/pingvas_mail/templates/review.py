"""Render every mail template in every locale with sample data, for review in a browser.

`pingvas-mail render-templates OUT` (or `python -m pingvas_mail.templates.review OUT`)
writes `OUT/<template>.<locale>.html` and `.txt` and `OUT/index.html` linking them."""

from __future__ import annotations

import sys
from pathlib import Path

from markupsafe import escape

from . import LOCALES, TEMPLATES, render_samples


def main(out_dir: str | Path) -> Path:
    """Write the rendered samples under `out_dir` (created if needed); return the index."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rendered = render_samples()
    rows = []
    for template, category in TEMPLATES.items():
        cells = []
        for locale in LOCALES:
            mail = rendered[template, locale]
            stem = f"{template}.{locale}"
            (out / f"{stem}.html").write_text(mail.html, encoding="utf-8")
            (out / f"{stem}.txt").write_text(mail.text, encoding="utf-8")
            cells.append(
                f'<td><a href="{stem}.html">HTML</a> · <a href="{stem}.txt">text</a>'
                f"<br><small>{escape(mail.subject)}</small></td>"
            )
        rows.append(f"<tr><th>{template}</th><td>{category}</td>{''.join(cells)}</tr>")
    head = "".join(f"<th>{locale}</th>" for locale in LOCALES)
    index = out / "index.html"
    index.write_text(
        f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Pingvas mail templates</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #ddd; padding: .5rem .75rem; text-align: left; vertical-align: top; }}
small {{ color: #555; }}
</style></head>
<body>
<h1>Pingvas mail templates</h1>
<p>Every template in every locale, rendered with the sample context (SAMPLES).</p>
<table>
<tr><th>template</th><th>category</th>{head}</tr>
{chr(10).join(rows)}
</table>
</body></html>
""",
        encoding="utf-8",
    )
    return index


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m pingvas_mail.templates.review OUT_DIR")
    print(main(sys.argv[1]))
