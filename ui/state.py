"""The shared view (language + filters) in session state, seeded from and mirrored to the URL."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
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
# User keys that carry the generation: f"{name}_{lang}_{generation}" (filter_widgets, time_controls).
_GENERATION_KEY = re.compile(r"^(?:f_\w+|asof|compare|colour|reset)_[a-z]{2}_(\d+)$")


def view() -> ViewState:
    """The current view; on a session's first run it comes from the URL (untrusted, parsed and clamped)."""
    if _VIEW not in st.session_state:
        # Checked against the layers in force: a link to an archived layer or a field since removed loses that part.
        state, ignored = viewstate.from_query(st.query_params.to_dict(), data.registry())
        st.session_state[_VIEW] = state
        st.session_state["_url_ignored"] = ignored
        st.session_state["_fresh_session"] = True
        # A page that reconnects to a new server session sends its widgets' values under the keys of its last
        # run: carry on with that generation, so those values meet their widgets (see _bound).
        st.session_state[_GENERATION] = _generation_in_browser()
    return st.session_state[_VIEW]


def _generation_in_browser() -> int:
    """The widget generation of the page's last run, from the widget values the browser sent with a new
    session's first run (0 on a first visit: it sends none). Streamlit offers no public view of values not yet
    matched to a widget, so this reads its private store (checked on 1.67, which requirements.txt pins); should
    that move, it says 0 and a page reconnecting after a reset keeps the view of its address bar (consistent,
    but the one change made while disconnected is not applied)."""
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        widget_ids = list(get_script_run_ctx().session_state._state._new_widget_state.states)  # type: ignore[union-attr]
    except Exception:  # a private API: any failure means "unknown"
        return 0
    # A keyed widget's id is "$$ID-<hash>-<user key>".
    keys = (widget_id.split("-", 2)[-1] for widget_id in widget_ids)
    return max((int(m.group(1)) for key in keys if (m := _GENERATION_KEY.match(key))), default=0)


def _bound(widget: Callable[..., Any], key: str, apply: Callable[[Any], ViewState], *args: Any, **kwargs: Any) -> Any:
    """A widget bound to the view: `apply(value)` is the view with the widget's value in it.

    A change normally reaches the view through on_change. But a page that reconnects to a new server session
    (the server restarted, or the session TTL passed while a laptop slept) sends, with the user's next change,
    every widget's value and the address bar; the new session has no previous values, so no callback runs and
    the view (rebuilt from the address bar) lacks the change. So a widget new to this session (its key not yet in
    session state) whose value is not the one the view gave it adopts that value into the view, as the callback
    would. Widgets come before the page and sync_url(), so the map and the address bar follow in the same run.
    A widget the session already has is left alone (its callback ran); a rebuilt one (new language or generation)
    gets no browser value, so it returns the view's."""
    fresh = key not in st.session_state

    def changed() -> None:
        if _acceptable(st.session_state[key], kwargs):
            set_view(apply(st.session_state[key]))

    value = widget(*args, key=key, on_change=changed, **kwargs)
    if fresh and _acceptable(value, kwargs) and not _same(value, _given(kwargs)):
        set_view(apply(value))
    return value


def _given(kwargs: dict[str, Any]) -> Any:
    """The value a widget was told to show: multiselect default, radio/selectbox index, else value."""
    if "default" in kwargs:
        return kwargs["default"]
    if "index" in kwargs:
        return kwargs["options"][kwargs["index"]]
    return kwargs["value"]


def _same(value: Any, given: Any) -> bool:
    """Equal as the user sees it: a multiselect's picks in any order (every layer picked in another order is
    still "every layer", not a narrower filter)."""
    if isinstance(given, list):
        return isinstance(value, list) and set(value) == set(given)
    return value == given


def _acceptable(value: Any, kwargs: dict[str, Any]) -> bool:
    """Streamlit passes a browser value that is none of the options through as is: never let one into the view.
    Sliders and date inputs are held to their bounds by Streamlit."""
    options = kwargs.get("options")
    if options is None:
        return True
    return all(item in options for item in value) if isinstance(value, list) else value in options


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
    names, before = {"zh": "中文", "en": "English"}, lang()
    _bound(
        st.radio,
        "lang_choice",
        lambda value: replace(view(), lang=value),
        t("app.language", before),
        options=list(names),
        index=list(names).index(before),
        format_func=names.__getitem__,
        horizontal=True,
    )
    if lang() != before:  # adopted from a reconnecting page: the navigation above was titled in the old language
        st.rerun()


def filter_widgets(kinds_available: list[str]) -> None:
    """The shared progress filters (sidebar). Widget keys carry language and generation: a language switch or a
    reset builds fresh widgets from the view instead of fighting the old ones' state."""
    state, lang_ = view(), lang()
    c = state.criteria
    suffix = f"{lang_}_{st.session_state.get(_GENERATION, 0)}"

    def bound(widget: Callable[..., Any], key: str, update: Callable[[Any], dict], *args: Any, **kwargs: Any) -> Any:
        """A filter widget: `update` turns its value into criteria fields."""

        def apply(value: Any) -> ViewState:
            return replace(view(), criteria=replace(view().criteria, **update(value)))

        return _bound(widget, f"f_{key}_{suffix}", apply, *args, **kwargs)

    registry = data.registry()
    overlays = list(registry.overlays())
    bound(
        st.multiselect,
        "layers",
        # Every layer chosen is "no layer filter": a layer added later then shows too.
        lambda v, all_=frozenset(overlays): {"layers": None if set(v) >= all_ else frozenset(v)},
        t("filters.layers", lang_),
        options=overlays,
        default=[name for name in overlays if c.shows_layer(name)],
        format_func=lambda code: registry.name(code, lang_),
    )
    # view(), not c: a reconnecting page's layer choice may just have been adopted.
    _enum_field_filters(registry, [name for name in overlays if view().criteria.shows_layer(name)], bound)
    tracked = [registry.name(name, lang_) for name in registry.progress_layers()]
    bound(
        st.multiselect,
        "status",
        lambda v: {"statuses": frozenset(v)},
        t("filters.status", lang_),
        options=list(schema.STATUSES),
        default=[s for s in schema.STATUSES if s in c.statuses],
        format_func=lambda code: label("status", code, lang_),
        help=t("maplayers.progress_only_help", lang_, layers=t("filters.list_separator", lang_).join(tracked) or "—"),
    )
    bound(
        st.slider,
        "progress",
        lambda v: {"progress_min": int(v[0]), "progress_max": int(v[1])},
        t("filters.progress", lang_),
        min_value=0,
        max_value=100,
        value=(c.progress_min, c.progress_max),
        step=5,
        format="%d%%",
    )
    bound(
        st.checkbox,
        "unrep",
        lambda v: {"include_unreported": bool(v)},
        t("filters.include_unreported", lang_),
        value=c.include_unreported,
    )
    with st.container(horizontal=True, gap="small"):  # side by side: one layout block (columns would be three)
        for field in ("end_from", "end_to"):
            bound(
                st.date_input,
                field,
                lambda v, field=field: {field: v},
                t(f"filters.{field}", lang_),
                value=getattr(c, field),
                min_value=dt.date(2015, 1, 1),
                max_value=dt.date(2040, 12, 31),
                format="YYYY-MM-DD",
            )
    st.caption(t("filters.end_hint", lang_))
    bound(
        st.checkbox,
        "undated",
        lambda v: {"include_undated": bool(v)},
        t("filters.include_undated", lang_),
        value=c.include_undated,
    )
    options = sorted(set(kinds_available) | set(c.kinds or ()))
    bound(
        st.multiselect,
        "kinds",
        lambda v, all_=frozenset(options): {"kinds": None if frozenset(v) >= all_ else frozenset(v)},
        t("filters.kinds", lang_),
        options=options,
        default=sorted(c.kinds) if c.kinds is not None else options,
        format_func=lambda code: label("kind", code, lang_),
    )
    bound(
        st.toggle,
        "approx",
        lambda v: {"show_approximate": bool(v)},
        t("filters.show_approximate", lang_),
        value=c.show_approximate,
    )
    bound(
        st.toggle,
        "ph",
        lambda v: {"show_placeholder": bool(v)},
        t("filters.show_placeholder", lang_),
        value=c.show_placeholder,
    )
    if not view().criteria.is_default() and st.button(t("filters.reset", lang_), key=f"reset_{suffix}"):
        set_view(replace(view(), criteria=Criteria()), rebuild_widgets=True)
        st.rerun()


def _enum_field_filters(registry: Any, layers: list[str], bound: Any) -> None:
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

            bound(
                st.multiselect,
                f"attr_{layer}_{spec.name}",
                update,
                t("maplayers.field_filter", lang_, layer=registry.name(layer, lang_), field=spec.label(lang_)),
                options=values,
                default=[v for v in values if chosen is None or v in chosen],
                format_func=lambda value, spec=spec: spec.option_label(value, lang_),
            )


def time_controls() -> None:
    """As-of date, compare date, colour by status or rating: shared by the map, dashboard and presentation."""
    lang_, state = lang(), view()
    suffix = f"{lang_}_{st.session_state.get(_GENERATION, 0)}"
    first, today = dt.date(2023, 1, 1), dt.date.today()

    for field, key in (("as_of", "asof"), ("compare", "compare")):
        _bound(
            st.date_input,
            f"{key}_{suffix}",
            lambda value, field=field: replace(view(), **{field: value}),
            t(f"time.{key}", lang_),
            value=getattr(state, field),
            min_value=first,
            max_value=today,
            help=t(f"time.{key}_help", lang_),
            format="YYYY-MM-DD",  # 年-月-日, as Chinese documents write dates; the picker itself has no locale
        )
    # Streamlit 1.67's date picker has no locale option (streamlit/streamlit#12699): say in words what empty means.
    st.caption(t("time.date_hint", lang_))
    modes = list(viewstate.COLOUR_MODES)
    _bound(
        st.radio,
        f"colour_{suffix}",
        lambda value: replace(view(), colour_by=value),
        t("time.colour_by", lang_),
        options=modes,
        index=modes.index(state.colour_by),
        horizontal=True,
        format_func=lambda m: t(f"time.colour_{m}", lang_),
    )


def basemap_choice() -> None:
    lang_ = lang()
    _bound(
        st.selectbox,
        f"basemap_{lang_}",
        lambda value: replace(view(), basemap=value),
        t("basemap.label", lang_),
        options=list(viewstate.BASEMAPS),
        index=list(viewstate.BASEMAPS).index(view().basemap),
        format_func=lambda code: t(f"basemap.{code}", lang_),
        help=t("basemap.help", lang_),
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
