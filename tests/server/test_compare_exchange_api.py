"""Compare-exchange through the official client: operations by key, prefix and index, and the session's
cluster-wide transactions, atomic with the documents of the same batch."""

from __future__ import annotations

from typing import Any

import pytest
from ravendb import DocumentStore
from ravendb.documents.operations.compare_exchange.operations import (
    DeleteCompareExchangeValueOperation,
    GetCompareExchangeValueOperation,
    GetCompareExchangeValuesOperation,
    PutCompareExchangeValueOperation,
)
from ravendb.documents.session.misc import SessionOptions, TransactionMode
from ravendb.exceptions.raven_exceptions import ConcurrencyException
from ravendb.json.metadata_as_dictionary import MetadataAsDictionary


class User:
    # Lower-case fields: the client snake-cases stored names when it builds an object from fewer fields
    # than its constructor takes.
    def __init__(self, name: str | None = None) -> None:
        self.name = name


def cluster_wide() -> SessionOptions:
    return SessionOptions(transaction_mode=TransactionMode.CLUSTER_WIDE,
                          disable_atomic_document_writes_in_cluster_wide_transaction=True)


def test_put_get_and_delete_by_index(store: DocumentStore) -> None:
    metadata = MetadataAsDictionary({"Reason": "signup"})
    first = store.operations.send(PutCompareExchangeValueOperation("emails/ann", "users/1", 0, metadata))
    assert first.successful and first.index > 0
    refused = store.operations.send(PutCompareExchangeValueOperation("emails/ann", "users/2", 0))
    assert not refused.successful and refused.value == "users/1" and refused.index == first.index
    value = store.operations.send(GetCompareExchangeValueOperation("Emails/Ann", str))
    assert (value.key, value.value, value.metadata["Reason"]) == ("emails/ann", "users/1", "signup")
    assert store.operations.send(GetCompareExchangeValueOperation("emails/nobody", str)) is None
    store.operations.send(PutCompareExchangeValueOperation("emails/bob", "users/2", 0))
    by_prefix = store.operations.send(GetCompareExchangeValuesOperation.create_for_start_with("emails/"))
    assert sorted(by_prefix) == ["emails/ann", "emails/bob"]
    stale = store.operations.send(DeleteCompareExchangeValueOperation(str, "emails/ann", first.index + 100))
    assert not stale.successful
    assert store.operations.send(DeleteCompareExchangeValueOperation(str, "emails/ann", first.index)).successful
    assert store.operations.send(GetCompareExchangeValueOperation("emails/ann", str)) is None


def test_cluster_wide_sessions(store: DocumentStore) -> None:
    with store.open_session(session_options=cluster_wide()) as session:
        session.advanced.cluster_transaction.create_compare_exchange_value("usernames/ann", User("Ann"))
        session.store(User("Ann"), "users/1")
        session.save_changes()
    with store.open_session(session_options=cluster_wide()) as session:
        value = session.advanced.cluster_transaction.get_compare_exchange_value("usernames/ann", User)
        assert value.value.name == "Ann"
        value.value = User("Ann 2")
        session.save_changes()
    with store.open_session(session_options=cluster_wide()) as session:
        session.advanced.cluster_transaction.create_compare_exchange_value("usernames/ann", User("Thief"))
        session.store(User("Thief"), "users/2")
        with pytest.raises(ConcurrencyException, match="usernames/ann"):
            session.save_changes()
    with store.open_session() as session:
        assert session.load("users/2", User) is None  # refused with the value: nothing of the batch was written
    with store.open_session(session_options=cluster_wide()) as session:
        value = session.advanced.cluster_transaction.get_compare_exchange_value("usernames/ann", User)
        assert value.value.name == "Ann 2"
        session.advanced.cluster_transaction.delete_compare_exchange_value(value)
        session.save_changes()
    assert store.operations.send(GetCompareExchangeValueOperation("usernames/ann", dict)) is None


class Company:
    def __init__(self, name: str | None = None, external_id: str | None = None) -> None:
        self.name = name
        self.external_id = external_id


def test_a_query_includes_compare_exchange_values(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(Company("CF", "companies/cf"), "companies/1")
        session.store(Company("HR", "companies/none"), "companies/2")
        session.save_changes()
    store.operations.send(PutCompareExchangeValueOperation("companies/cf", User("Torun"), 0))
    with store.open_session(session_options=cluster_wide()) as session:
        stats: list[Any] = []  # the client fills each query's statistics as it answers
        query = session.query(object_type=Company).include(lambda b: b.include_compare_exchange_value("external_id"))
        companies = list(query.statistics(stats.append))
        requests = session.number_of_requests
        value = session.advanced.cluster_transaction.get_compare_exchange_value("companies/cf", User)
        missing = session.advanced.cluster_transaction.get_compare_exchange_value("companies/none", User)
        assert len(companies) == 2 and value is not None and value.value.name == "Torun" and missing is None
        assert session.number_of_requests == requests  # both came with the query
    current = store.operations.send(GetCompareExchangeValueOperation("companies/cf", dict))
    store.operations.send(PutCompareExchangeValueOperation("companies/cf", User("Bydgoszcz"), current.index))
    with store.open_session(session_options=cluster_wide()) as session:
        query = session.query(object_type=Company).include(lambda b: b.include_compare_exchange_value("external_id"))
        list(query.statistics(stats.append))
        value = session.advanced.cluster_transaction.get_compare_exchange_value("companies/cf", User)
        assert value is not None and value.value.name == "Bydgoszcz"
    assert stats[0].result_etag != stats[1].result_etag  # a changed value is a changed result
