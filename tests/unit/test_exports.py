"""The public surface: `__all__`, lazy loading of names, and the names the contract lists."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import types

import pytest

import amazon_music_browse


def test_all_is_sorted_and_unique() -> None:
    names = amazon_music_browse.__all__
    assert names == sorted(names)
    assert len(set(names)) == len(names)


def test_every_name_in_all_exists() -> None:
    missing = [
        name for name in amazon_music_browse.__all__ if not hasattr(amazon_music_browse, name)
    ]
    assert missing == []


def test_every_public_attribute_is_in_all() -> None:
    public = {
        name
        for name in dir(amazon_music_browse)
        if not name.startswith("_")
        and not isinstance(getattr(amazon_music_browse, name), types.ModuleType)
    }
    assert public == set(amazon_music_browse.__all__) - {"__version__"}


def test_public_names_are_the_objects_of_their_private_modules() -> None:
    homes = amazon_music_browse._SUBMODULE_OF
    assert set(homes) == set(amazon_music_browse.__all__) - {"__version__"}
    for name, submodule in homes.items():
        home = importlib.import_module(f"amazon_music_browse.{submodule}")
        assert getattr(amazon_music_browse, name) is getattr(home, name), name


def test_importing_the_package_loads_nothing_heavy() -> None:
    code = (
        "import sys, amazon_music_browse; "
        "print(sorted(m for m in ('requests', 'pydantic.main', 'tenacity') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_an_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'NoSuchThing'"):
        amazon_music_browse.NoSuchThing  # noqa: B018


def test_contract_names_are_exported() -> None:
    contract = {
        "BrowseClient",
        "Track",
        "Playlist",
        "Episode",
        "Album",
        "Category",
        "Image",
        "PageInfo",
        "Edge",
        "ResponseCollection",
        "Paginator",
        "AmazonMusicError",
        "ConfigurationError",
        "APIConnectionError",
        "APITimeoutError",
        "ResponseValidationError",
        "PaginationError",
        "APIError",
        "BadRequestError",
        "AuthenticationError",
        "PermissionDeniedError",
        "NotFoundError",
        "UnprocessableEntityError",
        "RateLimitError",
        "InternalServerError",
        "__version__",
        # new in v4 of the contract, built so far
        "ClientClosedError",
        "Endpoint",
        "list_endpoint",
        "RateLimit",
        "RateLimitStore",
        "ResponseCache",
    }
    assert contract - set(amazon_music_browse.__all__) == set()


def test_login_with_amazon_is_exported() -> None:
    # The contract's import line: from amazon_music_browse import BrowseClient, LoginWithAmazon
    assert "LoginWithAmazon" in amazon_music_browse.__all__
    assert callable(getattr(amazon_music_browse, "LoginWithAmazon", None))


def test_version_is_a_string() -> None:
    version = amazon_music_browse.__version__
    assert isinstance(version, str)
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", version)


def test_the_public_submodules_import() -> None:
    from amazon_music_browse import endpoints, sandbox

    assert len(endpoints.ENDPOINTS) == 8
    assert set(endpoints.__all__) >= {"ENDPOINTS", "TOP_TRACKS", "CATEGORY_TRACKS"}
    assert callable(sandbox.SandboxServer)
