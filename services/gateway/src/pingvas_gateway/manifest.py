"""The gateway publishes and consumes no events (yet): it talks to the services over HTTP."""

from pingvas_contracts import ServiceSpec

SERVICE = ServiceSpec(
    name="gateway",
    context=None,
    description="The edge: authentication, rate limits, routing, live progress, the SPA.",
    publishes=(),
    consumes=(),
)
