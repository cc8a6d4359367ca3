"""The SQS work queue between the dispatcher and the GPU workers (docs/render.md).

One standard queue, `{bus_prefix}-{work_queue_name}` (default `pingvas-render-work`), with
a dead-letter queue `…-dlq`. The dispatcher sends WorkItems (JSON) with
`MessageGroupId = tenant id`: on a standard queue that is what SQS fair queues key on,
so one tenant's backlog cannot delay another tenant's messages. AWS and moto's server
accept `MessageGroupId` on standard queues; an endpoint that refuses it makes us send
without it from then on (the dispatcher's own fair order and shallow queue are what
keep tenants fair; fair queues only help while messages wait in SQS).

The GPU worker receives, extends the visibility while it works and deletes a message
only after render accepted the job's outcome. Only the endpoint differs between AWS,
LocalStack and moto's server; the settings object is duck-typed (the render service's
settings or the worker's), read with these attributes:

    bus_prefix, aws_endpoint_url, aws_region, aws_access_key_id, aws_secret_access_key,
    work_queue_name ("render-work"), work_visibility_s (60), work_max_receive_count (10)
"""

from __future__ import annotations

import asyncio
import json
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from botocore.exceptions import ClientError
from pydantic import SecretStr

from pingvas_kit.logging import get_logger

from ..manifest import WORK_QUEUE

log = get_logger("pingvas.render.work_queue")

#: declared once in the manifest (Terraform builds the same queue from it in AWS)
DEFAULT_QUEUE_NAME = WORK_QUEUE.name
DEFAULT_VISIBILITY_S = WORK_QUEUE.visibility_timeout_s
#: SQS's redrive is only the last resort: render's start call counts attempts and fails a
#: job that ran out of them (`worker_lost`) long before SQS dead-letters its message
DEFAULT_MAX_RECEIVE_COUNT = WORK_QUEUE.max_receive_count
DLQ_RETENTION_SECONDS = WORK_QUEUE.dlq_retention_s
#: SQS limits: a long poll of at most 20 s, at most 10 messages a receive, a visibility
#: timeout of at most 12 hours
MAX_WAIT_S = 20
MAX_MESSAGES = 10
MAX_VISIBILITY_S = 12 * 3600

_NO_QUEUE = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}


class WorkQueueError(RuntimeError):
    """Sending, receiving or changing a message failed (the cause is chained)."""


@dataclass(frozen=True, slots=True)
class Message:
    body: dict[str, Any]
    receipt_handle: str
    #: 1 on the first delivery (SQS's ApproximateReceiveCount)
    receive_count: int
    message_id: str = ""
    group_id: str | None = None


def _secret(value: SecretStr | str | None) -> str | None:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return value


def _error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def _refuses_group_id(exc: BaseException) -> bool:
    """The endpoint does not take MessageGroupId on a standard queue."""
    if not isinstance(exc, ClientError):
        return False
    message = str(exc.response.get("Error", {}).get("Message", ""))
    return "MessageGroupId" in message or _error_code(exc) in {
        "UnsupportedOperation",
        "AWS.SimpleQueueService.UnsupportedOperation",
    }


def queue_name(settings: Any) -> str:
    prefix = getattr(settings, "bus_prefix", "pingvas")
    name = getattr(settings, "work_queue_name", None) or DEFAULT_QUEUE_NAME
    return f"{prefix}-{name}" if prefix else name


class WorkQueue:
    """The work queue; the aiobotocore client is opened on first use, closed by close()."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.name = queue_name(settings)
        self.dlq_name = f"{self.name}-dlq"
        self.visibility_s = int(getattr(settings, "work_visibility_s", DEFAULT_VISIBILITY_S))
        self.max_receive_count = int(
            getattr(settings, "work_max_receive_count", DEFAULT_MAX_RECEIVE_COUNT)
        )
        #: False once the endpoint refused MessageGroupId on this standard queue
        self.group_ids = True
        self._stack: AsyncExitStack | None = None
        self._sqs: Any = None
        self._url: str | None = None
        self._open_lock = asyncio.Lock()

    # -- lifecycle ----------------------------------------------------------------------

    async def _client(self) -> Any:
        if self._sqs is not None:
            return self._sqs
        async with self._open_lock:
            if self._sqs is None:
                config = AioConfig(
                    connect_timeout=5,
                    # a long poll holds the response for up to MAX_WAIT_S
                    read_timeout=MAX_WAIT_S + 10,
                    max_pool_connections=20,
                    retries={"mode": "standard", "max_attempts": 3},
                )
                kwargs: dict[str, Any] = {
                    "region_name": getattr(self.settings, "aws_region", "us-east-1"),
                    "endpoint_url": getattr(self.settings, "aws_endpoint_url", None),
                    "config": config,
                }
                key = _secret(getattr(self.settings, "aws_access_key_id", None))
                secret = _secret(getattr(self.settings, "aws_secret_access_key", None))
                if key and secret:
                    kwargs["aws_access_key_id"] = key
                    kwargs["aws_secret_access_key"] = secret
                stack = AsyncExitStack()
                try:
                    self._sqs = await stack.enter_async_context(
                        AioSession().create_client("sqs", **kwargs)
                    )
                except BaseException:
                    await stack.aclose()
                    raise
                self._stack = stack
        return self._sqs

    async def close(self) -> None:
        stack, self._stack = self._stack, None
        self._sqs = None
        self._url = None
        if stack is not None:
            await stack.aclose()

    async def __aenter__(self) -> WorkQueue:
        await self._client()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- provisioning -------------------------------------------------------------------

    async def ensure(self) -> str:
        """Create the queue and its dead-letter queue where missing (existing ones keep
        their attributes, except a missing redrive policy, which is set); the queue URL."""
        sqs = await self._client()
        dlq_url = await self._create_if_missing(
            self.dlq_name, {"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)}
        )
        attrs = await sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])
        redrive = json.dumps(
            {
                "deadLetterTargetArn": attrs["Attributes"]["QueueArn"],
                "maxReceiveCount": self.max_receive_count,
            }
        )
        url = await self._create_if_missing(
            self.name,
            {"VisibilityTimeout": str(self.visibility_s), "RedrivePolicy": redrive},
        )
        current = await sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])
        if not current.get("Attributes", {}).get("RedrivePolicy"):
            await sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": redrive})
        self._url = url
        return url

    async def _create_if_missing(self, name: str, attributes: dict[str, str]) -> str:
        sqs = await self._client()
        try:
            return (await sqs.get_queue_url(QueueName=name))["QueueUrl"]
        except ClientError as exc:
            if _error_code(exc) not in _NO_QUEUE:
                raise
        response = await sqs.create_queue(QueueName=name, Attributes=attributes)
        log.info("render.work_queue.created", queue=name)
        return response["QueueUrl"]

    async def url(self) -> str:
        if self._url is None:
            sqs = await self._client()
            self._url = (await sqs.get_queue_url(QueueName=self.name))["QueueUrl"]
        return self._url

    # -- the dispatcher's side ----------------------------------------------------------

    async def send(self, item: dict[str, Any], group_id: str) -> str:
        """Send one WorkItem; its message id. Raises WorkQueueError when SQS refuses."""
        body = json.dumps(item, separators=(",", ":"), default=str)
        try:
            sqs = await self._client()
            params: dict[str, Any] = {"QueueUrl": await self.url(), "MessageBody": body}
            if self.group_ids and group_id:
                params["MessageGroupId"] = group_id
            try:
                response = await sqs.send_message(**params)
            except ClientError as exc:
                if "MessageGroupId" not in params or not _refuses_group_id(exc):
                    raise
                # an endpoint without fair queues: the dispatcher's order still holds
                log.warning("render.work_queue.no_group_ids", queue=self.name, error=str(exc))
                self.group_ids = False
                params.pop("MessageGroupId")
                response = await sqs.send_message(**params)
        except Exception as exc:
            raise WorkQueueError(f"send to {self.name} failed: {exc!r}") from exc
        return response["MessageId"]

    # -- the worker's side --------------------------------------------------------------

    async def receive(
        self, max_messages: int = 1, wait_s: float = MAX_WAIT_S, visibility_s: int | None = None
    ) -> list[Message]:
        """Long-poll for up to max_messages WorkItems (an undecodable body is logged and
        deleted: no worker could ever run it)."""
        sqs = await self._client()
        params: dict[str, Any] = {
            "QueueUrl": await self.url(),
            "MaxNumberOfMessages": max(1, min(int(max_messages), MAX_MESSAGES)),
            "WaitTimeSeconds": max(0, min(int(wait_s), MAX_WAIT_S)),
            "MessageSystemAttributeNames": ["ApproximateReceiveCount", "MessageGroupId"],
        }
        if visibility_s is not None:
            params["VisibilityTimeout"] = max(0, min(int(visibility_s), MAX_VISIBILITY_S))
        try:
            response = await sqs.receive_message(**params)
        except ClientError as exc:
            raise WorkQueueError(f"receive from {self.name} failed: {exc!r}") from exc
        messages: list[Message] = []
        for raw in response.get("Messages", []):
            attributes = raw.get("Attributes", {})
            try:
                body = json.loads(raw["Body"])
                if not isinstance(body, dict) or "job_id" not in body:
                    raise ValueError("not a WorkItem")
            except ValueError as exc:
                log.error(
                    "render.work_queue.poison",
                    queue=self.name,
                    error=str(exc),
                    message_id=raw.get("MessageId"),
                )
                await self.delete(raw["ReceiptHandle"])
                continue
            messages.append(
                Message(
                    body=body,
                    receipt_handle=raw["ReceiptHandle"],
                    receive_count=int(attributes.get("ApproximateReceiveCount", 1)),
                    message_id=raw.get("MessageId", ""),
                    group_id=attributes.get("MessageGroupId"),
                )
            )
        return messages

    async def extend(self, receipt_handle: str, visibility_s: int) -> None:
        """Keep a message invisible for visibility_s more seconds (from now)."""
        sqs = await self._client()
        try:
            await sqs.change_message_visibility(
                QueueUrl=await self.url(),
                ReceiptHandle=receipt_handle,
                VisibilityTimeout=max(0, min(int(visibility_s), MAX_VISIBILITY_S)),
            )
        except ClientError as exc:
            raise WorkQueueError(f"extend on {self.name} failed: {exc!r}") from exc

    async def delete(self, receipt_handle: str) -> None:
        sqs = await self._client()
        try:
            await sqs.delete_message(QueueUrl=await self.url(), ReceiptHandle=receipt_handle)
        except ClientError as exc:
            raise WorkQueueError(f"delete on {self.name} failed: {exc!r}") from exc

    async def depth(self) -> dict[str, int]:
        """{'visible', 'in_flight', 'delayed'}: SQS's approximate counts (diagnostics)."""
        sqs = await self._client()
        response = await sqs.get_queue_attributes(
            QueueUrl=await self.url(),
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )
        attributes = response.get("Attributes", {})
        return {
            "visible": int(attributes.get("ApproximateNumberOfMessages", 0)),
            "in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
            "delayed": int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
        }
