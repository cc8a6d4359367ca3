"""The bus and the IAM roles in Terraform (deploy/terraform/modules/bus, modules/iam).

One source of truth: the services' specs. `pingvas-bus topology` and `pingvas-bus access`
write bus-topology.json and access.json from them; the modules build every topic, queue,
DLQ, subscription and role from those files with for_each, nothing by hand. Checked here:

(a) the committed files are what the catalog generates (render-work included), and the
    bus module, expanded over the topology (its for_each/count and name expressions
    evaluated in Python from the parsed HCL), creates exactly the topology's topics,
    queues, DLQs and subscriptions, filtered and delivered like the local provisioner;
(b) least privilege: the policy the iam module writes for each workload (its templating
    mirrored here, and the HCL checked to be that template) grants exactly what the
    manifests declare plus the bus access derived from publishes/consumes, on exactly
    those resources, and every action matches a call the code really makes on AWS
    (a scan of the sources finds every SDK call and must find each one classified);
(c) checkov passes on both modules; (d) each checker fails on a broken input.

No `*` action anywhere, and no `*` resource in any role: the only `*` resources are in
the SES events key's key policy, where a key policy's resource is always the key itself.
"""

from __future__ import annotations

import copy
import dataclasses
import fnmatch
import json
import re
import shutil
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import hcl2
import pytest
from deploy_support import DEPLOY, REPO, run_checkov

from pingvas_contracts import AwsAccess, S3Grant, ServiceSpec, discover
from pingvas_kit.bus import Subscription, build_topology
from pingvas_kit.bus.access import build_access
from pingvas_kit.bus.sqs._provision import _filter_policy

TERRAFORM = DEPLOY / "terraform"
BUS = TERRAFORM / "modules" / "bus"
IAM = TERRAFORM / "modules" / "iam"
WORKLOADS = {"gateway", "tenants", "billing", "render", "mail", "search", "render-worker"}

# -- parsed HCL ------------------------------------------------------------------------


def _unquote(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    if isinstance(value, dict):
        return {_unquote(k): _unquote(v) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, list):
        return [_unquote(v) for v in value]
    return value


@dataclasses.dataclass
class Module:
    resources: dict[tuple[str, str], dict[str, Any]]
    data: dict[tuple[str, str], dict[str, Any]]
    locals: dict[str, Any]
    outputs: dict[str, Any]
    variables: dict[str, Any]


def parse_module(folder: Path) -> Module:
    module = Module({}, {}, {}, {}, {})
    for path in sorted(folder.glob("*.tf")):
        doc = _unquote(hcl2.loads(path.read_text()))
        for block in doc.get("resource", []):
            for type_, named in block.items():
                for name, body in named.items():
                    module.resources[(type_, name)] = body
        for block in doc.get("data", []):
            for type_, named in block.items():
                for name, body in named.items():
                    module.data[(type_, name)] = body
        for block in doc.get("locals", []):
            module.locals.update(block)
        for block in doc.get("output", []):
            module.outputs.update(block)
        for block in doc.get("variable", []):
            module.variables.update(block)
    return module


def _expr(value: str) -> str:
    """The expression inside `${...}` (python-hcl2 wraps every expression so)."""
    assert isinstance(value, str) and value.startswith("${") and value.endswith("}"), value
    return value[2:-1]


class _Attrs(dict):
    def __getattr__(self, name: str) -> Any:
        value = self[name]
        return _Attrs(value) if isinstance(value, dict) else value


class _Locals:
    def __init__(self, module: Module, env: dict[str, Any]) -> None:
        self._module, self._env = module, env

    def __getattr__(self, name: str) -> Any:
        return evaluate(self._module.locals[name], self._env | {"local": self})


_SUBSCRIPTIONS = re.compile(
    r'^\{for (\w+) in var\.topology\.(\w+) : "\$\{\1\.(\w+)\}\.\$\{\1\.(\w+)\}" => \1\}$'
)


def evaluate(value: Any, env: dict[str, Any]) -> Any:
    """The small part of Terraform's language the bus module's for_each, count and name
    expressions use: references (var., local., each.), try(x, default), == / != null,
    &&, and cond ? a : b. Anything else is an error, never a guess."""
    if not isinstance(value, str) or not value.startswith("${"):
        return value
    expr = _expr(value)
    if m := _SUBSCRIPTIONS.match(expr):
        var, collection, a, b = m.groups()
        items = env["var"].topology[collection]
        return {f"{s[a]}.{s[b]}": s for s in items}
    python = re.sub(r"\btry\(([\w.]+), (\{\}|null)\)", r"_try(lambda: \1, \2)", expr)
    python = python.replace("&&", " and ").replace("||", " or ").replace("null", "None")
    if m := re.fullmatch(r"(.+?) \? (.+?) : (.+)", python):
        python = f"({m.group(2)}) if ({m.group(1)}) else ({m.group(3)})"
    python = python.replace("!= None", "is not None").replace("== None", "is None")
    python = re.sub(r"\btrue\b", "True", re.sub(r"\bfalse\b", "False", python))

    def _try(thunk: Any, default: Any) -> Any:
        try:
            return thunk()
        except (KeyError, AttributeError):
            return default

    names = {"_try": _try, "var": env["var"], "local": env.get("local"), "each": env.get("each")}
    return eval(python, {"__builtins__": {}, **names})  # noqa: S307 - our own HCL


def instances(
    module: Module, address: tuple[str, str], topology: Mapping[str, Any], kms_key_arn=None
) -> dict[str, dict[str, Any]]:
    """A resource's instances: key -> its arguments evaluated where they can be (the
    others stay expressions)."""
    var = SimpleNamespace(topology=_Attrs(topology), kms_key_arn=kms_key_arn, environment="prod")
    env: dict[str, Any] = {"var": var}
    env["local"] = _Locals(module, env)
    body = module.resources[address]
    if "for_each" in body:
        keys = evaluate(body["for_each"], env)
        each_of: dict[str, SimpleNamespace | None] = {
            k: SimpleNamespace(key=k, value=_wrap(v)) for k, v in keys.items()
        }
    elif "count" in body:
        count = evaluate(body["count"], env)
        each_of = {str(i): None for i in range(count)}
    else:
        each_of = {"": None}
    out = {}
    for key, each in each_of.items():
        scope = env | {"each": each}
        args = {}
        for arg, value in body.items():
            try:
                args[arg] = evaluate(value, scope)
            except Exception:  # a reference to another resource: kept as written
                args[arg] = value
        out[key] = args
    return out


def _wrap(value: Any) -> Any:
    return _Attrs(value) if isinstance(value, dict) else value


# -- (a) the bus -------------------------------------------------------------------------


@cache
def catalog_topology() -> dict[str, Any]:
    return build_topology(discover(), prefix="pingvas").to_dict()


def committed_topology() -> dict[str, Any]:
    return json.loads((TERRAFORM / "bus-topology.json").read_text())


def topology_file_problems(text: str) -> list[str]:
    expected = build_topology(discover(), prefix="pingvas").to_json()
    if text != expected:
        return ["bus-topology.json differs from `pingvas-bus topology` (run it with --out)"]
    return []


def bus_problems(module: Module, topology: Mapping[str, Any]) -> list[str]:
    """What the module would build, over `topology`, that differs from the topology."""
    problems: list[str] = []

    def names(address: tuple[str, str]) -> set[Any]:
        if address not in module.resources:
            problems.append(f"no resource {'.'.join(address)}")
            return set()
        try:
            built = instances(module, address, topology)
        except Exception as exc:
            problems.append(f"{'.'.join(address)}: cannot expand ({exc!r})")
            return set()
        return {args.get("name") for args in built.values()}

    def built(address: tuple[str, str]) -> dict[str, dict[str, Any]]:
        if address not in module.resources:
            return {}  # reported by names()
        return instances(module, address, topology)

    def expect(what: str, got: set[Any], wanted: Iterable[str]) -> None:
        if got != set(wanted):
            problems.append(f"{what}: module builds {sorted(got)}, topology has {sorted(wanted)}")

    queues = topology["queues"]
    work = topology.get("work_queues") or {}
    ses = topology.get("ses_events")
    expect("topics", names(("aws_sns_topic", "context")), topology["topics"].values())
    expect("queues", names(("aws_sqs_queue", "consumer")), (q["queue"] for q in queues.values()))
    expect("DLQs", names(("aws_sqs_queue", "dlq")), (q["dlq"] for q in queues.values()))
    expect("work queues", names(("aws_sqs_queue", "work")), (w["queue"] for w in work.values()))
    expect("work DLQs", names(("aws_sqs_queue", "work_dlq")), (w["dlq"] for w in work.values()))
    expect("SES topic", names(("aws_sns_topic", "ses_events")), [ses["topic"]] if ses else [])
    expect("SES queue", names(("aws_sqs_queue", "ses_events")), [ses["queue"]] if ses else [])
    expect("SES DLQ", names(("aws_sqs_queue", "ses_events_dlq")), [ses["dlq"]] if ses else [])

    # every queue encrypted, every redrive to its own DLQ with the topology's count
    for address in [a for a in module.resources if a[0] == "aws_sqs_queue"]:
        for key, args in built(address).items():
            label = f"{address[1]}[{key}]"
            if args.get("sqs_managed_sse_enabled") is not True and not args.get(
                "kms_master_key_id"
            ):
                problems.append(f"{label} is not encrypted")
    redrives = {
        ("aws_sqs_queue", "consumer"): ("aws_sqs_queue.dlq[each.key].arn", "max_receive_count"),
        ("aws_sqs_queue", "work"): ("aws_sqs_queue.work_dlq[each.key].arn", None),
        ("aws_sqs_queue", "ses_events"): ("aws_sqs_queue.ses_events_dlq[0].arn", None),
    }
    for address, (target, _) in redrives.items():
        body = module.resources.get(address, {})
        if target not in str(body.get("redrive_policy", "")):
            problems.append(f"{address[1]}: no redrive policy to {target}")
    for key, args in built(("aws_sqs_queue", "consumer")).items():
        count = re.search(r"maxReceiveCount = ([\w.]+)", args["redrive_policy"])
        if count is None:
            problems.append(f"queue {key}: no maxReceiveCount")
            continue
        scope = {"var": SimpleNamespace(topology=_Attrs(topology))}
        got = evaluate("${" + count.group(1) + "}", scope)
        if got != topology["max_receive_count"]:
            problems.append(f"queue {key}: maxReceiveCount {got}")
        if args.get("visibility_timeout_seconds") != topology["visibility_timeout"]:
            problems.append(f"queue {key}: visibility {args.get('visibility_timeout_seconds')}")
    for key, args in built(("aws_sqs_queue", "work")).items():
        if key not in work:
            continue  # reported above
        if args.get("visibility_timeout_seconds") != work[key]["visibility_timeout"]:
            problems.append(f"work queue {key}: visibility {args['visibility_timeout_seconds']}")
        if "each.value.max_receive_count" not in args["redrive_policy"]:
            problems.append(f"work queue {key}: maxReceiveCount not the topology's")

    # subscriptions: one per (topic, queue), raw, filtered on `type` like the provisioner
    address = ("aws_sns_topic_subscription", "consumer")
    subs = built(address)
    wanted = {f"{s['context']}.{s['consumer']}": s for s in topology["subscriptions"]}
    if set(subs) != set(wanted):
        problems.append(f"subscriptions {sorted(subs)} != {sorted(wanted)}")
    for key, args in subs.items():
        if key not in wanted:
            continue
        sub = wanted[key]
        if args.get("raw_message_delivery") is not True:
            problems.append(f"subscription {key} is not raw")
        if args.get("filter_policy_scope") != "MessageAttributes":
            problems.append(f"subscription {key} filters on {args.get('filter_policy_scope')}")
        if args.get("filter_policy") != "${jsonencode({type = sort(each.value.types)})}":
            problems.append(f"subscription {key}: filter policy {args.get('filter_policy')}")
        provisioner = _filter_policy(
            Subscription(sub["context"], sub["consumer"], tuple(sub["types"]))
        )
        if provisioner != {"type": sorted(sub["types"])}:
            problems.append(f"subscription {key}: the provisioner filters {provisioner}")
        if args.get("topic_arn") != "${aws_sns_topic.context[each.value.context].arn}":
            problems.append(f"subscription {key}: topic {args.get('topic_arn')}")
        if args.get("endpoint") != "${aws_sqs_queue.consumer[each.value.consumer].arn}":
            problems.append(f"subscription {key}: endpoint {args.get('endpoint')}")
    return problems


@pytest.fixture(scope="module")
def bus() -> Module:
    return parse_module(BUS)


@pytest.fixture(scope="module")
def iam() -> Module:
    return parse_module(IAM)


def test_every_module_file_parses_and_has_the_layout() -> None:
    for folder in (BUS, IAM):
        assert sorted(p.name for p in folder.glob("*.tf")) == [
            "main.tf",
            "outputs.tf",
            "variables.tf",
            "versions.tf",
        ]
        for path in folder.glob("*.tf"):
            hcl2.loads(path.read_text())


def test_committed_topology_is_the_catalogs_with_the_render_work_queue() -> None:
    text = (TERRAFORM / "bus-topology.json").read_text()
    assert topology_file_problems(text) == []
    work = committed_topology()["work_queues"]["render-work"]
    assert (work["queue"], work["dlq"]) == ("pingvas-render-work", "pingvas-render-work-dlq")
    assert (work["visibility_timeout"], work["max_receive_count"]) == (60, 10)
    assert work["dlq_retention_seconds"] == 14 * 24 * 3600


def test_a_stale_topology_file_is_caught() -> None:
    stale = committed_topology()
    del stale["work_queues"]["render-work"]
    assert topology_file_problems(json.dumps(stale, indent=2, sort_keys=True) + "\n")


def test_the_bus_module_builds_exactly_the_topology(bus: Module) -> None:
    assert bus_problems(bus, committed_topology()) == []
    # and the names are the shared ones
    topics = {
        a["name"] for a in instances(bus, ("aws_sns_topic", "context"), catalog_topology()).values()
    }
    assert {"pingvas-billing", "pingvas-render", "pingvas-tenants", "pingvas-mail"} <= topics
    work = instances(bus, ("aws_sqs_queue", "work"), catalog_topology())
    assert work["render-work"]["name"] == "pingvas-render-work"


def test_a_bus_module_missing_the_work_queue_or_a_subscription_is_caught(bus: Module) -> None:
    broken = copy.deepcopy(bus)
    del broken.resources[("aws_sqs_queue", "work")]
    assert any("aws_sqs_queue.work" in p for p in bus_problems(broken, committed_topology()))

    broken = copy.deepcopy(bus)
    sub = broken.resources[("aws_sns_topic_subscription", "consumer")]
    sub["raw_message_delivery"] = False
    sub["filter_policy"] = "${jsonencode({})}"
    problems = bus_problems(broken, committed_topology())
    assert any("is not raw" in p for p in problems)
    assert any("filter policy" in p for p in problems)

    broken = copy.deepcopy(bus)
    broken.resources[("aws_sqs_queue", "dlq")]["sqs_managed_sse_enabled"] = False
    assert any("not encrypted" in p for p in bus_problems(broken, committed_topology()))

    # a topology with a queue the module does not know about (e.g. for_each by hand)
    more = copy.deepcopy(committed_topology())
    more["work_queues"]["export-work"] = dict(
        more["work_queues"]["render-work"], queue="pingvas-export-work"
    )
    assert bus_problems(bus, more) == []  # for_each follows the file
    broken = copy.deepcopy(bus)
    broken.resources[("aws_sqs_queue", "work")]["for_each"] = "${local.queues}"
    assert any("work queues" in p for p in bus_problems(broken, more))


def test_queue_policies_allow_only_their_topics_and_ses_may_publish(bus: Module) -> None:
    policy = bus.data[("aws_iam_policy_document", "consumer_queue")]
    allow = policy["statement"][0]
    assert allow["actions"] == ["sqs:SendMessage"]
    assert allow["principals"][0]["identifiers"] == ["sns.amazonaws.com"]
    condition = allow["condition"][0]
    assert (condition["test"], condition["variable"]) == ("ArnEquals", "aws:SourceArn")
    assert condition["values"] == (
        "${[for context in local.topics_of[each.key] : aws_sns_topic.context[context].arn]}"
    )
    assert bus.locals["topics_of"] == (
        "${{for consumer in keys(local.queues) : consumer => distinct([for s in "
        "var.topology.subscriptions : s.context if s.consumer == consumer])}}"
    )
    ses = bus.data[("aws_iam_policy_document", "ses_events_topic")]["statement"][0]
    assert ses["actions"] == ["sns:Publish"]
    assert ses["principals"][0]["identifiers"] == ["ses.amazonaws.com"]
    assert {c["variable"] for c in ses["condition"]} == {"aws:SourceAccount", "aws:SourceArn"}
    # SES cannot publish to a topic under the AWS managed key: its own key without one
    assert "aws_kms_key.ses_events" in bus.locals["ses_events_key"]


def test_bus_outputs_and_variables_are_the_shared_names(bus: Module, iam: Module) -> None:
    assert set(bus.variables) == {"topology", "environment", "kms_key_arn", "tags"}
    assert set(bus.outputs) == {
        "topic_arns",
        "queue_arns",
        "queue_urls",
        "dlq_arns",
        "work_queue_arns",
        "work_queue_urls",
        "ses_events_topic_arn",
        "ses_events_queue_arn",
    }
    assert set(iam.variables) == {
        "environment",
        "access",
        "oidc_provider_arn",
        "oidc_issuer",
        "namespace",
        "topic_arns",
        "queue_arns",
        "dlq_arns",
        "work_queue_arns",
        "ses_events_queue_arn",
        "images_bucket_arn",
        "models_bucket_arn",
        "ses_identity_arns",
        "ses_configuration_set_arn",
        "secrets_kms_key_arn",
        "account_id",
        "region",
        "aurora_master_secret_arn",
        "tags",
    }
    assert set(iam.outputs) == {"role_arns", "external_secrets_role_arn"}


# -- (b) least privilege -----------------------------------------------------------------

ACCOUNT = "222222222222"
REGION = "ap-northeast-2"
IMAGES = f"arn:aws:s3:::pingvas-prod-images-{ACCOUNT}"
MODELS = f"arn:aws:s3:::pingvas-prod-models-{ACCOUNT}"
IDENTITY = f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/pingvas.example"
CONFIG_SET = f"arn:aws:ses:{REGION}:{ACCOUNT}:configuration-set/pingvas-mail"


def fake_arns(topology: Mapping[str, Any]) -> dict[str, Any]:
    """The iam module's inputs as the bus and storage modules would give them."""
    sqs = f"arn:aws:sqs:{REGION}:{ACCOUNT}"
    return {
        "topic_arns": {
            c: f"arn:aws:sns:{REGION}:{ACCOUNT}:{n}" for c, n in topology["topics"].items()
        },
        "queue_arns": {c: f"{sqs}:{q['queue']}" for c, q in topology["queues"].items()},
        "dlq_arns": {c: f"{sqs}:{q['dlq']}" for c, q in topology["queues"].items()},
        "work_queue_arns": {n: f"{sqs}:{w['queue']}" for n, w in topology["work_queues"].items()},
        "ses_events_queue_arn": f"{sqs}:{topology['ses_events']['queue']}",
        "images_bucket_arn": IMAGES,
        "models_bucket_arn": MODELS,
        "ses_identity_arns": [IDENTITY],
        "ses_configuration_set_arn": CONFIG_SET,
    }


# The iam module's templating, word for word (test_the_iam_module_is_this_template keeps
# the HCL and this mirror the same): every reference to its ARNs, objects joined.
IAM_REF_ARNS = (
    '${merge({for k, v in var.topic_arns : "topic:${k}" => [v]}, '
    '{for k, v in var.queue_arns : "queue:${k}" => [v]}, '
    '{for k, v in var.dlq_arns : "dlq:${k}" => [v]}, '
    '{for k, v in var.work_queue_arns : "work_queue:${k}" => [v]}, '
    '{for k, v in local.bucket_arns : "bucket:${k}" => [v]}, '
    "{ses_events_queue = var.ses_events_queue_arn == null ? [] : [var.ses_events_queue_arn], "
    "ses_identity = var.ses_identity_arns, "
    "ses_configuration_set = [var.ses_configuration_set_arn]})}"
)
IAM_POLICIES = (
    "${{for name, workload in local.workloads : name => [for s in workload.statements : "
    "{sid = s.sid, actions = s.actions, conditions = s.conditions, resources = flatten([for r "
    'in s.resources : startswith(r, "object:") ? ["${local.bucket_arns[split(":", r)[1]]}/'
    '${split(":", r)[2]}"] : local.ref_arns[r]])}] if length(workload.statements) > 0}}'
)


def render_policies(access: Mapping[str, Any], arns: Mapping[str, Any]) -> dict[str, dict]:
    """What aws_iam_role_policy.workload holds per workload (IAM JSON)."""
    buckets = {"images": arns["images_bucket_arn"], "models": arns["models_bucket_arn"]}
    refs: dict[str, list[str]] = {}
    for kind, key in (
        ("topic", "topic_arns"),
        ("queue", "queue_arns"),
        ("dlq", "dlq_arns"),
        ("work_queue", "work_queue_arns"),
    ):
        refs |= {f"{kind}:{k}": [v] for k, v in arns[key].items()}
    refs |= {f"bucket:{k}": [v] for k, v in buckets.items()}
    queue = arns["ses_events_queue_arn"]
    refs |= {
        "ses_events_queue": [] if queue is None else [queue],
        "ses_identity": list(arns["ses_identity_arns"]),
        "ses_configuration_set": [arns["ses_configuration_set_arn"]],
    }
    policies = {}
    for name, workload in access["workloads"].items():
        if not workload["statements"]:
            continue
        statements = []
        for s in workload["statements"]:
            resources: list[str] = []
            for r in s["resources"]:
                if r.startswith("object:"):
                    parts = r.split(":")
                    resources.append(f"{buckets[parts[1]]}/{parts[2]}")
                else:
                    resources.extend(refs[r])  # KeyError: the plan fails likewise
            statement: dict[str, Any] = {
                "Sid": s["sid"],
                "Effect": "Allow",
                "Action": list(s["actions"]),
                "Resource": resources,
            }
            if s["conditions"]:
                statement["Condition"] = {
                    c["test"]: {c["variable"]: list(c["values"])} for c in s["conditions"]
                }
            statements.append(statement)
        policies[name] = {"Version": "2012-10-17", "Statement": statements}
    return policies


def policy_grants(policy: Mapping[str, Any]) -> set[tuple[str, str, str]]:
    """(action, resource, condition) for every pair a policy allows."""
    grants = set()
    for s in policy["Statement"]:
        assert s["Effect"] == "Allow"
        condition = json.dumps(s.get("Condition", {}), sort_keys=True)
        for action in s["Action"]:
            for resource in s["Resource"]:
                grants.add((action, resource, condition))
    return grants


#: the bus's calls (pingvas_kit.bus.sqs) as IAM actions, written out here on purpose
#: rather than imported: a change of the derivation must show in this test too
BUS_PUBLISH = {"sns:Publish", "sns:CreateTopic"}
BUS_CONSUME = {
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
}
BUS_DEAD_LETTER = {"sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"}


def expected_grants(
    specs: Mapping[str, ServiceSpec], arns: Mapping[str, Any]
) -> dict[str, set[tuple[str, str, str]]]:
    """What each workload's manifest declares (and its bus use implies), as grants."""
    buckets = {"images": arns["images_bucket_arn"], "models": arns["models_bucket_arn"]}
    queues = dict(arns["work_queue_arns"])
    for spec in specs.values():
        if spec.ses_events:
            queues[spec.ses_events.name] = arns["ses_events_queue_arn"]
    none = json.dumps({})
    out: dict[str, set[tuple[str, str, str]]] = {}
    for spec in specs.values():
        for workload in spec.all_workloads:
            grants: set[tuple[str, str, str]] = set()
            if workload.name == spec.name:
                if spec.context and spec.publishes:
                    topic = arns["topic_arns"][spec.context]
                    grants |= {(a, topic, none) for a in BUS_PUBLISH}
                if spec.consumes:
                    grants |= {(a, arns["queue_arns"][spec.name], none) for a in BUS_CONSUME}
                    grants |= {(a, arns["dlq_arns"][spec.name], none) for a in BUS_DEAD_LETTER}
            for g in workload.aws.s3:
                if g.lists:
                    cond = json.dumps({"StringLike": {"s3:prefix": [g.prefix]}}, sort_keys=True)
                    grants.add(("s3:ListBucket", buckets[g.bucket], cond))
                else:
                    grants |= {(a, f"{buckets[g.bucket]}/{g.prefix}", none) for a in g.actions}
            for q in workload.aws.queues:
                grants |= {(a, queues[q.queue], none) for a in q.actions}
            for a in workload.aws.ses:
                for resource in [*arns["ses_identity_arns"], arns["ses_configuration_set_arn"]]:
                    grants.add((a, resource, none))
            out[workload.name] = grants
    return out


def privilege_problems(
    policies: Mapping[str, Any], expected: Mapping[str, set[tuple[str, str, str]]]
) -> list[str]:
    """Every way the rendered policies differ from the declarations, or are too wide."""
    problems = []
    for name in sorted(set(policies) | set(expected)):
        policy = policies.get(name, {"Statement": []})
        for s in policy["Statement"]:
            for action in s["Action"]:
                if "*" in action:
                    problems.append(f"{name}: wildcard action {action}")
            for resource in s["Resource"]:
                if resource == "*" or resource.endswith(":*") or resource.endswith(":::*"):
                    problems.append(f"{name}: wildcard resource {resource}")
        got = policy_grants(policy)
        wanted = expected.get(name, set())
        for extra in sorted(got - wanted):
            problems.append(f"{name}: grants {extra} that its manifest does not declare")
        for missing in sorted(wanted - got):
            problems.append(f"{name}: lacks {missing} that its manifest declares")
    return problems


@pytest.fixture(scope="module")
def access() -> dict[str, Any]:
    return json.loads((TERRAFORM / "access.json").read_text())


@pytest.fixture(scope="module")
def policies(access: dict[str, Any]) -> dict[str, Any]:
    return render_policies(access, fake_arns(committed_topology()))


def test_committed_access_is_the_catalogs(access: dict[str, Any]) -> None:
    assert access == build_access(discover(), prefix="pingvas").to_dict()
    assert set(access["workloads"]) == WORKLOADS


def iam_template_problems(iam: Module) -> list[str]:
    """Where the iam module's policy templating is not the one render_policies mirrors."""
    problems = []
    if iam.locals.get("ref_arns") != IAM_REF_ARNS:
        problems.append(f"local.ref_arns is {iam.locals.get('ref_arns')}")
    if iam.locals.get("policies") != IAM_POLICIES:
        problems.append(f"local.policies is {iam.locals.get('policies')}")
    if iam.locals.get("bucket_arns") != {
        "images": "${var.images_bucket_arn}",
        "models": "${var.models_bucket_arn}",
    }:
        problems.append("local.bucket_arns changed")
    if iam.locals.get("workloads") != "${var.access.workloads}":
        problems.append("local.workloads is not access.json's")
    document = iam.data.get(("aws_iam_policy_document", "workload"), {})
    dynamic = document.get("dynamic", [])
    statement = dynamic[0].get("statement", {}) if len(dynamic) == 1 else {}
    content = (statement.get("content") or [{}])[0]
    expected = {
        "sid": "${statement.value.sid}",
        "effect": "Allow",
        "actions": "${statement.value.actions}",
        "resources": "${statement.value.resources}",
    }
    if document.get("for_each") != "${local.policies}" or statement.get("for_each") != (
        "${each.value}"
    ):
        problems.append("the policy document is not one statement per access.json statement")
    if {k: content.get(k) for k in expected} != expected or set(content) - {
        *expected,
        "dynamic",
    }:
        problems.append(f"a statement is {content}")
    if "statement" in document:
        problems.append("the policy document has statements beside access.json's")
    policy = iam.resources.get(("aws_iam_role_policy", "workload"), {})
    if policy.get("for_each") != "${local.policies}" or policy.get("policy") != (
        "${data.aws_iam_policy_document.workload[each.key].json}"
    ):
        problems.append("aws_iam_role_policy.workload is not the rendered document")
    extra = [
        ".".join(a)
        for a in iam.resources
        if a[0] in ("aws_iam_policy", "aws_iam_role_policy_attachment", "aws_iam_policy_attachment")
    ]
    if extra:
        problems.append(f"policies beside the inline ones: {extra}")
    return problems


def test_the_iam_module_is_the_template_mirrored_here(iam: Module) -> None:
    assert iam_template_problems(iam) == []


def test_a_changed_iam_template_is_caught(iam: Module) -> None:
    widened = copy.deepcopy(iam)
    widened.locals["policies"] = IAM_POLICIES.replace("actions = s.actions", 'actions = ["sqs:*"]')
    assert any("local.policies" in p for p in iam_template_problems(widened))
    attached = copy.deepcopy(iam)
    attached.resources[("aws_iam_role_policy_attachment", "admin")] = {
        "policy_arn": "arn:aws:iam::aws:policy/AdministratorAccess"
    }
    assert any("beside the inline" in p for p in iam_template_problems(attached))
    extra = copy.deepcopy(iam)
    document = extra.data[("aws_iam_policy_document", "workload")]
    document["dynamic"][0]["statement"]["content"][0]["not_actions"] = ["iam:*"]
    assert any("a statement is" in p for p in iam_template_problems(extra))


def test_one_role_per_workload_trusting_exactly_its_service_account(iam: Module) -> None:
    role = iam.resources[("aws_iam_role", "workload")]
    assert role["for_each"] == "${local.workloads}"
    assert role["name"] == "pingvas-${var.environment}-${each.key}"
    trust = iam.data[("aws_iam_policy_document", "trust")]["statement"][0]
    assert trust["actions"] == ["sts:AssumeRoleWithWebIdentity"]
    assert trust["principals"][0] == {
        "type": "Federated",
        "identifiers": ["${var.oidc_provider_arn}"],
    }
    conditions = {c["variable"]: (c["test"], c["values"]) for c in trust["condition"]}
    assert conditions == {
        "${var.oidc_issuer}:sub": (
            "StringEquals",
            ["system:serviceaccount:${var.namespace}:${each.key}"],
        ),
        "${var.oidc_issuer}:aud": ("StringEquals", ["sts.amazonaws.com"]),
    }
    eso = iam.resources[("aws_iam_role", "external_secrets")]
    assert eso["name"] == "pingvas-${var.environment}-external-secrets"
    eso_trust = iam.data[("aws_iam_policy_document", "external_secrets_trust")]["statement"][0]
    subs = [c["values"] for c in eso_trust["condition"] if c["variable"].endswith(":sub")]
    assert subs == [["system:serviceaccount:external-secrets:external-secrets"]]
    reads = iam.data[("aws_iam_policy_document", "external_secrets")]["statement"][0]
    assert reads["actions"] == ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
    assert reads["resources"][0].endswith(":secret:pingvas/${var.environment}/*")
    assert reads["resources"][1] == "${var.aurora_master_secret_arn}"


def test_each_role_grants_exactly_what_its_manifest_declares(policies: dict[str, Any]) -> None:
    expected = expected_grants(discover(), fake_arns(committed_topology()))
    assert set(expected) == WORKLOADS
    assert privilege_problems(policies, expected) == []


def test_the_roles_that_must_hold_little_do(policies: dict[str, Any]) -> None:
    assert "gateway" not in policies  # a role with no policy at all
    actions = {
        name: {a for s in p["Statement"] for a in s["Action"]} for name, p in policies.items()
    }
    for name in ("tenants", "billing"):
        assert not {a for a in actions[name] if a.startswith(("s3:", "ses:"))}, name
    assert not {a for a in actions["render-worker"] if a.startswith("sns:")}
    assert {a for a in actions["search"] if a.startswith("s3:")} == {"s3:GetObject"}
    # the worker never deletes outside image keys, nor anything of the models bucket, and
    # only reads models
    worker = policy_grants(policies["render-worker"])
    deletes = {r for a, r, _ in worker if a == "s3:DeleteObject"}
    assert deletes == {f"{IMAGES}/tenants/*/images/*"}
    assert {a for a, r, _ in worker if r.startswith(MODELS)} == {"s3:GetObject", "s3:ListBucket"}
    # SES only for mail, only on its identity and configuration set
    ses = {
        (name, r)
        for name, p in policies.items()
        for a, r, _ in policy_grants(p)
        if a.startswith("ses:")
    }
    assert ses == {("mail", IDENTITY), ("mail", CONFIG_SET)}
    # nobody else's queue: each consumer's queue grants name only its own queue
    for name, policy in policies.items():
        for action, resource, _ in policy_grants(policy):
            if action.startswith("sqs:") and ":pingvas-" in resource:
                queue = resource.rsplit(":", 1)[1].removeprefix("pingvas-").removesuffix("-dlq")
                assert queue in (name, "render-work", "mail-ses-events"), (name, resource)


def test_a_widened_policy_is_caught(policies: dict[str, Any]) -> None:
    expected = expected_grants(discover(), fake_arns(committed_topology()))
    widened = copy.deepcopy(policies)
    widened["billing"]["Statement"][1]["Action"] = ["sqs:*"]
    problems = privilege_problems(widened, expected)
    assert any("wildcard action sqs:*" in p for p in problems)
    assert any("lacks" in p for p in problems)

    star = copy.deepcopy(policies)
    star["search"]["Statement"][0]["Resource"].append("*")
    assert any("wildcard resource" in p for p in privilege_problems(star, expected))

    other = copy.deepcopy(policies)
    other["search"]["Statement"][0]["Resource"].append(
        fake_arns(committed_topology())["queue_arns"]["billing"]
    )
    assert any("does not declare" in p for p in privilege_problems(other, expected))


def test_a_manifest_prefix_missing_from_access_json_is_caught(policies: dict[str, Any]) -> None:
    specs = dict(discover())
    search = specs["search"]
    wider = dataclasses.replace(
        search,
        aws=AwsAccess(
            s3=(
                *search.aws.s3,
                S3Grant("images", "tenants/*/exports/*", ("s3:GetObject",), "a new feature"),
            )
        ),
    )
    specs["search"] = wider
    problems = privilege_problems(policies, expected_grants(specs, fake_arns(committed_topology())))
    assert problems == [
        f"search: lacks ('s3:GetObject', '{IMAGES}/tenants/*/exports/*', '{{}}') that its "
        "manifest declares"
    ]


# -- (b, continued) the declarations against the code's real AWS calls ------------------

#: every AWS SDK call in the sources, by file: who makes it, or why no role needs it
DEV_ONLY = "dev-only"  # provisioning at start-up: off on AWS, where Terraform owns it
OPERATOR = "operator"  # `pingvas-bus dead-letters`/purge, run with an operator's rights
CALLS: dict[tuple[str, str], tuple[str, ...]] = {
    # the bus (every service through pingvas_kit): bus:publish / bus:consume
    ("libs/src/pingvas_kit/bus/sqs/_clients.py", "create_topic"): ("bus:publish",),
    ("libs/src/pingvas_kit/bus/sqs/_clients.py", "get_queue_url"): ("bus:consume",),
    ("libs/src/pingvas_kit/bus/sqs/_clients.py", "get_queue_attributes"): ("bus:consume",),
    ("libs/src/pingvas_kit/bus/sqs/_publish.py", "publish_batch"): ("bus:publish",),
    ("libs/src/pingvas_kit/bus/sqs/_consume.py", "receive_message"): ("bus:consume",),
    ("libs/src/pingvas_kit/bus/sqs/_consume.py", "delete_message_batch"): ("bus:consume",),
    ("libs/src/pingvas_kit/bus/sqs/_consume.py", "change_message_visibility"): ("bus:consume",),
    ("libs/src/pingvas_kit/bus/sqs/_consume.py", "change_message_visibility_batch"): (
        "bus:consume",
    ),
    ("libs/src/pingvas_kit/bus/sqs/_consume.py", "send_message"): ("bus:dead-letter",),
    # the DLQ's depth (pingvas_bus_dead_letter_depth), every 30 s
    ("libs/src/pingvas_kit/bus/sqs/_consume.py", "get_queue_attributes"): ("bus:dead-letter",),
    ("libs/src/pingvas_kit/bus/sqs/_consume.py", "purge_queue"): (OPERATOR,),
    # `pingvas-bus redrive`: dead letters back to the consumer's queue, run by an operator
    ("libs/src/pingvas_kit/bus/sqs/_consume.py", "send_message_batch"): (OPERATOR,),
    **{
        ("libs/src/pingvas_kit/bus/sqs/_provision.py", op): (DEV_ONLY,)
        for op in (
            "list_topics",
            "create_queue",
            "get_queue_attributes",
            "set_queue_attributes",
            "list_subscriptions_by_topic",
            "subscribe",
            "get_subscription_attributes",
            "set_subscription_attributes",
            "unsubscribe",
        )
    },
    # render
    ("services/render/src/pingvas_render/adapters/s3.py", "head_bucket"): (DEV_ONLY,),
    ("services/render/src/pingvas_render/adapters/s3.py", "create_bucket"): (DEV_ONLY,),
    ("services/render/src/pingvas_render/adapters/s3.py", "get_object"): ("render",),
    ("services/render/src/pingvas_render/adapters/s3.py", "delete_objects"): ("render",),
    ("services/render/src/pingvas_render/adapters/s3.py", "list_objects_v2"): ("render",),
    ("services/render/src/pingvas_render/adapters/work_queue.py", "get_queue_url"): (
        "render",
        "render-worker",
    ),
    ("services/render/src/pingvas_render/adapters/work_queue.py", "create_queue"): (DEV_ONLY,),
    # ensure() (dev-only) and depth(), which nothing in production calls
    ("services/render/src/pingvas_render/adapters/work_queue.py", "get_queue_attributes"): (
        DEV_ONLY,
    ),
    ("services/render/src/pingvas_render/adapters/work_queue.py", "set_queue_attributes"): (
        DEV_ONLY,
    ),
    ("services/render/src/pingvas_render/adapters/work_queue.py", "send_message"): ("render",),
    ("services/render/src/pingvas_render/adapters/work_queue.py", "receive_message"): (
        "render-worker",
    ),
    ("services/render/src/pingvas_render/adapters/work_queue.py", "change_message_visibility"): (
        "render-worker",
    ),
    ("services/render/src/pingvas_render/adapters/work_queue.py", "delete_message"): (
        "render-worker",
    ),
    ("services/render/src/pingvas_render/worker/storage.py", "put_object"): ("render-worker",),
    ("services/render/src/pingvas_render/worker/storage.py", "delete_objects"): ("render-worker",),
    # the chart's init container: `aws s3 sync s3://<models>/models/ /models`
    ("deploy/helm/pingvas/templates/worker.yaml", "list_objects_v2"): ("render-worker",),
    ("deploy/helm/pingvas/templates/worker.yaml", "get_object"): ("render-worker",),
    # search
    ("services/search/src/pingvas_search/adapters/s3.py", "get_object"): ("search",),
    # mail
    **{
        ("services/mail/src/pingvas_mail/adapters/ses.py", op): (DEV_ONLY,)
        for op in (
            "create_email_identity",
            "create_configuration_set",
            "create_topic",
            "create_queue",
            "get_queue_attributes",
            "set_queue_attributes",
            "list_subscriptions_by_topic",
            "subscribe",
            "create_configuration_set_event_destination",
        )
    },
    ("services/mail/src/pingvas_mail/adapters/ses.py", "get_queue_url"): ("mail",),
    ("services/mail/src/pingvas_mail/adapters/ses.py", "send_email"): ("mail",),
    ("services/mail/src/pingvas_mail/usecases/notifications.py", "receive_message"): ("mail",),
    ("services/mail/src/pingvas_mail/usecases/notifications.py", "delete_message"): ("mail",),
}

#: an SDK operation -> the IAM actions it needs
ACTIONS = {
    "create_topic": {"sns:CreateTopic"},
    "publish_batch": {"sns:Publish"},
    "get_queue_url": {"sqs:GetQueueUrl"},
    "get_queue_attributes": {"sqs:GetQueueAttributes"},
    "receive_message": {"sqs:ReceiveMessage"},
    "delete_message": {"sqs:DeleteMessage"},
    "delete_message_batch": {"sqs:DeleteMessage"},
    "change_message_visibility": {"sqs:ChangeMessageVisibility"},
    "change_message_visibility_batch": {"sqs:ChangeMessageVisibility"},
    "send_message": {"sqs:SendMessage"},
    "get_object": {"s3:GetObject"},
    "delete_objects": {"s3:DeleteObject"},
    "list_objects_v2": {"s3:ListBucket"},
    # the worker tags each object (tenant, job): PutObject with Tagging needs both
    "put_object": {"s3:PutObject", "s3:PutObjectTagging"},
    # SES v2 SendEmail with raw content
    "send_email": {"ses:SendEmail", "ses:SendRawEmail"},
}

_CLIENT_CALL = re.compile(r"\b(?:_?sns|_?sqs|sesv2|_?s3|_?client)\.(\w+)\(")
_NAMED_CALL = re.compile(r"\b(?:get_paginator|generate_presigned_url)\(\s*\"(\w+)\"")


@cache
def sdk_operations() -> frozenset[str]:
    import botocore.session
    from botocore import xform_name

    session = botocore.session.get_session()
    ops: set[str] = set()
    for service in ("s3", "sqs", "sns", "sesv2"):
        ops |= {xform_name(o) for o in session.get_service_model(service).operation_names}
    return frozenset(ops)


def scan_calls(root: Path = REPO) -> set[tuple[str, str]]:
    """(file, SDK operation) for every AWS call in the services and the kit."""
    found = set()
    files = [
        *sorted((root / "libs" / "src").rglob("*.py")),
        *sorted((root / "services").glob("*/src/**/*.py")),
    ]
    for path in files:
        text = path.read_text()
        names = _CLIENT_CALL.findall(text) + _NAMED_CALL.findall(text)
        for name in names:
            if name in sdk_operations():
                found.add((path.relative_to(root).as_posix(), name))
    worker = root / "deploy" / "helm" / "pingvas" / "templates" / "worker.yaml"
    if worker.exists() and re.search(r'"aws", "s3", "sync"', worker.read_text()):
        rel = worker.relative_to(root).as_posix()
        found |= {(rel, "list_objects_v2"), (rel, "get_object")}
    return found


def call_problems(
    found: set[tuple[str, str]],
    calls: Mapping[tuple[str, str], tuple[str, ...]],
    access: Mapping[str, Any],
    specs: Mapping[str, ServiceSpec],
) -> list[str]:
    problems = [f"{f}: {op} is not classified in CALLS" for f, op in sorted(found - set(calls))]
    problems += [
        f"{f}: {op} is classified but no longer called" for f, op in sorted(set(calls) - found)
    ]
    needs: dict[str, set[str]] = {}
    for (_, op), who in calls.items():
        for w in who:
            if w in (DEV_ONLY, OPERATOR):
                continue
            needs.setdefault(w, set()).update(ACTIONS[op])
    for name, workload in access["workloads"].items():
        spec = specs[workload["service"]]
        wanted = set()
        if name == spec.name:
            if spec.context and spec.publishes:
                wanted |= needs["bus:publish"]
            if spec.consumes:
                wanted |= needs["bus:consume"] | needs["bus:dead-letter"]
        wanted |= needs.get(name, set())
        granted = {a for s in workload["statements"] for a in s["actions"]}
        for a in sorted(granted - wanted):
            problems.append(f"{name}: access.json grants {a}, which its code never calls")
        for a in sorted(wanted - granted):
            problems.append(f"{name}: its code calls {a}, which access.json does not grant")
    return problems


def test_every_aws_call_in_the_code_is_classified_and_granted(access: dict[str, Any]) -> None:
    assert call_problems(scan_calls(), CALLS, access, discover()) == []


def test_an_unclassified_or_ungranted_call_is_caught(access: dict[str, Any]) -> None:
    found = scan_calls() | {("services/search/src/pingvas_search/adapters/s3.py", "put_object")}
    problems = call_problems(found, CALLS, access, discover())
    assert problems == [
        "services/search/src/pingvas_search/adapters/s3.py: put_object is not classified in CALLS"
    ]
    calls = dict(CALLS)
    calls[("services/search/src/pingvas_search/adapters/s3.py", "put_object")] = ("search",)
    problems = call_problems(found, calls, access, discover())
    assert "search: its code calls s3:PutObject, which access.json does not grant" in problems

    widened = copy.deepcopy(access)
    widened["workloads"]["tenants"]["statements"][0]["actions"].append("sns:Subscribe")
    problems = call_problems(scan_calls(), CALLS, widened, discover())
    assert problems == ["tenants: access.json grants sns:Subscribe, which its code never calls"]


def test_the_declared_key_patterns_match_the_real_keys() -> None:
    from pingvas_render.adapters.s3 import tenant_prefix
    from pingvas_render.worker.images import png_key, thumbnail_key

    keys = [png_key("t-1", "img-1"), thumbnail_key("t-1", "img-1")]
    specs = discover()
    for spec in specs.values():
        for workload in spec.all_workloads:
            for grant in workload.aws.s3:
                if grant.bucket != "images":
                    continue
                for key in keys:  # every images grant covers the image keys...
                    assert fnmatch.fnmatchcase(key, grant.prefix), (workload.name, grant)
                # ...and nothing outside tenants/
                assert not fnmatch.fnmatchcase("exports/all.json", grant.prefix)
    render = {g.prefix for g in specs["render"].aws.s3 if "s3:DeleteObject" in g.actions}
    assert render == {"tenants/*"}
    assert fnmatch.fnmatchcase(tenant_prefix("t-1") + "anything/left.png", "tenants/*")
    search = specs["search"].aws.s3
    assert [g.prefix for g in search] == ["tenants/*/images/*"]
    assert not fnmatch.fnmatchcase("tenants/t-1/exports/x.json", search[0].prefix)


def test_the_work_queue_adapter_reads_the_manifest() -> None:
    from pingvas_render.adapters import work_queue
    from pingvas_render.manifest import WORK_QUEUE

    assert work_queue.DEFAULT_QUEUE_NAME == WORK_QUEUE.name == "render-work"
    assert work_queue.DEFAULT_VISIBILITY_S == WORK_QUEUE.visibility_timeout_s == 60
    assert work_queue.DEFAULT_MAX_RECEIVE_COUNT == WORK_QUEUE.max_receive_count == 10
    assert work_queue.DLQ_RETENTION_SECONDS == WORK_QUEUE.dlq_retention_s


# -- (c) checkov -------------------------------------------------------------------------


def _skips_without_reason(folder: Path) -> list[str]:
    bad = []
    for path in folder.rglob("*.tf"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for m in re.finditer(r"checkov:skip=([A-Z0-9_]+)(:?)(.*)", line):
                if not m.group(2) or len(m.group(3).strip()) < 10:
                    bad.append(f"{path.name}:{number}: {m.group(1)} without a reason")
    return bad


def test_checkov_passes_on_the_bus_and_iam_modules(checkov: Path) -> None:
    for folder in (BUS, IAM):
        result = run_checkov(checkov, ["--framework", "terraform", "-d", str(folder), "-o", "json"])
        report = json.loads(result.stdout)
        failed = [
            f"{c['check_id']} {c['resource']} ({c['file_path']})"
            for c in report.get("results", {}).get("failed_checks", [])
        ]
        assert result.returncode == 0 and failed == [], failed or result.stderr[-2000:]
        assert report["summary"]["passed"] > 20, folder  # it did look at the module
        assert report["summary"]["parsing_errors"] == 0
        assert _skips_without_reason(folder) == []


def test_checkov_fails_an_unencrypted_queue_and_a_skip_without_reason(
    checkov: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "bus"
    shutil.copytree(BUS, broken)
    main = broken / "main.tf"
    text = main.read_text()
    dlq = text.index('resource "aws_sqs_queue" "dlq"')
    head, tail = text[:dlq], text[dlq:]
    tail = tail.replace(
        "  sqs_managed_sse_enabled   = local.sqs_managed_sse ? true : null\n"
        "  kms_master_key_id         = var.kms_key_arn\n",
        "  sqs_managed_sse_enabled   = false\n",
        1,
    )
    main.write_text(head + tail)
    result = run_checkov(checkov, ["--framework", "terraform", "-d", str(broken)])
    assert result.returncode != 0 and "CKV_AWS_27" in result.stdout

    skip = "  #checkov:skip=CKV_AWS_27\n"
    main.write_text(
        text.replace(
            "  name                      = each.value.dlq\n",
            skip + "  name                      = each.value.dlq\n",
            1,
        )
    )
    assert any("CKV_AWS_27 without a reason" in p for p in _skips_without_reason(broken))
