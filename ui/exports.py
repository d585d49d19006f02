"""Export downloads on the map page: a single-file HTML map, a PNG picture, a PDF meeting pack."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from ui import data, state, widgets
from urban_plan import export, mapping
from urban_plan.i18n import t
from urban_plan.viewstate import ViewState


def export_buttons(view: ViewState, layers: data.Layers, shown: pd.DataFrame, changed: pd.DataFrame) -> None:
    lang = view.lang
    stamp_line = widgets.view_caption(view, lang)

    def html() -> str:
        options = mapping.MapOptions(lang=lang, colour_by=view.colour_by, north_arrow=True)
        return export.standalone_html(
            layers.context,
            shown,
            options=options,
            title=t("app.title", lang),
            as_of_line=stamp_line,
            source_note=export.source_note(layers.versions, lang),
            changed=changed if view.compare else None,
            since=view.compare.isoformat() if view.compare else "",
        )

    stamp = (view.as_of or dt.date.today()).isoformat()
    with st.expander(t("exports.title", lang)):
        cols = st.columns(4)
        cols[0].download_button(
            t("exports.html", lang),
            data=lambda: html().encode("utf-8"),
            file_name=f"jiyang-map-{stamp}.html",
            mime="text/html",
            key="export_html",
        )
        try:
            export.find_chromium()
        except export.ExportError:
            cols[1].caption(t("exports.no_chromium", lang))
            return
        cols[1].download_button(
            t("exports.png", lang),
            data=lambda: export.png(html()),
            file_name=f"jiyang-map-{stamp}.png",
            mime="image/png",
            key="export_png",
        )
        paper = cols[2].radio(
            t("exports.paper", lang), ["a4", "a3"], horizontal=True, key="export_paper", format_func=str.upper
        )
        cols[3].download_button(
            t("exports.pdf", lang),
            data=lambda: export.meeting_pack(
                data.store(),
                on=view.as_of,
                since=view.compare,
                lang=lang,
                paper=paper,
                criteria=view.criteria,
                thresholds=state.thresholds(),
            ),
            file_name=f"jiyang-meeting-pack-{stamp}-{paper}.pdf",
            mime="application/pdf",
            key="export_pdf",
        )
