"""``pingvas-contracts``: generate, check and release the event contracts.

pingvas-contracts generate       write schemas/*.json and CATALOG.md from the models
pingvas-contracts check          fail (exit 1) on drift, bad declarations, or an
                                 incompatible change against released/
pingvas-contracts release        copy schemas/ into released/ (after the checks)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .base import REGISTRY
from .catalog import CATALOG_FILE, catalog_problems, render_catalog
from .compat import check_compatibility, release
from .schemagen import default_root, generate_schemas, load_schemas, schema_drift, write_schemas
from .services import ServiceSpec, discover_report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pingvas-contracts", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="the contracts/ directory (default: the one this package is installed from)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("generate", help="write schemas/*.json and CATALOG.md from the models")
    sub.add_parser("check", help="drift, declarations and compatibility; exit 1 on a problem")
    rel = sub.add_parser("release", help="copy schemas/ into released/")
    rel.add_argument(
        "--force",
        action="store_true",
        help="release even if incompatible with released/ (only to retire a type "
        "whose consumers have all moved to its next major version)",
    )
    args = parser.parse_args(argv)
    root: Path = (args.root or default_root()).resolve()
    return {"generate": _generate, "check": _check, "release": _release}[args.command](root, args)


def _generate(root: Path, args: argparse.Namespace) -> int:
    changes = write_schemas(root / "schemas")
    specs, load_errors = discover_report()
    for error in load_errors:
        print(f"warning: {error}", file=sys.stderr)
    catalog = root / CATALOG_FILE
    text = render_catalog(specs)
    if not catalog.exists() or catalog.read_text(encoding="utf-8") != text:
        catalog.write_text(text, encoding="utf-8")
        changes.append(f"written {CATALOG_FILE}")
    for change in changes:
        print(change)
    for problem in catalog_problems(specs):
        print(f"warning: {problem}", file=sys.stderr)
    print(
        f"{len(REGISTRY)} event types, {len(specs)} services: "
        f"{len(changes) or 'no'} file(s) changed under {root}"
    )
    return 0


def check(root: Path) -> list[str]:
    """Every problem `pingvas-contracts check` reports for the contracts in `root`."""
    problems = [f"{p} (run `pingvas-contracts generate`)" for p in schema_drift(root / "schemas")]
    specs, load_errors = discover_report()
    problems += load_errors
    problems += catalog_problems(specs)
    problems += _catalog_drift(root, specs)
    problems += [
        f"incompatible: {p}" for p in check_compatibility(root / "released", _current_schemas())
    ]
    return problems


def _check(root: Path, args: argparse.Namespace) -> int:
    problems = check(root)
    if problems:
        print(f"contracts check failed ({len(problems)} problem(s)):", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        if any(p.startswith("incompatible:") for p in problems):
            print(
                "An incompatible change needs a new major version: add a `.v2` model beside "
                "`.v1` (see contracts/README.md).",
                file=sys.stderr,
            )
        return 1
    released = len(load_schemas(root / "released"))
    print(f"contracts OK: {len(REGISTRY)} event types, {released} released schemas")
    return 0


def _release(root: Path, args: argparse.Namespace) -> int:
    drift = schema_drift(root / "schemas")
    if drift:
        print("refusing to release: schemas/ does not match the models:", file=sys.stderr)
        for problem in drift:
            print(f"  - {problem}", file=sys.stderr)
        print("run `pingvas-contracts generate` first", file=sys.stderr)
        return 1
    incompatible = check_compatibility(root / "released", _current_schemas())
    if incompatible and not args.force:
        print("refusing to release incompatible changes:", file=sys.stderr)
        for problem in incompatible:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    changes = release(root / "schemas", root / "released")
    for change in changes:
        print(change)
    print(f"released/ up to date ({len(changes) or 'no'} change(s))")
    return 0


def _current_schemas() -> dict[str, dict]:
    return {name: json.loads(text) for name, text in generate_schemas().items()}


def _catalog_drift(root: Path, specs: dict[str, ServiceSpec]) -> list[str]:
    path = root / CATALOG_FILE
    if not path.exists():
        return [f"{CATALOG_FILE}: missing (run `pingvas-contracts generate`)"]
    if path.read_text(encoding="utf-8") != render_catalog(specs):
        return [f"{CATALOG_FILE}: out of date (run `pingvas-contracts generate`)"]
    return []


if __name__ == "__main__":
    raise SystemExit(main())
