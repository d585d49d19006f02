"""Pure map building: a stable base map (context layer, controls, legend) and overlay groups that follow filters."""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import itertools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import folium
import folium.plugins
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.template import Template

from urban_plan import assets, basemaps, datum, display, fieldtypes, progress, schema
from urban_plan import registry as layer_registry
from urban_plan.display import escape
from urban_plan.i18n import label, t
from urban_plan.registry import FieldDef, LayerDef, Registry

# Jiyang District, WGS84 (from the boundary dataset), as Leaflet [[south, west], [north, east]].
DISTRICT_BOUNDS: list[list[float]] = [[36.782, 116.869], [37.246, 117.453]]
MAP_BACKGROUND = "#f3f1ea"  # the offline base: a paper tone, so the context layer reads as a map

# Click hook: the tooltip's last line carries "<layer>/<id>" (any registry id; the key is the tooltip's last line, so
# attribute values before it cannot pose as one); the page reads it back to show details.
FEATURE_KEY = re.compile(r"(?<![a-z0-9_])([a-z][a-z0-9_]{1,31})/([0-9A-Za-z_.\-\u3400-\u9fff]{1,64})")

# Base-map colours never collide with a status or rating colour, also under colour-vision deficiencies
# (tests/unit/test_colours.py): water a light cyan, the road a warm light grey, the boundary near-black dash-dot.
CONTEXT_STYLES: dict[str, dict[str, Any]] = {
    "boundary": {"color": "#262626", "weight": 2, "fill": True, "fillColor": "#ffffff", "fillOpacity": 0.55},
    "river": {"color": "#a8d8e8", "weight": 3},
    "lake": {"color": "#a8d8e8", "weight": 1, "fillColor": "#d9eef5", "fillOpacity": 0.8},
    "road": {"color": "#c4b8a6", "weight": 4},
    "landmark": {"color": "#333333", "weight": 2, "fillColor": "#ffffff", "fillOpacity": 1, "radius": 5},
}
CONTEXT_LEGEND = ("boundary", "river", "lake", "road")  # the base map's own legend entries
LINE_WEIGHT = 5  # features of layers that track progress (their colour says their status)
ACCENT_WEIGHT = 2.5  # features of other layers: drawn in the layer's accent, outline first, under the works
ACCENT_POINT_FILL = 0.75  # their point markers: a faint fill would hide a school or a clinic
ACCENT = "accent-"  # style-key fill code of a feature drawn in its layer's accent: "accent-6a51a3"
# Each line style means one thing: solid = surveyed, dashed = approximate (示意), dotted = placeholder (待核实),
# dash-dot = the district boundary; a line work's unfinished part is thinner and lighter (never a dash of its own).
DASH = {"surveyed": None, "approximate": "10 6", "placeholder": "2 7"}
BOUNDARY_DASH = "12 4 2 4"
REMAINING_WEIGHT = 0.45  # share of the full weight for the unfinished part of a line work
REMAINING_OPACITY = 0.5
FILL_OPACITY = {"surveyed": 0.35, "approximate": 0.22, "placeholder": 0.08}
CHANGE_COLOURS = {"added": "#2c7fb8", "changed": "#e6ab02", "removed": "#d55e00", "unchanged": "#9e9e9e"}


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
    # The layers in force: names, order, accents, which track progress, their fields. None: the shipped five (what
    # a store without a registry reads); pages pass the store's.
    registry: Registry | None = None

    @property
    def layers(self) -> Registry:
        return self.registry if self.registry is not None else _builtin()

    @functools.cached_property
    def cache_key(self) -> str:
        """Everything these options say, as one short string: the pages' caches hash this instead of walking the
        registry's every field on every run (Streamlit hashes a dataclass by deep-copying it)."""
        simple = [getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "registry"]
        return f"{self.layers.digest}:{hashlib.blake2b(repr(simple).encode(), digest_size=12).hexdigest()}"

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
    css = _MAP_CSS + (_PRESENTATION_CSS if options.presentation else "") + _SMALL_SCREEN_CSS
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
    for group in context_groups(context, options, prepared):
        group.add_to(m)
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
    Legend(legend_html(lang, options.colour_by, options.layers)).add_to(m)
    keyboard = {"lang": HTML_LANG.get(lang, "zh-CN"), "label": t("a11y.map_label", lang)}
    Script(_KEYBOARD_JS % json.dumps(keyboard, ensure_ascii=False)).add_to(m)
    if options.url_extent:
        Script(_EXTENT_TO_URL_JS).add_to(m)
    if options.forward_keys:
        Script(_FORWARD_KEYS_JS).add_to(m)
    m.fit_bounds(_bounds_in(options.datum))
    return m


def context_groups(
    context: pd.DataFrame, options: MapOptions = MapOptions(), prepared: PreparedLayer | None = None
) -> list[folium.FeatureGroup]:
    """The base layers (shipped: the district boundary, rivers, lake and G220, the offline base), one group each in
    the registry's order: under the overlays, never filtered, each can be toggled. `context` holds every base
    layer's features; `prepared` is that frame prepared (pages cache it per data version)."""
    layers = options.layers
    part = prepared or (prepare_layer(context, options) if len(context) else None)
    names = context["layer"].to_numpy() if len(context) else np.array([], dtype=object)
    groups = []
    for layer in _layer_ids(layers.bases(), context, layers):
        name = layer_label(layers, layer, options.lang)
        group = folium.FeatureGroup(name=name, overlay=True, control=True, show=True)
        rows = names == layer
        if part is not None and rows.any():
            # One base layer (the usual case): its cached whole string, not a selection joined again.
            styled_layer(part, options, _context_style, None if rows.all() else rows).add_to(group)
        groups.append(group)
    return groups


def layer_label(layers: Registry, layer: str, lang: str) -> str:
    """A layer's name for the layer control, escaped: Leaflet writes those names with innerHTML, and editors name
    layers."""
    return escape(layers.name(layer, lang))


def prepared_overlay_groups(
    prepared: dict[str, PreparedLayer], keep: dict[str, np.ndarray], counts: dict[str, int], options: MapOptions
) -> list[folium.FeatureGroup]:
    """overlay_groups from layers prepared once (see PreparedLayer): only the rows in `keep` are sent. One group
    per overlay layer of the registry, in its order (a layer never published yet keeps its row in the control)."""
    layers = options.layers
    groups = []
    for layer in [*layers.overlays(), *(name for name in prepared if name not in layers)]:
        name = t(
            "map.layer_count", options.lang, layer=layer_label(layers, layer, options.lang), count=counts.get(layer, 0)
        )
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
    frame: pd.DataFrame, options: MapOptions = MapOptions(), layers: Iterable[str] | None = None
) -> list[folium.FeatureGroup]:
    """One feature group per overlay layer (even when empty, so the layer control keeps its rows); `layers`
    default: the registry's overlays in order, then any other layer the frame has that the registry does not know.

    With `colour_by="rating"` the frame must carry the columns of `progress.rate_frame`."""
    return _overlay_groups(frame, options, layers)[0]


def _overlay_groups(
    frame: pd.DataFrame, options: MapOptions, layers: Iterable[str] | None = None
) -> tuple[list[folium.FeatureGroup], list[PreparedLayer]]:
    """overlay_groups, and the layers as prepared (sharing one vertex budget)."""
    registry = options.layers
    chosen = _layer_ids(registry.overlays(), frame, registry) if layers is None else list(layers)
    parts = {layer: frame[frame["layer"] == layer] if len(frame) else frame for layer in chosen}
    prepared = prepare_layers({layer: part for layer, part in parts.items() if len(part)}, options)
    groups = []
    for layer, part in parts.items():
        name = t("map.layer_count", options.lang, layer=layer_label(registry, layer, options.lang), count=len(part))
        group = folium.FeatureGroup(name=name, overlay=True, control=True, show=True)
        if len(part):
            styled_layer(prepared[layer], options, _overlay_style).add_to(group)
        groups.append(group)
    return groups, list(prepared.values())


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
    prepared = prepare_layers({change: part for change, part in parts.items() if len(part)}, options)
    groups = []
    for change, part in parts.items():
        name = t("map.layer_count", options.lang, layer=t(f"diff.{change}", options.lang), count=len(part))
        group = folium.FeatureGroup(name=name, overlay=True, control=True, show=True)
        if len(part):
            styled_layer(prepared[change], options, _fixed_style(CHANGE_COLOURS[change], change)).add_to(group)
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
    groups, prepared = _overlay_groups(overlays, options)
    for group in groups:
        group.add_to(m)
    if changed is not None:
        changes_group(changed, options, since).add_to(m)
    layer_control().add_to(m)
    if notice := simplified_notice(prepared, options.lang):  # an export says so too, on the map itself
        MapNotice(notice).add_to(m)
    return m


def layer_control() -> folium.LayerControl:
    return folium.LayerControl(collapsed=False, position="topright")


def _layer_ids(known: tuple[str, ...], frame: pd.DataFrame, registry: Registry) -> list[str]:
    """The registry's layers of one role, then layers the frame has that the registry has never heard of (drawn
    rather than lost; an archived layer is known, so never drawn)."""
    present = pd.unique(frame["layer"]).tolist() if len(frame) else []
    return [*known, *(str(name) for name in present if name not in registry)]


def _layer_def(registry: Registry, layer: Any) -> LayerDef:
    """A layer's definition; one the registry does not know is drawn like a new layer (its accent, its id)."""
    found = registry.get(str(layer)) if layer is not None else None
    return found if found is not None else _unknown_layer(str(layer))


@functools.cache
def _unknown_layer(layer: str) -> LayerDef:
    return LayerDef(layer, layer, layer, colour=layer_registry.NEW_LAYER_COLOURS[-1])


@functools.cache
def _builtin() -> Registry:
    return layer_registry.builtin()


def feature_key_from_text(text: str | None) -> tuple[str, str] | None:
    """(layer, id) from the text of a clicked feature's tooltip (the last key in it), or None."""
    if not text:
        return None
    matches = FEATURE_KEY.findall(text)
    return (matches[-1][0], matches[-1][1]) if matches else None


# --- features --------------------------------------------------------------------------------------------------

# Above this many features (or point markers) in one layer the map switches to its fast path: canvas drawing,
# coordinates to ~1 m, tooltips with name, status and key only (the details panel has the rest), no popup, no hover
# highlight, and for polygon or line layers a compact encoding (delta-coded integer coordinates) that the browser
# expands.
QUANTUM = 100_000  # coordinate units per degree in the compact encoding (~1 m)
LARGE_LAYER = 500

# What one browser is sent for one map, in vertices: beyond it a layer is drawn simplified (the stored data never
# changes). A point costs more than a vertex: each is a marker of its own, and simplifying cannot remove points,
# only thinning can. One MultiPoint of 1.8 million points was 37.6 MB to a
# browser that never drew it; 50,000 parcels (~500,000 vertices) are drawn in about a second and stay untouched.
MAP_VERTEX_BUDGET = 1_000_000
POINT_COST = 10
LAYER_BUDGET = MAP_VERTEX_BUDGET // 10  # a layer prepared alone: the base layer, change halos
OVERLAY_BUDGET = MAP_VERTEX_BUDGET - 2 * LAYER_BUDGET  # the overlay layers of one map together (prepare_layers)
_TOLERANCES = tuple(1e-6 * 2.0**k for k in range(18))  # degrees: ~0.1 m up to ~14 km


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

    The fallback when the app runs without serve.py's routes (`streamlit run app.py`, AppTest): Streamlit
    re-cleans, serialises and hashes this multi-MB string on every run (~8 ms per MB), so served pages fetch the
    same JSON from an HTTP route instead (ui/map_data_routes.py, SelectedLayer's `src`). Outside the map's
    arguments because streamlit-folium sends those, whole, on every rerun. Names are escaped and the JSON is
    script-safe."""
    return "".join(
        f'<script type="application/json" id="up-shared-{part.digest}">{shared_body(part, options)}</script>'
        for part in shared
    )


def shared_styles(part: PreparedLayer, options: MapOptions) -> str:
    """A shared layer's style table as the browser gets it (script-safe JSON): small, built on every call."""
    return _script_json(style_table(part, options, _overlay_style))


def shared_body(part: PreparedLayer, options: MapOptions) -> str:
    """What the browser parses for a shared layer: `{"styles": {...}, "data": <compact layer>}` (script-safe JSON,
    so the same text serves the inline block and the HTTP route)."""
    return join_shared_body(shared_styles(part, options), part.whole)


def join_shared_body(styles: str, data: str) -> str:
    """shared_body from its parts: shared_styles and the layer's `whole` string."""
    return f'{{"styles":{styles},"data":{data}}}'


def shared_name(part: PreparedLayer, styles: str) -> str:
    """A name for exactly the bytes of shared_body (the layer's digest and its style table, which holds the
    layers' names from the registry): 24 hex digits, what the HTTP route serves the body under."""
    content = hashlib.blake2b(digest_size=12)
    for text in (part.digest, styles):
        content.update(text.encode())
        content.update(b"\n")
    return content.hexdigest()


def use_shared_sources(groups: Iterable[Any], sources: Mapping[str, str], failed: str, retrying: str) -> None:
    """Point the SelectedLayers in `groups` at an HTTP copy of their layer's data (layer digest -> URL) instead
    of the page's inline block; `retrying` and `failed` are what the map says while a fetch fails and once it
    has failed for good."""
    for group in groups:
        for child in getattr(group, "_children", {}).values():
            if isinstance(child, SelectedLayer) and child.digest in sources:
                child.src = _script_json(sources[child.digest])
                child.messages = _script_json({"retrying": retrying, "failed": failed})


class SelectedLayer(SafeMacro):
    """The features of a shared layer that the filters keep, as a bit mask (one bit per feature, base64).

    The layer's data comes once per digest, from an HTTP route (`src`, see use_shared_sources; one fetch shared
    by every selection that asks while it runs, retried a few times, the map saying so when it fails) or else
    from the page's inline block (shared_data_html); the parsed Leaflet layers stay in `window.upShared`.
    The features stay in one Leaflet group across filter changes and only the difference is added or removed:
    streamlit-folium replaces the feature groups on every change, which would otherwise take every polygon off
    the map and put most of them back. The group follows its feature group (the layer control's tick box) and
    hides when no newer selection has taken it over."""

    RETRIES = 4  # after the first fetch: 0.5, 1, 2, 4 s apart, then the map says to reload
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
            var key = {{ this.key }}, src = {{ this.src }}, owner = {{ this._parent.get_name() }};
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
            function notice(text) {  // on the map, in the page's language; null takes it away
                var map = (shared.owner && shared.owner._map) || window.map;
                if (shared.notice) { shared.notice.remove(); shared.notice = null; }
                if (!text || !map) { return; }
                shared.notice = L.control({position: 'topright'});
                shared.notice.onAdd = function () {
                    var div = L.DomUtil.create('div', 'up-notice up-shared-notice');
                    div.setAttribute('role', 'alert');
                    div.textContent = text;
                    return div;
                };
                shared.notice.addTo(map);
            }
            function built(parsed) {
                shared.layers = upBuild(parsed.data, parsed.styles, true).getLayers();  // once per map
                shared.apply();
            }
            function fetched() {  // one fetch per digest, whoever asks while it runs waits for it
                if (shared.loading) { return; }
                shared.loading = true;
                var messages = {{ this.messages }}, tries = 0;
                function attempt() {
                    fetch(src, {credentials: 'same-origin'}).then(function (r) {
                        if (!r.ok) { throw new Error('HTTP ' + r.status); }
                        return r.json();
                    }).then(function (parsed) {
                        notice(null);
                        built(parsed);
                        shared.loading = false;
                    }).catch(function (error) {
                        tries += 1;
                        if (window.console) { console.warn('map data ' + src + ': ' + error); }
                        if (tries <= {{ this.retries }}) {
                            notice(messages.retrying);
                            setTimeout(attempt, 250 * Math.pow(2, tries));
                        } else {
                            notice(messages.failed);
                            shared.loading = false;  // the next selection (a filter change) tries again
                        }
                    });
                }
                attempt();
            }
            shared.apply = function () {
                if (!shared.layers) {
                    if (src) { fetched(); return; }
                    var node = block();
                    if (!node) {  // the page element may arrive just after the map: look again shortly
                        clearTimeout(shared.waiting);
                        shared.waiting = setTimeout(shared.apply, 50);
                        return;
                    }
                    built(JSON.parse(node.textContent));
                    return;
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
            };
            shared.apply();
        })();
        {% endmacro %}
        """
    )

    def __init__(self, prepared: PreparedLayer, chosen: np.ndarray) -> None:
        super().__init__()
        self._name = "SelectedLayer"
        self.digest = prepared.digest
        self.key = _json(prepared.digest)
        self.mask = _json(encode_mask(chosen))
        self.src = '""'  # "": the page's inline block (shared_data_html); else a URL (use_shared_sources)
        self.messages = "{}"
        self.retries = self.RETRIES


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
        pointToLayer: function (f, latlng) {  // on the layer's canvas when it has one (thousands of markers)
            var renderer = options.renderer ? {renderer: options.renderer} : {}, s = styles[f.properties._s] || {};
            var fill = s.pointFillOpacity ? {fillOpacity: s.pointFillOpacity} : {};
            return L.circleMarker(latlng, Object.assign({radius: 7}, s, fill, renderer));
        },
        onEachFeature: function (f, l) {
            // A string, not a function: streamlit-folium reads a clicked feature's tooltip content as text.
            l.bindTooltip(tip(f.properties), {sticky: true, className: 'up-tip'});
            if (f.properties._pop) {
                l.bindPopup(f.properties._pop, {maxWidth: 340, autoPan: false, className: 'up-pop'});
            }
            if (!canvas) {
                l.on('mouseover', function () { if (l.setStyle) { l.setStyle({weight: 8, opacity: 1}); } });
                l.on('mouseout', function () {
                    var s = styles[f.properties._s] || {};
                    if (l.getLatLng && s.pointFillOpacity) {
                        s = Object.assign({}, s, {fillOpacity: s.pointFillOpacity});
                    }
                    if (l.setStyle) { l.setStyle(s); }
                });
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
    cost: int = 0  # what the browser gets, in vertices (see display_cost)
    full_cost: int = 0  # the same for the data as stored
    simplified: bool = False  # over its vertex budget: shapes simplified, points thinned, for display only

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


def prepare_layers(
    parts: dict[str, pd.DataFrame], options: MapOptions, budget: int = OVERLAY_BUDGET
) -> dict[str, PreparedLayer]:
    """prepare_layer for the overlay layers of one map, sharing one vertex budget: small layers keep all they
    have, the large ones split the rest (see budget_shares)."""
    costs = {name: display_cost(np.asarray(part.geometry.values, dtype=object)) for name, part in parts.items()}
    shares = budget_shares(costs, budget)
    return {name: prepare_layer(part, options, budget=shares[name]) for name, part in parts.items()}


def budget_shares(costs: dict[str, int], budget: int) -> dict[str, int]:
    """Split `budget` between layers costing `costs`: the cheapest first, each taking at most an equal share of
    what is left, so no layer gets more than it needs and the shares never add up to more than `budget`."""
    shares: dict[str, int] = {}
    left = budget
    ordered = sorted(costs.items(), key=lambda item: item[1])
    for index, (name, cost) in enumerate(ordered):
        shares[name] = min(cost, left // (len(ordered) - index))
        left -= shares[name]
    return shares


def display_cost(geometries: np.ndarray) -> int:
    """What drawing these geometries costs a browser, in vertices (a point counts POINT_COST)."""
    return int(_costs(geometries).sum())


def _costs(geometries: np.ndarray) -> np.ndarray:
    counts = shapely.get_num_coordinates(geometries)
    return np.where(np.isin(shapely.get_type_id(geometries), (0, 4)), POINT_COST * counts, counts)  # (Multi)Point


def fit_budget(geometries: np.ndarray, budget: int) -> tuple[np.ndarray, int, bool]:
    """Geometries a browser can draw within `budget` (see display_cost): unchanged when they fit; else lines and
    areas simplified and multipoints thinned to a grid, with the smallest tolerance that fits; when even the
    largest does not, the costliest features are drawn as their bounding boxes (points: one point each).
    Returns (geometries, cost, simplified). The input array is not changed."""
    cost = display_cost(geometries)
    if cost <= budget:
        return geometries, cost, False
    low, high, best = 0, len(_TOLERANCES) - 1, None
    while low <= high:  # the smallest tolerance that fits: fewer points the larger it is
        middle = (low + high) // 2
        candidate = _reduce(geometries, _TOLERANCES[middle])
        candidate_cost = display_cost(candidate)
        if candidate_cost <= budget:
            best, high = (candidate, candidate_cost), middle - 1
        else:
            low = middle + 1
    if best is not None:
        return best[0], best[1], True
    reduced = _reduce(geometries, _TOLERANCES[-1])
    costs = _costs(reduced)
    boxes = np.array([_box(g) for g in reduced], dtype=object)
    saving = costs - _costs(boxes)
    order = np.argsort(-saving, kind="stable")  # the largest savings first, until the rest fits
    needed = int(np.searchsorted(np.cumsum(saving[order]), int(costs.sum()) - budget)) + 1
    reduced[order[:needed]] = boxes[order[:needed]]
    return reduced, display_cost(reduced), True


def _reduce(geometries: np.ndarray, tolerance: float) -> np.ndarray:
    """Lines and areas simplified (rings kept valid), multipoints thinned to one point per grid cell."""
    out = geometries.copy()
    types = shapely.get_type_id(geometries)
    shapes = np.flatnonzero(np.isin(types, (1, 2, 3, 5, 6, 7)))
    # Douglas-Peucker without topology checks: many times faster on huge rings, and a display copy may be a
    # little invalid; a shape it removes entirely is drawn as its bounding box instead.
    simple = shapely.simplify(geometries[shapes], tolerance, preserve_topology=False)
    lost = shapely.is_empty(simple) & ~shapely.is_empty(geometries[shapes])
    simple[lost] = [_box(g) for g in geometries[shapes][lost]]
    out[shapes] = simple
    multi = np.flatnonzero(types == 4)
    if len(multi):
        coords, owner = shapely.get_coordinates(geometries[multi], return_index=True)
        cells = np.floor((coords - coords.min(axis=0)) / tolerance).astype(np.int64)
        dims = (len(multi), int(cells[:, 0].max()) + 1, int(cells[:, 1].max()) + 1)
        if float(np.prod(np.array(dims, dtype=float))) < 2**62:  # one integer per (feature, cell): a fast unique
            _, first = np.unique(np.ravel_multi_index((owner, cells[:, 0], cells[:, 1]), dims), return_index=True)
        else:
            _, first = np.unique(np.column_stack([owner, cells]), axis=0, return_index=True)
        first.sort()
        thinned = shapely.multipoints(coords[first], indices=owner[first])
        out[multi[np.unique(owner[first])]] = thinned
    return out


def _box(geometry: Any) -> Any:
    """A stand-in of a few vertices: an area's or line's bounding box (a line stays a line), a point set's
    centre."""
    if geometry is None or geometry.is_empty:
        return geometry
    family = schema.GEOMETRY_FAMILIES.get(geometry.geom_type)
    if family == "point":
        return geometry.centroid
    box = shapely.envelope(geometry)
    if family == "line":
        corners = shapely.get_coordinates(box.exterior if box.geom_type == "Polygon" else box)
        return shapely.LineString(corners) if len(corners) > 1 else geometry
    return box


def simplified_notice(prepared: Iterable[PreparedLayer | None], lang: str) -> str | None:
    """Why the map looks coarser than the data, when any of these layers was simplified for display."""
    layers = [part for part in prepared if part is not None]
    if not any(part.simplified for part in layers):
        return None
    sent = sum(part.cost for part in layers)
    total = sum(part.full_cost for part in layers)
    return t(
        "map.simplified", lang, sent=f"{sent:,}", total=f"{total:,}", budget=f"{MAP_VERTEX_BUDGET:,}", point=POINT_COST
    )


def prepare_layer(
    part: pd.DataFrame, options: MapOptions, extra: tuple[str, ...] = (), budget: int = LAYER_BUDGET
) -> PreparedLayer:
    """Build every feature's browser string. Large layers take the lean, vectorised path. Over `budget`
    vertices (see fit_budget) the shapes are simplified for display; the frame is not changed."""
    stored = np.asarray(part.geometry.values, dtype=object)
    tracked = part["layer"].isin(options.layers.progress_layers()).to_numpy() if len(part) else np.zeros(0, bool)
    reserve = 2 * int(_needs_split(part, stored, tracked).sum()) if len(part) else 0  # a split line: two more
    shown, cost, simplified = fit_budget(stored, max(0, budget - reserve))  # simplified: a new array, frame kept
    cost += reserve
    prepared = _prepare(part, shown, options, extra)
    content = hashlib.blake2b(digest_size=12)
    for text in (prepared.compact, prepared.layer, _json(prepared.styles), options.lang, *prepared.features):
        content.update(text.encode())
        content.update(b"\n")
    full_cost = display_cost(stored) if simplified else cost
    return replace(prepared, digest=content.hexdigest(), cost=cost, full_cost=full_cost, simplified=simplified)


def _prepare(part: pd.DataFrame, geometries: np.ndarray, options: MapOptions, extra: tuple[str, ...]) -> PreparedLayer:
    if not len(part):
        return PreparedLayer(np.array([], dtype=object), np.array([], dtype=int), np.array([], dtype=object), {}, False)
    # Many point markers (a big MultiPoint) need the fast path's canvas as much as many features do.
    markers = shapely.get_num_coordinates(geometries[np.isin(shapely.get_type_id(geometries), (0, 4))]).sum()
    large = len(part) > LARGE_LAYER or markers > LARGE_LAYER
    if options.datum != "wgs84":  # stored WGS84; shown in the tiles' datum so the two line up
        geometries = datum.convert_geometries(geometries, "wgs84", options.datum)
    decimals = 5 if large else 6  # ~1 m and ~0.1 m: beyond anything a screen shows of sketched shapes
    geometries = shapely.transform(geometries, lambda coords: coords.round(decimals))
    registry = options.layers
    tracked = part["layer"].isin(registry.progress_layers()).to_numpy()
    fills = part["status"].astype(object)
    if options.colour_by == "rating" and "rating" in part:
        fills = part["rating"].astype(object).where(part["rating"].notna(), fills)
    if not tracked.all():  # a layer that does not track progress: its accent, whatever status a feature carries
        accents = {name: ACCENT + _layer_def(registry, name).colour[1:].lower() for name in pd.unique(part["layer"])}
        fills = fills.where(tracked, part["layer"].map(accents))
    codes = [part["layer"], fills, part["confidence"].fillna("approximate"), part["kind"]]
    prefix = _slug_columns([*codes, pd.Series(options.weight_scale, index=part.index)] + [part[name] for name in extra])
    split = _needs_split(part, geometries, tracked)
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
        layer = _layer_def(registry, row.get("layer"))
        props: dict[str, Any] = {"_tip": tooltip_html(row, options.lang, layer)}
        if not large:
            props["_pop"] = popup_html(row, options.lang, layer)
        for piece, geom in _progress_pieces(row, geometries[index], bool(tracked[index])):
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
        layer, fill = key.split("|")[:2]
        # The lean tooltip's second line: the status (or rating), or for a layer without progress its name.
        accent = fill.startswith(ACCENT)
        lang = options.lang
        entry["label"] = layer_label(options.layers, layer, lang) if accent else symbol_label(fill, lang)
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


def _needs_split(part: pd.DataFrame, geometries: np.ndarray, tracked: np.ndarray) -> np.ndarray:
    """Line works with reported progress (in layers that track it): drawn as a completed share and a remainder."""
    lines = np.isin(shapely.get_type_id(geometries), (1, 5))  # LineString, MultiLineString
    return lines & tracked & pd.to_numeric(part["progress"], errors="coerce").notna().to_numpy()


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


def _progress_pieces(props: dict[str, Any], geometry: Any, tracked: bool) -> list[tuple[str, Any]]:
    """[("whole", g)] or, for a line work with progress (`tracked`: its layer tracks progress), [("done", first
    share), ("rest", remainder)]."""
    share = props.get("progress")
    if share is None or not tracked or geometry is None or geometry.geom_type not in ("LineString", "MultiLineString"):
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


def tooltip_html(row: Mapping[str, Any], lang: str, layer: LayerDef | None = None) -> str:
    """Name (English readers also get the Chinese one), status, progress, rating, confidence mark, the layer's
    attributes marked for tooltips, and last the feature key (the click hook reads the last key). A layer that does
    not track progress shows its name instead of a status. Without `layer`: a layer that tracks progress, no
    attributes."""
    tag = display.confidence_tag(row.get("confidence"), lang)
    tag_html = f' <span class="up-tag up-{escape(row.get("confidence"))}">{escape(tag)}</span>' if tag else ""
    # English readers also see the official Chinese name; the Chinese UI carries no English (issue 17).
    other = row.get("name_zh") if lang == "en" else None
    other_html = f'<div class="up-sub">{escape(other)}</div>' if other else ""
    if layer is None or layer.tracks_progress:
        colour = display.status_colour(row.get("status"))
        status = symbol_label(row.get("status"), lang)  # a symbol as well as the colour dot: never colour alone
        state = (
            f'<div><span class="up-dot" style="background:{colour}"></span>{status}'
            f" · {escape(t('field.progress', lang))} {escape(display.progress_text(row.get('progress'), lang))}</div>"
        )
    else:
        dot = f'<span class="up-dot" style="background:{escape(layer.colour)}"></span>'
        state = f"<div>{dot}{escape(layer.name(lang))}</div>"
    rating = ""
    if row.get("rating") and (layer is None or layer.tracks_progress):
        dot = progress.RATING_COLOURS.get(row["rating"], "#999")
        rating_text = symbol_label(row["rating"], lang)
        rating = f'<div><span class="up-dot" style="background:{dot}"></span>{rating_text}</div>'
    attributes = "".join(
        f'<div class="up-attr"><span class="up-attr-name">{escape(name)}</span> {escape(value)}</div>'
        for _, name, value in attribute_rows(row, layer, lang, "tooltip")
    )
    return (
        f'<div class="up-name">{escape(display.name(row, lang))}{tag_html}</div>{other_html}{state}{rating}{attributes}'
        f'<div class="up-key">{escape(t("field.id", lang))} {escape(row.get("layer"))}/{escape(row.get("id"))}</div>'
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


def popup_html(row: Mapping[str, Any], lang: str, layer: LayerDef | None = None) -> str:
    """The compact card on the map (with the layer's detail attributes: an exported map has no details panel);
    the full record (with notes) is in the details panel beside it."""
    rows = "".join(
        f"<tr><th>{escape(key)}</th><td>{escape(value)}</td></tr>"
        for field, key, value in _canonical_rows(row, lang, layer)
        if field in POPUP_FIELDS
    )
    rows += "".join(
        f"<tr><th>{escape(key)}</th><td>{escape(value)}</td></tr>"
        for _, key, value in attribute_rows(row, layer, lang, "details", limit=POPUP_TEXT_LIMIT)
    )
    if row.get("rating_reason") and (layer is None or layer.tracks_progress):
        rows += (
            f"<tr><th>{escape(t('field.rating', lang))}</th>"
            f"<td>{escape(label('rating', row.get('rating'), lang))}: {escape(row['rating_reason'])}</td></tr>"
        )
    tag = display.confidence_tag(row.get("confidence"), lang)
    warning_key = f"confidence_warning.{row.get('confidence')}"
    warning = f'<div class="up-warn">{escape(t(warning_key, lang))}</div>' if tag else ""
    return f'<table class="up-table">{rows}</table>{warning}'


# --- a feature's record: canonical fields, then the layer's own attributes ---------------------------------------

TOOLTIP_TEXT_LIMIT = 80  # characters of one attribute value in a tooltip (the details panel has it whole)
POPUP_TEXT_LIMIT = 300
# Canonical fields that only mean something in a layer that tracks progress: elsewhere shown only when filled.
PROGRESS_ONLY_FIELDS = frozenset({"status", "progress", "start_date", "end_date", "investment_yi"})


def details_rows(row: Mapping[str, Any], lang: str, registry: Registry | None = None) -> list[tuple[str, str, str]]:
    """(field, label, value) for the details panel: the canonical fields (the layer named as the registry names
    it), then the layer's attributes marked for details in their declared order, then the feature key. Plain
    text: escape before HTML."""
    registry = registry if registry is not None else _builtin()
    row = display.clean(row)
    layer = _layer_def(registry, row.get("layer"))
    rows = _canonical_rows(row, lang, layer)
    key = [entry for entry in rows if entry[0] == "id"]
    rows = [entry for entry in rows if entry[0] != "id"]
    return rows + attribute_rows(row, layer, lang, "details") + key


def status_line(row: Mapping[str, Any], lang: str, registry: Registry | None = None) -> tuple[str, str]:
    """(colour, escaped HTML) of the line under a feature's name in the details panel: status and progress, or for
    a layer that does not track progress the layer's name in its accent."""
    registry = registry if registry is not None else _builtin()
    row = display.clean(row)
    layer = _layer_def(registry, row.get("layer"))
    if layer.tracks_progress:
        progress_text = escape(display.progress_text(row.get("progress"), lang))
        return display.status_colour(row.get("status")), f"{symbol_label(row.get('status'), lang)} · {progress_text}"
    return layer.colour, escape(layer.name(lang))


def _canonical_rows(row: Mapping[str, Any], lang: str, layer: LayerDef | None) -> list[tuple[str, str, str]]:
    rows = display.details(row, lang)
    if layer is None:
        return rows
    out = []
    for field, key, value in rows:
        if field == "layer":
            value = layer.name(lang)
        elif field in PROGRESS_ONLY_FIELDS and not layer.tracks_progress and _blank(row.get(field)):
            continue  # "not reported" would suggest a figure this layer never has
        out.append((field, key, value))
    return out


def attribute_rows(
    row: Mapping[str, Any], layer: LayerDef | None, lang: str, where: str = "details", limit: int | None = None
) -> list[tuple[str, str, str]]:
    """(name, label, value) of the layer's open attributes shown `where` ("tooltip", "details" or "table": the
    FieldDef flags), in declared order; labels in the reader's language, enum values by their labels, dates and
    numbers formatted, JSON compact. Plain text, not escaped. Empty values: left out of tooltips, "—" elsewhere."""
    if layer is None:
        return []
    limit = TOOLTIP_TEXT_LIMIT if limit is None and where == "tooltip" else limit
    out = []
    for spec in layer.fields:
        if not getattr(spec, where, False):
            continue
        value = row.get(spec.name)
        if _blank(value):
            if where != "tooltip":
                out.append((spec.name, spec.label(lang), "—"))
            continue
        out.append((spec.name, spec.label(lang), _shorten(attribute_text(value, spec, lang), limit)))
    return out


def attribute_text(value: Any, spec: FieldDef, lang: str) -> str:
    """One attribute value as people read it (plain text)."""
    if _blank(value):
        return "—"
    if spec.type == "enum":
        return spec.option_label(value, lang)
    if spec.type == "boolean" and isinstance(value, (bool, np.bool_)):
        return t("maplayers.yes" if value else "maplayers.no", lang)
    numeric = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if spec.type == "number" and numeric:
        return _number_text(value)
    if spec.type == "date":
        return fieldtypes.date_text(value) or str(value)
    if isinstance(value, (dict, list, tuple)):
        try:
            return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def _number_text(value: Any) -> str:
    number = float(value)
    if not np.isfinite(number):
        return str(value)
    if number.is_integer() and abs(number) < 1e15:
        return f"{int(number):,}"
    return f"{number:,.6f}".rstrip("0").rstrip(".")


def _shorten(text: str, limit: int | None) -> str:
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def _blank(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)):
        return bool(np.isnan(value))
    return isinstance(value, str) and not value.strip()


def _fill_colour(fill: str) -> str:
    if fill.startswith(ACCENT) and re.fullmatch(r"[0-9a-f]{6}", fill[len(ACCENT) :]):
        return "#" + fill[len(ACCENT) :]
    return progress.RATING_COLOURS.get(fill) or display.status_colour(fill)


def _overlay_style(feature: dict[str, Any]) -> dict[str, Any]:
    props = _style_parts(feature)
    colour = _fill_colour(props["fill"])
    confidence = props["confidence"]
    weight = LINE_WEIGHT * props["scale"]
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
    if props["piece"] == "done":  # the completed share of a line work: heavier (its dash still tells confidence)
        style.update(weight=weight + 2)
    elif props["piece"] == "rest":  # the unfinished part: thin and light, so it never reads as "approximate"
        style.update(weight=weight * REMAINING_WEIGHT, opacity=REMAINING_OPACITY)
    if props["fill"].startswith(ACCENT):  # a layer without progress: its areas sit under the works, outline first
        weight = ACCENT_WEIGHT * props["scale"]
        style.update(weight=weight, fillOpacity=style["fillOpacity"] / 2, pointFillOpacity=ACCENT_POINT_FILL)
    return style


def _context_style(feature: dict[str, Any]) -> dict[str, Any]:
    props = _style_parts(feature)
    # The shipped base map's kinds have their own quiet styles; anything else in a base layer takes its accent.
    accent = _fill_colour(props["fill"]) if props["fill"].startswith(ACCENT) else "#777777"
    fallback = {"color": accent, "weight": 2, "fillColor": accent, "fillOpacity": 0.12}
    style = dict(CONTEXT_STYLES.get(props["kind"], fallback))
    style["weight"] = style.get("weight", 2) * props["scale"]
    style["className"] = f"up-l-{props['layer']} up-k-{props['kind']}"
    if props["kind"] == "boundary":
        style["dashArray"] = BOUNDARY_DASH
    elif props["confidence"] == "placeholder":
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


def symbol_label(code: Any, lang: str) -> str:
    """A status or rating as its symbol and name (escaped HTML): the colour-free cue of legend and tooltips."""
    if code in progress.RATINGS:
        return f"{progress.RATING_SYMBOLS[code]} {escape(label('rating', code, lang))}"
    symbol = schema.STATUS_SYMBOLS.get(str(code))
    return f"{symbol} {escape(label('status', code, lang))}" if symbol else escape(label("status", code, lang))


def legend_html(lang: str, colour_by: str = "status", registry: Registry | None = None) -> str:
    """Every colour, symbol and line style on the map, each with the one thing it means, and every layer of the
    registry (archived ones are not on the map) in its order: a layer that tracks progress is coloured by status,
    any other by its accent."""
    layers = registry if registry is not None else _builtin()
    if colour_by == "rating":
        title = t("legend.rating", lang)
        entries = [(r, progress.RATING_COLOURS[r]) for r in progress.RATINGS]
    else:
        title = t("legend.status", lang)
        entries = [(s, display.status_colour(s)) for s in schema.STATUSES]
    swatches = "".join(
        f'<div class="up-legend-item up-legend-{escape(code)}"><span class="up-swatch" style="background:{colour}">'
        f"</span>{symbol_label(code, lang)}</div>"
        for code, colour in entries
    )
    lines = (
        "".join(_line_sample(DASH[c], t(f"a11y.legend.{c}", lang)) for c in schema.CONFIDENCES)
        + _line_sample(None, t("a11y.legend.done", lang), 6)
        + _line_sample(None, t("a11y.legend.rest", lang), 6 * REMAINING_WEIGHT, opacity=REMAINING_OPACITY)
    )
    base = "".join(
        _area_sample(CONTEXT_STYLES[k]["fillColor"], CONTEXT_STYLES[k]["color"], t(f"a11y.legend.{k}", lang))
        if k == "lake"
        else _line_sample(
            BOUNDARY_DASH if k == "boundary" else (DASH["approximate"] if k == "road" else None),
            t(f"a11y.legend.{k}", lang),
            CONTEXT_STYLES[k]["weight"],
            colour=CONTEXT_STYLES[k]["color"],
        )
        for k in CONTEXT_LEGEND
    )
    bases = "".join(_layer_sample(layer, lang) for layer in layers.active() if layer.role == "base")
    overlays = "".join(_layer_sample(layer, lang) for layer in layers.active() if layer.role == "overlay")
    return (
        f'<div class="up-legend-title">{escape(t("legend.title", lang))}</div>'
        f'<div class="up-legend-sub">{escape(title)}</div>{swatches}'
        '<div class="up-legend-grid"><div>'  # two columns: the legend stays as short as it was
        f'<div class="up-legend-sub">{escape(t("a11y.legend.lines", lang))}</div>{lines}</div><div>'
        f'<div class="up-legend-sub">{escape(t("a11y.legend.base", lang))}</div>{base}{bases}'
        f'<div class="up-legend-sub">{escape(t("maplayers.legend_layers", lang))}</div>{overlays}'
        f'</div></div><div class="up-legend-note">{escape(t("legend.note", lang))}</div>'
    )


def _layer_sample(layer: LayerDef, lang: str) -> str:
    """A layer's legend entry: the three status colours for a layer coloured by status, else its accent."""
    css_id = escape(layer.id)
    if layer.tracks_progress:
        stops = [display.status_colour(s) for s in schema.STATUSES]
        gradient = f"linear-gradient(90deg,{stops[0]} 0 33%,{stops[1]} 33% 67%,{stops[2]} 67%)"
        return (
            f'<div class="up-legend-layer up-legend-layer-{css_id}" title="{escape(t("maplayers.by_status", lang))}">'
            f'<span class="up-swatch" style="background:{gradient}"></span>{escape(layer.name(lang))}</div>'
        )
    colour = escape(layer.colour)
    return (
        f'<div class="up-legend-layer up-legend-layer-{css_id}"><span class="up-swatch" style="background:{colour};'
        f'border:1px solid {colour};opacity:0.75"></span>{escape(layer.name(lang))}</div>'
    )


def _line_sample(
    dash: str | None, text: str, width: float = 3, *, colour: str = "#333333", opacity: float = 1.0
) -> str:
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<div><svg width="34" height="10" aria-hidden="true"><line x1="1" y1="5" x2="33" y2="5" stroke="{colour}" '
        f'stroke-opacity="{opacity:g}" stroke-width="{width:g}"{dash_attr}/></svg> {escape(text)}</div>'
    )


def _area_sample(fill: str, stroke: str, text: str, *, opacity: float = 1.0) -> str:
    return (
        f'<div><span class="up-swatch" style="background:{fill};border:1px solid {stroke};opacity:{opacity:g}">'
        f"</span>{escape(text)}</div>"
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
                L.DomEvent.disableScrollPropagation(div);  // scrolling a long legend must not zoom the map
                return div;
            };
            var map = {{ this._parent.get_name() }};
            legend.addTo(map);
            // Never cut: the legend keeps below the layer control (top right) and scrolls when the map is short.
            var above = map._controlCorners.topright, below = map._controlCorners.bottomright;
            var box = legend.getContainer();
            box.style.boxSizing = 'border-box';
            function fit() {
                var others = below.offsetHeight - box.offsetHeight;  // its margin and the attribution line
                box.style.maxHeight = Math.max(72, map.getSize().y - above.offsetHeight - others - 8) + 'px';
            }
            map.on('resize', fit);
            if (window.ResizeObserver) { new ResizeObserver(fit).observe(above); }
            // On a phone the whole legend would hide the map: the colours stay, the rest opens with a tap on
            // the title.
            var title = box.querySelector('.up-legend-title');
            if (title && map.getSize().x < 560) {
                box.classList.add('up-legend-folded');
                title.setAttribute('role', 'button');
                title.setAttribute('aria-expanded', 'false');
                title.tabIndex = 0;
                L.DomEvent.on(title, 'click', function () {
                    var folded = box.classList.toggle('up-legend-folded');
                    title.setAttribute('aria-expanded', folded ? 'false' : 'true');
                    fit();
                });
            }
            fit();
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


class MapNotice(SafeMacro):
    """A short fixed note on the map (why it is simplified), as text: never HTML."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
            var note = L.control({position: 'bottomleft'});
            note.onAdd = function () {
                var div = L.DomUtil.create('div', 'up-notice');
                div.textContent = {{ this.message|tojson }};
                return div;
            };
            note.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, message: str) -> None:
        super().__init__()
        self._name = "MapNotice"
        self.message = message


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


HTML_LANG = {"zh": "zh-CN", "en": "en"}

# The map document says its language, and its features stay out of the Tab order: Chrome makes every SVG path
# with a focus listener (Leaflet's tooltips add one) a Tab stop, so Tab would walk every feature before leaving.
# The map itself is one Tab stop; Enter on it puts the features in the Tab order (each shows its tooltip on focus,
# Enter opens it as a click would), Escape takes them out again and returns to the map.
_KEYBOARD_JS = """
var cfg = %s, box = map.getContainer(), entered = false;
document.documentElement.lang = cfg.lang;
box.setAttribute('tabindex', '0');
box.setAttribute('role', 'region');
box.setAttribute('aria-label', cfg.label);
function features() {
  return Array.prototype.slice.call(box.querySelectorAll('.leaflet-overlay-pane path.leaflet-interactive, '
    + '.leaflet-marker-pane .leaflet-interactive'));
}
function setStops(on) {
  entered = on;
  features().forEach(function (el) { el.setAttribute('tabindex', on ? '0' : '-1'); });
}
map.on('layeradd', function (e) {
  var el = e.layer && e.layer.getElement && e.layer.getElement();
  if (el) { el.setAttribute('tabindex', entered ? '0' : '-1'); }
});
setStops(false);
box.addEventListener('keydown', function (event) {
  var target = event.target;
  if (event.key === 'Enter' && target === box) {
    var all = features();
    if (!all.length) { return; }
    event.preventDefault();
    setStops(true);
    all[0].focus();
  } else if (event.key === 'Escape' && entered) {
    event.preventDefault();
    setStops(false);
    box.focus();
  } else if (event.key === 'Enter' && entered && target.classList.contains('leaflet-interactive')) {
    event.preventDefault();
    var r = target.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + r.height / 2;
    var click = {bubbles: true, cancelable: true, clientX: x, clientY: y, view: window};
    target.dispatchEvent(new MouseEvent('click', click));
  }
});
box.addEventListener('focusout', function (event) {  // Tab out of the map: features leave the Tab order again
  if (entered && (!event.relatedTarget || !box.contains(event.relatedTarget))) { setStops(false); }
});
"""

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

# Presenting: a clicker sends PageUp/PageDown (or arrows); when the map has focus they must still step views (and
# Escape must still leave).
_FORWARD_KEYS_JS = """
['keydown', 'keyup'].forEach(function (type) {  // both: the page tracks held keys for its shortcuts
  document.addEventListener(type, function (event) {
    var keys = ['ArrowLeft', 'ArrowRight', 'PageUp', 'PageDown', 'Escape'];  // Escape leaves the presentation
    if (keys.indexOf(event.key) < 0 || window.parent === window) { return; }
    event.preventDefault();
    var copy = new KeyboardEvent(type, {key: event.key, code: event.code, bubbles: true, cancelable: true});
    window.parent.document.dispatchEvent(copy);
  });
});
"""

_MAP_CSS = f"""
/* In the app, the map fills its iframe whatever height the page's stylesheet gives the iframe (streamlit-folium
   writes the first height in px on #map_div); Leaflet follows the iframe's resize events itself. Only there:
   exports lay maps out in documents of their own. */
body:has(> #root #map_div) {{ margin: 0; overflow: hidden; }}
#map_div {{ height: 100vh !important; }}
html .folium-map, html .leaflet-container {{ background: {MAP_BACKGROUND};
  font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif; }}
.up-legend {{ background: rgba(255,255,255,.94); padding: 8px 10px; border-radius: 6px; font-size: 12.5px;
  line-height: 1.55; box-shadow: 0 1px 4px rgba(0,0,0,.3); max-width: 230px; color: #222; overflow-y: auto; }}
.up-legend-title {{ font-weight: 700; font-size: 13.5px; }}
.up-legend-sub {{ font-weight: 600; margin-top: 4px; color: #444; }}
.up-legend-note {{ margin-top: 6px; color: #8a1c1c; font-size: 11.5px; }}
.up-swatch {{ display: inline-block; width: 14px; height: 10px; margin-right: 6px; border-radius: 2px; }}
.up-dot {{ display: inline-block; width: 9px; height: 9px; margin-right: 5px; border-radius: 50%; }}
.up-name {{ font-weight: 700; font-size: 13.5px; }}
.up-sub {{ color: #555; font-size: 12px; }}
.up-key {{ color: #595959; font-size: 10.5px; margin-top: 2px; font-family: monospace; }}
.up-attr {{ font-size: 12px; max-width: 22em; white-space: normal; overflow-wrap: anywhere; }}
.up-attr-name {{ color: #555; }}
.up-legend-layer {{ white-space: nowrap; }}
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
.up-legend-grid {{ display: grid; grid-template-columns: auto auto; column-gap: 1em; }}
.up-legend:has(.up-legend-grid) {{ max-width: 30em; }}
.leaflet-container:focus-visible, .leaflet-interactive:focus-visible {{ outline: 3px solid #1f5fa8;
  outline-offset: -3px; }}
/* Over a canvas layer, areas drawn as SVG (above the canvas) take clicks on their outline only: otherwise the
   district or a planning area would catch every click meant for the parcels inside it. */
.up-over-canvas .leaflet-overlay-pane path.up-area {{ pointer-events: visibleStroke; }}
"""

# Projectors wash out thin lines and small type: bigger, darker, heavier; growing with the screen (about 17 px on
# a 1280 px projector, 20 px on 1920 px).
_PRESENTATION_CSS = """
.up-legend { font-size: clamp(15px, 10px + 0.55vw, 21px); max-width: 20em; padding: 12px 14px; }
.up-legend-title { font-size: 1.12em; }
.leaflet-control-layers { font-size: clamp(15px, 10px + 0.55vw, 21px); }
.up-name { font-size: 18px; }
.leaflet-tooltip, .leaflet-popup-content { font-size: 16px; }
.leaflet-control-scale-line { font-size: 15px; border-width: 3px; }
.up-stamp-title { font-size: 24px; }
.up-stamp-line { font-size: 17px; }
"""

# Phones: a 360 px map must stay a map, not a legend with a map behind it. Small type, narrow controls (they
# scroll when long). After the presentation rules, so it wins over them on a phone too.
_SMALL_SCREEN_CSS = """
@media (max-width: 560px) {
  .up-legend, .up-legend:has(.up-legend-grid) { font-size: 11px; line-height: 1.35; max-width: 48vw;
    padding: 5px 7px; }
  .up-legend-grid { grid-template-columns: auto; }
  .up-legend-title { font-size: 12px; }
  .up-legend-title[role="button"]::after { content: " ▾"; }
  .up-legend-folded .up-legend-title[role="button"]::after { content: " ▸"; }
  .up-legend-folded .up-legend-grid, .up-legend-folded .up-legend-note { display: none; }
  .up-legend-note { font-size: 10px; }
  .leaflet-control-layers { font-size: 11px; line-height: 1.3; max-width: 170px; max-height: 34vh;
    overflow-y: auto; }
  .leaflet-control-layers-expanded { padding: 3px 6px 3px 4px; }
  .up-stamp-title { font-size: 14px; }
  .up-stamp-line { font-size: 11px; }
}
"""
