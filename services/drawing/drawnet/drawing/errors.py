"""The drawing service's one root error, and its mapping to RFC 9457 problem details at the HTTP edge."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from litestar.exceptions import HTTPException
from litestar.plugins.problem_details import ProblemDetailsException

PROBLEMS = "https://drawnet.dev/problems/"
log = logging.getLogger(__name__)


class DrawingError(Exception):
    """Something the caller can be told: a status, a problem type, and a message with the numbers."""

    status = 400
    problem = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


class InvalidInputError(DrawingError):
    status, problem, title = 422, "invalid-input", "Invalid input"


class UnauthorizedError(DrawingError):
    status, problem, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="drawnet"'}, **extra)


class ForbiddenError(DrawingError):
    status, problem, title = 403, "forbidden", "Not allowed"


class NotFoundError(DrawingError):
    status, problem, title = 404, "not-found", "Not found"


class ConflictError(DrawingError):
    status, problem, title = 409, "conflict", "Conflict"


class LimitExceededError(DrawingError):
    """A named limit was exceeded; `limit` names the setting, and the message carries both numbers."""

    status, problem, title = 400, "limit-exceeded", "Limit exceeded"

    def __init__(
        self, limit: str, detail: str, *, status: int = 400, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail, headers=headers, limit=limit)
        self.status = status


class RateLimitedError(LimitExceededError):
    problem, title = "rate-limited", "Too many requests"

    def __init__(self, limit: str, detail: str, *, retry_after: int) -> None:
        super().__init__(limit, detail, status=429, headers={"Retry-After": str(retry_after)})


class UnavailableError(DrawingError):
    status, problem, title = 503, "unavailable", "Service unavailable"


def to_problem(error: DrawingError) -> ProblemDetailsException:
    return ProblemDetailsException(
        status_code=error.status,
        title=error.title,
        detail=error.detail,
        type_=PROBLEMS + error.problem,
        headers=error.headers,
        extra=error.extra or None,
    )


def body_too_large(limit_name: str, limit: int) -> ProblemDetailsException:
    return to_problem(
        LimitExceededError(limit_name, f"request body exceeds {limit_name} {limit} bytes", status=413)
    )


def http_problem(error: HTTPException) -> ProblemDetailsException:
    """Litestar's own errors (validation, 404, 405...) as problem details that keep their specifics."""
    extra = error.extra if isinstance(error.extra, dict) else {"errors": error.extra} if error.extra else None
    status = HTTPStatus(error.status_code)
    return ProblemDetailsException(
        status_code=error.status_code,
        title=status.phrase,
        detail=error.detail,
        headers=error.headers,
        extra=extra,
        type_=PROBLEMS + ("invalid-input" if status == HTTPStatus.BAD_REQUEST else f"http-{status.value}"),
    )


def database_problem(error: Exception) -> ProblemDetailsException:
    log.warning("database unavailable: %s", error)
    return to_problem(
        UnavailableError(f"the database is unavailable ({error.__class__.__name__}); retry later")
    )


def too_deep_problem(_error: Exception) -> ProblemDetailsException:
    """A body nested deeper than Python can follow (a JSON array 10,000 deep): the caller's fault."""
    return to_problem(InvalidInputError("the request body is nested too deeply to read"))


def internal_problem(error: Exception) -> ProblemDetailsException:
    log.error("unexpected error", exc_info=error)
    return ProblemDetailsException(
        status_code=500,
        title="Internal server error",
        detail="an unexpected error; it is logged",
        type_=PROBLEMS + "internal",
    )
