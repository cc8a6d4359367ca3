"""The public API keeps its OpenAPI contract (issue 17): schemathesis against the merged
document the gateway serves, on the whole local stack, for real.

`pingvas-dev up --no-workers` as a subprocess (every service, SQLite files and moto's bus
as the local run has them; no GPU worker: a generation stays queued, which is all the
contract needs). A verified team with its plan's credits sends every request with its
bearer token through the gateway, so each one goes the whole way: the edge's guards and
limits, the identity, the service, its database. Schemathesis's checks
(`schemathesis.toml` beside this file) must all pass:

- not_a_server_error: no 5xx;
- status_code_conformance, content_type_conformance: every status and content type an
  operation answers is in the document (problem+json for errors);
- positive_data_acceptance, negative_data_rejection: a request the schema allows is not
  refused as malformed (400/422), one it forbids is;
- unsupported_method: an undeclared method on a declared path answers 405 with Allow.

The examples per operation are bounded and derandomized (the same cases every run, about
two minutes on two cores). Run it alone (and see schemathesis's report):

    .venv/bin/pytest services/gateway/tests/e2e/test_api_contract.py -s

Two operations end the credentials they are called with, so each gets a team of its own
(one run each, after the main one): auth/logout (the session is denied at once) and
DELETE tenant (the team is gone)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pingvas_kit.dev.stack import Stack, Team, running_stack

pytestmark = [pytest.mark.timeout(600)]

CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
#: they end the credentials they are called with: a team (and a run) of their own each
SELF_ENDING = ("POST /api/v1/auth/logout", "DELETE /api/v1/tenant")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(
        tmp_path_factory.mktemp("contract-e2e"),
        ["--no-workers", "--startup-timeout", "180"],
        {
            # one client sends a few thousand requests in two minutes: 429 is documented
            # everywhere, but a run answered 429 would test nothing behind the limiter
            f"GATEWAY_RATE_LIMIT_{kind}": "100000/minute"
            for kind in ("TENANT", "API_KEY", "ANONYMOUS", "LOGIN", "PASSWORD_RESET")
        },
        services=("billing", "render", "mail", "search"),
    ) as stack:
        yield stack


def _schemathesis(stack: Stack, team: Team, report: Path, *filters: str) -> tuple[int, str]:
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(CONFIG),
        "--no-color",
        "run",
        f"{stack.url}/api/openapi.json",
        "--url",
        stack.url,
        "--header",
        f"Authorization: {team.http.headers['Authorization']}",
        "--report",
        "junit",
        "--report-dir",
        str(report),
        *filters,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=400)
    return done.returncode, done.stdout + done.stderr


def test_every_operation_keeps_the_documented_contract(
    stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    team = Team(stack, "contract")
    team.entitlements()  # tenant.created has reached render: the team has its credits
    excluded = [arg for op in SELF_ENDING for arg in ("--exclude-name", op)]
    code, output = _schemathesis(stack, team, tmp_path / "main", *excluded)
    with capsys.disabled():
        print(output[-6000:])
    assert code == 0, output[-30000:]


@pytest.mark.parametrize("operation", SELF_ENDING)
def test_operations_that_end_their_credentials_keep_the_contract(
    stack: Stack, tmp_path: Path, operation: str
) -> None:
    team = Team(stack, "ending")
    team.entitlements()
    code, output = _schemathesis(stack, team, tmp_path / "one", "--include-name", operation)
    assert code == 0, output[-30000:]
