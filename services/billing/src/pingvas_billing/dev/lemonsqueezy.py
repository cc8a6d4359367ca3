"""A local stand-in for the part of Lemon Squeezy's API billing calls, for tests only: it
replays LS's documented formats (JSON:API) over real HTTP and records what it was sent.

    with serve_standin(api_key="test-key", store_id="1", variants={"101", "102"}) as ls:
        settings = Settings(lemonsqueezy_api_url=ls.url, lemonsqueezy_api_key="test-key", ...)
        ...
        ls.requests[-1].json["data"]["attributes"]["checkout_data"]["custom"]["tenant_id"]

- `POST /v1/checkouts`: checks the bearer key (401), the JSON:API media type (415), the
  document (`data.type` "checkouts", `relationships.store` / `.variant`, the store and a
  known variant, `checkout_data.custom` an object, a valid `redirect_url`; 422 with
  JSON:API `errors` and `source.pointer`), then answers 201 with a checkout object whose
  `data.attributes.url` is the checkout link.
- `GET /v1/subscriptions/{id}`: the subscription added with `add_subscription` (the
  same object `sample_webhook` puts in a subscription webhook), else 404.

`python -m pingvas_billing.dev.lemonsqueezy --port 8190 --api-key K` serves it until
interrupted, e.g. behind a local billing service (BILLING_LEMONSQUEEZY_API_URL)."""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pingvas_kit.ports import free_port

from ..adapters.lemonsqueezy import JSON_API
from .webhooks import ls_time, sample_webhook


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class StandIn:
    api_key: str
    store_id: str = "1"
    #: variant ids a checkout may name; empty: any numeric id
    variants: set[str] = field(default_factory=set)
    test_mode: bool = True
    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: answer every call with this status (and a JSON:API error), e.g. 500 or 429
    fail_with: int | None = None

    def add_subscription(
        self, subscription_id: str | int, *, variant_id: str | int = "1", **kwargs: Any
    ) -> dict[str, Any]:
        """Make `GET /v1/subscriptions/{id}` find a subscription (sample_webhook's object;
        keyword arguments as sample_webhook's)."""
        kwargs.setdefault("tenant_id", None)
        payload = sample_webhook(
            "subscription_created",
            plan_variant_id=variant_id,
            subscription_id=subscription_id,
            store_id=self.store_id,
            test_mode=self.test_mode,
            **kwargs,
        )
        self.subscriptions[str(subscription_id)] = payload["data"]
        return payload["data"]

    def checkouts(self) -> list[dict[str, Any]]:
        """The documents of the checkouts created so far."""
        return [r.json for r in self.requests if r.method == "POST" and r.path == "/v1/checkouts"]


def _errors(status: int, title: str, detail: str, pointer: str | None = None) -> JSONResponse:
    error: dict[str, Any] = {"detail": detail, "status": str(status), "title": title}
    if pointer:
        error["source"] = {"pointer": pointer}
    return JSONResponse(
        {"jsonapi": {"version": "1.0"}, "errors": [error]}, status_code=status, media_type=JSON_API
    )


def _invalid(detail: str, pointer: str) -> JSONResponse:
    return _errors(422, "Unprocessable Entity", detail, pointer)


def _authorised(state: StandIn, request: Request) -> bool:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and bool(token) and token == state.api_key


def _relationship(data: dict[str, Any], name: str, kind: str) -> tuple[str | None, str | None]:
    """(id, error) of `relationships.<name>.data` of type `kind`."""
    rel = (data.get("relationships") or {}).get(name)
    target = rel.get("data") if isinstance(rel, dict) else None
    if not isinstance(target, dict):
        return None, f"The {name} relationship is required."
    if target.get("type") != kind:
        return None, f"The {name} relationship must be of type {kind}."
    ident = target.get("id")
    if not isinstance(ident, str) or not ident.isdigit():
        return None, f"The {name} id must be a numeric string."
    return ident, None


def _validate_checkout(state: StandIn, document: Any) -> JSONResponse | tuple[dict, str, str]:
    if not isinstance(document, dict) or not isinstance(document.get("data"), dict):
        return _invalid("The data member is required.", "/data")
    data = document["data"]
    if data.get("type") != "checkouts":
        return _invalid("The type must be checkouts.", "/data/type")
    attributes = data.get("attributes") or {}
    if not isinstance(attributes, dict):
        return _invalid("The attributes must be an object.", "/data/attributes")
    store_id, error = _relationship(data, "store", "stores")
    if error:
        return _invalid(error, "/data/relationships/store")
    variant_id, error = _relationship(data, "variant", "variants")
    if error:
        return _invalid(error, "/data/relationships/variant")
    if store_id != state.store_id:
        return _errors(404, "Not Found", "The store does not exist.", "/data/relationships/store")
    if state.variants and variant_id not in state.variants:
        return _errors(
            404, "Not Found", "The variant does not exist.", "/data/relationships/variant"
        )
    checkout_data = attributes.get("checkout_data") or {}
    if not isinstance(checkout_data, dict):
        return _invalid("The checkout data must be an object.", "/data/attributes/checkout_data")
    if "custom" in checkout_data and not isinstance(checkout_data["custom"], dict):
        return _invalid(
            "The custom data must be an object.", "/data/attributes/checkout_data/custom"
        )
    email = checkout_data.get("email")
    if email is not None and (not isinstance(email, str) or "@" not in email):
        return _invalid(
            "The email must be a valid email address.", "/data/attributes/checkout_data/email"
        )
    options = attributes.get("product_options") or {}
    redirect = options.get("redirect_url") if isinstance(options, dict) else None
    if redirect is not None:
        parts = urlsplit(str(redirect))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return _invalid(
                "The redirect url must be a valid URL.",
                "/data/attributes/product_options/redirect_url",
            )
    assert store_id is not None and variant_id is not None
    return attributes, store_id, variant_id


def create_app(state: StandIn) -> Starlette:
    async def record(request: Request) -> Recorded:
        entry = Recorded(
            request.method, request.url.path, dict(request.headers), await request.body()
        )
        state.requests.append(entry)
        return entry

    def gate(request: Request) -> JSONResponse | None:
        if state.fail_with is not None:
            return _errors(state.fail_with, "Error", "The stand-in was told to fail.")
        if not _authorised(state, request):
            return _errors(401, "Unauthorized", "Unauthenticated.")
        return None

    async def create_checkout(request: Request) -> JSONResponse:
        entry = await record(request)
        if (refused := gate(request)) is not None:
            return refused
        if request.headers.get("content-type", "").split(";")[0].strip() != JSON_API:
            return _errors(415, "Unsupported Media Type", f"The Content-Type must be {JSON_API}.")
        try:
            document = json.loads(entry.body)
        except ValueError:
            return _errors(400, "Bad Request", "The body is not valid JSON.")
        checked = _validate_checkout(state, document)
        if isinstance(checked, JSONResponse):
            return checked
        attributes, store_id, variant_id = checked
        checkout_id = str(uuid.uuid4())
        now = ls_time(datetime.now(UTC))
        base = f"{state.url}/v1/checkouts/{checkout_id}"
        checkout_data = {
            "email": "",
            "name": "",
            "billing_address": [],
            "tax_number": "",
            "discount_code": "",
            "custom": [],
            "variant_quantities": [],
            **(attributes.get("checkout_data") or {}),
        }
        product_options = {
            "name": "",
            "description": "",
            "media": [],
            "redirect_url": "",
            "receipt_button_text": "",
            "receipt_link_url": "",
            "receipt_thank_you_note": "",
            "enabled_variants": [],
            **(attributes.get("product_options") or {}),
        }
        answer = {
            "jsonapi": {"version": "1.0"},
            "links": {"self": base},
            "data": {
                "type": "checkouts",
                "id": checkout_id,
                "attributes": {
                    "store_id": int(store_id),
                    "variant_id": int(variant_id),
                    "custom_price": attributes.get("custom_price"),
                    "product_options": product_options,
                    "checkout_options": attributes.get("checkout_options") or {},
                    "checkout_data": checkout_data,
                    "preview": attributes.get("preview") or False,
                    "expires_at": attributes.get("expires_at"),
                    "created_at": now,
                    "updated_at": now,
                    "test_mode": bool(attributes.get("test_mode", state.test_mode)),
                    "url": f"{state.url}/checkout/custom/{checkout_id}?signature={uuid.uuid4().hex}",
                },
                "relationships": {
                    "store": {"links": {"related": f"{base}/store"}},
                    "variant": {"links": {"related": f"{base}/variant"}},
                },
                "links": {"self": base},
            },
        }
        return JSONResponse(answer, status_code=201, media_type=JSON_API)

    async def get_subscription(request: Request) -> JSONResponse:
        await record(request)
        if (refused := gate(request)) is not None:
            return refused
        ident = request.path_params["id"]
        data = state.subscriptions.get(ident)
        if data is None:
            return _errors(404, "Not Found", "Not found.")
        answer = {
            "jsonapi": {"version": "1.0"},
            "links": {"self": f"{state.url}/v1/subscriptions/{ident}"},
            "data": data,
        }
        return JSONResponse(answer, media_type=JSON_API)

    return Starlette(
        routes=[
            Route("/v1/checkouts", create_checkout, methods=["POST"]),
            Route("/v1/subscriptions/{id}", get_subscription, methods=["GET"]),
        ]
    )


@contextmanager
def serve_standin(
    *,
    api_key: str = "test-lemonsqueezy-key",
    store_id: str = "1",
    variants: set[str] | None = None,
    test_mode: bool = True,
    port: int | None = None,
) -> Iterator[StandIn]:
    """Serve a stand-in on a free loopback port (uvicorn in a thread) while in the block."""
    state = StandIn(
        api_key=api_key, store_id=store_id, variants=set(variants or ()), test_mode=test_mode
    )
    port = port or free_port()
    state.url = f"http://127.0.0.1:{port}"
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(state), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
    )
    thread = threading.Thread(target=server.run, name="lemonsqueezy-standin", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the Lemon Squeezy stand-in did not start")
        time.sleep(0.01)
    try:
        yield state
    finally:
        server.should_exit = True
        thread.join(5)


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the Lemon Squeezy stand-in (tests only).")
    parser.add_argument("--port", type=int, default=8190)
    parser.add_argument("--api-key", default="test-lemonsqueezy-key")
    parser.add_argument("--store-id", default="1")
    args = parser.parse_args()
    with serve_standin(api_key=args.api_key, store_id=args.store_id, port=args.port) as state:
        print(f"Lemon Squeezy stand-in at {state.url} (Ctrl-C stops it)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
