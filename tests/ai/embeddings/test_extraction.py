"""From a document to field → chunks: paths (nested, arrays, prefixes) and scripts."""

from __future__ import annotations

import pytest

from rookdb.ai.chunking import ChunkingMethod, ChunkingOptions
from rookdb.ai.embeddings.extraction import PathsExtractor, create_extractor, values_at
from rookdb.ai.task_config import (
    EmbeddingPathConfiguration,
    EmbeddingsGenerationConfiguration,
    EmbeddingsTransformation,
)
from rookdb.errors import ScriptError, ValidationError
from rookdb.settings import Settings

ORDER = {"Company": "companies/1", "ShipTo": {"City": "Lyon", "Zip": 69000},
         "Lines": [{"ProductName": "Chai"}, {"ProductName": "Chang"}, {"ProductName": None}],
         "Tags": ["tea", ["hot", "drink"]], "Paid": True, "Freight": 3.5}


@pytest.mark.parametrize(("path", "texts"), [
    ("Company", ["companies/1"]),
    ("ShipTo.City", ["Lyon"]),
    ("ShipTo.Zip", ["69000"]),
    ("Lines.ProductName", ["Chai", "Chang"]),
    ("Tags", ["tea", "hot", "drink"]),
    ("Paid", ["true"]),
    ("Freight", ["3.5"]),
    ("Missing", []),
    ("ShipTo.Missing.Deeper", []),
])
def test_values_at(path: str, texts: list[str]) -> None:
    assert values_at(ORDER, path) == texts


def test_an_object_is_not_text() -> None:
    with pytest.raises(ValidationError, match="ShipTo"):
        values_at(ORDER, "ShipTo")


def test_paths_chunk_each_path_with_its_options() -> None:
    extractor = PathsExtractor((
        EmbeddingPathConfiguration("Name", ChunkingOptions(context_prefix="Product:")),
        EmbeddingPathConfiguration("Notes", ChunkingOptions(ChunkingMethod.PLAIN_TEXT_SPLIT, 3)),
        EmbeddingPathConfiguration("Empty", ChunkingOptions()),
    ))
    fields = extractor.extract({"Name": "Chai", "Notes": "one two three four five six seven", "Empty": "  "})
    assert fields["Name"] == ["Product: Chai"]
    assert len(fields["Notes"]) > 1 and " ".join(fields["Notes"]) == "one two three four five six seven"
    assert "Empty" not in fields


def _script_task(script: str) -> EmbeddingsGenerationConfiguration:
    return EmbeddingsGenerationConfiguration(
        name="t", identifier="t", connection_string_name="c", collection="Products",
        embeddings_transformation=EmbeddingsTransformation(script, ChunkingOptions(ChunkingMethod.PLAIN_TEXT_SPLIT, 2)))


@pytest.mark.slow  # a script task's extractor starts a script host
def test_script_raw_values_use_the_default_options_and_prefixed_ones_stay_whole() -> None:
    extractor = create_extractor(_script_task(
        "embeddings.generate({ Raw: this.Text, Whole: this.Text.withContextPrefix('About:'), "
        "Split: text.split(this.Text, 100) })"), Settings(environ={}))
    try:
        fields = extractor.extract({"Text": "alpha beta gamma delta"})
    finally:
        extractor.close()
    assert len(fields["Raw"]) > 1  # 2 tokens per chunk by default
    assert fields["Whole"] == ["About: alpha beta gamma delta"]
    assert fields["Split"] == ["alpha beta gamma delta"]


@pytest.mark.slow  # a script task's extractor starts a script host
def test_a_broken_script_is_refused_when_the_worker_starts() -> None:
    with pytest.raises(ScriptError):
        create_extractor(_script_task("embeddings.generate({ Name: "), Settings(environ={}))
