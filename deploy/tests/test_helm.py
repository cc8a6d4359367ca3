"""The Helm chart (deploy/helm/pingvas), rendered offline with helm-python-sdk (Helm
embedded, no binary, no cluster) for the dev and the prod values, and checked the way a
cluster would take it: helm lint, the Kubernetes schemas (kubernetes-validate --strict;
the CRDs' schemas vendored in deploy/schemas/crds), checkov, and what each workload needs
to start in production, reach and be reached by."""

from __future__ import annotations

import copy
import importlib
import ipaddress
import json
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from typing import Any

import helm_python
import jsonschema
import kubernetes_validate
import pytest
import yaml
from deploy_support import DEPLOY, REPO, run_checkov

CHART = DEPLOY / "helm" / "pingvas"
CRD_SCHEMAS = DEPLOY / "schemas" / "crds"
ENVS = ("dev", "prod")
KUBERNETES_VERSION = "1.33.0"  # the EKS version deploy/terraform asks for
NAMESPACE = "pingvas"
SERVICES = ("gateway", "tenants", "billing", "render", "mail", "search")
WORKLOADS = (*SERVICES, "render-worker")
#: the settings class each workload starts with
SETTINGS = {
    **{name: (f"pingvas_{name}.settings", "Settings") for name in SERVICES},
    "render-worker": ("pingvas_render.worker.settings", "WorkerSettings"),
}

helm_python.disable_logging()


def values_of(env: str) -> dict[str, Any]:
    return yaml.safe_load((CHART / f"values-{env}.yaml").read_text())


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    chart = helm_python.Chart.load(CHART)
    out = chart.render(values, name="pingvas", namespace=NAMESPACE, is_install=True)
    return [doc for text in out.values() for doc in yaml.safe_load_all(text) if doc]


@cache
def rendered(env: str) -> tuple[dict[str, Any], ...]:
    return tuple(render(values_of(env)))


def find(docs: Any, kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [
        d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)
    ]


def one(docs: Any, kind: str, name: str) -> dict[str, Any]:
    found = find(docs, kind, name)
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["spec"]["template"]["spec"]


def container_env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e for e in container.get("env", [])}


# -- rendering, lint and schemas ----------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_chart_lints_clean_with_each_environment(env):
    report = helm_python.lint(CHART, values_of(env), strict=True, namespace=NAMESPACE)
    assert report["errors"] == [] and report["messages"] == [], report


def test_lint_is_real_a_missing_value_is_an_error():
    values = values_of("dev")
    del values["image"]["tag"]
    with pytest.raises(helm_python.HelmError, match="image.tag is required"):
        render(values)


@pytest.mark.parametrize("env", ENVS)
def test_every_workload_is_rendered(env):
    docs = rendered(env)
    for name in WORKLOADS:
        one(docs, "Deployment", name)
        one(docs, "Service", name)
        one(docs, "ServiceAccount", name)
        one(docs, "ServiceMonitor", name)
        one(docs, "PodDisruptionBudget", name)
        one(docs, "ExternalSecret", f"pingvas-{name}")
    assert all(d["metadata"].get("namespace") == NAMESPACE for d in docs)


def _strict(schema: Any) -> Any:
    """A CRD's openAPIV3Schema, made as strict as kubernetes-validate --strict makes the
    built-in kinds: an object with declared properties takes no others (unless the CRD
    itself says it preserves unknown fields)."""
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if (
            "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


@cache
def crd_validator(kind: str, api_version: str) -> jsonschema.Validator:
    group, version = api_version.split("/")
    path = CRD_SCHEMAS / f"{kind.lower()}-{group}-{version}.json"
    assert path.exists(), f"no vendored schema for {kind} {api_version} ({path.name})"
    schema = _strict(json.loads(path.read_text()))
    # metadata is the API server's ObjectMeta, which the CRD schema leaves open
    schema.setdefault("properties", {})["metadata"] = {"type": "object"}
    return jsonschema.Draft7Validator(schema)


@pytest.mark.parametrize("env", ENVS)
def test_every_manifest_passes_the_kubernetes_schemas_strictly(env):
    failures = []
    for doc in rendered(env):
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        if "." in doc["apiVersion"].split("/")[0] and not doc["apiVersion"].endswith(".k8s.io/v1"):
            errors = list(crd_validator(doc["kind"], doc["apiVersion"]).iter_errors(doc))
            failures += [f"{name}: {'/'.join(map(str, e.path))}: {e.message}" for e in errors]
            continue
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            failures.append(f"{name}: {exc.message}")
    assert not failures, "\n".join(failures)


def test_the_crd_check_rejects_a_misspelt_field():
    scaled = dict(one(rendered("dev"), "ScaledObject", "render-worker"))
    scaled["spec"] = dict(scaled["spec"]) | {"maxReplicas": 3}  # it is maxReplicaCount
    errors = list(crd_validator("ScaledObject", scaled["apiVersion"]).iter_errors(scaled))
    assert any("maxReplicas" in e.message for e in errors)


def test_checkov_passes_on_the_rendered_manifests(checkov, tmp_path):
    for env in ENVS:
        (tmp_path / f"{env}.yaml").write_text(yaml.safe_dump_all(rendered(env)))
    result = run_checkov(checkov, ["-d", str(tmp_path), "--framework", "kubernetes"])
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "Passed checks" in result.stdout


def test_checkov_catches_a_privileged_container(checkov, tmp_path):
    """The check above can fail: the same manifests with one container made privileged
    and run as root do not pass."""
    gateway = copy.deepcopy(one(rendered("prod"), "Deployment", "gateway"))
    gateway["spec"]["template"]["spec"]["containers"][0]["securityContext"] = {
        "privileged": True,
        "runAsUser": 0,
    }
    (tmp_path / "prod.yaml").write_text(yaml.safe_dump_all([gateway]))
    result = run_checkov(checkov, ["-d", str(tmp_path), "--framework", "kubernetes"])
    assert result.returncode != 0
    assert "CKV_K8S_16" in result.stdout  # "Container should not be privileged"


@pytest.mark.parametrize("env", ENVS)
def test_every_checkov_skip_says_why(env):
    skips = [
        (f"{doc['kind']}/{doc['metadata']['name']}", value)
        for doc in rendered(env)
        for key, value in (doc["metadata"].get("annotations") or {}).items()
        if key.startswith("checkov.io/skip")
    ]
    assert skips, "the chart documents its skips"
    for where, value in skips:
        check, _, reason = value.partition("=")
        assert check.startswith("CKV_"), f"{where}: {value}"
        assert len(reason.split()) >= 4, f"{where}: skip {check} without a reason"


# -- pods: security, probes, the worker ---------------------------------------------------


def pod_specs(docs: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    for doc in docs:
        if doc["kind"] in ("Deployment", "Job"):
            yield f"{doc['kind']}/{doc['metadata']['name']}", pod_spec(doc)


@pytest.mark.parametrize("env", ENVS)
def test_every_pod_runs_restricted(env):
    for name, spec in pod_specs(rendered(env)):
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] >= 10000, name
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert spec["automountServiceAccountToken"] is False, name
        for c in spec.get("initContainers", []) + spec["containers"]:
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, (name, c["name"])
            assert sc["readOnlyRootFilesystem"] is True, (name, c["name"])
            assert sc["capabilities"]["drop"] == ["ALL"], (name, c["name"])
            assert "limits" in c["resources"] and "requests" in c["resources"], (name, c["name"])


#: the tracing pods (templates/tracing.yaml): published images, at the tags in values
TRACING = {"otel-collector": "collector", "jaeger": "jaeger"}


@pytest.mark.parametrize("env", ENVS)
def test_images_come_from_the_environments_registry_at_one_tag(env):
    values = values_of(env)
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    for name, spec in pod_specs(rendered(env)):
        workload = name.split("/", 1)[1]
        if workload in TRACING:
            (c,) = spec["containers"]
            assert c["image"] == defaults["tracing"][TRACING[workload]]["image"], name
            continue
        for c in spec["containers"]:
            registry, _, rest = c["image"].partition("/pingvas/")
            assert registry == values["image"]["registry"], (name, c["image"])
            assert rest.endswith(f":{values['image']['tag']}"), (name, c["image"])


@pytest.mark.parametrize("env", ENVS)
def test_the_gpu_worker_gets_a_gpu_time_to_start_and_to_drain(env):
    docs = rendered(env)
    spec = pod_spec(one(docs, "Deployment", "render-worker"))
    worker = next(c for c in spec["containers"] if c["name"] == "worker")
    assert worker["resources"]["limits"]["nvidia.com/gpu"] >= 1
    assert spec["nodeSelector"] == {"pingvas.io/node-pool": "gpu"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec[
        "tolerations"
    ]
    probe = worker["startupProbe"]
    assert probe["periodSeconds"] * probe["failureThreshold"] >= 5 * 60
    drain = float(container_env(worker)["RENDER_WORKER_DRAIN_TIMEOUT_S"]["value"])
    assert spec["terminationGracePeriodSeconds"] > drain
    # the weights come from the models bucket, read-only in the worker
    mounts = {m["mountPath"]: m for m in worker["volumeMounts"]}
    assert mounts["/models"]["readOnly"] is True
    (sync,) = spec["initContainers"]
    assert sync["args"][0].startswith(f"s3://pingvas-{env}-models-")


@pytest.mark.parametrize("env", ENVS)
def test_keda_scales_the_workers_from_zero_on_renders_backlog(env):
    docs = rendered(env)
    values = values_of(env)
    scaled = one(docs, "ScaledObject", "render-worker")["spec"]
    assert scaled["scaleTargetRef"]["name"] == "render-worker"
    assert scaled["minReplicaCount"] == 0
    assert scaled["maxReplicaCount"] == values["worker"]["maxReplicas"]
    (trigger,) = scaled["triggers"]
    assert trigger["type"] == "prometheus"
    query = trigger["metadata"]["query"]
    # the backlog the dispatcher holds back, plus what the workers have: both gauges
    assert "pingvas_render_jobs_pending" in query and "pingvas_render_jobs_in_flight" in query
    assert int(trigger["metadata"]["threshold"]) == values["worker"]["rowsPerWorker"]
    # the gauges' names are render's own (a rename would silently stop the scaling)
    source = (REPO / "services/render/src/pingvas_render/usecases/dispatcher.py").read_text()
    assert '"pingvas_render_jobs_pending"' in source and '"pingvas_render_jobs_in_flight"' in source
    # the worker's Deployment leaves the count to KEDA
    assert "replicas" not in one(docs, "Deployment", "render-worker")["spec"]


def promtool_evaluates(query: str, series: dict[str, int], expected: float, tmp: Any) -> bool:
    """Whether Prometheus's own rule tester evaluates `query` over constant `series` to
    `expected` (promtool, from Debian's prometheus package)."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: ./pingvas test installs Debian's prometheus package")
    test = {
        "rule_files": [],
        "evaluation_interval": "15s",
        "tests": [
            {
                "interval": "15s",
                "input_series": [
                    {"series": name, "values": f"{value}x8"} for name, value in series.items()
                ],
                "promql_expr_test": [
                    {
                        "expr": query,
                        "eval_time": "1m",
                        "exp_samples": [{"labels": "{}", "value": expected}],
                    }
                ],
            }
        ],
    }
    path = tmp / "keda-query.test.yml"
    path.write_text(yaml.safe_dump(test))
    result = subprocess.run(
        [promtool, "test", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    return result.returncode == 0


def test_kedas_query_counts_each_job_once_however_many_render_replicas_report_it(tmp_path):
    """Three render replicas each report the database-wide gauges (20 queued, 5 running):
    Prometheus evaluates the chart's query to 25, the real backlog, so KEDA asks for
    ceil(25 / rowsPerWorker) workers; a query that summed the replicas would ask for three
    times that (and the same check says so)."""
    query = one(rendered("prod"), "ScaledObject", "render-worker")["spec"]["triggers"][0][
        "metadata"
    ]["query"]
    series = {}
    for pod in ("render-a", "render-b", "render-c"):
        series[f'pingvas_render_jobs_pending{{namespace="pingvas", pod="{pod}"}}'] = 20
        series[f'pingvas_render_jobs_in_flight{{namespace="pingvas", pod="{pod}"}}'] = 5
    assert promtool_evaluates(query, series, 25, tmp_path)
    summed = query.replace("max(", "sum(")
    assert not promtool_evaluates(summed, series, 25, tmp_path)
    # nothing queued, nothing running: zero, and KEDA scales the workers to zero
    idle = {name: 0 for name in series}
    assert promtool_evaluates(query, idle, 0, tmp_path)
    # another namespace's render (a second release in the cluster) is not counted
    other = series | {'pingvas_render_jobs_pending{namespace="staging", pod="render-x"}': 500}
    assert promtool_evaluates(query, other, 25, tmp_path)


def test_prod_autoscales_the_api_services_and_dev_runs_one_of_each():
    prod, dev = rendered("prod"), rendered("dev")
    for name in SERVICES:
        hpa = one(prod, "HorizontalPodAutoscaler", name)["spec"]
        assert hpa["scaleTargetRef"]["name"] == name and hpa["minReplicas"] >= 2
        assert "replicas" not in one(prod, "Deployment", name)["spec"]
        assert one(dev, "Deployment", name)["spec"]["replicas"] == 1
    assert not find(dev, "HorizontalPodAutoscaler")


# -- migrations -------------------------------------------------------------------------


def hook(doc: dict[str, Any]) -> tuple[set[str], int]:
    annotations = doc["metadata"].get("annotations", {})
    return set(annotations.get("helm.sh/hook", "").split(",")) - {""}, int(
        annotations.get("helm.sh/hook-weight", "0")
    )


@pytest.mark.parametrize("env", ENVS)
def test_migrations_run_before_install_and_upgrade_after_the_roles_exist(env):
    docs = rendered(env)
    with_schema = sorted(
        p.parent.name.removeprefix("pingvas_")
        for p in REPO.glob("services/*/src/pingvas_*/migrations")
    )
    assert with_schema == ["billing", "mail", "render", "search", "tenants"]
    bootstrap_when, bootstrap_weight = hook(one(docs, "Job", "db-bootstrap"))
    assert bootstrap_when == {"pre-install", "pre-upgrade"}
    for name in with_schema:
        job = one(docs, "Job", f"migrate-{name}")
        when, weight = hook(job)
        assert when == {"pre-install", "pre-upgrade"} and weight > bootstrap_weight, name
        (c,) = pod_spec(job)["containers"]
        assert c["command"] == ["python", "-m", f"pingvas_{name}", "migrate"]
        # the Deployment does not migrate again
        (svc,) = pod_spec(one(docs, "Deployment", name))["containers"]
        assert container_env(svc)[f"{name.upper()}_RUN_MIGRATIONS"]["value"] == "false"
    # a hook runs before the release's own objects exist: everything a hook pod uses is a
    # hook too, created earlier (lower weight)
    hooks = {(d["kind"], d["metadata"]["name"]): hook(d) for d in docs if hook(d)[0]}
    for job in find(docs, "Job"):
        _, weight = hook(job)
        spec = pod_spec(job)
        account = hooks.get(("ServiceAccount", spec["serviceAccountName"]))
        assert account and account[1] < weight, job["metadata"]["name"]
        for c in spec["containers"]:
            refs = [
                e["valueFrom"]["secretKeyRef"]["name"] for e in c.get("env", []) if "valueFrom" in e
            ]
            refs += [e["secretRef"]["name"] for e in c.get("envFrom", [])]
            for ref in refs:
                source = hooks.get(("ExternalSecret", ref))
                assert source and source[1] < weight, (job["metadata"]["name"], ref)


def test_the_bootstrap_job_gives_every_service_with_a_schema_its_password():
    docs = rendered("prod")
    secret = one(docs, "ExternalSecret", "pingvas-db-bootstrap")["spec"]
    template = secret["target"]["template"]["data"]
    assert template["ADMIN_DATABASE_URL"].startswith("postgresql://")
    wanted = {f"PINGVAS_DB_BOOTSTRAP_{s.upper()}_PASSWORD" for s in SERVICES if s != "gateway"}
    assert set(template) - {"ADMIN_DATABASE_URL"} == wanted
    remote = {d["remoteRef"]["key"] for d in secret["data"]}
    assert remote == {values_of("prod")["secrets"]["databaseAdmin"]} | {
        f"pingvas/prod/{s}/database" for s in SERVICES if s != "gateway"
    }


# -- secrets ----------------------------------------------------------------------------


def secret_env(docs: Any, workload: str) -> tuple[dict[str, str], dict[str, str]]:
    """The plain variables of a workload's container, and its secret ones (variable ->
    the Secrets Manager secret and key its ExternalSecret reads)."""
    spec = pod_spec(one(docs, "Deployment", workload))
    container = spec["containers"][0]
    plain, secret = {}, {}
    external = one(docs, "ExternalSecret", f"pingvas-{workload}")["spec"]
    remote = {d["secretKey"]: d["remoteRef"] for d in external["data"]}
    for name, entry in container_env(container).items():
        if "value" in entry:
            plain[name] = entry["value"]
            continue
        ref = entry["valueFrom"]["secretKeyRef"]
        assert ref["name"] == external["target"]["name"], (workload, name)
        source = remote[ref["key"]]
        secret[name] = f"{source['key']}#{source['property']}"
    return plain, secret


@pytest.fixture
def clean_environment(monkeypatch):
    import os

    prefixes = ("PINGVAS_", "RENDER_", "GATEWAY_", "TENANTS_", "BILLING_", "MAIL_", "SEARCH_")
    for key in list(os.environ):
        if key.startswith(prefixes):
            monkeypatch.delenv(key)
    return monkeypatch


def random_secret(name: str, workload: str) -> str:
    """What Secrets Manager would hold for a variable (Terraform writes each service's
    database URL as postgresql://pingvas_<service>:<password>@<aurora>:5432/pingvas)."""
    value = secrets.token_urlsafe(48)
    if name.endswith("DATABASE_URL"):
        return f"postgresql://pingvas_{workload}:{value}@aurora.internal:5432/pingvas"
    return value


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("workload", WORKLOADS)
def test_each_workload_starts_in_production_on_what_the_chart_gives_it(
    env, workload, clean_environment
):
    """Fill each secret with a random value (what Secrets Manager would hold), load the
    workload's own settings from the container's environment, and start-up's check in
    production passes: no secret is missing, every optional one is set too."""
    plain, secret = secret_env(rendered(env), workload)
    for name, value in plain.items():
        clean_environment.setenv(name, value)
    for name in secret:
        clean_environment.setenv(name, random_secret(name, workload))
    module, cls = SETTINGS[workload]
    settings = getattr(importlib.import_module(module), cls)()
    assert settings.is_production
    assert settings.secret_problems() == []
    for field in (*settings.secret_settings, *settings.optional_secret_settings):
        assert getattr(settings, field) is not None, f"{workload}: {field} is not set"
    assert settings.port == int(one(rendered(env), "Service", workload)["spec"]["ports"][0]["port"])
    if workload in SERVICES and workload != "gateway":
        assert settings.is_postgres, f"{workload} would fall back to SQLite"
        # Terraform made the bus; a service with a least-privilege role must not try to
        assert settings.bus_provision is False
    # every secret is this environment's own
    assert all(ref.startswith(f"pingvas/{env}/") for ref in secret.values()), secret


def test_a_missing_secret_would_stop_the_service(clean_environment):
    plain, secret = secret_env(rendered("prod"), "billing")
    for name, value in plain.items():
        clean_environment.setenv(name, value)
    for name in secret:
        if name != "BILLING_LEMONSQUEEZY_SIGNING_SECRET":
            clean_environment.setenv(name, random_secret(name, "billing"))
    from pingvas_billing.settings import Settings

    problems = Settings().secret_problems()
    assert problems and "BILLING_LEMONSQUEEZY_SIGNING_SECRET" in problems[0]


@pytest.mark.parametrize("env", ENVS)
def test_the_worker_holds_only_its_token(env):
    docs = rendered(env)
    plain, secret = secret_env(docs, "render-worker")
    assert secret == {"RENDER_WORKER_WORKER_TOKEN": f"pingvas/{env}/shared#RENDER_WORKER_TOKEN"}
    data = one(docs, "ExternalSecret", "pingvas-render-worker")["spec"]["data"]
    assert [d["remoteRef"]["property"] for d in data] == ["RENDER_WORKER_TOKEN"]
    assert not any("DATABASE" in k or "INTERNAL" in k or "JWT" in k for k in plain)
    # render accepts exactly that token
    _, render_secret = secret_env(docs, "render")
    assert render_secret["RENDER_WORKER_TOKEN"] == secret["RENDER_WORKER_WORKER_TOKEN"]


@pytest.mark.parametrize("env", ENVS)
def test_no_secret_value_is_in_the_values_files(env):
    from pingvas_kit.settings import KNOWN_DEV_SECRETS

    text = (CHART / "values.yaml").read_text() + (CHART / f"values-{env}.yaml").read_text()
    assert not [s for s in KNOWN_DEV_SECRETS if s in text]
    for name, svc in {**values_of(env).get("services", {})}.items():
        for var, ref in (svc.get("secrets") or {}).items():
            assert isinstance(ref, list) and len(ref) == 2, (name, var)
    for doc in rendered(env):
        assert doc["kind"] != "Secret", "the chart must not carry a Secret"


# -- ingress and the network --------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_only_the_gateway_is_behind_the_load_balancer_and_it_trusts_only_it(env):
    docs = rendered(env)
    (ingress,) = find(docs, "Ingress")
    annotations = ingress["metadata"]["annotations"]
    assert ingress["spec"]["ingressClassName"] == "alb"
    assert annotations["alb.ingress.kubernetes.io/target-type"] == "ip"
    backends = {
        p["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for p in rule["http"]["paths"]
    }
    assert backends == {"gateway", "not-found"}  # not-found: the ALB's own 404 (/metrics)
    assert "alb.ingress.kubernetes.io/actions.not-found" in annotations
    lb = values_of(env)["ingress"]["loadBalancerCidrs"]
    plain, _ = secret_env(docs, "gateway")
    assert json.loads(plain["GATEWAY_TRUSTED_PROXIES"]) == lb
    assert plain["GATEWAY_TLS_IN_FRONT"] == "true"
    upstreams = json.loads(plain["GATEWAY_UPSTREAMS"])
    for name, url in upstreams.items():
        port = one(docs, "Service", name)["spec"]["ports"][0]["port"]
        assert url == f"http://{name}:{port}"


class Network:
    """What the rendered NetworkPolicies allow, by the rules of the API: traffic between
    two pods needs the sender's egress and the receiver's ingress; a pod no policy selects
    for a direction is open in it."""

    def __init__(self, docs: Any) -> None:
        self.policies = [d["spec"] for d in find(docs, "NetworkPolicy")]
        self.labels = {
            d["metadata"]["name"]: pod_spec(d) and d["spec"]["template"]["metadata"]["labels"]
            for d in find(docs, "Deployment")
        }

    @staticmethod
    def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())

    @staticmethod
    def _port_ok(rule: dict[str, Any], port: int) -> bool:
        ports = rule.get("ports")
        return not ports or any(
            p.get("port") == port and p.get("protocol", "TCP") == "TCP" for p in ports
        )

    def _peer_ok(self, peer: dict[str, Any], other: dict[str, Any]) -> bool:
        if "ipBlock" in peer:
            if "ip" not in other:
                return False
            ip = ipaddress.ip_address(other["ip"])
            block = peer["ipBlock"]
            return ip in ipaddress.ip_network(block["cidr"]) and not any(
                ip in ipaddress.ip_network(e) for e in block.get("except", [])
            )
        if "namespaceSelector" in peer:
            ns_ok = self._selects(
                peer["namespaceSelector"],
                {"kubernetes.io/metadata.name": other.get("namespace", NAMESPACE)},
            )
            return ns_ok and self._selects(peer.get("podSelector", {}), other.get("labels", {}))
        if "podSelector" in peer:
            return (
                other.get("namespace", NAMESPACE) == NAMESPACE
                and "labels" in other
                and (self._selects(peer["podSelector"], other["labels"]))
            )
        return False

    def _allowed(
        self, direction: str, labels: dict[str, str], other: dict[str, Any], port: int
    ) -> bool:
        kind = direction.capitalize()
        selecting = [
            p
            for p in self.policies
            if kind in p["policyTypes"] and self._selects(p["podSelector"], labels)
        ]
        if not selecting:
            return True
        key = "from" if direction == "ingress" else "to"
        return any(
            self._port_ok(rule, port)
            and any(self._peer_ok(peer, other) for peer in rule.get(key, []))
            for p in selecting
            for rule in p.get(direction, [])
        )

    def pod(self, workload: str) -> dict[str, Any]:
        return {"labels": self.labels[workload]}

    def can(self, src: str | dict[str, Any], dst: str | dict[str, Any], port: int) -> bool:
        s = self.pod(src) if isinstance(src, str) else src
        d = self.pod(dst) if isinstance(dst, str) else dst
        egress = (
            "labels" not in s
            or s.get("namespace", NAMESPACE) != NAMESPACE
            or self._allowed("egress", s["labels"], d, port)
        )
        ingress = (
            "labels" not in d
            or d.get("namespace", NAMESPACE) != NAMESPACE
            or self._allowed("ingress", d["labels"], s, port)
        )
        return egress and ingress


def test_network_policies_allow_only_the_paths_the_product_uses():
    values = values_of("prod") | {}
    values["networkPolicy"] = dict(values["networkPolicy"]) | {"s3Cidrs": ["52.219.56.0/22"]}
    net = Network(render(values))
    lb = {"ip": values["ingress"]["loadBalancerCidrs"][0].replace("0/22", "10")}
    internet = {"ip": "8.8.8.8"}
    s3 = {"ip": "52.219.57.1"}
    vpc = {"ip": "10.30.200.7"}  # Aurora, Redis, the endpoints
    prometheus = {"namespace": "monitoring", "labels": {"app": "prometheus"}}
    ports = {n: 8080 if n == "gateway" else 8101 + SERVICES.index(n) - 1 for n in SERVICES}

    # in: the load balancer reaches the gateway and nothing else
    assert net.can(lb, "gateway", 8080)
    assert not any(net.can(lb, n, ports[n]) for n in SERVICES if n != "gateway")
    assert not net.can(internet, "gateway", 8080)
    # the gateway reaches every service; the services do not reach each other, but for
    # tenants reading webhook payloads from render and billing (never the other way)
    assert all(net.can("gateway", n, ports[n]) for n in SERVICES if n != "gateway")
    assert net.can("tenants", "billing", ports["billing"])
    assert net.can("tenants", "render", ports["render"])
    assert not net.can("billing", "tenants", ports["tenants"])
    assert not net.can("mail", "billing", ports["billing"])
    assert not net.can("tenants", "mail", ports["mail"])
    # render's worker and export APIs: from the workers and search; nobody else but the gateway
    assert net.can("render-worker", "render", 8103) and net.can("search", "render", 8103)
    assert not net.can("billing", "render", 8103)
    # the workers reach render, S3 and the VPC endpoints (SQS, STS) only
    assert net.can("render-worker", s3, 443) and net.can("render-worker", vpc, 443)
    assert not net.can("render-worker", internet, 443)
    assert not net.can("render-worker", "tenants", ports["tenants"])
    assert not net.can("render-worker", vpc, 5432)  # no database
    # the services that call out reach the internet on 443, the others do not
    assert net.can("billing", internet, 443) and net.can("tenants", internet, 443)
    assert not net.can("render", internet, 443) and not net.can("gateway", internet, 443)
    assert not net.can("billing", internet, 80)
    # Aurora for the services with a schema, not for the gateway; Prometheus scrapes all
    assert net.can("billing", vpc, 5432) and not net.can("gateway", vpc, 5432)
    assert all(net.can(prometheus, n, ports[n]) for n in SERVICES)
    assert net.can(prometheus, "render-worker", 8110)
    # traces: every workload sends OTLP/HTTP to the collector, which sends to Jaeger; no
    # workload reaches Jaeger itself, and the collector takes nothing but OTLP/HTTP
    assert all(net.can(n, "otel-collector", 4318) for n in WORKLOADS)
    assert net.can("otel-collector", "jaeger", 4317)
    assert not any(net.can(n, "jaeger", 4317) for n in WORKLOADS)
    assert not any(net.can(n, "otel-collector", 4317) for n in WORKLOADS)
    assert not net.can(internet, "otel-collector", 4318)
    assert not net.can("otel-collector", internet, 443)
    assert not net.can("otel-collector", "render", 8103)
    # nor does the collector policy open the workloads' other egress
    assert not net.can("render", internet, 443)


@pytest.mark.parametrize("env", ENVS)
def test_every_workload_exports_its_traces_to_the_collector(env):
    docs = rendered(env)
    collector = one(docs, "Service", "otel-collector")
    port = {p["name"]: p["port"] for p in collector["spec"]["ports"]}["otlp-http"]
    sampler_arg = {"dev": "1.0", "prod": "0.1"}[env]
    for name in WORKLOADS:
        (container,) = pod_spec(one(docs, "Deployment", name))["containers"]
        env_ = {k: e.get("value") for k, e in container_env(container).items()}
        assert env_["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://otel-collector:{port}", name
        assert env_["OTEL_TRACES_SAMPLER"] == "parentbased_traceidratio", name
        assert env_["OTEL_TRACES_SAMPLER_ARG"] == sampler_arg, name
        assert env_["OTEL_RESOURCE_ATTRIBUTES"] == f"deployment.environment.name={env}"
        # the service name is the workload's own (pingvas_kit.telemetry's default)
        assert "OTEL_SERVICE_NAME" not in env_
    # the collector receives OTLP and sends to Jaeger's OTLP port
    config = yaml.safe_load(one(docs, "ConfigMap", "otel-collector")["data"]["config.yaml"])
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(f":{port}")
    assert config["exporters"]["otlp"]["endpoint"] == "jaeger:4317"
    assert config["service"]["pipelines"]["traces"]["exporters"] == ["otlp"]
    jaeger = one(docs, "Service", "jaeger")
    assert {p["name"]: p["port"] for p in jaeger["spec"]["ports"]} == {
        "ui": 16686,
        "otlp-grpc": 4317,
    }


def test_tracing_can_go_elsewhere_or_be_off():
    values = values_of("prod")
    values["tracing"] = {
        "collector": {"exportEndpoint": "tempo.observability:4317"},
        "jaeger": {"enabled": False},
    }
    docs = render(values)
    assert not find(docs, "Deployment", "jaeger") and not find(docs, "NetworkPolicy", "jaeger")
    config = yaml.safe_load(one(docs, "ConfigMap", "otel-collector")["data"]["config.yaml"])
    assert config["exporters"]["otlp"]["endpoint"] == "tempo.observability:4317"
    values["tracing"] = {"enabled": False}
    docs = render(values)
    assert not find(docs, "Deployment", "otel-collector")
    (gateway,) = pod_spec(one(docs, "Deployment", "gateway"))["containers"]
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in container_env(gateway)


@pytest.mark.parametrize("env", ENVS)
def test_each_workload_is_scraped_and_runs_as_its_own_aws_role(env):
    docs = rendered(env)
    account = values_of(env)["aws"]["accountId"]
    for name in WORKLOADS:
        monitor = one(docs, "ServiceMonitor", name)["spec"]
        service = one(docs, "Service", name)
        assert monitor["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
        assert [e["port"] for e in monitor["endpoints"]] == [service["spec"]["ports"][0]["name"]]
        sa = one(docs, "ServiceAccount", name)
        assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == (
            f"arn:aws:iam::{account}:role/pingvas-{env}-{name}"
        )
        assert pod_spec(one(docs, "Deployment", name))["serviceAccountName"] == name


@pytest.mark.parametrize("env", ENVS)
def test_the_chart_runs_exactly_the_workloads_terraform_makes_roles_for(env):
    """deploy/terraform/access.json (generated from the services' manifests) lists the
    workloads modules/iam makes a role for, each trusting system:serviceaccount:pingvas:
    <workload>: the chart's service accounts are those names, with those roles."""
    access = json.loads((DEPLOY / "terraform" / "access.json").read_text())["workloads"]
    docs = rendered(env)
    accounts = {
        doc["metadata"]["name"]: doc
        for doc in find(docs, "ServiceAccount")
        if "eks.amazonaws.com/role-arn" in doc["metadata"].get("annotations", {})
    }
    assert set(accounts) == set(access) == set(WORKLOADS)
    iam = (DEPLOY / "terraform" / "modules" / "iam" / "main.tf").read_text()
    assert "system:serviceaccount:${var.namespace}:${each.key}" in iam
    for name in access:
        assert accounts[name]["metadata"]["namespace"] == NAMESPACE
