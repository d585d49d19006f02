"""Pure map building: a stable base map (context layer, controls, legend) and overlay groups that follow filters."""

from __future__ import annotations

import base64
import functools
import hashlib
import itertools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import folium
import folium.plugins
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.template import Template

from urban_plan import assets, basemaps, datum, display, progress, schema
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
REMAINING_DASH = "6 8"  # the part of a line work not yet done
FILL_OPACITY = {"surveyed": 0.35, "approximate": 0.22, "placeholder": 0.08}
PROGRESS_LAYERS = ("roads", "rail", "projects")  # line works whose completed share is drawn solid
CHANGE_COLOURS = {"added": "#1a9850", "changed": "#e08a00", "removed": "#d73027", "unchanged": "#9e9e9e"}


@dataclass(frozen=True)
class MapOptions:
    """How a map is drawn. Everything that changes the base map is here, so equal options = no remount."""

    lang: str = "zh"
    basemap: str = "none"  # an id of basemaps.BASEMAP_IDS (for the key and legend; tiles come in `tiles`)
    tiles: tuple[basemaps.Tiles, ...] = ()  # resolved by basemaps.choose(); empty: the offline base only
    datum: str = "wgs84"  # the tiles' datum: overlays are shifted into it for display (AMap: gcj02)
    colour_by: str = "status"  # status | rating (plan versus actual)
    presentation: bool = False  # larger type and lines for a projector
    asset_base: str = assets.APP_BASE  # where the browser finds Leaflet (the app's static route, or inlined)
    stamp: tuple[str, str] | None = None  # (title, as-of line) drawn on the map, for exports
    url_extent: bool = False  # keep the view (centre, zoom) in the page URL, without a rerun
    forward_keys: bool = False  # arrows and PageUp/PageDown step the presentation, not pan the map
    north_arrow: bool = False

    @property
    def weight_scale(self) -> float:
        return 1.6 if self.presentation else 1.0


def base_map(
    context: pd.DataFrame, options: MapOptions = MapOptions(), prepared: PreparedLayer | None = None
) -> folium.Map:
    """Everything that does not change with filters. Kept stable so streamlit-folium never remounts it.
    `prepared`: the context layer already prepared (pages cache it per data version)."""
    lang = options.lang
    m = folium.Map(
        location=[37.01, 117.16],
        zoom_start=11,
        tiles=None,
        control_scale=False,  # our own metric-only scale bar below
        zoom_control=True,
        prefer_canvas=False,
        zoomSnap=0.25,  # fit the district tightly instead of jumping whole zoom levels
        zoomDelta=0.5,
        keyboard=not options.forward_keys,
    )
    assets.use_local_assets(m, lang=lang, base=options.asset_base)
    css = _MAP_CSS + (_PRESENTATION_CSS if options.presentation else "")
    m.get_root().header.add_child(folium.Element(f"<style>{css}</style>"))
    for index, spec in enumerate(options.tiles):
        tiles = folium.TileLayer(
            tiles=spec.url,
            attr=spec.attribution,
            name=t(f"basemap.{options.basemap}", lang),
            overlay=False,
            control=False,
            max_zoom=spec.max_zoom,
            subdomains=spec.subdomains,
        )
        tiles.add_to(m)
        if index == 0:  # one quiet notice when tiles cannot load (no internet): the overlays stay
            TileErrorNotice(tiles, t("map.tiles_failed", lang)).add_to(m)
    Script(_BUILD_JS).add_to(m)  # before any layer: every layer element calls upBuild
    context_group(context, options, prepared).add_to(m)
    fullscreen = folium.plugins.Fullscreen(
        position="topleft", title=t("map.fullscreen", lang), title_cancel=t("map.fullscreen_exit", lang)
    )
    assets.use_local_plugin_assets(fullscreen, "fullscreen", lang=lang, base=options.asset_base)
    fullscreen.add_to(m)
    measure = folium.plugins.MeasureControl(
        position="topleft",
        primary_length_unit="kilometers",
        secondary_length_unit="meters",
        primary_area_unit="hectares",
        secondary_area_unit="sqmeters",
    )
    assets.use_local_plugin_assets(measure, "measure", lang=lang, base=options.asset_base)
    measure.add_to(m)
    Script(_SCALE_JS).add_to(m)
    Script("if (map.attributionControl) { map.attributionControl.setPrefix('Leaflet'); }").add_to(m)  # no link out
    if options.north_arrow:
        Script(_NORTH_ARROW_JS).add_to(m)
    if options.stamp:
        Stamp(*options.stamp).add_to(m)
    Legend(legend_html(lang, options.colour_by)).add_to(m)
    if options.url_extent:
        Script(_EXTENT_TO_URL_JS).add_to(m)
    if options.forward_keys:
        Script(_FORWARD_KEYS_JS).add_to(m)
    m.fit_bounds(_bounds_in(options.datum))
    return m


def context_group(
    context: pd.DataFrame, options: MapOptions = MapOptions(), prepared: PreparedLayer | None = None
) -> folium.FeatureGroup:
    """The district boundary, rivers, lake and G220: the offline base. Not filtered, but can be toggled."""
    group = folium.FeatureGroup(name=t("layer.context", options.lang), overlay=True, control=True, show=True)
    if len(context):
        styled_layer(prepared or prepare_layer(context, options), options, _context_style).add_to(group)
    return group


def prepared_overlay_groups(
    prepared: dict[str, PreparedLayer], keep: dict[str, np.ndarray], counts: dict[str, int], options: MapOptions
) -> list[folium.FeatureGroup]:
    """overlay_groups from layers prepared once (see PreparedLayer): only the rows in `keep` are sent."""
    groups = []
    for layer in schema.OVERLAY_LAYERS:
        name = t("map.layer_count", options.lang, layer=label("layer", layer, options.lang), count=counts.get(layer, 0))
        group = folium.FeatureGroup(name=name, overlay=True, control=True, show=True)
        part = prepared.get(layer)
        if part and part.shared:  # its data is on the page (see shared_data_html): send only the selection,
            SelectedLayer(part, part.chosen(keep.get(layer))).add_to(group)  # even an empty one
        elif part and counts.get(layer, 0):
            styled_layer(part, options, _overlay_style, keep.get(layer)).add_to(group)
        groups.append(group)
    return groups


def shared_overlays(prepared: dict[str, PreparedLayer]) -> list[PreparedLayer]:
    """The prepared overlay layers whose data the page carries (see shared_data_html)."""
    return [part for part in prepared.values() if part.shared]


def mount_key(*prepared: PreparedLayer | None) -> str:
    """A short name for a map's data: part of the map's key, so new data remounts the map (and the browser
    lets go of the layers it built for the old data)."""
    content = hashlib.blake2b(digest_size=6)
    for part in prepared:
        content.update((part.digest if part else "-").encode())
    return content.hexdigest()


def overlay_groups(
    frame: pd.DataFrame, options: MapOptions = MapOptions(), layers: Iterable[str] = schema.OVERLAY_LAYERS
) -> list[folium.FeatureGroup]:
    """One feature group per overlay layer (even when empty, so the layer control keeps its rows).

    With `colour_by="rating"` the frame must carry the columns of `progress.rate_frame`."""
    groups = []
    for layer in layers:
        part = frame[frame["layer"] == layer] if len(frame) else frame
        name = t("map.layer_count", options.lang, layer=label("layer", layer, options.lang), count=len(part))
        group = folium.FeatureGroup(name=name, overlay=True, control=True, show=True)
        if len(part):
            _layer(part, options, _overlay_style).add_to(group)
        groups.append(group)
    return groups


def changes_group(changed: pd.DataFrame, options: MapOptions = MapOptions(), since: str = "") -> folium.FeatureGroup:
    """Halos around what changed since the comparison date; `changed` has the features plus a `change` column."""
    name = t("map.changes_since", options.lang, since=since, count=len(changed))
    group = folium.FeatureGroup(name=name, overlay=True, control=True, show=True)
    if len(changed):
        _layer(changed, options, _change_halo_style, extra=("change",)).add_to(group)
    return group


def change_groups(
    old: pd.DataFrame, new: pd.DataFrame, changed_ids: dict[str, str], options: MapOptions = MapOptions()
) -> list[folium.FeatureGroup]:
    """An upload's preview: added, changed and unchanged features from the upload, removed ones from the current
    version. `changed_ids` maps feature id -> "added" | "changed" | "removed"."""
    parts = {
        "unchanged": new[~new["id"].isin(changed_ids)] if len(new) else new,
        "added": new[new["id"].map(changed_ids).eq("added")] if len(new) else new,
        "changed": new[new["id"].map(changed_ids).eq("changed")] if len(new) else new,
        "removed": old[old["id"].map(changed_ids).eq("removed")] if len(old) else old,
    }
    groups = []
    for change, part in parts.items():
        name = t("map.layer_count", options.lang, layer=t(f"diff.{change}", options.lang), count=len(part))
        group = folium.FeatureGroup(name=name, overlay=True, control=True, show=True)
        if len(part):
            _layer(part, options, _fixed_style(CHANGE_COLOURS[change], change)).add_to(group)
        groups.append(group)
    return groups


def full_map(
    context: pd.DataFrame,
    overlays: pd.DataFrame,
    options: MapOptions = MapOptions(),
    changed: pd.DataFrame | None = None,
    since: str = "",
) -> folium.Map:
    """Base map with the overlay groups and a layer control in it: for exports and tests."""
    m = base_map(context, options)
    for group in overlay_groups(overlays, options):
        group.add_to(m)
    if changed is not None:
        changes_group(changed, options, since).add_to(m)
    layer_control().add_to(m)
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

# Above this many features in one layer the map switches to its fast path: canvas drawing, coordinates to ~1 m,
# tooltips with name, status and key only (the details panel has the rest), no popup, no hover highlight, and for
# polygon or line layers a compact encoding (delta-coded integer coordinates) that the browser expands.
QUANTUM = 100_000  # coordinate units per degree in the compact encoding (~1 m)
LARGE_LAYER = 500


class _Text(Element):
    """Rendered output kept as text. branca wraps each macro's output in Element(template=...), which compiles it
    as a Jinja template: data containing `{{ ... }}` would run on the server, and megabytes of GeoJSON would be
    tokenised for nothing."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def render(self, **kwargs: Any) -> str:
        del kwargs
        return self._text


def _render_macro(self: MacroElement, **kwargs: Any) -> None:
    """branca's MacroElement.render, keeping each macro's output as text (see _Text)."""
    figure = self.get_root()
    macros = self._template.module.__dict__
    for part, section in (("header", figure.header), ("html", figure.html), ("script", figure.script)):
        macro = macros.get(part)
        if macro is not None:
            section.add_child(_Text(macro(self, kwargs)), name=self.get_name())
    for element in self._children.values():
        element.render(**kwargs)


# Every folium element (map, feature groups, controls, plugins) renders through this: its output is never compiled
# again as a Jinja template. Same HTML; ~10 ms less per map render on the shipped data, and no element of folium's
# can run `{{ ... }}` found in data on the server.
MacroElement.render = _render_macro


class SafeMacro(MacroElement):
    """A map element whose script carries data: rendered once, never re-read as a template."""

    render = _render_macro


class StyledGeoJson(SafeMacro):
    """A GeoJSON layer from a pre-serialised string, styled by a small id -> style table in JS.

    Unlike folium.GeoJson it does not call a Python style function per feature nor re-serialise the data on
    every render: the string is built once per data version and filter (and cached by the page). Large layers
    carry a style number, an escaped name and the feature key; their tooltip is put together here."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
            var raw = {{ this.data }};
            upBuild(raw, {{ this.styles }}, {{ this.canvas }}).addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, data: str, styles: dict[str, dict[str, Any]], canvas: bool) -> None:
        super().__init__()
        self._name = "StyledGeoJson"
        self.data = data
        self.styles = _script_json(styles)
        self.canvas = "true" if canvas else "false"


def shared_data_html(shared: Iterable[PreparedLayer], options: MapOptions) -> str:
    """Large overlay layers' every feature with their style tables, as inert JSON blocks for the page (outside the
    map): filter changes then send the map only which features to show (SelectedLayer), and the browser reuses
    the Leaflet layers it built instead of parsing megabytes and building tens of thousands of polygons again.

    Outside the map's arguments because streamlit-folium sends those, whole, on every rerun; an unchanged page
    element costs Streamlit a cache reference instead. Names are escaped and the JSON is script-safe."""
    blocks = []
    for part in shared:
        styles = _script_json(style_table(part, options, _overlay_style))
        blocks.append(
            f'<script type="application/json" id="up-shared-{part.digest}">'
            f'{{"styles":{styles},"data":{part.whole}}}</script>'
        )
    return "".join(blocks)


class SelectedLayer(SafeMacro):
    """The features of a shared layer (see shared_data_html) that the filters keep, as a bit mask (one bit per
    feature, base64).

    The features stay in one Leaflet group across filter changes and only the difference is added or removed:
    streamlit-folium replaces the feature groups on every change, which would otherwise take every polygon off
    the map and put most of them back. The group follows its feature group (the layer control's tick box) and
    hides when no newer selection has taken it over."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
            var key = {{ this.key }}, owner = {{ this._parent.get_name() }};
            var all = window.upShared = window.upShared || {};
            var shared = all[key];
            if (!shared) {
                shared = all[key] = {group: L.featureGroup(), bits: ''};
                // streamlit-folium listens for clicks on the layers on the map when the map updates; features
                // added later (the page's data arriving late) reach it through the current feature group.
                shared.group.on('click', function (e) { if (shared.owner) { shared.owner.fire('click', e); } });
            }
            shared.want = atob({{ this.mask }});
            shared.owner = owner;
            function show(map, on) {
                if (on) { map.addLayer(shared.group); } else { map.removeLayer(shared.group); }
                map.getContainer().classList.toggle('up-over-canvas', on);
            }
            owner.on('add', function () { if (shared.owner === owner) { show(owner._map, true); } });
            owner.on('remove', function (e) {
                var map = e.target._map || window.map;
                setTimeout(function () {  // replaced by a newer selection in this same update: stay
                    if (shared.owner === owner && map && map.hasLayer(shared.group)) { show(map, false); }
                }, 0);
            });
            function block() {  // the page's data block (the map is in an iframe of the page), or this document's
                var id = 'up-shared-' + key, node = document.getElementById(id);
                try { node = node || window.parent.document.getElementById(id); } catch (e) { node = null; }
                return node;
            }
            function apply() {
                if (!shared.layers) {
                    var node = block();
                    if (!node) {  // the page element may arrive just after the map: look again shortly
                        clearTimeout(shared.waiting);
                        shared.waiting = setTimeout(apply, 50);
                        return;
                    }
                    var parsed = JSON.parse(node.textContent);
                    shared.layers = upBuild(parsed.data, parsed.styles, true).getLayers();  // once per map
                }
                var layers = shared.layers, group = shared.group, bits = shared.want, old = shared.bits;
                for (var b = 0; b < bits.length; b++) {
                    var now = bits.charCodeAt(b), before = b < old.length ? old.charCodeAt(b) : 0;
                    if (now === before) { continue; }
                    for (var i = b * 8; i < Math.min(b * 8 + 8, layers.length); i++) {
                        var bit = 1 << (i & 7);
                        if ((now & bit) && !(before & bit)) { group.addLayer(layers[i]); }
                        else if (!(now & bit) && (before & bit)) { group.removeLayer(layers[i]); }
                    }
                }
                shared.bits = bits;
            }
            apply();
        })();
        {% endmacro %}
        """
    )

    def __init__(self, prepared: PreparedLayer, chosen: np.ndarray) -> None:
        super().__init__()
        self._name = "SelectedLayer"
        self.key = _json(prepared.digest)
        self.mask = _json(encode_mask(chosen))


def encode_mask(chosen: np.ndarray) -> str:
    """A boolean array as base64 bits, least significant bit first (what SelectedLayer reads)."""
    return base64.b64encode(np.packbits(np.asarray(chosen, dtype=bool), bitorder="little").tobytes()).decode()


def decode_mask(text: str, n: int) -> np.ndarray:
    return np.unpackbits(np.frombuffer(base64.b64decode(text), dtype=np.uint8), count=n, bitorder="little").astype(bool)


# Builds a Leaflet layer from a layer's browser data (GeoJSON or the compact encoding) and its style table. Defined
# once per map by base_map (global: streamlit-folium evaluates the overlay groups apart from the map's own script).
_BUILD_JS = """
window.upBuild = function (raw, styles, canvas) {
    function ring(values, q) {  // delta-coded integers -> [lng, lat] pairs
        var out = [], x = 0, y = 0;
        for (var i = 0; i < values.length; i += 2) {
            x += values[i]; y += values[i + 1]; out.push([x / q, y / q]);
        }
        return out;
    }
    function expand(raw) {
        return {type: 'FeatureCollection', features: raw.f.map(function (f) {
            var coords = raw.t === 'P'
                ? f[3].map(function (poly) { return poly.map(function (r) { return ring(r, raw.q); }); })
                : f[3].map(function (line) { return ring(line, raw.q); });
            return {type: 'Feature', properties: {_s: f[0], _n: f[1], _k: raw.l + '/' + f[2]},
                    geometry: {type: raw.t === 'P' ? 'MultiPolygon' : 'MultiLineString', coordinates: coords}};
        })};
    }
    function tip(p) {
        if (p._tip) { return p._tip; }
        var s = styles[p._s] || {};
        return '<div class="up-name">' + p._n + '</div><div>' + (s.label || '') +
            '</div><div class="up-key">' + p._k + '</div>';
    }
    var options = {
        style: function (f) {
            var s = styles[f.properties._s] || {}, area = f.geometry && /Polygon/.test(f.geometry.type);
            return canvas || !area ? s : Object.assign({}, s, {className: (s.className || '') + ' up-area'});
        },
        pointToLayer: function (f, latlng) {
            return L.circleMarker(latlng, Object.assign({radius: 7}, styles[f.properties._s] || {}));
        },
        onEachFeature: function (f, l) {
            // A string, not a function: streamlit-folium reads a clicked feature's tooltip content as text.
            l.bindTooltip(tip(f.properties), {sticky: true, className: 'up-tip'});
            if (f.properties._pop) {
                l.bindPopup(f.properties._pop, {maxWidth: 340, autoPan: false, className: 'up-pop'});
            }
            if (!canvas) {
                l.on('mouseover', function () { if (l.setStyle) { l.setStyle({weight: 8, opacity: 1}); } });
                l.on('mouseout', function () { if (l.setStyle) { l.setStyle(styles[f.properties._s] || {}); } });
            }
        }
    };
    if (!canvas) { return L.geoJson(raw.q ? expand(raw) : raw, options); }
    options.renderer = L.canvas({padding: 0.4});
    var layer = L.geoJson(raw.q ? expand(raw) : raw, options);
    layer.on('add', function () { layer._map.getContainer().classList.add('up-over-canvas'); });  // see _MAP_CSS
    return layer;
};
"""


def layer_geojson(part: pd.DataFrame, options: MapOptions, extra: tuple[str, ...] = ()) -> str:
    """The browser's copy of some features, as a GeoJSON string safe inside a <script>. No raw data string is
    sent: a style key built from codes and slugged, and pre-escaped tooltip (and popup) HTML. A line work that
    reports progress becomes two pieces: the completed share (solid) and the rest (dashed)."""
    return prepare_layer(part, options, extra).collection()


@dataclass(frozen=True)
class PreparedLayer:
    """A layer turned into browser-ready feature strings once (per data version, date and style), so a filter
    change only selects and joins strings. `rows[i]` is the frame row feature i came from (a line work with
    progress gives two features)."""

    features: np.ndarray  # of str: one script-safe GeoJSON Feature each
    rows: np.ndarray  # of int
    style_ids: np.ndarray  # of str: each feature's style id
    styles: dict[str, str]  # style id -> style key
    large: bool
    compact: str = ""  # "": GeoJSON features; "P"/"L": compact polygon/line arrays (see StyledGeoJson)
    layer: str = ""
    digest: str = ""  # of everything the browser gets: names the layer's shared copy in the browser

    @property
    def shared(self) -> bool:
        """Carried by the page (shared_data_html), selected by a bit mask: the compact (large) layers."""
        return bool(self.compact)

    def chosen(self, keep: np.ndarray | None = None) -> np.ndarray:
        """Which features to send: those of the rows where `keep` (a boolean array over the rows) is true."""
        return np.ones(len(self.features), dtype=bool) if keep is None else keep[self.rows]

    def collection(self, keep: np.ndarray | None = None) -> str:
        if keep is None:
            return self.whole
        return self._collection(",".join(self.features[self.chosen(keep)].tolist()))

    @functools.cached_property
    def whole(self) -> str:
        """Every feature (a shared layer's copy for the base map: joined once, not on every rerun)."""
        return self._collection(",".join(self.features.tolist()))

    def _collection(self, chosen: str) -> str:
        if self.compact:
            return f'{{"q":{QUANTUM},"t":"{self.compact}","l":{_json(self.layer)},"f":[{chosen}]}}'
        return '{"type":"FeatureCollection","features":[' + chosen + "]}"


def prepare_layer(part: pd.DataFrame, options: MapOptions, extra: tuple[str, ...] = ()) -> PreparedLayer:
    """Build every feature's browser string. Large layers take the lean, vectorised path."""
    prepared = _prepare(part, options, extra)
    content = hashlib.blake2b(digest_size=12)
    for text in (prepared.compact, prepared.layer, _json(prepared.styles), options.lang, *prepared.features):
        content.update(text.encode())
        content.update(b"\n")
    return replace(prepared, digest=content.hexdigest())


def _prepare(part: pd.DataFrame, options: MapOptions, extra: tuple[str, ...]) -> PreparedLayer:
    if not len(part):
        return PreparedLayer(np.array([], dtype=object), np.array([], dtype=int), np.array([], dtype=object), {}, False)
    large = len(part) > LARGE_LAYER
    geometries = np.asarray(part.geometry.values, dtype=object)
    if options.datum != "wgs84":  # stored WGS84; shown in the tiles' datum so the two line up
        geometries = datum.convert_geometries(geometries, "wgs84", options.datum)
    decimals = 5 if large else 6  # ~1 m and ~0.1 m: beyond anything a screen shows of sketched shapes
    geometries = shapely.transform(geometries, lambda coords: coords.round(decimals))
    fills = part["status"].astype(object)
    if options.colour_by == "rating" and "rating" in part:
        fills = part["rating"].astype(object).where(part["rating"].notna(), fills)
    codes = [part["layer"], fills, part["confidence"].fillna("approximate"), part["kind"]]
    prefix = _slug_columns([*codes, pd.Series(options.weight_scale, index=part.index)] + [part[name] for name in extra])
    split = _needs_split(part, geometries)
    features: list[str] = []
    rows: list[int] = []
    style_ids: list[str] = []
    styles: dict[str, str] = {}
    if large:
        ids, keys = pd.factorize(prefix + "|whole")
        styles.update({str(i): key for i, key in enumerate(keys)})
    if large and not split.any() and (family := _single_family(geometries)):
        names = [_json(escape(name)) for name in _names(part, options.lang)]
        fids = [_json(escape(fid)) for fid in part["id"].astype(str)]
        shapes = _compact_geometries(geometries)
        encoded = [f"[{i},{n},{k},{g}]" for i, n, k, g in zip(ids, names, fids, shapes, strict=True)]
        safe = np.array([_script_safe(item) for item in encoded], dtype=object)
        layer = str(part["layer"].iloc[0])
        return PreparedLayer(safe, np.arange(len(part)), ids.astype(str).astype(object), styles, True, family, layer)
    if large:
        names = [escape(pick_name) for pick_name in _names(part, options.lang)]
        refs = [escape(f"{layer}/{fid}") for layer, fid in zip(part["layer"], part["id"], strict=True)]
        texts = shapely.to_geojson(geometries)
        for index in np.flatnonzero(~split):
            features.append(
                f'{{"type":"Feature","geometry":{texts[index]},"properties":{{"_s":{ids[index]},'
                f'"_n":{_json(names[index])},"_k":{_json(refs[index])}}}}}'
            )
            rows.append(int(index))
            style_ids.append(str(ids[index]))
        rows_needing_pieces = np.flatnonzero(split)
    else:
        rows_needing_pieces = np.arange(len(part))
    records = part.iloc[rows_needing_pieces].to_dict("records")  # per-row dicts only where needed: they are slow
    for index, record in zip(rows_needing_pieces, records, strict=True):
        row = display.clean(record)
        props: dict[str, Any] = {"_tip": tooltip_html(row, options.lang)}
        if not large:
            props["_pop"] = popup_html(row, options.lang)
        for piece, geom in _progress_pieces(row, geometries[index]):
            key = f"{prefix.iloc[index]}|{piece}"
            styles[key] = key
            props["_s"] = key
            features.append(f'{{"type":"Feature","geometry":{shapely.to_geojson(geom)},"properties":{_json(props)}}}')
            rows.append(int(index))
            style_ids.append(key)
    safe = np.array([_script_safe(feature) for feature in features], dtype=object)
    return PreparedLayer(safe, np.array(rows, dtype=int), np.array(style_ids, dtype=object), styles, large)


def _single_family(geometries: np.ndarray) -> str:
    """ "P" if every geometry is a (multi)polygon, "L" if every one is a (multi)line, else ""."""
    types = set(shapely.get_type_id(geometries).tolist())
    if types <= {3, 6}:
        return "P"
    if types <= {1, 5}:
        return "L"
    return ""


def _compact_geometries(geometries: np.ndarray) -> list[str]:
    """Each geometry (all polygons or all lines) as nested arrays of delta-coded integers: [[[x0,y0,dx1,dy1,...],
    ...rings], ...polygons] or [[x0,y0,dx1,dy1,...], ...lines]. Integers in QUANTUM per degree; the first pair of
    each ring is absolute."""
    kind, coords, offsets = shapely.to_ragged_array(geometries)
    q = np.round(coords * QUANTUM).astype(np.int64)
    parts = offsets[0]
    delta = q.copy()
    delta[1:] -= q[:-1]
    delta[parts[:-1]] = q[parts[:-1]]  # ring starts stay absolute
    text = delta.ravel().astype(str)
    pieces = ["[" + ",".join(text[2 * a : 2 * b].tolist()) + "]" for a, b in itertools.pairwise(parts)]
    for level in offsets[1:]:
        pieces = ["[" + ",".join(pieces[a:b]) + "]" for a, b in itertools.pairwise(level)]
    if kind in (shapely.GeometryType.POLYGON, shapely.GeometryType.LINESTRING):
        pieces = [f"[{piece}]" for piece in pieces]  # single parts: one more level, as for their Multi forms
    return pieces


def decode_compact(data: dict[str, Any]) -> dict[str, Any]:
    """The FeatureCollection a compact layer stands for (what the browser builds; for tests and checks)."""

    def ring(values: list[int]) -> list[list[float]]:
        xs, ys = np.cumsum(values[0::2]), np.cumsum(values[1::2])
        return [[x / data["q"], y / data["q"]] for x, y in zip(xs.tolist(), ys.tolist(), strict=True)]

    features = []
    for style, name, fid, shape in data["f"]:
        if data["t"] == "P":
            geometry = {"type": "MultiPolygon", "coordinates": [[ring(r) for r in polygon] for polygon in shape]}
        else:
            geometry = {"type": "MultiLineString", "coordinates": [ring(line) for line in shape]}
        properties = {"_s": style, "_n": name, "_k": f"{data['l']}/{fid}"}
        features.append({"type": "Feature", "properties": properties, "geometry": geometry})
    return {"type": "FeatureCollection", "features": features}


def styled_layer(
    prepared: PreparedLayer, options: MapOptions, style: Any, keep: np.ndarray | None = None
) -> StyledGeoJson:
    """The map element for a prepared layer (optionally only the rows in `keep`)."""
    used = set(prepared.style_ids[prepared.chosen(keep)].tolist())  # only the styles of what is sent
    return StyledGeoJson(prepared.collection(keep), style_table(prepared, options, style, used), prepared.large)


def style_table(
    prepared: PreparedLayer, options: MapOptions, style: Any, used: set[str] | None = None
) -> dict[str, dict[str, Any]]:
    """Style id -> Leaflet style (with the status or rating label for tooltips), for the ids in `used` (all
    when None)."""
    styles = {}
    for style_id, key in prepared.styles.items():
        if used is not None and style_id not in used:
            continue
        entry = style({"properties": {"_s": key}})
        fill = key.split("|")[1]
        entry["label"] = escape(label("rating" if fill in progress.RATINGS else "status", fill, options.lang))
        styles[style_id] = entry
    return styles


def _slug_columns(columns: list[pd.Series]) -> pd.Series:
    """ "a|b|c..." per row from code columns, each value slugged once per distinct value (not per row)."""
    out = None
    for column in columns:
        values = column.astype(object)
        slugs = values.map({v: _slug(v) for v in pd.unique(values)})
        out = slugs if out is None else out + "|" + slugs
    return out


def _names(part: pd.DataFrame, lang: str) -> list[str]:
    first, second = ("name_en", "name_zh") if lang == "en" else ("name_zh", "name_en")
    primary = part[first].astype(object).where(part[first].notna() & (part[first].astype(str).str.strip() != ""))
    chosen = primary.fillna(part[second].astype(object)).fillna(part["id"].astype(object))
    return [str(v) for v in chosen]


def _needs_split(part: pd.DataFrame, geometries: np.ndarray) -> np.ndarray:
    """Line works with reported progress: drawn as a completed share and a remainder."""
    lines = np.isin(shapely.get_type_id(geometries), (1, 5))  # LineString, MultiLineString
    return (
        lines
        & part["layer"].isin(PROGRESS_LAYERS).to_numpy()
        & pd.to_numeric(part["progress"], errors="coerce").notna().to_numpy()
    )


def _layer(part: pd.DataFrame, options: MapOptions, style: Any, extra: tuple[str, ...] = ()) -> StyledGeoJson:
    return styled_layer(prepare_layer(part, options, extra), options, style)


_RAW_BLOCK = re.compile(r"var raw = (\{.*\});\n")
_SHARED_BLOCK = re.compile(r'<script type="application/json" id="up-shared-([0-9a-f]+)">(.*?)</script>')
_SELECTION = re.compile(r"var key = (\"[0-9a-f]+\"),[\s\S]*?shared\.want = atob\((\"[^\"]*\")\)")


def embedded_collections(html: str) -> list[dict[str, Any]]:
    """The FeatureCollections a rendered map draws (each on one line): for tests and checks of exports. A shared
    layer counts with the features its selection shows."""
    blocks = [json.loads(block) for block in _RAW_BLOCK.findall(html)]
    shared = {key: json.loads(text)["data"] for key, text in _SHARED_BLOCK.findall(html)}
    for key, mask in _SELECTION.findall(html):
        whole = shared[json.loads(key)]
        shown = decode_mask(json.loads(mask), len(whole["f"]))
        blocks.append({**whole, "f": [f for f, show in zip(whole["f"], shown, strict=True) if show]})
    return [decode_compact(block) if "q" in block else block for block in blocks]


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _script_safe(text: str) -> str:
    """JSON that can sit inside an inline <script> (no `</script>`, no HTML comment, no JS line breaks).
    Underscores are escaped too: streamlit-folium rewrites `_name` patterns in the script it sends, and megabytes
    of data would otherwise pass through that regex one match at a time."""
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
        .replace("_", "\\u005f")
        .replace("{{", "{\\u007b")  # outside JSON strings these pairs never occur; inside, they decode back
        .replace("{%", "{\\u0025")
        .replace("{#", "{\\u0023")
    )


def _script_json(value: Any) -> str:
    return _script_safe(_json(value))


def _progress_pieces(props: dict[str, Any], geometry: Any) -> list[tuple[str, Any]]:
    """[("whole", g)] or, for a line work with progress, [("done", first share), ("rest", remainder)]."""
    share = props.get("progress")
    if (
        share is None
        or props.get("layer") not in PROGRESS_LAYERS
        or geometry is None
        or geometry.geom_type not in ("LineString", "MultiLineString")
    ):
        return [("whole", geometry)]
    share = min(max(float(share), 0.0), 100.0) / 100.0
    line = shapely.line_merge(geometry) if geometry.geom_type == "MultiLineString" else geometry
    if line.geom_type != "LineString" or share in (0.0, 1.0):
        return [("done" if share == 1.0 else "rest", geometry)]
    done = shapely.ops.substring(line, 0, share, normalized=True)
    rest = shapely.ops.substring(line, share, 1, normalized=True)
    return [("done", done), ("rest", rest)]


def _bounds_in(target: str) -> list[list[float]]:
    (south, west), (north, east) = DISTRICT_BOUNDS
    if target == "wgs84":
        return DISTRICT_BOUNDS
    lons, lats = datum.convert([west, east], [south, north], "wgs84", target)
    return [[float(lats[0]), float(lons[0])], [float(lats[1]), float(lons[1])]]


def _slug(value: Any) -> str:
    return re.sub(r"[^a-z0-9_.-]", "-", str(value if value is not None else "").lower())[:40]


def _style_parts(feature: dict[str, Any]) -> dict[str, Any]:
    """The style key back as fields: layer|fill|confidence|kind|scale[|extra ...]|piece."""
    parts = feature["properties"]["_s"].split("|")
    layer, fill, confidence, kind, scale = [*parts, "", "", "", "", ""][:5]
    return {
        "layer": layer,
        "fill": fill,
        "confidence": confidence or "approximate",
        "kind": kind,
        "scale": float(scale or 1),
        "piece": parts[-1],
    }


def tooltip_html(row: dict[str, Any], lang: str) -> str:
    """Name (both languages), status, progress, rating, confidence mark, and the feature key; data escaped."""
    tag = display.confidence_tag(row.get("confidence"), lang)
    tag_html = f' <span class="up-tag up-{escape(row.get("confidence"))}">{escape(tag)}</span>' if tag else ""
    other = row.get("name_en") if lang == "zh" else row.get("name_zh")
    other_html = f'<div class="up-sub">{escape(other)}</div>' if other else ""
    colour = display.status_colour(row.get("status"))
    status = escape(label("status", row.get("status"), lang))
    rating = ""
    if row.get("rating"):
        dot = progress.RATING_COLOURS.get(row["rating"], "#999")
        rating_text = escape(label("rating", row["rating"], lang))
        rating = f'<div><span class="up-dot" style="background:{dot}"></span>{rating_text}</div>'
    return (
        f'<div class="up-name">{escape(display.name(row, lang))}{tag_html}</div>{other_html}'
        f'<div><span class="up-dot" style="background:{colour}"></span>{status}'
        f" · {escape(t('field.progress', lang))} {escape(display.progress_text(row.get('progress'), lang))}</div>"
        f"{rating}"
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
    if row.get("rating_reason"):
        rows += (
            f"<tr><th>{escape(t('field.rating', lang))}</th>"
            f"<td>{escape(label('rating', row.get('rating'), lang))}: {escape(row['rating_reason'])}</td></tr>"
        )
    tag = display.confidence_tag(row.get("confidence"), lang)
    warning_key = f"confidence_warning.{row.get('confidence')}"
    warning = f'<div class="up-warn">{escape(t(warning_key, lang))}</div>' if tag else ""
    return f'<table class="up-table">{rows}</table>{warning}'


def _fill_colour(fill: str) -> str:
    return progress.RATING_COLOURS.get(fill) or display.status_colour(fill)


def _overlay_style(feature: dict[str, Any]) -> dict[str, Any]:
    props = _style_parts(feature)
    colour = _fill_colour(props["fill"])
    confidence = props["confidence"]
    weight = LINE_WEIGHT.get(props["layer"], 3) * props["scale"]
    style = {
        "color": colour,
        "weight": weight,
        "opacity": 0.95,
        "fillColor": colour,
        "fillOpacity": FILL_OPACITY.get(confidence, 0.2),
        "dashArray": DASH.get(confidence),
        # Classes on the SVG path: CSS hooks, and how browser tests find a layer's features.
        "className": f"up-l-{props['layer']} up-s-{props['fill']} up-c-{confidence} up-p-{props['piece']}",
    }
    if props["piece"] == "done":  # the completed share of a line work: solid and heavier
        style.update(dashArray=None, weight=weight + 2)
    elif props["piece"] == "rest":
        style.update(dashArray=REMAINING_DASH, opacity=0.8)
    if props["layer"] == "layout":  # areas sit under everything else: outline first, faint fill
        purple = "#6a51a3" if props["fill"] in schema.STATUSES else colour
        style.update(weight=2.5 * props["scale"], fillOpacity=style["fillOpacity"] / 2, color=purple, fillColor=purple)
    return style


def _context_style(feature: dict[str, Any]) -> dict[str, Any]:
    props = _style_parts(feature)
    style = dict(CONTEXT_STYLES.get(props["kind"], {"color": "#777777", "weight": 2}))
    style["weight"] = style.get("weight", 2) * props["scale"]
    style["className"] = f"up-l-context up-k-{props['kind']}"
    if props["confidence"] == "placeholder":
        style["dashArray"] = DASH["placeholder"]
    elif props["kind"] == "road":
        style["dashArray"] = DASH["approximate"]
    return style


def _change_halo_style(feature: dict[str, Any]) -> dict[str, Any]:
    change = feature["properties"]["_s"].split("|")[5]
    colour = progress.CHANGE_COLOURS.get(change, "#666666")
    return {
        "color": colour,
        "weight": 14,
        "opacity": 0.45,
        "fillColor": colour,
        "fillOpacity": 0.15,
        "radius": 14,
        "dashArray": "2 6" if change == "disappeared" else None,
        "className": f"up-change up-change-{change}",
    }


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


# --- legend, stamp and small controls ------------------------------------------------------------------------


def legend_html(lang: str, colour_by: str = "status") -> str:
    if colour_by == "rating":
        title = t("legend.rating", lang)
        swatches = "".join(
            f'<div><span class="up-swatch" style="background:{progress.RATING_COLOURS[r]}"></span>'
            f"{escape(label('rating', r, lang))}</div>"
            for r in progress.RATINGS
        )
    else:
        title = t("legend.status", lang)
        swatches = "".join(
            f'<div><span class="up-swatch" style="background:{display.status_colour(s)}"></span>'
            f"{escape(label('status', s, lang))}</div>"
            for s in schema.STATUSES
        )
    lines = (
        "".join(_line_sample(DASH[c], label("confidence", c, lang)) for c in schema.CONFIDENCES)
        + _line_sample(None, t("legend.done", lang), 6)
        + _line_sample(REMAINING_DASH, t("legend.rest", lang))
    )
    return (
        f'<div class="up-legend-title">{escape(t("legend.title", lang))}</div>'
        f'<div class="up-legend-sub">{escape(title)}</div>{swatches}'
        f'<div class="up-legend-sub">{escape(t("legend.confidence", lang))}</div>{lines}'
        f'<div class="up-legend-sub">{escape(t("legend.layout", lang))}</div>'
        f'<div><span class="up-swatch" style="background:#6a51a3;opacity:.5"></span>'
        f"{escape(t('legend.layout_area', lang))}</div>"
        f'<div class="up-legend-note">{escape(t("legend.note", lang))}</div>'
    )


def _line_sample(dash: str | None, text: str, width: int = 3) -> str:
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<div><svg width="34" height="10"><line x1="1" y1="5" x2="33" y2="5" stroke="#333" '
        f'stroke-width="{width}"{dash_attr}/></svg> {escape(text)}</div>'
    )


class Legend(SafeMacro):
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


class Stamp(SafeMacro):
    """Title and as-of line on the map itself, so an exported picture says what and when it shows."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
            var stamp = L.control({position: 'topleft'});
            stamp.onAdd = function () {
                var div = L.DomUtil.create('div', 'up-stamp');
                var title = L.DomUtil.create('div', 'up-stamp-title', div);
                title.textContent = {{ this.title|tojson }};
                var line = L.DomUtil.create('div', 'up-stamp-line', div);
                line.textContent = {{ this.line|tojson }};
                return div;
            };
            stamp.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, title: str, line: str) -> None:
        super().__init__()
        self._name = "Stamp"
        self.title = title
        self.line = line


class Script(SafeMacro):
    """A fixed script run with the map as `map` (our own code only; never data)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function(map) { {{ this.code }} })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, code: str) -> None:
        super().__init__()
        self._name = "Script"
        self.code = code


class TileErrorNotice(SafeMacro):
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


_SCALE_JS = "L.control.scale({imperial: false, maxWidth: 160, position: 'bottomleft'}).addTo(map);"

_NORTH_ARROW_JS = """
var arrow = L.control({position: 'topright'});
arrow.onAdd = function () {
  var div = L.DomUtil.create('div', 'up-north');
  div.innerHTML = '<svg width="34" height="48" viewBox="0 0 34 48"><polygon points="17,2 29,34 17,27 5,34" '
    + 'fill="#222"/><polygon points="17,2 17,27 5,34" fill="#888"/><text x="17" y="46" text-anchor="middle" '
    + 'font-size="13" font-weight="700" fill="#222">N</text></svg>';
  return div;
};
arrow.addTo(map);
"""

# The map lives in a same-origin iframe: write the view into the page URL so a copied link reopens it. No
# Streamlit rerun happens (the page reads the parameter on its next run).
_EXTENT_TO_URL_JS = """
var timer = null;
map.on('moveend', function () {
  clearTimeout(timer);
  timer = setTimeout(function () {
    try {
      var c = map.getCenter();
      var url = new URL(window.parent.location.href);
      url.searchParams.set('extent', c.lat.toFixed(5) + ',' + c.lng.toFixed(5) + ',' + map.getZoom());
      window.parent.history.replaceState(window.parent.history.state, '', url.toString());
    } catch (e) { /* not embedded in the app: nothing to update */ }
  }, 300);
});
"""

# Presenting: a clicker sends PageUp/PageDown (or arrows); when the map has focus they must still step views.
_FORWARD_KEYS_JS = """
['keydown', 'keyup'].forEach(function (type) {  // both: the page tracks held keys for its shortcuts
  document.addEventListener(type, function (event) {
    var keys = ['ArrowLeft', 'ArrowRight', 'PageUp', 'PageDown'];
    if (keys.indexOf(event.key) < 0 || window.parent === window) { return; }
    event.preventDefault();
    var copy = new KeyboardEvent(type, {key: event.key, code: event.code, bubbles: true, cancelable: true});
    window.parent.document.dispatchEvent(copy);
  });
});
"""

_MAP_CSS = f"""
html .folium-map, html .leaflet-container {{ background: {MAP_BACKGROUND};
  font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif; }}
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
.up-stamp {{ background: rgba(255,255,255,.94); padding: 6px 12px; border-radius: 6px;
  box-shadow: 0 1px 4px rgba(0,0,0,.3); max-width: 520px; }}
.up-stamp-title {{ font-weight: 700; font-size: 16px; color: #111; }}
.up-stamp-line {{ font-size: 12.5px; color: #333; }}
.up-north {{ background: rgba(255,255,255,.85); border-radius: 6px; padding: 2px 4px; }}
/* Over a canvas layer, areas drawn as SVG (above the canvas) take clicks on their outline only: otherwise the
   district or a planning area would catch every click meant for the parcels inside it. */
.up-over-canvas .leaflet-overlay-pane path.up-area {{ pointer-events: visibleStroke; }}
"""

# Projectors wash out thin lines and small type: bigger, darker, heavier.
_PRESENTATION_CSS = """
.up-legend { font-size: 17px; max-width: 320px; padding: 12px 14px; }
.up-legend-title { font-size: 19px; }
.leaflet-control-layers { font-size: 17px; }
.up-name { font-size: 18px; }
.leaflet-tooltip, .leaflet-popup-content { font-size: 16px; }
.leaflet-control-scale-line { font-size: 15px; border-width: 3px; }
.up-stamp-title { font-size: 24px; }
.up-stamp-line { font-size: 17px; }
"""
