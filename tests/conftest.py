"""Fixtures: a real PostgreSQL + PostGIS for the whole session.

Without GRIDWATCH_DATABASE_URL the suite starts its own private cluster through
the same code as `gridwatch db up`; each test that writes gets a fresh database
cloned from a migrated template. With GRIDWATCH_STRICT_SKIPS=1 (CI) any skipped
test fails the run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from gwtest import engine_of
from sqlalchemy.engine import URL, make_url

from etl.cluster import EmbeddedCluster
from etl.db import _engine, libpq_url, migrate
from gridwatch.settings import Settings

TEMPLATE = "gw_test_template"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("GRIDWATCH_STRICT_SKIPS") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped and session.exitstatus == 0:
        reporter.write_line(
            f"GRIDWATCH_STRICT_SKIPS: {len(skipped)} test(s) skipped; a skip fails CI.", red=True
        )
        session.exitstatus = 1


@pytest.fixture(scope="session")
def server_url() -> Iterator[URL]:
    """Admin URL of a PostGIS server: the external one, or a private test cluster."""
    external = os.environ.get("GRIDWATCH_DATABASE_URL")
    if external:
        yield make_url(external).set(drivername="postgresql+psycopg")
        return
    root = Path(tempfile.mkdtemp(prefix="gridwatch-test-pg-"))
    root.chmod(0o755)
    cluster = EmbeddedCluster(root / "pg", database="postgres")
    cluster.up()
    try:
        yield make_url(cluster.state().url())
    finally:
        cluster.down()
        shutil.rmtree(root, ignore_errors=True)


def _admin(url: URL) -> psycopg.Connection:
    return psycopg.connect(libpq_url(url.set(database="postgres")), autocommit=True)


@pytest.fixture(scope="session")
def template_url(server_url: URL) -> URL:
    """A migrated, empty gridwatch database used as CREATE DATABASE template."""
    with _admin(server_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}"')
        conn.execute(f'CREATE DATABASE "{TEMPLATE}"')
    url = server_url.set(database=TEMPLATE)
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    engine = _engine(url.render_as_string(hide_password=False))
    migrate(engine)
    engine.dispose()
    return url


def new_database(template_url: URL, prefix: str = "gw_test") -> URL:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with _admin(template_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_url.database}"')
    return template_url.set(database=name)


def drop_database(url: URL) -> None:
    _engine(url.render_as_string(hide_password=False)).dispose()
    with _admin(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


@pytest.fixture
def db_url(template_url: URL) -> Iterator[URL]:
    """A fresh, migrated, empty database for one test."""
    url = new_database(template_url)
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture
def settings(db_url: URL, tmp_path: Path) -> Settings:
    """Settings pointing at the test's fresh database."""
    return Settings(
        database_url=db_url.render_as_string(hide_password=False), data_dir=tmp_path / "state"
    )


# -- the sample county -------------------------------------------------------------------


@pytest.fixture(scope="session")
def sample_files(tmp_path_factory: pytest.TempPathFactory):
    from etl.sample.files import write_sample

    return write_sample(tmp_path_factory.mktemp("sample"))


def _load_layers(url: URL, files, layers: tuple[str, ...]) -> None:
    from etl.loader import LoadOptions, load_many

    items = [
        (path, LoadOptions(layer=layer, source_layer=inner))
        for path, layer, inner in files.load_order()
        if layer in layers
    ]
    load_many(engine_of(url), items)


PLACES = ("county", "towns", "villages", "grids", "roads", "cameras")


@pytest.fixture(scope="session")
def places_template(template_url: URL, sample_files) -> URL:
    """A database holding the sample county's places (no incidents), used as a template."""
    url = new_database(template_url, prefix="gw_places")
    _load_layers(url, sample_files, PLACES)
    _engine(url.render_as_string(hide_password=False)).dispose()
    return url


@pytest.fixture
def places_url(places_template: URL) -> Iterator[URL]:
    """A fresh database with the sample places loaded, for one test."""
    url = new_database(places_template)
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture(scope="session")
def sample_url(places_template: URL, sample_files) -> URL:
    """A database with the whole sample county loaded (read-only for tests)."""
    from etl.rasters import register_raster

    url = new_database(places_template, prefix="gw_sample")
    _load_layers(url, sample_files, ("incidents",))
    register_raster(engine_of(url), sample_files.dem, sample_files.folder / "store")
    return url
