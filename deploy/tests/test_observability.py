"""Alerts, dashboards and what provisions them, checked offline: the rules pass promtool's
check and its unit tests (every alert tested firing and not firing, and the tests fail when
a rule is wrong), each alert has its runbook in docs/monitoring.md, every metric the rules
and dashboards name is one the code registers (so they cannot drift from it), every
dashboard query parses, and the Helm chart and docker-compose serve the same files."""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import helm_python
import pytest
import yaml
from deploy_support import DEPLOY, REPO
from prometheus_client import REGISTRY

CHART = DEPLOY / "helm" / "pingvas"
RULES = CHART / "files" / "prometheus" / "pingvas.rules.yml"
DASHBOARDS = sorted((CHART / "files" / "grafana" / "dashboards").glob("*.json"))
RULE_TESTS = sorted((DEPLOY / "observability" / "prometheus" / "tests").glob("*.yml"))
COMPOSE = REPO / "docker-compose.yml"
OPERATIONS = REPO / "docs" / "monitoring.md"
METRIC = re.compile(r"\bpingvas_[a-z0-9_]+\b")
#: the Grafana variables the dashboards use, as their "All" value
VARIABLES = {"$service": ".*", "$consumer": ".*"}

helm_python.disable_logging()


def promtool(*args: str) -> subprocess.CompletedProcess:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is missing: ./pingvas test installs Debian's prometheus package")
    return subprocess.run([path, *args], capture_output=True, text=True, timeout=120)


@cache
def rules() -> dict[str, Any]:
    return yaml.safe_load(RULES.read_text())


def alerts() -> dict[str, dict[str, Any]]:
    return {r["alert"]: r for group in rules()["groups"] for r in group["rules"] if "alert" in r}


def dashboard_exprs() -> list[tuple[str, str, str]]:
    """(dashboard file, panel title, query) for every query of every panel."""
    found = []
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                found.append((path.name, panel["title"], target["expr"]))
    return found


# -- the rules and their unit tests ---------------------------------------------------------


def test_the_rules_pass_promtools_check():
    result = promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(alerts()) >= {
        "PingvasDeadLetterQueueNotEmpty",
        "PingvasOutboxLagging",
        "PingvasRenderJobsWaiting",
        "PingvasHighServerErrorRate",
        "PingvasRenderEngineRestarting",
        "PingvasWebhookDeliveriesFailing",
        "PingvasCreditsReservedNotSettled",
    }


@pytest.mark.parametrize("test_file", RULE_TESTS, ids=lambda p: p.name)
def test_the_alert_unit_tests_pass(test_file: Path):
    result = promtool("test", "rules", str(test_file))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_tested_firing_and_not_firing():
    fired: set[str] = set()
    quiet: set[str] = set()
    for path in RULE_TESTS:
        doc = yaml.safe_load(path.read_text())
        assert [(path.parent / f).resolve() for f in doc["rule_files"]] == [RULES]  # the real rules
        for test in doc["tests"]:
            for case in test.get("alert_rule_test", []):
                (fired if case.get("exp_alerts") else quiet).add(case["alertname"])
    assert fired == set(alerts()), f"never tested firing: {set(alerts()) - fired}"
    assert quiet == set(alerts()), f"never tested quiet: {set(alerts()) - quiet}"


def _mutated(tmp_path: Path, old: str, new: str) -> subprocess.CompletedProcess:
    """The unit tests run against the rules with `old` replaced by `new`."""
    text = RULES.read_text()
    assert old in text
    rules_dir = tmp_path / "helm" / "pingvas" / "files" / "prometheus"
    rules_dir.mkdir(parents=True)
    (rules_dir / RULES.name).write_text(text.replace(old, new))
    tests_dir = tmp_path / "observability" / "prometheus" / "tests"
    tests_dir.mkdir(parents=True)
    for path in RULE_TESTS:
        shutil.copy(path, tests_dir / path.name)
    return promtool("test", "rules", *(str(tests_dir / p.name) for p in RULE_TESTS))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # a DLQ summed over replicas, a threshold off by ten, a guard dropped, a window cut
        (
            "max by (consumer) (pingvas_bus_dead_letter_depth)",
            "sum by (consumer) (pingvas_bus_dead_letter_depth)",
        ),
        ("\n          ) > 0.05\n", "\n          ) > 0.5\n"),
        ("and sum by (service) (rate(pingvas_http_requests_total[5m])) > 0.1", "and vector(1) > 0"),
        (
            "(sum(increase(pingvas_billing_credits_settled_total[2h])) or vector(0))",
            "sum(increase(pingvas_billing_credits_settled_total[2h]))",
        ),
        (
            "increase(pingvas_render_engine_restarts_total[30m])) >= 3",
            "increase(pingvas_render_engine_restarts_total[30m])) >= 1",
        ),
    ],
    ids=["dlq-summed", "5xx-threshold", "5xx-traffic-guard", "billing-no-or-vector", "restarts-1"],
)
def test_the_unit_tests_fail_when_a_rule_is_wrong(tmp_path: Path, old: str, new: str):
    result = _mutated(tmp_path, old, new)
    assert result.returncode != 0, result.stdout
    assert "FAILED" in result.stdout + result.stderr


def test_every_alert_has_a_runbook_in_the_operations_guide():
    guide = OPERATIONS.read_text()
    headings = {m.lower() for m in re.findall(r"^#{2,4} (\S+)\s*$", guide, re.M)}
    for name, rule in alerts().items():
        assert rule["annotations"]["runbook"] == f"docs/monitoring.md#{name.lower()}", name
        assert name.lower() in headings, f"docs/monitoring.md has no section {name}"
        assert rule["labels"]["severity"] in ("critical", "warning", "info"), name


# -- metric names: what the rules and dashboards ask for is what the code registers -----------


def registered_metric_names() -> set[str]:
    """The exposition names of every metric the services, the worker and the kit register:
    each module that builds a metric imports prometheus_client's constructors, so importing
    those (found by reading the sources) registers them all."""
    for src in [REPO / "libs" / "src", *sorted((REPO / "services").glob("*/src"))]:
        for path in src.rglob("*.py"):
            text = path.read_text()
            if re.search(
                r"^from prometheus_client import .*\b(Counter|Gauge|Histogram)\b", text, re.M
            ):
                importlib.import_module(".".join(path.relative_to(src).with_suffix("").parts))
    names: set[str] = set()
    for family in REGISTRY.collect():
        if family.type == "counter":
            names.add(family.name + "_total")
        elif family.type == "histogram":
            names.update(family.name + s for s in ("_bucket", "_count", "_sum"))
        else:
            names.add(family.name)
    return names


def test_every_metric_in_the_rules_and_dashboards_is_registered_by_the_code():
    registered = registered_metric_names()
    # the ones this issue added, so the check itself cannot pass on an empty registry
    assert {
        "pingvas_http_requests_total",
        "pingvas_bus_dead_letter_depth",
        "pingvas_render_job_seconds_bucket",
        "pingvas_render_gpu_memory_bytes",
        "pingvas_billing_credits_settled_total",
    } <= registered
    used = {(RULES.name, name) for name in METRIC.findall(RULES.read_text())}
    used |= {
        (f"{board}: {title}", n) for board, title, e in dashboard_exprs() for n in METRIC.findall(e)
    }
    unknown = sorted(f"{where}: {name}" for where, name in used if name not in registered)
    assert not unknown, "\n".join(unknown)


def test_every_dashboard_query_is_valid_promql(tmp_path: Path):
    """promtool parses each query (as a recording rule), the variables at their "All" value."""
    rules_doc = {"groups": [{"name": "dashboards", "rules": []}]}
    for i, (_board, _title, expr) in enumerate(dashboard_exprs()):
        for var, value in VARIABLES.items():
            expr = expr.replace(var, value)
        assert "$" not in expr, expr
        rules_doc["groups"][0]["rules"].append({"record": f"pingvas:dashboard:q{i}", "expr": expr})
    path = tmp_path / "dashboards.rules.yml"
    path.write_text(yaml.safe_dump(rules_doc))
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_dashboards_are_the_five_and_well_formed():
    names = {p.stem for p in DASHBOARDS}
    assert names == {"overview", "render", "bus", "billing", "webhooks"}
    uids = set()
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        uids.add(board["uid"])
        assert board["title"].startswith("Pingvas / ") and "pingvas" in board["tags"]
        variables = {v["name"]: v for v in board["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)), path.name
        for panel in board["panels"]:
            if panel["type"] == "row":
                continue
            # any Prometheus will do: the one the variable picks (compose's, the cluster's)
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert panel["targets"], (path.name, panel["title"])
    assert len(uids) == len(DASHBOARDS)


# -- provisioned by the chart and by compose -------------------------------------------------


def render(**monitoring: Any) -> list[dict[str, Any]]:
    values = yaml.safe_load((CHART / "values-dev.yaml").read_text())
    values.setdefault("monitoring", {}).update(monitoring)
    out = helm_python.Chart.load(CHART).render(
        values, name="pingvas", namespace="pingvas", is_install=True
    )
    return [doc for text in out.values() for doc in yaml.safe_load_all(text) if doc]


def test_the_chart_ships_the_rules_and_a_configmap_per_dashboard():
    docs = render()
    (rule,) = [d for d in docs if d["kind"] == "PrometheusRule"]
    assert rule["spec"] == rules()  # the file, as is
    # kube-prometheus-stack selects it by the same label as the ServiceMonitors
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    maps = {
        d["metadata"]["name"]: d
        for d in docs
        if d["kind"] == "ConfigMap" and d["metadata"]["labels"].get("grafana_dashboard") == "1"
    }
    assert set(maps) == {f"pingvas-dashboard-{p.stem}" for p in DASHBOARDS}
    for path in DASHBOARDS:
        data = maps[f"pingvas-dashboard-{path.stem}"]["data"]
        assert json.loads(data[f"pingvas-{path.stem}.json"]) == json.loads(path.read_text())


def test_the_chart_leaves_them_out_when_asked():
    docs = render(prometheusRule=False, grafanaDashboards=False)
    assert not [d for d in docs if d["kind"] == "PrometheusRule"]
    assert not [
        d
        for d in docs
        if d["kind"] == "ConfigMap" and "grafana_dashboard" in d["metadata"]["labels"]
    ]


def test_compose_mounts_the_charts_files_and_scrapes_every_service():
    compose = yaml.safe_load(COMPOSE.read_text())["services"]
    mounts = {
        name: {
            v.split(":")[0]: v.split(":")[1] for v in compose[name]["volumes"] if v.startswith("./")
        }
        for name in ("prometheus", "grafana")
    }
    assert mounts["prometheus"]["./deploy/helm/pingvas/files/prometheus"] == "/etc/prometheus/rules"
    assert (
        mounts["grafana"]["./deploy/helm/pingvas/files/grafana/dashboards"]
        == "/var/lib/grafana/dashboards"
    )
    for source in (*mounts["prometheus"], *mounts["grafana"]):
        assert (REPO / source).exists(), source
    config = yaml.safe_load((DEPLOY / "observability" / "compose" / "prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    targets = {
        t for job in config["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]
    }
    # every Pingvas container, at the port it listens on (its health check's)
    for name, service in compose.items():
        check = " ".join(service.get("healthcheck", {}).get("test", []))
        port = re.search(r"http://127\.0\.0\.1:(\d+)/healthz", check)
        if port and service.get("image", "").startswith("pingvas/"):
            assert f"{name}:{port.group(1)}" in targets, name
    result = promtool(
        "check", "config", str(DEPLOY / "observability" / "compose" / "prometheus.yml")
    )
    assert result.returncode == 0, result.stdout + result.stderr
