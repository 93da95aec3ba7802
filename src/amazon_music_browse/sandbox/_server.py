"""`SandboxServer`: the sandbox's WSGI app on a threaded loopback HTTP/1.1 server.

`SandboxServer` is a `SandboxConfig`: its options are the config's fields, read-only.
"""

from __future__ import annotations

import contextlib
import io
import logging
import selectors
import socket
import socketserver
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Final, cast, overload
from wsgiref.headers import Headers
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

from ._app import SandboxApp
from ._config import SandboxConfig
from ._faults import FAULT_ENVIRON_KEY, SocketFault
from ._http import RAW_URI
from ._lwa import TOKEN_PATH

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import WSGIApplication
    from pydantic import BaseModel

    from amazon_music_browse import BrowseClient, Endpoint, LoginWithAmazon

__all__ = ["SandboxServer"]

logger = logging.getLogger("amazon_music_browse.sandbox")

_IDLE_TIMEOUT: Final = 60.0  # an idle keep-alive connection is closed after this
_MAX_BODY: Final = 1024 * 1024
_THREAD_NAME: Final = "amazon-music-sandbox"


_SETTINGS: Final = frozenset(field.name for field in fields(SandboxConfig))


class SandboxServer(SandboxConfig):
    """A local HTTP server that speaks the documented Browse API over a fixed catalog.

    ``with SandboxServer() as sandbox:`` starts it on a free port of 127.0.0.1 in a
    background thread and stops it on exit; ``sandbox.client()`` is a `BrowseClient`
    pointed at it. A ``seed`` fixes the catalog, the page tokens (which survive a restart)
    and which requests of a sequence get an injected fault, on every machine.
    `serve` adds a wrapper's own endpoints.

    Args:
        host: Address to listen on.
        port: Port to listen on; 0 picks a free one (read it back from ``port``/``url``).
        api_key: The ``x-api-key`` value the API accepts.
        access_token: The bearer token the API accepts, unless ``token_lifetime`` is set.
        client_id: Login with Amazon client id accepted by ``POST /auth/o2/token``.
        client_secret: Its client secret.
        refresh_token: The refresh token it exchanges for access tokens.
        latency: Seconds to wait before every API response.
        rate_limit_rate: Share of API requests answered 429 ``THROTTLED``.
        server_error_rate: Share of API requests answered 503 ``DEPENDENCY`` and 500
            ``INTERNAL``, alternately.
        retry_after: ``Retry-After`` seconds sent with every injected 429 and 5xx.
        token_lifetime: Lifetime in seconds of the tokens the token endpoint issues. When
            set, ONLY issued tokens are accepted (the static ``access_token`` is refused),
            so clients must refresh; when None, issued tokens live 3600 s and the static
            ``access_token`` is accepted too.
        seed: Drives the generated catalog, the page tokens and the injected faults.
        catalog_sizes: Item counts per collection for larger (load tests) or smaller
            catalogs, documented items included, e.g. ``{"topPlaylists": 10_000}``; keys:
            ``topTracks``, ``topPlaylists``, ``newPodcastEpisodes``, ``browseCategories``,
            and ``albums``, ``playlists``, ``tracks`` (for every category); at most 100,000.
        clock: Monotonic seconds deciding token expiry; tests pass a fake one.
        drop_rate: Share of API requests whose connection is closed mid-response:
            alternately before any byte, and after the status line and the headers up to
            ``Content-Length`` (so a client sees a connection error either way).
        truncate_rate: Share of API requests answered with every header (the full
            ``Content-Length``) and only half of the body, then the connection closed.
        stall_rate: Share of API requests answered with every header, then nothing for
            ``stall_seconds`` (make it longer than the client's read timeout), then the
            body, then the connection closed.
        stall_seconds: How long a stalled response withholds its body.
        redirect_to: When set, every API request is answered ``302 Found`` with
            ``Location: <redirect_to><path>?<query>`` (before authentication), e.g. to
            check what a client sends to another origin; an ``http(s)://`` URL without
            a user name, password, query or fragment.
        auto_approve_after: Seconds after which every device code of code-based linking
            is approved as if its user entered it; None: only `approve_device` does.
        device_interval: The polling interval (seconds) a code pair asks for; polling
            faster is answered ``slow_down`` (and the device's interval grows by 5 s).
        device_expires_in: Seconds a device code is valid; then ``expired_token``.
        rotate_refresh_tokens: Each refresh answers a new refresh token, and the one sent
            is refused with ``invalid_grant`` from ``rotation_grace`` seconds on.
        rotation_grace: Seconds a rotated refresh token is still accepted.
        etag: Send ``ETag`` and ``Cache-Control: private, max-age=<cache_max_age>`` with
            every successful API ``GET``, and answer ``304 Not Modified`` to a matching
            ``If-None-Match`` (what a response cache revalidates with).
        cache_max_age: The ``max-age`` of that ``Cache-Control``, in seconds.

    Sign-in: ``GET /ap/oa`` consents at once and redirects to ``redirect_uri`` with a
    ``code`` and the ``state`` (``consent=deny`` in the query plays a user who refuses);
    the token endpoint's ``authorization_code`` grant checks ``redirect_uri`` and the PKCE
    ``code_verifier``; ``POST /auth/o2/create/codepair`` and the ``device_code`` grant
    play code-based linking, whose user enters the code at ``GET /a/code``. Each sign-in
    issues a new refresh token (see `issued_refresh_tokens`).

    Raises:
        TypeError: an argument has the wrong type.
        ValueError: an argument is out of range.

    One seeded draw per API request decides its fault; the rates stack (429, 5xx, drop,
    truncate, stall) and must not exceed 1 in total. Injected faults, the latency and the
    redirect never touch the token endpoint nor the covers. Every argument is also a
    read-only attribute (``port`` becomes the bound port on `start`). Counters:
    `request_count`, `token_requests`, `faults`, `token_errors`.
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        self._stopping = threading.Event()
        self._app = SandboxApp(self, sleep=self._stopping.wait)
        self._lock = threading.Lock()
        self._httpd: _ThreadingWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _SETTINGS:
            raise _read_only(name)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if name in _SETTINGS:
            raise _read_only(name)
        object.__delattr__(self, name)

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:54321``; the API paths hang off it.

        Raises:
            RuntimeError: the server has never been started (its port is not known yet).
        """
        if self.port == 0:
            raise RuntimeError("the sandbox is not started: call start() or use `with`")
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    @property
    def token_url(self) -> str:
        """The Login with Amazon token endpoint of this sandbox."""
        return self.url + TOKEN_PATH

    @property
    def running(self) -> bool:
        """Whether the server is accepting connections."""
        return self._thread is not None

    @property
    def request_count(self) -> int:
        """API requests received so far (neither the token endpoint's nor the covers')."""
        return self._app.request_count

    @property
    def token_requests(self) -> int:
        """Requests received so far by the token endpoint."""
        return self._app.token_requests

    @property
    def faults(self) -> dict[str, int]:
        """Faults injected so far, by kind.

        ``{"429": n, "500": n, "503": n, "drop": n, "truncate": n, "stall": n}``.
        """
        return self._app.faults

    @property
    def issued_tokens(self) -> dict[str, float]:
        """Access tokens issued by the token endpoint, with their expiry on ``clock``."""
        return self._app.issued_tokens

    @property
    def issued_refresh_tokens(self) -> list[str]:
        """Refresh tokens issued so far, in order: one per sign-in (browser or code-based
        linking) and, with ``rotate_refresh_tokens``, one per refresh. The configured
        ``refresh_token`` is not among them."""
        return self._app.issued_refresh_tokens

    @property
    def token_errors(self) -> dict[str, int]:
        """Error answers of the token endpoint so far, by their ``error`` code, e.g.
        ``{"invalid_grant": 1, "authorization_pending": 3}``."""
        return self._app.token_errors

    def approve_device(self, user_code: str) -> None:
        """Approve the device waiting with ``user_code`` (code-based linking): its next
        poll of the token endpoint gets tokens. As a user entering the code would.

        Raises:
            ValueError: no device is waiting with this code (unknown, used or expired).
        """
        self._app.lwa.approve_device(user_code)

    def deny_device(self, user_code: str) -> None:
        """Refuse the device waiting with ``user_code``: its next poll gets ``access_denied``.

        Raises:
            ValueError: no device is waiting with this code (unknown, used or expired).
        """
        self._app.lwa.approve_device(user_code, approve=False)

    @overload
    def serve(
        self,
        endpoint: Endpoint[Any],
        /,
        *,
        items: Iterable[Mapping[str, Any] | BaseModel],
        owner: Mapping[str, Any] | BaseModel | None = None,
        **path_params: str,
    ) -> None: ...
    @overload
    def serve(
        self, endpoint: Endpoint[Any], obj: Mapping[str, Any] | BaseModel, /, **path_params: str
    ) -> None: ...
    def serve(
        self,
        endpoint: Endpoint[Any],
        obj: Mapping[str, Any] | BaseModel | None = None,
        /,
        *,
        items: Any = None,
        owner: Any = None,
        **path_params: str,
    ) -> None:
        """Serve a downstream wrapper's `Endpoint`: a collection (``items=``) or one object.

        The response is the API's: the payload wrapped along ``endpoint.key_path``,
        credentials checked and faults applied as for the Browse endpoints. A collection
        is paged like theirs: ``limit`` within ``endpoint.limits`` (the maximum when
        omitted; 400 outside), signed ``cursor`` tokens (400 for another collection's),
        ``pageInfo``/``edgeCount``/``edges``. Works before `start` and while running.

        Example:
            >>> sandbox.serve(TRACK, {"id": "t1", "title": "One"}, track_id="t1")
            >>> sandbox.serve(MY_PLAYLISTS, items=[{"id": f"p{i}"} for i in range(250)])

        Args:
            endpoint: the endpoint to serve (``GET``, at its path with ``path_params``).
            obj: the object of an object endpoint: a dict of JSON values, or a pydantic
                model (sent as ``model_dump(by_alias=True, exclude_unset=True)``).
            items: the items of a collection endpoint, in page order, each as ``obj``.
            owner: for an endpoint with ``owner_key``, the fields of the object around
                the collection (e.g. a category's ``id`` and ``name``), sent beside it.
            path_params: the path parameters, checked as the client checks them. Serving
                the same endpoint with other values adds a resource; with the same values,
                replaces it. A path that is served wins over the catalog's.

        Raises:
            TypeError: a collection without ``items``, an object endpoint without ``obj``,
                ``owner`` without ``owner_key``, a value that is not JSON, a missing or
                unknown path parameter.
            ValueError: a path parameter the client would refuse.
        """
        self._app.serve(endpoint, obj, items=items, owner=owner, path_params=path_params)

    def serve_json(
        self,
        method: str,
        path: str,
        answer: Any = None,
        /,
        *,
        handler: Callable[[Any], Any] | None = None,
    ) -> None:
        """Answer ``method path`` with ``answer``, or with ``handler(body)`` per request.

        For what `client.request` calls and no `Endpoint` describes, e.g. a search whose
        next-page token travels in the JSON body. Credentials are checked and faults
        applied as for any API request.

        Example:
            >>> sandbox.serve_json("POST", "/v1/search/tracks", handler=lambda body: {...})

        Args:
            method: the HTTP method, e.g. ``"POST"``.
            path: the exact path, starting with ``/``, without a query.
            answer: a fixed JSON response body (copied now).
            handler: called with the request's parsed JSON body (``None`` when it has
                none); returns the JSON response body. A body that is not JSON gets 400.

        Raises:
            TypeError: both or neither of ``answer`` and ``handler``; an answer that is
                not JSON.
            ValueError: a method or path that cannot be served.
        """
        self._app.serve_json(method, path, answer, respond=handler)

    def start(self) -> SandboxServer:
        """Start serving in a background daemon thread; a no-op when already running.

        After `stop`, serves again on the same port.

        Raises:
            OSError: the address cannot be bound.
        """
        with self._lock:
            if self._thread is not None:
                return self
            self._stopping.clear()
            httpd = _ThreadingWSGIServer((self.host, self.port), self._app, self._stopping.wait)
            object.__setattr__(self, "port", httpd.server_port)
            thread = threading.Thread(
                target=httpd.serve,
                name=f"{_THREAD_NAME}:{self.port}",
                daemon=True,
            )
            thread.start()
            self._httpd, self._thread = httpd, thread
        logger.debug("sandbox listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving, close every connection and join every thread; idempotent."""
        with self._lock:
            httpd, thread = self._httpd, self._thread
            if httpd is None or thread is None:
                return
            self._httpd = self._thread = None
            self._stopping.set()  # ends any latency or stall wait at once
            httpd.wake()
            thread.join()
            httpd.close_connections()
            httpd.server_close()
        logger.debug("sandbox on port %d stopped", self.port)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        url = self.url if self.port else None
        return (
            f"{type(self).__name__}(url={url!r}, running={self.running}, "
            f"latency={self.latency!r}, rate_limit_rate={self.rate_limit_rate!r}, "
            f"server_error_rate={self.server_error_rate!r}, retry_after={self.retry_after!r}, "
            f"token_lifetime={self.token_lifetime!r}, seed={self.seed!r}{self._more_settings()})"
        )

    def _more_settings(self) -> str:
        """The socket-fault and redirect settings that differ from their defaults."""
        defaults = {field.name: field.default for field in fields(SandboxConfig)}
        names = ("drop_rate", "truncate_rate", "stall_rate", "stall_seconds", "redirect_to")
        return "".join(
            f", {name}={getattr(self, name)!r}"
            for name in names
            if getattr(self, name) != defaults[name]
        )

    def client(self, **options: Any) -> BrowseClient:
        """Return a `BrowseClient` for this sandbox; ``options`` go to its constructor.

        ``options`` may replace the defaults too: e.g. ``access_token=`` (pass
        ``sandbox.login_with_amazon()`` when ``token_lifetime`` is set) or a wrong ``api_key``.
        """
        from amazon_music_browse import BrowseClient

        defaults = {
            "api_key": self.api_key,
            "access_token": self.access_token,
            "base_url": self.url,
        }
        return BrowseClient(**{**defaults, **options})

    def login_with_amazon(self, **options: Any) -> LoginWithAmazon:
        """Return a `LoginWithAmazon` token provider using this sandbox's token endpoint.

        ``options`` go to its constructor and may replace the defaults too: e.g. a wrong
        ``refresh_token=`` to test a refused refresh, or ``timeout=``.
        """
        from amazon_music_browse import LoginWithAmazon

        defaults = {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
            "token_url": self.token_url,
        }
        return LoginWithAmazon(**{**defaults, **options})


def _read_only(name: str) -> AttributeError:
    """A setting cannot change once the server is built: the running server would not see it."""
    return AttributeError(
        f"{name!r} is read-only: a SandboxServer's settings are fixed at "
        f"construction; create another SandboxServer({name}=...) to change it"
    )


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    """One daemon thread per connection; `close_connections` ends and joins them all.

    `serve` accepts connections until `wake` is called. It never polls: it waits on the
    listening socket and on one end of a socket pair, and `wake` writes to the other end,
    so stopping an idle server takes as long as a thread switch.
    """

    daemon_threads = True
    block_on_close = False  # connections are tracked and joined by close_connections

    def __init__(
        self, address: tuple[str, int], app: WSGIApplication, wait: Callable[[float], bool]
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.wait = wait  # waits out a stall; returns True at once when the server stops
        self._connections: set[Any] = set()  # the sockets of open connections
        self._connection_threads: list[threading.Thread] = []  # started and not yet joined
        self._connections_lock = threading.Lock()
        self._wakeup, self._waker = socket.socketpair()  # before binding: a failure closes it
        super().__init__(address, _RequestHandler)
        self.app = app

    def serve(self) -> None:
        """Accept connections, each served on its own thread, until `wake` is called."""
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ)
            selector.register(self._wakeup, selectors.EVENT_READ)
            while True:
                for key, _ in selector.select():
                    if key.fileobj is self._wakeup:
                        return
                    self._accept()

    def wake(self) -> None:
        """Make `serve` return, now or as soon as it starts waiting."""
        self._waker.send(b"\0")

    def _accept(self) -> None:
        try:
            request, client_address = self.get_request()
        except OSError:  # the client gave up before it was accepted
            return
        try:
            self.process_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
            self.shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        self._wakeup.close()
        self._waker.close()

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), which can stall on DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.socket.getsockname()[:2]
        self.setup_environ()

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=f"{_THREAD_NAME}:{self.server_port}:connection",
            daemon=True,
        )
        with self._connections_lock:
            self._connections.add(request)
            running = [other for other in self._connection_threads if other.is_alive()]
            self._connection_threads = [*running, thread]
        thread.start()

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut every open connection (idle keep-alive ones too) and join every thread.

        A thread that has just closed its connection is joined too: it may not have
        ended yet.
        """
        with self._connections_lock:
            requests, threads = list(self._connections), self._connection_threads
            self._connection_threads = []
        for request in requests:
            with contextlib.suppress(OSError):
                request.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(timeout=1.0)

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.exception("sandbox: error while serving %s", client_address)


class _RequestHandler(WSGIRequestHandler):
    """HTTP/1.1 with keep-alive, quiet (DEBUG log records instead of stderr lines)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    wbufsize = -1  # buffer each response and flush it in one go
    timeout = _IDLE_TIMEOUT
    server: _ThreadingWSGIServer

    def get_environ(self) -> dict[str, str]:
        """The WSGI environ, plus ``RAW_URI``: the request target as sent, still encoded.

        ``PATH_INFO`` is decoded, so an id with an encoded ``/`` could not be told apart
        from two path segments; the app routes on ``RAW_URI`` instead.
        """
        environ = super().get_environ()
        environ[RAW_URI] = self.path
        return environ

    def handle(self) -> None:
        try:
            BaseHTTPRequestHandler.handle(self)  # handle_one_request until close_connection
        except OSError:  # the client went away, or stop() shut the socket
            self.close_connection = True

    def finish(self) -> None:
        """Flush and close the streams; a response the client is gone for is dropped quietly."""
        try:
            super().finish()
        except OSError:  # the buffered response had nowhere to go: drop it
            with contextlib.suppress(OSError):
                self.wfile.close()  # already closed unless the failure came before
            self.rfile.close()

    def handle_one_request(self) -> None:
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536:
            self.requestline = self.request_version = self.command = ""
            self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
        elif not self.raw_requestline:
            self.close_connection = True
        elif self.parse_request():
            if self.request_version != "HTTP/1.1" or self.command == "HEAD":
                self.close_connection = True  # no keep-alive for 1.0; HEAD gets a body
            body = self._read_body()
            if body is not None:
                output = cast("IO[bytes]", self.wfile)
                handler = _ServerHandler(
                    io.BytesIO(body), output, self.get_stderr(), self.get_environ()
                )
                handler.request_handler = self
                handler.run(self.server.app)
        self.wfile.flush()

    def handle_expect_100(self) -> bool:
        accepted = super().handle_expect_100()
        self.wfile.flush()  # the client waits for "100 Continue" before it sends the body
        return accepted

    def _read_body(self) -> bytes | None:
        """Read the whole request body, so the next request on the connection starts clean."""
        if "Transfer-Encoding" in self.headers:
            self.send_error(HTTPStatus.NOT_IMPLEMENTED, "Transfer-Encoding is not supported")
            return None
        length = self.headers.get("Content-Length", "0")
        if not (length.isascii() and length.isdigit()):
            self.send_error(HTTPStatus.BAD_REQUEST, "Invalid Content-Length")
            return None
        if int(length) > _MAX_BODY:
            self.send_error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
            return None
        return self.rfile.read(int(length))

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)


class _ServerHandler(ServerHandler):
    """wsgiref's handler, speaking HTTP/1.1 and saying when it closes the connection.

    It also carries out the socket-level fault the app drew for a request (see
    `SocketFault`): the response is written short, late or not at all, and the connection
    is closed after it, without announcing it.
    """

    http_version = "1.1"
    headers: Headers
    request_handler: _RequestHandler
    # set by wsgiref while a request is handled (not declared by typeshed)
    environ: dict[str, Any] | None
    result: Iterable[bytes] | None
    status: str | None

    def cleanup_headers(self) -> None:
        super().cleanup_headers()
        if self.request_handler.close_connection:
            self.headers["Connection"] = "close"

    def finish_response(self) -> None:
        fault = self.environ.get(FAULT_ENVIRON_KEY) if self.environ is not None else None
        if not isinstance(fault, SocketFault):
            super().finish_response()
            return
        body = b"".join(self.result or ())
        try:
            self._inject(fault, body)
        finally:
            self.request_handler.close_connection = True
        self.close()

    def _inject(self, fault: SocketFault, body: bytes) -> None:
        if fault.kind == "drop-after-headers":
            lines = [f"HTTP/{self.http_version} {self.status}\r\n"]
            for name, value in self.headers.items():
                lines.append(f"{name}: {value}\r\n")
                if name.lower() == "content-length":
                    break
            self._write("".join(lines).encode("iso-8859-1"))
            self._flush()
        elif fault.kind == "truncate":
            self.write(body[: len(body) // 2])
        elif fault.kind == "stall":
            self.send_headers()
            self._flush()
            if not self.request_handler.server.wait(fault.seconds):  # True: stopping
                self.write(body)
        # "drop": nothing at all is written

    def log_exception(self, exc_info: OptExcInfo) -> None:
        self.request_handler.close_connection = True
        logger.error("sandbox: the WSGI application failed", exc_info=exc_info)
