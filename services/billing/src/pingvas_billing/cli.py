"""`pingvas-billing`: billing's command line.

    pingvas-billing simulate-webhook EVENT --tenant ID [--plan pro] [--interval month]
        [--status active] [--url http://127.0.0.1:8080/webhooks/lemonsqueezy] [--secret S]

simulate-webhook posts a correctly signed sample Lemon Squeezy webhook (the documented
body, `X-Signature` = hex HMAC-SHA256 of it) to the running stack, so a person can
upgrade, renew, fail a payment or cancel without a Lemon Squeezy account. The signing
secret is, in this order: --secret, BILLING_LEMONSQUEEZY_SIGNING_SECRET,
PINGVAS_LEMONSQUEEZY_SIGNING_SECRET, the local run's var/secrets.json, the development
default. The subscription id defaults to one derived from the tenant, so the events of
one tenant are about the same subscription. The custom data carries the checkout binding
billing makes when a tenant starts a checkout (made here with the same signing secret), as
a purchase through the checkout would; `--unbound` leaves it out (billing then records the
event and does not apply it, unless the tenant already holds the subscription)."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import httpx

from .adapters.lemonsqueezy import BINDING_KEY, EVENTS, STATUSES, checkout_binding, sign
from .dev.webhooks import encode, sample_webhook
from .plans import INTERVALS, PlanError, load_plans
from .settings import DEV_SIGNING_SECRET, Settings

DEFAULT_URL = "http://127.0.0.1:8080/webhooks/lemonsqueezy"
SECRET_KEY = "PINGVAS_LEMONSQUEEZY_SIGNING_SECRET"
ENV_KEYS = ("BILLING_LEMONSQUEEZY_SIGNING_SECRET", SECRET_KEY)

#: the subscription status an event implies unless --status says otherwise
EVENT_STATUS = {
    "subscription_cancelled": "cancelled",
    "subscription_expired": "expired",
    "subscription_paused": "paused",
    "subscription_payment_failed": "past_due",
}


def signing_secret(
    explicit: str | None = None,
    *,
    environ: dict[str, str] | os._Environ[str] | None = None,
    var_dir: Path = Path("var"),
) -> tuple[str, str]:
    """(secret, where it came from)."""
    env = os.environ if environ is None else environ
    if explicit:
        return explicit, "--secret"
    for key in ENV_KEYS:
        if env.get(key):
            return env[key], key
    path = var_dir / "secrets.json"
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        saved = {}
    if isinstance(saved, dict) and saved.get(SECRET_KEY):
        return str(saved[SECRET_KEY]), str(path)
    return DEV_SIGNING_SECRET, "the development default"


def subscription_id_for(tenant_id: str) -> str:
    """A stable, numeric (like Lemon Squeezy's) subscription id for a tenant."""
    return str(int(hashlib.sha256(tenant_id.encode()).hexdigest()[:12], 16) % 10**9 + 10**9)


def _parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def build_webhook(
    args: argparse.Namespace, settings: Settings, *, secret: str | None = None
) -> dict[str, Any]:
    """The sample body; with `secret`, the checkout binding for the tenant in its custom data."""
    plans = load_plans(settings.plans_file)
    plan = plans.get(args.plan)
    if plan is None or plan.is_free:
        sellable = ", ".join(p.code for p in plans if not p.is_free)
        raise SystemExit(f"--plan must be a paid plan: {sellable}")
    variant = args.variant or plan.variants.get(args.interval)
    if variant is None:
        raise SystemExit(f"{plan.code} has no {args.interval} variant in plans.toml")
    event = args.event
    status = args.status or EVENT_STATUS.get(event, "active")
    updated = args.updated_at or datetime.now(UTC)
    period = timedelta(days=365 if args.interval == "year" else 30)
    renews_at = updated + period
    ends_at = None
    if status == "cancelled":
        ends_at = renews_at
    elif status == "expired":
        ends_at = updated
    subscription_id = args.subscription_id or subscription_id_for(args.tenant)
    test_mode = settings.lemonsqueezy_test_mode if args.test_mode is None else args.test_mode
    return sample_webhook(
        event,
        tenant_id=args.tenant or None,
        plan_variant_id=variant,
        subscription_id=subscription_id,
        status=status,
        test_mode=test_mode,
        updated_at=updated,
        renews_at=renews_at,
        ends_at=ends_at,
        trial_ends_at=renews_at if status == "on_trial" else None,
        order_id=args.order_id or subscription_id,
        invoice_id=args.invoice_id or f"{subscription_id}{int(updated.timestamp()) % 10**6:06d}",
        variant_name=f"{plan.name} ({args.interval}ly)",
        user_email=args.email,
        total=plan.prices.get(args.interval, 0),
        currency=plan.currency,
        custom_data=(
            {BINDING_KEY: checkout_binding(secret, args.tenant)}
            if secret and args.tenant and not getattr(args, "unbound", False)
            else None
        ),
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pingvas-billing", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    sim = commands.add_parser(
        "simulate-webhook",
        help="post a signed sample Lemon Squeezy webhook to the running stack",
        description="Post a correctly signed sample Lemon Squeezy webhook.",
    )
    sim.add_argument("event", choices=EVENTS, metavar="EVENT", help=", ".join(EVENTS))
    sim.add_argument("--tenant", required=True, help="the tenant id (meta.custom_data.tenant_id)")
    sim.add_argument("--plan", default="pro", help="a paid plan of plans.toml (default: pro)")
    sim.add_argument("--interval", choices=INTERVALS, default="month", help="default: month")
    sim.add_argument(
        "--status",
        choices=STATUSES,
        help="the subscription's status (default: what the event implies, else active)",
    )
    sim.add_argument(
        "--url", default=DEFAULT_URL, help=f"where to post it (default: {DEFAULT_URL})"
    )
    sim.add_argument("--secret", help="the signing secret (default: see above)")
    sim.add_argument("--var", type=Path, default=Path("var"), help="the local run's var dir")
    sim.add_argument("--subscription-id", help="default: derived from the tenant")
    sim.add_argument("--order-id", help="default: the subscription id")
    sim.add_argument("--invoice-id", help="subscription_payment_*: default: from the time")
    sim.add_argument("--variant", help="a variant id instead of the plan's (e.g. an unknown one)")
    sim.add_argument("--email", default="owner@example.com", help="the customer's email")
    sim.add_argument(
        "--updated-at", type=_parse_time, help="LS's updated_at, ISO 8601 (default: now)"
    )
    mode = sim.add_mutually_exclusive_group()
    mode.add_argument("--test-mode", dest="test_mode", action="store_true", default=None)
    mode.add_argument("--live-mode", dest="test_mode", action="store_false")
    sim.add_argument(
        "--unbound",
        action="store_true",
        help="no checkout binding in the custom data (a purchase the tenant did not start)",
    )
    sim.add_argument(
        "--dry-run", action="store_true", help="print the body and signature, post nothing"
    )
    sim.add_argument("--timeout", type=float, default=10.0, help="seconds (default 10)")
    return parser


def simulate_webhook(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    settings = Settings()
    secret, source = signing_secret(args.secret, var_dir=args.var)
    payload = build_webhook(args, settings, secret=secret)
    body = encode(payload)
    signature = sign(body, secret)
    headers = {
        "content-type": "application/json",
        "accept": "application/json",
        "x-event-name": args.event,
        "x-signature": signature,
        "user-agent": "pingvas-billing simulate-webhook",
    }
    if args.dry_run:
        print(json.dumps({"headers": headers, "body": payload}, indent=2), file=out)
        return 0
    try:
        response = httpx.post(args.url, content=body, headers=headers, timeout=args.timeout)
    except httpx.HTTPError as exc:
        print(f"could not post to {args.url}: {type(exc).__name__}: {exc}", file=sys.stderr)
        print("is the stack running? (pingvas-dev up)", file=sys.stderr)
        return 2
    data = payload["data"]
    subscription = data["id"] if data["type"] == "subscriptions" else None
    subscription = subscription or data["attributes"].get("subscription_id") or "-"
    print(
        f"{args.event} for tenant {args.tenant} (subscription {subscription}, signed with "
        f"{source}) -> {response.status_code} {response.text[:500]}",
        file=out,
    )
    if response.status_code == 401:
        print(
            "the signature was refused: does billing use the same signing secret? (--secret)",
            file=sys.stderr,
        )
    return 0 if response.is_success else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "simulate-webhook":
            return simulate_webhook(args)
    except PlanError as exc:
        print(f"plans.toml: {exc}", file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
