"""The fallback schedule, capped by Ai.Embeddings.MaxFallbackTimeInSec, and failure classification."""

from __future__ import annotations

import pytest

from rookdb.ai.embeddings.failure_policy import (
    DEFAULT_FALLBACK_SCHEDULE,
    FailureKind,
    FallbackPolicy,
    Step,
    classify,
    step_of,
)
from rookdb.errors import (
    AiAuthenticationError,
    AiBadRequestError,
    AiConfigurationError,
    AiRateLimitError,
    AiUnavailableError,
    StorageError,
)


def test_the_schedule_is_written_down_and_capped() -> None:
    policy = FallbackPolicy(max_fallback_seconds=900)
    assert [policy.on_failure() for _ in range(11)] == [*DEFAULT_FALLBACK_SCHEDULE, 900.0, 900.0]
    assert DEFAULT_FALLBACK_SCHEDULE == (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0)


def test_max_fallback_time_caps_every_wait() -> None:
    policy = FallbackPolicy(max_fallback_seconds=1.0)
    assert [policy.on_failure() for _ in range(4)] == [1.0, 1.0, 1.0, 1.0]


def test_retry_after_is_honoured_when_longer_but_still_capped() -> None:
    policy = FallbackPolicy(max_fallback_seconds=60)
    assert policy.on_failure(retry_after=20) == 20
    assert policy.on_failure(retry_after=2) == 5
    assert policy.on_failure(retry_after=600) == 60


def test_success_resets_the_count() -> None:
    policy = FallbackPolicy(max_fallback_seconds=900)
    policy.on_failure()
    policy.on_failure()
    policy.on_success()
    assert policy.failures == 0 and policy.on_failure() == DEFAULT_FALLBACK_SCHEDULE[0]


@pytest.mark.parametrize(("error", "kind"), [
    (AiUnavailableError("down", provider_status=503), FailureKind.CONNECTION),
    (AiUnavailableError("connection dropped"), FailureKind.CONNECTION),
    (AiRateLimitError("slow down", retry_after=3), FailureKind.CONNECTION),
    (AiBadRequestError("bad input", provider_status=422), FailureKind.ITEM),
    (AiConfigurationError("no URL"), FailureKind.CONFIGURATION),
    (AiAuthenticationError("bad key", provider_status=401), FailureKind.BATCH),
    (StorageError("disk full"), FailureKind.BATCH),
])
def test_classify(error: Exception, kind: FailureKind) -> None:
    assert classify(error) is kind


def test_steps_of_batch_failures() -> None:
    assert step_of(AiUnavailableError("x")) is Step.MODEL_INFERENCE
    assert step_of(StorageError("x")) is Step.PERSISTENCE
    assert step_of(RuntimeError("x")) is Step.UNKNOWN
