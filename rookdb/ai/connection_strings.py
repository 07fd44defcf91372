"""AI connection strings: a named, identified link to one embeddings (or chat) provider.

The field names mirror RavenDB's wire JSON (``HuggingFaceSettings.ApiKey`` → ``api_key``): every
settings attribute's wire key is its name in PascalCase. ``CONNECTORS`` is the one table from a
connector name (``AiConnectorType``) to its settings class and JSON key.

The wire shape is what the official client's ``AiConnectionString.to_json()`` sends: all eight
settings keys present, all but one ``null``, plus ``ModelType`` and ``Type: "Ai"``. Parsing it and
rendering the result gives back an equal object.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from rookdb.ai.identifiers import generate_identifier, validate_identifier
from rookdb.errors import ValidationError

__all__ = [
    "CONNECTORS",
    "DEFAULT_HUGGING_FACE_ENDPOINT",
    "EXTENSION_FIELDS",
    "MAX_PROMPT_LENGTH",
    "SECRET_MASK",
    "SERVER_WIDE_PREFIX",
    "AiConnectionString",
    "AiSettings",
    "AzureOpenAiSettings",
    "Connector",
    "EmbeddedSettings",
    "GoogleSettings",
    "HuggingFaceSettings",
    "MistralAiSettings",
    "ModelType",
    "OllamaSettings",
    "OpenAiSettings",
    "VertexSettings",
    "connector_for",
    "connector_name",
    "keep_unsent",
    "locked_changes",
    "masked",
    "parse_connection_string",
    "render_connection_string",
    "restore_masked",
    "secret_fields",
    "validate_connection_string",
]

ModelType = Literal["TextEmbeddings", "Chat"]
AiVersion = Literal["V1", "V1_Beta"]

DEFAULT_HUGGING_FACE_ENDPOINT = "https://api-inference.huggingface.co/"
# Database-scoped names may not start with this (case-insensitively): RavenDB reserves it for the
# propagated copies of server-wide connection strings.
SERVER_WIDE_PREFIX = "Server Wide Connection String"
# What the Studio shows instead of a secret; a PUT carrying it keeps the stored secret.
SECRET_MASK = "********"
_VERTEX_CREDENTIAL_KEYS = ("client_email", "private_key", "token_uri")
# Changing these would make stored embeddings incomparable with new ones (RavenDB locks them while
# an embeddings task uses the connection string); keys, endpoints and credentials may change.
_LOCKED_SETTINGS_FIELDS = ("model", "dimensions", "deployment_name")


# Secret attributes are kept out of repr() so that a logged connection string leaks nothing.


@dataclass(frozen=True)
class HuggingFaceSettings:
    api_key: str = field(repr=False)
    model: str
    endpoint: str | None = None
    embeddings_max_concurrent_batches: int | None = None


@dataclass(frozen=True)
class OpenAiSettings:
    api_key: str = field(repr=False)
    endpoint: str
    model: str
    organization_id: str | None = None
    project_id: str | None = None
    dimensions: int | None = None
    temperature: float | None = None
    embeddings_max_concurrent_batches: int | None = None
    reasoning_effort: str | None = None


@dataclass(frozen=True)
class AzureOpenAiSettings:
    api_key: str = field(repr=False)
    endpoint: str
    model: str
    deployment_name: str
    dimensions: int | None = None
    temperature: float | None = None
    embeddings_max_concurrent_batches: int | None = None


@dataclass(frozen=True)
class GoogleSettings:
    api_key: str = field(repr=False)
    model: str
    ai_version: AiVersion | None = None
    dimensions: int | None = None
    embeddings_max_concurrent_batches: int | None = None


@dataclass(frozen=True)
class VertexSettings:
    model: str
    google_credentials_json: str = field(repr=False)
    location: str
    ai_version: AiVersion | None = None
    embeddings_max_concurrent_batches: int | None = None


@dataclass(frozen=True)
class MistralAiSettings:
    api_key: str = field(repr=False)
    endpoint: str
    model: str
    embeddings_max_concurrent_batches: int | None = None


@dataclass(frozen=True)
class OllamaSettings:
    uri: str
    model: str
    think: bool | None = None
    temperature: float | None = None
    embeddings_max_concurrent_batches: int | None = None


@dataclass(frozen=True)
class EmbeddedSettings:
    embeddings_max_concurrent_batches: int | None = None


AiSettings = (
    HuggingFaceSettings
    | OpenAiSettings
    | AzureOpenAiSettings
    | GoogleSettings
    | VertexSettings
    | MistralAiSettings
    | OllamaSettings
    | EmbeddedSettings
)


@dataclass(frozen=True)
class AiConnectionString:
    name: str
    identifier: str
    model_type: ModelType
    settings: AiSettings
    # rookdb's own fields (``EXTENSION_FIELDS``); None means "not set", so RavenDB's behaviour.
    query_prompt: str | None = None
    """Put before every search term; None: the model's convention (``rookdb.ai.prompts``), "": none."""
    document_prompt: str | None = None
    """Put before every text a task embeds; None: the model's convention, "": none."""
    requests_per_minute: int | None = None
    """The provider's request limit, when the user knows it: tasks never send faster."""
    tokens_per_minute: int | None = None
    """The provider's input-token limit, when the user knows it: tasks never send more."""
    price_per_million_tokens: float | None = None
    """What the provider charges per million input tokens: turns token counts into money."""


@dataclass(frozen=True)
class _ExtensionField:
    """A top-level field rookdb adds to RavenDB's connection string (absent from the official client)."""

    attr: str
    key: str
    kind: Literal["prompt", "per minute", "price"]


# Clients that do not know these never send them: absent means "keep what is stored" on an edit
# (``keep_unsent``) and "not set" on a new connection string; rendered only when set.
EXTENSION_FIELDS: tuple[_ExtensionField, ...] = (
    _ExtensionField("query_prompt", "QueryPrompt", "prompt"),
    _ExtensionField("document_prompt", "DocumentPrompt", "prompt"),
    _ExtensionField("requests_per_minute", "RequestsPerMinute", "per minute"),
    _ExtensionField("tokens_per_minute", "TokensPerMinute", "per minute"),
    _ExtensionField("price_per_million_tokens", "PricePerMillionTokens", "price"),
)
# At most this many characters per prompt.
MAX_PROMPT_LENGTH = 1000


@dataclass(frozen=True)
class Connector:
    """One AI connector: RavenDB's name for it, its settings class and JSON key, and its rules."""

    name: str
    settings_class: type[AiSettings]
    json_key: str
    supports_chat: bool
    url_fields: tuple[str, ...] = ()
    secret_fields: tuple[str, ...] = ()
    # Keys left out of the JSON when null: the client cannot read a null GoogleSettings.AiVersion
    # back, and only sends ReasoningEffort when set.
    omit_when_none: tuple[str, ...] = ()


# Ordered as the client's to_json writes the settings keys.
CONNECTORS: dict[str, Connector] = {
    c.name: c
    for c in (
        Connector(
            "OpenAi",
            OpenAiSettings,
            "OpenAiSettings",
            True,
            ("endpoint",),
            ("api_key",),
            ("reasoning_effort",),
        ),
        Connector("AzureOpenAi", AzureOpenAiSettings, "AzureOpenAiSettings", True, ("endpoint",), ("api_key",)),
        Connector("Ollama", OllamaSettings, "OllamaSettings", True, ("uri",)),
        Connector("Embedded", EmbeddedSettings, "EmbeddedSettings", False),
        Connector("Google", GoogleSettings, "GoogleSettings", True, (), ("api_key",), ("ai_version",)),
        Connector("HuggingFace", HuggingFaceSettings, "HuggingFaceSettings", False, ("endpoint",), ("api_key",)),
        Connector("MistralAi", MistralAiSettings, "MistralAiSettings", False, ("endpoint",), ("api_key",)),
        Connector("Vertex", VertexSettings, "VertexSettings", False, (), ("google_credentials_json",)),
    )
}
_BY_CLASS: dict[type[Any], Connector] = {c.settings_class: c for c in CONNECTORS.values()}


@dataclass(frozen=True)
class _WireField:
    attr: str
    key: str
    accepts: type | tuple[str, ...]  # a Python type, or the allowed literal values
    required: bool


def _pascal(attr: str) -> str:
    return "".join(part.capitalize() for part in attr.split("_"))


def _wire_fields(cls: type[Any]) -> tuple[_WireField, ...]:
    """Each attribute's wire key and accepted type, read from the dataclass annotations."""
    hints = typing.get_type_hints(cls)
    out: list[_WireField] = []
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        union = typing.get_origin(hint) in (typing.Union, types.UnionType)
        (base,) = [a for a in (typing.get_args(hint) if union else (hint,)) if a is not type(None)]
        accepts = typing.get_args(base) if typing.get_origin(base) is Literal else base
        required = f.default is dataclasses.MISSING
        out.append(_WireField(f.name, _pascal(f.name), accepts, required))
    return tuple(out)


_FIELDS: dict[type[Any], tuple[_WireField, ...]] = {cls: _wire_fields(cls) for cls in _BY_CLASS}


def _type_problem(value: Any, accepts: type | tuple[str, ...]) -> str | None:
    if isinstance(accepts, tuple):
        ok = value in accepts
        expected = " or ".join(repr(v) for v in accepts)
    elif accepts is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        expected = "a number"
    elif accepts is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        expected = "an integer"
    else:
        ok = isinstance(value, accepts)
        expected = "a boolean" if accepts is bool else "a string"
    return None if ok else f"must be {expected}, got {value!r}"


def connector_for(settings: AiSettings | type[AiSettings]) -> Connector:
    """The registry entry for a settings object or class."""
    cls = settings if isinstance(settings, type) else type(settings)
    connector = _BY_CLASS.get(cls)
    if connector is None:
        raise ValidationError("Settings", f"{cls.__name__} is not an AI connector's settings")
    return connector


def connector_name(settings: AiSettings) -> str:
    """RavenDB's ``AiConnectorType`` for ``settings``: ``HuggingFace``, ``OpenAi``, ``Vertex`` …"""
    return connector_for(settings).name


def secret_fields(settings: AiSettings | type[AiSettings]) -> tuple[str, ...]:
    """Wire names of the secret fields (``ApiKey``, ``GoogleCredentialsJson``): encrypt, mask."""
    return tuple(_pascal(attr) for attr in connector_for(settings).secret_fields)


def parse_connection_string(data: Any) -> AiConnectionString:
    """Read the client's ``AiConnectionString`` JSON, fill in a missing identifier, and validate.

    Raises ``ValidationError`` naming the field (``Name``, ``OpenAiSettings.Endpoint`` …) and rule.
    Unknown keys are ignored.
    """
    if not isinstance(data, dict):
        raise ValidationError("AiConnectionString", f"must be a JSON object, got {type(data).__name__}")
    if data.get("Type") not in (None, "Ai"):
        raise ValidationError("Type", f"must be 'Ai' for an AI connection string, got {data['Type']!r}")
    name = _check_name(data.get("Name"))
    identifier = data.get("Identifier")
    if identifier is not None and not isinstance(identifier, str):
        raise ValidationError("Identifier", f"must be a string, got {identifier!r}")
    if identifier is None or not identifier.strip():
        identifier = generate_identifier(name)
    model_type = _check_model_type(data.get("ModelType"))
    given = [c for c in CONNECTORS.values() if data.get(c.json_key) is not None]
    if len(given) != 1:
        keys = ", ".join(c.json_key for c in CONNECTORS.values())
        got = " and ".join(c.json_key for c in given) if given else "none"
        raise ValidationError("Settings", f"exactly one of {keys} must be set; got {got}")
    connection_string = AiConnectionString(
        name=name,
        identifier=typing.cast(str, identifier),
        model_type=model_type,
        settings=_parse_settings(given[0], data[given[0].json_key]),
        **{extension.attr: _parse_extension(extension, data.get(extension.key)) for extension in EXTENSION_FIELDS},
    )
    validate_connection_string(connection_string)
    return connection_string


def _parse_extension(extension: _ExtensionField, value: Any) -> Any:
    if value is None:
        return None
    if extension.kind == "prompt" and not isinstance(value, str):
        raise ValidationError(extension.key, f"must be a string or null, got {value!r}")
    if extension.kind == "per minute" and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValidationError(extension.key, f"must be a whole number or null, got {value!r}")
    if extension.kind == "price":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError(extension.key, f"must be a number or null, got {value!r}")
        return float(value)
    return value


def _check_extension(extension: _ExtensionField, value: Any) -> None:
    if value is None:
        return
    if extension.kind == "prompt" and len(value) > MAX_PROMPT_LENGTH:
        raise ValidationError(extension.key, f"is {len(value)} characters long; a prompt has at most "
                              f"{MAX_PROMPT_LENGTH}")
    if extension.kind == "per minute" and value < 1:
        raise ValidationError(extension.key, f"must be at least 1 (or null for no limit), got {value}")
    if extension.kind == "price" and not (math.isfinite(value) and value >= 0):
        raise ValidationError(extension.key, f"cannot be negative, got {value!r}")


def _parse_settings(connector: Connector, block: Any) -> AiSettings:
    if not isinstance(block, dict):
        raise ValidationError(connector.json_key, f"must be a JSON object, got {block!r}")
    values: dict[str, Any] = {}
    for wire in _FIELDS[connector.settings_class]:
        value = block.get(wire.key)
        if value is None:
            if wire.required:
                raise ValidationError(f"{connector.json_key}.{wire.key}", "is required")
            continue
        problem = _type_problem(value, wire.accepts)
        if problem:
            raise ValidationError(f"{connector.json_key}.{wire.key}", problem)
        values[wire.attr] = value
    settings: AiSettings = connector.settings_class(**values)
    return settings


def render_connection_string(connection_string: AiConnectionString) -> dict[str, Any]:
    """The wire JSON, shaped exactly like the client's ``AiConnectionString.to_json()``."""
    active = connector_for(connection_string.settings)
    out: dict[str, Any] = {"Name": connection_string.name, "Identifier": connection_string.identifier}
    for connector in CONNECTORS.values():
        out[connector.json_key] = (
            _render_settings(connection_string.settings, connector) if connector is active else None
        )
    out["ModelType"] = connection_string.model_type
    out["Type"] = "Ai"
    for extension in EXTENSION_FIELDS:
        value = getattr(connection_string, extension.attr)
        if value is not None:
            out[extension.key] = value
    return out


def _render_settings(settings: AiSettings, connector: Connector) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for wire in _FIELDS[connector.settings_class]:
        value = getattr(settings, wire.attr)
        if value is None and wire.attr in connector.omit_when_none:
            continue
        out[wire.key] = value
    return out


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("Name", "is required")
    if name.casefold().startswith(SERVER_WIDE_PREFIX.casefold()):
        raise ValidationError("Name", f"cannot start with '{SERVER_WIDE_PREFIX}', which is reserved")
    return name


def _check_model_type(model_type: Any) -> ModelType:
    if model_type not in typing.get_args(ModelType):
        allowed = " or ".join(typing.get_args(ModelType))
        raise ValidationError("ModelType", f"must be {allowed}, got {model_type!r}")
    return typing.cast(ModelType, model_type)


def validate_connection_string(connection_string: AiConnectionString) -> None:
    """Raise ``ValidationError`` for the first field that breaks a rule (the field and rule named)."""
    _check_name(connection_string.name)
    validate_identifier(connection_string.identifier, "Identifier")
    _check_model_type(connection_string.model_type)
    connector = connector_for(connection_string.settings)
    if connection_string.model_type == "Chat" and not connector.supports_chat:
        raise ValidationError("ModelType", f"the {connector.name} connector serves TextEmbeddings only, not Chat")
    _validate_settings(connection_string.settings, connector)
    for extension in EXTENSION_FIELDS:
        _check_extension(extension, getattr(connection_string, extension.attr))


def keep_unsent(new: AiConnectionString, old: AiConnectionString | None, sent: dict[str, Any]) -> AiConnectionString:
    """``new`` with the stored value of every extension field the client did not send at all.

    The official clients know nothing of these fields: editing a connection string with them (an
    API key, say) must not erase a prompt set in the Studio. An explicit null does reset one.
    """
    if old is None:
        return new
    kept = {extension.attr: getattr(old, extension.attr) for extension in EXTENSION_FIELDS
            if extension.key not in sent}
    return dataclasses.replace(new, **kept) if kept else new


def _validate_settings(settings: AiSettings, connector: Connector) -> None:
    for wire in _FIELDS[connector.settings_class]:
        name = f"{connector.json_key}.{wire.key}"
        value = getattr(settings, wire.attr)
        if value is None:
            if wire.required:
                raise ValidationError(name, "is required")
            continue
        problem = _type_problem(value, wire.accepts)
        if problem:
            raise ValidationError(name, problem)
        if wire.required and isinstance(value, str) and not value.strip():
            raise ValidationError(name, "is required")
        if wire.attr in connector.url_fields:
            _check_url(name, value)
        elif wire.attr in ("embeddings_max_concurrent_batches", "dimensions") and value < 1:
            raise ValidationError(name, f"must be at least 1, got {value}")
        elif wire.attr == "temperature" and not (math.isfinite(value) and value >= 0):
            raise ValidationError(name, f"must be a finite number >= 0, got {value!r}")
        elif wire.attr == "google_credentials_json":
            _check_vertex_credentials(name, value)


def _check_url(name: str, value: str) -> None:
    try:
        parts = urlsplit(value)
        valid = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018  (raises ValueError for a port out of range)
    except ValueError:
        valid = False
    if not valid or value != value.strip():
        raise ValidationError(name, f"must be an absolute http:// or https:// URL, got {value!r}")


def _check_vertex_credentials(name: str, value: str) -> None:
    # Messages never quote the value: it holds a private key.
    try:
        credentials = json.loads(value)
    except json.JSONDecodeError as error:
        raise ValidationError(
            name,
            f"is not valid JSON (line {error.lineno}, column {error.colno}); expected a service-account key",
        ) from None
    if not isinstance(credentials, dict):
        raise ValidationError(name, "must be a JSON object (a service-account key file)")
    missing = [k for k in _VERTEX_CREDENTIAL_KEYS if not isinstance(credentials.get(k), str) or not credentials[k]]
    if missing:
        raise ValidationError(name, f"is missing {', '.join(missing)} (a service-account key file has them)")


def locked_changes(old: AiConnectionString, new: AiConnectionString) -> list[str]:
    """Fields that differ but may not change while an embeddings task uses the connection string.

    Wire names: ``Connector``, ``ModelType``, ``Model``, ``Dimensions``, ``DeploymentName``. The
    model type is included because a task cannot embed with a chat model.
    """
    if type(old.settings) is not type(new.settings):
        return ["Connector"]
    changed = ["ModelType"] if old.model_type != new.model_type else []
    for attr in _LOCKED_SETTINGS_FIELDS:
        if getattr(old.settings, attr, None) != getattr(new.settings, attr, None):
            changed.append(_pascal(attr))
    return changed


def masked(connection_string: AiConnectionString) -> AiConnectionString:
    """A copy whose non-empty secrets read ``SECRET_MASK``, for showing to users."""
    settings = connection_string.settings
    secrets: dict[str, Any] = {a: SECRET_MASK for a in connector_for(settings).secret_fields if getattr(settings, a)}
    return dataclasses.replace(connection_string, settings=dataclasses.replace(settings, **secrets))


def restore_masked(new: AiConnectionString, old: AiConnectionString | None) -> AiConnectionString:
    """Put the stored secrets back where an edit sent ``SECRET_MASK`` unchanged."""
    settings = new.settings
    masked_attrs = [a for a in connector_for(settings).secret_fields if getattr(settings, a) == SECRET_MASK]
    if not masked_attrs:
        return new
    if old is None or type(old.settings) is not type(settings):
        wire = f"{connector_for(settings).json_key}.{_pascal(masked_attrs[0])}"
        raise ValidationError(wire, "is masked but there is no stored secret for this connector to keep")
    restored: dict[str, Any] = {a: getattr(old.settings, a) for a in masked_attrs}
    return dataclasses.replace(new, settings=dataclasses.replace(settings, **restored))
