"""Pure map building: a stable base map (context layer, controls, legend) and overlay groups that follow filters."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import folium
import folium.plugins
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.template import Template

from urban_plan import assets, display, schema
from urban_plan.display import escape
from urban_plan.i18n import label, t

# Jiyang District, WGS84 (from the boundary dataset), as Leaflet [[south, west], [north, east]].
DISTRICT_BOUNDS: list[list[float]] = [[36.782, 116.869], [37.246, 117.453]]
MAP_BACKGROUND = "#f3f1ea"  # the offline base: a paper tone, so the context layer reads as a map

# Click hook: the tooltip's last line carries "<layer>/<id>"; the page reads it back to show details.
FEATURE_KEY = re.compile(r"(" + "|".join(schema.LAYER_IDS) + r")/([0-9A-Za-z_.\-\u3400-\u9fff]{1,64})")

CONTEXT_STYLES: dict[str, dict[str, Any]] = {
    "boundary": {"color": "#4d4d4d", "weight": 2.5, "fill": True, "fillColor": "#ffffff", "fillOpacity": 0.55},
    "river": {"color": "#4a8fc7", "weight": 3},
    "lake": {"color": "#4a8fc7", "weight": 1, "fillColor": "#9cc7e8", "fillOpacity": 0.7},
    "road": {"color": "#8a6d3b", "weight": 3},
    "landmark": {"color": "#333333", "weight": 2, "fillColor": "#ffffff", "fillOpacity": 1, "radius": 5},
}
LINE_WEIGHT = {"roads": 5, "rail": 4, "projects": 5, "layout": 2}
DASH = {"surveyed": None, "approximate": "10 6", "placeholder": "2 7"}
FILL_OPACITY = {"surveyed": 0.35, "approximate": 0.22, "placeholder": 0.08}


def base_map(
    context: pd.DataFrame, *, lang: str, basemap: str = "none", asset_base: str = assets.APP_BASE
) -> folium.Map:
    """Everything that does not change with filters. Kept stable so streamlit-folium never remounts it."""
    m = folium.Map(
        location=[37.01, 117.16],
        zoom_start=11,
        tiles=None,
        control_scale=False,  # our own metric-only scale bar below
        zoom_control=True,
        prefer_canvas=False,
        zoomSnap=0.25,  # fit the district tightly instead of jumping whole zoom levels
        zoomDelta=0.5,
    )
    assets.use_local_assets(m, lang=lang, base=asset_base)
    m.get_root().header.add_child(folium.Element(f"<style>{_MAP_CSS}</style>"))
    m.options["attributionControl"] = True
    if basemap == "osm":
        tiles = folium.TileLayer(
            tiles="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
            attr='&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>',
            name=t("basemap.osm", lang),
            overlay=False,
            control=False,
            max_zoom=19,
        )
        tiles.add_to(m)
        TileErrorNotice(tiles, t("map.tiles_failed", lang)).add_to(m)
    context_group(context, lang=lang).add_to(m)
    fullscreen = folium.plugins.Fullscreen(
        position="topleft", title=t("map.fullscreen", lang), title_cancel=t("map.fullscreen_exit", lang)
    )
    assets.use_local_plugin_assets(fullscreen, "fullscreen", lang=lang, base=asset_base)
    fullscreen.add_to(m)
    measure = folium.plugins.MeasureControl(
        position="topleft",
        primary_length_unit="kilometers",
        secondary_length_unit="meters",
        primary_area_unit="hectares",
        secondary_area_unit="sqmeters",
    )
    assets.use_local_plugin_assets(measure, "measure", lang=lang, base=asset_base)
    measure.add_to(m)
    ScaleBar().add_to(m)
    Legend(legend_html(lang)).add_to(m)
    m.fit_bounds(DISTRICT_BOUNDS)
    return m


def context_group(context: pd.DataFrame, *, lang: str) -> folium.FeatureGroup:
    """The district boundary, rivers, lake and G220: the offline base. Not filtered, but can be toggled."""
    group = folium.FeatureGroup(name=t("layer.context", lang), overlay=True, control=True, show=True)
    if len(context):
        _geojson(context, lang=lang, style=_context_style, interactive_popup=True).add_to(group)
    return group


def overlay_groups(
    frame: pd.DataFrame, *, lang: str, layers: Iterable[str] = schema.OVERLAY_LAYERS
) -> list[folium.FeatureGroup]:
    """One feature group per overlay layer (even when empty, so the layer control keeps its rows)."""
    groups = []
    for layer in layers:
        part = frame[frame["layer"] == layer] if len(frame) else frame
        name = t("map.layer_count", lang, layer=label("layer", layer, lang), count=len(part))
        group = folium.FeatureGroup(name=name, overlay=True, control=True, show=True)
        if len(part):
            _geojson(part, lang=lang, style=_overlay_style, interactive_popup=True).add_to(group)
        groups.append(group)
    return groups


CHANGE_COLOURS = {"added": "#1a9850", "changed": "#e08a00", "removed": "#d73027", "unchanged": "#9e9e9e"}


def change_groups(
    old: pd.DataFrame, new: pd.DataFrame, changed_ids: dict[str, str], *, lang: str
) -> list[folium.FeatureGroup]:
    """An upload's preview on the map: added, changed and unchanged features from the upload, removed ones from
    the current version. `changed_ids` maps feature id -> "added" | "changed" | "removed"."""
    parts = {
        "unchanged": new[~new["id"].isin(changed_ids)] if len(new) else new,
        "added": new[new["id"].map(changed_ids).eq("added")] if len(new) else new,
        "changed": new[new["id"].map(changed_ids).eq("changed")] if len(new) else new,
        "removed": old[old["id"].map(changed_ids).eq("removed")] if len(old) else old,
    }
    groups = []
    for change, part in parts.items():
        name = t("map.layer_count", lang, layer=t(f"diff.{change}", lang), count=len(part))
        group = folium.FeatureGroup(name=name, overlay=True, control=True, show=True)
        if len(part):
            _geojson(
                part, lang=lang, style=_fixed_style(CHANGE_COLOURS[change], change), interactive_popup=True
            ).add_to(group)
        groups.append(group)
    return groups


def _fixed_style(colour: str, change: str) -> Any:
    def style(_feature: dict[str, Any]) -> dict[str, Any]:
        return {
            "color": colour,
            "fillColor": colour,
            "weight": 4,
            "fillOpacity": 0.25,
            "opacity": 0.95,
            "dashArray": "6 6" if change == "removed" else None,
            "className": f"up-change-{change}",
        }

    return style


def full_map(
    context: pd.DataFrame,
    overlays: pd.DataFrame,
    *,
    lang: str,
    basemap: str = "none",
    asset_base: str = assets.APP_BASE,
) -> folium.Map:
    """Base map with the overlay groups and a layer control in it: for exports and tests."""
    m = base_map(context, lang=lang, basemap=basemap, asset_base=asset_base)
    for group in overlay_groups(overlays, lang=lang):
        group.add_to(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    return m


def layer_control() -> folium.LayerControl:
    return folium.LayerControl(collapsed=False, position="topright")


def feature_key_from_text(text: str | None) -> tuple[str, str] | None:
    """(layer, id) from the text of a clicked feature's tooltip (the last key in it), or None."""
    if not text:
        return None
    matches = FEATURE_KEY.findall(text)
    return (matches[-1][0], matches[-1][1]) if matches else None


# --- features --------------------------------------------------------------------------------------------------


def _geojson(part: pd.DataFrame, *, lang: str, style: Any, interactive_popup: bool) -> folium.GeoJson:
    data = _display_collection(part, lang)
    return folium.GeoJson(
        data,
        style_function=style,
        highlight_function=_highlight,
        marker=folium.CircleMarker(radius=7, fill=True),
        tooltip=folium.GeoJsonTooltip(fields=["_tip"], labels=False, sticky=True, class_name="up-tip"),
        popup=folium.GeoJsonPopup(
            fields=["_pop"], labels=False, localize=False, class_name="up-pop", max_width=340, auto_pan=False
        )
        if interactive_popup
        else None,
        zoom_on_click=False,
    )


def _display_collection(part: pd.DataFrame, lang: str) -> dict[str, Any]:
    """GeoJSON carrying only what the browser needs: a style key and pre-escaped tooltip/popup HTML.
    No raw data string is sent: the style key is built from codes and slugged."""
    geometries = shapely.to_geojson(shapely.set_precision(part.geometry.values, 1e-6))
    features = []
    for (_, row), geometry in zip(part.iterrows(), geometries, strict=True):
        props = display.clean(row.to_dict())
        style_key = "|".join(_slug(props.get(name)) for name in ("layer", "status", "confidence", "kind"))
        features.append(
            {
                "type": "Feature",
                "geometry": json.loads(geometry),
                "properties": {"_s": style_key, "_tip": tooltip_html(props, lang), "_pop": popup_html(props, lang)},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _slug(value: Any) -> str:
    return re.sub(r"[^a-z0-9_-]", "-", str(value or "").lower())[:40]


def _style_parts(feature: dict[str, Any]) -> dict[str, str]:
    layer, status, confidence, kind = [*feature["properties"]["_s"].split("|"), "", "", "", ""][:4]
    return {"layer": layer, "status": status, "confidence": confidence or "approximate", "kind": kind}


def tooltip_html(row: dict[str, Any], lang: str) -> str:
    """Name (both languages), status, progress, confidence mark, and the feature key; every data value escaped."""
    tag = display.confidence_tag(row.get("confidence"), lang)
    tag_html = f' <span class="up-tag up-{escape(row.get("confidence"))}">{escape(tag)}</span>' if tag else ""
    other = row.get("name_en") if lang == "zh" else row.get("name_zh")
    other_html = f'<div class="up-sub">{escape(other)}</div>' if other else ""
    colour = display.status_colour(row.get("status"))
    status = escape(label("status", row.get("status"), lang))
    return (
        f'<div class="up-name">{escape(display.name(row, lang))}{tag_html}</div>{other_html}'
        f'<div><span class="up-dot" style="background:{colour}"></span>{status}'
        f" · {escape(t('field.progress', lang))} {escape(display.progress_text(row.get('progress'), lang))}</div>"
        f'<div class="up-key">{escape(row.get("layer"))}/{escape(row.get("id"))}</div>'
    )


POPUP_FIELDS = (
    "name",
    "name_other",
    "status",
    "progress",
    "start_date",
    "end_date",
    "investment_yi",
    "confidence",
    "source",
)


def popup_html(row: dict[str, Any], lang: str) -> str:
    """The compact card on the map; the full record (with notes) is in the details panel beside it."""
    rows = "".join(
        f"<tr><th>{escape(key)}</th><td>{escape(value)}</td></tr>"
        for field, key, value in display.details(row, lang)
        if field in POPUP_FIELDS
    )
    tag = display.confidence_tag(row.get("confidence"), lang)
    warning_key = f"confidence_warning.{row.get('confidence')}"
    warning = f'<div class="up-warn">{escape(t(warning_key, lang))}</div>' if tag else ""
    return f'<table class="up-table">{rows}</table>{warning}'


def _overlay_style(feature: dict[str, Any]) -> dict[str, Any]:
    props = _style_parts(feature)
    colour = display.status_colour(props["status"])
    confidence = props["confidence"]
    style = {
        "color": colour,
        "weight": LINE_WEIGHT.get(props["layer"], 3),
        "opacity": 0.95,
        "fillColor": colour,
        "fillOpacity": FILL_OPACITY.get(confidence, 0.2),
        "dashArray": DASH.get(confidence),
        # Classes on the SVG path: CSS hooks, and how browser tests find a layer's features.
        "className": f"up-l-{props['layer']} up-s-{props['status']} up-c-{confidence}",
    }
    if props["layer"] == "layout":  # areas sit under everything else: outline first, faint fill
        style.update(weight=2.5, fillOpacity=style["fillOpacity"] / 2, color="#6a51a3", fillColor="#6a51a3")
    return style


def _context_style(feature: dict[str, Any]) -> dict[str, Any]:
    props = _style_parts(feature)
    style = dict(CONTEXT_STYLES.get(props["kind"], {"color": "#777777", "weight": 2}))
    style["className"] = f"up-l-context up-k-{props['kind']}"
    if props["confidence"] == "placeholder":
        style["dashArray"] = DASH["placeholder"]
    elif props["kind"] == "road":
        style["dashArray"] = DASH["approximate"]
    return style


def _highlight(_feature: dict[str, Any]) -> dict[str, Any]:
    return {"weight": 7, "opacity": 1}


# --- legend and notices --------------------------------------------------------------------------------------


def legend_html(lang: str) -> str:
    statuses = "".join(
        f'<div><span class="up-swatch" style="background:{display.status_colour(s)}"></span>'
        f"{escape(label('status', s, lang))}</div>"
        for s in schema.STATUSES
    )
    lines = "".join(
        f'<div><svg width="34" height="10"><line x1="1" y1="5" x2="33" y2="5" stroke="#333" stroke-width="3"'
        f"{f' stroke-dasharray={chr(34)}{DASH[c]}{chr(34)}' if DASH[c] else ''}/></svg> "
        f"{escape(label('confidence', c, lang))}</div>"
        for c in schema.CONFIDENCES
    )
    return (
        f'<div class="up-legend-title">{escape(t("legend.title", lang))}</div>'
        f'<div class="up-legend-sub">{escape(t("legend.status", lang))}</div>{statuses}'
        f'<div class="up-legend-sub">{escape(t("legend.confidence", lang))}</div>{lines}'
        f'<div class="up-legend-sub">{escape(t("legend.layout", lang))}</div>'
        f'<div><span class="up-swatch" style="background:#6a51a3;opacity:.5"></span>'
        f"{escape(t('legend.layout_area', lang))}</div>"
        f'<div class="up-legend-note">{escape(t("legend.note", lang))}</div>'
    )


class Legend(MacroElement):
    """A legend control drawn by Leaflet (streamlit-folium runs only script macros, not header HTML)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
            var legend = L.control({position: 'bottomright'});
            legend.onAdd = function () {
                var div = L.DomUtil.create('div', 'up-legend');
                div.innerHTML = {{ this.html|tojson }};
                L.DomEvent.disableClickPropagation(div);
                return div;
            };
            legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, html: str) -> None:
        super().__init__()
        self._name = "Legend"
        self.html = html


class ScaleBar(MacroElement):
    """Metric scale bar (Leaflet's default adds miles, which nobody here uses)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.control.scale({imperial: false, maxWidth: 160, position: 'bottomleft'}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "ScaleBar"


class TileErrorNotice(MacroElement):
    """When basemap tiles fail (no internet), say so once, quietly; the overlays are unaffected."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
            var shown = false;
            {{ this.tiles.get_name() }}.on('tileerror', function () {
                if (shown) { return; }
                shown = true;
                var note = L.control({position: 'bottomleft'});
                note.onAdd = function () {
                    var div = L.DomUtil.create('div', 'up-notice');
                    div.textContent = {{ this.message|tojson }};
                    return div;
                };
                note.addTo({{ this._parent.get_name() }});
            });
        })();
        {% endmacro %}
        """
    )

    def __init__(self, tiles: folium.TileLayer, message: str) -> None:
        super().__init__()
        self._name = "TileErrorNotice"
        self.tiles = tiles
        self.message = message


_MAP_CSS = f"""
.folium-map, .leaflet-container {{ background: {MAP_BACKGROUND}; font-family: "Noto Sans CJK SC", "Source Han Sans SC",
  "Microsoft YaHei", "PingFang SC", sans-serif; }}
.up-legend {{ background: rgba(255,255,255,.94); padding: 8px 10px; border-radius: 6px; font-size: 12.5px;
  line-height: 1.55; box-shadow: 0 1px 4px rgba(0,0,0,.3); max-width: 230px; color: #222; }}
.up-legend-title {{ font-weight: 700; font-size: 13.5px; }}
.up-legend-sub {{ font-weight: 600; margin-top: 4px; color: #444; }}
.up-legend-note {{ margin-top: 6px; color: #8a1c1c; font-size: 11.5px; }}
.up-swatch {{ display: inline-block; width: 14px; height: 10px; margin-right: 6px; border-radius: 2px; }}
.up-dot {{ display: inline-block; width: 9px; height: 9px; margin-right: 5px; border-radius: 50%; }}
.up-name {{ font-weight: 700; font-size: 13.5px; }}
.up-sub {{ color: #555; font-size: 12px; }}
.up-key {{ color: #888; font-size: 10.5px; margin-top: 2px; font-family: monospace; }}
.up-tag {{ display: inline-block; font-size: 11px; font-weight: 600; padding: 0 4px; border-radius: 3px;
  margin-left: 4px; border: 1px dashed #8a1c1c; color: #8a1c1c; }}
.up-tag.up-placeholder {{ border-style: dotted; background: #fff3cd; }}
.up-table th {{ text-align: left; padding-right: 8px; color: #555; vertical-align: top; white-space: nowrap; }}
.up-table td {{ word-break: break-word; }}
.up-warn {{ margin-top: 6px; color: #8a1c1c; font-size: 12px; }}
.leaflet-control-layers {{ font-size: 13px; line-height: 1.5; }}
.up-notice {{ background: rgba(255,255,255,.9); padding: 3px 8px; border-radius: 4px; font-size: 12px; color: #555; }}
"""
