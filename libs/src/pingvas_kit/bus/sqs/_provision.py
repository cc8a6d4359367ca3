"""Provisioning the SNS/SQS topology: topics, queues and their DLQs, policies, subscriptions.

Idempotent: what exists and matches is kept, what differs is updated, a subscription of
ours that the topology no longer wants is removed; `provision_report` says which. Every
subscription needs a non-empty filter policy on `type`, checked before anything is
created."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from ..base import log
from ..topology import DLQ_RETENTION_SECONDS, Subscription
from ._clients import SqsClients, _error_code

_NO_QUEUE = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}


def _filter_policy(subscription: Subscription) -> dict[str, list[str]]:
    if not subscription.types:
        raise ValueError(f"subscription {subscription} lists no event types")
    return {"type": sorted(subscription.types)}


def _queue_policy(queue_arn: str, topic_arns: Sequence[str]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowPingvasTopics",
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": sorted(topic_arns)}},
            }
        ],
    }


def _json_or_none(raw: str | None) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _normalise_policy(policy: Any) -> Any:
    """Policies compare equal whether a one-element list is written as a list or not."""
    if isinstance(policy, dict):
        return {k: _normalise_policy(v) for k, v in policy.items()}
    if isinstance(policy, list):
        items = [_normalise_policy(v) for v in policy]
        if len(items) == 1:
            return items[0]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    return policy


class SqsProvisioning(SqsClients):
    """provision(): make the broker match the topology."""

    def _report(self, action: str, kind: str, name: str) -> None:
        self.provision_report.append((action, kind, name))
        log.info("bus.provisioned", action=action, kind=kind, name=name)

    async def provision(self) -> None:
        self.provision_report = []
        topology = self.topology
        for sub in topology.subscriptions:
            _filter_policy(sub)  # fail before creating anything

        existing_topics = await self._existing_topic_arns()
        for context in topology.contexts:
            arn = await self._topic_arn(context)
            self._report("kept" if arn in existing_topics else "created", "topic", arn)

        for consumer in topology.consumers:
            dlq_name = topology.dlq_name(consumer)
            await self._ensure_queue(
                dlq_name, {"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)}, "dlq"
            )
            redrive = {
                "deadLetterTargetArn": await self._queue_arn(dlq_name),
                "maxReceiveCount": topology.max_receive_count,
            }
            queue_name = topology.queue_name(consumer)
            await self._ensure_queue(
                queue_name,
                {"VisibilityTimeout": str(self.visibility_timeout), "RedrivePolicy": redrive},
                "queue",
            )
            topic_arns = [
                await self._topic_arn(s.context) for s in topology.subscriptions_of(consumer)
            ]
            policy = _queue_policy(await self._queue_arn(queue_name), topic_arns)
            await self._ensure_queue(queue_name, {"Policy": policy}, "queue policy")

        for context in topology.contexts:
            await self._ensure_subscriptions(context)

    async def _existing_topic_arns(self) -> set[str]:
        arns: set[str] = set()
        async for page in self._sns.get_paginator("list_topics").paginate():
            arns.update(t["TopicArn"] for t in page.get("Topics", []))
        return arns

    async def _ensure_queue(self, name: str, wanted: dict[str, Any], kind: str) -> None:
        """Create the queue with `wanted` attributes, or set those that differ."""

        def encode(value: Any) -> str:
            return value if isinstance(value, str) else json.dumps(value, sort_keys=True)

        try:
            url = await self._queue_url(name)
        except ClientError as exc:
            if _error_code(exc) not in _NO_QUEUE:
                raise
            response = await self._sqs.create_queue(
                QueueName=name, Attributes={k: encode(v) for k, v in wanted.items()}
            )
            self._queue_urls[name] = response["QueueUrl"]
            self._report("created", kind, name)
            return
        response = await self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
        current = response.get("Attributes", {})
        changed: dict[str, str] = {}
        for key, value in wanted.items():
            if isinstance(value, str):
                same = current.get(key) == value
            elif key == "RedrivePolicy":
                now = _json_or_none(current.get(key)) or {}
                same = now.get("deadLetterTargetArn") == value["deadLetterTargetArn"] and str(
                    now.get("maxReceiveCount")
                ) == str(value["maxReceiveCount"])
            else:
                same = _normalise_policy(_json_or_none(current.get(key))) == _normalise_policy(
                    value
                )
            if not same:
                changed[key] = encode(value)
        if changed:
            await self._sqs.set_queue_attributes(QueueUrl=url, Attributes=changed)
            fresh = not any(current.get(key) for key in changed)  # e.g. a new queue's policy
            self._report("created" if fresh else "updated", kind, name)
        else:
            self._report("kept", kind, name)

    async def _ensure_subscriptions(self, context: str) -> None:
        topology = self.topology
        topic_arn = await self._topic_arn(context)
        wanted = {
            await self._queue_arn(topology.queue_name(s.consumer)): s
            for s in topology.subscriptions
            if s.context == context
        }
        ours = {await self._queue_arn(topology.queue_name(c)) for c in topology.consumers}
        existing: dict[str, str] = {}
        paginator = self._sns.get_paginator("list_subscriptions_by_topic")
        async for page in paginator.paginate(TopicArn=topic_arn):
            for sub in page.get("Subscriptions", []):
                if sub.get("Protocol") == "sqs" and sub["SubscriptionArn"].startswith("arn:"):
                    existing[sub["Endpoint"]] = sub["SubscriptionArn"]

        for queue_arn, subscription in wanted.items():
            policy = _filter_policy(subscription)
            label = (
                f"{topology.topic_name(context)} -> {topology.queue_name(subscription.consumer)}"
            )
            sub_arn = existing.get(queue_arn)
            if sub_arn is None:
                await self._sns.subscribe(
                    TopicArn=topic_arn,
                    Protocol="sqs",
                    Endpoint=queue_arn,
                    Attributes={
                        "RawMessageDelivery": "true",
                        "FilterPolicyScope": "MessageAttributes",
                        "FilterPolicy": json.dumps(policy),
                    },
                    ReturnSubscriptionArn=True,
                )
                self._report("created", "subscription", label)
                continue
            response = await self._sns.get_subscription_attributes(SubscriptionArn=sub_arn)
            current = response.get("Attributes", {})
            updates: list[tuple[str, str]] = []
            if current.get("FilterPolicyScope", "MessageAttributes") != "MessageAttributes":
                updates.append(("FilterPolicyScope", "MessageAttributes"))
            now = _json_or_none(current.get("FilterPolicy"))
            if _normalise_policy(now) != _normalise_policy(policy):
                updates.append(("FilterPolicy", json.dumps(policy)))
            if str(current.get("RawMessageDelivery", "false")).lower() != "true":
                updates.append(("RawMessageDelivery", "true"))
            for name, value in updates:
                await self._sns.set_subscription_attributes(
                    SubscriptionArn=sub_arn, AttributeName=name, AttributeValue=value
                )
            self._report("updated" if updates else "kept", "subscription", label)

        # a consumer of this topology that no longer consumes anything of this context
        for queue_arn, sub_arn in existing.items():
            if queue_arn in ours and queue_arn not in wanted:
                await self._sns.unsubscribe(SubscriptionArn=sub_arn)
                self._report("removed", "subscription", f"{topic_arn} -> {queue_arn}")
