"""``AdditionalAssemblies`` of a C# index definition, checked as far as rookdb can honour them.

RavenDB compiles a C# index with Roslyn and loads each additional assembly: from the .NET runtime by
name, from a file path, or from a NuGet package it downloads. rookdb evaluates its C# subset itself
and runs no .NET code, so:

- a runtime assembly is accepted when .NET's shared framework has one of that name (the list below,
  .NET 8's ``Microsoft.NETCore.App``); its types are then as usable as rookdb's C# subset makes them
  (``typeof(T).Name`` for any type). Any other name is refused with RavenDB's own message;
- an assembly file or a NuGet package is refused: its code could only run in .NET;
- usings alone change nothing rookdb resolves, and are kept.

The accepted entries are stored and returned as sent, as RavenDB returns them.
"""

from __future__ import annotations

from typing import Any

from rookdb.errors import BadRequestError, IndexCompilationError

__all__ = ["SHARED_FRAMEWORK", "normalize_assemblies"]

_NUGET_SOURCE = "https://api.nuget.org/v3/index.json"
_PROPERTY = "AdditionalAssemblies"
_KEYS = ("AssemblyName", "AssemblyPath", "PackageName", "PackageVersion", "PackageSourceUrl", "Usings")

_SHARED_FRAMEWORK_NAMES = (
    "Microsoft.CSharp", "Microsoft.VisualBasic", "Microsoft.VisualBasic.Core", "Microsoft.Win32.Primitives",
    "Microsoft.Win32.Registry", "mscorlib", "netstandard", "System", "System.AppContext", "System.Buffers",
    "System.Collections", "System.Collections.Concurrent", "System.Collections.Immutable",
    "System.Collections.NonGeneric", "System.Collections.Specialized", "System.ComponentModel",
    "System.ComponentModel.Annotations", "System.ComponentModel.DataAnnotations",
    "System.ComponentModel.EventBasedAsync", "System.ComponentModel.Primitives", "System.ComponentModel.TypeConverter",
    "System.Configuration", "System.Console", "System.Core", "System.Data", "System.Data.Common",
    "System.Data.DataSetExtensions", "System.Diagnostics.Contracts", "System.Diagnostics.Debug",
    "System.Diagnostics.DiagnosticSource", "System.Diagnostics.FileVersionInfo", "System.Diagnostics.Process",
    "System.Diagnostics.StackTrace", "System.Diagnostics.TextWriterTraceListener", "System.Diagnostics.Tools",
    "System.Diagnostics.TraceSource", "System.Diagnostics.Tracing", "System.Drawing", "System.Drawing.Primitives",
    "System.Dynamic.Runtime", "System.Formats.Asn1", "System.Formats.Tar", "System.Globalization",
    "System.Globalization.Calendars", "System.Globalization.Extensions", "System.IO", "System.IO.Compression",
    "System.IO.Compression.Brotli", "System.IO.Compression.FileSystem", "System.IO.Compression.ZipFile",
    "System.IO.FileSystem", "System.IO.FileSystem.AccessControl", "System.IO.FileSystem.DriveInfo",
    "System.IO.FileSystem.Primitives", "System.IO.FileSystem.Watcher", "System.IO.IsolatedStorage",
    "System.IO.MemoryMappedFiles", "System.IO.Pipes", "System.IO.Pipes.AccessControl",
    "System.IO.UnmanagedMemoryStream", "System.Linq", "System.Linq.Expressions", "System.Linq.Parallel",
    "System.Linq.Queryable", "System.Memory", "System.Net", "System.Net.Http", "System.Net.Http.Json",
    "System.Net.HttpListener", "System.Net.Mail", "System.Net.NameResolution", "System.Net.NetworkInformation",
    "System.Net.Ping", "System.Net.Primitives", "System.Net.Quic", "System.Net.Requests", "System.Net.Security",
    "System.Net.ServicePoint", "System.Net.Sockets", "System.Net.WebClient", "System.Net.WebHeaderCollection",
    "System.Net.WebProxy", "System.Net.WebSockets", "System.Net.WebSockets.Client", "System.Numerics",
    "System.Numerics.Vectors", "System.ObjectModel", "System.Private.CoreLib",
    "System.Private.DataContractSerialization", "System.Private.Uri", "System.Private.Xml", "System.Private.Xml.Linq",
    "System.Reflection", "System.Reflection.DispatchProxy", "System.Reflection.Emit",
    "System.Reflection.Emit.ILGeneration", "System.Reflection.Emit.Lightweight", "System.Reflection.Extensions",
    "System.Reflection.Metadata", "System.Reflection.Primitives", "System.Reflection.TypeExtensions",
    "System.Resources.Reader", "System.Resources.ResourceManager", "System.Resources.Writer", "System.Runtime",
    "System.Runtime.CompilerServices.Unsafe", "System.Runtime.CompilerServices.VisualC", "System.Runtime.Extensions",
    "System.Runtime.Handles", "System.Runtime.InteropServices", "System.Runtime.InteropServices.JavaScript",
    "System.Runtime.InteropServices.RuntimeInformation", "System.Runtime.Intrinsics", "System.Runtime.Loader",
    "System.Runtime.Numerics", "System.Runtime.Serialization", "System.Runtime.Serialization.Formatters",
    "System.Runtime.Serialization.Json", "System.Runtime.Serialization.Primitives", "System.Runtime.Serialization.Xml",
    "System.Security", "System.Security.AccessControl", "System.Security.Claims", "System.Security.Cryptography",
    "System.Security.Cryptography.Algorithms", "System.Security.Cryptography.Cng", "System.Security.Cryptography.Csp",
    "System.Security.Cryptography.Encoding", "System.Security.Cryptography.OpenSsl",
    "System.Security.Cryptography.Primitives", "System.Security.Cryptography.X509Certificates",
    "System.Security.Principal", "System.Security.Principal.Windows", "System.Security.SecureString",
    "System.ServiceModel.Web", "System.ServiceProcess", "System.Text.Encoding", "System.Text.Encoding.CodePages",
    "System.Text.Encoding.Extensions", "System.Text.Encodings.Web", "System.Text.Json",
    "System.Text.RegularExpressions", "System.Threading", "System.Threading.Channels", "System.Threading.Overlapped",
    "System.Threading.Tasks", "System.Threading.Tasks.Dataflow", "System.Threading.Tasks.Extensions",
    "System.Threading.Tasks.Parallel", "System.Threading.Thread", "System.Threading.ThreadPool",
    "System.Threading.Timer", "System.Transactions", "System.Transactions.Local", "System.ValueTuple", "System.Web",
    "System.Web.HttpUtility", "System.Windows", "System.Xml", "System.Xml.Linq", "System.Xml.ReaderWriter",
    "System.Xml.Serialization", "System.Xml.XDocument", "System.Xml.XmlDocument", "System.Xml.XmlSerializer",
    "System.Xml.XPath", "System.Xml.XPath.XDocument", "WindowsBase",
)

SHARED_FRAMEWORK = frozenset(name.lower() for name in _SHARED_FRAMEWORK_NAMES)
"""The assemblies of .NET 8's shared framework, lower-cased (assembly names ignore case)."""


def normalize_assemblies(value: Any) -> list[dict[str, Any]]:
    """The definition's ``AdditionalAssemblies`` as stored, or an ``IndexCompilationError`` naming the
    first one rookdb cannot provide."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadRequestError("'AdditionalAssemblies' must be a list")
    return [_assembly(item) for item in value]


def _assembly(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise BadRequestError("Each of 'AdditionalAssemblies' must be an object")
    entry = {key: item.get(key) for key in _KEYS}
    usings = entry["Usings"]
    if usings is not None and (not isinstance(usings, list) or not all(isinstance(u, str) for u in usings)):
        raise BadRequestError("'Usings' of an additional assembly must be a list of namespaces")
    texts = {key: entry[key] for key in _KEYS[:5]}
    if any(text is not None and not isinstance(text, str) for text in texts.values()):
        raise BadRequestError("The names, path, version and source of an additional assembly must be strings")
    name, path, package = texts["AssemblyName"], texts["AssemblyPath"], texts["PackageName"]
    if package:
        source = texts["PackageSourceUrl"] or _NUGET_SOURCE
        raise _refused(f"Cannot load NuGet package '{package}' version '{texts['PackageVersion']}' from "
                       f"'{source}'. rookdb runs no .NET code: only the runtime's own assemblies can be named")
    if path:
        raise _refused(f"Cannot load assembly '{path}'. rookdb runs no .NET code: only the runtime's own "
                       f"assemblies can be named")
    if name and name.split(",")[0].strip().lower() not in SHARED_FRAMEWORK:
        raise _refused(f"Cannot load assembly '{name}'.")
    if not name and not usings:
        raise BadRequestError("An additional assembly needs an assembly name, a path, a package or usings")
    return entry


def _refused(message: str) -> IndexCompilationError:
    return IndexCompilationError(message, definition_property=_PROPERTY)
