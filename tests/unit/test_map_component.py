"""ui/map_component gives streamlit-folium's component exactly what st_folium would, from strings rendered once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import streamlit_folium

from ui import map_component
from urban_plan import frame, mapping, registry
from urban_plan.store import FileLayerStore

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def layers() -> tuple[Any, Any]:
    store = FileLayerStore(ROOT / "geodata")
    context = frame.collection_frame(store.load("context"), "context")
    overlays = frame.layers_frame({layer: store.load(layer) for layer in registry.builtin().overlays()})
    return context, overlays


def _maps(layers: tuple[Any, Any], keep_every: int) -> tuple[Any, Any, Any]:
    """A fresh base map, overlay groups (every `keep_every`-th feature kept) and layer control, as the page builds."""
    context, overlays = layers
    options = mapping.MapOptions(lang="zh", url_extent=True)
    parts = {name: overlays[overlays["layer"] == name] for name in registry.builtin().overlays()}
    prepared = mapping.prepare_layers(parts, options)
    keep = {name: np.arange(len(part)) % keep_every == 0 for name, part in parts.items()}
    counts = {name: int(mask.sum()) for name, mask in keep.items()}
    groups = mapping.prepared_overlay_groups(prepared, keep, counts, options)
    return mapping.base_map(context, options), groups, mapping.layer_control()


def _component_arguments(monkeypatch: pytest.MonkeyPatch, call: Any) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(streamlit_folium, "_component_func", lambda **kwargs: seen.update(kwargs))
    call()
    seen.pop("on_change")
    return seen


def test_the_component_gets_what_st_folium_would_send(monkeypatch: pytest.MonkeyPatch, layers: Any) -> None:
    arguments = {"height": 640, "returned_objects": ["last_object_clicked_tooltip"], "center": (37.0, 117.1)}
    base, groups, control = _maps(layers, 2)
    theirs = _component_arguments(
        monkeypatch,
        lambda: streamlit_folium.st_folium(
            base, key="map-k", feature_group_to_add=groups, layer_control=control, zoom=12,
            use_container_width=True, **arguments,
        ),
    )  # fmt: skip
    ours = _component_arguments(
        monkeypatch,
        lambda: map_component.show(
            base_key="test-base",
            make_base=lambda: _maps(layers, 2)[0],
            groups_key="test-groups-2",
            make_groups=lambda: _maps(layers, 2)[1],
            make_layer_control=mapping.layer_control,
            key="map-k",
            zoom=12,
            **arguments,
        ),
    )
    assert theirs.keys() == ours.keys()
    for name in theirs:
        assert ours[name] == theirs[name], name
    assert "feature_group_feature_group_0" in ours["feature_group"] and ours["layer_control"]


def test_overlays_rendered_against_the_shared_base_leave_it_unchanged(layers: Any) -> None:
    """Many sessions render their selections against one cached base map: it must not collect their groups."""
    base_map, _, _ = _maps(layers, 1)
    base = map_component.render_base(base_map)
    root = base.map.get_root()
    before = [len(base.map._children), len(root.header._children), len(root.script._children)]
    first = map_component.render_overlays(base, _maps(layers, 1)[1], mapping.layer_control())
    for keep_every in (2, 3, 1):
        again = map_component.render_overlays(base, _maps(layers, keep_every)[1], mapping.layer_control())
    assert [len(base.map._children), len(root.header._children), len(root.script._children)] == before
    assert again == first  # the same selection renders the same strings whatever came in between
    assert map_component.render_overlays(base, _maps(layers, 2)[1], None).feature_group != first.feature_group
