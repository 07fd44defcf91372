from types import ModuleType

import rookdb.indexes.vector as package


def test_all_is_sorted_and_names_every_public_member() -> None:
    assert package.__all__ == sorted(package.__all__)
    public = {
        name for name, value in vars(package).items() if not name.startswith("_") and not isinstance(value, ModuleType)
    }
    assert public == set(package.__all__)
