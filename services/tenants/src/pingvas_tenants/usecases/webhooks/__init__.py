"""Partner webhooks (docs/webhooks.md): the endpoints a team manages and their delivery
log (`_endpoints`), events turned into deliveries (`_fanout`, called by consumers.py), and
the sender that signs and posts them with retries (`_sender`)."""

from ._endpoints import (
    Actor,
    EndpointView,
    callback_secret,
    create_endpoint,
    delete_endpoint,
    get_delivery,
    get_endpoint,
    list_deliveries,
    list_endpoints,
    redeliver,
    rotate_callback_secret,
    rotate_secret,
    send_test,
    update_endpoint,
)
from ._fanout import Loader, fan_out, stage_delivery, to_callback
from ._sender import WebhookSender

__all__ = [
    "Actor",
    "EndpointView",
    "Loader",
    "WebhookSender",
    "callback_secret",
    "create_endpoint",
    "delete_endpoint",
    "fan_out",
    "get_delivery",
    "get_endpoint",
    "list_deliveries",
    "list_endpoints",
    "redeliver",
    "rotate_callback_secret",
    "rotate_secret",
    "send_test",
    "stage_delivery",
    "to_callback",
    "update_endpoint",
]
