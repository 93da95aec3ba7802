"""What a request passes on its way to the network: the response cache, then the rate limit.

A fresh cached answer is returned without a request and without taking a token; any
request that does go out (a miss, a revalidation) takes one first. With neither a cache
nor a rate limit, requests go straight to the transport.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import requests

from ._errors import ConfigurationError
from ._models import ResponseCollection
from ._retry import RateLimitWindow

if TYPE_CHECKING:
    from ._cache import ResponseCache
    from ._ratelimit import RateLimit, Throttle
    from ._transport import Exchange, Transport

__all__ = ["Quota", "from_cache", "mark_from_cache"]

ResultT = TypeVar("ResultT")


def from_cache(response: requests.Response) -> bool:
    """Whether ``response`` was served by the response cache (no request was sent)."""
    return getattr(response, "from_cache", False) is True


def mark_from_cache(result: ResultT, response: requests.Response) -> ResultT:
    """``result``, its ``from_cache`` set when it is a page the cache served."""
    if isinstance(result, ResponseCollection) and from_cache(response):
        result._mark_from_cache()
    return result


class Quota:
    """The rate limit and the response cache of one client and its copies."""

    def __init__(
        self, transport: Transport, api_key: str, *, rate_limit: Any = None, cache: Any = None
    ) -> None:
        self._transport = transport
        self._throttle: Throttle | None = None
        self._cache: ResponseCache | None = None
        if rate_limit is not None:
            from ._ratelimit import RateLimit

            if not isinstance(rate_limit, RateLimit):
                raise ConfigurationError(
                    f"rate_limit must be a RateLimit, not {type(rate_limit).__name__}"
                )
            self._throttle = rate_limit._throttle_for(api_key)
        if cache is not None:
            from ._cache import ResponseCache

            if not isinstance(cache, ResponseCache):
                raise ConfigurationError(
                    f"cache must be a ResponseCache, not {type(cache).__name__}"
                )
            self._cache = cache
        self.rate_limit: RateLimit | None = rate_limit
        self.cache: ResponseCache | None = cache

    def window(self) -> RateLimitWindow:
        """The ``Retry-After`` window: the rate limit's (in its store), else the client's own."""
        return self._throttle.window if self._throttle is not None else RateLimitWindow()

    def send(self, url: str, exchange: Exchange, *, max_wait: float) -> requests.Response:
        """The answer to ``exchange``: from the cache when fresh, else from the network.

        Args:
            url: the full URL.
            exchange: what to send.
            max_wait: the longest wait for a rate-limit token (the client's
                ``max_retry_wait``); a longer one raises `RateLimitError`.
        """

        def over_network(sent: Exchange) -> requests.Response:
            if self._throttle is not None:
                self._throttle.take(max_wait)
            return self._transport.send(url, sent)

        if self._cache is None:
            return over_network(exchange)
        return self._cache.send(url, exchange, over_network)
