"""Defaults for the client: where it connects, how long it waits, how often it retries."""

from __future__ import annotations

import requests

from ._version import __version__

DEFAULT_BASE_URL = "https://api.music.amazon.dev"
"""The Amazon Music Web API host; V1 paths start with ``/v1``."""

DEFAULT_TIMEOUT = 30.0
"""Seconds to wait for a connection and for each read; never "no timeout"."""

DEFAULT_MAX_RETRIES = 2
"""Retries after the first attempt, for connection errors, timeouts, 429 and 5xx."""

DEFAULT_MAX_RETRY_WAIT = 60.0
"""The longest ``Retry-After`` the client sleeps; a longer one is raised at once."""

INITIAL_RETRY_DELAY = 0.5
"""Base of the exponential backoff, in seconds."""

MAX_RETRY_DELAY = 8.0
"""Cap of the exponential backoff, in seconds (before jitter)."""

MAX_REDIRECTS = 5
"""Redirects followed for one request before giving up."""

MAX_KEPT_BODY = 64 * 1024
"""Characters of a response body kept on an exception."""

MAX_ERROR_BODY_BYTES = 4 * MAX_KEPT_BODY
"""Decoded bytes read of an error response's body: enough for 64 KiB of any UTF-8 text."""

DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024
"""The largest decoded body of a successful response the client reads."""

MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024
"""The largest decoded body of a Login with Amazon token response read."""

DEFAULT_MAX_CONNECTIONS = 10
"""Pooled connections per host of a session the client creates."""

MAX_RATE_LIMIT_WINDOW = 24 * 60 * 60.0
"""The longest a remembered ``Retry-After`` window lasts, whatever the service said."""

MAX_QUOTED_BODY = 500
"""Characters of a response body quoted in an exception message."""

MAX_EMPTY_PAGES = 100
"""Consecutive empty pages the paginator follows before it calls the cursor chain broken."""

ENV_API_KEY = "AMAZON_MUSIC_API_KEY"
ENV_ACCESS_TOKEN = "AMAZON_MUSIC_ACCESS_TOKEN"
ENV_BASE_URL = "AMAZON_MUSIC_BASE_URL"
ENV_LWA_URL = "AMAZON_MUSIC_LWA_URL"
"""The base URL of Login with Amazon's endpoints (``…/auth/o2/token``), e.g. a sandbox's."""
ENV_LWA_CLIENT_ID = "LWA_CLIENT_ID"
ENV_LWA_CLIENT_SECRET = "LWA_CLIENT_SECRET"
"""Where the command line reads the security profile's client ID and secret from."""

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})

USER_AGENT = f"amazon-music-browse/{__version__} python-requests/{requests.__version__}"
"""The User-Agent of every request this package sends."""

TOKEN_ERROR_CODES = frozenset(
    {"INVALID_ACCESS_TOKEN", "INVALID_AUTH_TOKEN", "NO_ACCESS_TOKEN", "INVALID_AUTH_TYPE"}
)
"""Codes of a 401 about the access token: a new token may succeed (so may no code)."""
