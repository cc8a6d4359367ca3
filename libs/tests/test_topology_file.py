"""deploy/terraform/bus-topology.json is what Terraform will build the production bus
from; it must be exactly the topology the services declare in code."""

from __future__ import annotations

from pathlib import Path

from pingvas_contracts import discover
from pingvas_kit.bus import build_topology

TOPOLOGY_FILE = Path(__file__).resolve().parents[2] / "deploy" / "terraform" / "bus-topology.json"


def test_committed_topology_matches_the_services_declarations() -> None:
    expected = build_topology(discover(), prefix="pingvas").to_json()
    assert TOPOLOGY_FILE.read_text() == expected, (
        "deploy/terraform/bus-topology.json is stale: run "
        "`uv run pingvas-bus topology --out deploy/terraform/bus-topology.json`"
    )


def test_every_consumer_has_a_queue_and_every_subscription_a_topic() -> None:
    topology = build_topology(discover(), prefix="pingvas")
    assert set(topology.consumers) == {"billing", "mail", "render", "search", "tenants"}
    for sub in topology.subscriptions:
        assert sub.context in topology.contexts
        assert all(t.startswith(f"pingvas.{sub.context}.") for t in sub.types)
