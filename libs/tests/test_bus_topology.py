"""The topology built from service specs, and the `pingvas-bus topology` command."""

from __future__ import annotations

import json
from typing import ClassVar

import pytest

from pingvas_contracts import REGISTRY, EventData, ServiceSpec, UnknownEventType
from pingvas_kit.bus import Subscription, build_topology, cli

COMPLETED = "pingvas.render.job.completed.v1"
ALPHA_MADE = "pingvas.alpha.thing.made.v1"
ALPHA_GONE = "pingvas.alpha.thing.gone.v1"


class _AlphaMade(EventData):
    TYPE: ClassVar[str] = ALPHA_MADE
    CONTEXT: ClassVar[str] = "alpha"
    thing_id: str


class _AlphaGone(EventData):
    TYPE: ClassVar[str] = ALPHA_GONE
    CONTEXT: ClassVar[str] = "alpha"
    thing_id: str


@pytest.fixture
def alpha_types(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two extra event types of a made-up context, registered for this test only."""
    monkeypatch.setitem(REGISTRY, ALPHA_MADE, _AlphaMade)
    monkeypatch.setitem(REGISTRY, ALPHA_GONE, _AlphaGone)


def specs() -> dict[str, ServiceSpec]:
    return {
        "render": ServiceSpec("render", "render", "renders", publishes=(COMPLETED,)),
        "alpha": ServiceSpec("alpha", "alpha", "things", publishes=(ALPHA_MADE, ALPHA_GONE)),
        "billing": ServiceSpec("billing", "billing", "credits", consumes=(COMPLETED, ALPHA_MADE)),
        "mail": ServiceSpec("mail", None, "mails", consumes=(ALPHA_GONE, ALPHA_MADE)),
        "quiet": ServiceSpec("quiet", "quiet", "publishes nothing yet"),
        "tenants": ServiceSpec("tenants", "tenants", "nobody listens", publishes=(ALPHA_MADE,)),
    }


def test_groups_subscriptions_by_context_and_consumer(alpha_types: None) -> None:
    topology = build_topology(specs(), prefix="px", max_receive_count=3)

    # a topic per publishing context and per consumed context; none for `quiet`
    assert topology.contexts == ("alpha", "render", "tenants")
    assert topology.consumers == ("billing", "mail")
    assert topology.subscriptions == (
        Subscription(context="alpha", consumer="billing", types=(ALPHA_MADE,)),
        Subscription(context="alpha", consumer="mail", types=(ALPHA_GONE, ALPHA_MADE)),
        Subscription(context="render", consumer="billing", types=(COMPLETED,)),
    )
    assert topology.max_receive_count == 3
    assert [s.context for s in topology.subscriptions_of("billing")] == ["alpha", "render"]


def test_filter_types_are_exactly_what_each_consumer_consumes(alpha_types: None) -> None:
    topology = build_topology(specs())
    filters = {(s.context, s.consumer): set(s.types) for s in topology.subscriptions}
    assert filters == {
        ("alpha", "billing"): {ALPHA_MADE},
        ("alpha", "mail"): {ALPHA_MADE, ALPHA_GONE},
        ("render", "billing"): {COMPLETED},
    }


def test_unknown_consumed_type_is_rejected() -> None:
    bad = {"mail": ServiceSpec("mail", None, "mails", consumes=("pingvas.render.nope.v1",))}
    with pytest.raises(UnknownEventType, match=r"mail consumes unknown event type"):
        build_topology(bad)


def test_names_and_json(alpha_types: None) -> None:
    topology = build_topology(specs(), prefix="px")
    assert topology.topic_name("alpha") == "px-alpha"
    assert topology.queue_name("billing") == "px-billing"
    assert topology.dlq_name("billing") == "px-billing-dlq"
    doc = json.loads(topology.to_json())
    assert doc["topics"]["render"] == "px-render"
    assert doc["queues"]["mail"] == {"queue": "px-mail", "dlq": "px-mail-dlq"}
    assert {"context": "alpha", "consumer": "mail", "types": [ALPHA_GONE, ALPHA_MADE]} in doc[
        "subscriptions"
    ]


def test_empty_topology() -> None:
    topology = build_topology({}, prefix="px")
    assert (topology.contexts, topology.consumers, topology.subscriptions) == ((), (), ())
    assert json.loads(topology.to_json())["subscriptions"] == []


def test_cli_topology_writes_json(
    alpha_types: None, monkeypatch: pytest.MonkeyPatch, tmp_path, capsys
) -> None:
    monkeypatch.setattr(cli, "discover", specs)
    monkeypatch.setenv("PINGVAS_BUS_PREFIX", "envpx")

    assert cli.main(["topology"]) == 0
    assert json.loads(capsys.readouterr().out)["topics"]["alpha"] == "envpx-alpha"

    out = tmp_path / "docs" / "topology.json"
    assert cli.main(["topology", "--prefix", "flagpx", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["queues"]["billing"]["dlq"] == "flagpx-billing-dlq"


def test_cli_reports_a_broken_spec(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    def broken() -> dict[str, ServiceSpec]:
        raise ModuleNotFoundError("No module named 'pingvas_nothing'")

    monkeypatch.setattr(cli, "discover", broken)
    assert cli.main(["topology"]) == 2
    assert "pingvas_nothing" in capsys.readouterr().err


def test_cli_provision_with_no_services(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(cli, "discover", dict)
    assert cli.main(["provision", "--endpoint-url", "http://127.0.0.1:9"]) == 0
    assert "nothing to provision" in capsys.readouterr().out
