"""The webhook sender: a loop in every tenants replica that claims due deliveries, signs
and posts them, and records each attempt and what it decided.

A claim holds a delivery for the timeout and a margin (`locked_until`), so two replicas
never send the same attempt at once (Postgres: SKIP LOCKED), and a replica that dies
mid-send lets the delivery go when the hold ends: the message is then sent again with the
same webhook-id (at least once; receivers deduplicate by it). The attempt, the delivery's
new state and the endpoint's health are written in one transaction."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import httpx
import sqlalchemy as sa
from prometheus_client import Counter, Histogram

from pingvas_kit.egress import Answer, UnsafeUrl, post_to, resolve_target
from pingvas_kit.logging import get_logger

from ...adapters import repository as repo
from ...domain import webhooks as rules
from .._context import Context
from ._endpoints import callback_secret
from ._notices import announce_disabled

log = get_logger("pingvas.tenants.webhooks")

#: outcome: delivered, retrying (the delivery will be tried again) or failed (given up)
ATTEMPTS = Counter("pingvas_webhook_attempts_total", "Webhook delivery attempts", ["outcome"])
#: outcome: delivered, failed (its retries ran out or its URL is refused for good), or
#: not_sent (its endpoint was deleted or disabled before it went)
DELIVERIES = Counter("pingvas_webhook_deliveries_total", "Webhook deliveries ended", ["outcome"])
ENDPOINTS_DISABLED = Counter(
    "pingvas_webhook_endpoints_disabled_total",
    "Endpoints disabled by the sender (410 Gone, or failing for days)",
    ["reason"],
)
# every series exists from 0, so a rate or increase sees the first event too
for _outcome in ("delivered", "retrying", "failed"):
    ATTEMPTS.labels(_outcome)
for _outcome in ("delivered", "failed", "not_sent"):
    DELIVERIES.labels(_outcome)
for _reason in ("gone", "failing"):
    ENDPOINTS_DISABLED.labels(_reason)
LATENCY = Histogram("pingvas_webhook_attempt_seconds", "Time a receiver took to answer")
PRUNE_EVERY_S = 3600.0
USER_AGENT = "Pingvas-Webhooks/1 (+https://pingvas.dev/docs/webhooks)"


class WebhookSender:
    def __init__(self, ctx: Context, *, client: httpx.AsyncClient | None = None) -> None:
        self.ctx = ctx
        self.settings = ctx.settings
        self.client = client or httpx.AsyncClient(
            follow_redirects=False, headers={"User-Agent": USER_AGENT}
        )
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(self.settings.webhook_concurrency)

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        log.info(
            "webhooks.sender_started",
            private_addresses="allowed (local run)"
            if self.settings.webhook_allow_private
            else "refused",
        )
        pruned_at = 0.0
        while not stop.is_set():
            if time.monotonic() - pruned_at > PRUNE_EVERY_S:
                pruned_at = time.monotonic()
                try:
                    await self.prune()
                except Exception as exc:
                    log.warning("webhooks.prune_failed", error=type(exc).__name__)
            try:
                sent = await self.send_due()
            except Exception as exc:  # the database is away: try again shortly
                log.warning("webhooks.sender_failed", error=type(exc).__name__)
                sent = 0
            if sent:
                continue
            self._wake.clear()
            waits = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(
                waits, timeout=self.settings.webhook_poll_interval, return_when="FIRST_COMPLETED"
            )
            for waiter in waits:
                waiter.cancel()
        await self.client.aclose()

    async def prune(self) -> int:
        """Drop finished deliveries older than the retention; how many."""
        before = repo.now() - timedelta(days=self.settings.webhook_log_retention_days)
        async with self.ctx.db.transaction() as session:
            dropped = await repo.prune_deliveries(session, before=before)
        if dropped:
            log.info("webhooks.log_pruned", deliveries=dropped)
        return dropped

    async def send_due(self) -> int:
        """Claim what is due, send it all; how many were sent."""
        lease = timedelta(seconds=self.settings.webhook_timeout + 30)
        async with self.ctx.db.transaction() as session:
            rows = await repo.claim_due(
                session,
                at=repo.now(),
                limit=self.settings.webhook_concurrency * 2,
                lease=lease,
            )
        if rows:
            await asyncio.gather(*(self._guarded(row) for row in rows))
        return len(rows)

    async def _guarded(self, row: sa.Row) -> None:
        async with self._slots:
            try:
                await self._send(row)
            except Exception:
                # its hold ends and it is tried again; never lost
                log.exception("webhooks.send_crashed", delivery_id=row.id)

    async def _signing(self, row: sa.Row) -> tuple[str, list[str]] | str:
        """The URL and the signing secrets, or why the delivery cannot be sent at all."""
        now = repo.now()
        async with self.ctx.db.sessionmaker() as session:
            if row.endpoint_id:
                endpoint = await repo.get_endpoint_any(session, endpoint_id=row.endpoint_id)
                if endpoint is None:
                    return "the endpoint was deleted"
                if not endpoint.enabled and row.event_type != rules.PING:
                    return "the endpoint is disabled"
                return endpoint.url, rules.signing_secrets(
                    endpoint.secret,
                    endpoint.previous_secret,
                    repo.aware(endpoint.previous_secret_expires_at),
                    now,
                )
            if not row.callback_url:
                return "the delivery has no URL"
        # the team's callback secret, made now if nobody has asked for it yet
        await callback_secret(self.ctx, tenant_id=row.tenant_id)
        async with self.ctx.db.sessionmaker() as session:
            secret = await repo.get_callback_secret(session, tenant_id=row.tenant_id)
            if secret is None:
                return "the team has no callback secret"
            return row.callback_url, rules.signing_secrets(
                secret.secret,
                secret.previous_secret,
                repo.aware(secret.previous_secret_expires_at),
                now,
            )

    async def _send(self, row: sa.Row) -> None:
        signing = await self._signing(row)
        if isinstance(signing, str):
            await self._give_up(row, signing)
            return
        url, secrets = signing
        number = row.attempt_count + 1
        give_up = False
        try:
            target = await resolve_target(
                url,
                allow_private=self.settings.webhook_allow_private,
                require_https=self.settings.webhook_require_https,
            )
        except UnsafeUrl as exc:
            # a name that now resolves to a private address is refused for good; one that
            # does not resolve at all may again later
            give_up = exc.code != "webhook_url_unresolvable"
            answer = Answer(None, 0, b"", exc.message[:200])
        else:
            timestamp = int(time.time())
            body = row.body.encode()
            headers = {
                "content-type": "application/json",
                "webhook-id": row.id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": rules.signature_header(secrets, row.id, timestamp, body),
            }
            answer = await post_to(
                self.client, target, body, headers, timeout=self.settings.webhook_timeout
            )
            LATENCY.observe(answer.latency_ms / 1000)
        await self._record(row, number, answer, give_up=give_up)

    async def _give_up(self, row: sa.Row, why: str) -> None:
        async with self.ctx.db.transaction() as session:
            await repo.update_delivery(
                session,
                delivery_id=row.id,
                status="failed",
                next_attempt_at=None,
                locked_until=None,
            )
        DELIVERIES.labels("not_sent").inc()
        log.info("webhooks.not_sent", delivery_id=row.id, reason=why)

    async def _record(self, row: sa.Row, number: int, answer: Answer, *, give_up: bool) -> None:
        at = repo.now()
        outcome = rules.judge(
            answer.status_code, number, schedule=self.settings.webhook_retry_schedule
        )
        if give_up:
            outcome = rules.Outcome(delivered=False, disable=None, retry_in=None)
        if outcome.delivered:
            status = "delivered"
        elif outcome.retry_in is not None:
            status = "pending"
        else:
            status = "failed"
        ATTEMPTS.labels(status if status != "pending" else "retrying").inc()
        if status != "pending":
            DELIVERIES.labels(status).inc()
        async with self.ctx.db.transaction() as session:
            await repo.insert_attempt(
                session,
                delivery_id=row.id,
                tenant_id=row.tenant_id,
                number=number,
                attempted_at=at,
                status_code=answer.status_code,
                latency_ms=answer.latency_ms,
                error=answer.error,
                response_body=rules.answer_excerpt(answer.body),
            )
            await repo.update_delivery(
                session,
                delivery_id=row.id,
                status=status,
                attempt_count=number,
                last_status_code=answer.status_code,
                next_attempt_at=(
                    at + timedelta(seconds=outcome.retry_in)
                    if outcome.retry_in is not None
                    else None
                ),
                delivered_at=at if outcome.delivered else None,
                locked_until=None,
            )
            if row.endpoint_id:
                await self._endpoint_health(session, row, at, outcome)
        log.info(
            "webhooks.attempt",
            delivery_id=row.id,
            event_type=row.event_type,
            attempt=number,
            status_code=answer.status_code,
            outcome=status,
            latency_ms=answer.latency_ms,
        )

    async def _endpoint_health(self, session, row: sa.Row, at, outcome: rules.Outcome) -> None:
        endpoint = await repo.get_endpoint(
            session, tenant_id=row.tenant_id, endpoint_id=row.endpoint_id, for_update=True
        )
        if endpoint is None:
            return
        if outcome.delivered:
            await repo.update_endpoint(
                session,
                tenant_id=row.tenant_id,
                endpoint_id=endpoint.id,
                last_attempt_at=at,
                last_success_at=at,
                failing_since=None,
                consecutive_failures=0,
            )
            return
        failing_since = repo.aware(endpoint.failing_since) or at
        failures = endpoint.consecutive_failures + 1
        values = {
            "last_attempt_at": at,
            "failing_since": failing_since,
            "consecutive_failures": failures,
        }
        reason = outcome.disable
        if reason is None and rules.failing_too_long(failing_since, failures, at):
            reason = "failing"
        if reason and endpoint.enabled:
            values |= {"enabled": False, "disabled_reason": reason, "updated_at": at}
            ENDPOINTS_DISABLED.labels(reason).inc()
            await announce_disabled(self.ctx, session, endpoint, reason=reason, at=at)
        await repo.update_endpoint(
            session, tenant_id=row.tenant_id, endpoint_id=endpoint.id, **values
        )
