"""streamlit-folium's map component, with the strings that do not change per run rendered once and shared.

`st_folium` renders the whole folium map to JavaScript on every call (base map, context layer, every overlay group,
the layer control): a third of a filter change's server time on the map page. Here the base map's strings are made
once per `base_key` (data version and style) and the overlay groups' once per `groups_key` (data version, style and
selection); a run hands the cached strings to the same component with the same arguments st_folium would pass.

Built on streamlit_folium's own helpers (the version is pinned in requirements.txt); tests/unit/test_map_component.py
checks that the arguments equal st_folium's for the same map, so an upgrade that changes them fails there.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import branca
import folium
import streamlit as st
import streamlit_folium as sf

from ui import data

# Rendering a feature group or a layer control attaches it to the base map for the time of the render: one at a
# time, so the shared base map never shows another session's groups.
_RENDER_LOCK = threading.Lock()


@dataclass(frozen=True)
class BaseMap:
    """What st_folium derives from the base map alone."""

    map: folium.Map  # the parent feature groups are rendered against (never mutated outside _RENDER_LOCK)
    script: str
    header: str
    html: str
    id: str
    bounds: list
    zoom: Any
    css_links: tuple[str, ...]
    js_links: tuple[str, ...]


@dataclass(frozen=True)
class Overlays:
    feature_group: str
    layer_control: str | None


def show(
    *,
    base_key: str,
    make_base: Callable[[], folium.Map],
    groups_key: str,
    make_groups: Callable[[], list[folium.FeatureGroup]],
    make_layer_control: Callable[[], folium.LayerControl] | None,
    key: str,
    height: int,
    returned_objects: list[str],
    center: tuple[float, float] | None = None,
    zoom: float | None = None,
) -> dict | None:
    """What st_folium(make_base(), key=key, feature_group_to_add=make_groups(), layer_control=make_layer_control(),
    center=…, zoom=…, returned_objects=…, use_container_width=True, height=…) shows and returns. The keys must
    name everything the maps depend on: equal keys, equal strings."""
    base = _base(base_key, make_base)
    overlays = _overlays(f"{base_key}|{groups_key}", make_groups, make_layer_control, base)
    hash_key = _hash_key(f"{base_key}|{key}", base.script, key)
    defaults = {k: v for k, v in _defaults(base).items() if k in returned_objects}

    def on_change() -> None:  # as st_folium's: the result also under the caller's key
        st.session_state[key] = st.session_state.get(hash_key, {})

    return sf._component_func(
        script=base.script,
        header=base.header,
        html=base.html,
        id=base.id,
        key=hash_key,
        height=height,
        width=None,  # use_container_width
        returned_objects=returned_objects,
        default=defaults,
        zoom=zoom,
        center=center,
        feature_group=overlays.feature_group,
        return_on_hover=False,
        layer_control=overlays.layer_control,
        pixelated=False,
        css_links=list(base.css_links),
        js_links=list(base.js_links),
        on_change=on_change,
        wrap_longitude=False,
    )


@data.shared_cache(32)
def _base(base_key: str, make: Callable[[], folium.Map]) -> BaseMap:
    del base_key  # the cache key
    return render_base(make())


@data.shared_cache(256)
def _overlays(
    key: str,
    make_groups: Callable[[], list[folium.FeatureGroup]],
    make_control: Callable[[], folium.LayerControl] | None,
    base: BaseMap,
) -> Overlays:
    del key  # the cache key
    return render_overlays(base, make_groups(), make_control() if make_control else None)


@data.shared_cache(64)
def _hash_key(key: str, script: str, component_key: str) -> str:
    del key
    return sf.generate_js_hash(script, component_key, False)


def render_base(m: folium.Map) -> BaseMap:
    """st_folium's first half: the map's own strings (in st_folium's order: html and header before the script,
    whose making alters the folium structure)."""
    m.get_root().render()
    m.render()
    html, header = sf._get_html(m), sf._get_header(m)
    script = sf._get_map_string(m)
    map_id = sf.get_full_id(m)
    try:
        bounds = m.get_bounds()
    except AttributeError:
        bounds = [[None, None], [None, None]]
    css: list[str] = []
    js: list[str] = []
    for element in _walk(m):
        if isinstance(element, branca.colormap.ColorMap):
            raise ValueError("colour maps load d3 from a CDN: not on an offline map")
        css.extend(href for _, href in getattr(element, "default_css", []))
        js.extend(src for _, src in getattr(element, "default_js", []))
    zoom = m.options.get("zoom") if hasattr(m, "options") else {}
    return BaseMap(m, script, header, html, map_id, bounds, zoom, tuple(dict.fromkeys(css)), tuple(dict.fromkeys(js)))


def render_overlays(base: BaseMap, groups: list[folium.FeatureGroup], control: folium.LayerControl | None) -> Overlays:
    """st_folium's second half: the feature groups' script and the layer control's (which lists the groups, so it
    is rendered while they are attached), then the base map is left as it was."""
    root = base.map.get_root()
    # Rendering attaches the groups to the map and their scripts and assets to the map's page: put both back.
    touched = [base.map, root.header, root.html, root.script]
    with _RENDER_LOCK:
        before = [dict(element._children) for element in touched]
        try:
            feature_group = "".join(
                sf._get_feature_group_string(group, map=base.map, idx=idx) for idx, group in enumerate(groups)
            )
            layer_control = sf._get_layer_control_string(control, base.map) if control is not None else None
        finally:
            for element, children in zip(touched, before, strict=True):
                element._children.clear()
                element._children.update(children)
    return Overlays(feature_group, layer_control)


def _defaults(base: BaseMap) -> dict[str, Any]:
    (south, west), (north, east) = base.bounds
    return {
        "last_clicked": None,
        "last_object_clicked": None,
        "last_object_clicked_count": None,
        "last_object_clicked_tooltip": None,
        "last_object_clicked_popup": None,
        "all_drawings": None,
        "last_active_drawing": None,
        "bounds": {"_southWest": {"lat": south, "lng": west}, "_northEast": {"lat": north, "lng": east}},
        "zoom": base.zoom,
        "last_circle_radius": None,
        "last_circle_polygon": None,
        "selected_layers": None,
        "selected_tags": None,
        "last_geocoder_result": None,
    }


def _walk(element: Any) -> Iterator[Any]:
    if isinstance(element, branca.colormap.ColorMap | folium.elements.JSCSSMixin):
        yield element
    for child in getattr(element, "_children", {}).values():
        yield from _walk(child)
