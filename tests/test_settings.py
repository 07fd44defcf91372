"""Settings: declared once, validated by key, and documented."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from rookdb.errors import ValidationError
from rookdb.settings import SETTINGS, Settings, env_name

DOCS = Path(__file__).resolve().parents[1] / "docs" / "settings.md"


def test_defaults() -> None:
    settings = Settings(environ={})
    assert settings["Ai.Embeddings.MaxBatchSize"] == 128
    assert settings["Ai.Embeddings.MaxConcurrentBatches"] == 4
    assert settings["Ai.Embeddings.MaxFallbackTimeInSec"] == 900.0
    assert settings["Indexing.Corax.VectorSearch.VectorSearchScanningThreshold"] == 1024


def test_environment_and_overrides() -> None:
    environ = {env_name("Ai.Embeddings.MaxBatchSize"): "64", env_name("Security.UnsecuredAccessAllowed"): "true"}
    settings = Settings(environ=environ)
    assert settings["Ai.Embeddings.MaxBatchSize"] == 64
    assert settings["Security.UnsecuredAccessAllowed"] is True
    assert Settings({"Ai.Embeddings.MaxBatchSize": 7}, environ=environ)["Ai.Embeddings.MaxBatchSize"] == 7


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"Ai.Embeddings.MaxBatchSize": "many"}, "Ai.Embeddings.MaxBatchSize"),
        ({"Ai.Embeddings.MaxConcurrentBatches": 0}, "Ai.Embeddings.MaxConcurrentBatches"),
        ({"Security.UnsecuredAccessAllowed": "maybe"}, "Security.UnsecuredAccessAllowed"),
        ({"No.Such.Setting": 1}, "No.Such.Setting"),
    ],
)
def test_bad_values_name_the_key(overrides: dict[str, object], key: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(overrides, environ={})
    assert raised.value.field == key


def test_the_typed_view_declares_every_setting_with_its_type() -> None:
    typed = {}
    for overload in typing.get_overloads(Settings.__getitem__):
        hints = typing.get_type_hints(overload)
        (key,) = typing.get_args(hints["key"])
        typed[key] = hints["return"]
    assert typed == {setting.key: setting.type for setting in SETTINGS}


def test_every_setting_is_documented() -> None:
    text = DOCS.read_text()
    missing = [setting.key for setting in SETTINGS if f"`{setting.key}`" not in text]
    assert not missing, f"document these in docs/settings.md: {missing}"
