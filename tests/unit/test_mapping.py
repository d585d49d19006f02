"""Map building, checked by rendering the HTML: layers present, assets local, data text escaped."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from urban_plan import assets, basemaps, frame, mapping, schema
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
    overlays = frame.layers_frame({layer: store.load(layer) for layer in schema.OVERLAY_LAYERS})
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
    for layer in schema.LAYER_IDS:
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
