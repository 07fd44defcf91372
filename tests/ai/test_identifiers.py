import random
import string

import pytest
from ravendb.documents.operations.ai.ai_task_identifier_helper import AiTaskIdentifierHelper

from rookdb.ai.identifiers import (
    CONNECTION_STRING_FALLBACK_IDENTIFIER,
    TASK_FALLBACK_IDENTIFIER,
    generate_identifier,
    identifier_problems,
    validate_identifier,
)
from rookdb.errors import ValidationError


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("My connection string to Google AI", "my-connection-string-to-google-ai"),
        ("Generate embeddings from OpenAI", "generate-embeddings-from-openai"),
        ("ConnectionStringToHuggingFace", "connectionstringtohuggingface"),
        ("  leading and trailing  ", "leading-and-trailing"),
        ("a--b__c", "a-b-c"),
        ("--start", "start"),
        ("end!!!", "end"),
        ("Café", "cafe"),
        ("naïve user", "nai-ve-user"),
        ("v2.0 (beta)", "v2-0-beta"),
        ("123", "123"),
        ("ÅNGSTRÖM", "a-ngstro-m"),
        ("x", "x"),
    ],
)
def test_generate_identifier_table(name: str, expected: str) -> None:
    assert generate_identifier(name) == expected
    assert AiTaskIdentifierHelper.generate_identifier(name) == expected


@pytest.mark.parametrize("name", ["", "   ", "\t\n", None])
def test_generate_identifier_returns_none_for_blank_names(name: str | None) -> None:
    assert generate_identifier(name) is None


@pytest.mark.parametrize("name", ["Соединение", "嵌入", "!!!", "ß"])
def test_generate_identifier_falls_back_to_a_valid_identifier(name: str) -> None:
    assert generate_identifier(name) == CONNECTION_STRING_FALLBACK_IDENTIFIER
    assert generate_identifier(name, fallback=TASK_FALLBACK_IDENTIFIER) == TASK_FALLBACK_IDENTIFIER
    # The client refuses such names outright; we keep a fallback, and it must pass validation.
    assert AiTaskIdentifierHelper.try_generate_identifier(name) is None
    validate_identifier(CONNECTION_STRING_FALLBACK_IDENTIFIER)
    validate_identifier(TASK_FALLBACK_IDENTIFIER)


def _random_names(count: int) -> list[str]:
    rng = random.Random(20240611)
    alphabet = string.ascii_letters + string.digits + " -_.!/éÉüßΩЖ中\u0301\t"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24))) for _ in range(count)]


@pytest.mark.parametrize("name", _random_names(300))
def test_generate_identifier_matches_client(name: str) -> None:
    expected = AiTaskIdentifierHelper.try_generate_identifier(name)
    actual = generate_identifier(name)
    if expected is None and not name.isspace():
        assert actual == CONNECTION_STRING_FALLBACK_IDENTIFIER
    else:
        assert actual == expected
    if actual is not None:
        assert identifier_problems(actual) == []


@pytest.mark.parametrize(
    ("value", "problems"),
    [
        ("my-id", []),
        ("a", []),
        ("id-for-task-open-ai", []),
        ("0-9", []),
        ("", ["cannot be empty or whitespace"]),
        ("   ", ["cannot be empty or whitespace"]),
        ("My-Id", ["contains uppercase letters", "contains invalid characters 'I', 'M'"]),
        ("a--b", ["contains consecutive hyphens"]),
        ("ab-", ["ends with a hyphen"]),
        ("a_b", ["contains invalid characters '_'"]),
        ("café", ["contains diacritical marks", "contains invalid characters 'é'"]),
        ("a b--", ["contains invalid characters ' '", "contains consecutive hyphens", "ends with a hyphen"]),
    ],
)
def test_identifier_problems_table(value: str, problems: list[str]) -> None:
    found = identifier_problems(value)
    assert len(found) == len(problems)
    for phrase, expected in zip(found, problems, strict=True):
        assert phrase.startswith(expected)
    client_valid, client_errors = AiTaskIdentifierHelper.validate_identifier(value)
    assert client_valid == (problems == [])
    assert len(client_errors) == len(problems)


@pytest.mark.parametrize("value", _random_names(200))
def test_validation_agrees_with_client(value: str) -> None:
    client_valid, client_errors = AiTaskIdentifierHelper.validate_identifier(value)
    assert (identifier_problems(value) == []) == client_valid
    assert len(identifier_problems(value)) == len(client_errors)


def test_validate_identifier_names_field_and_rule() -> None:
    with pytest.raises(ValidationError) as raised:
        validate_identifier("Bad--", field="Identifier")
    error = raised.value
    assert error.field == "Identifier"
    assert "uppercase" in error.message
    assert "consecutive hyphens" in error.message
    assert "ends with a hyphen" in error.message
    assert error.extra_fields() == {"Field": "Identifier"}


def test_validate_identifier_accepts_valid_value() -> None:
    validate_identifier("generate-embeddings-from-openai")
