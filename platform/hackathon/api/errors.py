"""One error shape for every API failure: `{"code", "message", "fields"}` with the right status.

Views raise `ApiError` (or DRF's exceptions); services raise Django's `ValidationError` or
`SubmissionRejected`; all of them end here and leave as the same JSON.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from hackathon.submissions.errors import QuotaExceeded, SubmissionRejected


class ApiError(exceptions.APIException):
    """An error with a stable machine-readable `code`, raised by API views."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        status_code: int = status.HTTP_400_BAD_REQUEST,
        fields: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.error_code = code
        self.message = message
        self.fields = fields or {}
        self.headers = headers or {}
        self.extra = extra or {}


_CODES_BY_EXCEPTION: list[tuple[type[exceptions.APIException], str]] = [
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "authentication_failed"),
    (exceptions.PermissionDenied, "permission_denied"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.ParseError, "parse_error"),
    (exceptions.Throttled, "throttled"),
    (exceptions.ValidationError, "invalid"),
]


def _flatten(detail: Any) -> list[str]:
    if isinstance(detail, dict):
        return [m for value in detail.values() for m in _flatten(value)]
    if isinstance(detail, list | tuple):
        return [m for value in detail for m in _flatten(value)]
    return [str(detail)]


def _field_errors(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {str(key): _flatten(value) for key, value in detail.items()}
    return {"non_field_errors": _flatten(detail)}


def error_response(
    *,
    status_code: int,
    code: str,
    message: str,
    fields: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    body: dict[str, Any] = {"code": code, "message": message, "fields": fields or {}}
    body.update(extra or {})
    return Response(body, status=status_code, headers=headers)


def _submission_rejected(exc: Exception) -> Response | None:
    if not isinstance(exc, SubmissionRejected):
        return None
    headers: dict[str, str] = {}
    extra: dict[str, Any] = {}
    if isinstance(exc, QuotaExceeded):
        retry_after = None if exc.retry_after is None else max(1, int(exc.retry_after))
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        extra = {"quota": exc.limit, "retry_after": retry_after}  # None: no slot ever opens
    elif hasattr(exc, "as_dict"):
        extra = {k: v for k, v in exc.as_dict().items() if k not in ("code", "message")}
    return error_response(
        status_code=int(exc.http_status),
        code=str(exc.code),
        message=str(exc.message),
        headers=headers,
        extra=extra,
    )


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every known failure becomes the one JSON error shape."""
    rejected = _submission_rejected(exc)
    if rejected is not None:
        set_rollback()
        return rejected

    if isinstance(exc, ApiError):
        set_rollback()
        return error_response(
            status_code=exc.status_code,
            code=exc.error_code,
            message=exc.message,
            fields=exc.fields,
            headers=exc.headers,
            extra=exc.extra,
        )
    if isinstance(exc, DjangoValidationError):
        set_rollback()
        return _django_validation_response(exc)
    if isinstance(exc, RequestDataTooBig):
        return error_response(
            status_code=413, code="too_large", message="The request body is too large."
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)

    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: Django's 500 handling and logging take over

    set_rollback()
    return _api_exception_response(exc)


def _django_validation_response(exc: DjangoValidationError) -> Response:
    if hasattr(exc, "error_dict"):
        fields = {
            key: [str(m) for e in errs for m in e.messages] for key, errs in exc.error_dict.items()
        }
        message = "; ".join(m for messages in fields.values() for m in messages)
    else:
        fields = {}
        message = " ".join(exc.messages)
    return error_response(status_code=400, code="invalid", message=message, fields=fields)


def _api_exception_response(exc: exceptions.APIException) -> Response:
    """DRF's own exceptions (and the Django ones mapped to them) in the one error shape."""
    code = next((name for klass, name in _CODES_BY_EXCEPTION if isinstance(exc, klass)), "error")
    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
    wait = getattr(exc, "wait", None)  # Throttled's, absent from the stubs
    if isinstance(exc, exceptions.Throttled) and wait is not None:
        retry_after = max(1, int(wait + 0.999))
        headers["Retry-After"] = str(retry_after)
        extra = {"quota": "rate", "retry_after": retry_after}
        message = f"Too many requests. Try again in {retry_after} s."
        return error_response(
            status_code=429, code=code, message=message, headers=headers, extra=extra
        )
    if isinstance(exc, exceptions.ValidationError):
        fields = _field_errors(exc.detail)
        message = "; ".join(
            f"{key}: {' '.join(msgs)}" if key != "non_field_errors" else " ".join(msgs)
            for key, msgs in fields.items()
        )
        return error_response(
            status_code=exc.status_code,
            code=code,
            message=message or "Invalid input.",
            fields=fields,
        )
    return error_response(
        status_code=exc.status_code,
        code=code,
        message=" ".join(_flatten(exc.detail)),
        headers=headers,
    )
