"""Optional libraries: the base install never imports them, and a missing one is named.

``sys.modules[name] = None`` makes ``import name`` fail as it does where the library is
not installed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from amazon_music_browse import RateLimit, RateLimitStore, ResponseCache

OPTIONAL = ("pyrate_limiter", "redis", "requests_cache", "filelock")


def test_the_base_install_imports_no_optional_library() -> None:
    code = (
        "import sys\n"
        "from amazon_music_browse import BrowseClient, RateLimit, RateLimitStore, ResponseCache\n"
        "client = BrowseClient('an-api-key-123', 'an-access-token-456')\n"
        "client.with_options(timeout=5).close()\n"
        f"print(sorted(m for m in {OPTIONAL!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("missing", "use", "extra"),
    [
        ("pyrate_limiter", lambda tmp: RateLimit(10), "ratelimit"),
        ("pyrate_limiter", lambda tmp: RateLimitStore.sqlite(tmp / "l.db"), "ratelimit"),
        ("pyrate_limiter", lambda tmp: RateLimitStore.redis("redis://localhost/0"), "ratelimit"),
        ("redis", lambda tmp: RateLimitStore.redis("redis://localhost/0"), "redis"),
        ("requests_cache", lambda tmp: ResponseCache("memory"), "cache"),
        ("requests_cache", lambda tmp: ResponseCache(path=tmp / "c.sqlite"), "cache"),
        ("redis", lambda tmp: ResponseCache("redis://localhost/0"), "redis"),
    ],
)
def test_using_a_name_whose_extra_is_missing_names_the_extra(
    missing: str, use: object, extra: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, missing, None)
    with pytest.raises(ImportError, match=rf'pip install "amazon-music-browse\[{extra}\]"'):
        use(tmp_path)  # type: ignore[operator]
