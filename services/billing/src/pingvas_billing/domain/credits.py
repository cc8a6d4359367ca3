"""The seam to the credit ledger (`pingvas_billing.ledger`, written beside this module):
subscriptions start periods, the sweep grants due Free periods. While the ledger module is
absent these do nothing (logged), so the subscription side runs and tests on its own."""

from __future__ import annotations

import importlib
from datetime import datetime
from types import ModuleType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_kit.logging import get_logger

log = get_logger("pingvas.billing.credits")


def _ledger() -> ModuleType | None:
    try:
        return importlib.import_module("pingvas_billing.ledger")
    except ModuleNotFoundError as exc:
        if exc.name != "pingvas_billing.ledger":
            raise
        return None


LEDGER = _ledger()


async def start_period(
    session: AsyncSession,
    outbox: Any,
    *,
    tenant_id: str,
    plan: str,
    credits: int,
    reference: str,
    period_end: datetime,
) -> None:
    """Expire the unused credits of earlier grants and grant `credits` for the period that
    starts now (idempotent on `reference`), in the caller's transaction."""
    if LEDGER is None:
        log.warning("billing.ledger_missing", action="start_period", reference=reference)
        return
    await LEDGER.start_period(
        session,
        outbox,
        tenant_id=tenant_id,
        plan=plan,
        credits=credits,
        reference=reference,
        period_end=period_end,
    )


async def grant_due_free_periods(db: Any, outbox: Any, now: datetime) -> int:
    if LEDGER is None or not hasattr(LEDGER, "grant_due_free_periods"):
        return 0
    return await LEDGER.grant_due_free_periods(db, outbox, now)
