"""Embeddings generation tasks: the configuration model, its wire JSON and its rules.

The wire shape is what the official client's ``EmbeddingsGenerationConfiguration.to_json()`` sends
to ``PUT /admin/etl``; ``render_task_configuration`` writes it back in a form that the client's
``GetOngoingTaskInfoOperation`` and ``GetDatabaseRecordOperation`` read (they require ``Name``,
``Identifier``, ``Collection``, ``ConnectionStringName`` and ``ChunkingOptionsForQuerying``).
Values the client leaves null get RavenDB's defaults: ``Quantization`` Single, cache expirations
of 90 and 14 days, and ``PlainTextSplit``/256 for a script's chunking options.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from rookdb.ai.chunking import ChunkingMethod, ChunkingOptions, validate_chunking_options
from rookdb.ai.connection_strings import CONNECTORS, AiConnectionString, connector_name
from rookdb.ai.identifiers import TASK_FALLBACK_IDENTIFIER, generate_identifier, validate_identifier
from rookdb.ai.quantization import VectorEmbeddingType
from rookdb.errors import ValidationError
from rookdb.wire import EMBEDDINGS_GENERATION, format_timespan, parse_timespan

__all__ = [
    "DAILY_TOKEN_BUDGET",
    "DEFAULT_EMBEDDINGS_CACHE_EXPIRATION",
    "DEFAULT_EMBEDDINGS_CACHE_FOR_QUERYING_EXPIRATION",
    "DEFAULT_QUERYING_CHUNKING_OPTIONS",
    "DEFAULT_SCRIPT_CHUNKING_OPTIONS",
    "GENERATE_FUNCTION",
    "NO_CONNECTOR",
    "PATHS_TRANSFORMATION_NAME",
    "SCRIPT_TRANSFORMATION_NAME",
    "EmbeddingPathConfiguration",
    "EmbeddingsGenerationConfiguration",
    "EmbeddingsTransformation",
    "keep_unsent_budget",
    "parse_task_configuration",
    "render_task_configuration",
    "validate_task_configuration",
    "with_connector",
]

DAILY_TOKEN_BUDGET = "DailyTokenBudget"
# The single transformation's name tells which source mode a task uses; ``reset=`` names it.
PATHS_TRANSFORMATION_NAME = "embeddings-from-paths"
SCRIPT_TRANSFORMATION_NAME = "embeddings-transform-script"
GENERATE_FUNCTION = "embeddings.generate"
NO_CONNECTOR = "None"
DEFAULT_EMBEDDINGS_CACHE_EXPIRATION = timedelta(days=90)
DEFAULT_EMBEDDINGS_CACHE_FOR_QUERYING_EXPIRATION = timedelta(days=14)
DEFAULT_QUERYING_CHUNKING_OPTIONS = ChunkingOptions()
DEFAULT_SCRIPT_CHUNKING_OPTIONS = ChunkingOptions(ChunkingMethod.PLAIN_TEXT_SPLIT, 256)


@dataclass(frozen=True)
class EmbeddingPathConfiguration:
    """A document path whose value is embedded, and how it is chunked."""

    path: str
    chunking_options: ChunkingOptions


@dataclass(frozen=True)
class EmbeddingsTransformation:
    """A script calling ``embeddings.generate({...})``; its options chunk raw (unchunked) values."""

    script: str
    chunking_options: ChunkingOptions = DEFAULT_SCRIPT_CHUNKING_OPTIONS


@dataclass(frozen=True)
class EmbeddingsGenerationConfiguration:
    """One embeddings generation task. Exactly one of paths or transformation is the source."""

    name: str
    identifier: str
    connection_string_name: str
    collection: str
    embeddings_path_configurations: tuple[EmbeddingPathConfiguration, ...] = ()
    embeddings_transformation: EmbeddingsTransformation | None = None
    quantization: VectorEmbeddingType = VectorEmbeddingType.SINGLE
    chunking_options_for_querying: ChunkingOptions = DEFAULT_QUERYING_CHUNKING_OPTIONS
    embeddings_cache_expiration: timedelta = DEFAULT_EMBEDDINGS_CACHE_EXPIRATION
    embeddings_cache_for_querying_expiration: timedelta = DEFAULT_EMBEDDINGS_CACHE_FOR_QUERYING_EXPIRATION
    store_chunk_text: bool = False
    disabled: bool = False
    task_id: int = 0
    mentor_node: str | None = None
    pin_to_mentor_node: bool = False
    allow_etl_on_non_encrypted_channel: bool = False
    # The client always sends "None"; the server resolves it from the connection string.
    ai_connector_type: str = NO_CONNECTOR
    daily_token_budget: int | None = None
    """rookdb's own: input tokens the task may spend per UTC day; None for no limit. The official
    client never sends it: an update without it keeps the stored budget (``keep_unsent_budget``)."""

    @property
    def transformation_name(self) -> str:
        """``embeddings-transform-script`` for a script task, else ``embeddings-from-paths``."""
        if self.embeddings_transformation is not None:
            return SCRIPT_TRANSFORMATION_NAME
        return PATHS_TRANSFORMATION_NAME


def with_connector(
    config: EmbeddingsGenerationConfiguration, connection_string: AiConnectionString
) -> EmbeddingsGenerationConfiguration:
    """``config`` with ``AiConnectorType`` set from the connection string it uses."""
    return dataclasses.replace(config, ai_connector_type=connector_name(connection_string.settings))


# Wire readers: a null or missing value takes the default; a value of the wrong type is an error.


def _str(data: dict[str, Any], key: str, field: str | None = None) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ValidationError(field or key, f"must be a string, got {value!r}")
    return value


def _required_str(data: dict[str, Any], key: str, field: str | None = None) -> str:
    value = _str(data, key, field)
    if value is None or not value.strip():
        raise ValidationError(field or key, "is required")
    return value


def _bool(data: dict[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ValidationError(key, f"must be true or false, got {value!r}")
    return value


def _object(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationError(field, f"must be a JSON object, got {value!r}")
    return value


def _timespan(data: dict[str, Any], key: str, default: timedelta) -> timedelta:
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ValidationError(key, f"must be a TimeSpan string such as '90.00:00:00', got {value!r}")
    return parse_timespan(value, key)


def _chunking(value: Any, field: str, default: ChunkingOptions | None = None) -> ChunkingOptions:
    if value is None:
        if default is None:
            raise ValidationError(field, "is required")
        return default
    return ChunkingOptions.from_json(value, field)


def parse_task_configuration(data: Any) -> EmbeddingsGenerationConfiguration:
    """Read the client's task JSON, generate a missing identifier from the name, and validate.

    Raises ``ValidationError`` naming the field and rule. ``Transforms`` is ignored: it is derived.
    """
    data = _object(data, "EmbeddingsGenerationConfiguration")
    if data.get("EtlType") not in (None, EMBEDDINGS_GENERATION):
        raise ValidationError("EtlType", f"must be '{EMBEDDINGS_GENERATION}', got {data['EtlType']!r}")
    name = _required_str(data, "Name")
    identifier = _str(data, "Identifier")
    if identifier is None or not identifier.strip():
        identifier = generate_identifier(name, fallback=TASK_FALLBACK_IDENTIFIER) or ""
    task_id = data.get("TaskId", 0) or 0
    if isinstance(task_id, bool) or not isinstance(task_id, int):
        raise ValidationError("TaskId", f"must be an integer, got {task_id!r}")
    raw_quantization = data.get("Quantization")
    try:
        quantization = VectorEmbeddingType(raw_quantization or VectorEmbeddingType.SINGLE)
    except ValueError:
        allowed = ", ".join(t.value for t in VectorEmbeddingType if t is not VectorEmbeddingType.TEXT)
        raise ValidationError("Quantization", f"must be one of {allowed}, got {raw_quantization!r}") from None
    config = EmbeddingsGenerationConfiguration(
        name=name,
        identifier=identifier,
        connection_string_name=_required_str(data, "ConnectionStringName"),
        collection=_required_str(data, "Collection"),
        embeddings_path_configurations=_parse_paths(data.get("EmbeddingsPathConfigurations")),
        embeddings_transformation=_parse_transformation(data.get("EmbeddingsTransformation")),
        quantization=quantization,
        chunking_options_for_querying=_chunking(data.get("ChunkingOptionsForQuerying"), "ChunkingOptionsForQuerying"),
        embeddings_cache_expiration=_timespan(data, "EmbeddingsCacheExpiration", DEFAULT_EMBEDDINGS_CACHE_EXPIRATION),
        embeddings_cache_for_querying_expiration=_timespan(
            data, "EmbeddingsCacheForQueryingExpiration", DEFAULT_EMBEDDINGS_CACHE_FOR_QUERYING_EXPIRATION
        ),
        store_chunk_text=_bool(data, "StoreChunkText"),
        disabled=_bool(data, "Disabled"),
        task_id=task_id,
        mentor_node=_str(data, "MentorNode"),
        pin_to_mentor_node=_bool(data, "PinToMentorNode"),
        allow_etl_on_non_encrypted_channel=_bool(data, "AllowEtlOnNonEncryptedChannel"),
        ai_connector_type=_str(data, "AiConnectorType") or NO_CONNECTOR,
        daily_token_budget=_budget(data.get(DAILY_TOKEN_BUDGET)),
    )
    validate_task_configuration(config)
    return config


def _budget(value: Any) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValidationError(DAILY_TOKEN_BUDGET, f"must be a whole number of tokens or null, got {value!r}")
    return value


def keep_unsent_budget(config: EmbeddingsGenerationConfiguration, stored: EmbeddingsGenerationConfiguration,
                       sent: dict[str, Any]) -> EmbeddingsGenerationConfiguration:
    """``config`` with the stored daily token budget when the client did not send the field at all."""
    if DAILY_TOKEN_BUDGET in sent:
        return config
    return dataclasses.replace(config, daily_token_budget=stored.daily_token_budget)


def _parse_paths(value: Any) -> tuple[EmbeddingPathConfiguration, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValidationError("EmbeddingsPathConfigurations", f"must be a list, got {value!r}")
    paths: list[EmbeddingPathConfiguration] = []
    for index, item in enumerate(value):
        field = f"EmbeddingsPathConfigurations[{index}]"
        entry = _object(item, field)
        paths.append(
            EmbeddingPathConfiguration(
                path=_required_str(entry, "Path", f"{field}.Path"),
                chunking_options=_chunking(entry.get("ChunkingOptions"), f"{field}.ChunkingOptions"),
            )
        )
    return tuple(paths)


def _parse_transformation(value: Any) -> EmbeddingsTransformation | None:
    if value is None:
        return None
    entry = _object(value, "EmbeddingsTransformation")
    return EmbeddingsTransformation(
        script=_str(entry, "Script", "EmbeddingsTransformation.Script") or "",
        chunking_options=_chunking(
            entry.get("ChunkingOptions"), "EmbeddingsTransformation.ChunkingOptions", DEFAULT_SCRIPT_CHUNKING_OPTIONS
        ),
    )


def _require(field: str, value: str | None) -> None:
    if not value or not value.strip():
        raise ValidationError(field, "is required")


def validate_task_configuration(config: EmbeddingsGenerationConfiguration) -> None:
    """Raise ``ValidationError`` for the first field that breaks a rule (the field and rule named)."""
    _require("Name", config.name)
    validate_identifier(config.identifier, "Identifier")
    _require("ConnectionStringName", config.connection_string_name)
    _require("Collection", config.collection)
    paths, script = config.embeddings_path_configurations, config.embeddings_transformation
    if not paths and script is None:
        raise ValidationError(
            "EmbeddingsPathConfigurations",
            "either EmbeddingsPathConfigurations or EmbeddingsTransformation is required",
        )
    if paths and script is not None:
        raise ValidationError(
            "EmbeddingsTransformation", "give EmbeddingsPathConfigurations or EmbeddingsTransformation, not both"
        )
    seen: set[str] = set()
    for index, entry in enumerate(paths):
        field = f"EmbeddingsPathConfigurations[{index}]"
        if not entry.path or not entry.path.strip():
            raise ValidationError(f"{field}.Path", "is required")
        # Each path's embeddings are stored under the path as property name: two would collide.
        if entry.path in seen:
            raise ValidationError(f"{field}.Path", f"'{entry.path}' is configured more than once")
        seen.add(entry.path)
        validate_chunking_options(entry.chunking_options, f"{field}.ChunkingOptions")
    if script is not None:
        if GENERATE_FUNCTION not in script.script:
            raise ValidationError("EmbeddingsTransformation.Script", f"must call {GENERATE_FUNCTION}({{...}})")
        validate_chunking_options(script.chunking_options, "EmbeddingsTransformation.ChunkingOptions")
    if config.quantization is VectorEmbeddingType.TEXT:
        raise ValidationError("Quantization", "cannot be Text for embeddings generation; use Single, Int8 or Binary")
    validate_chunking_options(config.chunking_options_for_querying, "ChunkingOptionsForQuerying")
    for field, expiration in (
        ("EmbeddingsCacheExpiration", config.embeddings_cache_expiration),
        ("EmbeddingsCacheForQueryingExpiration", config.embeddings_cache_for_querying_expiration),
    ):
        if expiration <= timedelta(0):
            raise ValidationError(field, f"must be positive, got {format_timespan(expiration)}")
    if config.task_id < 0:
        raise ValidationError("TaskId", f"cannot be negative, got {config.task_id}")
    if config.daily_token_budget is not None and config.daily_token_budget < 0:
        raise ValidationError(DAILY_TOKEN_BUDGET, f"cannot be negative, got {config.daily_token_budget}")
    if config.ai_connector_type != NO_CONNECTOR and config.ai_connector_type not in CONNECTORS:
        allowed = ", ".join([NO_CONNECTOR, *CONNECTORS])
        raise ValidationError("AiConnectorType", f"must be one of {allowed}, got {config.ai_connector_type!r}")


def render_task_configuration(config: EmbeddingsGenerationConfiguration) -> dict[str, Any]:
    """The wire JSON, shaped like the client's ``to_json()``, with the real ``TaskId``."""
    script = config.embeddings_transformation
    return {
        "EtlType": EMBEDDINGS_GENERATION,
        "Name": config.name,
        "TaskId": config.task_id,
        "ConnectionStringName": config.connection_string_name,
        "MentorNode": config.mentor_node,
        "PinToMentorNode": config.pin_to_mentor_node,
        "AllowEtlOnNonEncryptedChannel": config.allow_etl_on_non_encrypted_channel,
        "Transforms": [
            {
                "Name": config.transformation_name,
                "Disabled": False,
                "Collections": [config.collection],
                "ApplyToAllDocuments": False,
                "Script": script.script if script is not None else None,
                "DocumentIdPostfix": None,
            }
        ],
        "Disabled": config.disabled,
        "Identifier": config.identifier,
        "AiConnectorType": config.ai_connector_type,
        "Collection": config.collection,
        "EmbeddingsPathConfigurations": [
            {"Path": p.path, "ChunkingOptions": p.chunking_options.to_json()}
            for p in config.embeddings_path_configurations
        ]
        or None,
        "EmbeddingsTransformation": (
            {"Script": script.script, "ChunkingOptions": script.chunking_options.to_json()}
            if script is not None
            else None
        ),
        "Quantization": config.quantization.value,
        "ChunkingOptionsForQuerying": config.chunking_options_for_querying.to_json(),
        "EmbeddingsCacheExpiration": format_timespan(config.embeddings_cache_expiration),
        "EmbeddingsCacheForQueryingExpiration": format_timespan(config.embeddings_cache_for_querying_expiration),
        "StoreChunkText": config.store_chunk_text,
        **({DAILY_TOKEN_BUDGET: config.daily_token_budget} if config.daily_token_budget is not None else {}),
    }
