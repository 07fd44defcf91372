"""Identifiers of AI connection strings and AI tasks: generated from a name, then validated.

An identifier appears in document ids (``embeddings-cache/<identifier>/...``), in RQL
(``ai.task('<identifier>')``) and as a property name in ``@embeddings`` documents, so it is kept to
``[a-z0-9-]``. The algorithm is the one of RavenDB's ``AiTaskIdentifierHelper``.
"""

from __future__ import annotations

import unicodedata

from rookdb.errors import ValidationError

__all__ = [
    "CONNECTION_STRING_FALLBACK_IDENTIFIER",
    "TASK_FALLBACK_IDENTIFIER",
    "generate_identifier",
    "identifier_problems",
    "validate_identifier",
]

# RavenDB's generator fell back to "AiConnectionStringIdentifier" for names without any ASCII letter
# or digit, which its own validator rejects (uppercase); the newer client raises instead. We keep a
# fallback, so that a name like "Соединение" still yields a usable identifier, but spell it so that
# it passes validation. Two such names in one database then collide and the uniqueness check asks
# the user to set an identifier explicitly, which is the same outcome the client's exception forces.
CONNECTION_STRING_FALLBACK_IDENTIFIER = "ai-connection-string-identifier"
TASK_FALLBACK_IDENTIFIER = "ai-task-identifier"


def generate_identifier(name: str | None, fallback: str = CONNECTION_STRING_FALLBACK_IDENTIFIER) -> str | None:
    """Derive an identifier from ``name``: ``"My Google AI"`` → ``"my-google-ai"``.

    Returns ``None`` for an empty or whitespace-only name, and ``fallback`` when the name has no
    ASCII letter or digit to keep.
    """
    if not name or name.isspace():
        return None
    out: list[str] = []
    # NFD splits "é" into "e" + a combining accent, so the letter survives and the accent becomes
    # a separator, exactly as RavenDB does ("naïve" → "nai-ve").
    for char in unicodedata.normalize("NFD", name):
        if "a" <= char <= "z" or "0" <= char <= "9":
            out.append(char)
        elif "A" <= char <= "Z":
            out.append(char.lower())
        elif out and out[-1] != "-":
            out.append("-")
    identifier = "".join(out).rstrip("-")
    return identifier or fallback


def identifier_problems(value: str | None) -> list[str]:
    """Every rule ``value`` breaks, as short phrases; an empty list means it is valid."""
    if not value or value.isspace():
        return ["cannot be empty or whitespace"]
    problems: list[str] = []
    if unicodedata.normalize("NFD", value) != value:
        problems.append("contains diacritical marks or non-ASCII characters")
    if any(char.isupper() for char in value):
        problems.append("contains uppercase letters")
    invalid = sorted({c for c in value if not ("a" <= c <= "z" or "0" <= c <= "9" or c == "-")})
    if invalid:
        listed = ", ".join(repr(c) for c in invalid)
        problems.append(f"contains invalid characters {listed}; only a-z, 0-9 and '-' are allowed")
    if "--" in value:
        problems.append("contains consecutive hyphens")
    if value.endswith("-"):
        problems.append("ends with a hyphen")
    return problems


def validate_identifier(value: str | None, field: str = "Identifier") -> None:
    """Raise ``ValidationError`` naming ``field`` and every broken rule when ``value`` is invalid."""
    problems = identifier_problems(value)
    if problems:
        raise ValidationError(field, f"'{value}' is not a valid identifier: " + "; ".join(problems) + ".")
