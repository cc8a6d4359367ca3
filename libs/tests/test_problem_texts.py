"""Every stable code an API answer can carry has a Korean and an English text in the SPA.

The codes are collected twice: from the registry (pingvas_kit.problems.CODES and
FIELD_CODES, after importing every service, whose error classes and modules register
theirs) and from the services' sources (a literal code at a raise site, an error class's
`kind`, a problem_response's `type_`/`code`), so that a code written at a raise site and
never registered is found too. The texts are the keys `problem.<code>` and
`problem.field.<code>` of web/src/i18n/{en,ko}.ts.
"""

from __future__ import annotations

import ast
import functools
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pingvas_kit import problems

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "libs" / "src", *sorted((ROOT / "services").glob("*/src"))]
CATALOGS = ("en", "ko")
#: where codes name why a job failed (the job's `error.code`), not an answer of the API
NOT_ANSWERS = ("pingvas_render/worker", "pingvas_render/engine")
SERVICES = ("gateway", "tenants", "billing", "render", "mail", "search")

#: calls whose `code=` / `type_=` is the code of the problem they make
_PROBLEM_CALLS = {"problem", "problem_response", "CodedHTTPException"}
_CODE = re.compile(r"^[a-z][a-z0-9]*(?:[_-][a-z0-9]+)*$")


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _text(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _calls_codes(call: ast.Call, *, raised: bool) -> set[str]:
    """The codes one call names: `code=`/`type_=` of a problem or a raised error,
    CodedHTTPException's second argument, `extra={"code": ...}` of a raised one."""
    found: set[str] = set()
    name = _name(call.func)
    if not raised and name not in _PROBLEM_CALLS:
        return found
    for keyword in call.keywords:
        if keyword.arg in ("code", "type_") and (text := _text(keyword.value)):
            found.add(text)
        if keyword.arg == "extra" and isinstance(keyword.value, ast.Dict):
            for key, value in zip(keyword.value.keys, keyword.value.values, strict=True):
                if _text(key) == "code" and (text := _text(value)):
                    found.add(text)
    if name == "CodedHTTPException" and len(call.args) >= 2 and (text := _text(call.args[1])):
        found.add(text)
    return found


def _class_kinds(node: ast.ClassDef) -> set[str]:
    """`kind = "x"` or `status, title, kind = 404, "Not Found", "x"` in an error class."""
    found: set[str] = set()
    for statement in node.body:
        if not isinstance(statement, ast.Assign):
            continue
        for target in statement.targets:
            if isinstance(target, ast.Name) and target.id == "kind":
                if text := _text(statement.value):
                    found.add(text)
            elif isinstance(target, ast.Tuple) and isinstance(statement.value, ast.Tuple):
                for element, value in zip(target.elts, statement.value.elts, strict=False):
                    if isinstance(element, ast.Name) and element.id == "kind":
                        if text := _text(value):
                            found.add(text)
    return found


def source_codes(roots: list[Path]) -> dict[str, str]:
    """Each code written in the sources under `roots`, with where (file:line)."""
    found: dict[str, str] = {}
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            if any(part in path.as_posix() for part in NOT_ANSWERS):
                continue
            tree = ast.parse(path.read_text(), filename=str(path))
            raised = {
                id(node.exc)
                for node in ast.walk(tree)
                if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)
            }
            for node in ast.walk(tree):
                codes: set[str] = set()
                if isinstance(node, ast.ClassDef):
                    codes = _class_kinds(node)
                elif isinstance(node, ast.Call):
                    codes = _calls_codes(node, raised=id(node) in raised)
                for code in codes:
                    found.setdefault(code, f"{path}:{node.lineno}")
    return found


_REGISTERED = """
import importlib, json, sys
from pingvas_kit import problems
for service in sys.argv[1:]:
    importlib.import_module(f"pingvas_{service}.app")
print(json.dumps([sorted(problems.CODES), sorted(problems.FIELD_CODES)]))
"""


@functools.cache
def registered_codes() -> tuple[frozenset[str], frozenset[str]]:
    """What the services register, in a fresh interpreter: in this one, other tests'
    own error classes (registered as they are defined) would count too."""
    out = subprocess.run(
        [sys.executable, "-c", _REGISTERED, *SERVICES],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=120,
    ).stdout
    codes, field_codes = json.loads(out.strip().splitlines()[-1])
    return frozenset(codes), frozenset(field_codes)


def catalog_keys(path: Path) -> set[str]:
    """The message keys of one of web/src/i18n's catalogs."""
    return set(re.findall(r"^\s*'([^']+)':", path.read_text(), flags=re.MULTILINE))


def missing_texts(i18n: Path) -> list[str]:
    codes, field_codes = registered_codes()
    codes = codes | set(source_codes(SOURCES))
    missing = []
    for catalog in CATALOGS:
        keys = catalog_keys(i18n / f"{catalog}.ts")
        missing += [f"{catalog}: problem.{c}" for c in sorted(codes) if f"problem.{c}" not in keys]
        # a field's code has its own text, or the text of the same problem without a field
        missing += [
            f"{catalog}: problem.field.{c}"
            for c in sorted(field_codes)
            if f"problem.field.{c}" not in keys and f"problem.{c}" not in keys
        ]
    return missing


def test_every_code_the_api_can_return_has_a_korean_and_an_english_text():
    assert missing_texts(ROOT / "web" / "src" / "i18n") == []


def test_the_sources_and_the_registry_name_the_codes_people_meet():
    written = source_codes(SOURCES)
    # an error class's kind, a refusal of the gateway, a coded raise in a service
    for code in ("out-of-credits", "csrf_failed", "email-not-verified", "wrong-credentials"):
        assert code in written
    codes, field_codes = registered_codes()
    # constants registered where they are defined (the gateway's, the webhook URL checks')
    assert {"session_revoked", "invalid_token", "webhook_url_forbidden", "last-owner"} <= codes
    assert {"too-short", "missing", "not-one-of", "out-of-range"} <= field_codes
    assert all(_CODE.match(code) for code in codes | set(written) | field_codes)


def test_a_code_without_a_korean_text_fails_the_check(tmp_path):
    i18n = tmp_path / "i18n"
    shutil.copytree(ROOT / "web" / "src" / "i18n", i18n)
    ko = i18n / "ko.ts"
    text = ko.read_text()
    assert "'problem.out-of-credits':" in text
    ko.write_text(text.replace("'problem.out-of-credits':", "'problem.out-of-credits-x':"))
    assert missing_texts(i18n) == ["ko: problem.out-of-credits"]


def test_a_field_code_without_an_english_text_fails_the_check(tmp_path):
    i18n = tmp_path / "i18n"
    shutil.copytree(ROOT / "web" / "src" / "i18n", i18n)
    en = i18n / "en.ts"
    en.write_text(en.read_text().replace("'problem.field.too-short':", "'x':"))
    assert missing_texts(i18n) == ["en: problem.field.too-short"]


def test_a_code_raised_in_a_service_and_never_registered_is_found(tmp_path):
    source = tmp_path / "svc"
    source.mkdir()
    (source / "api.py").write_text(
        "def route():\n"
        "    raise CodedHTTPException(409, 'name-taken', 'Taken.')\n"
        "def other():\n"
        "    raise Conflict('Taken.', code='team-name-taken')\n"
        "class Late(DomainError):\n"
        "    status, title, kind = 409, 'Conflict', 'too-late'\n"
        "def not_a_problem():\n"
        "    finish(row, 'failed', code='worker_lost')\n"
    )
    assert set(source_codes([source])) == {"name-taken", "team-name-taken", "too-late"}


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 429, 500, 503])
def test_a_status_only_problem_carries_a_named_code(status):
    body = problems.problem(status, "x")
    assert body["code"] == problems.STATUS_CODES[status] and not body["code"].isdigit()
    assert body["type"] == problems.PROBLEM_BASE + body["code"]
