"""Which tests are slow: those that boot a server or start a process, found from their code.

A test is slow when its own code, the code of any fixture it uses (directly or through other
fixtures), or a function of the test code they call, names something that boots a server or starts
a process. Everything else runs in the fast loop (``pytest -m "not slow"``), and ``refusing_boots``
makes sure it really boots nothing.
"""

from __future__ import annotations

import inspect
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import CodeType
from typing import Any

import pytest
import uvicorn

BOOTING_FIXTURES = frozenset({"server", "embedding_server", "browser", "postgres_server"})
# Everything these modules hold boots a server or starts a process (script hosts, child servers).
BOOTING_MODULES = ("rookdb.ai.scripting", "rookdb.documents.patching", "rookdb.testing.server_process",
                   "rookdb.testing.embedding_server", "rookdb.testing.postgres_server", "rookdb.in_process",
                   "subprocess", "multiprocessing")
BOOTING_NAMES = frozenset({"BackgroundServer", "HostProcess", "serve_forever"})


def _names(code: CodeType) -> set[str]:
    """Every global and attribute name ``code`` and the functions nested in it refer to."""
    found = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, CodeType):
            found |= _names(constant)
    return found


def _boots(function: Any, seen: set[Any]) -> bool:
    """True when ``function``, or a test-code function it names (followed), names something that boots."""
    function = inspect.unwrap(function)
    if function in seen or not inspect.isfunction(function) or function.__module__ == __name__:
        return False  # this module's guard names what it refuses
    seen.add(function)
    names = _names(function.__code__)
    if BOOTING_NAMES & names:
        return True
    named = [function.__globals__[name] for name in names if name in function.__globals__]
    if any(_module_of(value).startswith(BOOTING_MODULES) for value in named):
        return True
    return any(_boots(value, seen) for value in named
               if inspect.isfunction(value) and value.__module__.startswith("tests."))


def _module_of(value: Any) -> str:
    module = value.__name__ if inspect.ismodule(value) else getattr(value, "__module__", None)
    return module if isinstance(module, str) else ""


def boots_something(item: pytest.Item) -> bool:
    """True when the test, or a fixture it uses, boots a server or starts a process."""
    if not isinstance(item, pytest.Function):
        return False
    if BOOTING_FIXTURES & set(item.fixturenames):
        return True
    seen: set[Any] = set()
    fixtures = [definitions[-1].func for definitions in item._fixtureinfo.name2fixturedefs.values() if definitions]
    return any(_boots(function, seen) for function in [item.obj, *fixtures])


@contextmanager
def refusing_boots(test: str) -> Iterator[None]:
    """Fail the calling test if it starts a process or builds a server: it was classified fast."""
    refusal = (f"{test} boots a server or starts a process, so it must be marked slow: reach the server through "
               "a fixture, or name what boots it in tests/support/cost.py")
    original_popen, original_server = subprocess.Popen.__init__, uvicorn.Server.__init__

    def popen(self: subprocess.Popen[Any], *args: Any, **kwargs: Any) -> None:
        if threading.current_thread() is threading.main_thread():
            raise AssertionError(refusal)
        original_popen(self, *args, **kwargs)

    def server(self: uvicorn.Server, *args: Any, **kwargs: Any) -> None:
        if threading.current_thread() is threading.main_thread():
            raise AssertionError(refusal)
        original_server(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(subprocess.Popen, "__init__", popen)
        patch.setattr(uvicorn.Server, "__init__", server)
        yield
