"""Reading multipart bodies exactly as the clients write them."""

from __future__ import annotations

import httpx
import pytest

from rookdb.errors import BadRequestError
from rookdb.server.multipart import boundary_of, parse_multipart


def encoded(files: dict[str, tuple[str | None, bytes | str, str | None]]) -> tuple[bytes, str]:
    request = httpx.Request("POST", "http://x/", files=files)
    return request.read(), request.headers["content-type"]


def test_parts_keep_their_order_headers_and_bytes() -> None:
    binary = bytes(range(256)) + b"\r\n--not-a-boundary\r\n"
    body, content_type = encoded({"main": (None, '{"Commands": []}', None), "photo": ("photo", binary, "image/png")})
    boundary = boundary_of(content_type)
    assert boundary is not None
    main, photo = parse_multipart(body, boundary)
    assert (main.name, main.content) == ("main", b'{"Commands": []}')
    assert (photo.name, photo.filename, photo.content_type, photo.content) == ("photo", "photo", "image/png", binary)


def test_other_bodies_are_not_multipart() -> None:
    assert boundary_of("application/json") is None and boundary_of(None) is None
    with pytest.raises(BadRequestError, match="needs a boundary"):
        boundary_of("multipart/form-data")


@pytest.mark.parametrize("body", [b"--b\r\nno end", b"garbage", b"--b\r\nContent-Disposition: x\r\n\r\nabc--b--"])
def test_malformed_bodies_are_refused(body: bytes) -> None:
    with pytest.raises(BadRequestError):
        parse_multipart(body, "b")
