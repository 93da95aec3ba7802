"""Covers the sandbox serves itself: ``/images/<id>.svg``, with no credentials."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from amazon_music_browse.endpoints import ENDPOINTS
from amazon_music_browse.sandbox import SandboxServer
from amazon_music_browse.sandbox._images import absolute_images, cover_svg

from ._support import AUTH, call, make_app

SVG = "{http://www.w3.org/2000/svg}"
DOCUMENTED_HOST = "https://m.media-amazon.com/images/I/"


def first_pages(sandbox: SandboxServer) -> dict[str, list[dict[str, Any]]]:
    """The nodes of the first page of every collection (of two categories), over HTTP."""
    pages: dict[str, list[dict[str, Any]]] = {}
    with requests.Session() as session:
        for endpoint in ENDPOINTS:
            if not endpoint.is_collection:
                continue
            for category_id in ("hZiJ3FwS", "2iB4IU25") if endpoint.path_params else (None,):
                path = endpoint.format_path(**({"category_id": category_id} if category_id else {}))
                node: Any = session.get(sandbox.url + path, headers=AUTH, timeout=10).json()
                for key in endpoint.key_path:
                    node = node[key]
                pages[path] = [edge["node"] for edge in node["edges"]]
    return pages


def image_urls(nodes: list[dict[str, Any]]) -> list[str]:
    return [image["url"] for node in nodes for image in node.get("images", [])]


def test_every_image_of_every_first_page_loads_from_the_sandbox_without_credentials(
    amazon_music_sandbox: SandboxServer,
) -> None:
    pages = first_pages(amazon_music_sandbox)
    assert len(pages) == 4 + 3 * 2
    checked = 0
    with requests.Session() as session:
        for nodes in pages.values():
            for url in image_urls(nodes):
                if url.startswith(DOCUMENTED_HOST):
                    continue
                assert url.startswith(f"{amazon_music_sandbox.url}/images/")
                image = session.get(url, timeout=10)  # no credentials
                assert image.status_code == 200, url
                assert image.headers["Content-Type"] == "image/svg+xml"
                assert ElementTree.fromstring(image.content).tag == f"{SVG}svg"
                checked += 1
    # Top playlists, and each category's albums and playlists, have a cover on every item
    # but the documented ones (two top playlists, two of Rock's playlists).
    assert checked == 98 + 2 * 100 + 98 + 100
    assert amazon_music_sandbox.request_count == len(pages)  # covers are not API requests


@pytest.mark.amazon_music_sandbox(rate_limit_rate=0.5, drop_rate=0.5, latency=5.0)
def test_covers_are_never_faulted_nor_delayed(amazon_music_sandbox: SandboxServer) -> None:
    page = call(make_app(), "/v1/browse/playlists/top", {"limit": 3}).collection()
    path = urlsplit(page["edges"][2]["node"]["images"][0]["url"]).path
    with requests.Session() as session:
        for _ in range(20):
            assert session.get(amazon_music_sandbox.url + path, timeout=2).status_code == 200
    assert amazon_music_sandbox.request_count == 0
    assert sum(amazon_music_sandbox.faults.values()) == 0


def test_documented_nodes_keep_their_original_image_urls() -> None:
    app = make_app()
    top = call(app, "/v1/browse/playlists/top", {"limit": 3}).collection()["edges"]
    assert image_urls([edge["node"] for edge in top[:2]]) == [
        f"{DOCUMENTED_HOST}71JmZ24jF4L.jpg",
        f"{DOCUMENTED_HOST}51p-JxIHgtL.jpg",
    ]
    [generated] = image_urls([top[2]["node"]])
    assert generated == f"http://127.0.0.1/images/{top[2]['node']['id']}.svg"  # the Host sent


def test_image_urls_follow_the_host_the_client_used() -> None:
    app = make_app()
    for host, base in [
        ("127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("[::1]:9000", "http://[::1]:9000"),
        ("localhost", "http://localhost"),
        ("evil.example/x?<", "http://127.0.0.1:80"),  # not a host: the server's own name
    ]:
        answer = call(
            app,
            "/v1/browse/playlists/top",
            {"limit": 3},
            environ_overrides={"HTTP_HOST": host, "SERVER_NAME": "127.0.0.1"},
        )
        url = answer.collection()["edges"][2]["node"]["images"][0]["url"]
        assert url.startswith(f"{base}/images/B0"), host


@pytest.mark.parametrize(
    "path",
    [
        "/images/B0785GTW4T.svg",  # a documented track
        "/images/B00J9PVXBM.svg",  # a documented playlist: its cover is not local
        "/images/nope.svg",
        "/images/.svg",
        "/images/",
        "/images/B0R3LA6IPK",
        "/images/B0R3LA6IPK.png",
        "/images/x/B0R3LA6IPK.svg",
    ],
)
def test_unknown_images_are_404(path: str) -> None:
    answer = call(make_app(), path, headers={})
    assert answer.status == 404
    assert answer.body["error"]["code"] == "RESOURCE_NOT_FOUND"


def test_a_cover_is_answered_to_get_only() -> None:
    answer = call(make_app(), "/images/B0R3LA6IPK.svg", method="POST", headers={})
    assert (answer.status, answer.headers["allow"]) == (405, "GET")


def test_covers_are_deterministic_from_the_seed() -> None:
    def cover(seed: int) -> tuple[str, str]:
        page = call(make_app(seed=seed), "/v1/browse/playlists/top", {"limit": 3}).collection()
        node = page["edges"][2]["node"]
        return node["id"], node["title"]

    node_id, title = cover(0)
    with SandboxServer() as first, SandboxServer() as second:
        texts = [
            requests.get(f"{s.url}/images/{node_id}.svg", timeout=10).text for s in (first, second)
        ]
    assert texts[0] == texts[1]
    assert ElementTree.fromstring(texts[0]).find(f"{SVG}title").text == title  # type: ignore[union-attr]
    assert cover(1)[0] != node_id


def test_a_cover_shows_the_initials_on_a_colour_from_the_id() -> None:
    one = ElementTree.fromstring(cover_svg("B0AAAAAAAA", "neon paradise", 500, 500))
    other = ElementTree.fromstring(cover_svg("B0BBBBBBBB", "neon paradise", 500, 500))
    assert one.find(f"{SVG}text").text == "NP"  # type: ignore[union-attr]
    assert one.get("width") == "500"
    colours = [root.find(f"{SVG}rect").get("fill") for root in (one, other)]  # type: ignore[union-attr]
    assert colours[0] != colours[1]
    assert all(re.fullmatch(r"#[0-9a-f]{6}", colour or "") for colour in colours)


@pytest.mark.parametrize(
    "title",
    [
        "R&B <Hits> \"live\" 'n' more",
        "</title><script>alert(1)</script>",
        "]]> & &amp; \x00\x07\ufffe control",
        "",
        "ñandú çedilla",
        "!!! ???",
    ],
)
def test_titles_are_escaped_so_every_cover_is_well_formed_xml(title: str) -> None:
    root = ElementTree.fromstring(cover_svg("B0CCCCCCCC", title, 2560, 1280))
    shown = root.find(f"{SVG}title").text or ""  # type: ignore[union-attr]
    assert shown == re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "", title)
    assert root.get("aria-label") == shown
    assert root.find(f"{SVG}script") is None
    initials = root.find(f"{SVG}text").text  # type: ignore[union-attr]
    assert initials
    assert len(initials) <= 2


def test_absolute_images_changes_only_local_paths() -> None:
    node = {"id": "x", "images": [{"url": "/images/x.svg"}, {"url": "https://a/b.jpg"}]}
    assert absolute_images(node, "http://h:1")["images"] == [
        {"url": "http://h:1/images/x.svg"},
        {"url": "https://a/b.jpg"},
    ]
    assert node["images"][0]["url"] == "/images/x.svg"  # the catalog's node is not changed
    plain = {"id": "y"}
    assert absolute_images(plain, "http://h:1") is plain
