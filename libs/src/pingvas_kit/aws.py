"""aiobotocore client arguments from a service's settings: the region, the emulator's
endpoint when one is set (moto's server, LocalStack; S3 then path-style), explicit
credentials when the settings carry them (else the SDK's chain: IRSA in production)."""

from __future__ import annotations

from typing import Any

from aiobotocore.config import AioConfig

from .settings import ServiceSettings


def client_kwargs(
    settings: ServiceSettings,
    *,
    connect_timeout: float = 5,
    read_timeout: float = 30,
    attempts: int = 3,
    s3: bool = False,
) -> dict[str, Any]:
    """`AioSession().create_client(name, **client_kwargs(settings, ...))`."""
    kwargs: dict[str, Any] = {
        "region_name": settings.aws_region,
        "endpoint_url": settings.aws_endpoint_url,
        "config": AioConfig(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"mode": "standard", "max_attempts": attempts},
            signature_version="s3v4" if s3 else None,
            s3={"addressing_style": "path"} if s3 and settings.aws_endpoint_url else None,
        ),
    }
    if settings.aws_access_key_id and settings.aws_secret_access_key:
        kwargs["aws_access_key_id"] = settings.aws_access_key_id.get_secret_value()
        kwargs["aws_secret_access_key"] = settings.aws_secret_access_key.get_secret_value()
    return kwargs
