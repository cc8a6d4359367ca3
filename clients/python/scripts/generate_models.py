"""Regenerate src/pingvas_client/models.py from the merged OpenAPI document.

    .venv/bin/python clients/python/scripts/generate_models.py          # write it
    .venv/bin/python clients/python/scripts/generate_models.py --check  # exit 1 on drift

datamodel-code-generator (pinned in the root pyproject's dev group) writes pydantic v2
models; the test tests/test_models_current.py runs the same function and fails when the
committed file differs."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGE = HERE.parent
REPO = PACKAGE.parents[1]
OPENAPI = REPO / "docs" / "api" / "openapi.json"
MODELS = PACKAGE / "src" / "pingvas_client" / "models.py"

ARGS = [
    "--input-file-type",
    "openapi",
    "--output-model-type",
    "pydantic_v2.BaseModel",
    "--target-python-version",
    "3.11",
    "--use-standard-collections",
    "--use-union-operator",
    "--use-annotated",
    "--field-constraints",
    "--use-schema-description",
    "--use-field-description",
    "--disable-timestamp",
    "--type-mappings",
    "string+email=string",
    "--formatters",
    "ruff-format",
    "--enum-field-as-literal",
    "all",
    "--custom-file-header",
    '"""Pydantic models of the Pingvas API, GENERATED from docs/api/openapi.json by\n'
    'datamodel-code-generator: do not edit; run clients/python/scripts/generate_models.py."""',
]


def generate(openapi: Path = OPENAPI) -> str:
    """The models module the generator writes for `openapi`, as text."""
    codegen = Path(sys.executable).with_name("datamodel-codegen")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "models.py"
        subprocess.run(
            [str(codegen), "--input", str(openapi), "--output", str(out), *ARGS],
            check=True,
            cwd=tmp,
        )
        # then the repository's own ruff settings (line length, import order), so that the
        # committed file passes the gate as it is
        ruff = [
            str(Path(sys.executable).with_name("ruff")),
            "--config",
            str(REPO / "pyproject.toml"),
        ]
        subprocess.run([*ruff[:1], "check", "--fix", "--quiet", *ruff[1:], str(out)], check=True)
        subprocess.run([*ruff[:1], "format", "--quiet", *ruff[1:], str(out)], check=True)
        return out.read_text()


def main(argv: list[str]) -> int:
    text = generate()
    if "--check" in argv:
        if MODELS.read_text() != text:
            print(f"{MODELS} is stale: run {Path(__file__).relative_to(REPO)}", file=sys.stderr)
            return 1
        return 0
    MODELS.write_text(text)
    print(f"wrote {MODELS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
