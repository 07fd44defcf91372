"""Syntax-tree nodes: the nodes of a kind below a node, found once."""

from __future__ import annotations

from rookdb.query import ast
from rookdb.query.parser import parse_query


def test_nodes_of_a_kind_come_in_walk_order_and_are_found_once() -> None:
    query = parse_query("from Products where Name = $a or (search(Desc, $b) and Price > $a) order by Price limit $c")
    parameters = query.nodes_of(ast.Parameter)
    assert [parameter.name for parameter in parameters] == \
        [node.name for node in query.walk() if isinstance(node, ast.Parameter)] == ["a", "b", "a", "c"]
    assert query.nodes_of(ast.Parameter) is parameters  # kept on the node: the parser shares parsed queries
    assert query.parameters() == parameters
    where = query.where
    assert where is not None
    assert [type(node) for node in where.nodes_of((ast.Search, ast.Comparison))] == \
        [ast.Comparison, ast.Search, ast.Comparison]
    assert where.nodes_of(ast.VectorSearch) == ()
