"""The pytest plugin: its fixtures, its marker, its entry point and its import cost."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import pytest
import requests

from amazon_music_browse.sandbox import SandboxServer

from ._support import AUTH

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
    # A fresh process, as a user's: pytest finds the plugin by its entry point alone.
    result = pytester.runpytest_subprocess("--strict-markers")
    result.assert_outcomes(passed=4)


def run_with_plugin(pytester: pytest.Pytester, source: str) -> pytest.RunResult:
    """Run ``source`` as a test module in a pytest run of its own, in this process, with
    the plugin loaded by its module name (whether or not its entry point is installed;
    that a fresh process loads it by its entry point is proven above)."""
    pytester.makepyfile(source)
    return pytester.runpytest_inprocess(
        "-p",
        "no:amazon_music_browse",
        "-p",
        "amazon_music_browse.sandbox._plugin",
        "--strict-markers",
        # pytest-benchmark, where installed, warns in a pytest-xdist worker, and in this
        # process a test's warnings are errors: it is off, as in the suite's own runs.
        "-p",
        "no:benchmark",
    )


def test_markers_merge_per_option_the_nearest_winning(pytester: pytest.Pytester) -> None:
    result = run_with_plugin(
        pytester,
        """
        import pytest

        pytestmark = pytest.mark.amazon_music_sandbox(seed=1, retry_after=5, latency=0.01)

        def test_module_marker(amazon_music_sandbox):
            assert (amazon_music_sandbox.seed, amazon_music_sandbox.retry_after) == (1, 5)

        @pytest.mark.amazon_music_sandbox(seed=3)
        def test_function_over_module(amazon_music_sandbox):
            assert (amazon_music_sandbox.seed, amazon_music_sandbox.retry_after) == (3, 5)

        @pytest.mark.amazon_music_sandbox(seed=2, rate_limit_rate=0.5)
        class TestClass:
            def test_class_over_module(self, amazon_music_sandbox):
                sandbox = amazon_music_sandbox
                assert (sandbox.seed, sandbox.retry_after, sandbox.latency) == (2, 5, 0.01)
                assert sandbox.rate_limit_rate == 0.5

            @pytest.mark.amazon_music_sandbox(seed=4)
            @pytest.mark.amazon_music_sandbox(retry_after=6, seed=5)
            def test_function_over_class(self, amazon_music_sandbox):
                sandbox = amazon_music_sandbox
                assert (sandbox.seed, sandbox.retry_after, sandbox.rate_limit_rate) == (5, 6, 0.5)
        """,
    )
    result.assert_outcomes(passed=4)


def test_a_marker_with_positional_arguments_is_an_error(pytester: pytest.Pytester) -> None:
    result = run_with_plugin(
        pytester,
        """
        import pytest

        @pytest.mark.amazon_music_sandbox({"latency": 0.1})
        def test_positional(amazon_music_sandbox):
            pass

        @pytest.mark.amazon_music_sandbox(0.1, seed=2)
        def test_positional_beside_keywords(amazon_music_sandbox):
            pass
        """,
    )
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_positional *",
            "@pytest.mark.amazon_music_sandbox takes SandboxServer options as keyword "
            "arguments only, e.g. *; got positional arguments ({'latency': 0.1},)",
            "*ERROR at setup of test_positional_beside_keywords*",
            "*keyword arguments only*; got positional arguments (0.1,)",
        ]
    )
    result.stdout.no_fnmatch_line("*Traceback*")


def test_a_marker_on_a_test_using_only_the_session_sandbox_is_an_error(
    pytester: pytest.Pytester,
) -> None:
    result = run_with_plugin(
        pytester,
        """
        import pytest

        pytestmark = pytest.mark.amazon_music_sandbox(seed=7)

        def test_session_only(amazon_music_sandbox_session):
            pass

        def test_both(amazon_music_sandbox, amazon_music_sandbox_session):
            assert amazon_music_sandbox.seed == 7
            assert amazon_music_sandbox_session.seed == 0

        def test_no_sandbox():
            pass
        """,
    )
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_session_only*",
            "@pytest.mark.amazon_music_sandbox applies to the amazon_music_sandbox fixture, "
            "but this test uses only amazon_music_sandbox_session, *",
        ]
    )


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
