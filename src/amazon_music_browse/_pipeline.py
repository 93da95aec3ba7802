"""The request pipeline every call of a client goes through, as a mixin of `BaseClient`.

A call is attempted under the retry policy: each attempt checks cancellation, the closed
flag and the rate-limit window, sends through the quota (cache, rate limit) and the
transport with the credentials, asks the token callable once more after a 401 about the
token, and turns an error status into the right exception with every credential
redacted. Event hooks see each attempt sent, each response received and each retry; with
no hooks, none of that costs more than an empty-tuple test.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import requests

from ._cancel import raise_if_cancelled
from ._config import Timeout
from ._constants import TOKEN_ERROR_CODES, USER_AGENT
from ._credentials import AccessToken, current_token, invalidate_token
from ._endpoint import Endpoint
from ._errors import (
    AmazonMusicError,
    APIConnectionError,
    APIError,
    ClientClosedError,
    RateLimitError,
    add_attempts,
    api_error_from_body,
    redact_message,
)
from ._events import Hooks, RequestEvent, ResponseEvent, RetryEvent, emit
from ._log import logger
from ._models import ResponseCollection, ResponseInfo
from ._quota import Quota, from_cache, mark_from_cache
from ._raw_response import current_recording, record_response
from ._redact import Redactor, redactor_for
from ._retry import parse_retry_after, policy_for
from ._transport import Exchange

if TYPE_CHECKING:
    from tenacity import Retrying

    from ._retry import RateLimitWindow

__all__ = ["Call", "CallTracer", "Closed", "RequestPipeline", "content_type_of"]

ResultT = TypeVar("ResultT")

CallTracer = Callable[[str, str], AbstractContextManager[object]]
"""Wraps every call: ``tracer(method, path_template)`` is entered around its attempts and
parsing (the OpenTelemetry instrumentation's span)."""

_ACCEPT = {"Accept": "application/json", "User-Agent": USER_AGENT}


@dataclass
class Call:
    """One call of the API, across its attempts."""

    method: str
    path: str
    params: dict[str, Any]
    template: str
    """The endpoint's path template (events and spans name the call by it)."""
    json: Any = None
    refreshed: bool = False
    attempts: int = 0
    sent_tokens: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


class Closed:
    """Whether one client (not its copies' own flags) was closed."""

    __slots__ = ("closed",)

    def __init__(self) -> None:
        self.closed = False


class RequestPipeline:
    """Sends calls: the attempts, the retries, the token refresh, errors and events.

    `BaseClient` sets the state declared here in its constructor.
    """

    _api_key: str
    _access_token: AccessToken
    _base_url: str
    _timeout: Timeout
    _max_retry_wait: float
    _max_response_bytes: int
    _retrying: Retrying
    _quota: Quota
    _window: RateLimitWindow
    _closed: tuple[Closed, ...]
    _on_request: Hooks
    _on_response: Hooks
    _on_retry: Hooks
    _tracer: CallTracer | None

    @property
    def closed(self) -> bool:
        """Whether this client, or the client it was copied from, was closed."""
        return any(flag.closed for flag in self._closed)

    def _call_endpoint(self, endpoint: Endpoint[Any], path: str, params: dict[str, Any]) -> Any:
        call = Call("GET", path, params, endpoint.path)

        def parse(response: requests.Response) -> Any:
            redact = self._redactor(call)
            result = endpoint.parse(
                response.content,
                response.status_code,
                redact,
                source=f"{call} ({content_type_of(response)})",
            )
            if isinstance(result, ResponseCollection):
                result._attach_response(
                    ResponseInfo(
                        response.status_code,
                        response.elapsed.total_seconds(),
                        _request_id(response, redact),
                    )
                )
            return mark_from_cache(result, response)

        return self._call(call, parse)

    def _call(self, call: Call, parse: Callable[[requests.Response], ResultT]) -> ResultT:
        """Send ``call`` and parse its 2xx response, inside the tracer's span if there is one."""
        self._check_open()
        if self._tracer is None:
            return self._call_and_parse(call, parse)
        with self._tracer(call.method, call.template):
            return self._call_and_parse(call, parse)

    def _call_and_parse(self, call: Call, parse: Callable[[requests.Response], ResultT]) -> ResultT:
        response = self._attempts(call)
        result = parse(response)
        recording = current_recording()
        if recording is not None:  # inside with_raw_response
            record_response(recording, response, self._redactor(call))
        return result

    def _attempts(self, call: Call) -> requests.Response:
        """Every attempt of ``call`` under the retry policy; the 2xx response, or raise."""
        on_retry = functools.partial(self._emit_retry, call) if self._on_retry else None
        policy = policy_for(
            self._retrying,
            str(call),
            self._max_retry_wait,
            idempotent=call.method == "GET",
            on_retry=on_retry,
        )
        try:
            response: requests.Response = policy(self._attempt, call)
        except (APIConnectionError, APIError) as exc:
            add_attempts(exc, call.attempts)
            raise
        return response

    def _emit_retry(self, call: Call, error: BaseException, wait: float) -> None:
        emit(self._on_retry, RetryEvent(*_fields(call), reason=reason_for(error), wait=wait))

    def _check_open(self) -> None:
        if self.closed:
            raise ClientClosedError(
                f"this {type(self).__name__} is closed (close() or the end of its with "
                "block); create a new client to send requests"
            )

    def _attempt(self, call: Call) -> requests.Response:
        """One attempt: the checks every retry passes again, then the request."""
        raise_if_cancelled()
        self._check_open()
        self._window.check()
        call.attempts += 1
        token = current_token(self._access_token)
        response = self._send(call, token)
        if 200 <= response.status_code < 300:
            return response
        error = self._error(response, call)
        if self._may_retry_with_new_token(error, call) and invalidate_token(
            self._access_token, token
        ):
            call.refreshed = True
            new_token = current_token(self._access_token)
            if new_token == token:  # the same token would be refused the same way
                raise error
            call.attempts += 1  # a second exchange: events number it as an attempt of its own
            response = self._send(call, new_token)
            if 200 <= response.status_code < 300:
                return response
            error = self._error(response, call)
        raise error

    @staticmethod
    def _may_retry_with_new_token(error: APIError, call: Call) -> bool:
        """A first 401 about the token (not about the API key) may succeed with a new one."""
        return (
            error.status_code == 401
            and not call.refreshed
            and (error.code is None or error.code in TOKEN_ERROR_CODES)
        )

    def _send(self, call: Call, token: str) -> requests.Response:
        call.sent_tokens.append(token)
        if self._on_request:
            emit(self._on_request, RequestEvent(*_fields(call)))
        exchange = Exchange(
            call.method,
            headers=_ACCEPT,
            credentials={"x-api-key": self._api_key, "Authorization": f"Bearer {token}"},
            timeout=self._timeout,
            max_bytes=self._max_response_bytes,
            params=call.params,
            json=call.json,
            follow_redirects=call.method == "GET",
        )
        try:
            response = self._quota.send(
                self._base_url + call.path, exchange, max_wait=self._max_retry_wait
            )
        except AmazonMusicError as exc:
            redact_message(exc, self._redactor(call))  # a redirect may have echoed one
            logger.debug("%s %s -> %s", call, call.params, exc)
            raise
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %d in %.1f ms",
                call,
                call.params,
                response.status_code,
                response.elapsed.total_seconds() * 1000,
            )
        if self._on_response:
            event = ResponseEvent(
                *_fields(call),
                status_code=response.status_code,
                elapsed=response.elapsed.total_seconds(),
                request_id=_request_id(response, self._redactor(call)),
                from_cache=from_cache(response),
            )
            emit(self._on_response, event)
        return response

    def _redactor(self, call: Call) -> Redactor:
        """Removes the credentials this call sent from text the service sent back."""
        return redactor_for((self._api_key, *call.sent_tokens))

    def _error(self, response: requests.Response, call: Call) -> APIError:
        redact = self._redactor(call)
        error = api_error_from_body(
            response.status_code,
            redact(response.content.decode("utf-8", errors="replace")),
            request_id=redact.optional(response.headers.get("x-amzn-RequestId")),
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            response=response,
        )
        if (
            isinstance(error, RateLimitError)
            and error.retry_after is not None
            and error.retry_after > self._max_retry_wait
        ):
            self._window.hold(error.retry_after)
        return error


def _fields(call: Call) -> tuple[str, str, str, Mapping[str, Any], int]:
    """The fields every event of the attempt in progress shares (``params`` a copy)."""
    return call.method, call.template, call.path, dict(call.params), call.attempts


def reason_for(error: BaseException) -> str:
    """Why an attempt failed, in a `RetryEvent`: the status, or the exception's class name."""
    if isinstance(error, APIError):
        return str(error.status_code)
    return type(error).__name__


def _request_id(response: requests.Response, redact: Redactor) -> str | None:
    """The service's ``x-amzn-RequestId``, with any credential it echoed redacted."""
    return redact.optional(response.headers.get("x-amzn-RequestId"))


def content_type_of(response: requests.Response) -> str:
    content_type = response.headers.get("Content-Type")
    return f"Content-Type {content_type}" if content_type else "no Content-Type"
