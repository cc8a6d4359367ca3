"""The images bucket: presigned URLs for the browser, deletes for the API and purges.

The PNGs and thumbnails are written by the GPU workers under `tenants/{tenant_id}/`; render
only reads their metadata, signs short-lived URLs and deletes them."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import Any

from aiobotocore.session import AioSession
from botocore.exceptions import ClientError

from pingvas_kit.aws import client_kwargs
from pingvas_kit.logging import get_logger

from ..settings import Settings

log = get_logger("pingvas.render.s3")

#: S3 DeleteObjects takes at most 1000 keys a call
DELETE_BATCH = 1000


def tenant_prefix(tenant_id: str) -> str:
    return f"tenants/{tenant_id}/"


class ImageStore:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.bucket = settings.images_bucket
        self._stack: AsyncExitStack | None = None
        self._client: Any = None

    async def start(self) -> None:
        kwargs = client_kwargs(self.settings, s3=True)
        stack = AsyncExitStack()
        self._client = await stack.enter_async_context(AioSession().create_client("s3", **kwargs))
        self._stack = stack

    async def close(self) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()

    @property
    def client(self) -> Any:
        if self._client is None:
            raise RuntimeError("ImageStore.start() was not called")
        return self._client

    async def ensure_bucket(self) -> None:
        try:
            await self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            kwargs: dict[str, Any] = {"Bucket": self.bucket}
            if self.settings.aws_region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {
                    "LocationConstraint": self.settings.aws_region
                }
            try:
                await self.client.create_bucket(**kwargs)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise
            log.info("render.bucket_created", bucket=self.bucket)

    async def presign(
        self,
        key: str,
        *,
        ttl: int,
        content_type: str | None = None,
        disposition: str | None = None,
    ) -> str:
        """A GET URL valid `ttl` seconds; `disposition`: the Content-Disposition S3 answers
        with (`attachment; filename=...` saves the file under that name)."""
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if content_type:
            params["ResponseContentType"] = content_type
        if disposition:
            params["ResponseContentDisposition"] = disposition
        return await self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=ttl)

    async def delete(self, keys: Sequence[str]) -> None:
        keys = [k for k in keys if k]
        for start in range(0, len(keys), DELETE_BATCH):
            batch = keys[start : start + DELETE_BATCH]
            answer = await self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
            )
            errors = answer.get("Errors") or []
            if errors:
                raise RuntimeError(f"S3 kept {len(errors)} objects: {errors[0].get('Code')}")

    async def delete_prefix(self, prefix: str) -> int:
        """Delete every object under `prefix`; how many there were."""
        paginator = self.client.get_paginator("list_objects_v2")
        keys: list[str] = []
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(obj["Key"] for obj in page.get("Contents", ()))
        await self.delete(keys)
        return len(keys)
