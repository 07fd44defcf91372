"""The ``rookdb`` command as users run it: import-sample, serve, Ctrl-C, the bind-address rule, certs init."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from rookdb.cli import _parser, _settings, main
from rookdb.server.runner import check_bind_address
from rookdb.settings import Settings, env_name
from rookdb.storage.backends import open_backend
from rookdb.storage.postgresql import PostgresBackend
from rookdb.storage.sqlite import DATABASE_FILE
from rookdb.testing.postgres_server import PostgresServer
from rookdb.testing.server_process import ServerProcess


def test_import_sample_loads_northwind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import-sample", "northwind", "--database", "Northwind", "--data-dir", str(tmp_path)]) == 0
    assert "Imported 1051 documents into Northwind" in capsys.readouterr().out
    backend = open_backend(Settings(), tmp_path)
    try:
        assert backend.names() == ["Northwind"]
    finally:
        backend.close()


def test_import_sample_into_postgresql(tmp_path: Path, postgres_server: PostgresServer,
                                       monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(env_name("Storage.PostgreSql.Catalog"), "cli_import")
    arguments = ["import-sample", "northwind", "--data-dir", str(tmp_path), "--storage", postgres_server.url]
    assert main(arguments) == 0
    assert "Imported 1051 documents into Northwind" in capsys.readouterr().out
    backend = PostgresBackend(postgres_server.url, catalog="cli_import")
    try:
        assert backend.names() == ["Northwind"]
        assert backend.open("Northwind").count("Employees") == 9
    finally:
        backend.close()
    assert not (tmp_path / "databases" / "Northwind" / DATABASE_FILE).exists()


def test_a_storage_url_of_another_kind_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import-sample", "northwind", "--data-dir", str(tmp_path), "--storage", "mysql://db/x"]) == 2
    assert "Storage.Url" in capsys.readouterr().err


def test_non_loopback_address_is_refused_without_the_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--host", "0.0.0.0", "--data-dir", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert "refusing to listen on 0.0.0.0 without TLS" in error
    assert "--unsecured-remote-access" in error


def test_certs_init_sets_up_secured_mode_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["certs", "init", "--data-dir", str(tmp_path), "--host", "db.example.test"]) == 0
    output = capsys.readouterr().out
    for name in ("ca.pem", "server.pem", "admin.pem"):
        assert str(tmp_path / "certs" / name) in output
    assert "Admin thumbprint:" in output
    assert main(["certs", "init", "--data-dir", str(tmp_path)]) == 2
    assert "exists already" in capsys.readouterr().err


def test_serve_certificate_options_become_settings(tmp_path: Path) -> None:
    args = _parser().parse_args(["serve", "--data-dir", str(tmp_path), "--certificate", "/etc/rook/server.pem",
                                 "--certificate-key", "/etc/rook/server.key"])
    settings = _settings(args)
    assert settings["Security.Certificate.Path"] == "/etc/rook/server.pem"
    assert settings["Security.Certificate.KeyPath"] == "/etc/rook/server.key"
    check_bind_address("0.0.0.0", False, secured=True)  # with TLS, any address is allowed


def test_serve_answers_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    server = ServerProcess(tmp_path / "data", log=log, arguments=["--with-sample", "northwind"]).start()
    try:
        response = httpx.get(f"{server.url}/databases", params={"namesOnly": "true"})
        assert response.json() == {"Databases": ["Northwind"]}
    finally:
        server.stop()
    output = log.read_text()
    assert server.process is not None and server.process.returncode == 0, output
    assert "Loaded 1051 northwind documents" in output
    assert "rookdb stopped." in output
    assert "Traceback" not in output
