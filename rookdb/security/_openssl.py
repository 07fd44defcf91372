"""The one OpenSSL setting the ``ssl`` module lacks: accept every client certificate at the handshake.

RavenDB lets any client certificate through TLS and decides per request (unknown, expired, not
yet valid, disabled: its 403). Python's ``ssl`` has no verification callback, so this module calls
OpenSSL's ``SSL_CTX_set_cert_verify_callback`` through ctypes with a callback that returns 1: the
certificate chain is not checked at all (issuer, dates, purpose), while the handshake still proves
that the client holds the certificate's private key, and the certificate stays available through
``getpeercert(binary_form=True)``. CPython never touches this callback (``verify_mode`` and
``verify_flags`` change other fields), so it holds for the context's lifetime.

Two things are taken from CPython's internals and checked before use: the ``SSL_CTX *`` sits right
after the object header of an ``ssl.SSLContext``, and the ``_ssl`` extension's handle resolves the
libssl it is linked against.
"""

from __future__ import annotations

import _ssl
import ctypes
import ssl
import sys

from rookdb.errors import RookError

__all__ = ["accept_any_client_certificate"]

_SSL_VERIFY_PEER = 0x01
_CertificateCheck = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)


def _chain_is_fine(store_context: int | None, argument: int | None) -> int:
    """OpenSSL's app verify callback: 1 accepts, and the store context keeps its X509_V_OK."""
    return 1


# Module-level, so the C function pointer outlives every context that holds it.
_ACCEPT = _CertificateCheck(_chain_is_fine)


def accept_any_client_certificate(context: ssl.SSLContext) -> None:
    """Request a client certificate and accept whichever one comes; raise ``RookError`` when it cannot be set."""
    context.verify_mode = ssl.CERT_OPTIONAL
    library = _libssl()
    pointer = _ssl_ctx(context, library)
    library.SSL_CTX_set_cert_verify_callback(pointer, _ACCEPT, None)


def _libssl() -> ctypes.CDLL:
    if sys.implementation.name != "cpython":
        raise _unavailable(f"it needs CPython, not {sys.implementation.name}")
    # dlsym on the _ssl extension's handle searches the libraries it was linked with, so the symbols
    # come from the very libssl that runs the handshakes; None (the interpreter) when _ssl is built in.
    path = getattr(_ssl, "__file__", None)
    try:
        library = ctypes.CDLL(path)
        version = library.OpenSSL_version_num
        version.restype = ctypes.c_ulong
        library.SSL_CTX_set_cert_verify_callback.argtypes = [ctypes.c_void_p, _CertificateCheck, ctypes.c_void_p]
        library.SSL_CTX_set_cert_verify_callback.restype = None
        library.SSL_CTX_get_verify_mode.argtypes = [ctypes.c_void_p]
        library.SSL_CTX_get_verify_mode.restype = ctypes.c_int
        library.SSL_CTX_get_options.argtypes = [ctypes.c_void_p]
        library.SSL_CTX_get_options.restype = ctypes.c_uint64
    except (OSError, AttributeError) as error:
        raise _unavailable(f"libssl is not reachable through {path or 'the interpreter'}: {error}") from error
    if version() != ssl.OPENSSL_VERSION_NUMBER:
        raise _unavailable(f"the libssl found ({version():#x}) is not the one ssl uses ({ssl.OPENSSL_VERSION})")
    return library


def _ssl_ctx(context: ssl.SSLContext, library: ctypes.CDLL) -> int:
    """The ``SSL_CTX *`` of ``context``: CPython's PySSLContext starts with ``PyObject_HEAD`` then that pointer."""
    pointer = ctypes.c_void_p.from_address(id(context) + object.__basicsize__).value
    if not pointer:
        raise _unavailable("the context holds no SSL_CTX where CPython keeps it")
    # The options and the verify mode read through the pointer must be the context's own.
    if (library.SSL_CTX_get_options(pointer) != context.options
            or library.SSL_CTX_get_verify_mode(pointer) != _SSL_VERIFY_PEER):
        raise _unavailable("the context's SSL_CTX is not where CPython 3.11 keeps it")
    return pointer


def _unavailable(reason: str) -> RookError:
    return RookError(f"cannot let every client certificate through the TLS handshake as RavenDB does: {reason}")
