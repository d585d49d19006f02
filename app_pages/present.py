"""Presentation mode: the map full screen for a projector, saved views stepped with arrow keys or a clicker."""

from __future__ import annotations

import streamlit as st

from ui import auth, data, layout, presenting, state, widgets
from urban_plan.i18n import pick, t

presenting.hide_chrome()
layout.styles()
view = state.view()
lang = view.lang
saved, _ = data.document("views")
views = (saved or {}).get("views", [])
presenting.open_requested_view(views)
view = state.view()

options = state.map_options(presentation=True, forward_keys=True, url_extent=True)
drawn = data.map_data(data.layers(view.as_of), view.as_of, view.criteria, state.thresholds(), options)
current = next((v for v in views if v["id"] == view.view), None)
title = pick(current["title_zh"], current["title_en"], lang) if current else t("present.title", lang)

# Heading, map and step bar fill the screen exactly (layout.css): the map takes what the other two leave, so the
# height given here is only the first paint's.
with st.container(key="up-present"):
    presenting.heading(title, widgets.view_caption(view, lang), presenting.position(views, view.view), lang)
    widgets.planning_map(view, drawn, options, name="present", height=600, returned_objects=[])
    presenting.step_buttons(views, lang)
presenting.swipe_steps()
actor = auth.current_actor()
if actor is not None and actor.may_write("views"):
    presenting.manage_views(actor, lang)  # edits the current version
