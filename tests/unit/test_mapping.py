"""Map building, checked by rendering the HTML: layers present, assets local, data text escaped."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
import streamlit_folium

from urban_plan import assets, basemaps, frame, mapping, registry, schema
from urban_plan.registry import FieldDef
from urban_plan.store import FileLayerStore

ROOT = Path(__file__).resolve().parents[2]
PAYLOADS = [
    "<img src=x onerror=alert(1)>",
    "${alert(1)}",
    "`${alert(2)}`",
    "</script><script>alert(3)</script>",
    '" onmouseover="alert(4)',
]


@pytest.fixture(scope="module")
def shipped() -> tuple[pd.DataFrame, pd.DataFrame]:
    store = FileLayerStore(ROOT / "geodata")
    context = frame.collection_frame(store.load("context"), "context")
    overlays = frame.layers_frame({layer: store.load(layer) for layer in registry.builtin().overlays()})
    return context, overlays


def render(m) -> str:
    return m.get_root().render()


def geojson_blocks(html: str) -> list[dict]:
    """The FeatureCollections embedded in the page."""
    return mapping.embedded_collections(html)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_layer_is_drawn_with_its_features(shipped, lang: str) -> None:
    context, overlays = shipped
    html = render(mapping.full_map(context, overlays, mapping.MapOptions(lang=lang)))
    features = [f for block in geojson_blocks(html) for f in block["features"]]
    assert len(features) == len(context) + len(overlays)
    for layer in registry.builtin().ids():
        assert f"up-l-{layer}" in html
    assert html.count("L.control.layers") == 1


@pytest.mark.parametrize("basemap", ["none", "osm"])
def test_the_map_loads_only_vendored_assets(shipped, basemap: str) -> None:
    context, overlays = shipped
    html = render(
        mapping.full_map(
            context,
            overlays,
            mapping.MapOptions(lang="zh", basemap=basemap, tiles=basemaps.choose(basemap, basemaps.Settings()).tiles),
        )
    )
    links = assets.all_links(html)
    assert links and all(link.startswith(assets.APP_BASE + "/") for link in links), links
    for link in links:
        assert (assets.VENDOR_DIR / link[len(assets.APP_BASE) + 1 :]).is_file(), link
    assert not re.search(r"cdn\.jsdelivr|cdnjs|code\.jquery|bootstrapcdn|unpkg", html)
    tiles = re.findall(r"L\.tileLayer\(\s*\"([^\"]+)\"", html)
    assert tiles == ([] if basemap == "none" else ["https://tile.openstreetmap.org/{z}/{x}/{y}.png"])


def test_the_base_map_has_fullscreen_measure_scale_legend_and_fits_the_district(shipped) -> None:
    context, _ = shipped
    zh = render(mapping.base_map(context, mapping.MapOptions(lang="zh")))
    assert "L.control.fullscreen" in zh and "L.Control.Measure" in zh and "L.control.scale" in zh
    assert "leaflet-measure.cn.js" in zh and json.dumps("图例")[1:-1] in zh and "fitBounds" in zh
    en = render(mapping.base_map(context, mapping.MapOptions(lang="en")))
    assert "leaflet-measure.en.js" in en and "Legend" in en


def test_hostile_text_in_any_field_reaches_the_map_only_escaped() -> None:
    fields = {name: PAYLOADS[i % len(PAYLOADS)] for i, name in enumerate(schema.TEXT_FIELDS)}
    rows = [
        {
            **fields,
            "layer": "projects",
            "status": "planned",
            "progress": None,
            "start_date": None,
            "end_date": None,
            "investment_yi": None,
            "confidence": "approximate",
            "id": f"x{i}",
            "name_zh": payload,
            "name_en": payload,
            "kind": payload,
            "source": payload,
            "note": payload,
        }
        for i, payload in enumerate(PAYLOADS)
    ]
    overlays = pd.DataFrame(rows)
    overlays["geometry"] = [shapely.Point(117.17, 36.98)] * len(rows)
    overlays = gpd.GeoDataFrame(overlays, geometry="geometry", crs="EPSG:4326")
    html = render(mapping.full_map(frame.empty_frame(), overlays, mapping.MapOptions(lang="en")))
    for payload in PAYLOADS:
        assert payload not in html
    assert "<img src=x" not in html and "${alert" not in html and "<script>alert" not in html
    decoded = [f["properties"]["_tip"] for block in geojson_blocks(html) for f in block["features"]]
    assert any("&lt;img src=x onerror=alert(1)&gt;" in tip for tip in decoded)
    assert any("&#36;&#123;alert(1)&#125;" in tip for tip in decoded)


def test_a_clicked_tooltip_text_gives_back_the_feature_key() -> None:
    text = "黄河大道北延 示意\nHuanghe Avenue north extension\n在建 · 进度 未报告\nprojects/prj-huanghe-north"
    assert mapping.feature_key_from_text(text) == ("projects", "prj-huanghe-north")
    assert mapping.feature_key_from_text("name mentions rail/fake\n…\nroads/road-01") == ("roads", "road-01")
    assert mapping.feature_key_from_text("no key here") is None
    assert mapping.feature_key_from_text(None) is None


def test_placeholder_and_approximate_shapes_are_styled_differently(shipped) -> None:
    _, overlays = shipped
    styles = {}
    for confidence in ("approximate", "placeholder"):
        part = overlays[overlays["confidence"] == confidence].head(1)
        feature = json.loads(mapping.layer_geojson(part, mapping.MapOptions(lang="zh")))["features"][0]
        styles[confidence] = mapping._overlay_style(feature)
    assert styles["approximate"]["dashArray"] != styles["placeholder"]["dashArray"]
    assert styles["placeholder"]["fillOpacity"] < styles["approximate"]["fillOpacity"]
    tip = mapping.tooltip_html(overlays[overlays["confidence"] == "placeholder"].iloc[0].to_dict(), "zh")
    assert "待核实" in tip


def feature_row(**fields: object) -> dict[str, object]:
    """One overlay feature's attributes: a planned, approximate feature with nothing reported, plus `fields`."""
    return {
        "layer": "projects",
        "id": "f1",
        "name_zh": "x",
        "name_en": None,
        "kind": "road",
        "status": "planned",
        "progress": None,
        "start_date": None,
        "end_date": None,
        "investment_yi": None,
        "source": "s",
        "confidence": "approximate",
        "note": None,
        **fields,
    }


TEMPLATE_PAYLOADS = ["{{ 7*7 }}", "{% for x in range(3) %}X{% endfor %}", "{# hidden #}", "{{ cycler.__init__ }}"]


def hostile_frame(field: str, layer: str = "projects") -> gpd.GeoDataFrame:
    import geopandas as gpd

    rows = [
        feature_row(**({"layer": layer, "id": f"t{i}", "name_en": "x"} | {field: payload}))
        for i, payload in enumerate(TEMPLATE_PAYLOADS)
    ]
    return gpd.GeoDataFrame(rows, geometry=[shapely.Point(117.17, 36.98)] * len(rows), crs="EPSG:4326")


@pytest.mark.parametrize("field", ["name_zh", "source", "kind"])
def test_template_syntax_in_data_is_shown_never_evaluated_on_the_server(field: str) -> None:
    """folium/branca compile rendered output as Jinja: data must never reach that as template code."""
    import streamlit_folium

    frame_ = hostile_frame(field)
    options = mapping.MapOptions(lang="en", stamp=("{{ 7*7 }}", "{% for x in range(3) %}X{% endfor %}"))
    html = render(mapping.full_map(frame_, frame_, options))
    m = mapping.base_map(frame.empty_frame(), options)
    streamed = "".join(
        streamlit_folium._get_feature_group_string(group, map=m, idx=i)
        for i, group in enumerate(mapping.overlay_groups(frame_, options))
    )
    for text in (html, streamed):
        assert "49" not in re.sub(r"[0-9a-f]{32}", "", text).replace("1.49", "")  # no arithmetic happened
        assert ("XXX" not in text and "hidden" in text) or field != "name_zh"
    tips = [f["properties"]["_tip"] for block in mapping.embedded_collections(html) for f in block["features"]]
    if field == "name_zh":
        assert any("&#123;&#123; 7*7 &#125;&#125;" in tip for tip in tips)


def test_folium_s_own_elements_never_evaluate_template_syntax_either() -> None:
    """A folium element outside our code (a marker's tooltip) keeps `{{ ... }}` as text on the rendered page."""
    import folium

    m = mapping.base_map(frame.empty_frame(), mapping.MapOptions())
    folium.Marker([36.98, 117.17], tooltip="{{ 7*7 }}").add_to(m)
    html = render(m)
    assert "{{ 7*7 }}" in html and ">49<" not in html and '"49"' not in html


def test_a_line_work_draws_its_completed_share_heavy_and_the_rest_thin_and_light() -> None:
    line = shapely.LineString([(117.10, 36.90), (117.20, 36.90)])
    rows = [feature_row(layer="roads", id="r1", name_zh="路", kind="road_work", status="in_progress", progress=60.0)]
    part = gpd.GeoDataFrame(rows, geometry=[line], crs="EPSG:4326")
    features = json.loads(mapping.layer_geojson(part, mapping.MapOptions()))["features"]
    pieces = {f["properties"]["_s"].rsplit("|", 1)[-1]: f for f in features}
    assert set(pieces) == {"done", "rest"}
    done = shapely.from_geojson(json.dumps(pieces["done"]["geometry"]))
    assert done.length / line.length == pytest.approx(0.6, abs=1e-4)
    done_style, rest_style = (mapping._overlay_style(pieces[p]) for p in ("done", "rest"))
    # A dash only ever means the shape's confidence (here approximate), never "not yet built".
    assert done_style["dashArray"] == rest_style["dashArray"] == mapping.DASH["approximate"]
    assert rest_style["weight"] < done_style["weight"] / 2 and rest_style["opacity"] < done_style["opacity"]
    # Without reported progress the line is one piece, dashed as an approximate shape.
    part.loc[0, "progress"] = None
    (whole,) = json.loads(mapping.layer_geojson(part, mapping.MapOptions()))["features"]
    assert mapping._overlay_style(whole)["dashArray"] == mapping.DASH["approximate"]


# --- layers are data: a new layer, its fields, archived layers, several base layers -------------------------------

SCHOOL_FIELDS = (
    FieldDef(
        "学段",
        "学段",
        "Stage",
        "enum",
        options=(("小学", "小学", "Primary"), ("初中", "初中", "Junior high")),
        tooltip=True,
    ),
    FieldDef("建设单位", "建设单位", "Builder", tooltip=True),
    FieldDef("占地面积(公顷)", "占地面积(公顷)", "Site area (ha)", "number"),
    FieldDef("开办日期", "开办日期", "Opened", "date"),
    FieldDef("公办", "公办", "Public", "boolean"),
    FieldDef("附属设施", "附属设施", "Facilities", "json"),
    FieldDef("内部编码", "内部编码", "Internal code", details=False),
)
LAYERS = registry.add_layer(
    registry.builtin(),
    "schools",
    name_zh="学校",
    name_en="Schools",
    role="overlay",
    families=("point",),
    fields=SCHOOL_FIELDS,
)


def schools(**extra: object) -> gpd.GeoDataFrame:
    """Two schools: points of a layer that does not track progress, with Chinese attribute columns."""
    rows = [
        feature_row(
            layer="schools",
            id="s1",
            name_zh="实验小学",
            name_en="Experimental Primary School",
            kind=None,
            status=None,
            confidence="surveyed",
            source=None,
            **{
                "学段": "小学",
                "建设单位": "区教体局",
                "占地面积(公顷)": 12345.5,
                "开办日期": "2024-09-01",
                "公办": True,
                "附属设施": {"操场": "400m", "楼": [1, 2]},
                "内部编码": "X-1",
            },
        ),
        feature_row(layer="schools", id="s2", name_zh="第二中学", kind=None, status=None, **{"学段": "初中"}, **extra),
    ]
    points = [shapely.Point(117.17, 36.98), shapely.Point(117.18, 36.99)]
    return gpd.GeoDataFrame(rows, geometry=points, crs="EPSG:4326")


def control_names(html: str) -> list[str]:
    """The overlay names of the map's layer control, as Leaflet gets them (it writes them with innerHTML)."""
    block = re.search(r"overlays\s*:\s*\{(.*?)\n\s*\},", html, re.S)
    return [json.loads(f'"{key}"') for key in re.findall(r'"((?:[^"\\]|\\.)*)"\s*:', block.group(1))]


def school_features(html: str) -> list[dict]:
    return [
        f
        for block in geojson_blocks(html)
        for f in block["features"]
        if "schools/" in (f["properties"].get("_tip") or f["properties"].get("_k") or "")
    ]


@pytest.mark.parametrize(("lang", "name"), [("zh", "学校"), ("en", "Schools")])
def test_a_new_layer_is_in_the_legend_and_layer_control_and_drawn_in_its_accent(shipped, lang: str, name: str) -> None:
    context, overlays = shipped
    both = gpd.GeoDataFrame(pd.concat([overlays, schools()], ignore_index=True), crs="EPSG:4326")
    html = render(mapping.full_map(context, both, mapping.MapOptions(lang=lang, registry=LAYERS)))
    legend = mapping.legend_html(lang, "status", LAYERS)
    assert 'up-legend-layer-schools">' in legend and name in legend
    # The layer control lists it after the shipped overlays (registry order), with its count.
    names = control_names(html)
    assert names[-1] == ("学校(2)" if lang == "zh" else "Schools (2)") and len(names) == 6, names
    features = school_features(html)
    assert len(features) == 2
    colour = LAYERS["schools"].colour
    for feature in features:
        style = mapping._overlay_style(feature)
        assert style["color"] == style["fillColor"] == colour  # its accent, not a status colour
        assert "up-l-schools" in style["className"] and "up-s-planned" not in style["className"]
        assert style["pointFillOpacity"] >= 0.5  # a school is a visible dot, not a faint ring
        tip = feature["properties"]["_tip"]
        assert name in tip and not any(symbol in tip for symbol in schema.STATUS_SYMBOLS.values())


def test_an_archived_layer_is_gone_from_the_map_its_legend_and_its_layer_control(shipped) -> None:
    context, overlays = shipped
    archived = registry.set_archived(LAYERS, "schools", True)
    both = gpd.GeoDataFrame(pd.concat([overlays, schools()], ignore_index=True), crs="EPSG:4326")
    html = render(mapping.full_map(context, both, mapping.MapOptions(lang="zh", registry=archived)))
    assert school_features(html) == [] and "up-l-schools" not in html
    assert not [name for name in control_names(html) if "学校" in name] and len(control_names(html)) == 5
    assert "up-legend-layer-schools" not in mapping.legend_html("zh", "status", archived)
    # The shipped layers are all still there.
    for layer in archived.ids():
        assert f"up-l-{layer}" in html


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_tooltips_popups_and_details_show_the_layer_s_attributes_after_the_canonical_fields(lang: str) -> None:
    row = schools().iloc[0].to_dict()
    layer = LAYERS["schools"]
    tip = mapping.tooltip_html(row, lang, layer)
    stage, builder = ("小学", "建设单位") if lang == "zh" else ("Primary", "Builder")
    assert stage in tip and builder in tip and "区教体局" in tip
    assert "Site area" not in tip and "占地面积" not in tip  # not marked for tooltips
    assert tip.rindex("schools/s1") > tip.index("区教体局")  # the key stays last: the click hook reads the last one
    assert mapping.feature_key_from_text(re.sub(r"<[^>]+>", "\n", tip)) == ("schools", "s1")

    rows = mapping.details_rows(row, lang, LAYERS)
    fields = [field for field, _, _ in rows]
    assert fields[-1] == "id" and fields.index("note") < fields.index("学段")
    assert not {"status", "progress", "start_date", "end_date", "investment_yi"} & set(fields)  # no progress here
    assert "内部编码" not in fields  # marked not for details
    values = {field: value for field, _, value in rows}
    labels = {field: label_ for field, label_, _ in rows}
    assert values["layer"] == ("学校" if lang == "zh" else "Schools")
    assert labels["占地面积(公顷)"] == ("占地面积(公顷)" if lang == "zh" else "Site area (ha)")
    assert values["学段"] == stage and values["占地面积(公顷)"] == "12,345.5" and values["开办日期"] == "2024-09-01"
    assert values["公办"] == ("是" if lang == "zh" else "Yes")
    assert values["附属设施"] == '{"操场":"400m","楼":[1,2]}'  # JSON on one line
    second = {field: value for field, _, value in mapping.details_rows(schools().iloc[1].to_dict(), lang, LAYERS)}
    assert second["建设单位"] == "—"  # empty in the details, left out of the tooltip
    assert "建设单位" not in mapping.tooltip_html(schools().iloc[1].to_dict(), lang, layer)

    popup = mapping.popup_html(row, lang, layer)
    assert "12,345.5" in popup and "&quot;操场&quot;" in popup and "X-1" not in popup

    colour, line = mapping.status_line(row, lang, LAYERS)
    assert colour == layer.colour and ("学校" if lang == "zh" else "Schools") in line


def test_hostile_attribute_names_values_and_layer_names_reach_the_map_only_escaped() -> None:
    hostile = registry.add_layer(
        registry.builtin(),
        "hostile",
        name_zh="<img src=x onerror=alert(9)>",
        name_en="${alert(8)}",
        role="overlay",
        fields=tuple(FieldDef(payload, payload, payload, tooltip=True) for payload in [*PAYLOADS, "{{ 7*7 }}"]),
    )
    rows = [
        feature_row(layer="hostile", id=f"h{i}", status=None, **dict.fromkeys([*PAYLOADS, "{{ 7*7 }}"], payload))
        for i, payload in enumerate([*PAYLOADS, "projects/prj-01 {{ 7*7 }}"])
    ]
    part = gpd.GeoDataFrame(rows, geometry=[shapely.Point(117.17, 36.98)] * len(rows), crs="EPSG:4326")
    for lang in ("zh", "en"):
        options = mapping.MapOptions(lang=lang, registry=hostile)
        html = render(mapping.full_map(frame.empty_frame(), part, options))
        streamed = "".join(
            streamlit_folium._get_feature_group_string(group, map=mapping.base_map(frame.empty_frame(), options), idx=i)
            for i, group in enumerate(mapping.overlay_groups(part, options))
        )
        for text in (html, streamed):
            for payload in [*PAYLOADS, "<img src=x onerror=alert(9)>", "${alert(8)}"]:
                assert payload not in text
            assert "<img src=x" not in text and "${alert" not in text and "<script>alert" not in text
            assert "49" not in re.sub(r"[0-9a-f]{32}", "", text).replace("1.49", "")
        tips = [f["properties"]["_tip"] for f in geojson_blocks(html)[0]["features"]]
        assert all("&lt;img src=x onerror=alert(1)&gt;" in tip for tip in tips)
        # A value that looks like another feature's key never hijacks a click.
        texts = [re.sub(r"<[^>]+>", "\n", tip) for tip in tips]
        assert [mapping.feature_key_from_text(text) for text in texts] == [("hostile", f"h{i}") for i in range(6)]
        escaped = "&lt;img src=x onerror=alert(9)&gt;" if lang == "zh" else "&#36;&#123;alert(8)&#125;"
        assert control_names(html)[-1].startswith(escaped)  # Leaflet shows it as the text it is
    legend = mapping.legend_html("zh", "status", hostile)
    assert "<img src=x" not in legend and "&lt;img src=x onerror=alert(9)&gt;" in legend


def test_several_base_layers_each_get_their_own_group_under_the_overlays(shipped) -> None:
    context, _ = shipped
    landuse = registry.add_layer(LAYERS, "landuse", name_zh="用地规划", name_en="Land use plan", role="base")
    parcels = gpd.GeoDataFrame(
        [feature_row(layer="landuse", id="l1", name_zh="居住用地", kind="R2", status=None)],
        geometry=[shapely.box(117.1, 36.9, 117.12, 36.92)],
        crs="EPSG:4326",
    )
    bases = gpd.GeoDataFrame(pd.concat([context, parcels], ignore_index=True), crs="EPSG:4326")
    html = render(mapping.base_map(bases, mapping.MapOptions(lang="en", registry=landuse)))
    groups = mapping.context_groups(bases, mapping.MapOptions(lang="en", registry=landuse))
    assert [g.layer_name for g in groups] == ["Base map features", "Land use plan"]
    assert "up-l-landuse" in html and "up-l-context" in html
    (parcel,) = [
        f for block in geojson_blocks(html) for f in block["features"] if "landuse/" in f["properties"]["_tip"]
    ]
    assert mapping._context_style(parcel)["color"] == landuse["landuse"].colour  # a kind of its own: its accent


def test_a_line_in_a_layer_without_progress_is_never_split_into_done_and_rest() -> None:
    lines = registry.add_layer(registry.builtin(), "canals", name_zh="规划水系", name_en="Canals", role="overlay")
    line = shapely.LineString([(117.10, 36.90), (117.20, 36.90)])
    part = gpd.GeoDataFrame([feature_row(layer="canals", id="c1", progress=60.0)], geometry=[line], crs="EPSG:4326")
    features = json.loads(mapping.layer_geojson(part, mapping.MapOptions(registry=lines)))["features"]
    assert [f["properties"]["_s"].rsplit("|", 1)[-1] for f in features] == ["whole"]


def test_a_clicked_tooltip_gives_back_the_key_of_a_layer_added_later() -> None:
    assert mapping.feature_key_from_text("实验小学\n学校\n编号 schools/s-1") == ("schools", "s-1")
    assert mapping.feature_key_from_text("备注 roads/road-01\n编号 school_2026/s1") == ("school_2026", "s1")
