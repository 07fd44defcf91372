"""Additional assemblies: the runtime's own accepted by name, anything needing .NET refused as RavenDB words it."""

from __future__ import annotations

from typing import Any

import pytest

from rookdb.errors import BadRequestError, IndexCompilationError
from rookdb.indexes.static.assemblies import normalize_assemblies


def test_runtime_assemblies_and_usings_are_kept_as_sent() -> None:
    sent = [{"AssemblyName": "System.Xml"}, {"AssemblyName": "system.private.xml, Version=8.0.0.0"},
            {"Usings": ["System.Xml"]}]
    kept = normalize_assemblies(sent)
    assert [entry["AssemblyName"] for entry in kept] == ["System.Xml", "system.private.xml, Version=8.0.0.0", None]
    assert kept[2]["Usings"] == ["System.Xml"] and set(kept[0]) == {
        "AssemblyName", "AssemblyPath", "PackageName", "PackageVersion", "PackageSourceUrl", "Usings"}
    assert normalize_assemblies(None) == []


@pytest.mark.parametrize(("entry", "message"), [
    ({"AssemblyName": "Some.Assembly.That.Does.Not.Exist"},
     r"^Cannot load assembly 'Some.Assembly.That.Does.Not.Exist'\.$"),
    ({"AssemblyPath": "/opt/lib/Mine.dll"}, r"^Cannot load assembly '/opt/lib/Mine.dll'\. rookdb runs no \.NET code"),
    ({"PackageName": "System.Xml.ReaderWriter", "PackageVersion": "4.3.1"},
     r"^Cannot load NuGet package 'System.Xml.ReaderWriter' version '4.3.1' from "
     r"'https://api.nuget.org/v3/index.json'"),
    ({"PackageName": "P", "PackageVersion": "1", "PackageSourceUrl": "http://mirror"}, "from 'http://mirror'"),
])
def test_what_only_dotnet_could_load_is_refused(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(IndexCompilationError, match=message) as raised:
        normalize_assemblies([entry])
    assert raised.value.definition_property == "AdditionalAssemblies"


@pytest.mark.parametrize("value", [{"AssemblyName": "System.Xml"}, ["System.Xml"], [{"AssemblyName": 3}],
                                   [{"Usings": "System.Xml"}], [{}]])
def test_malformed_lists_are_bad_requests(value: Any) -> None:
    with pytest.raises(BadRequestError):
        normalize_assemblies(value)
