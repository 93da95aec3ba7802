"""`SandboxApp`: the sandbox's WSGI application, dispatching each request to its part.

- Login with Amazon's paths (the token endpoint, the consent page, the code pair and its
  verification page) go to its endpoints (`_lwa`), covers to `_images`: neither is
  faulted, delayed nor redirected.
- Any other request is an API request, handled in this order: count it and draw its fault
  (one draw per request, so a seed fixes the sequence), wait the latency, answer an
  injected 429/5xx, redirect (when ``redirect_to`` is set), authenticate, find the
  resource in the route table (404, then 405), answer it (400 for a bad ``limit`` or
  ``cursor``).

Every response carries an ``x-amzn-RequestId``, deterministic from the request's place in
the sequence.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final

from amazon_music_browse import Endpoint

from ._browse import browse_routes
from ._catalog import Catalog
from ._config import SandboxConfig
from ._cursors import CursorCodec
from ._faults import FAULT_ENVIRON_KEY, FaultDraws, SocketFault
from ._http import (
    JSON_TYPE,
    ApiError,
    Node,
    Redirect,
    Response,
    base_url,
    json_body,
    path_text,
    query,
    redirect_location,
    segments,
)
from ._images import Covers
from ._lwa import LoginWithAmazonEndpoints
from ._payloads import page, single
from ._routes import Collection, Handler, RouteTable, Single
from ._serve import collection, handler, json_path, method_name
from ._serve import single as served_single

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["SandboxApp"]

_REQUEST_NAMESPACE: Final = uuid.UUID("6f1c3d9e-2b7a-4c55-9e1f-3a8d2c4b5e60")
_MAX_JSON_BYTES: Final = 1024 * 1024


class SandboxApp:
    """A WSGI application that answers like the documented Browse API.

    Args:
        config: every option; defaults to ``SandboxConfig()``.
        sleep: waits the configured latency; the server passes one that stops waiting
            when it shuts down.
    """

    def __init__(
        self, config: SandboxConfig | None = None, *, sleep: Callable[[float], object] = time.sleep
    ) -> None:
        self.config = config if config is not None else SandboxConfig()
        self.catalog = Catalog(self.config.seed, self.config.catalog_sizes)
        self.cursors = CursorCodec(self.config.seed)
        self.fault_draws = FaultDraws(self.config)
        self.lwa = LoginWithAmazonEndpoints(self.config, self.config.clock)
        self.covers = Covers(self.catalog)
        self.routes = RouteTable(browse_routes(self.catalog))
        self._sleep = sleep
        self._lock = threading.Lock()
        self._sequence = 0

    @property
    def request_count(self) -> int:
        """API requests received (neither Login with Amazon's nor the covers')."""
        return self.fault_draws.requests

    @property
    def token_requests(self) -> int:
        """Requests received by the token endpoint."""
        return self.lwa.requests

    @property
    def faults(self) -> dict[str, int]:
        """Injected faults by kind; every key is always present."""
        return self.fault_draws.counts

    @property
    def issued_tokens(self) -> dict[str, float]:
        """Access tokens issued by the token endpoint, with their expiry on ``clock``."""
        return self.lwa.issued_tokens

    @property
    def issued_refresh_tokens(self) -> list[str]:
        """Refresh tokens issued by sign-ins, code-based linking and rotation, in order."""
        return self.lwa.issued_refresh_tokens

    @property
    def token_errors(self) -> dict[str, int]:
        """Error answers of the token endpoint, by their ``error`` code."""
        return self.lwa.errors

    def issue_token(self) -> Node:
        """Issue an access token, as the token endpoint does; returns its token response."""
        return self.lwa.issue_token()

    def serve(
        self,
        endpoint: Endpoint[Any],
        obj: Any = None,
        *,
        items: Iterable[Any] | None = None,
        owner: Any = None,
        path_params: dict[str, Any],
    ) -> None:
        """Serve a collection (``items``) or an object (``obj``) of ``endpoint``; see the server."""
        if not isinstance(endpoint, Endpoint):
            raise TypeError(f"serve() takes an Endpoint, not {type(endpoint).__name__}")
        resource: Collection | Single
        if endpoint.is_collection:
            if obj is not None or items is None:
                raise TypeError(f"{endpoint!r} is a collection: serve it with items=[...]")
            resource = collection(endpoint, items, owner, path_params)
        else:
            if items is not None or owner is not None or obj is None:
                raise TypeError(f"{endpoint!r} is one object: serve it as serve(endpoint, obj)")
            endpoint.format_path(**path_params)  # checks the parameters
            resource = served_single(endpoint, obj)
        params = {name: str(value) for name, value in path_params.items()}
        self.routes.add("GET", endpoint.path, params, resource)

    def serve_json(
        self,
        method: str,
        path: str,
        answer: Any = None,
        *,
        respond: Callable[[Any], Any] | None = None,
    ) -> None:
        """Answer ``method path`` with ``answer``, or ``respond(json_body)``; see the server."""
        if (answer is None) == (respond is None):
            raise TypeError("serve_json() takes an answer or a handler=, not both nor neither")
        resource = handler(answer, respond)
        self.routes.add(method_name(method), json_path(path), {}, resource, literal=True)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        with self._lock:
            self._sequence += 1
            request_id = str(uuid.uuid5(_REQUEST_NAMESPACE, str(self._sequence)))
        response = self._dispatch(environ, request_id)
        payload = response.payload()
        if self.config.etag and _cacheable(environ, response):
            response, payload = _with_etag(environ, response, payload, self.config.cache_max_age)
        start_response(
            f"{response.status} {HTTPStatus(response.status).phrase}",
            [
                ("Content-Type", response.content_type),
                ("Content-Length", str(len(payload))),
                ("x-amzn-RequestId", request_id),
                *response.headers,
            ],
        )
        return [payload]

    def _dispatch(self, environ: WSGIEnvironment, request_id: str) -> Response:
        path = path_text(environ)
        try:
            if path in self.lwa.paths:
                return self.lwa.handle(environ, path)
            if path.startswith(self.covers.prefix):
                return self.covers.handle(environ, path)
            return self._api(environ, path)
        except ApiError as error:
            return error.response(request_id)
        except Redirect as redirect:
            return redirect.response()

    def _api(self, environ: WSGIEnvironment, path: str) -> Response:
        fault = self.fault_draws.draw()
        if self.config.latency:
            self._sleep(self.config.latency)
        if isinstance(fault, ApiError):
            raise fault
        if isinstance(fault, SocketFault):
            environ[FAULT_ENVIRON_KEY] = fault
        if self.config.redirect_to is not None:
            raise Redirect(redirect_location(self.config.redirect_to, environ))
        self.lwa.authenticate(environ)
        method = environ.get("REQUEST_METHOD", "GET")
        resource = self.routes.find(method, segments(environ), path)
        if isinstance(resource, Collection):
            return Response(200, page(resource, query(environ), self.cursors, base_url(environ)))
        if isinstance(resource, Handler):
            return Response(200, resource.respond(json_body(environ, _MAX_JSON_BYTES)))
        return Response(200, single(resource))


def _cacheable(environ: WSGIEnvironment, response: Response) -> bool:
    """Whether ``response`` answers an API GET with a JSON success (what gets an ETag)."""
    path = path_text(environ)
    return (
        environ.get("REQUEST_METHOD", "GET") == "GET"
        and response.status == 200
        and response.content_type == JSON_TYPE
        and path.startswith("/v1/")
    )


def _with_etag(
    environ: WSGIEnvironment, response: Response, payload: bytes, max_age: int
) -> tuple[Response, bytes]:
    """``response`` with ``ETag`` and ``Cache-Control``, or a 304 when the client has it."""
    tag = '"' + hashlib.sha256(payload).hexdigest()[:32] + '"'
    headers = (*response.headers, ("ETag", tag), ("Cache-Control", f"private, max-age={max_age}"))
    presented = environ.get("HTTP_IF_NONE_MATCH", "")
    if tag in (value.strip() for value in presented.split(",")) or presented.strip() == "*":
        return Response(304, b"", headers, response.content_type), b""
    return response._replace(headers=headers), payload
