"""An HTTP error with a stable problem+json `code`, for routes and dependencies to raise
(pingvas_kit.http answers it; its own module so that light importers, the identity
dependencies, need no more than Starlette)."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException as StarletteHTTPException

from .problems import register_codes


class CodedHTTPException(StarletteHTTPException):
    """An HTTPException with a stable code (and more members for the problem body):
    raise CodedHTTPException(403, "scope-missing", "This API key lacks ...", scope=...)."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(status, detail, headers=headers)
        register_codes(code, status=status)
        self.code = code
        self.extra = extra
