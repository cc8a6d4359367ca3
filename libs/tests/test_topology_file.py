"""deploy/terraform/bus-topology.json and access.json are what Terraform builds the
production bus and the workloads' IAM roles from; they must be exactly what the services
declare in code."""

from __future__ import annotations

from pathlib import Path

from pingvas_contracts import discover
from pingvas_kit.bus import build_topology
from pingvas_kit.bus.access import build_access

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


ACCESS_FILE = TOPOLOGY_FILE.parent / "access.json"


def test_committed_access_matches_the_services_declarations() -> None:
    expected = build_access(discover(), prefix="pingvas").to_json()
    assert ACCESS_FILE.read_text() == expected, (
        "deploy/terraform/access.json is stale: run "
        "`uv run pingvas-bus access --out deploy/terraform/access.json`"
    )


def test_the_render_work_queue_and_ses_events_are_in_the_topology() -> None:
    doc = build_topology(discover(), prefix="pingvas").to_dict()
    assert doc["work_queues"]["render-work"] == {
        "owner": "render",
        "queue": "pingvas-render-work",
        "dlq": "pingvas-render-work-dlq",
        "visibility_timeout": 60,
        "max_receive_count": 10,
        "dlq_retention_seconds": 14 * 24 * 3600,
    }
    assert doc["ses_events"]["topic"] == doc["ses_events"]["queue"] == "pingvas-mail-ses-events"
    assert doc["ses_events"]["owner"] == "mail"
