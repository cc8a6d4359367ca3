"""CATALOG.md rendering and the services' declarations, plus the CLI end to end (on a
temporary copy, with the service declarations stubbed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pingvas_contracts import REGISTRY, ServiceSpec, cli
from pingvas_contracts.catalog import catalog_problems, render_catalog, routes

BILLING = ServiceSpec(
    name="billing",
    context="billing",
    description="Plans, subscriptions and the credit ledger.",
    publishes=("pingvas.billing.credits.granted.v1",),
    consumes=(
        "pingvas.tenants.tenant.created.v1",
        "pingvas.render.job.completed.v1",
        "pingvas.render.job.failed.v1",
    ),
)
MAIL = ServiceSpec(
    name="mail",
    context="mail",
    description="Transactional mail.",
    publishes=("pingvas.mail.sent.v1",),
    consumes=(
        "pingvas.tenants.user.verification_requested.v1",
        "pingvas.billing.credits.granted.v1",
    ),
)
GATEWAY = ServiceSpec(name="gateway", context=None, description="The edge.")
SPECS = {"billing": BILLING, "mail": MAIL, "gateway": GATEWAY}


def section(text: str, type_: str) -> str:
    start = text.index(f"### `{type_}`")
    end = text.find("\n### ", start + 1)
    return text[start:end]


def test_catalog_lists_every_type_grouped_by_context() -> None:
    text = render_catalog(SPECS)
    assert text.startswith("# Pingvas event catalog\n") and text.endswith("\n")
    for type_ in REGISTRY:
        assert f"### `{type_}`" in text
    positions = [text.index(f"\n## {ctx}\n") for ctx in ("tenants", "billing", "render", "mail")]
    assert positions == sorted(positions)
    assert text.index("### `pingvas.tenants.tenant.created.v1`") < positions[1]


def test_catalog_shows_description_fields_producers_and_consumers() -> None:
    text = render_catalog(SPECS)
    granted = section(text, "pingvas.billing.credits.granted.v1")
    assert "Credits were added to the tenant's ledger" in granted
    assert "- producers: billing" in granted
    assert "- consumers: mail" in granted
    assert "| `credits` | integer > 0 | yes | credits added |" in granted
    assert "| `expires_at` | string (date-time) or null | no |" in granted
    assert "`renewal`" in granted  # enum values are listed

    completed = section(text, "pingvas.render.job.completed.v1")
    assert "- producers: —" in completed and "- consumers: billing" in completed

    queued = section(text, "pingvas.render.job.queued.v1")
    assert "| `request.prompt` |" in queued  # nested object fields are flattened

    invited = section(text, "pingvas.tenants.member.invited.v1")
    assert "| `accept_url` |" in invited and "**sensitive**" in invited

    assert "### gateway" in text and "- context: — (publishes nothing)" in text


def test_catalog_is_deterministic_and_escapes_table_cells() -> None:
    assert render_catalog(SPECS) == render_catalog(dict(reversed(SPECS.items())))
    for line in render_catalog(SPECS).splitlines():
        if line.startswith("| `"):
            assert line.replace("\\|", "").count("|") == 5, line


def test_catalog_without_services() -> None:
    text = render_catalog({})
    assert "No service declares its events yet." in text
    assert "- producers: —" in section(text, "pingvas.mail.sent.v1")


def test_routes_map_types_to_services() -> None:
    table = routes(SPECS)
    assert table["pingvas.render.job.failed.v1"] == ([], ["billing"])
    assert table["pingvas.billing.credits.granted.v1"] == (["billing"], ["mail"])
    assert set(table) == set(REGISTRY)


def test_wildcards_are_not_declarations() -> None:
    spec = ServiceSpec(
        name="search", context=None, description="Search.", consumes=("pingvas.render.*",)
    )
    assert catalog_problems({"search": spec}) == [
        "service search consumes 'pingvas.render.*', which is not a registered event type"
    ]
    assert all(consumers == [] for _, consumers in routes({"search": spec}).values())


def test_declarations_are_valid() -> None:
    assert catalog_problems(SPECS) == []


def test_unknown_declared_types_are_errors() -> None:
    bad = ServiceSpec(
        name="search",
        context=None,
        description="Search.",
        consumes=("pingvas.render.image.created.v1", "pingvas.render.image.renamed.v1"),
    )
    assert catalog_problems({"search": bad}) == [
        "service search consumes 'pingvas.render.image.renamed.v1', which is not a "
        "registered event type"
    ]


def test_publishing_another_contexts_type_is_an_error() -> None:
    bad = ServiceSpec(
        name="render",
        context="render",
        description="Render.",
        publishes=("pingvas.billing.credits.granted.v1",),
    )
    assert catalog_problems({"render": bad}) == [
        "service render publishes pingvas.billing.credits.granted.v1 of context 'billing' "
        "but its context is 'render'"
    ]


# -- the CLI ---------------------------------------------------------------------------


@pytest.fixture
def stub_services(monkeypatch: pytest.MonkeyPatch) -> dict[str, ServiceSpec]:
    specs = dict(SPECS)
    errors: list[str] = []
    monkeypatch.setattr(cli, "discover_report", lambda: (dict(sorted(specs.items())), errors))
    return specs


def run(root: Path, *args: str) -> int:
    return cli.main(["--root", str(root), *args])


def test_cli_generate_then_check_passes(
    contracts_copy: Path, stub_services: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(contracts_copy, "generate") == 0
    assert (contracts_copy / "CATALOG.md").read_text() == render_catalog(stub_services)
    assert run(contracts_copy, "check") == 0
    assert "contracts OK" in capsys.readouterr().out


def test_cli_check_reports_every_problem(
    contracts_copy: Path, stub_services: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(contracts_copy, "generate") == 0
    # an incompatible released schema, an orphan schema, a stale catalog, a bad declaration
    released = contracts_copy / "released" / "pingvas.render.job.completed.v1.json"
    schema = json.loads(released.read_text())
    schema["properties"]["gpu_seconds"] = {"type": "number"}
    released.write_text(json.dumps(schema))
    (contracts_copy / "schemas" / "pingvas.render.job.zapped.v1.json").write_text("{}\n")
    stub_services["search"] = ServiceSpec(
        name="search", context=None, description="Search.", consumes=("pingvas.search.nope.v1",)
    )
    capsys.readouterr()

    assert run(contracts_copy, "check") == 1
    err = capsys.readouterr().err
    assert "schemas/pingvas.render.job.zapped.v1.json: no model defines this type" in err
    assert "CATALOG.md: out of date" in err
    assert "'pingvas.search.nope.v1', which is not a registered event type" in err
    assert (
        "incompatible: pingvas.render.job.completed.v1.json: gpu_seconds: property removed" in err
    )
    assert "`.v2`" in err


def test_cli_release_refuses_drift_and_incompatibility(
    contracts_copy: Path, stub_services: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    schemas, released = contracts_copy / "schemas", contracts_copy / "released"
    (schemas / "envelope.json").write_text("{}\n")
    assert run(contracts_copy, "release") == 1
    assert "run `pingvas-contracts generate` first" in capsys.readouterr().err

    assert run(contracts_copy, "generate") == 0
    (released / "pingvas.render.job.retired.v1.json").write_text('{"type": "object"}\n')
    assert run(contracts_copy, "release") == 1
    assert "refusing to release incompatible changes" in capsys.readouterr().err

    assert run(contracts_copy, "release", "--force") == 0
    assert "retired pingvas.render.job.retired.v1.json" in capsys.readouterr().out
    assert run(contracts_copy, "check") == 0


def test_cli_check_reports_services_that_fail_to_load(
    contracts_copy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(
        cli,
        "discover_report",
        lambda: ({}, ["service entry point x (x.manifest:SERVICE) failed to load: boom"]),
    )
    assert run(contracts_copy, "generate") == 0
    assert run(contracts_copy, "check") == 1
    assert "failed to load: boom" in capsys.readouterr().err
