"""The SNS and SQS clients the SQS bus shares: lifecycle, and names resolved to ARNs/URLs.

Every lookup is cached and done once per name however many tasks ask at once; a client
used before start() raises instead of failing later inside botocore."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from botocore.exceptions import ClientError
from pydantic import SecretStr

from ..base import Bus
from ..topology import Topology


def _error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def _secret(value: SecretStr | str | None) -> str | None:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return value


class SqsClients(Bus):
    """What provisioning, publishing and consuming share: settings, clients, lookups."""

    def __init__(
        self,
        topology: Topology,
        *,
        endpoint_url: str | None,
        region: str,
        access_key_id: SecretStr | str | None,
        secret_access_key: SecretStr | str | None,
        wait_seconds: int = 20,
        visibility_timeout: int = 30,
        concurrency: int = 10,
        pollers: int = 2,
        publish_concurrency: int = 10,
        batches_in_flight: int = 4,
        retry_base_delay: int = 2,
        retry_max_delay: int = 60,
        max_attempts: int = 3,
    ) -> None:
        super().__init__(topology)
        if visibility_timeout < 1:
            raise ValueError("visibility_timeout must be at least 1 second")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.endpoint_url = endpoint_url
        self.region = region
        self._access_key_id = _secret(access_key_id)
        self._secret_access_key = _secret(secret_access_key)
        #: SQS long polling allows 0..20 seconds
        self.wait_seconds = max(0, min(int(wait_seconds), 20))
        self.visibility_timeout = int(visibility_timeout)
        #: handlers running at once per consume() call (also caps a receive's batch size)
        self.concurrency = concurrency
        #: receive loops per consume() call: one polls while another's batch is handled
        #: and deleted, so the queue is never idle between round trips
        self.pollers = max(1, pollers)
        self.publish_concurrency = max(1, publish_concurrency)
        #: received batches each receive loop may have in its handlers at once
        self.batches_in_flight = max(1, batches_in_flight)
        #: a failed message comes back after min(base * 2**(receives-1), max) seconds
        self.retry_base_delay = max(0, retry_base_delay)
        self.retry_max_delay = max(0, retry_max_delay)
        #: attempts per AWS call (botocore "standard" retries), the first one included
        self.max_attempts = max(1, max_attempts)
        #: what the last provision() did: (action, kind, name), action in
        #: created / updated / kept / removed
        self.provision_report: list[tuple[str, str, str]] = []
        self._stack: AsyncExitStack | None = None
        self._sns_client: Any = None
        self._sqs_client: Any = None
        self._topic_arns: dict[str, str] = {}
        self._queue_urls: dict[str, str] = {}
        self._queue_arns: dict[str, str] = {}
        #: one lookup per name, however many tasks ask for it at once
        self._lookup_locks: dict[str, asyncio.Lock] = {}

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        if self._stack is not None:
            return
        session = AioSession()
        config = AioConfig(
            connect_timeout=5,
            # a long poll holds the response for up to wait_seconds
            read_timeout=self.wait_seconds + 10,
            max_pool_connections=50,
            retries={"mode": "standard", "max_attempts": self.max_attempts},
        )
        kwargs: dict[str, Any] = {
            "region_name": self.region,
            "endpoint_url": self.endpoint_url,
            "config": config,
        }
        if self._access_key_id and self._secret_access_key:
            kwargs["aws_access_key_id"] = self._access_key_id
            kwargs["aws_secret_access_key"] = self._secret_access_key
        stack = AsyncExitStack()
        try:
            self._sns_client = await stack.enter_async_context(
                session.create_client("sns", **kwargs)
            )
            self._sqs_client = await stack.enter_async_context(
                session.create_client("sqs", **kwargs)
            )
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack

    async def close(self) -> None:
        stack, self._stack = self._stack, None
        self._sns_client = self._sqs_client = None
        if stack is not None:
            await stack.aclose()

    @property
    def _sns(self) -> Any:
        if self._sns_client is None:
            raise RuntimeError("SqsBus is not started (use `async with bus` or await start())")
        return self._sns_client

    @property
    def _sqs(self) -> Any:
        if self._sqs_client is None:
            raise RuntimeError("SqsBus is not started (use `async with bus` or await start())")
        return self._sqs_client

    async def ping(self) -> None:
        """A round trip on this topology's own resources, with no right beyond those the
        service already has (deploy/terraform/access.json): GetQueueAttributes of its
        queues, else CreateTopic (idempotent) of its topics; no List* on the account."""
        async with asyncio.timeout(10):
            if self.topology.consumers:
                for consumer in self.topology.consumers:
                    url = await self._queue_url(self.topology.queue_name(consumer))
                    await self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            else:
                await asyncio.gather(
                    *(
                        self._sns.create_topic(Name=self.topology.topic_name(c))
                        for c in self.topology.contexts
                    )
                )

    # -- names -> ARNs / URLs (cached) ----------------------------------------------------

    def _lookup_lock(self, key: str) -> asyncio.Lock:
        return self._lookup_locks.setdefault(key, asyncio.Lock())

    async def _topic_arn(self, context: str) -> str:
        if context not in self._topic_arns:
            async with self._lookup_lock(f"topic:{context}"):
                if context not in self._topic_arns:
                    # CreateTopic is idempotent: the one call that both finds an existing
                    # topic's ARN and creates a missing one (needs sns:CreateTopic)
                    response = await self._sns.create_topic(Name=self.topology.topic_name(context))
                    self._topic_arns[context] = response["TopicArn"]
        return self._topic_arns[context]

    async def _queue_url(self, name: str) -> str:
        if name not in self._queue_urls:
            async with self._lookup_lock(f"queue:{name}"):
                if name not in self._queue_urls:
                    response = await self._sqs.get_queue_url(QueueName=name)
                    self._queue_urls[name] = response["QueueUrl"]
        return self._queue_urls[name]

    async def _queue_arn(self, name: str) -> str:
        arn = self._queue_arns.get(name)
        if arn is None:
            response = await self._sqs.get_queue_attributes(
                QueueUrl=await self._queue_url(name), AttributeNames=["QueueArn"]
            )
            arn = self._queue_arns[name] = response["Attributes"]["QueueArn"]
        return arn
