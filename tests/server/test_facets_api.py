"""Facets through the official Python client: ``aggregate_by`` (fields, ranges, aggregations, options),
``aggregate_using`` a stored FacetSetup, lazily in a multi-get, on static and auto indexes, with includes;
bad facets answer RavenDB's ``InvalidQueryException``."""

from __future__ import annotations

import pytest
from ravendb import DocumentStore, Facet, RangeBuilder
from ravendb.documents.indexes.abstract_index_creation_tasks import AbstractIndexCreationTask
from ravendb.documents.queries.facets.definitions import FacetSetup
from ravendb.documents.queries.facets.misc import FacetOptions, FacetTermSortMode
from ravendb.exceptions.raven_exceptions import RavenException

pytestmark = pytest.mark.slow


class Order:
    def __init__(self, product: str = "", total: float = 0.0, quantity: int = 0, region: int | None = None,
                 customer: str = "") -> None:
        self.product = product
        self.total = total
        self.quantity = quantity
        self.region = region
        self.customer = customer


class Customer:
    def __init__(self, name: str = "") -> None:
        self.name = name


class Orders_All(AbstractIndexCreationTask):
    def __init__(self) -> None:
        super().__init__()
        self.map = "docs.Orders.Select(o => new { o.product, o.total, o.quantity, o.region, o.customer })"


def seed(store: DocumentStore) -> None:
    Orders_All().execute(store)
    with store.open_session() as session:
        session.store(Customer("Ann"), "customers/1")
        for number, (product, total, quantity, region) in enumerate(
                [("Milk", 3, 3, 1), ("Milk", 9, 5, None), ("iPhone", 3333, 7777, 1), ("Bread", 1.5, 2, 2)]):
            session.store(Order(product, total, quantity, region, "customers/1"), f"orders/{number}")
        session.save_changes()


def test_fields_ranges_and_aggregations_on_a_static_index(store: DocumentStore) -> None:
    seed(store)
    total = RangeBuilder.for_path("total")
    with store.open_session() as session:
        results = (session.query_index_type(Orders_All, Order).wait_for_non_stale_results()
                   .aggregate_by(lambda f: f.by_field("product").sum_on("total").average_on("total")
                                 .max_on("quantity", "Q"))
                   .and_aggregate_by(lambda f: f.by_field("region"))
                   .and_aggregate_by(lambda f: f.by_ranges(total.is_less_than(10),
                                                           total.is_greater_than_or_equal_to(10).is_less_than(100),
                                                           total.is_greater_than_or_equal_to(100)))
                   .execute())
    by_total = {(v.range_, v.name): v for v in results["product"].values}
    assert sorted(by_total) == [("bread", "Q"), ("bread", "total"), ("iphone", "Q"), ("iphone", "total"),
                                ("milk", "Q"), ("milk", "total")]
    milk = by_total[("milk", "total")]
    assert (milk.count_, milk.sum_, milk.average_, milk.max_) == (2, 12, 6, None)
    assert by_total[("iphone", "Q")].max_ == 7777 and by_total[("iphone", "Q")].sum_ is None
    assert [(v.range_, v.count_) for v in results["region"].values] == [("1", 2), ("2", 1), ("NULL_VALUE", 1)]
    assert [(v.range_, v.count_) for v in results["total"].values] == [
        ("total < 10", 3), ("total >= 10 and total < 100", 0), ("total >= 100", 1)]


def test_options_and_a_stored_facet_setup(store: DocumentStore) -> None:
    seed(store)
    options = FacetOptions()
    options.term_sort_mode = FacetTermSortMode.COUNT_DESC
    options.page_size = 1
    options.include_remaining_terms = True
    facet = Facet(field_name="product")
    facet.options = options
    with store.open_session() as session:
        session.store(FacetSetup([facet]), "facets/orders")
        session.save_changes()
        paged = (session.query_index_type(Orders_All, Order).wait_for_non_stale_results()
                 .aggregate_by(lambda f: f.by_field("product").with_options(options)).execute())["product"]
        stored = session.query_index_type(Orders_All, Order).aggregate_using("facets/orders").execute()["product"]
    for result in (paged, stored):
        assert [(v.range_, v.count_) for v in result.values] == [("milk", 2)]
        assert (result.remaining_terms, result.remaining_terms_count, result.remaining_hits) == (
            ["bread", "iphone"], 2, 2)


def test_lazily_dynamically_and_with_includes(store: DocumentStore) -> None:
    seed(store)
    with store.open_session() as session:
        lazy = (session.query_collection("Orders", Order).where_greater_than("total", 2).include("customer")
                .aggregate_by(lambda f: f.by_field("customer").with_display_name("Customers")).execute_lazy())
        counts = {v.range_: v.count_ for v in lazy.value["Customers"].values}
        assert counts == {"customers/1": 3}
        assert session.load("customers/1", Customer).name == "Ann"
        assert session.advanced.number_of_requests == 1


def test_bad_facets_answer_invalid_query(store: DocumentStore) -> None:
    seed(store)
    with store.open_session() as session:
        with pytest.raises(RavenException, match="InvalidQueryException"):
            session.query_index_type(Orders_All, Order).aggregate_using("facets/missing").execute()
        with pytest.raises(RavenException, match="InvalidQueryException"):
            list(session.advanced.raw_query("from index 'Orders/All' select facet(total = 3)", dict))
