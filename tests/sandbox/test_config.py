"""Options written once: `SandboxConfig`'s fields are the signature, attributes and flags."""

from __future__ import annotations

import inspect
import re
import time
from dataclasses import MISSING, fields
from typing import Any

import pytest

from amazon_music_browse.sandbox import SandboxServer
from amazon_music_browse.sandbox import __main__ as cli
from amazon_music_browse.sandbox._config import SandboxConfig, parse_sizes
from tests._typing import mypy_errors, register, revealed_types

FIELDS = list(fields(SandboxConfig))
FLAGGED = [option for option in FIELDS if option.metadata["flag"]]


def test_the_signature_is_the_fields_in_order() -> None:
    parameters = list(inspect.signature(SandboxServer).parameters.values())
    assert [(p.name, p.default) for p in parameters] == [(f.name, f.default) for f in FIELDS]
    assert all(option.default is not MISSING for option in FIELDS)
    kinds = [p.kind for p in parameters]
    assert kinds[:2] == [inspect.Parameter.POSITIONAL_OR_KEYWORD] * 2  # host, port
    assert set(kinds[2:]) == {inspect.Parameter.KEYWORD_ONLY}


def test_the_docstring_describes_every_option_in_order() -> None:
    docstring = inspect.getdoc(SandboxServer) or ""
    arguments = docstring.split("Args:\n", 1)[1].split("\n\n", 1)[0]
    assert re.findall(r"^    (\w+): ", arguments, re.MULTILINE) == [f.name for f in FIELDS]


def test_every_option_has_a_help_line() -> None:
    for option in FIELDS:
        assert option.metadata["help"].strip(), option.name
        assert "\n" not in option.metadata["help"]


def test_every_flag_is_made_from_a_field() -> None:
    flags = [
        action.option_strings[0]
        for action in cli._parser()._actions
        if action.option_strings[0] != "-h"
    ]
    assert flags == ["--" + option.name.replace("_", "-") for option in FLAGGED]
    assert {option.name for option in FIELDS} - {option.name for option in FLAGGED} == {"clock"}


def arguments_of(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> dict[str, Any]:
    """The keyword arguments ``main(argv)`` gives `SandboxServer`."""
    received: dict[str, Any] = {}

    def recording_sandbox(**kwargs: Any) -> SandboxServer:
        received.update(kwargs)
        raise ValueError("recorded")  # main() turns it into a usage error: exit status 2

    monkeypatch.setattr(cli, "SandboxServer", recording_sandbox)
    with pytest.raises(SystemExit):
        cli.main(argv)
    return received


def test_no_flags_give_the_defaults_but_port_8765(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = {option.name: option.default for option in FLAGGED}
    assert arguments_of(monkeypatch, []) == {**defaults, "port": 8765}


def test_every_flag_reaches_the_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    values: dict[str, tuple[str, Any]] = {
        "host": ("127.0.0.2", "127.0.0.2"),
        "port": ("0", 0),
        "api_key": ("k", "k"),
        "access_token": ("t", "t"),
        "client_id": ("c", "c"),
        "client_secret": ("s", "s"),
        "refresh_token": ("r", "r"),
        "latency": ("0.5", 0.5),
        "rate_limit_rate": ("0.1", 0.1),
        "server_error_rate": ("0.2", 0.2),
        "retry_after": ("7", 7),
        "token_lifetime": ("30", 30.0),
        "seed": ("3", 3),
        "catalog_sizes": ("topPlaylists=1000, tracks=5", {"topPlaylists": 1000, "tracks": 5}),
        "drop_rate": ("0.05", 0.05),
        "truncate_rate": ("0.04", 0.04),
        "stall_rate": ("0.03", 0.03),
        "stall_seconds": ("2.5", 2.5),
        "redirect_to": ("http://127.0.0.1:9", "http://127.0.0.1:9"),
        "auto_approve_after": ("1.5", 1.5),
        "device_interval": ("0.5", 0.5),
        "device_expires_in": ("30", 30.0),
        "rotate_refresh_tokens": (None, True),
        "rotation_grace": ("2", 2.0),
        "etag": (None, True),
        "cache_max_age": ("30", 30),
    }
    assert set(values) == {option.name for option in FLAGGED}
    argv = [
        word
        for name, (text, _) in values.items()
        for word in (f"--{name.replace('_', '-')}", text)
        if word is not None  # a switch takes no value
    ]
    assert arguments_of(monkeypatch, argv) == {name: value for name, (_, value) in values.items()}


def test_the_command_line_serves_a_sized_catalog_with_its_own_credentials(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(time, "sleep", lambda seconds: (_ for _ in ()).throw(KeyboardInterrupt))
    argv = ["--port", "0", "--api-key", "my-key", "--catalog-sizes", "topTracks=3"]
    assert cli.main(argv) == 0
    banner = capsys.readouterr().out
    assert "x-api-key:      my-key" in banner
    assert "export AMAZON_MUSIC_API_KEY=my-key" in banner


@pytest.mark.parametrize("text", ["topTracks", "topTracks=x", "topTracks=-1", "=3,"])
def test_bad_catalog_sizes_are_usage_errors(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--catalog-sizes", text])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "catalog" in error
    assert "KEY=COUNT" in error or "unknown collection" in error


def test_parse_sizes() -> None:
    assert parse_sizes("topTracks=3,albums=7") == {"topTracks": 3, "albums": 7}
    assert parse_sizes("") == {}


def test_a_config_is_checked_and_read_only() -> None:
    config = SandboxConfig(seed=4, catalog_sizes={"tracks": 5})
    assert (config.seed, dict(config.catalog_sizes or {})) == (4, {"tracks": 5})
    with pytest.raises(AttributeError):
        config.seed = 5  # type: ignore[misc]
    with pytest.raises(TypeError, match="clock must be a callable"):
        SandboxConfig(clock=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="port must be an int"):
        SandboxConfig(port=1.5)  # type: ignore[arg-type]


SANDBOX_TYPES = register(
    "sandbox_types",
    """
            from amazon_music_browse import Endpoint, Track
            from amazon_music_browse.sandbox import SandboxServer

            TRACK = Endpoint("/v1/tracks/{track_id}", ("data", "track"), Track)
            sandbox = SandboxServer("127.0.0.1", 0, latency=0.5, catalog_sizes={"tracks": 5})
            reveal_type(sandbox.token_lifetime)
            sandbox.serve(TRACK, {"id": "t"}, track_id="t")
            sandbox.serve(TRACK, items=[Track(id="t")])
            sandbox.serve_json("POST", "/v1/x", handler=lambda body: body)
            SandboxServer(latncy=0.5)
            sandbox.latency = 1.0
            """,
)


def test_mypy_sees_the_options_as_typed_keywords_and_read_only_attributes() -> None:
    assert len(revealed_types(SANDBOX_TYPES)) == 1
    assert re.fullmatch(r"(builtins\.)?float \| None", revealed_types(SANDBOX_TYPES)[0])
    assert mypy_errors(SANDBOX_TYPES) == [
        'error: Unexpected keyword argument "latncy" for "SandboxServer"; '
        'did you mean "latency"?  [call-arg]',
        'error: Property "latency" defined in "SandboxConfig" is read-only  [misc]',
    ]
