"""The shared view (language + filters) in session state, seeded from and mirrored to the URL."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import streamlit as st

from ui import config, data
from urban_plan import basemaps, mapping, progress, schema, viewstate
from urban_plan.filters import Criteria
from urban_plan.i18n import label, t
from urban_plan.viewstate import ViewState

_VIEW = "_view"
_GENERATION = "_filter_generation"  # bumped to rebuild filter widgets from the view (reset, saved views)


def view() -> ViewState:
    """The current view; on a session's first run it comes from the URL (untrusted, parsed and clamped)."""
    if _VIEW not in st.session_state:
        # Checked against the layers in force: a link to an archived layer or a field since removed loses that part.
        state, ignored = viewstate.from_query(st.query_params.to_dict(), data.registry())
        st.session_state[_VIEW] = state
        st.session_state["_url_ignored"] = ignored
        st.session_state["_fresh_session"] = True
    return st.session_state[_VIEW]


def follow_map_extent() -> None:
    """The map writes its centre and zoom into the URL as the user pans (no rerun); adopt it on the next run."""
    raw = st.query_params.get("extent")
    if raw:
        parsed, ignored = viewstate.from_query({"extent": raw})
        if not ignored and parsed.extent != view().extent:
            st.session_state[_VIEW] = replace(view(), extent=parsed.extent)


def default_comparison(meetings: list[dt.date]) -> None:
    """On a session's first run without a compare date in the link: compare with the last saved meeting."""
    if not st.session_state.pop("_fresh_session", False) or view().compare or "compare" in st.query_params:
        return
    on = view().as_of or dt.date.today()
    earlier = [m for m in meetings if m < on]
    if earlier:
        set_view(replace(view(), compare=max(earlier)))


def set_view(state: ViewState, *, rebuild_widgets: bool = False) -> None:
    st.session_state[_VIEW] = state
    if rebuild_widgets:
        st.session_state[_GENERATION] = st.session_state.get(_GENERATION, 0) + 1


def lang() -> str:
    return view().lang


def sync_url() -> None:
    """Mirror the view into the URL (only our keys, only non-defaults), so a copied link reopens it."""
    wanted = viewstate.to_query(view())
    for key in viewstate.PARAMETERS:
        if key in wanted:
            if st.query_params.get(key) != wanted[key]:
                st.query_params[key] = wanted[key]
        elif key in st.query_params:
            del st.query_params[key]


def language_switch() -> None:
    names = {"zh": "中文", "en": "English"}
    st.radio(
        t("app.language", lang()),
        options=list(names),
        index=list(names).index(lang()),
        format_func=names.__getitem__,
        horizontal=True,
        key="lang_choice",
        on_change=lambda: set_view(replace(view(), lang=st.session_state["lang_choice"])),
    )


def filter_widgets(kinds_available: list[str]) -> None:
    """The shared progress filters (sidebar). Widget keys carry language and generation: a language switch or a
    reset builds fresh widgets from the view instead of fighting the old ones' state."""
    state, lang_ = view(), lang()
    c = state.criteria
    suffix = f"{lang_}_{st.session_state.get(_GENERATION, 0)}"

    def bind(key: str, update: Any) -> dict[str, Any]:
        """Widget key and callback: the callback turns the widget's value into criteria fields."""
        full = f"f_{key}_{suffix}"

        def changed() -> None:
            set_view(replace(view(), criteria=replace(view().criteria, **update(st.session_state[full]))))

        return {"key": full, "on_change": changed}

    registry = data.registry()
    overlays = list(registry.overlays())
    st.multiselect(
        t("filters.layers", lang_),
        options=overlays,
        default=[name for name in overlays if c.shows_layer(name)],
        format_func=lambda code: registry.name(code, lang_),
        # Every layer chosen is "no layer filter": a layer added later then shows too.
        **bind("layers", lambda v, all_=frozenset(overlays): {"layers": None if set(v) >= all_ else frozenset(v)}),
    )
    _enum_field_filters(registry, [name for name in overlays if c.shows_layer(name)], bind)
    tracked = [registry.name(name, lang_) for name in registry.progress_layers()]
    st.multiselect(
        t("filters.status", lang_),
        options=list(schema.STATUSES),
        default=[s for s in schema.STATUSES if s in c.statuses],
        format_func=lambda code: label("status", code, lang_),
        help=t("maplayers.progress_only_help", lang_, layers=t("filters.list_separator", lang_).join(tracked) or "—"),
        **bind("status", lambda v: {"statuses": frozenset(v)}),
    )
    st.slider(
        t("filters.progress", lang_),
        min_value=0,
        max_value=100,
        value=(c.progress_min, c.progress_max),
        step=5,
        format="%d%%",
        **bind("progress", lambda v: {"progress_min": int(v[0]), "progress_max": int(v[1])}),
    )
    st.checkbox(
        t("filters.include_unreported", lang_),
        value=c.include_unreported,
        **bind("unrep", lambda v: {"include_unreported": bool(v)}),
    )
    col_from, col_to = st.columns(2)
    with col_from:
        st.date_input(
            t("filters.end_from", lang_),
            value=c.end_from,
            min_value=dt.date(2015, 1, 1),
            max_value=dt.date(2040, 12, 31),
            format="YYYY-MM-DD",
            **bind("end_from", lambda v: {"end_from": v}),
        )
    with col_to:
        st.date_input(
            t("filters.end_to", lang_),
            value=c.end_to,
            min_value=dt.date(2015, 1, 1),
            max_value=dt.date(2040, 12, 31),
            format="YYYY-MM-DD",
            **bind("end_to", lambda v: {"end_to": v}),
        )
    st.caption(t("filters.end_hint", lang_))
    st.checkbox(
        t("filters.include_undated", lang_),
        value=c.include_undated,
        **bind("undated", lambda v: {"include_undated": bool(v)}),
    )
    options = sorted(set(kinds_available) | set(c.kinds or ()))
    st.multiselect(
        t("filters.kinds", lang_),
        options=options,
        default=sorted(c.kinds) if c.kinds is not None else options,
        format_func=lambda code: label("kind", code, lang_),
        **bind("kinds", lambda v, all_=frozenset(options): {"kinds": None if frozenset(v) >= all_ else frozenset(v)}),
    )
    st.toggle(
        t("filters.show_approximate", lang_),
        value=c.show_approximate,
        **bind("approx", lambda v: {"show_approximate": bool(v)}),
    )
    st.toggle(
        t("filters.show_placeholder", lang_),
        value=c.show_placeholder,
        **bind("ph", lambda v: {"show_placeholder": bool(v)}),
    )
    if not c.is_default() and st.button(t("filters.reset", lang_), key=f"reset_{suffix}"):
        set_view(replace(view(), criteria=Criteria()), rebuild_widgets=True)
        st.rerun()


def _enum_field_filters(registry: Any, layers: list[str], bind: Any) -> None:
    """A multiselect per enum field of each shown layer (学段: 小学, 初中 …), values by their labels. Every value
    chosen is no filter, so features without a value still show until the planner narrows the field."""
    lang_, c = lang(), view().criteria
    for layer in layers:
        for spec in registry[layer].enum_fields():
            values = list(spec.option_values())
            chosen = c.attribute(layer, spec.name)

            def update(
                picked: list[str], layer: str = layer, name: str = spec.name, all_: frozenset = frozenset(values)
            ) -> dict:
                kept = None if set(picked) >= all_ else frozenset(picked)
                return {"attributes": view().criteria.with_attribute(layer, name, kept).attributes}

            st.multiselect(
                t("maplayers.field_filter", lang_, layer=registry.name(layer, lang_), field=spec.label(lang_)),
                options=values,
                default=[v for v in values if chosen is None or v in chosen],
                format_func=lambda value, spec=spec: spec.option_label(value, lang_),
                **bind(f"attr_{layer}_{spec.name}", update),
            )


def time_controls() -> None:
    """As-of date, compare date, colour by status or rating: shared by the map, dashboard and presentation."""
    lang_, state = lang(), view()
    suffix = f"{lang_}_{st.session_state.get(_GENERATION, 0)}"
    first, today = dt.date(2023, 1, 1), dt.date.today()

    def on_date(field: str, key: str) -> Any:
        return lambda: set_view(replace(view(), **{field: st.session_state[key]}))

    for field, key in (("as_of", "asof"), ("compare", "compare")):
        st.date_input(
            t(f"time.{key}", lang_),
            value=getattr(state, field),
            min_value=first,
            max_value=today,
            key=f"{key}_{suffix}",
            help=t(f"time.{key}_help", lang_),
            on_change=on_date(field, f"{key}_{suffix}"),
            format="YYYY-MM-DD",  # 年-月-日, as Chinese documents write dates; the picker itself has no locale
        )
    # Streamlit 1.67's date picker has no locale option (streamlit/streamlit#12699): say in words what empty means.
    st.caption(t("time.date_hint", lang_))
    modes = list(viewstate.COLOUR_MODES)
    st.radio(
        t("time.colour_by", lang_),
        modes,
        index=modes.index(state.colour_by),
        horizontal=True,
        format_func=lambda m: t(f"time.colour_{m}", lang_),
        key=f"colour_{suffix}",
        on_change=lambda: set_view(replace(view(), colour_by=st.session_state[f"colour_{suffix}"])),
    )


def basemap_choice() -> None:
    lang_ = lang()
    st.selectbox(
        t("basemap.label", lang_),
        options=list(viewstate.BASEMAPS),
        index=list(viewstate.BASEMAPS).index(view().basemap),
        format_func=lambda code: t(f"basemap.{code}", lang_),
        key=f"basemap_{lang_}",
        help=t("basemap.help", lang_),
        on_change=lambda: set_view(replace(view(), basemap=st.session_state[f"basemap_{lang_}"])),
    )
    choice = basemaps.choose(view().basemap, config.basemap_settings())
    if choice.missing:
        st.info(
            t(
                choice.missing,
                lang_,
                signup=basemaps.TIANDITU_SIGNUP,
                env=basemaps.TIANDITU_KEY_ENV,
                url_env=basemaps.INTRANET_URL_ENV,
            )
        )
    elif choice.datum == "gcj02":
        st.caption(t("basemap.shifted", lang_))


def map_options(**overrides: Any) -> mapping.MapOptions:
    """Map options for the current view: language, colours, and the basemap resolved to tiles and a datum
    (a basemap that lacks its key or URL falls back to the offline base)."""
    current = view()
    choice = basemaps.choose(current.basemap, config.basemap_settings())
    usable = not choice.missing
    settings = {
        "lang": current.lang,
        "basemap": choice.id if usable else "none",
        "tiles": choice.tiles if usable else (),
        "datum": choice.datum if usable else "wgs84",
        "colour_by": current.colour_by,
        "registry": data.registry(),
    }
    return mapping.MapOptions(**{**settings, **overrides})


def report_ignored_url_params() -> None:
    ignored = st.session_state.pop("_url_ignored", None)
    if ignored:
        st.toast(t("app.url_ignored", lang(), params=", ".join(ignored)))


def thresholds() -> progress.Thresholds:
    """Plan-versus-actual thresholds a planner set on the dashboard (session-wide; the map uses them too)."""
    return st.session_state.get("_thresholds", progress.Thresholds())


def threshold_widgets() -> progress.Thresholds:
    lang_, current = lang(), thresholds()
    yellow, red = st.slider(
        t("dashboard.thresholds", lang_),
        min_value=0,
        max_value=100,
        value=(int(current.yellow), int(current.red)),
        step=5,
        key=f"thresholds_{lang_}",
    )
    st.session_state["_thresholds"] = progress.Thresholds(float(yellow), float(red)).valid()
    return thresholds()


def apply_saved_view(query: dict[str, str], view_id: str) -> None:
    """Switch to a saved view (its filters, dates, extent ...), keeping the language; rebuilds the filter widgets."""
    parsed, _ = viewstate.from_query(query, data.registry())
    set_view(replace(parsed, lang=lang(), view=view_id), rebuild_widgets=True)
