"""Whether a stored body comes back from JavaScript's ``JSON.parse`` + ``JSON.stringify`` unchanged.

Patches see documents through JavaScript's JSON: numbers become doubles (``10.0`` is written ``10``)
and integer-like keys come first. Most stored bodies (orjson's encoding) have nothing of that, which a
scan of their bytes tells without parsing them.
"""

from __future__ import annotations

import re

__all__ = ["LARGEST_EXACT_INTEGER", "js_changes", "js_shaped"]

LARGEST_EXACT_INTEGER = 2 ** 53
"""Beyond it, JavaScript's numbers (doubles) no longer hold every integer."""

# What orjson writes for a value that JSON.parse + JSON.stringify would change: a float with an integral
# value (``1.0``, ``1e16``), an integer of 16 digits or more (beyond 2**53), an integer-like key. Each
# may also occur inside a string; then the document is walked for nothing.
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_SIXTEEN_DIGITS = b"0" * 16
_INDEX_KEY = re.compile(rb'"[0-9]+":')


def js_changes(body: bytes) -> tuple[bool, bool]:
    """Whether JavaScript's JSON may change the document stored as ``body`` (orjson's encoding): (its
    numbers, the order of its keys). False is certain; True may come from text inside a string."""
    # bytes.translate and `in` run in C: much faster than one regular expression over the whole body.
    digits = body.translate(_DIGITS_AS_ZERO)
    numbers = (b"0e" in digits or b"0E" in digits or _SIXTEEN_DIGITS in digits
               or b".0," in body or b".0}" in body or b".0]" in body)
    return numbers, b'0":' in digits and _INDEX_KEY.search(body) is not None


def js_shaped(body: bytes) -> bool:
    """True when the document stored as ``body`` (orjson's encoding) comes back from JavaScript's JSON
    unchanged, so that `js_round_trip` has nothing to do on it."""
    return not any(js_changes(body))
