"""The client's exceptions: an answer that is an error (RFC 9457 problem+json), or no answer."""

from __future__ import annotations

from typing import Any

import httpx

__all__ = ["APIConnectionError", "APIError", "PingvasError", "WebhookVerificationError"]


class PingvasError(Exception):
    """Everything this client raises."""


class APIConnectionError(PingvasError):
    """No answer: the connection failed or timed out (after the retries)."""


class APIError(PingvasError):
    """The API answered an error. `code` is stable to act on (RFC 9457 problem details);
    `title` and `detail` are for people; `problem` holds every member the answer had."""

    def __init__(
        self,
        status: int,
        *,
        code: str | None,
        title: str,
        detail: str | None = None,
        type: str | None = None,
        problem: dict[str, Any] | None = None,
        headers: httpx.Headers | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.type = type
        self.problem = problem or {}
        self.headers = headers or httpx.Headers()
        super().__init__(f"{status} {code or title}: {detail or title}")

    @property
    def errors(self) -> list[dict[str, Any]]:
        """For 422: each field that is not valid."""
        return list(self.problem.get("errors") or [])

    @classmethod
    def from_response(cls, response: httpx.Response) -> APIError:
        problem: dict[str, Any] = {}
        try:
            body = response.json()
            if isinstance(body, dict):
                problem = body
        except ValueError:
            pass
        code = problem.get("code")
        kind = problem.get("type")
        if not code and isinstance(kind, str) and "/problems/" in kind:
            code = kind.rsplit("/", 1)[-1]
        return cls(
            response.status_code,
            code=code if isinstance(code, str) else None,
            title=str(problem.get("title") or response.reason_phrase or "Error"),
            detail=problem.get("detail") if isinstance(problem.get("detail"), str) else None,
            type=kind if isinstance(kind, str) else None,
            problem=problem,
            headers=response.headers,
        )


class WebhookVerificationError(PingvasError):
    """A webhook whose signature or timestamp does not hold: answer it 400 and drop it."""
