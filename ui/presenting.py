"""Presentation mode pieces: no Streamlit chrome, a large heading, stepping through saved views, managing them."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from typing import Any

import streamlit as st

from ui import data, state
from urban_plan import documents, problems, viewstate
from urban_plan.display import escape
from urban_plan.i18n import pick, t
from urban_plan.store import Actor, StoreError, VersionInfo

# Projector: no sidebar, header or toolbar; the map gets the room. High contrast, large type.
_CHROME_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], header[data-testid="stHeader"],
[data-testid="stToolbar"], [data-testid="stDecoration"] { display: none !important; }
[data-testid="stMainBlockContainer"] { padding: 0.6rem 1.2rem 0.4rem 1.2rem; max-width: 100%; }
.up-present-title { font-size: 2.1rem; font-weight: 800; color: #111; line-height: 1.2; }
.up-present-line { font-size: 1.15rem; color: #222; }
.up-present-step { font-size: 1rem; color: #555; }
</style>
"""


def hide_chrome() -> None:
    st.html(_CHROME_CSS)


def heading(title: str, line: str, step: str, lang: str) -> None:
    del lang
    st.html(
        f'<div class="up-present-title">{escape(title)}</div>'
        f'<div class="up-present-line">{escape(line)} <span class="up-present-step">{escape(step)}</span></div>'
    )


def position(views: list[dict[str, Any]], current: str | None) -> str:
    ids = [v["id"] for v in views]
    return f"{ids.index(current) + 1} / {len(ids)}" if current in ids else (f"– / {len(ids)}" if ids else "")


def open_requested_view(views: list[dict[str, Any]]) -> None:
    """A link with ?view=<id> opens that saved view once (later changes of the filters are the presenter's)."""
    wanted = state.view().view
    if wanted and st.session_state.get("_opened_view") != wanted:
        match = next((v for v in views if v["id"] == wanted), None)
        st.session_state["_opened_view"] = wanted
        if match:
            state.apply_saved_view(match["query"], match["id"])


def step_buttons(views: list[dict[str, Any]], lang: str) -> None:
    """Previous / next saved view: arrow keys, PageUp/PageDown (what presenter clickers send), or a click."""
    if not views:
        st.caption(t("present.no_views", lang))
        return
    ids = [v["id"] for v in views]
    current = state.view().view
    index = ids.index(current) if current in ids else -1
    cols = st.columns([1, 1, 1, 1, 4])
    moves = [
        (cols[0], "prev", "Left", -1, t("present.prev", lang)),
        (cols[1], "next", "Right", 1, t("present.next", lang)),
        (cols[2], "prev_page", "PageUp", -1, "PgUp"),
        (cols[3], "next_page", "PageDown", 1, "PgDn"),
    ]
    for column, key, shortcut, step, text in moves:
        if column.button(text, key=f"step_{key}", shortcut=shortcut):
            target = views[max(0, min(len(views) - 1, index + step if index >= 0 else 0))]
            st.session_state["_opened_view"] = target["id"]
            state.apply_saved_view(target["query"], target["id"])
            st.rerun()
    cols[4].page_link("app_pages/map.py", label=t("present.exit", lang), icon=":material/close_fullscreen:")


def manage_views(saved: dict[str, Any] | None, version: VersionInfo | None, actor: Actor, lang: str) -> None:
    """Editors save the current view (title, layers, filters, dates, extent) and meeting dates; versioned."""
    doc = saved or documents.empty_views()
    with st.expander(t("present.manage", lang)):
        title_zh = st.text_input(t("present.title_zh", lang), max_chars=200, key="view_title_zh")
        title_en = st.text_input(t("present.title_en", lang), max_chars=200, key="view_title_en")
        if st.button(t("present.save_view", lang), disabled=not title_zh.strip(), key="save_view"):
            view_id = _new_id(title_en or title_zh, {v["id"] for v in doc["views"]})
            query = viewstate.to_query(replace(state.view(), view=None, lang="zh"))
            entry = {
                "id": view_id,
                "title_zh": title_zh.strip(),
                "title_en": title_en.strip() or title_zh.strip(),
                "query": query,
            }
            _publish({**doc, "views": [*doc["views"], entry]}, version, actor, lang, "present.view_saved")
        meeting = st.date_input(
            t("present.meeting", lang), value=dt.date.today(), max_value=dt.date.today(), key="meeting_date"
        )
        if st.button(t("present.save_meeting", lang), key="save_meeting"):
            meetings = sorted({*doc.get("meetings", []), meeting.isoformat()})
            _publish({**doc, "meetings": meetings}, version, actor, lang, "present.meeting_saved")
        if doc["views"]:
            names = {v["id"]: pick(v["title_zh"], v["title_en"], lang) for v in doc["views"]}
            doomed = st.selectbox(
                t("present.delete_view", lang), list(names), format_func=names.__getitem__, key="delete_view"
            )
            if st.button(t("present.delete_button", lang), key="delete_view_button"):
                remaining = [v for v in doc["views"] if v["id"] != doomed]
                _publish({**doc, "views": remaining}, version, actor, lang, "present.view_deleted")


def _publish(doc: dict[str, Any], version: VersionInfo | None, actor: Actor, lang: str, done: str) -> None:
    try:
        saved = data.store().publish("views", doc, actor=actor, base_version=version.number if version else 0)
    except StoreError as exc:
        st.error(problems.store_message(exc, lang))
    else:
        st.success(t(done, lang, number=saved.number))
        st.rerun()


def _new_id(title: str, taken: set[str]) -> str:
    base = re.sub(r"[^0-9A-Za-z\u3400-\u9fff]+", "-", title).strip("-").lower()[:40] or "view"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate
