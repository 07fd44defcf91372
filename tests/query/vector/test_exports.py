import rookdb.query.vector as package


def test_all_is_sorted_and_names_every_public_member() -> None:
    assert package.__all__ == sorted(package.__all__)
    public = {name for name in vars(package) if not name.startswith("_")}
    modules = {"exact", "index", "kinds"}
    assert public - modules == set(package.__all__)
