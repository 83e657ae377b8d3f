"""Controlled vocabularies shared by schema, loaders, sample generator and API.

Each entry has a stable code (what the database stores), a Chinese and an English
label, and the Chinese/English spellings a loader accepts as input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Stream = Literal["criminal", "public_order", "governance"]


@dataclass(frozen=True)
class Category:
    code: str
    stream: Stream
    name_zh: str
    name_en: str
    property_crime: bool = False


CATEGORIES: tuple[Category, ...] = (
    # 刑事案件 criminal cases
    Category("burglary", "criminal", "入室盗窃", "Burglary", property_crime=True),
    Category("theft", "criminal", "盗窃", "Theft", property_crime=True),
    Category("fraud", "criminal", "诈骗", "Fraud"),
    Category("robbery", "criminal", "抢劫", "Robbery", property_crime=True),
    Category("assault", "criminal", "故意伤害", "Assault"),
    Category("other_crime", "criminal", "其他刑事案件", "Other criminal case"),
    # 治安案件 public-order cases
    Category("fight", "public_order", "殴打他人", "Fight"),
    Category("petty_theft", "public_order", "小额盗窃", "Petty theft", property_crime=True),
    Category("disturbance", "public_order", "扰乱秩序", "Disturbance"),
    Category("gambling", "public_order", "赌博", "Gambling"),
    Category("vandalism", "public_order", "故意损毁财物", "Vandalism", property_crime=True),
    # 网格治理事件 governance events
    Category("dispute", "governance", "矛盾纠纷", "Dispute"),
    Category("public_request", "governance", "群众诉求", "Public request"),
    Category("safety_hazard", "governance", "安全隐患", "Safety hazard"),
    Category("public_sentiment", "governance", "社情民意", "Public sentiment"),
)
CATEGORY_BY_CODE = {c.code: c for c in CATEGORIES}
CRIMINAL_CATEGORIES = tuple(c.code for c in CATEGORIES if c.stream == "criminal")

HANDLING_LEVELS = ("grid", "village", "town", "county")
HANDLING_LEVEL_ZH = {"grid": "网格", "village": "村(社区)", "town": "镇", "county": "县"}
INCIDENT_STATUSES = ("open", "in_progress", "closed")
INCIDENT_STATUS_ZH = {"open": "待处理", "in_progress": "处理中", "closed": "已办结"}
CAMERA_STATUSES = ("in_service", "faulty", "retired")
CAMERA_STATUS_ZH = {"in_service": "在用", "faulty": "故障", "retired": "已停用"}
CAMERA_KINDS = ("fixed", "dome", "panning")
ROAD_CLASSES = ("national", "provincial", "county", "village")
ROAD_CLASS_ZH = {"national": "国道", "provincial": "省道", "county": "县道", "village": "村道"}
VILLAGE_KINDS = ("village", "community")
GRID_LEVELS = (1, 2, 3)
GRID_STAFF_ROLES = {
    1: "grid manager (一级网格长)",
    2: "grid supervisor (二级网格管理员)",
    3: "grid worker (三级网格员)",
}


def _aliases() -> dict[str, dict[str, str]]:
    """Input spellings accepted for each coded field, lower-cased, mapped to the code."""
    table: dict[str, dict[str, str]] = {
        "category": {},
        "handled_level": {},
        "status": {},
        "camera_status": {},
        "road_class": {},
    }
    for c in CATEGORIES:
        for spelling in (c.code, c.name_zh, c.name_en):
            table["category"][spelling.lower()] = c.code
    for code, zh in HANDLING_LEVEL_ZH.items():
        table["handled_level"].update({code: code, zh: code})
    table["handled_level"].update(
        {"村": "village", "社区": "village", "县级": "county", "镇级": "town"}
    )
    for code, zh in INCIDENT_STATUS_ZH.items():
        table["status"].update({code: code, zh: code, code.replace("_", " "): code})
    for code, zh in CAMERA_STATUS_ZH.items():
        table["camera_status"].update({code: code, zh: code, code.replace("_", " "): code})
    table["camera_status"].update(
        {"ok": "in_service", "active": "in_service", "正常": "in_service"}
    )
    for code, zh in ROAD_CLASS_ZH.items():
        table["road_class"].update({code: code, zh: code})
    return table


ALIASES = _aliases()
