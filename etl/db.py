"""Database access: which database, one cached engine per URL, migrations."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

from etl.cluster import EmbeddedCluster, enable_postgis
from gridwatch.errors import ConfigError, DatabaseError
from gridwatch.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def cluster_for(settings: Settings) -> EmbeddedCluster:
    return EmbeddedCluster(
        settings.cluster_dir,
        database=settings.db.name,
        run_as=settings.db.run_as,
        bindir=settings.db.pg_bindir,
    )


def database_url(settings: Settings) -> URL:
    """SQLAlchemy URL (psycopg 3 driver) of the configured database."""
    if settings.database_url is not None:
        raw = settings.database_url.get_secret_value()
        try:
            url = make_url(raw)
        except Exception as exc:
            raise ConfigError(f"GRIDWATCH_DATABASE_URL is not a valid URL: {exc}") from None
        if url.get_backend_name() != "postgresql":
            raise ConfigError(
                f"GRIDWATCH_DATABASE_URL must point to PostgreSQL/PostGIS, got '{url.drivername}'."
            )
        return url.set(drivername="postgresql+psycopg")
    return make_url(cluster_for(settings).state().url())


def libpq_url(url: URL) -> str:
    """The same URL as libpq programs (psql, pg_dump) take it."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@cache
def _engine(url: str) -> Engine:
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def engine_for(settings: Settings) -> Engine:
    """The cached engine for the configured database; raises a clear error when it is down."""
    url = database_url(settings)
    engine = _engine(url.render_as_string(hide_password=False))
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        where = "the private cluster" if settings.uses_embedded_db else url.render_as_string()
        raise DatabaseError(
            f"Cannot connect to {where}: {str(exc.orig).strip().splitlines()[0]}",
            hint="Start it with: gridwatch db up" if settings.uses_embedded_db else None,
        ) from None
    return engine


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with alembic."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        _sync_vocabulary(conn)


def _sync_vocabulary(conn: sa.Connection) -> None:
    """Upsert the incident categories from etl.vocabulary so code and database agree."""
    from sqlalchemy.dialects.postgresql import insert

    from etl.schema import IncidentCategory
    from etl.vocabulary import CATEGORIES

    rows = [
        {"code": c.code, "stream": c.stream, "name_zh": c.name_zh, "name_en": c.name_en}
        for c in CATEGORIES
    ]
    stmt = insert(IncidentCategory).values(rows)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["code"],
            set_={k: stmt.excluded[k] for k in ("stream", "name_zh", "name_en")},
        )
    )


def bring_up(settings: Settings) -> tuple[Engine, bool]:
    """Start the embedded cluster when needed, enable PostGIS, migrate. Returns (engine, started)."""
    started = False
    if settings.uses_embedded_db:
        started = cluster_for(settings).up()
    else:
        enable_postgis(libpq_url(database_url(settings)))
    engine = engine_for(settings)
    migrate(engine)
    return engine, started
