"""One GET over a ``requests.Session``: redirects kept to their origin, errors translated."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from ._config import Timeout
from ._constants import MAX_REDIRECTS
from ._errors import APIConnectionError, APITimeoutError


def origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of ``url``, with the default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"https": 443, "http": 80}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


class Transport:
    """Sends GET requests for one client, over a session it may or may not own.

    For a session it creates, proxy and certificate settings from the environment are
    resolved once per origin (``requests`` merges them again on every request); a
    session passed in is used exactly as ``requests`` would use it, and never changed.
    """

    def __init__(self, session: requests.Session | None, base_url: str) -> None:
        self.owns_session = session is None
        self.session = requests.Session() if session is None else session
        self._origin = origin(base_url)
        self._environment: dict[tuple[str, str, int | None], dict[str, Any]] = {}

    def close(self) -> None:
        """Close the session if this transport created it."""
        if self.owns_session:
            self.session.close()

    def get(
        self,
        url: str,
        params: Mapping[str, Any],
        headers: Mapping[str, str],
        credentials: Mapping[str, str],
        timeout: Timeout,
    ) -> requests.Response:
        """GET ``url``, following redirects; credentials go only to ``base_url``'s origin.

        Raises:
            APITimeoutError: the connection or a read timed out.
            APIConnectionError: any other failure to get an answer.
        """
        query: Mapping[str, Any] | None = params
        for _ in range(MAX_REDIRECTS + 1):
            target = origin(url)
            sent = {**headers, **credentials} if target == self._origin else dict(headers)
            response = self._send(url, query, sent, timeout, target)
            location = self.session.get_redirect_target(response)
            if location is None:
                return response
            response.close()
            url, query = _redirect_target(response.url, location), None
        raise APIConnectionError(f"more than {MAX_REDIRECTS} redirects, last to {url}")

    def _send(
        self,
        url: str,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str],
        timeout: Timeout,
        target: tuple[str, str, int | None],
    ) -> requests.Response:
        prepared: requests.PreparedRequest | None = None
        try:
            prepared = self.session.prepare_request(
                requests.Request("GET", url, params=params, headers=headers, auth=_no_auth)
            )
            return self.session.send(
                prepared,
                timeout=timeout,
                allow_redirects=False,
                **{**self._environment_settings(prepared.url or url, target), "stream": False},
            )
        except requests.Timeout as exc:
            raise APITimeoutError(
                f"GET {_path(url)} timed out: {_reason(exc)}", request=prepared
            ) from exc
        except requests.ConnectionError as exc:
            # A read that times out while the body arrives is a ConnectionError wrapping
            # urllib3's ReadTimeoutError, not a requests.Timeout.
            timed_out = exc.args and isinstance(exc.args[0], urllib3.exceptions.ReadTimeoutError)
            error = APITimeoutError if timed_out else APIConnectionError
            raise error(f"GET {_path(url)} failed: {_reason(exc)}", request=prepared) from exc
        except requests.RequestException as exc:
            raise APIConnectionError(
                f"GET {_path(url)} failed: {_reason(exc)}", request=prepared
            ) from exc
        except ValueError as exc:  # requests parses a Location header even unfollowed
            raise APIConnectionError(
                f"GET {_path(url)} failed: malformed answer: {exc}", request=prepared
            ) from exc

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


def _no_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """Keep the headers as they are.

    Without an ``auth``, requests looks up ``~/.netrc`` on every request and, when it has
    an entry for the host, replaces the ``Authorization: Bearer`` header with Basic auth;
    a session's own ``auth`` would replace it too.
    """
    return request


def _redirect_target(current: str, location: str) -> str:
    """The absolute URL a redirect leads to, if it is a valid http(s) URL."""
    try:
        url = urljoin(current, location)
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port validates it
    except ValueError:
        raise APIConnectionError(f"redirected to an invalid URL: {location}") from None
    if parts.scheme.lower() not in {"http", "https"}:
        raise APIConnectionError(f"redirected to a URL that is not http(s): {url}")
    return url


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _reason(exc: requests.RequestException) -> str:
    return f"{type(exc).__name__}: {exc}"
