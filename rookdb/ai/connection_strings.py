"""AI connection strings: a named, identified link to one embeddings (or chat) provider.

The field names mirror RavenDB's wire JSON (``HuggingFaceSettings.ApiKey`` → ``api_key``). Parsing
from and rendering to that JSON, and validation with field-named errors, live in this module too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "AiConnectionString",
    "AiSettings",
    "AzureOpenAiSettings",
    "EmbeddedSettings",
    "GoogleSettings",
    "HuggingFaceSettings",
    "MistralAiSettings",
    "ModelType",
    "OllamaSettings",
    "OpenAiSettings",
    "VertexSettings",
]

ModelType = Literal["TextEmbeddings", "Chat"]
AiVersion = Literal["V1", "V1_Beta"]

DEFAULT_HUGGING_FACE_ENDPOINT = "https://api-inference.huggingface.co/"


@dataclass(frozen=True)
class HuggingFaceSettings:
    api_key: str
    model: str
    endpoint: str | None = None
    embeddings_max_concurrent_batches: int | None = None


@dataclass(frozen=True)
class OpenAiSettings:
    api_key: str
    endpoint: str
    model: str
    organization_id: str | None = None
    project_id: str | None = None
    dimensions: int | None = None
    temperature: float | None = None
    embeddings_max_concurrent_batches: int | None = None


@dataclass(frozen=True)
class AzureOpenAiSettings:
    api_key: str
    endpoint: str
    model: str
    deployment_name: str
    dimensions: int | None = None
    temperature: float | None = None
    embeddings_max_concurrent_batches: int | None = None


@dataclass(frozen=True)
class GoogleSettings:
    api_key: str
    model: str
    ai_version: AiVersion | None = None
    dimensions: int | None = None
    embeddings_max_concurrent_batches: int | None = None


@dataclass(frozen=True)
class VertexSettings:
    model: str
    google_credentials_json: str
    location: str
    ai_version: AiVersion | None = None
    embeddings_max_concurrent_batches: int | None = None


@dataclass(frozen=True)
class MistralAiSettings:
    api_key: str
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
