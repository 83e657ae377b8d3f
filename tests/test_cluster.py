"""The embedded cluster's life cycle, external databases, backup and restore."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from gwtest import q
from sqlalchemy.engine import URL, make_url

from etl.backup import backup, restore
from etl.cluster import EmbeddedCluster, _install_hint, find_bindir
from etl.db import libpq_url
from etl.schema import Base
from gridwatch.errors import DatabaseError, InputError, MissingDependencyError


@pytest.fixture
def cluster_root() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="gridwatch-cluster-test-"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        c = EmbeddedCluster(root / "pg")
        if c.initialised():
            c.down()
        shutil.rmtree(root, ignore_errors=True)


def test_up_is_idempotent_and_data_survives_down_up(cluster_root: Path) -> None:
    cluster = EmbeddedCluster(cluster_root / "pg")
    assert cluster.up() is True
    assert cluster.up() is False  # second up: no-op
    state = cluster.state()
    assert (cluster.socket_dir / f".s.PGSQL.{state.port}").exists()  # socket inside the folder
    assert cluster.status()["running"] is True
    url = state.url("postgresql")
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'postgis'"
        ).fetchone()
        conn.execute("CREATE TABLE keep (v int)")
        conn.execute("INSERT INTO keep VALUES (42)")
    assert cluster.down() is True
    assert cluster.down() is False
    assert cluster.status()["running"] is False
    assert cluster.up() is True
    with psycopg.connect(cluster.state().url("postgresql")) as conn:
        assert conn.execute("SELECT v FROM keep").fetchone() == (42,)
    if os.geteuid() == 0:  # PostgreSQL refuses root: the server runs as an unprivileged user
        assert cluster.pgdata.stat().st_uid != 0
        assert (cluster.root / "cluster.json").stat().st_mode & 0o077 == 0


def test_missing_server_programs_name_the_install_command(tmp_path: Path) -> None:
    with pytest.raises(MissingDependencyError) as exc:
        find_bindir(tmp_path)
    assert "apt-get install -y postgresql postgresql-NN-postgis-3" in str(exc.value)
    assert "postgresql-15-postgis-3" in _install_hint("15")


def test_state_of_a_cluster_that_was_never_created(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="gridwatch db up"):
        EmbeddedCluster(tmp_path / "none").state()


def _cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gridwatch", *args], env=env, cwd=cwd, capture_output=True, text=True
    )


def test_with_a_url_gridwatch_never_starts_a_server(db_url: URL, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "GRIDWATCH_DATABASE_URL": libpq_url(db_url),
        "GRIDWATCH_DATA_DIR": str(tmp_path / "state"),
    }
    up = _cli("db", "up", env=env, cwd=tmp_path)
    assert up.returncode == 0, up.stderr
    assert "external database reachable" in up.stdout
    assert not (tmp_path / "state" / "pg").exists()
    down = _cli("db", "down", env=env, cwd=tmp_path)
    assert "never stops an external server" in down.stdout
    url = _cli("db", "url", env=env, cwd=tmp_path)
    assert make_url(url.stdout.strip()).database == db_url.database


def test_a_database_that_is_down_gets_a_clear_error(tmp_path: Path) -> None:
    env = {**os.environ, "GRIDWATCH_DATABASE_URL": "postgresql://u:p@127.0.0.1:1/none"}
    res = _cli("db", "status", env=env, cwd=tmp_path)
    assert res.returncode == 4
    assert "Cannot connect to" in res.stderr


def _table_digest(url: URL) -> dict[str, tuple[int, str]]:
    out = {}
    for table in sorted(Base.metadata.tables):
        n, digest = q(
            url,
            f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t",
        )[0]
        out[table] = (n, digest)
    return out


def test_backup_then_restore_into_an_empty_database_round_trips_every_table(
    sample_url: URL, tmp_path: Path
) -> None:
    dump = backup(sample_url, tmp_path / "gw.dump")
    assert dump.stat().st_size > 100_000
    with pytest.raises(InputError, match="--overwrite"):
        backup(sample_url, dump)
    target = sample_url.set(database=f"gw_restore_{uuid.uuid4().hex[:8]}")
    with psycopg.connect(libpq_url(sample_url.set(database="postgres")), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{target.database}"')  # empty: not even PostGIS
    try:
        restore(target, dump)
        before, after = _table_digest(sample_url), _table_digest(target)
        assert after == before
        assert before["incidents"][0] == 14_206 and before["grids"][0] > 1000
        # restoring again over the data needs --clean, and then round-trips too
        with pytest.raises(DatabaseError, match="--clean"):
            restore(target, dump)
        restore(target, dump, clean=True)
        assert _table_digest(target) == before
    finally:
        with psycopg.connect(
            libpq_url(sample_url.set(database="postgres")), autocommit=True
        ) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')


def test_restore_rejects_a_file_that_is_not_a_dump(db_url: URL, tmp_path: Path) -> None:
    bogus = tmp_path / "x.dump"
    bogus.write_text("not a dump")
    with pytest.raises(InputError, match="not a pg_dump custom-format backup"):
        restore(db_url, bogus)
