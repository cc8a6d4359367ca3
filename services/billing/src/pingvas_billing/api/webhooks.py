"""`POST /webhooks/lemonsqueezy`: verify, record, answer 200 at once (docs/billing.md,
"Webhooks"). Public at the gateway: Lemon Squeezy proves itself with `X-Signature`, the hex
HMAC-SHA256 of the raw body with the store's signing secret; the work happens afterwards
in the processor."""

from __future__ import annotations

import hashlib
import hmac
import json

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from pingvas_kit.http import problem_response
from pingvas_kit.logging import get_logger

from ..adapters import repository as repo
from ..domain.payloads import read_meta
from .deps import Ctx

router = APIRouter(tags=["webhooks"])
log = get_logger("pingvas.billing.webhooks")

#: Lemon Squeezy's bodies are a few KiB; anything far larger is not one of theirs
MAX_BODY = 1024 * 1024


def signature_of(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _verified(body: bytes, header: str | None, secret: str) -> bool:
    if not header:
        return False
    expected = signature_of(body, secret).encode()
    given = header.strip().lower().encode("ascii", "replace")
    return hmac.compare_digest(expected, given)


@router.post("/webhooks/lemonsqueezy", include_in_schema=False)
async def lemonsqueezy_webhook(request: Request, ctx: Ctx) -> JSONResponse:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY:
        return problem_response(413, "Content Too Large", detail="The body is too large.")
    body = await request.body()
    if len(body) > MAX_BODY:
        return problem_response(413, "Content Too Large", detail="The body is too large.")
    secret = ctx.settings.lemonsqueezy_signing_secret.get_secret_value()
    if not _verified(body, request.headers.get("x-signature"), secret):
        log.warning("billing.webhook_rejected", reason="signature")
        return problem_response(
            401,
            "Unauthorized",
            type_="invalid-signature",
            detail="X-Signature is missing or does not match the body.",
        )
    try:
        payload = json.loads(body)
        if not isinstance(payload, dict):
            raise ValueError
    except ValueError:
        return problem_response(400, "Bad Request", detail="The body is not a JSON object.")
    meta = read_meta(payload, request.headers.get("x-event-name"))
    digest = hashlib.sha256(body).hexdigest()
    async with ctx.db.transaction() as session:
        recorded = await repo.record_webhook(
            session,
            body_sha256=digest,
            event_name=meta.event_name,
            test_mode=meta.test_mode,
            tenant_id=meta.tenant_id,
            body=body.decode("utf-8", "replace"),
            received_at=repo.now(),
        )
    log.info("billing.webhook_received", event_name=meta.event_name, duplicate=not recorded)
    if recorded:
        ctx.processor.poke()
    return JSONResponse({"received": True, "duplicate": not recorded})
