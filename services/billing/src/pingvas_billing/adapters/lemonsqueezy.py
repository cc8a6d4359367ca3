"""Lemon Squeezy: the API calls billing makes, the webhook signature, and the checkout's
tenant binding (sample webhooks are in `pingvas_billing.dev.webhooks`).

    async with LemonSqueezy.from_settings(settings) as ls:       # None without an API key
        url = await ls.create_checkout(variant_id="123", tenant_id=t, email=e, redirect_url=r)
        portal = await ls.customer_portal_url("456")

    sign(body, secret)                 # the X-Signature LS sends: hex HMAC-SHA256 of the body
    verify(body, signature, secret)    # constant-time

The API is JSON:API (`application/vnd.api+json`, bearer API key). Errors come back as
`{"errors": [{"status": "422", "title": ..., "detail": ...}]}`; they are raised as
`LemonSqueezyError` with LS's status and detail. The API key is held as a SecretStr and is
never part of an error, a log line or a repr. Formats: docs/billing.md and
https://docs.lemonsqueezy.com/api (checkouts, subscriptions, webhooks)."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import SecretStr

from pingvas_kit.logging import get_logger

if TYPE_CHECKING:
    from .settings import Settings

log = get_logger("pingvas.billing.lemonsqueezy")

JSON_API = "application/vnd.api+json"

#: every event LS sends (the store's webhook may subscribe to any subset)
SUBSCRIPTION_EVENTS = (
    "subscription_created",
    "subscription_updated",
    "subscription_cancelled",
    "subscription_resumed",
    "subscription_expired",
    "subscription_paused",
    "subscription_unpaused",
)
INVOICE_EVENTS = (
    "subscription_payment_success",
    "subscription_payment_failed",
    "subscription_payment_recovered",
    "subscription_payment_refunded",
)
ORDER_EVENTS = ("order_created", "order_refunded")
EVENTS = SUBSCRIPTION_EVENTS + INVOICE_EVENTS + ORDER_EVENTS

#: subscription statuses, as LS names them
STATUSES = ("on_trial", "active", "paused", "past_due", "unpaid", "cancelled", "expired")


class LemonSqueezyError(Exception):
    """A Lemon Squeezy call failed. `status` is LS's HTTP status (None: no answer at all:
    timeout, connection refused); the message never holds the API key."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class LemonSqueezyNotFound(LemonSqueezyError):
    """LS answered 404: no such subscription (or checkout variant)."""


# ---------------------------------------------------------------- the API client


class LemonSqueezy:
    """An async client for the LS calls billing makes. Use it as an async context manager
    (it owns an httpx client), or call `aclose()`."""

    def __init__(
        self,
        api_url: str,
        api_key: SecretStr | str,
        *,
        store_id: str | int | None,
        test_mode: bool = False,
        timeout_s: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key)
        self.api_url = api_url.rstrip("/")
        self.store_id = None if store_id is None else str(store_id)
        self.test_mode = test_mode
        self._http = httpx.AsyncClient(
            base_url=self.api_url,
            timeout=timeout_s,
            transport=transport,
            headers={"accept": JSON_API, "content-type": JSON_API},
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> LemonSqueezy | None:
        """The client for billing's settings, or None when no API key is configured."""
        key = settings.lemonsqueezy_api_key
        if key is None or not key.get_secret_value():
            return None
        return cls(
            settings.lemonsqueezy_api_url,
            key,
            store_id=settings.lemonsqueezy_store_id,
            test_mode=settings.lemonsqueezy_test_mode,
            timeout_s=settings.lemonsqueezy_timeout_s,
        )

    def __repr__(self) -> str:
        return f"LemonSqueezy({self.api_url!r}, store_id={self.store_id!r})"

    async def __aenter__(self) -> LemonSqueezy:
        return self

    async def __aexit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- calls

    async def create_checkout(
        self,
        *,
        variant_id: str | int,
        tenant_id: str,
        email: str | None = None,
        redirect_url: str | None = None,
        custom: dict[str, Any] | None = None,
    ) -> str:
        """Create a checkout for one variant (`POST /v1/checkouts`) and return its URL. The
        tenant id goes into `checkout_data.custom`, which LS hands back in every webhook
        of the purchase as `meta.custom_data` (values as strings)."""
        if self.store_id is None:
            raise LemonSqueezyError("BILLING_LEMONSQUEEZY_STORE_ID is not set")
        body = checkout_body(
            store_id=self.store_id,
            variant_id=variant_id,
            tenant_id=tenant_id,
            email=email,
            redirect_url=redirect_url,
            custom=custom,
            test_mode=self.test_mode,
        )
        answer = await self._call("POST", "/v1/checkouts", json_body=body)
        try:
            url = answer["data"]["attributes"]["url"]
        except (KeyError, TypeError):
            raise LemonSqueezyError("Lemon Squeezy's checkout answer holds no URL") from None
        if not isinstance(url, str) or not url:
            raise LemonSqueezyError("Lemon Squeezy's checkout answer holds no URL")
        return url

    async def get_subscription(self, subscription_id: str | int) -> dict[str, Any]:
        """`GET /v1/subscriptions/{id}`: the subscription object (`data`: type, id, attributes)."""
        answer = await self._call("GET", f"/v1/subscriptions/{_path_id(subscription_id)}")
        data = answer.get("data")
        if not isinstance(data, dict) or not isinstance(data.get("attributes"), dict):
            raise LemonSqueezyError("Lemon Squeezy's subscription answer holds no data")
        return data

    async def customer_portal_url(self, subscription_id: str | int) -> str:
        """The subscription's `urls.customer_portal` (a signed link, valid for 24 hours)."""
        data = await self.get_subscription(subscription_id)
        url = (data["attributes"].get("urls") or {}).get("customer_portal")
        if not url:
            raise LemonSqueezyError("Lemon Squeezy's subscription holds no customer portal URL")
        return url

    async def _call(
        self, method: str, path: str, *, json_body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {self._key.get_secret_value()}"}
        content = None if json_body is None else json.dumps(json_body).encode()
        try:
            response = await self._http.request(method, path, content=content, headers=headers)
        except httpx.TimeoutException:
            raise LemonSqueezyError(
                f"Lemon Squeezy did not answer {method} {path} in time"
            ) from None
        except httpx.HTTPError as exc:
            raise LemonSqueezyError(
                f"Lemon Squeezy could not be reached ({type(exc).__name__}) for {method} {path}"
            ) from None
        if response.status_code >= 400:
            detail = self._scrub(_error_detail(response))
            log.warning(
                "lemonsqueezy.error",
                method=method,
                path=path,
                status=response.status_code,
                detail=detail,
            )
            kind = LemonSqueezyNotFound if response.status_code == 404 else LemonSqueezyError
            raise kind(
                f"Lemon Squeezy answered {response.status_code} to {method} {path}: {detail}",
                status=response.status_code,
            )
        try:
            answer = response.json()
        except ValueError:
            raise LemonSqueezyError(
                f"Lemon Squeezy's answer to {method} {path} is not JSON",
                status=response.status_code,
            ) from None
        if not isinstance(answer, dict):
            raise LemonSqueezyError(f"Lemon Squeezy's answer to {method} {path} is not an object")
        return answer

    def _scrub(self, text: str) -> str:
        key = self._key.get_secret_value()
        return text.replace(key, "***") if key else text


def checkout_body(
    *,
    store_id: str | int,
    variant_id: str | int,
    tenant_id: str,
    email: str | None = None,
    redirect_url: str | None = None,
    custom: dict[str, Any] | None = None,
    test_mode: bool = False,
) -> dict[str, Any]:
    """The JSON:API document of `POST /v1/checkouts`."""
    checkout_data: dict[str, Any] = {"custom": {**(custom or {}), "tenant_id": str(tenant_id)}}
    if email:
        checkout_data["email"] = email
    attributes: dict[str, Any] = {"checkout_data": checkout_data}
    if redirect_url:
        attributes["product_options"] = {"redirect_url": redirect_url}
    if test_mode:
        attributes["test_mode"] = True
    return {
        "data": {
            "type": "checkouts",
            "attributes": attributes,
            "relationships": {
                "store": {"data": {"type": "stores", "id": str(store_id)}},
                "variant": {"data": {"type": "variants", "id": str(variant_id)}},
            },
        }
    }


def _path_id(value: str | int) -> str:
    text = str(value)
    if not text.isdigit():
        raise LemonSqueezyNotFound(f"not a Lemon Squeezy id: {text[:32]!r}", status=404)
    return text


def _error_detail(response: httpx.Response) -> str:
    """LS's JSON:API error (`errors[0].detail` or `.title`), else the start of the body."""
    try:
        errors = response.json().get("errors")
        first = errors[0]
        text = first.get("detail") or first.get("title")
        if text:
            return str(text)[:300]
    except (ValueError, AttributeError, IndexError, KeyError, TypeError):
        pass
    return response.text[:200] or response.reason_phrase


# ---------------------------------------------------------------- webhook signatures


def _secret_bytes(secret: SecretStr | str | bytes) -> bytes:
    if isinstance(secret, SecretStr):
        secret = secret.get_secret_value()
    return secret if isinstance(secret, bytes) else secret.encode()


def sign(body: bytes, secret: SecretStr | str | bytes) -> str:
    """The `X-Signature` of a webhook: hex HMAC-SHA256 of the raw body."""
    return hmac.new(_secret_bytes(secret), body, hashlib.sha256).hexdigest()


def verify(body: bytes, signature: str | None, secret: SecretStr | str | bytes) -> bool:
    """Whether `signature` (the X-Signature header) is the body's, in constant time."""
    if not signature:
        return False
    return hmac.compare_digest(sign(body, secret).encode(), signature.strip().lower().encode())


# ---------------------------------------------------------------- the checkout's tenant

#: the custom-data key of the binding between a purchase and the tenant that started it
BINDING_KEY = "checkout"


def _binding_mac(secret: SecretStr | str | bytes, tenant_id: str, nonce: str) -> str:
    message = f"pingvas-checkout-binding:{tenant_id}:{nonce}".encode()
    return hmac.new(_secret_bytes(secret), message, hashlib.sha256).hexdigest()[:32]


def checkout_binding(
    secret: SecretStr | str | bytes, tenant_id: str, *, nonce: str | None = None
) -> str:
    """What billing puts beside `tenant_id` in a checkout's custom data when that tenant's
    owner starts the checkout: `<nonce>.<HMAC of the tenant id and nonce>`. LS hands it back
    in every webhook of the purchase. Custom data can be edited by whoever holds a checkout
    link (`checkout[custom][tenant_id]=…`), but nobody without the store's signing secret can
    make a binding for another tenant, so a purchase cannot be pointed at someone else's team."""
    nonce = nonce or uuid.uuid4().hex[:16]
    return f"{nonce}.{_binding_mac(secret, str(tenant_id), nonce)}"


def binding_is_for(secret: SecretStr | str | bytes, tenant_id: str, binding: Any) -> bool:
    """Whether `binding` (custom data's `checkout`) was made for `tenant_id`; constant-time."""
    if not isinstance(binding, str) or binding.count(".") != 1:
        return False
    nonce, mac = binding.split(".")
    if not nonce or len(nonce) > 64:
        return False
    return hmac.compare_digest(_binding_mac(secret, str(tenant_id), nonce).encode(), mac.encode())
