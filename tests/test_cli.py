"""The command line as users run it: help everywhere, exit codes, export round trips."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pandas as pd
import pytest
import typer.main
import typer.testing
from gwtest import engine_of, execute, q
from sqlalchemy.engine import URL

from etl.db import libpq_url
from gridwatch.cli import app


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    ctx = click.Context(group)
    out = []
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        out.append((*prefix, name))
        if hasattr(cmd, "list_commands"):  # typer vendors its own click
            out.extend(_commands(cmd, (*prefix, name)))
    return out


COMMANDS = _commands(typer.main.get_command(app))  # type: ignore[arg-type]


def test_the_expected_commands_are_registered() -> None:
    names = {" ".join(c) for c in COMMANDS}
    assert {"db up", "db down", "db status", "db url", "db backup", "db restore", "sample", "load",
            "export", "check grids", "check villages", "run"} <= names  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_every_command_has_help(command: tuple[str, ...]) -> None:
    res = typer.testing.CliRunner().invoke(app, [*command, "--help"])
    assert res.exit_code == 0, res.output
    assert "Usage" in res.output
    cmd = typer.main.get_command(app)
    for part in command:
        cmd = cmd.get_command(click.Context(cmd), part)  # type: ignore[attr-defined]
    assert (cmd.help or "").strip(), f"gridwatch {' '.join(command)} has no help text"


def gw(url: URL, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GRIDWATCH_DATABASE_URL": libpq_url(url), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "gridwatch", *args], env=env, cwd=cwd, capture_output=True, text=True
    )


def test_bad_file_exit_code_and_row_report(places_url: URL, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "id,category,occurred_at,lon,lat\nA,theft,2015-01-01,107.39,34.52\nB,theft,2015-13-45,107.39,34.52\n"
    )
    res = gw(places_url, "load", str(path), "--layer", "incidents", cwd=tmp_path)
    assert res.returncode == 2
    assert "1 of 2 rows are bad; nothing was written" in res.stderr
    assert "2015-13-45" in res.stderr and "not a date-time" in res.stderr
    assert q(places_url, "SELECT count(*) FROM incidents")[0][0] == 0


DIGEST = (
    "SELECT count(*), md5(string_agg(concat_ws(',', source_id, category, is_criminal, occurred_at,"
    " reported_at, closed_at, solved_at, handled_level, status, ST_AsText(ST_SnapToGrid(geom, 1e-7))),"
    " '|' ORDER BY source_id)) FROM incidents"
)


def test_export_then_load_round_trips_incidents_cli(
    sample_url: URL, places_url: URL, tmp_path: Path
) -> None:
    out = tmp_path / "incidents.csv"
    res = gw(sample_url, "export", "incidents", "--format", "csv", "--out", str(out), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    res = gw(places_url, "load", str(out), "--layer", "incidents", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert q(places_url, DIGEST) == q(sample_url, DIGEST)
    again = gw(
        sample_url, "export", "incidents", "--format", "csv", "--out", str(out), cwd=tmp_path
    )
    assert again.returncode == 2 and "--overwrite" in again.stderr


@pytest.mark.parametrize("fmt", ["parquet", "gpkg", "geojson"])
def test_export_then_load_round_trips_incidents(
    sample_url: URL, places_url: URL, tmp_path: Path, fmt: str
) -> None:
    from etl.export import export_layer
    from etl.loader import LoadOptions, load_file

    out, n = export_layer(engine_of(sample_url), "incidents", fmt, tmp_path / f"incidents.{fmt}")  # type: ignore[arg-type]
    assert n == 14_206
    load_file(engine_of(places_url), out, LoadOptions(layer="incidents"))
    assert q(places_url, DIGEST) == q(sample_url, DIGEST)


def test_exported_csv_has_loader_columns_and_local_times(sample_url: URL, tmp_path: Path) -> None:
    out = tmp_path / "cams.csv"
    assert (
        gw(sample_url, "export", "cameras", "-f", "csv", "--out", str(out), cwd=tmp_path).returncode
        == 0
    )
    cams = pd.read_csv(out, encoding="utf-8-sig")
    assert {"code", "bearing_deg", "fov_deg", "village_code", "lon", "lat"} <= set(cams.columns)
    assert len(cams) == 823


def test_check_grids_passes_on_the_sample_and_fails_on_a_planted_gap(
    places_url: URL, tmp_path: Path
) -> None:
    ok = gw(places_url, "check", "grids", cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "OK" in ok.stdout
    vil = gw(places_url, "check", "villages", cwd=tmp_path)
    assert vil.returncode == 0, vil.stdout + vil.stderr
    # carve a 100 m x 100 m hole out of one level-3 grid: a gap inside its parent
    execute(
        places_url,
        "WITH g AS (SELECT id, geom FROM grids WHERE level = 3 ORDER BY code LIMIT 1)"
        " UPDATE grids SET geom = ST_Multi(ST_Difference(grids.geom, ST_Transform(ST_Buffer("
        "ST_Transform(ST_PointOnSurface(g.geom), 4545), 50, 'quad_segs=1'), 4326)))"
        " FROM g WHERE grids.id = g.id",
    )
    out = tmp_path / "findings.gpkg"
    bad = gw(places_url, "check", "grids", "--out", str(out), cwd=tmp_path)
    assert bad.returncode == 1
    assert "FAIL" in bad.stdout and "gap" in bad.stdout
    assert out.exists()


def test_sample_refuses_to_overwrite_a_database_with_data(places_url: URL, tmp_path: Path) -> None:
    res = gw(places_url, "sample", "--out", str(tmp_path / "s"), cwd=tmp_path)
    assert res.returncode == 2
    assert "--replace" in res.stderr
