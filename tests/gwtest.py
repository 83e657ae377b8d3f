"""Helpers shared by the tests (imported as ``gwtest``; ``tests`` clashes with site-packages)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

from etl.db import _engine


def engine_of(url: URL) -> Engine:
    return _engine(url.render_as_string(hide_password=False))


def q(url: URL, sql: str, **params: object) -> list[tuple]:
    with engine_of(url).connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql), params)]


def execute(url: URL, sql: str, **params: object) -> None:
    """Run a statement and commit it."""
    with engine_of(url).begin() as conn:
        conn.execute(sa.text(sql), params)
