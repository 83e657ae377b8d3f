"""What every command shares: consoles, the settings, progress bars."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from gridwatch.settings import SETTINGS_FILE_ENV, Settings, load_settings

console = Console()
err_console = Console(stderr=True)


def settings_callback(
    settings_file: Annotated[
        Path | None,
        typer.Option(
            "--settings",
            help="TOML settings file (default: gridwatch.toml when present).",
            envvar=SETTINGS_FILE_ENV,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """gridwatch command line."""
    if settings_file is not None:
        os.environ[SETTINGS_FILE_ENV] = str(settings_file)
    get_settings.cache_clear()


@cache
def get_settings() -> Settings:
    return load_settings()


def progress(transient: bool = False) -> Progress:
    """A progress bar on stderr that stays out of piped stdout."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=transient,
        disable=not err_console.is_terminal and os.environ.get("GRIDWATCH_PROGRESS") != "1",
    )
