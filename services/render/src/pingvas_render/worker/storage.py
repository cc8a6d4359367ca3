"""The images bucket, as the worker writes it."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

from aiobotocore.session import AioSession
from opentelemetry.trace import SpanKind

from pingvas_kit import telemetry
from pingvas_kit.aws import client_kwargs

from .settings import WorkerSettings


class ImageStore:
    def __init__(self, settings: WorkerSettings) -> None:
        self._settings = settings
        self._stack: AsyncExitStack | None = None
        self._s3: Any = None

    async def __aenter__(self) -> ImageStore:
        # client_kwargs reads only the aws_* fields of BaseServiceSettings, which the
        # worker's settings have; the kit types it by ServiceSettings (the services')
        kwargs = client_kwargs(self._settings, read_timeout=60, attempts=5)  # type: ignore[arg-type]
        self._stack = AsyncExitStack()
        self._s3 = await self._stack.enter_async_context(AioSession().create_client("s3", **kwargs))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._stack is not None:
            await self._stack.aclose()

    async def put(self, key: str, data: bytes, content_type: str, tags: dict[str, str]) -> None:
        with telemetry.span(
            "S3.PutObject",
            kind=SpanKind.CLIENT,
            attributes={
                "rpc.system": "aws-api",
                "rpc.service": "S3",
                "rpc.method": "PutObject",
                "aws.s3.bucket": self._settings.images_bucket,
                "aws.s3.key": key,
                "pingvas.size_bytes": len(data),
            },
        ):
            await self._s3.put_object(
                Bucket=self._settings.images_bucket,
                Key=key,
                Body=data,
                ContentType=content_type,
                CacheControl="private, max-age=31536000, immutable",
                Tagging="&".join(f"{k}={v}" for k, v in tags.items()),
            )

    async def delete(self, keys: list[str]) -> None:
        if keys:
            await self._s3.delete_objects(
                Bucket=self._settings.images_bucket,
                Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True},
            )
