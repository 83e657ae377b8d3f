"""Backup and restore with pg_dump / pg_restore (custom format)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL

from etl.cluster import find_bindir
from gridwatch.errors import DatabaseError, InputError, MissingDependencyError


def _tool(name: str, bindir: Path | None) -> str:
    try:
        return str(find_bindir(bindir) / name)
    except MissingDependencyError:
        found = shutil.which(name)
        if found:
            return found
        raise


def _env(url: URL) -> dict[str, str]:
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return env


def _conn_args(url: URL) -> list[str]:
    args = ["-h", url.host or "127.0.0.1", "-d", url.database or "postgres"]
    if url.port:
        args += ["-p", str(url.port)]
    if url.username:
        args += ["-U", url.username]
    return args


def backup(url: URL, out: Path, *, overwrite: bool = False, bindir: Path | None = None) -> Path:
    """Dump the whole database to ``out`` in pg_dump's custom format."""
    out = Path(out)
    if out.exists() and not overwrite:
        raise InputError(f"{out} exists; pass --overwrite to replace it.")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    proc = subprocess.run(
        [
            _tool("pg_dump", bindir),
            "--format=custom",
            "--no-owner",
            "-f",
            str(tmp),
            *_conn_args(url),
        ],
        capture_output=True,
        text=True,
        env=_env(url),
    )
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise DatabaseError(f"pg_dump failed: {proc.stderr.strip()}")
    tmp.replace(out)
    return out


def restore(url: URL, dump: Path, *, clean: bool = False, bindir: Path | None = None) -> None:
    """Restore a custom-format dump in one transaction; all or nothing."""
    dump = Path(dump)
    if not dump.is_file():
        raise InputError(f"{dump}: no such backup file.")
    args = [
        _tool("pg_restore", bindir),
        "--no-owner",
        "--single-transaction",
        "--exit-on-error",
        *_conn_args(url),
    ]
    if clean:
        args += ["--clean", "--if-exists"]
    proc = subprocess.run([*args, str(dump)], capture_output=True, text=True, env=_env(url))
    if proc.returncode != 0:
        msg = proc.stderr.strip()
        hint = None
        if "already exists" in msg:
            hint = "The target database is not empty: pass --clean to replace its contents."
        elif "input file does not appear to be a valid archive" in msg:
            raise InputError(f"{dump} is not a pg_dump custom-format backup.")
        raise DatabaseError(f"pg_restore failed; nothing was restored:\n{msg}", hint=hint)
