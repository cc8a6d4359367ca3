"""deploy/terraform: every file parses, checkov passes (each skip written next to what it
skips, with its reason), `terraform fmt` is clean where a terraform binary exists, and the
things an operator would notice are right: three zones, the VPC endpoints, the GPU node
group as the chart schedules onto it, buckets closed to the public with lifecycle rules,
every module called with variables it declares (and all it requires), the secrets and
repositories the rules name, prod protected and multi-AZ, dev cheaper.

Each checker returns a list of problems; each has a test that breaks a copy on purpose."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml
from deploy_support import DEPLOY, run_checkov
from hcl2.utils import SerializationOptions

TERRAFORM = DEPLOY / "terraform"
MODULES = TERRAFORM / "modules"
ENVS = TERRAFORM / "envs"
CHART_VALUES = DEPLOY / "helm" / "pingvas" / "values.yaml"
OWN_MODULES = [
    "network",
    "eks",
    "addons",
    "aurora",
    "redis",
    "storage",
    "opensearch",
    "ses",
    "ecr",
    "secrets",
    "bus",
    "iam",
    "release",
]
META_ARGUMENTS = {"source", "version", "providers", "depends_on", "count", "for_each"}
ENDPOINT_SERVICES = {"sqs", "sns", "ecr.api", "ecr.dkr", "sts", "secretsmanager", "logs"}
WORKLOADS = ["gateway", "tenants", "billing", "render", "mail", "search", "render-worker"]
DATABASE_SERVICES = ["tenants", "billing", "render", "mail", "search"]
CHART_OUTPUTS = {
    "account_id",
    "ecr_registry",
    "aurora_endpoint",
    "aurora_master_secret_name",
    "images_bucket",
    "models_bucket",
    "s3_prefix_list_cidrs",
    "role_arns",
    "cluster_name",
}

_OPTIONS = SerializationOptions(
    with_comments=False, explicit_blocks=False, strip_string_quotes=True
)


# -- reading HCL -------------------------------------------------------------------------


def _unquote(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k).strip('"'): _unquote(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unquote(v) for v in value]
    return value


def parse(path: Path) -> dict[str, Any]:
    with path.open() as f:
        return _unquote(hcl2.load(f, serialization_options=_OPTIONS))


def parse_dir(directory: Path) -> dict[str, list[Any]]:
    """Every top-level block of a directory's .tf files, merged by block type."""
    merged: dict[str, list[Any]] = {}
    for path in sorted(directory.glob("*.tf")):
        for kind, blocks in parse(path).items():
            merged.setdefault(kind, []).extend(blocks if isinstance(blocks, list) else [blocks])
    return merged


def named(blocks: list[Any]) -> dict[str, Any]:
    """[{name: body}, ...] -> {name: body} (variables, outputs, modules)."""
    return {name: body for block in blocks for name, body in block.items()}


def resources(parsed: dict[str, list[Any]], kind: str) -> dict[str, Any]:
    """name -> body of every resource of one type."""
    out: dict[str, Any] = {}
    for block in parsed.get("resource", []):
        for rtype, items in block.items():
            if rtype == kind:
                out.update(items)
    return out


def locals_of(parsed: dict[str, list[Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for block in parsed.get("locals", []):
        out.update(block)
    return out


def first(value: Any) -> Any:
    """A nested block is a list of one dict."""
    return value[0] if isinstance(value, list) and value else value


def tf_files() -> list[Path]:
    return sorted(TERRAFORM.rglob("*.tf"))


# -- checkers ------------------------------------------------------------------------------


def endpoint_problems(network: Path) -> list[str]:
    """Three zones, an S3 gateway endpoint on the private route tables, and an interface
    endpoint for each AWS API the workloads call."""
    parsed = parse_dir(network)
    problems = []
    azs = named(parsed.get("variable", [])).get("azs", {}).get("default", [])
    if len(set(azs)) != 3:
        problems.append(f"azs default is not three zones: {azs}")
    for kind in ("aws_subnet",):
        for name, body in resources(parsed, kind).items():
            if body.get("count") != 3:
                problems.append(f"{kind}.{name}: count {body.get('count')}, not one per zone")
    endpoints = resources(parsed, "aws_vpc_endpoint")
    gateways = [
        b
        for b in endpoints.values()
        if b.get("vpc_endpoint_type") == "Gateway" and ".s3" in b.get("service_name", "")
    ]
    if not gateways:
        problems.append("no S3 gateway endpoint")
    elif "aws_route_table.private" not in str(gateways[0].get("route_table_ids")):
        problems.append("the S3 gateway endpoint is not on the private route tables")
    interface = set(locals_of(parsed).get("interface_endpoints", {}).values())
    for body in endpoints.values():
        if (
            body.get("vpc_endpoint_type") == "Interface"
            and "each.value" not in body["service_name"]
        ):
            interface.add(body["service_name"].rsplit("}.", 1)[-1])
    missing = ENDPOINT_SERVICES - interface
    if missing:
        problems.append(f"interface endpoints missing: {sorted(missing)}")
    return problems


def _chart_scheduling(values: dict[str, Any]) -> tuple[dict[str, str], list[dict[str, str]]]:
    worker = values["worker"]
    return dict(worker.get("nodeSelector") or {}), list(worker.get("tolerations") or [])


_EFFECTS = {
    "NO_SCHEDULE": "NoSchedule",
    "NO_EXECUTE": "NoExecute",
    "PREFER_NO_SCHEDULE": "PreferNoSchedule",
}


def gpu_group_problems(eks: Path, chart_values: dict[str, Any]) -> list[str]:
    """The GPU node group carries the labels the chart's worker selects and a taint its
    tolerations tolerate; it starts from zero on the NVIDIA AMI; the system group is
    labelled; IMDSv2 is required on every launch template."""
    parsed = parse_dir(eks)
    groups = resources(parsed, "aws_eks_node_group")
    problems = []
    gpu = groups.get("gpu")
    if gpu is None:
        return ["no aws_eks_node_group.gpu"]
    selector, tolerations = _chart_scheduling(chart_values)
    labels = gpu.get("labels", {})
    for key, value in selector.items():
        if labels.get(key) != value:
            problems.append(
                f"gpu group label {key}={labels.get(key)!r}, the chart selects {value!r}"
            )
    for taint in gpu.get("taint", []):
        effect = _EFFECTS.get(taint.get("effect"), taint.get("effect"))
        tolerated = any(
            t.get("key") == taint.get("key")
            and t.get("effect") in (None, effect)
            and (t.get("operator") == "Exists" or t.get("value") == taint.get("value"))
            for t in tolerations
        )
        if not tolerated:
            problems.append(f"the chart's worker does not tolerate the taint {taint}")
    if not any(t.get("key") == "nvidia.com/gpu" for t in gpu.get("taint", [])):
        problems.append("the gpu group has no nvidia.com/gpu taint (other pods would land on GPUs)")
    if "NVIDIA" not in str(gpu.get("ami_type")):
        problems.append(f"the gpu group's AMI is {gpu.get('ami_type')}, not an NVIDIA one")
    if first(gpu.get("scaling_config", [{}])).get("min_size") != 0:
        problems.append("the gpu group does not scale from zero")
    system = groups.get("system", {})
    if system.get("labels", {}).get("pingvas.io/node-pool") != "system":
        problems.append("the system group is not labelled pingvas.io/node-pool=system")
    for name, template in resources(parsed, "aws_launch_template").items():
        if first(template.get("metadata_options", [{}])).get("http_tokens") != "required":
            problems.append(f"aws_launch_template.{name} does not require IMDSv2")
    for name, group in groups.items():
        if not group.get("launch_template"):
            problems.append(f"node group {name} has no launch template (IMDSv2 not enforced)")
    return problems


def _covers(for_each: Any, bucket: str, bucket_locals: dict[str, Any]) -> bool:
    """Whether a resource's bucket/for_each reaches aws_s3_bucket.<bucket>."""
    text = str(for_each)
    if f"aws_s3_bucket.{bucket}" in text:
        return True
    for name, value in bucket_locals.items():
        if f"local.{name}" in text and f"aws_s3_bucket.{bucket}" in str(value):
            return True
    return False


def bucket_problems(storage: Path) -> list[str]:
    """Every bucket: public access fully blocked, owner enforced, encrypted, versioned,
    TLS-only policy, lifecycle rules with multipart abort and noncurrent expiry."""
    parsed = parse_dir(storage)
    bucket_locals = locals_of(parsed)
    buckets = resources(parsed, "aws_s3_bucket")
    problems = []
    if not buckets:
        return ["no aws_s3_bucket"]

    def reaching(kind: str, bucket: str) -> list[Any]:
        return [
            body
            for body in resources(parsed, kind).values()
            if _covers(body.get("for_each") or body.get("bucket"), bucket, bucket_locals)
        ]

    for bucket in buckets:
        blocks = reaching("aws_s3_bucket_public_access_block", bucket)
        flags = (
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        )
        if not blocks or not all(blocks[0].get(f) is True for f in flags):
            problems.append(f"{bucket}: public access not fully blocked")
        for kind in (
            "aws_s3_bucket_ownership_controls",
            "aws_s3_bucket_server_side_encryption_configuration",
            "aws_s3_bucket_versioning",
            "aws_s3_bucket_policy",
        ):
            if not reaching(kind, bucket):
                problems.append(f"{bucket}: no {kind}")
        lifecycles = reaching("aws_s3_bucket_lifecycle_configuration", bucket)
        if not lifecycles:
            problems.append(f"{bucket}: no lifecycle rules")
            continue
        rules = lifecycles[0].get("rule", [])
        if not any("abort_incomplete_multipart_upload" in r for r in rules):
            problems.append(f"{bucket}: no rule aborts incomplete multipart uploads")
        if not any("noncurrent_version_expiration" in r for r in rules):
            problems.append(f"{bucket}: noncurrent versions never expire")
    return problems


def module_call_problems(env: Path, modules: Path = MODULES) -> list[str]:
    """Every module an env calls: each argument is a variable the module declares, each
    variable without a default is passed, and each module.X.Y the env reads is an output
    of X."""
    parsed = parse_dir(env)
    calls = named(parsed.get("module", []))
    problems = []
    outputs: dict[str, set[str]] = {}
    for name, call in calls.items():
        source = (env / call["source"]).resolve()
        if not source.is_dir():
            problems.append(f"module {name}: {call['source']} does not exist")
            continue
        module = parse_dir(source)
        declared = named(module.get("variable", []))
        outputs[name] = set(named(module.get("output", [])))
        passed = set(call) - META_ARGUMENTS
        for arg in sorted(passed - set(declared)):
            problems.append(f"module {name}: passes {arg}, which {source.name} does not declare")
        for var, body in declared.items():
            if "default" not in body and var not in passed:
                problems.append(f"module {name}: required variable {var} not passed")
    text = "\n".join(p.read_text() for p in sorted(env.glob("*.tf")))
    for module, output in sorted(set(re.findall(r"module\.([a-z0-9_]+)\.([a-z0-9_]+)", text))):
        if module in outputs and output not in outputs[module]:
            problems.append(f"module.{module}.{output}: {module} has no such output")
        if module not in calls:
            problems.append(f"module.{module}.{output}: no module {module} is called")
    return problems


def env_problems(env_name: str, env: Path) -> list[str]:
    """prod: deletion protection, Multi-AZ data stores, a NAT gateway per zone; dev: the
    cheap settings. Read from the literal module arguments."""
    calls = named(parse_dir(env).get("module", []))
    problems = []

    def arg(module: str, name: str) -> Any:
        return calls.get(module, {}).get(name)

    if env_name == "prod":
        if arg("aurora", "deletion_protection") is not True:
            problems.append("prod Aurora without deletion protection")
        if (
            not isinstance(arg("aurora", "instance_count"), int)
            or arg("aurora", "instance_count") < 2
        ):
            problems.append("prod Aurora is not Multi-AZ (instance_count < 2)")
        if arg("aurora", "skip_final_snapshot") is True:
            problems.append("prod Aurora skips its final snapshot")
        if not isinstance(arg("redis", "node_count"), int) or arg("redis", "node_count") < 2:
            problems.append("prod Redis has no replica (node_count < 2)")
        if arg("opensearch", "instance_count") != 3:
            problems.append("prod OpenSearch is not over three zones")
        if arg("network", "single_nat_gateway") is not False:
            problems.append("prod shares one NAT gateway between zones")
        if arg("storage", "force_destroy") is True:
            problems.append("prod buckets can be destroyed with their objects")
    elif env_name == "dev":
        if arg("network", "single_nat_gateway") is not True:
            problems.append("dev runs a NAT gateway per zone")
        if arg("aurora", "instance_count") != 1:
            problems.append("dev Aurora runs more than one instance")
        if arg("redis", "node_count") != 1:
            problems.append("dev Redis runs more than one node")
    return problems


def secret_problems(secrets: Path) -> list[str]:
    """The Secrets Manager names and keys of the rules file."""
    parsed = parse_dir(secrets)
    text = "\n".join(p.read_text() for p in sorted(secrets.glob("*.tf")))
    names = {body["name"] for body in resources(parsed, "aws_secretsmanager_secret").values()}
    versions = resources(parsed, "aws_secretsmanager_secret_version")
    problems = []
    wanted = {
        "${local.prefix}/shared",
        "${local.prefix}/redis",
        "${local.prefix}/search/opensearch",
        "${local.prefix}/billing/lemonsqueezy",
        "${local.prefix}/${each.value}/database",
    }
    for name in sorted(wanted - names):
        problems.append(f"no secret {name}")
    if not re.search(r'prefix\s*=\s*"pingvas/\$\{var\.environment\}"', text):
        problems.append("secrets are not named pingvas/<env>/...")
    if "lemonsqueezy" in versions or any(
        "lemonsqueezy" in str(v.get("secret_id")) for v in versions.values()
    ):
        problems.append("billing/lemonsqueezy has a value in Terraform (an operator puts it)")
    shared = locals_of(parsed).get("shared_keys", [])
    expected = [
        "INTERNAL_SECRET",
        "JWT_SECRET",
        "RENDER_WORKER_TOKEN",
        "EXPORT_TOKEN",
        "UNSUBSCRIBE_SECRET",
    ]
    if sorted(shared) != sorted(expected):
        problems.append(f"shared keys {shared}, expected {expected}")
    services = named(parsed.get("variable", [])).get("database_services", {}).get("default")
    if services != DATABASE_SERVICES:
        problems.append(f"database services {services}, expected {DATABASE_SERVICES}")
    database = str(versions.get("database", {}).get("secret_string"))
    for needle in ("DATABASE_URL", "PASSWORD", "postgresql://pingvas_${each.value}:"):
        if needle not in database:
            problems.append(f"database secrets lack {needle}")
    for key, secret in (("REDIS_URL", "redis"), ("OPENSEARCH_URL", "opensearch")):
        if key not in str(versions.get(secret, {}).get("secret_string")):
            problems.append(f"{secret} secret lacks {key}")
    return problems


# -- tests ---------------------------------------------------------------------------------


def test_every_terraform_file_parses() -> None:
    files = (
        tf_files() + sorted(TERRAFORM.rglob("*.tfvars")) + sorted(TERRAFORM.rglob("*.hcl.example"))
    )
    assert len(files) > 40
    for path in files:
        parse(path)  # raises on a syntax error


def test_layout_is_the_agreed_one() -> None:
    for name in OWN_MODULES:
        for file in ("main.tf", "variables.tf", "outputs.tf", "versions.tf"):
            assert (MODULES / name / file).is_file(), f"modules/{name}/{file}"
    for env in ("dev", "prod"):
        for file in (
            "main.tf",
            "variables.tf",
            "outputs.tf",
            "versions.tf",
            "terraform.tfvars",
            "backend.hcl.example",
        ):
            assert (ENVS / env / file).is_file(), f"envs/{env}/{file}"


def test_checkov_passes(checkov: Path) -> None:
    result = run_checkov(
        checkov,
        [
            "-d",
            "deploy/terraform",
            "--framework",
            "terraform",
            "--download-external-modules",
            "false",
        ],
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_checkov_catches_an_open_bucket(checkov: Path, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('resource "aws_s3_bucket" "open" {\n  bucket = "x"\n}\n')
    result = run_checkov(checkov, ["-d", str(tmp_path), "--framework", "terraform"])
    assert result.returncode != 0
    assert "CKV2_AWS_6" in result.stdout


_SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")


def skip_problems(paths: list[Path]) -> list[str]:
    """Every checkov skip names its check and a reason of a few words."""
    problems = []
    for path in paths:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if "checkov:skip" not in line:
                continue
            match = _SKIP.search(line)
            if not match or len((match.group(2) or "").split()) < 4:
                problems.append(
                    f"{path.relative_to(path.parents[2])}:{number}: skip without a reason"
                )
    return problems


def test_every_checkov_skip_has_a_reason() -> None:
    assert skip_problems(tf_files()) == []


def test_a_skip_without_reason_is_caught(tmp_path: Path) -> None:
    bad = tmp_path / "a" / "b" / "main.tf"
    bad.parent.mkdir(parents=True)
    bad.write_text('resource "x" "y" {\n  #checkov:skip=CKV_AWS_18\n}\n')
    assert skip_problems([bad])


def _terraform() -> str:
    found = shutil.which("terraform")
    if not found:
        pytest.skip(
            "terraform fmt needs a terraform binary and none is on PATH; python-hcl2 still"
            " parses every file and checkov still checks them"
        )
    return found


def test_terraform_fmt_is_clean() -> None:
    result = subprocess.run(
        [_terraform(), "fmt", "-check", "-recursive", "-diff", str(TERRAFORM)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_terraform_fmt_catches_misalignment(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text("locals {\n  a = 1\n  bbb  = 2\n}\n")
    result = subprocess.run(
        [_terraform(), "fmt", "-check", str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0


def test_network_spans_three_zones_with_the_endpoints() -> None:
    assert endpoint_problems(MODULES / "network") == []


def test_a_missing_endpoint_is_caught(tmp_path: Path) -> None:
    copy = tmp_path / "network"
    shutil.copytree(MODULES / "network", copy)
    main = copy / "main.tf"
    main.write_text(main.read_text().replace('    sts            = "sts"\n', ""))
    assert any("sts" in p for p in endpoint_problems(copy))


def _chart_values() -> dict[str, Any]:
    return yaml.safe_load(CHART_VALUES.read_text())


_CHART_LIKE = {
    "worker": {
        "nodeSelector": {"pingvas.io/node-pool": "gpu"},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
    }
}


def test_gpu_node_group_is_what_the_chart_schedules_onto() -> None:
    assert gpu_group_problems(MODULES / "eks", _chart_values()) == []


def test_gpu_node_group_matches_the_chart_as_agreed() -> None:
    # the same check against the agreed scheduling, with or without the chart in the tree
    assert gpu_group_problems(MODULES / "eks", _CHART_LIKE) == []


def test_a_chart_selecting_another_pool_or_taint_is_caught() -> None:
    other = {
        "worker": {
            "nodeSelector": {"pingvas.io/node-pool": "gpu-large"},
            "tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}],
        }
    }
    problems = gpu_group_problems(MODULES / "eks", other)
    assert any("label" in p for p in problems) and any("tolerate" in p for p in problems)


def test_an_untainted_gpu_group_is_caught(tmp_path: Path) -> None:
    copy = tmp_path / "eks"
    shutil.copytree(MODULES / "eks", copy)
    main = copy / "main.tf"
    text = main.read_text()
    text = re.sub(r"\n  taint \{.*?\n  \}\n", "\n", text, flags=re.S)
    text = text.replace(
        'http_tokens                 = "required"', 'http_tokens                 = "optional"', 1
    )
    main.write_text(text)
    problems = gpu_group_problems(copy, _CHART_LIKE)
    assert any("no nvidia.com/gpu taint" in p for p in problems)
    assert any("IMDSv2" in p for p in problems)


def test_buckets_block_public_access_and_have_lifecycle_rules() -> None:
    assert bucket_problems(MODULES / "storage") == []


def test_a_bucket_without_lifecycle_or_public_block_is_caught(tmp_path: Path) -> None:
    copy = tmp_path / "storage"
    shutil.copytree(MODULES / "storage", copy)
    main = copy / "main.tf"
    text = main.read_text()
    text = text.replace(
        'resource "aws_s3_bucket_lifecycle_configuration" "models"',
        'resource "aws_s3_bucket_lifecycle_configuration" "gone"',
    )
    text = text.replace(
        'aws_s3_bucket.models.id\n\n  rule {\n    id     = "abort',
        'aws_s3_bucket.nothing.id\n\n  rule {\n    id     = "abort',
    )
    text = text.replace("restrict_public_buckets = true", "restrict_public_buckets = false")
    main.write_text(text)
    problems = bucket_problems(copy)
    assert "models: no lifecycle rules" in problems
    assert "images: public access not fully blocked" in problems


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_envs_call_modules_with_declared_variables(env: str) -> None:
    assert module_call_problems(ENVS / env) == []


def test_every_env_uses_every_module() -> None:
    for env in ("dev", "prod"):
        calls = named(parse_dir(ENVS / env).get("module", []))
        sources = {Path(call["source"]).name for call in calls.values()}
        assert sources == set(OWN_MODULES), env


def test_an_undeclared_or_missing_variable_is_caught(tmp_path: Path) -> None:
    copy = tmp_path / "terraform"
    shutil.copytree(TERRAFORM, copy, ignore=shutil.ignore_patterns(".terraform"))
    main = copy / "envs" / "dev" / "main.tf"
    text = main.read_text()
    text = text.replace(
        "  keep_images         = 10\n", "  keep_images         = 10\n  keep_forever        = true\n"
    )
    text = text.replace("  cors_origins           = var.spa_origins\n", "")
    text = text.replace("module.aurora.endpoint", "module.aurora.writer")
    main.write_text(text)
    problems = module_call_problems(copy / "envs" / "dev", copy / "modules")
    assert "module ecr: passes keep_forever, which ecr does not declare" in problems
    assert "module storage: required variable cors_origins not passed" in problems
    assert "module.aurora.writer: aurora has no such output" in problems


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_prod_is_protected_and_dev_is_cheap(env: str) -> None:
    assert env_problems(env, ENVS / env) == []


def test_prod_with_dev_settings_is_caught() -> None:
    problems = env_problems("prod", ENVS / "dev")
    assert "prod Aurora without deletion protection" in problems
    assert "prod shares one NAT gateway between zones" in problems
    assert "prod Redis has no replica (node_count < 2)" in problems
    assert env_problems("dev", ENVS / "prod")


def test_dev_costs_less_than_prod_line_by_line() -> None:
    dev = named(parse_dir(ENVS / "dev").get("module", []))
    prod = named(parse_dir(ENVS / "prod").get("module", []))
    for module, arg in [
        ("aurora", "instance_count"),
        ("aurora", "max_capacity"),
        ("redis", "node_count"),
        ("opensearch", "instance_count"),
        ("network", "interface_endpoint_zones"),
        ("eks", "system_desired_size"),
        ("eks", "gpu_max_size"),
    ]:
        assert dev[module][arg] <= prod[module][arg], (module, arg)


def test_secrets_are_the_ones_the_rules_name() -> None:
    assert secret_problems(MODULES / "secrets") == []


def test_a_misnamed_secret_is_caught(tmp_path: Path) -> None:
    copy = tmp_path / "secrets"
    shutil.copytree(MODULES / "secrets", copy)
    main = copy / "main.tf"
    text = main.read_text().replace(
        '"${local.prefix}/search/opensearch"', '"${local.prefix}/opensearch"'
    )
    text = text.replace('"UNSUBSCRIBE_SECRET"]', '"UNSUBSCRIBE"]')
    main.write_text(text)
    problems = secret_problems(copy)
    assert "no secret ${local.prefix}/search/opensearch" in problems
    assert any(p.startswith("shared keys") for p in problems)


def test_ecr_repositories_per_workload_immutable_and_scanned() -> None:
    parsed = parse_dir(MODULES / "ecr")
    assert named(parsed["variable"])["workloads"]["default"] == WORKLOADS
    repo = resources(parsed, "aws_ecr_repository")["this"]
    assert repo["name"] == "pingvas/${each.value}"
    assert repo["image_tag_mutability"] == "IMMUTABLE"
    assert first(repo["image_scanning_configuration"])["scan_on_push"] is True
    assert first(repo["encryption_configuration"])["encryption_type"] == "KMS"
    assert "imageCountMoreThan" in str(
        resources(parsed, "aws_ecr_lifecycle_policy")["this"]["policy"]
    )


def test_addons_are_where_the_chart_looks_for_them() -> None:
    parsed = parse_dir(MODULES / "addons")
    releases = resources(parsed, "helm_release")
    prom = releases["kube_prometheus_stack"]
    assert (prom["name"], prom["namespace"]) == ("kube-prometheus-stack", "monitoring")
    store = (
        MODULES / "addons" / "charts" / "cluster-secret-store" / "templates" / "store.yaml"
    ).read_text()
    assert "kind: ClusterSecretStore" in store
    assert 'name   = "aws-secrets-manager"' in (MODULES / "addons" / "main.tf").read_text()
    for name in (
        "nvidia_device_plugin",
        "aws_load_balancer_controller",
        "cluster_autoscaler",
        "keda",
        "external_secrets",
    ):
        assert name in releases
    if CHART_VALUES.is_file():
        values = yaml.safe_load(CHART_VALUES.read_text())
        assert values["secrets"]["storeName"] == "aws-secrets-manager"
        assert values["worker"]["prometheus"]["serverAddress"].startswith(
            "http://kube-prometheus-stack-prometheus.monitoring:9090"
        )


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_envs_output_what_the_chart_reads(env: str) -> None:
    outputs = set(named(parse_dir(ENVS / env)["output"]))
    assert CHART_OUTPUTS <= outputs, CHART_OUTPUTS - outputs


@pytest.mark.parametrize(
    ("env", "account", "cidr"),
    [("dev", "111111111111", "10.20.0.0/16"), ("prod", "222222222222", "10.30.0.0/16")],
)
def test_tfvars_hold_the_example_values(env: str, account: str, cidr: str) -> None:
    tfvars = parse(ENVS / env / "terraform.tfvars")
    assert (tfvars["account_id"], tfvars["vpc_cidr"], tfvars["region"]) == (
        account,
        cidr,
        "ap-northeast-2",
    )
    backend = parse(ENVS / env / "backend.hcl.example")
    assert backend["key"] == f"{env}/terraform.tfstate" and backend["encrypt"] is True
