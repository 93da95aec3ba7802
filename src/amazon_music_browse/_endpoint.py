"""`Endpoint`: the description of one API endpoint, and `list_endpoint` to mark a method.

An endpoint says where it lives (a path template whose ``{name}`` parts are path
parameters), where its payload sits in the body (a key path from the top), what the
payload is (the model of one object, or of a collection's items) and, for a collection,
which ``limit`` it takes. The client sends any endpoint through one pipeline; the Browse
endpoints are the entries of `amazon_music_browse.endpoints`.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from functools import cached_property
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from ._arguments import check_path_param, is_int
from ._errors import ResponseValidationError, excerpt
from ._models import Category, ResponseCollection

__all__ = ["Endpoint", "endpoint_of", "list_endpoint"]

ModelT = TypeVar("ModelT", bound=BaseModel)
FunctionT = TypeVar("FunctionT", bound=Callable[..., Any])

_MARK = "__amazon_music_endpoint__"
_RESERVED = frozenset({"limit", "cursor"})


class _Wrapper(BaseModel):
    """An object of the body that only leads to the payload.

    ``cache_strings="keys"``: pydantic-core would otherwise keep up to 16,384 of the
    values it parsed (ids, titles, URLs) in a process-wide cache, about 1.2 MiB that no
    later page reuses.
    """

    model_config = ConfigDict(extra="ignore", defer_build=True, cache_strings="keys")


class _OwnerWrapper(BaseModel):
    """An object around a collection: its own fields are kept as extras."""

    model_config = ConfigDict(extra="allow", defer_build=True, cache_strings="keys")


@dataclass(frozen=True)
class Endpoint(Generic[ModelT]):
    """One endpoint of the API: path, where its payload is, its model and its bounds.

    Example:
        >>> TRACK = Endpoint("/v1/tracks/{track_id}", ("data", "track"), Track)
        >>> MY_PLAYLISTS = Endpoint(
        ...     "/v1/me/playlists", ("data", "user", "playlists"), Playlist, limits=(1, 100)
        ... )

    Args:
        path: the path below ``base_url``, starting with ``/``; every ``{name}`` in it is
            a path parameter, filled from a keyword argument as one encoded segment.
        key_path: the keys from the top of the body to the payload, starting with
            ``"data"`` (a body without the ``data`` wrapper is accepted too).
        model: the model of the object, or of a collection's items.
        limits: ``(min, max)`` of ``limit``; set for a collection, ``None`` for an object.
        owner_key: the key (in ``key_path``) of an object around the collection, whose
            own fields are parsed as ``owner_model`` and handed over as ``page.owner``.
        owner_model: the model of that object (needed with ``owner_key``).
        name: a short name, e.g. ``"top-tracks"`` (the command line's subcommand).
        summary: one line saying what it answers (the command line's help).

    Raises:
        TypeError, ValueError: a part of the description is of the wrong type or shape.
    """

    path: str
    key_path: tuple[str, ...]
    model: type[ModelT]
    _: KW_ONLY
    limits: tuple[int, int] | None = None
    owner_key: str | None = None
    owner_model: type[BaseModel] | None = None
    name: str | None = None
    summary: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.path, str) or not self.path.startswith("/"):
            raise ValueError(f"an endpoint's path starts with '/', got {self.path!r}")
        if isinstance(self.key_path, list):
            object.__setattr__(self, "key_path", tuple(self.key_path))
        key_path = self.key_path
        if (
            not isinstance(key_path, tuple)
            or not all(isinstance(key, str) and key for key in key_path)
            or len(key_path) < 2
            or key_path[0] != "data"
        ):
            raise ValueError(
                "key_path is a tuple of keys that starts with 'data' and names the payload, "
                f"like ('data', 'track'), got {key_path!r}"
            )
        if not (isinstance(self.model, type) and issubclass(self.model, BaseModel)):
            raise TypeError(f"model must be a pydantic model class, not {self.model!r}")
        self._check_limits()
        self._check_owner()
        self.path_params  # noqa: B018 - parsing the template checks it

    def _check_limits(self) -> None:
        if self.limits is None:
            return
        limits = self.limits
        if (
            not isinstance(limits, tuple)
            or len(limits) != 2
            or not all(is_int(bound) for bound in limits)
            or not 1 <= limits[0] <= limits[1]
        ):
            raise ValueError(f"limits must be (min, max) with 1 <= min <= max, got {limits!r}")

    def _check_owner(self) -> None:
        if self.owner_key is None:
            if self.owner_model is not None:
                raise ValueError("owner_model needs owner_key: the key of the owner object")
            return
        if self.limits is None:
            raise ValueError("owner_key is for a collection (an endpoint with limits)")
        if self.owner_key not in self.key_path[1:-1]:
            raise ValueError(
                f"owner_key {self.owner_key!r} must be a key of key_path before the payload's"
            )
        if not (isinstance(self.owner_model, type) and issubclass(self.owner_model, BaseModel)):
            raise ValueError("owner_key needs owner_model: the pydantic model of the owner")

    @cached_property
    def path_params(self) -> tuple[str, ...]:
        """The names of the path parameters, in order (``("category_id",)``)."""
        names: list[str] = []
        try:
            parsed = list(string.Formatter().parse(self.path))
        except ValueError as exc:
            raise ValueError(f"path {self.path!r} is not a valid template: {exc}") from None
        for _, name, spec, conversion in parsed:
            if name is None:
                continue
            if not name.isidentifier() or spec or conversion:
                raise ValueError(f"path parameter {{{name}}} must be a plain name, like {{id}}")
            if name in _RESERVED or name in names:
                raise ValueError(f"path parameter {{{name}}} is reserved or repeated")
            names.append(name)
        return tuple(names)

    @property
    def is_collection(self) -> bool:
        """Whether it answers a collection (pages of items) rather than one object."""
        return self.limits is not None

    def format_path(self, **path_params: Any) -> str:
        """The path with every parameter checked and filled in as one encoded segment.

        Raises:
            TypeError: a parameter is missing, unknown, or not a ``str``.
            ValueError: a value is empty, padded with whitespace, ``.``/``..``, or
                cannot be sent.
        """
        missing = [name for name in self.path_params if name not in path_params]
        unknown = sorted(set(path_params) - set(self.path_params))
        if missing or unknown:
            expected = ", ".join(self.path_params) or "none"
            problem = f"missing {', '.join(missing)}" if missing else ""
            if unknown:
                problem += ("; " if problem else "") + f"unknown {', '.join(unknown)}"
            raise TypeError(f"{self.path}: path parameters {problem} (it takes: {expected})")
        if not self.path_params:
            return self.path
        values = {name: check_path_param(name, path_params[name]) for name in self.path_params}
        return self.path.format(**values)

    def __repr__(self) -> str:
        kind = f"limits={self.limits!r}" if self.limits else "one object"
        return (
            f"Endpoint({self.path!r}, {'.'.join(self.key_path)!r}, {self.model.__name__}, {kind})"
        )

    # -- parsing --------------------------------------------------------------------------

    @cached_property
    def _body_model(self) -> type[BaseModel]:
        """The model of the whole body, built on first use, so one parse does it all.

        The outer ``data`` wrapper is optional (the Get Category example has none).
        """
        payload: Any = ResponseCollection[self.model] if self.limits else self.model  # type: ignore[name-defined]
        label = "".join(char if char.isalnum() else "_" for char in self.path)
        inner: Any = payload
        for depth in range(len(self.key_path) - 1, 0, -1):
            container = self.key_path[depth - 1]
            base: type[BaseModel] = _OwnerWrapper if container == self.owner_key else _Wrapper
            fields: dict[str, Any] = {self.key_path[depth]: (inner, ...)}
            inner = create_model(f"_{label}_{container}", __base__=base, **fields)
        bare_key = self.key_path[1]
        bare: Any = inner.model_fields[bare_key].annotation
        top: dict[str, Any] = {"data": (inner | None, None), bare_key: (bare | None, None)}
        return create_model(f"_{label}_body", __base__=_Wrapper, **top)

    def parse(
        self,
        body: bytes,
        status_code: int,
        redact: Callable[[str], str] = str,
        *,
        source: str = "the request",
    ) -> Any:
        """Parse a body into the payload (a page or an object), in one pass over the bytes.

        ``redact`` removes credentials from the body's text before an error quotes it;
        ``source`` names the request and content type in an error's message.

        Raises:
            ResponseValidationError: the body is not JSON, or not the documented shape.
        """
        try:
            document = self._body_model.model_validate_json(body)
        except (ValidationError, ValueError, RecursionError) as exc:
            raise invalid_body(body, status_code, describe(exc), redact, source) from None
        # The Get Category example has no data wrapper: accept the bare form too.
        node: Any = getattr(document, "data", None) or document
        owner: Any = None
        for key in self.key_path[1:]:
            node = getattr(node, key, None)
            if node is None:
                problem = f"has no {'.'.join(self.key_path)!r}"
                raise invalid_body(body, status_code, problem, redact, source)
            if key == self.owner_key:
                owner = node
        if owner is not None and self.owner_model is not None and owner.model_extra:
            node.owner = self._owner(owner.model_extra, body, status_code, redact, source)
            if isinstance(node.owner, Category):
                node.category = node.owner
        return node

    def _owner(
        self,
        fields: dict[str, Any],
        body: bytes,
        status_code: int,
        redact: Callable[[str], str],
        source: str,
    ) -> BaseModel | None:
        """The owner object, or ``None`` when it lacks required fields (a bare wrapper)."""
        assert self.owner_model is not None
        try:
            return self.owner_model.model_validate(fields)
        except ValidationError as exc:
            if all(error["type"] == "missing" for error in exc.errors()):
                return None
            raise invalid_body(body, status_code, describe(exc), redact, source) from None


def list_endpoint(endpoint: Endpoint[Any]) -> Callable[[FunctionT], FunctionT]:
    """Mark a client method as a list method of ``endpoint``, so `paginate` can page it.

    The method must take ``limit=`` and ``cursor=`` keywords; it is returned unchanged.

    Example:
        >>> class MyClient(BrowseClient):
        ...     @list_endpoint(MY_PLAYLISTS)
        ...     def get_my_playlists(self, *, limit=None, cursor=None):
        ...         return self.get_page(MY_PLAYLISTS, limit=limit, cursor=cursor)

    Raises:
        TypeError: ``endpoint`` is not an `Endpoint` of a collection.
    """
    if not isinstance(endpoint, Endpoint) or not endpoint.is_collection:
        raise TypeError(
            f"list_endpoint() takes an Endpoint of a collection (with limits), got {endpoint!r}"
        )

    def mark(function: FunctionT) -> FunctionT:
        setattr(function, _MARK, endpoint)
        return function

    return mark


def endpoint_of(method: Any) -> Endpoint[Any] | None:
    """The endpoint a method was marked with by `list_endpoint`, if any."""
    endpoint = getattr(method, _MARK, None)
    return endpoint if isinstance(endpoint, Endpoint) else None


def describe(exc: Exception) -> str:
    """What is wrong with a body, in words: not JSON, or which fields do not fit."""
    if isinstance(exc, ValidationError):
        errors = exc.errors(include_url=False, include_input=False)
        if len(errors) == 1 and not errors[0]["loc"] and errors[0]["type"] == "json_invalid":
            return f"is not JSON ({errors[0]['msg']})"
        problems = [
            f"{'.'.join(str(part) for part in error['loc']) or '(top level)'}: {error['msg']}"
            for error in errors[:5]
        ]
        return "is not the documented shape: " + "; ".join(problems)
    if isinstance(exc, RecursionError):
        return "is JSON nested too deeply to read"
    return f"could not be read ({type(exc).__name__})"


def invalid_body(
    body: bytes, status_code: int, reason: str, redact: Callable[[str], str], source: str
) -> ResponseValidationError:
    """The error for a 2xx body that cannot be read, quoting its (redacted) start."""
    text = redact(body.decode("utf-8", errors="replace"))
    quoted = f"it began: {excerpt(text)}" if text.strip() else "the body was empty"
    # The source names a header (Content-Type) and the reason field names: both are the
    # service's words, which may echo a credential.
    message = redact(f"{source} answered {status_code} with a body that {reason}")
    return ResponseValidationError(f"{message}; {quoted}", status_code=status_code, body=text)
