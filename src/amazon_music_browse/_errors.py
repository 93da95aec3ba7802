"""The exception tree, and how an HTTP error response becomes one of its classes.

```
AmazonMusicError
├── ConfigurationError (also ValueError)
├── APIConnectionError            network failure; .request
│   └── APITimeoutError
├── ResponseValidationError       body not JSON / not the documented shape
├── PaginationError               cursor cycle
├── ClientClosedError (also RuntimeError)   a call on a closed client
└── APIError                      the service answered with an error status
    ├── BadRequestError           400
    ├── AuthenticationError       401
    ├── PermissionDeniedError     403
    ├── NotFoundError             404
    ├── UnprocessableEntityError  422
    ├── RateLimitError            429
    └── InternalServerError       5xx
```

Exceptions pickle without their live ``request``/``response`` objects, which may carry
credentials in their headers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, TypeVar

from ._constants import MAX_KEPT_BODY, MAX_QUOTED_BODY

if TYPE_CHECKING:
    import requests

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AmazonMusicError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConfigurationError",
    "InternalServerError",
    "NotFoundError",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseValidationError",
    "UnprocessableEntityError",
]

ErrorT = TypeVar("ErrorT", bound="AmazonMusicError")

# Attributes that hold live objects (which may carry credentials); never pickled.
_LIVE_ATTRIBUTES = frozenset({"request", "response"})


def _rebuild(cls: type[AmazonMusicError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class AmazonMusicError(Exception):
    """Base class of every exception this package raises on purpose."""

    def __reduce__(self) -> tuple[Any, ...]:
        state = {k: v for k, v in self.__dict__.items() if k not in _LIVE_ATTRIBUTES}
        state.update(dict.fromkeys(_LIVE_ATTRIBUTES & self.__dict__.keys()))
        return (_rebuild, (type(self), self.args, state))


class ConfigurationError(AmazonMusicError, ValueError):
    """The client was set up wrongly: a missing credential, a bad ``base_url`` or option."""


class PaginationError(AmazonMusicError):
    """The service's cursors do not lead anywhere: a cursor came back twice, for example."""


class ClientClosedError(AmazonMusicError, RuntimeError):
    """A call on a closed client (or on a copy of one): nothing was sent."""


def mark_final(error: ErrorT) -> ErrorT:
    """Mark ``error`` as one that no retry can change, and return it."""
    error._final = True  # type: ignore[attr-defined]
    return error


def is_final(error: BaseException) -> bool:
    """Whether ``error`` was marked as one that no retry can change."""
    return getattr(error, "_final", False) is True


def mark_unsent(error: ErrorT) -> ErrorT:
    """Mark ``error`` as raised before the request left (no connection was made)."""
    error._unsent = True  # type: ignore[attr-defined]
    return error


def was_sent(error: BaseException) -> bool:
    """Whether the request may have reached the service before ``error`` was raised."""
    return getattr(error, "_unsent", False) is not True


def redact_message(error: AmazonMusicError, redact: Callable[[str], str]) -> None:
    """Remove credentials from ``error``'s message (a URL it names may echo one)."""
    error.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in error.args)


def add_attempts(error: AmazonMusicError, attempts: int) -> None:
    """Say in ``error``'s message how many attempts were made, when there were several."""
    if attempts > 1 and error.args and isinstance(error.args[0], str):
        error.args = (f"{error.args[0]} (gave up after {attempts} attempts)", *error.args[1:])


class APIConnectionError(AmazonMusicError):
    """The request did not get a response: DNS, refused connection, reset, TLS, redirects.

    Attributes:
        request: the ``requests.PreparedRequest`` that failed, when there was one
            (kept in memory only; not pickled).
    """

    def __init__(self, message: str, *, request: requests.PreparedRequest | None = None) -> None:
        super().__init__(message)
        self.request = request


class APITimeoutError(APIConnectionError):
    """The connection or a read took longer than the client's ``timeout``."""


class ResponseValidationError(AmazonMusicError):
    """A successful status came with a body that is not JSON of the documented shape.

    Attributes:
        status_code: the HTTP status of the response.
        body: the body as text, cut to its first 64 KiB.
    """

    def __init__(self, message: str, *, status_code: int, body: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body[:MAX_KEPT_BODY]


class APIError(AmazonMusicError):
    """The service answered with an error status.

    Attributes:
        status_code: the HTTP status.
        code: the error object's ``code`` (e.g. ``"RESOURCE_NOT_FOUND"``), or ``None``
            when the body was not the documented error object.
        message: the error object's ``message``, or an excerpt of the body.
        reference: the error object's ``reference`` (quote it to support), if sent.
        url: the error object's ``url`` (where to send the user), if sent.
        payload: the error object's ``payload``, any JSON, if sent.
        request_id: the ``x-amzn-RequestId`` header, if sent.
        retry_after: seconds the service asked to wait (``Retry-After``), or ``None``.
        body: the body as text, cut to its first 64 KiB.
        response: the live ``requests.Response`` (in memory only; not pickled).
    """

    def __init__(
        self,
        message: str | None,
        *,
        status_code: int,
        code: str | None = None,
        reference: str | None = None,
        url: str | None = None,
        payload: Any = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        body: str = "",
        response: requests.Response | None = None,
    ) -> None:
        self.status_code = status_code
        self.code = code
        self.message = message
        self.reference = reference
        self.url = url
        self.payload = payload
        self.request_id = request_id
        self.retry_after = retry_after
        self.body = body[:MAX_KEPT_BODY]
        self.response = response
        super().__init__(self._summary())

    def _summary(self) -> str:
        text = f"{self.status_code}"
        if self.code:
            text += f" {self.code}"
        if self.message:
            text += f": {excerpt(self.message)}"
        else:
            text += f" {_reason_phrase(self.status_code)} (the response had no error details)"
        if self.reference:
            text += f" (reference {self.reference})"
        if self.retry_after is not None:
            text += f" [retry after {self.retry_after:g} s]"
        return text


class BadRequestError(APIError):
    """400: the request was malformed (a bad ``limit`` or ``cursor``, for example)."""


class AuthenticationError(APIError):
    """401: the API key or access token is missing, invalid or expired."""


class PermissionDeniedError(APIError):
    """403: the credentials are valid but not allowed this (no music account, tier...)."""


class NotFoundError(APIError):
    """404: no such resource (an unknown category id, or a wrong path)."""


class UnprocessableEntityError(APIError):
    """422: the request was well-formed but could not be processed."""


class RateLimitError(APIError):
    """429: too many requests; ``retry_after`` says how long to wait, when known."""


class InternalServerError(APIError):
    """5xx: the service or one of its dependencies failed."""


_STATUS_CLASSES: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def error_class_for(status_code: int) -> type[APIError]:
    """The exception class for an error status: exact match first, then by class of status.

    500-599 is `InternalServerError`; any other status (another 4xx, or one outside
    100-599 that no HTTP service sends) is a plain `APIError`.
    """
    if status_code in _STATUS_CLASSES:
        return _STATUS_CLASSES[status_code]
    if 500 <= status_code <= 599:
        return InternalServerError
    return APIError


def _reason_phrase(status_code: int) -> str:
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return "(a status HTTP does not define)"


def excerpt(text: str) -> str:
    """A body cut short enough to quote in a message, on one line."""
    text = " ".join(text.split())
    if len(text) > MAX_QUOTED_BODY:
        return text[:MAX_QUOTED_BODY] + "…"
    return text


def _optional_str(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)


def api_error_from_body(
    status_code: int,
    body: str,
    *,
    request_id: str | None = None,
    retry_after: float | None = None,
    response: requests.Response | None = None,
    error_class: type[APIError] | None = None,
) -> APIError:
    """Build the right ``APIError`` subclass from an error response, whatever its body is.

    ``error_class`` replaces the class chosen by status (for services with other rules).

    The documented error object ``{"error": {"status", "code", "message", "url",
    "reference", "payload"}}`` fills the attributes; any other body (an HTML page from a
    proxy, an OAuth-style ``{"error": "...", "error_description": "..."}``, nothing) still
    gives the class for the status, with ``code=None`` unless a code could be read.
    """
    cls = error_class or error_class_for(status_code)
    fields: dict[str, Any] = {}
    try:
        # strict=False: raw line breaks inside strings, as in the Errors page's own example.
        document = json.loads(body, strict=False) if body else None
    except (ValueError, RecursionError):
        document = None
    error = document.get("error") if isinstance(document, dict) else None
    if isinstance(error, dict):
        fields = {
            "code": _optional_str(error.get("code")),
            "message": _optional_str(error.get("message")),
            "reference": _optional_str(error.get("reference")),
            "url": _optional_str(error.get("url")),
            "payload": error.get("payload"),
        }
    elif isinstance(error, str) and isinstance(document, dict):
        # Login with Amazon's OAuth error shape.
        fields = {
            "code": error,
            "message": _optional_str(document.get("error_description")),
        }
    if not fields.get("message"):
        fields["message"] = excerpt(body) if body.strip() else None
    return cls(
        fields.pop("message"),
        status_code=status_code,
        request_id=request_id,
        retry_after=retry_after,
        body=body,
        response=response,
        **fields,
    )
