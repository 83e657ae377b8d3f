"""``gridwatch db``: the embedded PostgreSQL + PostGIS cluster or an external database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from gridwatch.cli.common import console, get_settings

app = typer.Typer(
    help="Start, stop, inspect, back up and restore the database.",
    no_args_is_help=True,
)


@app.command()
def up() -> None:
    """Start the database, create it with PostGIS if new, and migrate the schema.

    Without GRIDWATCH_DATABASE_URL this creates (first time) and starts a private
    cluster under .gridwatch/pg on a free loopback port; a second `up` is a no-op.
    With a URL set, it only checks that server, enables PostGIS and migrates.
    """
    from etl.db import bring_up, database_url

    settings = get_settings()
    _, started = bring_up(settings)
    where = "private cluster" if settings.uses_embedded_db else "external database"
    state = "started" if started else "already running"
    if not settings.uses_embedded_db:
        state = "reachable"
    console.print(f"{where} {state}: {database_url(settings).render_as_string()}")


@app.command()
def down() -> None:
    """Stop the private cluster (its data is kept for the next `up`)."""
    from etl.db import cluster_for

    settings = get_settings()
    if not settings.uses_embedded_db:
        console.print("GRIDWATCH_DATABASE_URL is set: gridwatch never stops an external server.")
        return
    stopped = cluster_for(settings).down()
    console.print("stopped" if stopped else "was not running")


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Say whether the database runs, where, and how many rows each layer holds."""
    from etl.db import cluster_for, engine_for

    settings = get_settings()
    from etl.inventory import inventory

    info: dict[str, object] = {"external": not settings.uses_embedded_db}
    if settings.uses_embedded_db:
        info.update(cluster_for(settings).status())
    if info.get("running", True):
        info.update(inventory(engine_for(settings)))
    if as_json:
        console.print_json(json.dumps(info, default=str))
        return
    for key, value in info.items():
        console.print(f"[bold]{key}[/]: {value}")


@app.command()
def url(
    sqlalchemy: Annotated[
        bool,
        typer.Option("--sqlalchemy", help="Print the SQLAlchemy form (postgresql+psycopg://)."),
    ] = False,
) -> None:
    """Print the database URL (with password), e.g. for `psql "$(gridwatch db url)"`."""
    from etl.db import database_url, libpq_url

    u = database_url(get_settings())
    print(u.render_as_string(hide_password=False) if sqlalchemy else libpq_url(u))


@app.command("migrate")
def migrate_cmd() -> None:
    """Apply schema migrations (alembic) up to the newest."""
    from etl.db import engine_for, migrate

    migrate(engine_for(get_settings()))
    console.print("schema is up to date")


@app.command()
def backup(
    file: Annotated[Path, typer.Argument(help="Where to write the dump (pg_dump custom format).")],
    overwrite: Annotated[bool, typer.Option(help="Replace FILE if it exists.")] = False,
) -> None:
    """Back up the whole database with pg_dump (custom format)."""
    from etl import backup as backup_mod
    from etl.db import database_url, engine_for

    settings = get_settings()
    engine_for(settings)
    out = backup_mod.backup(
        database_url(settings), file, overwrite=overwrite, bindir=settings.db.pg_bindir
    )
    console.print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")


@app.command()
def restore(
    file: Annotated[Path, typer.Argument(help="A backup written by `gridwatch db backup`.")],
    clean: Annotated[
        bool, typer.Option(help="Drop what the database holds before restoring.")
    ] = False,
) -> None:
    """Restore a backup with pg_restore, in one transaction (all or nothing)."""
    from etl import backup as backup_mod
    from etl.db import database_url, engine_for

    settings = get_settings()
    engine_for(settings)
    backup_mod.restore(database_url(settings), file, clean=clean, bindir=settings.db.pg_bindir)
    console.print(f"restored {file}")
