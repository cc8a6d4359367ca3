"""Why a request cannot be done, in domain terms; the web layer turns each into problem+json."""

from pingvas_kit.problems import CodedError


class DomainError(CodedError):
    def __init__(
        self,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        code: str | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}
        if code:  # a more precise stable code than the class's
            self.kind = code
        #: the request field the error is about, for problem+json `errors`
        self.field = field


class NotAuthenticated(DomainError):
    status, title, kind = 401, "Unauthorized", "unauthorized"


class Forbidden(DomainError):
    status, title, kind = 403, "Forbidden", "forbidden"


class EmailNotVerified(Forbidden):
    """Mail to other people (invitations) and API keys wait until the address is verified."""

    kind = "email-not-verified"


class TooManyRequests(DomainError):
    status, title, kind = 429, "Too Many Requests", "too-many-requests"


class NotFound(DomainError):
    status, title, kind = 404, "Not Found", "not-found"


class Conflict(DomainError):
    status, title, kind = 409, "Conflict", "conflict"


class Gone(DomainError):
    status, title, kind = 410, "Gone", "gone"


class Invalid(DomainError):
    status, title, kind = 422, "Request is not valid", "validation-failed"


class InvalidLink(DomainError):
    """A verification, reset or invitation token that is unknown, used or expired."""

    status, title, kind = 400, "Bad Request", "invalid-link"
