"""Short-lived URLs of the images found: signed locally from the keys the events carried
(no call to S3; search needs only s3:GetObject on the images bucket)."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

from aiobotocore.session import AioSession

from pingvas_kit.aws import client_kwargs

from ..settings import Settings


class Presigner:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stack: AsyncExitStack | None = None
        self._client: Any = None

    async def start(self) -> None:
        stack = AsyncExitStack()
        self._client = await stack.enter_async_context(
            AioSession().create_client("s3", **client_kwargs(self.settings, s3=True))
        )
        self._stack = stack

    async def close(self) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()

    async def url(self, key: str, content_type: str) -> str:
        if self._client is None:
            raise RuntimeError("Presigner.start() was not called")
        return await self._client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.settings.images_bucket,
                "Key": key,
                "ResponseContentType": content_type,
            },
            ExpiresIn=self.settings.presign_ttl_s,
        )
