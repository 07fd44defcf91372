"""Embeddings scripts in tests: limits, a Northwind-like product and shortcuts to run a script."""

from __future__ import annotations

from typing import Any

import pytest

from rookdb.ai.scripting import FieldSource, ScriptOutput, run_embeddings_script
from rookdb.errors import ScriptError

TIME_LIMIT_MS = 1000
MEMORY_LIMIT_BYTES = 64 * 1024 * 1024
# JavaScript that aborts V8's whole process ("invalid size error"): splitting a 2**28-character string
# asks for an array past V8's largest at once. The string is one allocation, so the abort comes within
# a second or two even on a loaded machine (filling a huge array instead took from 6 s to over 30 s).
ENGINE_CRASH = "'a'.repeat(2 ** 28).split('')"
# A time limit no test reaches: the script must end on the crash or the memory limit, not the clock.
UNREACHED_TIME_LIMIT_MS = 60_000

PRODUCT: dict[str, Any] = {
    "Name": "Chai",
    "Description": "Tea from China.\n\nServed hot.",
    "Tags": ["tea", None, "drink"],
    "Title": "Chai tea  ",
    "Notes": None,
    "PricePerUnit": 18,
    "Discontinued": False,
    "@metadata": {"@collection": "Products", "@id": "products/1-A"},
}

DOCS_EXAMPLE = (
    "embeddings.generate({ Name: text.split(this.Name, 2048), "
    "Description: text.splitParagraphs(this.Description, 2048, 128).withContextPrefix(this.Name), "
    "Tags: this.Tags, Title: this.Title.withContextPrefix('Title') }).withContextPrefix('Product');"
)


def run(script: str, document: dict[str, Any] | None = None, **limits: int) -> ScriptOutput:
    return run_embeddings_script(
        script,
        PRODUCT if document is None else document,
        time_limit_ms=limits.get("time_limit_ms", TIME_LIMIT_MS),
        memory_limit_bytes=limits.get("memory_limit_bytes", MEMORY_LIMIT_BYTES),
    )


def only(output: ScriptOutput, name: str) -> FieldSource:
    (source,) = output.fields[name]
    return source


def error_of(script: str, document: dict[str, Any] | None = None, **limits: int) -> str:
    with pytest.raises(ScriptError) as caught:
        run(script, document, **limits)
    return caught.value.message
