"""The ``rookdb`` command: serve, import sample data, watch tasks, set up certificates."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from rookdb.documents.catalog import DatabaseCatalog
from rookdb.documents.sample_data import SAMPLES, import_sample
from rookdb.errors import RookError
from rookdb.settings import Settings
from rookdb.storage.backends import describe_storage

__all__ = ["main"]

Command = Callable[[argparse.Namespace], int]


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {"Server.DataDir": args.data_dir}
    if getattr(args, "host", None) is not None:
        overrides["Server.Host"] = args.host
    if getattr(args, "port", None) is not None:
        overrides["Server.Port"] = args.port
    if getattr(args, "unsecured_remote_access", False):
        overrides["Security.UnsecuredAccessAllowed"] = True
    if getattr(args, "certificate", None) is not None:
        overrides["Security.Certificate.Path"] = args.certificate
    if getattr(args, "certificate_key", None) is not None:
        overrides["Security.Certificate.KeyPath"] = args.certificate_key
    if getattr(args, "storage", None) is not None:
        overrides["Storage.Url"] = args.storage
    return Settings(overrides)


def _ensure_sample(data_dir: Path, settings: Settings, sample: str, database_name: str) -> int:
    catalog = DatabaseCatalog(data_dir, settings)
    try:
        # Only the documents: the database's services (embeddings tasks...) run in the server.
        return import_sample(catalog.documents(database_name, create=True), sample)
    finally:
        catalog.close()


def _serve(args: argparse.Namespace) -> int:
    from rookdb.security import SecurityConfig
    from rookdb.server.runner import check_bind_address, serve_forever

    settings = _settings(args)
    secured = SecurityConfig.from_settings(settings).secured
    check_bind_address(settings["Server.Host"], settings["Security.UnsecuredAccessAllowed"], secured=secured)
    if args.with_sample:
        data_dir = Path(settings["Server.DataDir"])
        catalog = DatabaseCatalog(data_dir, settings)
        missing = not catalog.exists(args.sample_database)
        catalog.close()
        if missing:
            count = _ensure_sample(data_dir, settings, args.with_sample, args.sample_database)
            print(f"Loaded {count} {args.with_sample} documents into database {args.sample_database}.")
    scheme = "https" if secured else "http"
    print(f"rookdb serving {describe_storage(settings, Path(settings['Server.DataDir']))} on "
          f"{scheme}://{settings['Server.Host']}:{settings['Server.Port']} (Studio: /studio)"
          + (" with client-certificate authentication" if secured else ""))
    # uvicorn re-raises Ctrl-C after its graceful shutdown: that is a clean stop.
    with contextlib.suppress(KeyboardInterrupt):
        serve_forever(settings)
    print("rookdb stopped.")
    return 0


def _import_sample(args: argparse.Namespace) -> int:
    settings = _settings(args)
    count = _ensure_sample(Path(settings["Server.DataDir"]), settings, args.sample, args.database)
    print(f"Imported {count} documents into {args.database}.")
    return 0


def _certs_init(args: argparse.Namespace) -> int:
    from rookdb.security import initialize

    setup = initialize(Path(args.data_dir), args.host or [])
    files = setup.files
    print(f"Certificate authority: {files.authority}  (clients trust it: trust_store_path / ca)")
    print(f"Server certificate:    {files.server}  (with its key; `rookdb serve --data-dir {args.data_dir}` uses it)")
    print(f"Admin certificate:     {files.admin}  (ClusterAdmin, with its key: certificate_pem_path)")
    print(f"Admin thumbprint:      {setup.admin.certificate.thumbprint}")
    return 0


def _watch_tasks(args: argparse.Namespace) -> int:
    from rookdb.tasks_watch import DEFAULT_WATCH_INTERVAL_SECONDS, watch

    return watch(args.url, args.database, once=args.once, interval=args.interval or DEFAULT_WATCH_INTERVAL_SECONDS,
                 certificate=Path(args.certificate) if args.certificate else None,
                 ca=Path(args.ca) if args.ca else None)


def _plan_task(args: argparse.Namespace) -> int:
    from rookdb.tasks_plan import plan

    return plan(args.url, args.database, args.task, connection_string=args.connection_string,
                certificate=Path(args.certificate) if args.certificate else None,
                ca=Path(args.ca) if args.ca else None)


def _server_arguments(command: argparse.ArgumentParser) -> None:
    """How a ``tasks`` command reaches a running server."""
    command.add_argument("--url", default="http://127.0.0.1:8080", help="server URL")
    command.add_argument("--database", default="Northwind")
    command.add_argument("--certificate", default=None, metavar="PEM",
                         help="client certificate with its key, for a secured server")
    command.add_argument("--ca", default=None, metavar="PEM", help="the CA that signed a secured server's certificate")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rookdb", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="start the server with the Studio")
    serve.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default 8080)")
    serve.add_argument("--data-dir", default="./rookdb-data",
                       help="where databases (with SQLite) and this node's indexes live")
    serve.add_argument("--storage", default=None, metavar="URL",
                       help="postgresql://user:password@host:port/dbname to keep documents in PostgreSQL "
                            "(default: SQLite files in the data directory; env ROOKDB_STORAGE_URL)")
    serve.add_argument("--certificate", default=None, metavar="PATH",
                       help="server certificate (PEM with key, or .pfx): serve HTTPS and require client certificates "
                            "(default: <data dir>/certs/server.pem when `rookdb certs init` made it)")
    serve.add_argument("--certificate-key", default=None, metavar="PATH",
                       help="the certificate's PEM key when it is not in the certificate file")
    serve.add_argument("--unsecured-remote-access", action="store_true",
                       help="allow a non-loopback address without TLS (anyone on the network gets full access)")
    serve.add_argument("--with-sample", choices=sorted(SAMPLES), default=None,
                       help="create the sample database first when it does not exist")
    serve.add_argument("--sample-database", default="Northwind", help="name for --with-sample")
    serve.set_defaults(run=_serve)

    sample = commands.add_parser("import-sample", help="load a sample database")
    sample.add_argument("sample", choices=sorted(SAMPLES))
    sample.add_argument("--database", default="Northwind")
    sample.add_argument("--data-dir", default="./rookdb-data")
    sample.add_argument("--storage", default=None, metavar="URL", help="as for serve")
    sample.set_defaults(run=_import_sample)

    certs = commands.add_parser("certs", help="secured mode: certificates for TLS and client authentication")
    certs_commands = certs.add_subparsers(dest="certs_command", required=True)
    init = certs_commands.add_parser(
        "init", help="create a private CA, a server certificate and a first ClusterAdmin client certificate")
    init.add_argument("--data-dir", default="./rookdb-data", help="the server's data directory (files go to certs/)")
    init.add_argument("--host", action="append", default=None, metavar="NAME",
                      help="a name or address clients use to reach the server (repeatable; loopback is included)")
    init.set_defaults(run=_certs_init)

    tasks = commands.add_parser("tasks", help="embeddings generation tasks of a running server")
    task_commands = tasks.add_subparsers(dest="tasks_command", required=True)
    watch = task_commands.add_parser("watch", help="progress bars until every task is idle")
    _server_arguments(watch)
    watch.add_argument("--once", action="store_true", help="print one snapshot and exit")
    watch.add_argument("--interval", type=float, default=None, help="seconds between polls (default 1)")
    watch.set_defaults(run=_watch_tasks)
    planned = task_commands.add_parser(
        "plan", help="what a change to a task would embed (texts, tokens, cache hits), before it is made")
    planned.add_argument("task", help="the task's name")
    planned.add_argument("--connection-string", default=None, metavar="NAME",
                         help="the connection string to move the task to (a migration); default: as it is")
    _server_arguments(planned)
    planned.set_defaults(run=_plan_task)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    run: Command = args.run
    try:
        return run(args)
    except RookError as error:
        print(f"rookdb: {error.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
