"""One HTTP exchange over a ``requests.Session``, for the API and for Login with Amazon.

Redirects are followed only within ``base_url``'s origin with credentials; bodies are
read incrementally up to a cap; every attempt has a deadline; failures are translated
into the package's exceptions, and those a retry cannot change are marked final. In a
forked child, the transport opens its own connections.
"""

from __future__ import annotations

import datetime
import http.client
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from ._body import ACCEPT_ENCODING, BodyTooLarge, read_body
from ._config import Timeout
from ._constants import MAX_ERROR_BODY_BYTES, MAX_REDIRECTS
from ._deadline import AttemptDeadline, install_connection_hook
from ._errors import (
    APIConnectionError,
    APITimeoutError,
    ResponseValidationError,
    mark_final,
    mark_unsent,
)
from ._fork import reset_after_fork

__all__ = ["Exchange", "Transport", "origin"]

_monotonic = time.perf_counter

# Failures of the request itself, which no retry can change.
_FINAL_REQUEST_ERRORS = (
    requests.exceptions.InvalidURL,
    requests.exceptions.InvalidSchema,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidHeader,
    requests.exceptions.ProxyError,
)


def origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of ``url``, with the default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"https": 443, "http": 80}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


@dataclass(frozen=True)
class Exchange:
    """What one attempt sends: everything but the URL, which redirects may change."""

    method: str
    headers: Mapping[str, str]
    credentials: Mapping[str, str]
    timeout: Timeout
    max_bytes: int
    params: Mapping[str, Any] | None = None
    data: Mapping[str, str] | None = None
    json: Any = None
    follow_redirects: bool = True

    def deadline(self) -> float:
        """Seconds an attempt may take once the request is sent: twice the read timeout.

        With the connect timeout before it, no attempt outlives ``connect + 2 * read``.
        """
        read = self.timeout[1] if isinstance(self.timeout, tuple) else self.timeout
        return 2 * read


class Transport:
    """Sends requests for one client, over a session it may or may not own.

    A session it creates pools ``max_connections`` connections per host, and more threads
    wait for a free one (so none is opened only to be thrown away); its proxy and
    certificate settings from the environment are resolved once per origin. A session
    passed in is used as ``requests`` would use it and never changed, except that a
    forked child drops the connections it inherited.
    """

    def __init__(
        self, session: requests.Session | None, base_url: str, *, max_connections: int = 10
    ) -> None:
        self.owns_session = session is None
        self._max_connections = max_connections
        self.session = self._new_session() if session is None else session
        self._origin = origin(base_url)
        self._environment: dict[tuple[str, str, int | None], dict[str, Any]] = {}
        reset_after_fork(self)
        install_connection_hook()

    def _new_session(self) -> requests.Session:
        session = requests.Session()
        adapter = HTTPAdapter(pool_maxsize=self._max_connections, pool_block=True)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        return session

    def _after_fork_in_child(self) -> None:
        """Never read from a connection the parent still uses: open new ones."""
        if self.owns_session:
            self.session = self._new_session()  # the parent's stays open, for the parent
            return
        for adapter in self.session.adapters.values():
            managers = [getattr(adapter, "poolmanager", None)]
            managers += list(getattr(adapter, "proxy_manager", {}).values())
            for manager in managers:
                if manager is not None:
                    manager.clear()

    def close(self) -> None:
        """Close the session if this transport created it."""
        if self.owns_session:
            self.session.close()

    def send(self, url: str, exchange: Exchange) -> requests.Response:
        """Send ``exchange`` to ``url``; credentials go only to ``base_url``'s origin.

        The response's body is read (``response.content``): a 2xx body whole, up to
        ``exchange.max_bytes``; an error status's first `MAX_ERROR_BODY_BYTES` bytes.

        Raises:
            APITimeoutError: the connection, a read or the attempt's deadline expired.
            APIConnectionError: any other failure to get a response (final where a retry
                cannot change it: redirects, bad settings, a missing CA bundle).
            ResponseValidationError: a 2xx body longer than ``max_bytes`` (final).
        """
        query = exchange.params
        for _ in range(MAX_REDIRECTS + 1):
            target = origin(url)
            headers = {**exchange.headers, "Accept-Encoding": ACCEPT_ENCODING}
            if target == self._origin:
                headers.update(exchange.credentials)
            response = self._send_once(url, query, headers, exchange, target)
            location = self.session.get_redirect_target(response)
            if location is None:
                return response
            response.close()
            if not exchange.follow_redirects:
                raise mark_final(
                    APIConnectionError(
                        f"{exchange.method} {_path(url)} answered {response.status_code} with a "
                        "redirect; credentials are not sent on to another URL (point the URL "
                        "at the endpoint itself)",
                        request=response.request,
                    )
                )
            url, query = _redirect_target(exchange.method, response.url, location), None
        raise mark_final(
            APIConnectionError(
                f"{exchange.method} {_path(url)}: more than {MAX_REDIRECTS} redirects; "
                "giving up (a redirect loop?)"
            )
        )

    def _send_once(
        self,
        url: str,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str],
        exchange: Exchange,
        target: tuple[str, str, int | None],
    ) -> requests.Response:
        what = f"{exchange.method} {_path(url)}"
        prepared: requests.PreparedRequest | None = None
        started = _monotonic()
        with AttemptDeadline(exchange.deadline()) as attempt:
            try:
                prepared = self.session.prepare_request(
                    requests.Request(
                        exchange.method,
                        url,
                        params=params,
                        data=exchange.data,
                        json=exchange.json,
                        headers=headers,
                        auth=_no_auth,
                    )
                )
                response = self.session.send(
                    prepared,
                    timeout=exchange.timeout,
                    allow_redirects=False,
                    **{**self._environment_settings(prepared.url or url, target), "stream": True},
                )
                _arm_response(attempt, response)
                self._read(response, exchange, what)
            except (requests.RequestException, urllib3.exceptions.HTTPError, zlib.error) as exc:
                raise _translate(exc, what, exchange, attempt.fired, prepared) from exc
            except OSError as exc:  # e.g. REQUESTS_CA_BUNDLE naming a missing file
                raise mark_final(
                    APIConnectionError(
                        f"{what} could not be sent: {exc} (check the certificate and proxy "
                        "settings, such as REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, HTTPS_PROXY)",
                        request=prepared,
                    )
                ) from exc
            except ValueError as exc:  # requests parses a Location header even unfollowed
                raise mark_final(
                    APIConnectionError(
                        f"{what} failed: the response is malformed (a redirect Location that is "
                        f"not a URL?): {exc}",
                        request=prepared,
                    )
                ) from exc
        response.elapsed = datetime.timedelta(seconds=_monotonic() - started)
        return response

    def _read(self, response: requests.Response, exchange: Exchange, what: str) -> None:
        """Read the body into ``response``: a 2xx whole (up to the cap), an error's head."""
        success = 200 <= response.status_code < 300
        cap = exchange.max_bytes if success else MAX_ERROR_BODY_BYTES
        try:
            body = read_body(response, cap)
        except BodyTooLarge as exc:
            if success:
                raise mark_final(
                    ResponseValidationError(
                        f"{what} answered {response.status_code} with a body over "
                        f"max_response_bytes ({cap} bytes decoded); it was not read further "
                        "(raise max_response_bytes if the response is legitimately this large)",
                        status_code=response.status_code,
                        body="",
                    )
                ) from None
            body = exc.head
        response._content = body
        response._content_consumed = True  # type: ignore[attr-defined]

    def _environment_settings(
        self, url: str, target: tuple[str, str, int | None]
    ) -> dict[str, Any]:
        if not self.owns_session:
            return dict(self.session.merge_environment_settings(url, {}, None, None, None))
        if target not in self._environment:
            self._environment[target] = dict(
                self.session.merge_environment_settings(url, {}, None, None, None)
            )
        return self._environment[target]


def _arm_response(attempt: AttemptDeadline, response: requests.Response) -> None:
    """Arm the deadline on the response's socket, if the connection hook could not (not urllib3)."""
    connection = getattr(response.raw, "connection", None) or getattr(
        response.raw, "_connection", None
    )
    attempt.arm_socket(getattr(connection, "sock", None))


def _translate(
    exc: Exception,
    what: str,
    exchange: Exchange,
    deadline_passed: bool,
    prepared: requests.PreparedRequest | None,
) -> APIConnectionError:
    """The package's exception for a failure of ``requests``, in words."""
    connect, read = (
        exchange.timeout
        if isinstance(exchange.timeout, tuple)
        else (exchange.timeout, exchange.timeout)
    )
    if deadline_passed:
        return APITimeoutError(
            f"{what} timed out: the response took longer than its deadline of "
            f"{exchange.deadline():g} s (twice the read timeout) and was abandoned",
            request=prepared,
        )
    root = _root_cause(exc)
    # urllib3's NewConnectionError (refused, unreachable) subclasses ConnectTimeoutError.
    if isinstance(exc, requests.exceptions.ConnectTimeout) or (
        isinstance(root, urllib3.exceptions.ConnectTimeoutError)
        and not isinstance(root, urllib3.exceptions.NewConnectionError)
    ):
        return mark_unsent(
            APITimeoutError(
                f"{what} timed out: no connection within {connect:g} s (the connect timeout)",
                request=prepared,
            )
        )
    if isinstance(exc, requests.Timeout) or isinstance(root, urllib3.exceptions.ReadTimeoutError):
        return APITimeoutError(
            f"{what} timed out: the server sent nothing for {read:g} s (the read timeout)",
            request=prepared,
        )
    if isinstance(exc, zlib.error):
        return APIConnectionError(
            f"{what} failed: the body does not decode as its Content-Encoding says: {exc}",
            request=prepared,
        )
    error = APIConnectionError(f"{what} failed: {_describe(root)}", request=prepared)
    if isinstance(root, urllib3.exceptions.NewConnectionError):  # refused, unreachable, DNS
        mark_unsent(error)
    if isinstance(exc, _FINAL_REQUEST_ERRORS) or isinstance(
        root,
        (
            requests.exceptions.InvalidURL,
            urllib3.exceptions.LocationParseError,
            http.client.InvalidURL,
            urllib3.exceptions.ProxySchemeUnknown,
        ),
    ):
        mark_final(error)
    return error


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost failure that ``requests`` and ``urllib3`` wrapped."""
    seen: set[int] = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        inner = getattr(exc, "reason", None)
        if not isinstance(inner, BaseException):
            inner = next((arg for arg in exc.args if isinstance(arg, BaseException)), None)
        if inner is None:
            inner = exc.__context__ if isinstance(exc, requests.RequestException) else None
        if not isinstance(inner, BaseException):
            break
        exc = inner
    return exc


def _describe(root: BaseException) -> str:
    if isinstance(root, urllib3.exceptions.NameResolutionError):
        return f"could not resolve the host name ({type(root).__name__})"
    if isinstance(root, urllib3.exceptions.NewConnectionError):
        return f"could not connect: {_errno_text(root)}"
    if isinstance(root, urllib3.exceptions.ProxyError):
        return f"the proxy failed: {root}"
    if isinstance(root, (ConnectionResetError, BrokenPipeError)):
        return "the server closed the connection while answering"
    if isinstance(root, urllib3.exceptions.ProtocolError | ConnectionError):
        return f"the connection broke while answering ({type(root).__name__}: {root})"
    name = type(root).__name__
    text = str(root)
    return f"{name}: {text}" if text else name


def _errno_text(error: BaseException) -> str:
    text = str(error)
    return text.split(": ", 1)[1] if ": " in text else text


def _no_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """Keep the headers as they are.

    Without an ``auth``, requests looks up ``~/.netrc`` on every request and, when it has
    an entry for the host, replaces the ``Authorization: Bearer`` header with Basic auth
    (or adds one to a token request); a session's own ``auth`` would do the same.
    """
    return request


def _redirect_target(method: str, current: str, location: str) -> str:
    """The absolute URL a redirect leads to, if it is a valid http(s) URL."""
    try:
        url = urljoin(current, location)
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port validates it
    except ValueError:
        raise mark_final(
            APIConnectionError(f"{method} was redirected to an invalid URL: {location!r}")
        ) from None
    if parts.scheme.lower() not in {"http", "https"}:
        raise mark_final(
            APIConnectionError(
                f"{method} was redirected to a URL that is not http(s): {_path(url)}"
            )
        )
    return url


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
