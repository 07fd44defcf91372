"""Running the server: in the foreground (the CLI) or on a background thread (embedded mode, tests)."""

from __future__ import annotations

import gc
import ipaddress
import socket
import threading
import time
from pathlib import Path
from types import TracebackType

import uvicorn

from rookdb.errors import ValidationError
from rookdb.security import SecurityConfig, ServerSecurity
from rookdb.server.access_log import AccessLog
from rookdb.server.app import create_app
from rookdb.server.http_protocol import RavenHttpProtocol
from rookdb.server.transport import secured_connections
from rookdb.settings import Settings

__all__ = ["BackgroundServer", "check_bind_address", "free_port", "serve_forever"]

_STARTUP_TIMEOUT_SECONDS = 30.0
# After SIGINT/SIGTERM, requests still running get this long before their connections are closed;
# then the lifespan stops the databases' services (``DEFAULT_SHUTDOWN_DRAIN_SECONDS``).
DEFAULT_GRACEFUL_SHUTDOWN_SECONDS = 2
_REQUEST_LOG_LEVELS = ("trace", "debug", "info")


def check_bind_address(host: str, unsecured_allowed: bool, *, secured: bool = False) -> None:
    """Refuse a non-loopback address without TLS unless the user accepted unsecured access (RavenDB's rule)."""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not unsecured_allowed and not secured:
        raise ValidationError(
            "Server.Host",
            f"refusing to listen on {host} without TLS: anyone who can reach this address would get full "
            "access to every database. Bind to 127.0.0.1, or pass --unsecured-remote-access to accept "
            "unsecured access from the network.")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def _config(settings: Settings, data_dir: Path | None, log_level: str) -> tuple[uvicorn.Config, ServerSecurity]:
    security = ServerSecurity(SecurityConfig.from_settings(settings, data_dir))
    check_bind_address(settings["Server.Host"], settings["Security.UnsecuredAccessAllowed"], secured=security.secured)
    app = create_app(settings, data_dir=data_dir, security=security)
    # A secured server terminates TLS in its own protocol, which hands the client certificate to the app.
    http = secured_connections(security.tls.context) if security.tls is not None else RavenHttpProtocol
    # rookdb writes its own access log (cheaper than uvicorn's, with each request's time), when asked to
    # and when the log level shows requests at all.
    logged = settings["Server.AccessLog"] and log_level in _REQUEST_LOG_LEVELS
    # No X-Forwarded-* rewriting: rookdb terminates its own connections (TLS included), so the address
    # in the access and audit logs is the peer's, which a local process could otherwise name at will.
    config = uvicorn.Config(AccessLog(app) if logged else app, host=settings["Server.Host"],
                            port=settings["Server.Port"], http=http, log_level=log_level, lifespan="on",
                            access_log=False, proxy_headers=False,
                            timeout_graceful_shutdown=DEFAULT_GRACEFUL_SHUTDOWN_SECONDS)
    return config, security


def serve_forever(settings: Settings, *, log_level: str = "info") -> None:
    """Serve until Ctrl-C; uvicorn drains connections and the lifespan closes every database."""
    config, _ = _config(settings, None, log_level)
    # What exists now (modules, the app) lives as long as the server. Frozen, it is left out of the full
    # collections, which then look only at what requests allocate: under a bulk insert (documents in
    # flight by the thousand) each had walked the whole heap again, some 4 us of every document.
    gc.collect()
    gc.freeze()
    uvicorn.Server(config).run()


class BackgroundServer:
    """A real server on a loopback port, run by a background thread; a context manager."""

    def __init__(self, data_dir: Path, *, port: int | None = None, settings: Settings | None = None) -> None:
        base = settings or Settings()
        self.port = port or free_port()
        self.settings = base.with_overrides(
            {"Server.Host": "127.0.0.1", "Server.Port": self.port, "Server.DataDir": str(data_dir)})
        config, self.security = _config(self.settings, data_dir, "warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="rookdb-server", daemon=True)

    @property
    def url(self) -> str:
        return f"{'https' if self.security.secured else 'http'}://127.0.0.1:{self.port}"

    def start(self) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"rookdb server did not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()
