"""Documents through the official client: store, load, update, delete, concurrency, HiLo, bulk insert."""

from __future__ import annotations

import httpx
import pytest
from ravendb import DocumentStore
from ravendb.documents.commands.crud import HeadDocumentCommand
from ravendb.exceptions.raven_exceptions import ConcurrencyException, RavenException
from ravendb.infrastructure.operations import CreateSampleDataOperation

from rookdb.server.runner import BackgroundServer


class Product:
    def __init__(self, Name: str | None = None, PricePerUnit: float | None = None,
                 Supplier: str | None = None, Id: str | None = None) -> None:
        self.Name = Name
        self.PricePerUnit = PricePerUnit
        self.Supplier = Supplier
        self.Id = Id


class Supplier:
    def __init__(self, Name: str | None = None, Id: str | None = None) -> None:
        self.Name = Name
        self.Id = Id


def test_store_load_update_delete(store: DocumentStore) -> None:
    with store.open_session() as session:
        product = Product("Chai", 18.0)
        session.store(product)
        session.save_changes()
        product_id = product.Id
    assert product_id == "products/1-A"
    with store.open_session() as session:
        loaded = session.load(product_id, Product)
        assert (loaded.Name, loaded.PricePerUnit) == ("Chai", 18.0)
        first_change_vector = session.advanced.get_change_vector_for(loaded)
        loaded.PricePerUnit = 20.0
        session.save_changes()
    with store.open_session() as session:
        loaded = session.load(product_id.upper(), Product)
        assert loaded.PricePerUnit == 20.0
        assert loaded.Id == product_id
        assert session.advanced.get_change_vector_for(loaded) != first_change_vector
        metadata = session.advanced.get_metadata_for(loaded)
        assert metadata["@collection"] == "Products"
        assert metadata["Raven-Python-Type"].endswith(".Product")
        session.delete(product_id)
        session.save_changes()
    with store.open_session() as session:
        assert session.load(product_id, Product) is None


def test_missing_document_loads_as_none(store: DocumentStore) -> None:
    with store.open_session() as session:
        assert session.load("products/404", Product) is None
        loaded = session.load(["products/404", "products/405"], Product)
        assert loaded == {"products/404": None, "products/405": None}


def test_load_with_include_needs_one_request(store: DocumentStore) -> None:
    with store.open_session() as session:
        supplier = Supplier("Exotic Liquids")
        session.store(supplier, "suppliers/1")
        session.store(Product("Chai", 18.0, "suppliers/1"), "products/1")
        session.save_changes()
    with store.open_session() as session:
        # The client returns a dict keyed by id from include().load(), even for one id.
        product = session.include("Supplier").load("products/1", Product)["products/1"]
        supplier = session.load(product.Supplier, Supplier)
        assert supplier.Name == "Exotic Liquids"
        assert session.advanced.number_of_requests == 1


def test_optimistic_concurrency_conflict(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(Product("Chai", 18.0), "products/1")
        session.save_changes()
    with store.open_session() as first, store.open_session() as second:
        first.advanced.use_optimistic_concurrency = True
        second.advanced.use_optimistic_concurrency = True
        mine = first.load("products/1", Product)
        theirs = second.load("products/1", Product)
        mine.PricePerUnit = 19.0
        first.save_changes()
        theirs.PricePerUnit = 21.0
        with pytest.raises(ConcurrencyException, match="Optimistic concurrency violation"):
            second.save_changes()
    with store.open_session() as session:
        assert session.load("products/1", Product).PricePerUnit == 19.0


def test_new_document_with_empty_change_vector_must_not_exist(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(Product("Chai"), "products/1")
        session.save_changes()
    with store.open_session() as session:
        session.advanced.use_optimistic_concurrency = True
        session.store(Product("Impostor"), "products/1")
        with pytest.raises(ConcurrencyException):
            session.save_changes()
    with store.open_session() as session:
        session.store(Product("Other"), "products/2", "A:999-bogus")
        with pytest.raises(ConcurrencyException):
            session.save_changes()


def test_hilo_ids_are_unique_across_stores(new_store: DocumentStore, server: BackgroundServer) -> None:
    first = new_store()
    second = DocumentStore(urls=[server.url], database=first.database)
    second.initialize()
    ids: set[str | None] = set()
    try:
        for current in (first, second, first):
            with current.open_session() as session:
                products = [Product(f"p{number}") for number in range(40)]
                for product in products:
                    session.store(product)
                session.save_changes()
                ids.update(product.Id for product in products)
    finally:
        second.close()
    assert len(ids) == 120
    assert all(product_id is not None and product_id.startswith("products/") and product_id.endswith("-A")
               for product_id in ids)


def test_server_generated_ids(store: DocumentStore) -> None:
    with store.open_session() as session:
        by_etag = Product("Etag")
        session.store(by_etag, "products/")
        identity = Product("Identity")
        session.store(identity, "products|")
        session.save_changes()
    assert by_etag.Id is not None
    assert by_etag.Id.startswith("products/") and by_etag.Id.endswith("-A") and len(by_etag.Id) > 20
    assert identity.Id == "products/1"
    with store.open_session() as session:
        assert session.load(by_etag.Id, Product).Name == "Etag"


def test_bulk_insert(store: DocumentStore) -> None:
    with store.bulk_insert() as bulk:
        for number in range(2000):
            bulk.store(Product(f"bulk {number}", float(number)))
    with store.open_session() as session:
        assert session.query(object_type=Product).count() == 2000
        loaded = session.load("products/1500-A", Product)
        assert loaded is not None and loaded.PricePerUnit is not None


def test_load_starting_with(store: DocumentStore) -> None:
    with store.open_session() as session:
        for number in range(1, 6):
            session.store(Product(f"p{number}"), f"products/{number}")
        session.store(Supplier("s"), "suppliers/1")
        session.save_changes()
    with store.open_session() as session:
        loaded = session.advanced.load_starting_with("products/", Product, start=1, page_size=2)
        assert [product.Id for product in loaded] == ["products/2", "products/3"]


def test_head_answers_with_the_change_vector_and_no_body(store: DocumentStore, server: BackgroundServer) -> None:
    with store.open_session() as session:
        session.store(Product("Chai"), "products/1")
        session.save_changes()
        change_vector = session.advanced.get_change_vector_for(session.load("products/1", Product))
    with store.open_session() as session:
        assert session.advanced.exists("products/1") and not session.advanced.exists("products/2")
    head = HeadDocumentCommand("products/1", None)
    store.get_request_executor().execute_command(head)
    assert head.result == change_vector
    url = f"{server.url}/databases/{store.database}/docs"
    answered = httpx.head(url, params={"id": "products/1"})
    assert (answered.status_code, answered.headers["ETag"], answered.content) == (200, f'"{change_vector}"', b"")
    assert "Content-Type" not in answered.headers  # the handler's own answer, not a GET without its body
    for if_none_match in (change_vector, f'"{change_vector}"'):  # bare as the official client sends it, or quoted
        assert httpx.head(url, params={"id": "products/1"},
                          headers={"If-None-Match": if_none_match}).status_code == 304
    assert httpx.head(url, params={"id": "products/1"}, headers={"If-None-Match": '"A:1-other"'}).status_code == 200


def test_head_and_raw_http(store: DocumentStore, server: BackgroundServer) -> None:
    with store.open_session() as session:
        session.store(Product("Chai"), "products/1")
        session.save_changes()
    base = f"{server.url}/databases/{store.database}"
    assert httpx.head(f"{base}/docs", params={"id": "PRODUCTS/1"}).status_code == 200
    assert httpx.head(f"{base}/docs", params={"id": "products/2"}).status_code == 404
    stats = httpx.get(f"{base}/stats").json()
    assert stats["CountOfDocuments"] == 1 and stats["Collections"] == {"Products": 1}


def test_sample_data_goes_only_into_an_empty_database(store: DocumentStore) -> None:
    store.maintenance.send(CreateSampleDataOperation())
    with store.open_session() as session:
        assert session.query_collection("Products").count() == 77
    with pytest.raises(RavenException, match="You cannot create sample data in a database that already contains"):
        store.maintenance.send(CreateSampleDataOperation())
