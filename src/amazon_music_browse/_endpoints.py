"""The Browse endpoints as one declarative table.

Each entry says where an endpoint lives (path template), where its payload sits in the
answer (key path), what its items are (model) and which ``limit`` it takes (bounds). The
client's methods are thin typed wrappers over these entries: a path the real service
spells differently is a one-line change here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from ._errors import ResponseValidationError, excerpt
from ._models import Album, Category, Episode, Playlist, ResponseCollection, Track

ModelT = TypeVar("ModelT", bound=BaseModel)


class _Wrapper(BaseModel):
    """An object of the answer that only leads to the payload.

    ``cache_strings="keys"``: pydantic-core would otherwise keep up to 16,384 of the
    values it parsed (ids, titles, URLs) in a process-wide cache, about 1.2 MiB that no
    later page reuses.
    """

    model_config = ConfigDict(extra="ignore", defer_build=True, cache_strings="keys")


class _OwnerWrapper(BaseModel):
    """A category object around a collection: its own fields are kept as extras."""

    model_config = ConfigDict(extra="allow", defer_build=True, cache_strings="keys")


@dataclass(frozen=True)
class Endpoint(Generic[ModelT]):
    """One Browse endpoint.

    Attributes:
        name: the client method that calls it.
        path: the path template below ``base_url``; ``{category_id}`` is filled encoded.
        key_path: the keys that lead from the top of the answer to the payload.
        model: the item model of a collection, or the model of a single object.
        limits: ``(min, max)`` of ``limit`` for a collection; ``None`` for one object.
        owner_key: the key (in ``key_path``) of a category object that wraps the
            collection; it is handed to the caller as ``page.category``.
    """

    name: str
    path: str
    key_path: tuple[str, ...]
    model: type[ModelT]
    limits: tuple[int, int] | None = None
    owner_key: str | None = None

    def __post_init__(self) -> None:
        if len(self.key_path) < 2 or self.key_path[0] != "data":
            raise ValueError(f"{self.name}: a key path starts with 'data' and names the payload")

    @property
    def max_limit(self) -> int | None:
        """The largest page this endpoint serves, or ``None`` for a single object."""
        return self.limits[1] if self.limits else None

    @cached_property
    def _answer_model(self) -> type[BaseModel]:
        """The model of the whole answer, built on first use, so one parse does it all.

        The outer ``data`` wrapper is optional (the Get Category example has none).
        """
        payload: Any = ResponseCollection[self.model] if self.limits else self.model  # type: ignore[name-defined]
        inner: Any = payload
        for depth in range(len(self.key_path) - 1, 0, -1):
            container = self.key_path[depth - 1]
            base: type[BaseModel] = _OwnerWrapper if container == self.owner_key else _Wrapper
            fields: dict[str, Any] = {self.key_path[depth]: (inner, ...)}
            inner = create_model(f"_{self.name}_{container}", __base__=base, **fields)
        bare_key = self.key_path[1]
        bare: Any = inner.model_fields[bare_key].annotation
        top: dict[str, Any] = {"data": (inner | None, None), bare_key: (bare | None, None)}
        return create_model(f"_{self.name}_answer", __base__=_Wrapper, **top)

    def parse(
        self,
        body: bytes,
        status_code: int,
        redact: Callable[[str], str] = str,
        *,
        source: str = "the answer",
    ) -> Any:
        """Parse an answer body into the payload model, in one pass over the bytes.

        ``redact`` removes credentials from the body's text before an error quotes it;
        ``source`` names the request and content type in an error's message.

        Raises:
            ResponseValidationError: the body is not JSON, or not the documented shape.
        """
        try:
            answer = self._answer_model.model_validate_json(body)
        except (ValidationError, ValueError, RecursionError) as exc:
            raise _invalid(body, status_code, _describe(exc), redact, source) from None
        # The Get Category example has no data wrapper: accept the bare form too.
        node: Any = getattr(answer, "data", None) or answer
        keys = self.key_path[1:]
        owner: Any = None
        for key in keys:
            node = getattr(node, key, None)
            if node is None:
                raise _invalid(
                    body,
                    status_code,
                    f"has no {'.'.join(self.key_path)!r}",
                    redact,
                    source,
                )
            if key == self.owner_key:
                owner = node
        if owner is not None and owner.model_extra and "id" in owner.model_extra:
            try:
                node.category = Category.model_validate(owner.model_extra)
            except ValidationError as exc:
                raise _invalid(body, status_code, _describe(exc), redact, source) from None
        return node


def _describe(exc: Exception) -> str:
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


def _invalid(
    body: bytes, status_code: int, reason: str, redact: Callable[[str], str], source: str
) -> ResponseValidationError:
    text = redact(body.decode("utf-8", errors="replace"))
    quoted = f"it began: {excerpt(text)}" if text.strip() else "the body was empty"
    return ResponseValidationError(
        f"{source} answered {status_code} with a body that {reason}; {quoted}",
        status_code=status_code,
        body=text,
    )


_CATEGORY = "/v1/browse/categories/{category_id}"

TOP_TRACKS = Endpoint(
    "get_top_tracks", "/v1/browse/tracks/top", ("data", "topTracks"), Track, (1, 20)
)
TOP_PLAYLISTS = Endpoint(
    "get_top_playlists", "/v1/browse/playlists/top", ("data", "topPlaylists"), Playlist, (1, 100)
)
NEW_PODCAST_EPISODES = Endpoint(
    "get_new_podcast_episodes",
    "/v1/browse/podcasts/episodes/new",
    ("data", "newPodcastEpisodes"),
    Episode,
    (1, 100),
)
CATEGORIES = Endpoint(
    "get_categories", "/v1/browse/categories", ("data", "browseCategories"), Category, (1, 100)
)
CATEGORY = Endpoint("get_category", _CATEGORY, ("data", "category"), Category)


def _category_collection(key: str, model: type[ModelT]) -> Endpoint[ModelT]:
    """A category's collection: answered inside the category object, beside its own fields."""
    return Endpoint(
        f"get_category_{key}",
        f"{_CATEGORY}/{key}",
        ("data", "category", key),
        model,
        (1, 100),
        owner_key="category",
    )


CATEGORY_ALBUMS = _category_collection("albums", Album)
CATEGORY_PLAYLISTS = _category_collection("playlists", Playlist)
CATEGORY_TRACKS = _category_collection("tracks", Track)

ENDPOINTS: tuple[Endpoint[Any], ...] = (
    TOP_TRACKS,
    TOP_PLAYLISTS,
    NEW_PODCAST_EPISODES,
    CATEGORIES,
    CATEGORY,
    CATEGORY_ALBUMS,
    CATEGORY_PLAYLISTS,
    CATEGORY_TRACKS,
)
"""Every Browse endpoint, in the order of the Browse page."""
