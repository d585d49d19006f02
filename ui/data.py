"""Cached access to the store for the pages: each layer version is read and parsed once per server process."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import streamlit as st

from urban_plan import filters, frame, ingest, mapping, progress, publishing
from urban_plan.registry import COLLECTION as REGISTRY
from urban_plan.registry import Registry
from urban_plan.store import DATA_DIR_ENV, LayerStore, VersionInfo, open_store


def store() -> LayerStore:
    """The configured store (`URBAN_PLAN_DATA_DIR`, default geodata/), one object per data directory."""
    return _store(os.environ.get(DATA_DIR_ENV, ""))


@st.cache_resource
def _store(root: str) -> LayerStore:
    return open_store(root or None)


def registry() -> Registry:
    """The layer registry in force (which layers exist, their names, fields and order): read from the store."""
    return store().registry()


@dataclass
class Layers:
    context: gpd.GeoDataFrame  # every base layer (role "base"), drawn under the overlays
    overlays: gpd.GeoDataFrame
    versions: dict[str, VersionInfo | None]  # the version shown per layer (None: nothing in effect yet)
    registry: Registry


def layers(as_of: dt.date | None = None) -> Layers:
    """Every layer as in effect on `as_of` (default: today's current versions). Only the manifests are read per
    run; frames are built once per set of versions and shared (treated as read-only: never mutate them)."""
    s = store()
    layers_now = s.registry()
    names = layers_now.ids()
    versions = {layer: (s.effective(layer, as_of) if as_of else s.current(layer)) for layer in names}
    # The registry's version is part of the key: a renamed, reordered or archived layer rebuilds the frames.
    head = s.current(REGISTRY)
    key = (
        ("", head.number if head else 0, head.sha256 if head else ""),
        *((layer, v.number, v.sha256) if v else (layer, 0, "") for layer, v in versions.items()),
    )
    context, overlays = _frames(key, os.environ.get(DATA_DIR_ENV, ""))
    return Layers(context, overlays, versions, layers_now)


@st.cache_resource(max_entries=16, show_spinner=False)
def _frames(key: tuple, root: str) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """cache_resource, not cache_data: no unpickled copy per call (tens of thousands of parcels take seconds)."""
    del root
    layers_now = registry()
    frames = {
        layer: frame.collection_frame(store().load_shared(layer, number), layer)
        for layer, number, _ in key[1:]
        if number
    }
    return _combined(frames, layers_now.bases()), _combined(frames, layers_now.overlays())


def _combined(frames: dict[str, gpd.GeoDataFrame], names: tuple[str, ...]) -> gpd.GeoDataFrame:
    parts = [frames[name] for name in names if name in frames and len(frames[name])]
    if not parts:
        return frame.empty_frame()
    if len(parts) == 1:
        return parts[0]
    return gpd.GeoDataFrame(gpd.pd.concat(parts, ignore_index=True), geometry="geometry", crs="EPSG:4326")


def preview(digest: str, name: str, data: bytes, options: ingest.Options) -> publishing.Preview:
    """Checked and diffed once per file content, options and store state (the latest version is in the key)."""
    latest = store().latest(options.layer)
    return _preview(digest, name, data, options, latest.number if latest else 0, os.environ.get(DATA_DIR_ENV, ""))


@st.cache_data(max_entries=16, show_spinner=False)
def _preview(
    digest: str, name: str, _data: bytes, options: ingest.Options, latest: int, root: str
) -> publishing.Preview:
    del digest, latest, root  # cache key only: the bytes are hashed by the caller, not by Streamlit
    return publishing.preview(store(), name, _data, options)


def changes(since: dt.date | None, on: dt.date | None, lang: str) -> gpd.GeoDataFrame:
    """Overlay features that changed between `since` and `on` (default today), for halos and the table."""
    if since is None:
        return frame.empty_frame()
    return progress.changed_features(layers(since).overlays, layers(on).overlays, lang, registry())


def meetings() -> list[dt.date]:
    """Meeting dates planners saved (the default "compare with")."""
    views, _ = document("views")
    return sorted(dt.date.fromisoformat(d) for d in (views or {}).get("meetings", []))


def document(name: str, on: dt.date | None = None) -> tuple[Any, VersionInfo | None]:
    """A versioned document (targets, views) as in effect on a date, with its version; (None, None) if none."""
    version = store().effective(name, on) if on else store().current(name)
    return (store().load(name, version.number), version) if version else (None, None)


def milestones(layer_ids: tuple[str, ...], lang: str, until: dt.date | None) -> list[progress.Milestone]:
    """Milestones from the layers' history, cached until any of them gets a new version."""
    heads = tuple((name, v.number if (v := store().latest(name)) else 0) for name in layer_ids)
    return _milestones(heads, lang, until, os.environ.get(DATA_DIR_ENV, ""))


@st.cache_data(max_entries=32, show_spinner=False)
def _milestones(
    heads: tuple[tuple[str, int], ...], lang: str, until: dt.date | None, root: str
) -> list[progress.Milestone]:
    del root
    return progress.milestones(store(), tuple(name for name, _ in heads), lang, until)


@dataclass
class MapData:
    """What the map pages draw: every overlay rated, the filter's rows, and the layers prepared for the browser."""

    shown: gpd.GeoDataFrame  # filtered and rated
    groups_input: tuple[dict[str, mapping.PreparedLayer], dict[str, np.ndarray], dict[str, int]]

    @property
    def shared(self) -> list[mapping.PreparedLayer]:
        """Large layers the page carries beside the map (their digests belong in the map's key: new data remounts
        it)."""
        return mapping.shared_overlays(self.groups_input[0])


def rated(as_of: dt.date | None, thresholds: progress.Thresholds, lang: str) -> gpd.GeoDataFrame:
    """All overlays as of a date, with plan-versus-actual columns; computed once per data version and date."""
    current = layers(as_of)
    return _rated(_versions_key(current), as_of or dt.date.today(), thresholds, lang, as_of)


@st.cache_resource(max_entries=16, show_spinner=False)
def _rated(
    versions: tuple, on: dt.date, thresholds: progress.Thresholds, lang: str, as_of: dt.date | None
) -> gpd.GeoDataFrame:
    del versions  # cache key: a new publish is a new entry
    return progress.rate_frame(layers(as_of).overlays, on, lang, thresholds)


def map_data(
    as_of: dt.date | None, criteria: filters.Criteria, thresholds: progress.Thresholds, options: mapping.MapOptions
) -> MapData:
    """Rate and prepare once per data version, date and style (cached), then filter by selecting rows: a
    filter change costs a mask and a string join, not a rebuild."""
    everything = rated(as_of, thresholds, options.lang)
    keep = filters.mask(everything, criteria, registry()) if len(everything) else np.zeros(0, dtype=bool)
    prepared = _prepared(_versions_key(layers(as_of)), as_of, thresholds, options)
    by_layer = {name: keep[(everything["layer"] == name).to_numpy()] for name in prepared}
    counts = {name: int(mask.sum()) for name, mask in by_layer.items()}
    return MapData(everything[keep], (prepared, by_layer, counts))


@st.cache_resource(max_entries=16, show_spinner=False)
def _prepared(
    versions: tuple, as_of: dt.date | None, thresholds: progress.Thresholds, options: mapping.MapOptions
) -> dict[str, mapping.PreparedLayer]:
    del versions
    everything = rated(as_of, thresholds, options.lang)
    parts = {
        name: everything[everything["layer"] == name]
        for name in registry().overlays()
        if len(everything) and (everything["layer"] == name).any()
    }
    return mapping.prepare_layers(parts, options)  # one vertex budget for all overlays of the map


def _versions_key(current: Layers) -> tuple:
    versions = ((name, v.number, v.sha256) if v else (name, 0, "") for name, v in current.versions.items())
    head = store().current(REGISTRY)
    return (*versions, ("", head.sha256 if head else ""), os.environ.get(DATA_DIR_ENV, ""))


def prepared_context(current: Layers, as_of: dt.date | None, options: mapping.MapOptions) -> mapping.PreparedLayer:
    """The base layer of `current` (= layers(as_of)) as the browser gets it, built once per data version and style."""
    return _prepared_context(_versions_key(current), as_of, options)


@st.cache_resource(max_entries=16, show_spinner=False)
def _prepared_context(versions: tuple, as_of: dt.date | None, options: mapping.MapOptions) -> mapping.PreparedLayer:
    del versions
    return mapping.prepare_layer(layers(as_of).context, options)
