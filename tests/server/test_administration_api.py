"""Server and database administration through the official client: the record, lock modes, disabling,
client configuration, identities, statistics, compaction and killing a bulk insert."""

from __future__ import annotations

import logging
import time

import httpx
import pytest
from ravendb import DocumentStore, GetDatabaseRecordOperation
from ravendb.documents.operations.compact import CompactDatabaseOperation
from ravendb.documents.operations.configuration.definitions import ClientConfiguration
from ravendb.documents.operations.configuration.operations import (
    GetClientConfigurationOperation,
    GetServerWideClientConfigurationOperation,
    PutClientConfigurationOperation,
    PutServerWideClientConfigurationOperation,
)
from ravendb.documents.operations.identities import (
    GetIdentitiesOperation,
    NextIdentityForOperation,
    SeedIdentityForOperation,
)
from ravendb.documents.operations.server_misc import ToggleDatabasesStateOperation
from ravendb.documents.operations.statistics import (
    GetCollectionStatisticsOperation,
    GetDetailedStatisticsOperation,
    GetStatisticsOperation,
)
from ravendb.exceptions.documents.bulkinsert import BulkInsertAbortedException
from ravendb.http.misc import ReadBalanceBehavior
from ravendb.serverwide.database_record import DatabaseRecord
from ravendb.serverwide.misc import CompactSettings
from ravendb.serverwide.operations.common import (
    CreateDatabaseOperation,
    DeleteDatabaseOperation,
    PromoteDatabaseNodeOperation,
    ReorderDatabaseMembersOperation,
)
from ravendb.serverwide.operations.ongoing_tasks import SetDatabasesLockOperation

from rookdb.server.runner import BackgroundServer
from tests.support.stores import StoreFactory


class User:
    def __init__(self, Name: str | None = None, Id: str | None = None) -> None:
        self.Name = Name
        self.Id = Id


def test_the_record_carries_every_field_both_clients_read(store: DocumentStore) -> None:
    record = store.maintenance.server.send(GetDatabaseRecordOperation(store.database))
    assert record.lock_mode == DatabaseRecord.DatabaseLockMode.UNLOCK
    assert record.disabled is False and record.topology["Members"] == ["A"]


class Genre:
    def __init__(self, name: str = "") -> None:
        self.name = name


def test_the_record_lists_the_auto_indexes(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(Genre("Fantasy"), "genres/1")
        session.save_changes()
        assert len(list(session.advanced.raw_query("from Genres where name = 'Fantasy' and search(title, 'x')")))\
            == 0
    auto = store.maintenance.server.send(GetDatabaseRecordOperation(store.database)).auto_indexes
    definition = auto["Auto/Genres/BynameAndSearch(title)"]
    assert (definition.name, definition.collection, definition.index_type.value) == (
        "Auto/Genres/BynameAndSearch(title)", "Genres", "AutoMap")
    assert {name: options.indexing.value for name, options in definition.map_fields.items()} == {
        "name": "Default", "title": "Search"}
    assert definition.group_by_fields == {}


def test_lock_modes_govern_deletion(store: DocumentStore) -> None:
    name = store.database + "_locked"
    server = store.maintenance.server
    with pytest.raises(RuntimeError):
        server.send(SetDatabasesLockOperation(name, DatabaseRecord.DatabaseLockMode.PREVENT_DELETES_ERROR))
    server.send(CreateDatabaseOperation(DatabaseRecord(name)))
    server.send(SetDatabasesLockOperation(name, DatabaseRecord.DatabaseLockMode.PREVENT_DELETES_ERROR))
    assert server.send(GetDatabaseRecordOperation(name)).lock_mode == \
        DatabaseRecord.DatabaseLockMode.PREVENT_DELETES_ERROR
    with pytest.raises(RuntimeError, match="cannot be deleted because of the set lock mode"):
        server.send(DeleteDatabaseOperation(name, True))
    server.send(SetDatabasesLockOperation(name, DatabaseRecord.DatabaseLockMode.PREVENT_DELETES_IGNORE))
    assert server.send(DeleteDatabaseOperation(name, True)).raft_command_index == -1
    assert server.send(GetDatabaseRecordOperation(name)) is not None
    server.send(SetDatabasesLockOperation(name, DatabaseRecord.DatabaseLockMode.UNLOCK))
    server.send(DeleteDatabaseOperation(name, True))
    assert server.send(GetDatabaseRecordOperation(name)) is None


def test_a_disabled_database_is_reported_and_comes_back(new_store: StoreFactory) -> None:
    store = new_store()
    with store.open_session() as session:
        session.store(User("Ann"), "users/1")
        session.save_changes()
    result = store.maintenance.server.send(ToggleDatabasesStateOperation(store.database, True))
    assert (result.name, result.success, result.disabled) == (store.database, True, True)
    assert store.maintenance.server.send(GetDatabaseRecordOperation(store.database)).disabled is True
    store.maintenance.server.send(ToggleDatabasesStateOperation(store.database, False))
    with store.open_session() as session:
        assert session.load("users/1", User).Name == "Ann"


def test_client_configuration_per_database_and_server_wide(store: DocumentStore) -> None:
    assert store.maintenance.send(GetClientConfigurationOperation()).configuration is None
    configuration = ClientConfiguration()
    configuration.max_number_of_requests_per_session = 80
    configuration.read_balance_behavior = ReadBalanceBehavior.FASTEST_NODE
    configuration.disabled = True
    store.maintenance.send(PutClientConfigurationOperation(configuration))
    result = store.maintenance.send(GetClientConfigurationOperation())
    assert result.etag is not None and result.configuration.disabled is True
    assert result.configuration.max_number_of_requests_per_session == 80
    assert result.configuration.read_balance_behavior == ReadBalanceBehavior.FASTEST_NODE

    server_wide = ClientConfiguration()
    server_wide.max_number_of_requests_per_session = 40
    server_wide.disabled = True  # disabled: it must not reach the other tests' sessions
    store.maintenance.server.send(PutServerWideClientConfigurationOperation(server_wide))
    read = store.maintenance.server.send(GetServerWideClientConfigurationOperation())
    assert (read.disabled, read.max_number_of_requests_per_session) == (True, 40)


def test_identities_next_seed_and_list(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(User("Adi"), "users|")
        session.save_changes()
    assert store.maintenance.send(NextIdentityForOperation("users")) == 2
    assert store.maintenance.send(SeedIdentityForOperation("users", 1990)) == 1990
    assert store.maintenance.send(SeedIdentityForOperation("users", 1975)) == 1990
    assert store.maintenance.send(SeedIdentityForOperation("users", 1975, True)) == 1975
    assert store.maintenance.send(NextIdentityForOperation("person|")) == 1
    assert store.maintenance.send(GetIdentitiesOperation()) == {"person|": 1, "users|": 1975}
    with store.open_session() as session:
        user = User("Avivi")
        session.store(user, "users|")
        session.save_changes()
        assert user.Id == "users/1976"


def test_statistics(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(User("Ann"), "users/1")
        session.store(User("Bob"), "people|")
        session.save_changes()
    stats = store.maintenance.send(GetStatisticsOperation())
    assert stats.count_of_documents == 2 and stats.last_doc_etag > 0 and stats.database_id
    assert stats.size_on_disk.size_in_bytes > 0
    detailed = store.maintenance.send(GetDetailedStatisticsOperation())
    assert (detailed.count_of_identities, detailed.count_of_compare_exchange) == (1, 0)
    collections = store.maintenance.send(GetCollectionStatisticsOperation())
    assert collections.count_of_documents == 2 and collections.collections == {"Users": 2}


def test_compaction_completes(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(User("Ann"), "users/1")
        session.save_changes()
    settings = CompactSettings()
    settings.database_name = store.database
    settings.documents = True
    store.maintenance.server.send_async(CompactDatabaseOperation(settings)).wait_for_completion()
    with store.open_session() as session:
        assert session.load("users/1", User).Name == "Ann"


def test_an_aborted_bulk_insert_fails(store: DocumentStore) -> None:
    with pytest.raises(BulkInsertAbortedException), store.bulk_insert() as bulk_insert:
        bulk_insert.store(User("first"))
        time.sleep(0.1)
        bulk_insert.abort()
        bulk_insert.store(User("second"))


def test_promoting_the_only_member_changes_nothing(store: DocumentStore) -> None:
    result = store.maintenance.server.send(PromoteDatabaseNodeOperation(store.database, "A"))
    assert result.name == store.database and result.topology.members == ["A"]
    with pytest.raises(RuntimeError, match="not part of the topology"):
        store.maintenance.server.send(PromoteDatabaseNodeOperation(store.database, "B"))


@pytest.mark.parametrize("order", [["B"], ["A", "B"], ["A", "A"]])
def test_reordering_must_name_exactly_the_members(store: DocumentStore, order: list[str]) -> None:
    store.maintenance.server.send(ReorderDatabaseMembersOperation(store.database, ["A"]))
    with pytest.raises(RuntimeError, match="existing members"):
        store.maintenance.server.send(ReorderDatabaseMembersOperation(store.database, order))


def test_logs_configuration(server: BackgroundServer) -> None:
    url = f"{server.url}/admin/logs/configuration"
    before = httpx.get(url).json()
    assert (before["CurrentMode"], before["Mode"]) == ("None", "None")
    try:
        assert httpx.post(url, json={"Mode": "Information", "RetentionTime": "1000.00:00:00"}).status_code == 204
        after = httpx.get(url).json()
        assert (after["CurrentMode"], after["Mode"], after["RetentionTime"]) == ("Information", "None",
                                                                                 "1000.00:00:00")
        assert logging.getLogger("rookdb").level == logging.DEBUG
        assert httpx.post(url, json={"Mode": "Loud"}).status_code == 400
    finally:
        httpx.post(url, json={"Mode": before["Mode"]})
    assert logging.getLogger("rookdb").level == logging.WARNING
