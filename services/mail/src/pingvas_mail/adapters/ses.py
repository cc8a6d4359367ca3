"""SES v2 and the SES notification plumbing (SNS topic → SQS queue), over aiobotocore.

Runs unchanged against AWS, LocalStack and moto's server; only `endpoint_url` differs.
The SES client makes exactly one attempt per call: SES has no idempotency key, so a
retry after a lost answer could send a message twice. The sender decides what to retry
(`Retryable`: throttling, 5xx, a connection that never opened) and what not
(`Rejected`: SES said no; `Ambiguous`: SES may have taken it)."""

from __future__ import annotations

import json
from contextlib import AsyncExitStack
from email.utils import parseaddr
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from pingvas_kit.logging import get_logger

from ..settings import Settings

log = get_logger("pingvas.mail.ses")

#: SES v2 answers that mean "not now": retried with back-off
_RETRY_CODES = {
    "TooManyRequestsException",
    "Throttling",
    "ThrottlingException",
    "LimitExceededException",
    "SendingPausedException",
    "ServiceUnavailable",
    "InternalFailure",
}


class SendError(Exception):
    pass


class Retryable(SendError):
    """SES did not take the message and may take it later."""


class Rejected(SendError):
    """SES refused the message; sending it again would not help."""


class Ambiguous(SendError):
    """SES may have taken the message: never send it again."""


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _exists(exc: ClientError) -> bool:
    """AWS says AlreadyExistsException; emulators ConfigurationSetAlreadyExistsException."""
    code = _code(exc)
    return "AlreadyExists" in code or code == "ConflictException"


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def from_domain(from_address: str) -> str:
    return parseaddr(from_address)[1].rpartition("@")[2].lower()


def _sns_queue_policy(queue_arn: str, topic_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AllowSesNotifications",
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
                }
            ],
        },
        sort_keys=True,
    )


class Ses:
    """SES v2, SNS and SQS clients for the mail service. start()/close() or `async with`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.events_name = f"{settings.bus_prefix}-{settings.ses_events_name}"
        self.topic_arn: str | None = None
        self.queue_url: str | None = None
        self._stack: AsyncExitStack | None = None
        self.sesv2: Any = None
        self.sns: Any = None
        self.sqs: Any = None

    async def __aenter__(self) -> Ses:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _kwargs(self, *, attempts: int, read_timeout: float) -> dict[str, Any]:
        s = self.settings
        kwargs: dict[str, Any] = {
            "region_name": s.aws_region,
            "endpoint_url": s.aws_endpoint_url,
            "config": AioConfig(
                connect_timeout=5,
                read_timeout=read_timeout,
                max_pool_connections=20,
                retries={"mode": "standard", "total_max_attempts": attempts},
            ),
        }
        if s.aws_access_key_id and s.aws_secret_access_key:
            kwargs["aws_access_key_id"] = s.aws_access_key_id.get_secret_value()
            kwargs["aws_secret_access_key"] = s.aws_secret_access_key.get_secret_value()
        return kwargs

    async def start(self) -> None:
        if self._stack is not None:
            return
        session = AioSession()
        stack = AsyncExitStack()
        try:
            self.sesv2 = await stack.enter_async_context(
                session.create_client("sesv2", **self._kwargs(attempts=1, read_timeout=30))
            )
            self.sns = await stack.enter_async_context(
                session.create_client("sns", **self._kwargs(attempts=3, read_timeout=30))
            )
            wait = max(0, min(int(self.settings.bus_wait_seconds), 20))
            self.sqs = await stack.enter_async_context(
                session.create_client("sqs", **self._kwargs(attempts=3, read_timeout=wait + 10))
            )
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack

    async def close(self) -> None:
        stack, self._stack = self._stack, None
        self.sesv2 = self.sns = self.sqs = None
        if stack is not None:
            await stack.aclose()

    # -- resources --------------------------------------------------------------------------------

    async def provision(self) -> None:
        """The sending identity (the From domain), the configuration set with its event
        destination (bounces and complaints to SNS), the topic, the queue and the
        subscription between them. Idempotent."""
        s = self.settings
        domain = from_domain(s.from_address)
        try:
            await self.sesv2.create_email_identity(EmailIdentity=domain)
            log.info("mail.ses_identity_created", identity=domain)
        except ClientError as exc:
            if not _exists(exc):
                raise
        try:
            await self.sesv2.create_configuration_set(ConfigurationSetName=s.configuration_set)
        except ClientError as exc:
            if not _exists(exc):
                raise
        self.topic_arn = (await self.sns.create_topic(Name=self.events_name))["TopicArn"]
        self.queue_url = (await self.sqs.create_queue(QueueName=self.events_name))["QueueUrl"]
        queue_arn = (
            await self.sqs.get_queue_attributes(
                QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
            )
        )["Attributes"]["QueueArn"]
        await self.sqs.set_queue_attributes(
            QueueUrl=self.queue_url,
            Attributes={"Policy": _sns_queue_policy(queue_arn, self.topic_arn)},
        )
        subscribed = False
        paginator = self.sns.get_paginator("list_subscriptions_by_topic")
        async for page in paginator.paginate(TopicArn=self.topic_arn):
            for sub in page.get("Subscriptions", []):
                if sub.get("Protocol") == "sqs" and sub.get("Endpoint") == queue_arn:
                    subscribed = True
        if not subscribed:
            await self.sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=queue_arn)
        try:
            await self.sesv2.create_configuration_set_event_destination(
                ConfigurationSetName=s.configuration_set,
                EventDestinationName="bounces-and-complaints",
                EventDestination={
                    "Enabled": True,
                    "MatchingEventTypes": ["BOUNCE", "COMPLAINT"],
                    "SnsDestination": {"TopicArn": self.topic_arn},
                },
            )
        except ClientError as exc:
            if not _exists(exc):
                # moto has no event destinations; AWS (or LocalStack) does
                log.warning("mail.ses_event_destination_failed", error=_code(exc) or str(exc))
        except Exception as exc:  # an emulator that does not know the call
            log.warning("mail.ses_event_destination_failed", error=repr(exc)[:200])
        log.info(
            "mail.ses_provisioned", identity=domain, topic=self.topic_arn, queue=self.events_name
        )

    async def find_queue(self) -> str:
        if self.queue_url is None:
            self.queue_url = (await self.sqs.get_queue_url(QueueName=self.events_name))["QueueUrl"]
        return self.queue_url

    # -- sending -----------------------------------------------------------------------------------

    async def send_raw(self, raw: bytes, *, to: str, tags: dict[str, str]) -> str:
        """Hand one raw MIME message to SES; its MessageId."""
        try:
            response = await self.sesv2.send_email(
                FromEmailAddress=self.settings.from_address,
                Destination={"ToAddresses": [to]},
                Content={"Raw": {"Data": raw}},
                ConfigurationSetName=self.settings.configuration_set,
                EmailTags=[{"Name": k, "Value": v} for k, v in tags.items()],
            )
        except ClientError as exc:
            code, status = _code(exc), _status(exc)
            if code in _RETRY_CODES or status == 429 or status >= 500:
                raise Retryable(f"{code or status}: {exc}") from exc
            raise Rejected(f"{code or status}: {exc}") from exc
        except (EndpointConnectionError, ConnectTimeoutError) as exc:
            # the request never reached SES
            raise Retryable(f"{type(exc).__name__}: {exc}") from exc
        except ReadTimeoutError as exc:
            raise Ambiguous(f"{type(exc).__name__}: {exc}") from exc
        except Exception as exc:
            raise Ambiguous(f"{type(exc).__name__}: {exc}") from exc
        return str(response["MessageId"])
