"""Reading ``multipart/form-data`` bodies: how the clients send attachment contents (with a session's
batch, and with ``PutAttachmentOperation``).

Parts are returned in order with their headers; nothing is decoded, so binary content stays exact.
"""

from __future__ import annotations

from dataclasses import dataclass

from rookdb.errors import BadRequestError

__all__ = ["Part", "boundary_of", "parse_multipart"]


@dataclass(frozen=True)
class Part:
    name: str | None
    filename: str | None
    headers: dict[str, str]
    content: bytes

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")


def _parameters(value: str) -> tuple[str, dict[str, str]]:
    head, *rest = value.split(";")
    parameters: dict[str, str] = {}
    for item in rest:
        key, _, raw = item.strip().partition("=")
        raw = raw.strip()
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            raw = raw[1:-1].replace('\\"', '"')
        parameters[key.strip().lower()] = raw
    return head.strip().lower(), parameters


def boundary_of(content_type: str | None) -> str | None:
    """The boundary of a ``multipart/*`` Content-Type, or None for any other body."""
    if not content_type:
        return None
    kind, parameters = _parameters(content_type)
    if not kind.startswith("multipart/"):
        return None
    boundary = parameters.get("boundary")
    if not boundary:
        raise BadRequestError("A multipart body needs a boundary in its Content-Type.")
    return boundary


def parse_multipart(body: bytes, boundary: str) -> list[Part]:
    delimiter = b"--" + boundary.encode("latin-1")
    pieces = body.split(delimiter)
    if len(pieces) < 3 or not pieces[-1].startswith(b"--"):
        raise BadRequestError("The multipart body is not complete: its closing boundary is missing.")
    parts: list[Part] = []
    for piece in pieces[1:-1]:
        if not piece.startswith(b"\r\n"):
            raise BadRequestError("The multipart body is malformed: a boundary is not followed by a line break.")
        raw_headers, separator, content = piece[2:].partition(b"\r\n\r\n")
        if not separator:
            raise BadRequestError("The multipart body is malformed: a part has no header end.")
        if not content.endswith(b"\r\n"):
            raise BadRequestError("The multipart body is malformed: a part does not end with a line break.")
        headers: dict[str, str] = {}
        for line in raw_headers.decode("utf-8", "replace").split("\r\n"):
            if line:
                key, _, value = line.partition(":")
                headers[key.strip().lower()] = value.strip()
        _, disposition = _parameters(headers.get("content-disposition", ""))
        parts.append(Part(disposition.get("name"), disposition.get("filename"), headers, content[:-2]))
    return parts
