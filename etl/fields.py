"""What each loadable layer holds, and how input column names map onto it.

Chinese office software and GIS tools name the same field many ways; the aliases
below are matched case-insensitively after trimming spaces, underscores and
hyphens. Anything else can be mapped with ``--map column=field``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from gridwatch.errors import InputError

Kind = Literal["str", "int", "float", "bool", "date", "datetime", "vocab"]
GeomKind = Literal["point", "line", "polygon"]


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    required: bool = False
    aliases: tuple[str, ...] = ()
    vocab: str | None = None  # key into etl.vocabulary.ALIASES


@dataclass(frozen=True)
class LayerSpec:
    name: str
    table: str
    geometry: GeomKind
    key: str  # the upsert key
    fields: tuple[Field, ...]
    label_zh: str = ""

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


CODE = ("code", "id", "编码", "代码", "编号", "区划代码", "行政区划代码")
NAME_ZH = ("name", "name_zh", "名称", "中文名", "中文名称")
PINYIN = ("name_pinyin", "pinyin", "name_en", "拼音", "英文名")
POPULATION = ("population", "pop", "人口", "户籍人口", "常住人口")

_PLACE = (
    Field("code", "str", True, CODE),
    Field("name_zh", "str", True, (*NAME_ZH, "镇名", "乡镇名称", "村名", "村名称", "社区名称")),
    Field("name_pinyin", "str", True, PINYIN),
)

LAYERS: dict[str, LayerSpec] = {
    "county": LayerSpec(
        "county", "county", "polygon", "code",
        (*_PLACE, Field("population", "int", False, POPULATION)),
        "县界",
    ),
    "towns": LayerSpec(
        "towns", "towns", "polygon", "code",
        (*_PLACE, Field("population", "int", False, POPULATION)),
        "乡镇",
    ),
    "villages": LayerSpec(
        "villages", "villages", "polygon", "code",
        (
            *_PLACE,
            Field("population", "int", True, POPULATION),
            Field("kind", "str", False, ("kind", "type", "类型", "村社类型")),
            Field("town_code", "str", False, ("town_code", "town", "所属镇", "镇代码", "乡镇代码")),
        ),
        "村(社区)",
    ),
    "grids": LayerSpec(
        "grids", "grids", "polygon", "code",
        (
            Field("code", "str", True, (*CODE, "网格编码", "网格编号")),
            Field("level", "int", True, ("level", "grid_level", "层级", "网格层级", "网格级别")),
            Field("parent_code", "str", False, ("parent_code", "parent", "上级网格", "上级编码", "上级网格编码")),
            Field("name_zh", "str", False, (*NAME_ZH, "网格名称")),
            Field("staff_role", "str", False, ("staff_role", "role", "岗位", "网格员角色", "人员角色")),
        ),
        "网格",
    ),
    "roads": LayerSpec(
        "roads", "roads", "line", "source_id",
        (
            Field("source_id", "str", True, ("source_id", *CODE, "道路编号")),
            Field("class", "vocab", True, ("class", "road_class", "fclass", "等级", "道路等级"), "road_class"),
            Field("name_zh", "str", False, (*NAME_ZH, "道路名称")),
        ),
        "道路",
    ),
    "cameras": LayerSpec(
        "cameras", "cameras", "point", "code",
        (
            Field("code", "str", True, (*CODE, "camera_id", "设备编号", "摄像头编号", "点位编号")),
            Field("kind", "str", False, ("kind", "camera_type", "type", "camera:type", "类型", "设备类型")),
            Field("bearing_deg", "float", True, ("bearing_deg", "bearing", "direction", "azimuth", "camera:direction", "方向", "朝向", "方位角")),
            Field("fov_deg", "float", True, ("fov_deg", "fov", "field_of_view", "视场角", "水平视场角")),
            Field("range_m", "float", True, ("range_m", "range", "distance", "视距", "监控距离", "可视距离")),
            Field("height_m", "float", True, ("height_m", "height", "高度", "安装高度")),
            Field("installed_on", "date", True, ("installed_on", "installed", "install_date", "安装日期", "安装时间")),
            Field("status", "vocab", False, ("status", "状态", "设备状态"), "camera_status"),
            Field("village_code", "str", False, ("village_code", "village", "所属村", "村编码", "村代码")),
        ),
        "摄像头",
    ),
    "incidents": LayerSpec(
        "incidents", "incidents", "point", "source_id",
        (
            Field("source_id", "str", True, ("source_id", "id", "incident_id", "case_id", "case_no", "event_id", "编号", "事件编号", "案件编号", "警情编号")),
            Field("category", "vocab", True, ("category", "type", "类别", "类型", "案件类别", "事件类型", "案由"), "category"),
            Field("occurred_at", "datetime", True, ("occurred_at", "occurred", "time", "datetime", "发生时间", "案发时间", "事发时间")),
            Field("reported_at", "datetime", False, ("reported_at", "reported", "report_time", "报案时间", "上报时间", "受理时间")),
            Field("closed_at", "datetime", False, ("closed_at", "closed", "办结时间", "结案时间")),
            Field("solved_at", "datetime", False, ("solved_at", "solved", "破案时间")),
            Field("is_criminal", "bool", False, ("is_criminal", "criminal", "刑事", "是否刑事案件")),
            Field("handled_level", "vocab", False, ("handled_level", "level", "处置层级", "办理层级", "办结层级"), "handled_level"),
            Field("status", "vocab", False, ("status", "状态", "办理状态"), "status"),
        ),
        "事件",
    ),
}  # fmt: skip

LON = ("lon", "lng", "long", "longitude", "x", "经度", "东经")
LAT = ("lat", "latitude", "y", "纬度", "北纬")
WKT = ("wkt", "geometry", "geom", "the_geom", "shape", "几何", "坐标")
# columns that would carry personal data: never loaded (DOMAIN.md, privacy by design)
PERSONAL = re.compile(
    r"(姓名|身份证|证件|电话|手机|联系方式|车牌|号牌|住址|人脸|^name_of|person|phone|mobile|"
    r"id_?card|id_?number|plate|licen[cs]e|address|face|victim|suspect|reporter)",
    re.IGNORECASE,
)


def norm(column: str) -> str:
    return re.sub(r"[\s_\-]+", "", str(column)).lower().lstrip("\ufeff")


@dataclass
class ColumnPlan:
    """How a file's columns map to a layer's fields."""

    fields: dict[str, str]  # field -> source column
    lon: str | None = None
    lat: str | None = None
    wkt: str | None = None
    ignored: list[str] = field(default_factory=list)
    personal: list[str] = field(default_factory=list)


def plan_columns(
    columns: list[str],
    spec: LayerSpec,
    *,
    has_geometry: bool,
    mapping: dict[str, str] | None = None,
    source: str = "",
) -> ColumnPlan:
    """Match ``columns`` to ``spec``'s fields; raise listing what is missing and what was found."""
    mapping = dict(mapping or {})
    unknown = [f for f in mapping.values() if f not in (*spec.names, "lon", "lat", "wkt")]
    if unknown:
        raise InputError(
            f"--map names unknown field(s) {', '.join(unknown)} for layer {spec.name}; "
            f"its fields are: {', '.join((*spec.names, 'lon', 'lat', 'wkt'))}"
        )
    missing_cols = [c for c in mapping if c not in columns]
    if missing_cols:
        raise InputError(
            f"{source}: --map refers to column(s) {', '.join(missing_cols)} that the file does not"
            f" have; columns found: {', '.join(columns)}"
        )
    by_norm: dict[str, str] = {}
    for c in columns:
        by_norm.setdefault(norm(c), c)
    taken = set(mapping)
    plan = ColumnPlan(fields={})

    def find(target: str, aliases: tuple[str, ...]) -> str | None:
        for col, fld in mapping.items():
            if fld == target:
                return col
        for alias in aliases:
            match = by_norm.get(norm(alias))
            if match is not None and match not in taken:
                taken.add(match)
                return match
        return None

    for f in spec.fields:
        names = (f.name, *f.aliases)
        # Shapefiles cut field names to 10 characters (occurred_at -> occurred_a)
        col = find(f.name, (*names, *(a[:10] for a in names if len(a) > 10)))
        if col is not None:
            plan.fields[f.name] = col
    if not has_geometry:
        plan.wkt = find("wkt", WKT)
        if plan.wkt is None:
            plan.lon, plan.lat = find("lon", LON), find("lat", LAT)
    missing = [f for f in spec.fields if f.required and f.name not in plan.fields]
    geom_missing = not has_geometry and plan.wkt is None and (plan.lon is None or plan.lat is None)
    if missing or geom_missing:
        parts = [
            f"{f.name} (accepted names: {', '.join(f.aliases[:6])}{', ...' if len(f.aliases) > 6 else ''})"
            for f in missing
        ]
        if geom_missing:
            parts.append(
                "a geometry: lon and lat columns (经度/纬度, longitude/latitude, x/y)"
                " or a WKT column (wkt, geometry)"
            )
        raise InputError(
            f"{source}: missing required column(s) for layer {spec.name}: {'; '.join(parts)}.\n"
            f"Columns found: {', '.join(columns) or '(none)'}.\n"
            "Map another column with --map COLUMN=FIELD."
        )
    used = set(plan.fields.values()) | {plan.lon, plan.lat, plan.wkt}
    for c in columns:
        if c in used:
            continue
        (plan.personal if PERSONAL.search(str(c)) else plan.ignored).append(c)
    return plan
