"""Cached access to the store for the pages: each layer version is read and parsed once per server process."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cachetools
import geopandas as gpd
import numpy as np
import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from urban_plan import filters, frame, ingest, mapping, progress, publishing
from urban_plan.registry import Registry
from urban_plan.store import DATA_DIR_ENV, LayerStore, VersionInfo, open_store

_RUN = "_data_this_run"


def shared_cache(max_entries: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A process-wide LRU for page work that depends on the data, never on the session, keyed by the first
    argument only (a string naming everything the value depends on); the other arguments say how to make it.

    For the per-run hot path instead of st.cache_resource, whose lookup costs ~0.5 ms (it inspects the function's
    signature and hashes every argument on each call). Simultaneous misses of one key make it once (a meeting
    opening the same link at once); values are shared: treat them as read-only."""
    return cachetools.cached(
        cachetools.LRUCache(max_entries), key=lambda key, *_args, **_kwargs: key, condition=threading.Condition()
    )


def begin_run() -> None:
    """First thing of every run (app.py): what the store holds now is asked once per run, not on every call (a
    filter change calls layers() and registry() a dozen times; each asks the store and Streamlit's caches)."""
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is not None:
        # On the run's context, not in session state: a session-state read costs a lock and a check for a rerun
        # request, and the memo is asked dozens of times per run.
        setattr(ctx, _RUN, {})


def store() -> LayerStore:
    """The configured store (`URBAN_PLAN_DATA_DIR`, default geodata/), one object per data directory."""
    memo = _memo()
    if memo is None:
        return _store(os.environ.get(DATA_DIR_ENV, ""))
    if "store" not in memo:
        memo["store"] = _store(os.environ.get(DATA_DIR_ENV, ""))
    return memo["store"]


def this_run(key: tuple, compute: Any) -> Any:
    """`compute()`, remembered for the rest of this run unless this process publishes meanwhile (another
    process's publish shows from the next run on). Outside a run (HTTP routes, tests): computed every time."""
    memo = _memo()
    if memo is None:
        return compute()
    writes = store().writes
    hit = memo.get(key)
    if hit is None or hit[0] != writes:
        hit = memo[key] = (writes, compute())
    return hit[1]


def _memo() -> dict | None:
    return getattr(get_script_run_ctx(suppress_warning=True), _RUN, None)


@st.cache_resource
def _store(root: str) -> LayerStore:
    return open_store(root or None)


def registry() -> Registry:
    """The layer registry in force (which layers exist, their names, fields and order): read from the store."""
    return this_run(("registry",), lambda: store().registry())


@dataclass
class Layers:
    context: gpd.GeoDataFrame  # every base layer (role "base"), drawn under the overlays
    overlays: gpd.GeoDataFrame
    versions: dict[str, VersionInfo | None]  # the version shown per layer (None: nothing in effect yet)
    registry: Registry
    key: str  # names the versions shown, the registry and the data directory: a new publish, a new name


def layers(as_of: dt.date | None = None) -> Layers:
    """Every layer as in effect on `as_of` (default: today's current versions). Only the manifests are read, once
    per run; frames are built once per set of versions and shared (treated as read-only: never mutate them)."""
    return this_run(("layers", as_of), lambda: _layers(as_of))


def _layers(as_of: dt.date | None) -> Layers:
    s = store()
    layers_now = s.registry()
    versions = {layer: (s.effective(layer, as_of) if as_of else s.current(layer)) for layer in layers_now.ids()}
    # The registry is part of the key: a renamed, reordered or archived layer rebuilds the frames.
    numbers = ((name, v.number, v.sha256) if v else (name, 0, "") for name, v in versions.items())
    key = digest(*numbers, layers_now.digest, os.environ.get(DATA_DIR_ENV, ""))
    context, overlays = _frames(key, s, versions, layers_now)
    return Layers(context, overlays, versions, layers_now, key)


@shared_cache(16)
def _frames(
    key: str, s: LayerStore, versions: dict[str, VersionInfo | None], layers_now: Registry
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Built once per set of versions and shared, never copied (tens of thousands of parcels take seconds)."""
    del key
    frames = {name: frame.collection_frame(s.load_shared(name, v.number), name) for name, v in versions.items() if v}
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


def changes(
    since: dt.date | None, on: dt.date | None, lang: str, criteria: filters.Criteria | None = None
) -> gpd.GeoDataFrame:
    """Overlay features that changed between `since` and `on` (default today), for halos and the table: once per
    pair of data versions (shared, read-only); with `criteria`, only the layers its layer filter shows."""
    if since is None:
        return _no_changes()
    before, after = layers(since), layers(on)
    changed = _changes(digest(before.key, after.key, lang), before, after, lang)
    if criteria is None or not len(changed):
        return changed
    return changed[changed["layer"].map(criteria.shows_layer).astype(bool)]


@shared_cache(16)
def _changes(key: str, before: Layers, after: Layers, lang: str) -> gpd.GeoDataFrame:
    del key
    return progress.changed_features(before.overlays, after.overlays, lang, after.registry)


@functools.cache
def _no_changes() -> gpd.GeoDataFrame:
    return frame.empty_frame()  # shared by every run without a comparison: read-only


def meetings() -> list[dt.date]:
    """Meeting dates planners saved (the default "compare with"), read once per version of the views."""
    version = store().current("views")
    if version is None:
        return []
    return _meetings(f"{os.environ.get(DATA_DIR_ENV, '')}:{version.number}:{version.sha256}", store(), version.number)


@shared_cache(8)
def _meetings(key: str, s: LayerStore, number: int) -> list[dt.date]:
    del key
    views = s.load_shared("views", number)
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

    layers: Layers  # the layers in force for the view's date (the map's base comes from them too)
    everything: gpd.GeoDataFrame  # every overlay, rated: shared between sessions, never mutate
    keep: np.ndarray  # the filter's rows of `everything`
    kpis: filters.Kpis
    groups_input: tuple[dict[str, mapping.PreparedLayer], dict[str, np.ndarray], dict[str, int]]
    key: str  # names the data version, style and selection: equal keys draw equal overlays

    @functools.cached_property
    def shown(self) -> gpd.GeoDataFrame:
        """The filter's rows (taken when a page needs them: details of a click, tables, exports)."""
        return self.everything[self.keep]

    @property
    def shared(self) -> list[mapping.PreparedLayer]:
        """Large layers the page carries beside the map (their digests belong in the map's key: new data remounts
        it)."""
        return mapping.shared_overlays(self.groups_input[0])


def rated(
    as_of: dt.date | None, thresholds: progress.Thresholds, lang: str, current: Layers | None = None
) -> gpd.GeoDataFrame:
    """All overlays as of a date, with plan-versus-actual columns; computed once per data version and date.
    `current`: layers(as_of) when the caller has it already."""
    current = current or layers(as_of)
    on = as_of or dt.date.today()
    return _rated(digest(current.key, on, thresholds, lang), current, on, thresholds, lang)


@shared_cache(16)
def _rated(key: str, current: Layers, on: dt.date, thresholds: progress.Thresholds, lang: str) -> gpd.GeoDataFrame:
    del key
    return progress.rate_frame(current.overlays, on, lang, thresholds)


def map_data(
    current: Layers,
    as_of: dt.date | None,
    criteria: filters.Criteria,
    thresholds: progress.Thresholds,
    options: mapping.MapOptions,
) -> MapData:
    """Rate and prepare once per data version, date and style; select once per set of filters (all cached and
    shared by every session): a filter change is one cache lookup, not a rebuild. `current` is layers(as_of)."""
    key = digest(current.key, as_of or dt.date.today(), thresholds, options.cache_key, criteria.cache_key)
    return _map_data(key, current, as_of, criteria, thresholds, options)


@shared_cache(256)
def _map_data(
    key: str,
    current: Layers,
    as_of: dt.date | None,
    criteria: filters.Criteria,
    thresholds: progress.Thresholds,
    options: mapping.MapOptions,
) -> MapData:
    """The rows a set of filters keeps, their KPI figures and each layer's part of the selection. Meetings share
    filters (everyone opens the same link): one computation serves them all. Arrays are read-only."""
    everything = rated(as_of, thresholds, options.lang, current)
    on = as_of or dt.date.today()  # ratings (and with them colours) change with the date
    prepared = _prepared(digest(current.key, on, thresholds, options.cache_key), everything, current, options)
    keep = filters.mask(everything, criteria, current.registry) if len(everything) else np.zeros(0, dtype=bool)
    names = everything["layer"].to_numpy()
    by_layer = {name: keep[names == name] for name in prepared}
    for array in (keep, *by_layer.values()):
        array.setflags(write=False)
    counts = {name: int(mask.sum()) for name, mask in by_layer.items()}
    kpis = filters.kpis(everything.loc[keep, ["layer", "status", "progress"]], current.registry)  # no geometry
    return MapData(current, everything, keep, kpis, (prepared, by_layer, counts), key)


@shared_cache(16)
def _prepared(
    key: str, everything: gpd.GeoDataFrame, current: Layers, options: mapping.MapOptions
) -> dict[str, mapping.PreparedLayer]:
    del key
    names = everything["layer"] if len(everything) else pd.Series(dtype=object)
    parts = {name: everything[names == name] for name in current.registry.overlays() if (names == name).any()}
    return mapping.prepare_layers(parts, options)  # one vertex budget for all overlays of the map


def kinds(current: Layers) -> list[str]:
    """The kinds (道路, 学校 …) the overlays have, sorted: for the kind filter, once per data version."""
    return _kinds(current.key, current)


@shared_cache(16)
def _kinds(key: str, current: Layers) -> list[str]:
    del key
    return sorted(str(kind) for kind in current.overlays["kind"].dropna().unique())


def digest(*parts: Any) -> str:
    """A short name for some keys (their repr), for cache keys made of several."""
    return hashlib.blake2b(repr(parts).encode(), digest_size=12).hexdigest()


def prepared_context(current: Layers, as_of: dt.date | None, options: mapping.MapOptions) -> mapping.PreparedLayer:
    """The base layer of `current` (= layers(as_of)) as the browser gets it, built once per data version and style."""
    return _prepared_context(digest(current.key, options.cache_key), current, options)


@shared_cache(16)
def _prepared_context(key: str, current: Layers, options: mapping.MapOptions) -> mapping.PreparedLayer:
    del key
    return mapping.prepare_layer(current.context, options)
