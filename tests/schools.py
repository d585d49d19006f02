"""A points file of schools in Jiyang with the extra Chinese columns a bureau's export carries (made here, not shipped
data): 学段 repeats a few values (proposed as a choice list), 建设单位 varies (text), 占地面积(公顷) is a number."""

from __future__ import annotations

import json
from typing import Any

SCHOOLS = [
    ("济阳区第一实验小学", "小学", "济阳区教育和体育局", 2.4, (117.05156, 36.9785)),
    ("济阳区第二实验小学", "小学", "济阳区教育和体育局", 1.9, (117.04651, 36.99248)),
    ("济北中学", "初中", "济阳区城市建设投资集团", 3.1, (116.94771, 36.96913)),
    ("崔寨中学", "初中", "崔寨街道办事处", 2.7, (116.98826, 36.90386)),
    ("济阳区第一中学", "高中", "济阳区住房和城乡建设局", 8.5, (117.23359, 37.14229)),
    ("济阳区第二中学", "高中", "济阳街道办事处", 6.2, (117.26851, 37.14711)),
]
OUTSIDE = (116.40, 39.90)  # Beijing: far outside the district


def schools_geojson(*, outside: bool = False, extra: dict[str, Any] | None = None) -> bytes:
    rows = [*SCHOOLS, ("北京某学校", "小学", "某单位", 1.0, OUTSIDE)] if outside else SCHOOLS
    features = [
        {
            "type": "Feature",
            "properties": {
                **{"编号": f"sch-{i:02d}", "名称": name, "学段": stage},
                **{"建设单位": builder, "占地面积(公顷)": area},
                **(extra or {}),
            },
            "geometry": {"type": "Point", "coordinates": list(xy)},
        }
        for i, (name, stage, builder, area, xy) in enumerate(rows, start=1)
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode()
