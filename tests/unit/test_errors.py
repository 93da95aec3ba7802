"""Error answers become the right exception, with the error object's fields, pickling safely."""

from __future__ import annotations

import json
import pickle
import re
from http import HTTPStatus
from typing import Any

import pytest
import requests
import responses

import amazon_music_browse
from amazon_music_browse import (
    AmazonMusicError,
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BrowseClient,
    ClientClosedError,
    ConfigurationError,
    InternalServerError,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    UnprocessableEntityError,
)
from tests._support import ACCESS_TOKEN, API_KEY

ANY_URL = re.compile(r".*")
MAX_KEPT_BODY = 64 * 1024

DOCS_ERROR = {
    "error": {
        "status": "403",
        "code": "AUTH_NO_MUSIC_ACCOUNT_FOUND",
        "message": "No Amazon Music account was found for this customer.",
        "url": "https://music.amazon.com",
        "reference": "ebd91b-8f2e-4c1a",
        "payload": {"internalCode": "INTERNAL_ERROR_CODE"},
    }
}


# -- helpers ------------------------------------------------------------------------------


def error_body(status: int | str, code: str, message: str, **extra: Any) -> str:
    return json.dumps({"error": {"status": status, "code": code, "message": message, **extra}})


def raise_from(
    mock: responses.RequestsMock,
    status: int,
    body: str | bytes = "",
    headers: dict[str, str] | None = None,
    client: BrowseClient | None = None,
) -> APIError:
    """The ``APIError`` one ``get_category`` call raises when answered with ``status``."""
    mock.add(responses.GET, ANY_URL, status=status, body=body, headers=headers)
    client = client or BrowseClient(API_KEY, ACCESS_TOKEN, max_retries=0)
    with pytest.raises(APIError) as info:
        client.get_category("2iB4IU25")
    assert len(mock.calls) == 1
    return info.value


def roundtrip(error: BaseException) -> Any:
    return pickle.loads(pickle.dumps(error))


# -- status -> class ---------------------------------------------------------------------

STATUS_CLASSES = [
    (400, BadRequestError),
    (401, AuthenticationError),
    (403, PermissionDeniedError),
    (404, NotFoundError),
    (422, UnprocessableEntityError),
    (429, RateLimitError),
    (500, InternalServerError),
    (502, InternalServerError),
    (503, InternalServerError),
    (504, InternalServerError),
    (501, InternalServerError),
    (505, InternalServerError),
    (599, InternalServerError),
    (402, APIError),
    (405, APIError),
    (409, APIError),
    (410, APIError),
    (418, APIError),
    (451, APIError),
    (300, APIError),
    (308, APIError),  # a redirect status without a Location is a final answer
]


@pytest.mark.parametrize(("status", "cls"), STATUS_CLASSES)
def test_status_maps_to_class(
    mock: responses.RequestsMock, status: int, cls: type[APIError]
) -> None:
    error = raise_from(mock, status, error_body(status, "SOME_CODE", "went wrong"))
    assert type(error) is cls
    assert error.status_code == status
    assert error.code == "SOME_CODE"
    assert error.message == "went wrong"
    assert str(error) == f"{status} SOME_CODE: went wrong"


@pytest.mark.parametrize(("status", "cls"), [*STATUS_CLASSES, (304, APIError)])
def test_status_maps_to_class_with_an_empty_body(
    mock: responses.RequestsMock, status: int, cls: type[APIError]
) -> None:
    error = raise_from(mock, status)
    assert type(error) is cls
    assert (error.code, error.message, error.body) == (None, None, "")
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "("
    assert str(error).startswith(f"{status} {phrase}")
    assert str(error).endswith(" (the response had no error details)")


# -- the error object's fields ---------------------------------------------------------------


@pytest.mark.parametrize("status_field", ["403", 403])
def test_error_object_fills_every_attribute(
    mock: responses.RequestsMock, status_field: str | int
) -> None:
    document = json.loads(json.dumps(DOCS_ERROR))
    document["error"]["status"] = status_field
    body = json.dumps(document)
    error = raise_from(mock, 403, body, headers={"x-amzn-RequestId": "req-7c1e"})

    assert type(error) is PermissionDeniedError
    assert error.status_code == 403
    assert error.code == "AUTH_NO_MUSIC_ACCOUNT_FOUND"
    assert error.message == "No Amazon Music account was found for this customer."
    assert error.url == "https://music.amazon.com"
    assert error.reference == "ebd91b-8f2e-4c1a"
    assert error.payload == {"internalCode": "INTERNAL_ERROR_CODE"}
    assert error.request_id == "req-7c1e"
    assert error.retry_after is None
    assert error.body == body
    assert isinstance(error.response, requests.Response)
    assert error.response.status_code == 403
    assert str(error) == (
        "403 AUTH_NO_MUSIC_ACCOUNT_FOUND: No Amazon Music account was found for this "
        "customer. (reference ebd91b-8f2e-4c1a)"
    )


def test_str_reads_like_the_contract(mock: responses.RequestsMock) -> None:
    body = error_body(404, "RESOURCE_NOT_FOUND", "Category not found", reference="ref-42")
    error = raise_from(mock, 404, body)
    assert str(error) == "404 RESOURCE_NOT_FOUND: Category not found (reference ref-42)"


def test_optional_fields_are_none_when_not_sent(mock: responses.RequestsMock) -> None:
    error = raise_from(mock, 400, error_body("400", "BAD_REQUEST", "limit is bad"))
    assert (error.url, error.reference, error.payload, error.request_id) == (
        None,
        None,
        None,
        None,
    )
    assert str(error) == "400 BAD_REQUEST: limit is bad"


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_header_is_read(mock: responses.RequestsMock, status: int) -> None:
    body = error_body(status, "THROTTLED", "slow down")
    error = raise_from(mock, status, body, headers={"Retry-After": "7"})
    assert error.retry_after == 7.0
    assert str(error).startswith(f"{status} THROTTLED: slow down")


def test_retry_after_is_none_when_unparseable(mock: responses.RequestsMock) -> None:
    error = raise_from(mock, 429, "", headers={"Retry-After": "soon"})
    assert type(error) is RateLimitError
    assert error.retry_after is None


def test_payload_keeps_any_json(mock: responses.RequestsMock) -> None:
    payload = {"internalCode": "X", "details": [1, 2, {"a": None}], "ok": False}
    error = raise_from(mock, 500, error_body(500, "DEPENDENCY", "downstream", payload=payload))
    assert error.payload == payload
    assert error.code == "DEPENDENCY"


def test_error_object_without_a_message_quotes_the_body(mock: responses.RequestsMock) -> None:
    body = json.dumps({"error": {"status": "404", "code": "RESOURCE_NOT_FOUND"}})
    error = raise_from(mock, 404, body)
    assert error.code == "RESOURCE_NOT_FOUND"
    assert error.message == body
    assert str(error) == f"404 RESOURCE_NOT_FOUND: {body}"


# -- bodies that are not the error object ------------------------------------------------------

HTML = (
    "<!DOCTYPE html>\n<html>\n<head><title>502 Bad Gateway</title></head>\n"
    "<body>\n<center><h1>502 Bad Gateway</h1></center>\n<hr><center>awselb/2.0</center>\n"
    "</body>\n</html>\n"
)


def test_html_error_page_from_a_proxy(mock: responses.RequestsMock) -> None:
    error = raise_from(mock, 502, HTML, headers={"Content-Type": "text/html"})
    assert type(error) is InternalServerError
    assert error.code is None
    assert error.reference is None
    assert error.body == HTML
    normalised = " ".join(HTML.split())
    assert error.message == normalised
    assert str(error) == f"502: {normalised}"
    assert "\n" not in str(error)


@pytest.mark.parametrize("status", [403, 502])
def test_long_non_json_body_is_quoted_at_most_500_characters(
    mock: responses.RequestsMock, status: int
) -> None:
    body = "<html><body>" + "".join(f"<p>line {n}</p>\n" for n in range(1000)) + "</body></html>"
    error = raise_from(mock, status, body)
    normalised = " ".join(body.split())
    assert error.message == normalised[:500] + "…"
    assert str(error) == f"{status}: {normalised[:500]}…"
    assert len(str(error)) <= len(f"{status}: ") + 501
    assert error.body == body


def test_long_error_message_is_quoted_at_most_500_characters(
    mock: responses.RequestsMock,
) -> None:
    message = "x" * 2000
    error = raise_from(mock, 500, error_body(500, "INTERNAL", message))
    assert error.message == message
    assert str(error) == "500 INTERNAL: " + "x" * 500 + "…"


def test_login_with_amazon_style_error_body(mock: responses.RequestsMock) -> None:
    body = json.dumps(
        {"error": "invalid_grant", "error_description": "The request has an invalid grant."}
    )
    error = raise_from(mock, 401, body)
    assert type(error) is AuthenticationError
    assert error.code == "invalid_grant"
    assert error.message == "The request has an invalid grant."
    assert str(error) == "401 invalid_grant: The request has an invalid grant."


@pytest.mark.parametrize(
    "body",
    [
        "[]",
        "null",
        '"RESOURCE_NOT_FOUND"',
        '{"message": "Forbidden"}',
        '{"error": null}',
        '{"error": 5}',
        '{"error": {"code": "X"',
    ],
)
def test_other_bodies_give_the_class_of_the_status(mock: responses.RequestsMock, body: str) -> None:
    error = raise_from(mock, 404, body)
    assert type(error) is NotFoundError
    assert error.code is None
    assert error.message == body
    assert error.body == body


def test_invalid_utf8_error_body(mock: responses.RequestsMock) -> None:
    error = raise_from(mock, 500, b"\xff\xfe gateway \xfa")
    assert type(error) is InternalServerError
    assert error.code is None
    assert error.body == "\ufffd\ufffd gateway \ufffd"


@pytest.mark.parametrize("json_body", [False, True])
def test_body_kept_on_the_exception_is_cut_to_64_kib(
    mock: responses.RequestsMock, json_body: bool
) -> None:
    body = error_body(500, "INTERNAL", "y" * 300_000) if json_body else "z" * 300_000
    error = raise_from(mock, 500, body)
    assert len(error.body) == MAX_KEPT_BODY
    assert error.body == body[:MAX_KEPT_BODY]


# -- pickling ---------------------------------------------------------------------------------


def test_api_error_from_the_client_pickles_without_its_response(
    mock: responses.RequestsMock,
) -> None:
    error = raise_from(mock, 403, json.dumps(DOCS_ERROR), headers={"x-amzn-RequestId": "r-1"})
    assert error.response is not None
    data = pickle.dumps(error)
    assert API_KEY.encode() not in data
    assert ACCESS_TOKEN.encode() not in data
    copy = pickle.loads(data)
    assert type(copy) is PermissionDeniedError
    assert copy.response is None
    assert error.response is not None  # the original keeps it
    for name in ("status_code", "code", "message", "reference", "url", "payload", "body"):
        assert getattr(copy, name) == getattr(error, name)
    assert copy.request_id == "r-1"
    assert str(copy) == str(error)
    assert copy.args == error.args


ALL_API_ERROR_CLASSES = [
    APIError,
    BadRequestError,
    AuthenticationError,
    PermissionDeniedError,
    NotFoundError,
    UnprocessableEntityError,
    RateLimitError,
    InternalServerError,
]


@pytest.mark.parametrize("cls", ALL_API_ERROR_CLASSES)
def test_api_errors_with_every_field_pickle(cls: type[APIError]) -> None:
    response = requests.Response()
    response.status_code = 429
    error = cls(
        "the message",
        status_code=429,
        code="THROTTLED",
        reference="ref-1",
        url="https://music.amazon.com",
        payload={"internalCode": "X", "n": [1, 2]},
        request_id="req-1",
        retry_after=2.5,
        body='{"error": {}}',
        response=response,
    )
    copy = roundtrip(error)
    assert type(copy) is cls
    assert copy.__dict__ == {**error.__dict__, "response": None}
    assert (
        str(copy)
        == str(error)
        == "429 THROTTLED: the message (reference ref-1) [retry after 2.5 s]"
    )


@pytest.mark.parametrize("cls", [APIConnectionError, APITimeoutError])
def test_connection_errors_pickle_without_their_request(cls: type[APIConnectionError]) -> None:
    request = requests.Request(
        "GET",
        "https://api.music.amazon.dev/v1/browse/tracks/top",
        headers={"x-api-key": API_KEY, "Authorization": f"Bearer {ACCESS_TOKEN}"},
    ).prepare()
    error = cls("GET https://api.music.amazon.dev/v1/browse/tracks/top failed", request=request)
    data = pickle.dumps(error)
    assert API_KEY.encode() not in data
    assert ACCESS_TOKEN.encode() not in data
    copy = pickle.loads(data)
    assert type(copy) is cls
    assert copy.request is None
    assert error.request is request
    assert str(copy) == str(error)


def test_connection_error_without_request_pickles() -> None:
    copy = roundtrip(APIConnectionError("no route"))
    assert (type(copy), copy.request, str(copy)) == (APIConnectionError, None, "no route")


def test_response_validation_error_pickles() -> None:
    error = ResponseValidationError("200 answer is not JSON", status_code=200, body="<html>")
    copy = roundtrip(error)
    assert type(copy) is ResponseValidationError
    assert (copy.status_code, copy.body, str(copy)) == (200, "<html>", "200 answer is not JSON")


@pytest.mark.parametrize("cls", [ConfigurationError, PaginationError, AmazonMusicError])
def test_simple_errors_pickle(cls: type[AmazonMusicError]) -> None:
    copy = roundtrip(cls("something is wrong"))
    assert type(copy) is cls
    assert str(copy) == "something is wrong"
    assert copy.args == ("something is wrong",)


# -- the hierarchy --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "bases"),
    [
        (AmazonMusicError, (Exception,)),
        (ConfigurationError, (AmazonMusicError, ValueError)),
        (APIConnectionError, (AmazonMusicError,)),
        (APITimeoutError, (APIConnectionError,)),
        (ResponseValidationError, (AmazonMusicError,)),
        (PaginationError, (AmazonMusicError,)),
        (ClientClosedError, (AmazonMusicError, RuntimeError)),
        (APIError, (AmazonMusicError,)),
        (BadRequestError, (APIError,)),
        (AuthenticationError, (APIError,)),
        (PermissionDeniedError, (APIError,)),
        (NotFoundError, (APIError,)),
        (UnprocessableEntityError, (APIError,)),
        (RateLimitError, (APIError,)),
        (InternalServerError, (APIError,)),
    ],
)
def test_hierarchy_as_drawn_in_the_contract(
    cls: type[Exception], bases: tuple[type[Exception], ...]
) -> None:
    assert cls.__bases__ == bases
    assert getattr(amazon_music_browse, cls.__name__) is cls
    assert cls.__name__ in amazon_music_browse.__all__


def test_every_exported_exception_is_in_the_tree() -> None:
    exported = {
        name
        for name in amazon_music_browse.__all__
        if isinstance(getattr(amazon_music_browse, name), type)
        and issubclass(getattr(amazon_music_browse, name), BaseException)
    }
    assert len(exported) == 15
    assert all(issubclass(getattr(amazon_music_browse, n), AmazonMusicError) for n in exported)


def test_configuration_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="no API key"):
        BrowseClient(access_token=ACCESS_TOKEN)
    assert issubclass(ConfigurationError, ValueError)
    assert not issubclass(APIError, ValueError)


# -- credentials echoed by the service ----------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        error_body("401", "INVALID_ACCESS_TOKEN", f"token {ACCESS_TOKEN} expired; key {API_KEY}"),
        f"<html><body>Bad key {API_KEY} with Bearer {ACCESS_TOKEN}</body></html>",
        json.dumps({"error": "invalid_token", "error_description": f"{ACCESS_TOKEN}/{API_KEY}"}),
    ],
)
def test_echoed_credentials_are_redacted(mock: responses.RequestsMock, body: str) -> None:
    error = raise_from(mock, 401, body)
    for text in (error.body, error.message or "", str(error), repr(error)):
        assert API_KEY not in text
        assert ACCESS_TOKEN not in text
    assert "[REDACTED]" in error.body
    assert "[REDACTED]" in (error.message or "")
    assert "[REDACTED]" in str(error)
    data = pickle.dumps(error)
    assert API_KEY.encode() not in data
    assert ACCESS_TOKEN.encode() not in data


def test_echoed_token_from_a_token_callable_is_redacted(mock: responses.RequestsMock) -> None:
    def token() -> str:
        return "Atza|from-a-callable-77"

    client = BrowseClient(API_KEY, token, max_retries=0)
    body = error_body("403", "ACCESS_DENIED", "denied for Atza|from-a-callable-77")
    error = raise_from(mock, 403, body, client=client)
    assert "from-a-callable-77" not in error.body + (error.message or "") + str(error)
    assert error.message == "denied for [REDACTED]"


def test_credentials_echoed_in_a_2xx_body_are_redacted(mock: responses.RequestsMock) -> None:
    body = f"<html>welcome, key {API_KEY} token {ACCESS_TOKEN}</html>"
    mock.add(responses.GET, ANY_URL, status=200, body=body)
    client = BrowseClient(API_KEY, ACCESS_TOKEN, max_retries=0)
    with pytest.raises(ResponseValidationError) as info:
        client.get_top_tracks()
    error = info.value
    for text in (error.body, str(error)):
        assert API_KEY not in text
        assert ACCESS_TOKEN not in text
