import copy
import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from ravendb.documents.indexes.vector.embedding import VectorEmbeddingType as ClientEmbeddingType
from ravendb.documents.operations.ai.chunking_options import ChunkingMethod as ClientMethod
from ravendb.documents.operations.ai.chunking_options import ChunkingOptions as ClientOptions
from ravendb.documents.operations.ai.embedding_path_configuration import EmbeddingPathConfiguration as ClientPath
from ravendb.documents.operations.ai.embeddings_generation_configuration import (
    EmbeddingsGenerationConfiguration as ClientConfiguration,
)
from ravendb.documents.operations.ai.embeddings_transformation import EmbeddingsTransformation as ClientTransformation
from ravendb.documents.operations.ongoing_tasks import OngoingTaskEmbeddingsGeneration
from ravendb.serverwide.database_record import DatabaseRecordWithEtag

from rookdb.ai.chunking import ChunkingMethod, ChunkingOptions
from rookdb.ai.connection_strings import AiConnectionString, EmbeddedSettings
from rookdb.ai.quantization import VectorEmbeddingType
from rookdb.ai.task_config import (
    DEFAULT_QUERYING_CHUNKING_OPTIONS,
    DEFAULT_SCRIPT_CHUNKING_OPTIONS,
    PATHS_TRANSFORMATION_NAME,
    SCRIPT_TRANSFORMATION_NAME,
    EmbeddingPathConfiguration,
    EmbeddingsGenerationConfiguration,
    EmbeddingsTransformation,
    parse_task_configuration,
    render_task_configuration,
    validate_task_configuration,
    with_connector,
)
from rookdb.errors import ValidationError

SCRIPT = (
    "embeddings.generate({ Name: text.split(this.Name, 2048), "
    "Description: text.splitParagraphs(this.Description, 2048, 128) });"
)


def _paths_sample() -> ClientConfiguration:
    # The Python sample of RavenDB's embeddings generation documentation.
    return ClientConfiguration(
        name="GetEmbeddingsFromOpenAI",
        identifier="id-for-task-open-ai",
        connection_string_name="ConnectionStringToOpenAI",
        disabled=False,
        collection="Categories",
        embeddings_path_configurations=[
            ClientPath(
                path="Name",
                chunking_options=ClientOptions(
                    chunking_method=ClientMethod.PLAIN_TEXT_SPLIT, max_tokens_per_chunk=2048
                ),
            ),
            ClientPath(
                path="Description",
                chunking_options=ClientOptions(
                    chunking_method=ClientMethod.PLAIN_TEXT_SPLIT_PARAGRAPHS,
                    max_tokens_per_chunk=2048,
                    overlap_tokens=128,
                ),
            ),
        ],
        quantization=ClientEmbeddingType.SINGLE,
        embeddings_cache_expiration=timedelta(days=90),
        chunking_options_for_querying=ClientOptions(
            chunking_method=ClientMethod.PLAIN_TEXT_SPLIT, max_tokens_per_chunk=2048
        ),
        embeddings_cache_for_querying_expiration=timedelta(days=14),
    )


def _script_sample(**changes: Any) -> ClientConfiguration:
    arguments: dict[str, Any] = {
        "name": "Script task",
        "identifier": "script-task",
        "connection_string_name": "cs",
        "collection": "Categories",
        "embeddings_transformation": ClientTransformation(script=SCRIPT),
        "chunking_options_for_querying": ClientOptions(ClientMethod.PLAIN_TEXT_SPLIT, 512),
    }
    return ClientConfiguration(**(arguments | changes))


def test_documented_paths_sample_round_trips_exactly() -> None:
    sent: dict[str, Any] = _paths_sample().to_json()
    config = parse_task_configuration(copy.deepcopy(sent))
    assert render_task_configuration(config) == sent
    assert config.embeddings_path_configurations == (
        EmbeddingPathConfiguration("Name", ChunkingOptions(ChunkingMethod.PLAIN_TEXT_SPLIT, 2048)),
        EmbeddingPathConfiguration(
            "Description", ChunkingOptions(ChunkingMethod.PLAIN_TEXT_SPLIT_PARAGRAPHS, 2048, 128)
        ),
    )
    assert config.transformation_name == PATHS_TRANSFORMATION_NAME
    assert sent["Transforms"][0]["Name"] == PATHS_TRANSFORMATION_NAME


def test_script_sample_gets_defaults_the_client_left_null() -> None:
    sent = _script_sample().to_json()
    assert sent["Quantization"] is None
    config = parse_task_configuration(sent)
    assert config.quantization is VectorEmbeddingType.SINGLE
    assert config.embeddings_transformation == EmbeddingsTransformation(SCRIPT, DEFAULT_SCRIPT_CHUNKING_OPTIONS)
    assert config.transformation_name == SCRIPT_TRANSFORMATION_NAME
    rendered = render_task_configuration(config)
    assert rendered == sent | {"Quantization": "Single"}
    assert rendered["Transforms"][0]["Script"] == SCRIPT


@pytest.mark.parametrize("sample", [_paths_sample, _script_sample])
def test_rendered_json_is_read_by_the_clients_task_and_record_parsers(sample: Any) -> None:
    config = parse_task_configuration(sample().to_json())
    rendered = render_task_configuration(dataclasses.replace(config, task_id=11))
    client_config = ClientConfiguration.from_json(rendered)
    assert client_config.identifier == config.identifier
    assert client_config.task_id == 11
    assert client_config.to_json()["EmbeddingsPathConfigurations"] == rendered["EmbeddingsPathConfigurations"]
    task = OngoingTaskEmbeddingsGeneration.from_json(
        {
            "TaskId": 11,
            "TaskType": "EmbeddingsGeneration",
            "TaskState": "Enabled",
            "TaskName": config.name,
            "ConnectionStringName": config.connection_string_name,
            "Configuration": rendered,
        }
    )
    assert task.configuration.identifier == config.identifier
    record = DatabaseRecordWithEtag.from_json(
        {
            "DatabaseName": "db",
            "Disabled": False,
            "Encrypted": False,
            "Etag": 21,
            "Settings": {},
            "EmbeddingsGenerations": [rendered],
        }
    )
    assert [e.identifier for e in record.embeddings_generations] == [config.identifier]


def test_configuration_built_in_code_has_ravendb_defaults() -> None:
    config = EmbeddingsGenerationConfiguration(
        name="t",
        identifier="t",
        connection_string_name="cs",
        collection="Docs",
        embeddings_path_configurations=(EmbeddingPathConfiguration("Body", ChunkingOptions()),),
    )
    validate_task_configuration(config)
    rendered = render_task_configuration(config)
    assert rendered["Quantization"] == "Single"
    assert rendered["EmbeddingsCacheExpiration"] == "90.00:00:00"
    assert rendered["EmbeddingsCacheForQueryingExpiration"] == "14.00:00:00"
    assert rendered["ChunkingOptionsForQuerying"] == {
        "ChunkingMethod": "PlainTextSplit",
        "MaxTokensPerChunk": 512,
        "OverlapTokens": 0,
        "ContextPrefix": None,
    }
    assert config.chunking_options_for_querying == DEFAULT_QUERYING_CHUNKING_OPTIONS
    assert parse_task_configuration(rendered) == config


@pytest.mark.parametrize(
    ("name", "identifier"),
    [("Generate embeddings from OpenAI", "generate-embeddings-from-openai"), ("Задача", "ai-task-identifier")],
)
def test_missing_identifier_is_generated_from_the_name(name: str, identifier: str) -> None:
    sent = _script_sample(name=name, identifier=None).to_json()
    assert parse_task_configuration(sent).identifier == identifier


def test_with_connector_sets_the_connector_type() -> None:
    config = parse_task_configuration(_script_sample().to_json())
    assert config.ai_connector_type == "None"
    embedded = AiConnectionString("cs", "cs", "TextEmbeddings", EmbeddedSettings())
    resolved = with_connector(config, embedded)
    assert render_task_configuration(resolved)["AiConnectorType"] == "Embedded"
    assert parse_task_configuration(render_task_configuration(resolved)) == resolved


def _change(sample: Any, **changes: Any) -> dict[str, Any]:
    sent: dict[str, Any] = sample().to_json() | changes
    return sent


def _path_options(**options: Any) -> dict[str, Any]:
    sent: dict[str, Any] = _paths_sample().to_json()
    chunking = {"ChunkingMethod": "PlainTextSplit", "MaxTokensPerChunk": 100, "OverlapTokens": 0, "ContextPrefix": None}
    sent["EmbeddingsPathConfigurations"] = [{"Path": "Name", "ChunkingOptions": chunking | options}]
    return sent


INVALID: list[tuple[str, dict[str, Any], str, str]] = [
    ("not object", [], "EmbeddingsGenerationConfiguration", "object"),  # type: ignore[list-item]
    ("etl type", _change(_paths_sample, EtlType="Raven"), "EtlType", "EmbeddingsGeneration"),
    ("name missing", _change(_paths_sample, Name=None), "Name", "required"),
    ("name blank", _change(_paths_sample, Name=" "), "Name", "required"),
    ("identifier invalid", _change(_paths_sample, Identifier="Bad_Id"), "Identifier", "uppercase"),
    ("identifier hyphen", _change(_paths_sample, Identifier="bad-"), "Identifier", "ends with a hyphen"),
    ("connection string", _change(_paths_sample, ConnectionStringName=""), "ConnectionStringName", "required"),
    ("collection", _change(_paths_sample, Collection=None), "Collection", "required"),
    ("no source", _change(_paths_sample, EmbeddingsPathConfigurations=None), "EmbeddingsPathConfigurations", "either"),
    ("empty paths", _change(_paths_sample, EmbeddingsPathConfigurations=[]), "EmbeddingsPathConfigurations", "either"),
    (
        "both sources",
        _change(_paths_sample, EmbeddingsTransformation={"Script": SCRIPT, "ChunkingOptions": None}),
        "EmbeddingsTransformation",
        "not both",
    ),
    (
        "path without options",
        _change(_paths_sample, EmbeddingsPathConfigurations=[{"Path": "Name", "ChunkingOptions": None}]),
        "EmbeddingsPathConfigurations[0].ChunkingOptions",
        "required",
    ),
    (
        "path blank",
        _change(_paths_sample, EmbeddingsPathConfigurations=[{"Path": "", "ChunkingOptions": {}}]),
        "EmbeddingsPathConfigurations[0].Path",
        "required",
    ),
    (
        "duplicate path",
        _change(
            _paths_sample,
            EmbeddingsPathConfigurations=[
                {"Path": "Name", "ChunkingOptions": {}},
                {"Path": "Name", "ChunkingOptions": {}},
            ],
        ),
        "EmbeddingsPathConfigurations[1].Path",
        "more than once",
    ),
    ("paths not list", _change(_paths_sample, EmbeddingsPathConfigurations={}), "EmbeddingsPathConfigurations", "list"),
    (
        "max tokens zero",
        _path_options(MaxTokensPerChunk=0),
        "EmbeddingsPathConfigurations[0].ChunkingOptions.MaxTokensPerChunk",
        "at least 1",
    ),
    (
        "overlap negative",
        _path_options(ChunkingMethod="PlainTextSplitParagraphs", OverlapTokens=-1),
        "EmbeddingsPathConfigurations[0].ChunkingOptions.OverlapTokens",
        "negative",
    ),
    (
        "overlap wrong method",
        _path_options(OverlapTokens=10),
        "EmbeddingsPathConfigurations[0].ChunkingOptions.OverlapTokens",
        "only supported",
    ),
    (
        "overlap too big",
        _path_options(ChunkingMethod="MarkDownSplitParagraphs", OverlapTokens=100),
        "EmbeddingsPathConfigurations[0].ChunkingOptions.OverlapTokens",
        "less than",
    ),
    (
        "prefix blank",
        _path_options(ContextPrefix="  "),
        "EmbeddingsPathConfigurations[0].ChunkingOptions.ContextPrefix",
        "empty",
    ),
    (
        "prefix too long",
        _path_options(ContextPrefix="x" * 400),
        "EmbeddingsPathConfigurations[0].ChunkingOptions.ContextPrefix",
        "no room",
    ),
    (
        "method unknown",
        _path_options(ChunkingMethod="Sentences"),
        "EmbeddingsPathConfigurations[0].ChunkingOptions.ChunkingMethod",
        "must be one of",
    ),
    (
        "script without generate",
        _change(_script_sample, EmbeddingsTransformation={"Script": "loadToX(this)", "ChunkingOptions": None}),
        "EmbeddingsTransformation.Script",
        "embeddings.generate",
    ),
    (
        "script null",
        _change(_script_sample, EmbeddingsTransformation={"Script": None}),
        "EmbeddingsTransformation.Script",
        "embeddings.generate",
    ),
    (
        "script options",
        _change(
            _script_sample,
            EmbeddingsTransformation={"Script": SCRIPT, "ChunkingOptions": {"MaxTokensPerChunk": -5}},
        ),
        "EmbeddingsTransformation.ChunkingOptions.MaxTokensPerChunk",
        "at least 1",
    ),
    ("quantization text", _change(_paths_sample, Quantization="Text"), "Quantization", "cannot be Text"),
    ("quantization unknown", _change(_paths_sample, Quantization="Int4"), "Quantization", "Single, Int8, Binary"),
    (
        "querying missing",
        _change(_paths_sample, ChunkingOptionsForQuerying=None),
        "ChunkingOptionsForQuerying",
        "required",
    ),
    (
        "querying invalid",
        _change(_paths_sample, ChunkingOptionsForQuerying={"ChunkingMethod": "HtmlStrip", "OverlapTokens": 3}),
        "ChunkingOptionsForQuerying.OverlapTokens",
        "only supported",
    ),
    (
        "expiration malformed",
        _change(_paths_sample, EmbeddingsCacheExpiration="90 days"),
        "EmbeddingsCacheExpiration",
        "TimeSpan",
    ),
    ("expiration type", _change(_paths_sample, EmbeddingsCacheExpiration=90), "EmbeddingsCacheExpiration", "TimeSpan"),
    (
        "expiration negative",
        _change(_paths_sample, EmbeddingsCacheForQueryingExpiration="-1.00:00:00"),
        "EmbeddingsCacheForQueryingExpiration",
        "positive",
    ),
    ("task id", _change(_paths_sample, TaskId="11"), "TaskId", "integer"),
    ("task id negative", _change(_paths_sample, TaskId=-1), "TaskId", "negative"),
    ("disabled type", _change(_paths_sample, Disabled="no"), "Disabled", "true or false"),
    ("connector type", _change(_paths_sample, AiConnectorType="Cohere"), "AiConnectorType", "OpenAi"),
    ("mentor type", _change(_paths_sample, MentorNode=1), "MentorNode", "string"),
]


@pytest.mark.parametrize(("sent", "field", "rule"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_configurations_name_field_and_rule(sent: dict[str, Any], field: str, rule: str) -> None:
    with pytest.raises(ValidationError) as raised:
        parse_task_configuration(sent)
    assert raised.value.field == field
    assert rule in raised.value.message


def test_every_quantization_but_text_is_accepted() -> None:
    for value in ("Single", "Int8", "Binary"):
        config = parse_task_configuration(_change(_paths_sample, Quantization=value))
        assert render_task_configuration(config)["Quantization"] == value


def test_client_validation_agrees_on_the_samples() -> None:
    assert _paths_sample().validate() == []
    assert _script_sample().validate() == []
