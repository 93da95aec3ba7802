"""Cover art served by the sandbox itself: small SVGs, so covers load with no network.

A generated playlist or album carries one image whose URL the catalog stores as a path,
``/images/<id>.svg``; a response gives it as an absolute URL on the sandbox, from the
``Host`` the client used (`absolute_images`), so the catalog stays the same on every port.
The SVG shows the title's initials on a colour drawn from the id: deterministic from the
seed, as the catalog is. Like a public image host, it needs no credentials, and it is
never faulted, delayed nor redirected. The documented example nodes keep their original
image URLs.
"""

from __future__ import annotations

import colorsys
import hashlib
import re
from typing import TYPE_CHECKING, Final
from xml.sax.saxutils import escape, quoteattr

from ._catalog import IMAGE_PREFIX, IMAGE_SUFFIX, Catalog
from ._http import ApiError, Node, Response, segments

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

__all__ = ["SVG_TYPE", "Covers", "absolute_images", "cover_svg"]

SVG_TYPE: Final = "image/svg+xml"
_HEADERS: Final = (
    ("Cache-Control", "public, max-age=86400"),
    ("X-Content-Type-Options", "nosniff"),
    ("Access-Control-Allow-Origin", "*"),
)
# Characters XML 1.0 cannot hold at all, even escaped.
_NOT_XML: Final = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class Covers:
    """Answers ``GET /images/<id>.svg`` for every node of the catalog with a local cover."""

    prefix: Final = IMAGE_PREFIX

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    def handle(self, environ: WSGIEnvironment, path: str) -> Response:
        """The SVG of the image at ``path``.

        Raises:
            ApiError: 404 for an image the catalog does not have, 405 for a method but GET.
        """
        parts = segments(environ)
        name = parts[2] if len(parts) == 3 else ""
        node = None
        if name.endswith(IMAGE_SUFFIX):
            node = self._catalog.image_node(name.removesuffix(IMAGE_SUFFIX))
        if node is None:
            raise ApiError(404, "RESOURCE_NOT_FOUND", f"No image at {path}.")
        if environ.get("REQUEST_METHOD", "GET") != "GET":
            raise ApiError(405, "METHOD_NOT_ALLOWED", "Use GET.", (("Allow", "GET"),))
        image = node["images"][0]
        svg = cover_svg(node["id"], node.get("title") or "", image["width"], image["height"])
        return Response(200, svg, _HEADERS, SVG_TYPE)


def cover_svg(node_id: str, title: str, width: int, height: int) -> bytes:
    """An SVG of ``width`` x ``height``: the title's initials on a colour drawn from the id."""
    digest = hashlib.sha256(node_id.encode()).digest()
    hue = int.from_bytes(digest[:2], "big") / 65536
    background = _hex(colorsys.hls_to_rgb(hue, 0.42, 0.55))
    accent = _hex(colorsys.hls_to_rgb((hue + 0.08) % 1, 0.55, 0.6))
    words = re.findall(r"[^\W_]+", title)
    initials = "".join(word[0] for word in words[:2]).upper() or "?"
    label = _NOT_XML.sub("", title)
    side = min(width, height)
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label={quoteattr(label)}>'
        f"<title>{escape(label)}</title>"
        f'<rect width="{width}" height="{height}" fill="{background}"/>'
        f'<circle cx="{width / 2:g}" cy="{height / 2:g}" r="{side * 0.36:g}" fill="{accent}"/>'
        f'<text x="{width / 2:g}" y="{height / 2:g}" dy="0.35em" text-anchor="middle" '
        f'font-family="Helvetica, Arial, sans-serif" font-weight="bold" '
        f'font-size="{side * 0.3:g}" fill="#ffffff">{escape(_NOT_XML.sub("", initials))}</text>'
        "</svg>"
    )
    return svg.encode()


def absolute_images(node: Node, base_url: str) -> Node:
    """``node``, with each image URL that is a path on the sandbox made absolute."""
    images = node.get("images")
    if not images or not any(image["url"].startswith("/") for image in images):
        return node
    absolute = [
        {**image, "url": base_url + image["url"]} if image["url"].startswith("/") else image
        for image in images
    ]
    return {**node, "images": absolute}


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(channel * 255):02x}" for channel in rgb)
