"""Progress dashboard: the 2023 targets beside the data, charts, and the plan-versus-actual rating."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from ui import auth, data, layout, state, widgets
from urban_plan import charts, dashboard, filters
from urban_plan.i18n import t

view = state.view()
lang = view.lang
on = view.as_of or dt.date.today()
layers = data.layers(view.as_of)
shown = filters.apply(layers.overlays, view.criteria, layers.registry)

layout.styles()
st.title(t("dashboard.title", lang))
widgets.plain(widgets.view_caption(view, lang))
widgets.kpi_cards(filters.kpis(shown, layers.registry), len(layers.overlays), lang)

st.subheader(t("dashboard.targets", lang))
targets, _ = data.document("targets", view.as_of)
widgets.target_cards(dashboard.target_cards(targets, shown, lang, layers.registry), lang)
actor = auth.current_actor()
if actor is not None and actor.may_write("targets"):
    widgets.targets_editor(actor, lang, viewing=view.as_of)  # edits the current version, whatever date is shown

st.subheader(t("dashboard.schedule", lang))
thresholds = state.threshold_widgets()
rated = filters.apply(data.rated(view.as_of, thresholds, lang), view.criteria, layers.registry)
behind, missing = st.columns(2)
for column, title, ratings, none in (
    (behind, "dashboard.behind_list", ("red", "yellow"), "dashboard.none_behind"),
    (missing, "dashboard.missing_list", ("missing",), "dashboard.none_missing"),
):
    with column:
        st.markdown(f"**{t(title, lang)}**")
        table = dashboard.schedule_table(rated, lang, ratings, layers.registry)
        if len(table):
            st.dataframe(table, hide_index=True, width="stretch")
        else:
            st.success(t(none, lang))

st.subheader(t("dashboard.charts", lang))
st.altair_chart(charts.progress_chart(rated, lang, layers.registry), width="stretch")
left, right = st.columns([1, 2])
left.altair_chart(charts.status_chart(shown, lang, layers.registry), width="stretch")
milestones = data.milestones(layers.registry.progress_layers(), lang, until=on)
right.altair_chart(charts.gantt_chart(rated, milestones, on, lang, layers.registry), width="stretch")
# The dashboard follows the works: the versions it names are those of the layers that track progress
widgets.provenance({k: v for k, v in layers.versions.items() if k in layers.registry.progress_layers()}, lang)
