"""The pytest plugin: its fixtures, its marker, its entry point and its import cost."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import pytest
import requests

from amazon_music_browse.sandbox import SandboxServer

from .conftest import AUTH

pytest_plugins = ["pytester"]


def test_fixture_yields_a_running_sandbox(amazon_music_sandbox: SandboxServer) -> None:
    assert isinstance(amazon_music_sandbox, SandboxServer)
    assert amazon_music_sandbox.running
    response = requests.get(
        f"{amazon_music_sandbox.url}/v1/browse/tracks/top", headers=AUTH, timeout=5
    )
    assert response.status_code == 200


@pytest.mark.amazon_music_sandbox(rate_limit_rate=1.0, retry_after=4)
def test_marker_passes_options(amazon_music_sandbox: SandboxServer) -> None:
    response = requests.get(
        f"{amazon_music_sandbox.url}/v1/browse/tracks/top", headers=AUTH, timeout=5
    )
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "4"


def test_session_fixture(amazon_music_sandbox_session: SandboxServer) -> None:
    assert amazon_music_sandbox_session.running
    assert amazon_music_sandbox_session.url.startswith("http://127.0.0.1:")


def test_entry_point_names_the_plugin() -> None:
    [entry_point] = [
        ep for ep in entry_points(group="pytest11") if ep.name == "amazon_music_browse"
    ]
    assert entry_point.value == "amazon_music_browse.sandbox._plugin"


def test_plugin_in_a_fresh_pytest_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        import requests

        URL = "{}/v1/browse/categories/E9UEPoEH"
        AUTH = {"x-api-key": "sandbox-key", "Authorization": "Bearer sandbox-token"}
        seen = []

        def test_function_scoped(amazon_music_sandbox):
            assert requests.get(URL.format(amazon_music_sandbox.url), headers=AUTH).ok
            seen.append(amazon_music_sandbox)

        def test_fresh_for_each_test(amazon_music_sandbox):
            assert amazon_music_sandbox is not seen[0]
            assert not seen[0].running
            assert amazon_music_sandbox.request_count == 0

        @pytest.mark.amazon_music_sandbox(api_key="other-key")
        def test_marker(amazon_music_sandbox):
            assert amazon_music_sandbox.api_key == "other-key"

        def test_session_scoped(amazon_music_sandbox_session):
            assert requests.get(URL.format(amazon_music_sandbox_session.url), headers=AUTH).ok
        """
    )
    # Load the plugin by module name, whether or not its entry point is installed.
    result = pytester.runpytest_subprocess(
        "-p",
        "no:amazon_music_browse",
        "-p",
        "amazon_music_browse.sandbox._plugin",
        "--strict-markers",
    )
    result.assert_outcomes(passed=4)


def test_importing_the_plugin_does_not_import_the_server() -> None:
    code = (
        "import sys, amazon_music_browse.sandbox._plugin; "
        "print(sorted(m for m in sys.modules if m.startswith('amazon_music_browse.sandbox')))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert (
        output.stdout.strip()
        == "['amazon_music_browse.sandbox', 'amazon_music_browse.sandbox._plugin']"
    )
