"""Python client for the Pingvas API: `Pingvas` (sync) and `AsyncPingvas` (async),
`verify_webhook()` for the webhooks Pingvas sends, typed models in `pingvas_client.models`."""

from . import models
from ._async import AsyncGenerationStream, AsyncPingvas
from ._core import DEFAULT_BASE_URL, ServerEvent
from ._sync import GenerationStream, Pingvas
from .errors import APIConnectionError, APIError, PingvasError, WebhookVerificationError
from .webhooks import sign_webhook, verify_webhook

__all__ = [
    "DEFAULT_BASE_URL",
    "APIConnectionError",
    "APIError",
    "AsyncGenerationStream",
    "AsyncPingvas",
    "GenerationStream",
    "Pingvas",
    "PingvasError",
    "ServerEvent",
    "WebhookVerificationError",
    "models",
    "sign_webhook",
    "verify_webhook",
]
