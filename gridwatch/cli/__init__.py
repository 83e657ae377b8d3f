"""The one command-line entry point: ``gridwatch``.

A thin layer: parse options, call the library, print. Errors from the library
(``GridwatchError``) become a red message, a hint and the error's exit code.
"""

from __future__ import annotations

import sys

import typer

from gridwatch.cli import check_cmd, data_cmd, db_cmd, run_cmd
from gridwatch.cli.common import err_console, settings_callback
from gridwatch.errors import GridwatchError

app = typer.Typer(
    name="gridwatch",
    help=(
        "gridwatch: county public-safety GIS (网格化治理 GIS平台).\n\n"
        "Stores grids, villages, cameras and incidents in PostGIS, loads and checks files,"
        " and serves them through OGC APIs and dashboards.\n\n"
        "Settings come from GRIDWATCH_* environment variables or gridwatch.toml;"
        " GRIDWATCH_DATABASE_URL selects an external database, otherwise a private"
        " PostgreSQL + PostGIS cluster is kept under .gridwatch/pg."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.callback()(settings_callback)
app.add_typer(db_cmd.app, name="db")
app.command("run")(run_cmd.run)
app.add_typer(check_cmd.app, name="check")
data_cmd.register(app)


def main() -> None:
    try:
        rv = app(standalone_mode=False)
    except GridwatchError as exc:
        err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False)
        if exc.hint:
            err_console.print(exc.hint, highlight=False, style="yellow")
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        err_console.print("interrupted; nothing half-written was kept")
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
    if isinstance(rv, int):
        sys.exit(rv)


__all__ = ["app", "main"]
