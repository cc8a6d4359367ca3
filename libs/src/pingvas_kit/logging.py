"""structlog JSON logs with service, tenant_id, request_id and trace_id bound (trace_id
and span_id: the current OpenTelemetry span's, telemetry.py).

Secrets never reach a log: values under secret-looking keys are masked, and SecretStr
values print as '**********' by construction."""

from __future__ import annotations

import logging
import re
import sys
from typing import Any, TextIO, cast

import structlog
from opentelemetry import trace
from structlog.contextvars import bind_contextvars, bound_contextvars, clear_contextvars

SECRET_KEY = re.compile(
    r"(pass(word)?|secret|token|api[_-]?key|authorization|cookie|signature|credential|dsn|private)",
    re.IGNORECASE,
)
MASK = "[redacted]"
_URL_CREDENTIALS = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]+):(?P<pw>[^@\s]+)@", re.IGNORECASE
)


def redact(value: Any, key: str = "") -> Any:
    if key and SECRET_KEY.search(key):
        return MASK
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact(v) for v in value)
    if isinstance(value, str) and "://" in value:
        return _URL_CREDENTIALS.sub(r"\g<scheme>\g<user>:" + MASK + "@", value)
    return value


def _trace_processor(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """The current span's trace and span ids (an HTTP request's, an event's handling, a
    worker's job): log lines of one generation share a trace_id across services."""
    ctx = trace.get_current_span().get_span_context()
    if ctx.is_valid:
        event_dict.setdefault("trace_id", f"{ctx.trace_id:032x}")
        event_dict.setdefault("span_id", f"{ctx.span_id:016x}")
    return event_dict


def _redact_processor(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if k == "event" else redact(v, k)) for k, v in event_dict.items()}


class _Stderr:
    """Whatever sys.stderr is at the time of writing (test runners swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(service: str, *, level: str = "INFO", json: bool = True) -> None:
    """Set up structlog (and route stdlib logging through it) for one service process."""

    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        _trace_processor,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact_processor,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        # write() and flush() are all PrintLogger uses of a file
        logger_factory=structlog.PrintLoggerFactory(file=cast(TextIO, _Stderr())),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(_Stderr())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("botocore", "aiobotocore", "aiormq", "aio_pika", "urllib3", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    clear_contextvars()
    bind_contextvars(service=service)


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)


__all__ = ["bind_contextvars", "bound_contextvars", "configure_logging", "get_logger", "redact"]
