"""The PostGIS schema as SQLAlchemy 2 + GeoAlchemy2 models.

Geometries are EPSG:4326 (CGCS2000 is treated as equal at county scale) with GiST
indexes; every geometry must be valid. The database enforces what can be enforced
row by row (types, ranges, time order, foreign keys), so no loader bug can store an
impossible record. No table holds a personal identifier (DOMAIN.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Identity,
    Integer,
    MetaData,
    SmallInteger,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from etl.vocabulary import (
    CAMERA_KINDS,
    CAMERA_STATUSES,
    HANDLING_LEVELS,
    INCIDENT_STATUSES,
    ROAD_CLASSES,
    VILLAGE_KINDS,
)

SRID = 4326

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _in(column: str, values: tuple[Any, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _geom(kind: str) -> Any:
    return mapped_column(Geometry(kind, srid=SRID, spatial_index=True), nullable=False)


def _valid() -> CheckConstraint:
    return CheckConstraint("ST_IsValid(geom)", name="geom_valid")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class County(Base):
    __tablename__ = "county"
    __table_args__ = (_valid(), {"comment": "County boundary 县界"})

    id: Mapped[int] = mapped_column(SmallInteger, Identity(), primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name_zh: Mapped[str] = mapped_column(Text)
    name_pinyin: Mapped[str] = mapped_column(Text)
    population: Mapped[int | None] = mapped_column(Integer)
    geom = _geom("MULTIPOLYGON")


class Town(Base):
    __tablename__ = "towns"
    __table_args__ = (
        _valid(),
        CheckConstraint("population >= 0", name="population_nonneg"),
        {"comment": "Towns 镇 (and the county seat 城关镇)"},
    )

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name_zh: Mapped[str] = mapped_column(Text)
    name_pinyin: Mapped[str] = mapped_column(Text)
    population: Mapped[int | None] = mapped_column(Integer)
    county_id: Mapped[int] = mapped_column(ForeignKey("county.id", ondelete="RESTRICT"), index=True)
    geom = _geom("MULTIPOLYGON")


class Village(Base):
    __tablename__ = "villages"
    __table_args__ = (
        _valid(),
        CheckConstraint("population >= 0", name="population_nonneg"),
        CheckConstraint(_in("kind", VILLAGE_KINDS), name="kind"),
        {"comment": "Administrative villages 行政村 and urban communities 社区"},
    )

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name_zh: Mapped[str] = mapped_column(Text)
    name_pinyin: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text, server_default="village")
    population: Mapped[int] = mapped_column(Integer)
    town_id: Mapped[int] = mapped_column(ForeignKey("towns.id", ondelete="RESTRICT"), index=True)
    geom = _geom("MULTIPOLYGON")


class Grid(Base):
    __tablename__ = "grids"
    __table_args__ = (
        _valid(),
        CheckConstraint("level BETWEEN 1 AND 3", name="level_range"),
        CheckConstraint("(level = 1) = (parent_id IS NULL)", name="parent_iff_not_top"),
        {"comment": "Management grids 网格 at three nested levels"},
    )

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    level: Mapped[int] = mapped_column(SmallInteger, index=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("grids.id", ondelete="RESTRICT"), index=True
    )
    name_zh: Mapped[str | None] = mapped_column(Text)
    staff_role: Mapped[str] = mapped_column(Text, comment="Role of the grid's staff; never a name")
    geom = _geom("MULTIPOLYGON")


class Road(Base):
    __tablename__ = "roads"
    __table_args__ = (
        _valid(),
        CheckConstraint(_in("class", ROAD_CLASSES), name="class"),
        {"comment": "Road network 道路 (base layer, camera placement)"},
    )

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    source_id: Mapped[str] = mapped_column(Text, unique=True)
    road_class: Mapped[str] = mapped_column("class", Text, index=True)
    name_zh: Mapped[str | None] = mapped_column(Text)
    geom = _geom("MULTILINESTRING")


class Camera(Base):
    __tablename__ = "cameras"
    __table_args__ = (
        _valid(),
        CheckConstraint("bearing_deg >= 0 AND bearing_deg < 360", name="bearing_range"),
        CheckConstraint("fov_deg > 0 AND fov_deg <= 360", name="fov_range"),
        CheckConstraint("range_m > 0", name="range_positive"),
        CheckConstraint("height_m > 0", name="height_positive"),
        CheckConstraint(_in("status", CAMERA_STATUSES), name="status"),
        CheckConstraint(_in("kind", CAMERA_KINDS), name="kind"),
        {"comment": "Surveillance cameras 监控摄像头"},
    )

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    kind: Mapped[str] = mapped_column(Text, server_default="fixed")
    bearing_deg: Mapped[float] = mapped_column(Double, comment="Compass bearing, 0 = north")
    fov_deg: Mapped[float] = mapped_column(Double, comment="Horizontal field of view")
    range_m: Mapped[float] = mapped_column(Double)
    height_m: Mapped[float] = mapped_column(Double, comment="Mounting height above ground")
    installed_on: Mapped[dt.date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(Text)
    village_id: Mapped[int] = mapped_column(
        ForeignKey("villages.id", ondelete="RESTRICT"), index=True
    )
    geom = _geom("POINT")


class IncidentCategory(Base):
    __tablename__ = "incident_categories"
    __table_args__ = (
        CheckConstraint("stream IN ('criminal', 'public_order', 'governance')", name="stream"),
    )

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    stream: Mapped[str] = mapped_column(Text)
    name_zh: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        _valid(),
        CheckConstraint("reported_at >= occurred_at", name="reported_after_occurred"),
        CheckConstraint("closed_at >= reported_at", name="closed_after_reported"),
        CheckConstraint("solved_at >= occurred_at", name="solved_after_occurred"),
        CheckConstraint(_in("status", INCIDENT_STATUSES), name="status"),
        CheckConstraint(
            "(status = 'closed') = (closed_at IS NOT NULL)", name="closed_iff_closed_at"
        ),
        CheckConstraint(_in("handled_level", HANDLING_LEVELS), name="handled_level"),
        {"comment": "Incidents 事件: crimes, public-order cases, governance events (restricted)"},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    source_id: Mapped[str] = mapped_column(Text, unique=True, comment="Id in the source system")
    category: Mapped[str] = mapped_column(
        ForeignKey("incident_categories.code", ondelete="RESTRICT"), index=True
    )
    is_criminal: Mapped[bool] = mapped_column(Boolean)
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    reported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    solved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    handled_level: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    geom = _geom("POINT")


class LoadRun(Base):
    __tablename__ = "load_runs"
    __table_args__ = ({"comment": "Provenance of every load: what, from where, how many"},)

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    layer: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    rows_read: Mapped[int] = mapped_column(BigInteger)
    rows_loaded: Mapped[int] = mapped_column(BigInteger)
    rows_rejected: Mapped[int] = mapped_column(BigInteger)
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Raster(Base):
    __tablename__ = "rasters"
    __table_args__ = ({"comment": "Registered rasters (DEM) kept as Cloud Optimized GeoTIFFs"},)

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    crs: Mapped[str] = mapped_column(Text)
    resolution_m: Mapped[float] = mapped_column(Double)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    loaded_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    geom = mapped_column(Geometry("POLYGON", srid=SRID, spatial_index=True), nullable=False)


LAYER_TABLES: dict[str, type[Base]] = {
    "county": County,
    "towns": Town,
    "villages": Village,
    "grids": Grid,
    "roads": Road,
    "cameras": Camera,
    "incidents": Incident,
}
