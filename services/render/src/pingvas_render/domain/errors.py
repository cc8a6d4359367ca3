"""Why a request cannot be done, in domain terms; the web layer turns each into problem+json."""

from __future__ import annotations

from typing import Any

from pingvas_kit.problems import INVALID, CodedError, register_field_codes


class DomainError(CodedError):
    def __init__(
        self,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        code: str | None = None,
        **extra: Any,
    ):
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}
        if code:  # a more precise stable code than the class's
            self.kind = code
        self.extra = extra


class NotAuthenticated(DomainError):
    status, title, kind = 401, "Unauthorized", "unauthorized"


class Forbidden(DomainError):
    status, title, kind = 403, "Forbidden", "forbidden"


class EmailNotVerified(DomainError):
    status, title, kind = 403, "Forbidden", "email-not-verified"


class NotYourImage(Forbidden):
    """A member may delete only their own images unless the team allows any."""

    kind = "image-not-yours"


class NotFound(DomainError):
    status, title, kind = 404, "Not Found", "not-found"


class Conflict(DomainError):
    status, title, kind = 409, "Conflict", "conflict"


class IdempotencyConflict(DomainError):
    status, title, kind = 409, "Conflict", "idempotency-key-reused"


class OutOfCredits(DomainError):
    status, title, kind = 402, "Payment Required", "out-of-credits"


class TooManyJobs(DomainError):
    status, title, kind = 429, "Too Many Requests", "too-many-jobs"


class NotReady(DomainError):
    """The tenant's entitlements have not arrived yet (a brand-new team)."""

    status, title, kind = 503, "Service Unavailable", "entitlements-pending"


class Invalid(DomainError):
    status, title, kind = 422, "Request is not valid", "validation-failed"

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        # every item has a stable code the SPA shows in the reader's language
        super().__init__("See errors.", errors=[{"code": INVALID, **e} for e in errors])


class InvalidField(Invalid):
    """One field is wrong in a way the schema could not catch, with a precise stable code:
    InvalidField("...", code="webhook_url_forbidden", field="webhook")."""

    def __init__(self, detail: str, *, code: str, field: str) -> None:
        register_field_codes(code)
        DomainError.__init__(
            self,
            detail,
            code=code,
            errors=[{"field": field, "message": detail, "code": code}],
        )
