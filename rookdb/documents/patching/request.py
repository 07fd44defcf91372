"""What a client asks a patch to do, read from the wire: ``{"Script", "Values"}`` and JSON patches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rookdb.errors import BadRequestError

__all__ = ["PatchRequest", "parse_patch_request"]


@dataclass(frozen=True)
class PatchRequest:
    """A patch script with its arguments (``args.name`` and ``$name`` in the script)."""

    script: str
    values: dict[str, Any] = field(default_factory=dict)


def parse_patch_request(raw: Any, where: str, *, required: bool = True) -> PatchRequest | None:
    """A ``PatchRequest`` from ``{"Script": ..., "Values": {...}}``; None when absent and not required."""
    if raw is None:
        if required:
            raise BadRequestError(f"{where} is required: {{\"Script\": ..., \"Values\": {{...}}}}.")
        return None
    if not isinstance(raw, dict):
        raise BadRequestError(f"{where} must be an object {{\"Script\": ..., \"Values\": {{...}}}}.")
    script = raw.get("Script")
    if not isinstance(script, str) or not script.strip():
        raise BadRequestError(f"{where}.Script must be a non-empty JavaScript string.")
    values = raw.get("Values") or {}
    if not isinstance(values, dict):
        raise BadRequestError(f"{where}.Values must be an object.")
    return PatchRequest(script, values)
