"""Presentation mode pieces: no Streamlit chrome, a large heading, stepping through saved views, managing them."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from functools import partial
from typing import Any

import streamlit as st

from ui import data, state, widgets
from urban_plan import documents, viewstate
from urban_plan.display import escape
from urban_plan.i18n import pick, t
from urban_plan.store import Actor

# Projector: no sidebar, header or toolbar; the map gets the room. High contrast, large type that grows with the
# screen (the sizes of the heading, map and step bar themselves are in static/app/layout.css).
_CHROME_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], header[data-testid="stHeader"],
[data-testid="stToolbar"], [data-testid="stDecoration"] { display: none !important; }
[data-testid="stMainBlockContainer"] { padding: 0.5rem 1.2rem 0.5rem 1.2rem; max-width: 100%; }
.up-present-title { font-size: clamp(1.3rem, 0.6rem + 1.9vw, 2.6rem); font-weight: 800; color: #111;
  line-height: 1.2; }
.up-present-line { font-size: clamp(0.95rem, 0.7rem + 0.6vw, 1.5rem); color: #222; line-height: 1.35; }
.up-present-step { font-size: 0.9em; color: #444; white-space: nowrap; }
</style>
"""

# A swipe left or right on the page (heading or step bar; one finger on the map still pans it) steps the views on a
# phone, through the same buttons a click would press. Our own fixed script, no data; added once per page.
_SWIPE_JS = """
<script>
(function () {
  if (window.__upSwipe) { return; }
  window.__upSwipe = true;
  var start = null;
  document.addEventListener('touchstart', function (event) {
    var touch = event.touches[0];
    start = event.touches.length === 1 ? {x: touch.clientX, y: touch.clientY, t: Date.now()} : null;
  }, {passive: true});
  document.addEventListener('touchend', function (event) {
    if (!start) { return; }
    var touch = event.changedTouches[0];
    var dx = touch.clientX - start.x, dy = touch.clientY - start.y, quick = Date.now() - start.t < 900;
    start = null;
    if (!quick || Math.abs(dx) < 50 || Math.abs(dx) < 2 * Math.abs(dy)) { return; }
    var button = document.querySelector(dx < 0 ? '.st-key-step_next button' : '.st-key-step_prev button');
    if (button && !button.disabled) { button.click(); }
  }, {passive: true});
})();
</script>
"""


def hide_chrome() -> None:
    st.html(_CHROME_CSS)


def heading(title: str, line: str, step: str, lang: str) -> None:
    del lang
    st.html(
        f'<h1 class="up-present-title">{escape(title)}</h1>'
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
    """Previous / next saved view (arrow keys, PageUp/PageDown from a presenter clicker, a click or a swipe) and the
    way out (Esc), in one row that stays on screen. The way out is there also before any view is saved."""
    ids = [v["id"] for v in views]
    current = state.view().view
    index = ids.index(current) if current in ids else -1
    moves = [
        ("prev", "Left", -1, t("present.prev", lang)),
        ("next", "Right", 1, t("present.next", lang)),
        ("prev_page", "PageUp", -1, t("present.prev_page", lang)),
        ("next_page", "PageDown", 1, t("present.next_page", lang)),
    ]
    with st.container(key="up-steps", horizontal=True, vertical_alignment="center", gap="small"):
        for key, shortcut, step, text in moves if views else []:
            if st.button(text, key=f"step_{key}", shortcut=shortcut):
                target = views[max(0, min(len(views) - 1, index + step if index >= 0 else 0))]
                st.session_state["_opened_view"] = target["id"]
                state.apply_saved_view(target["query"], target["id"])
                st.rerun()
        if not views:
            st.html(f'<div class="up-present-note">{escape(t("present.no_views", lang))}</div>')
        else:  # shown on touch screens only (layout.css)
            st.html(f'<div class="up-swipe-hint">{escape(t("layout.swipe_hint", lang))}</div>')
        if st.button(
            t("present.exit", lang), key="present_exit", shortcut="Escape", icon=":material/close_fullscreen:"
        ):
            st.switch_page("app_pages/map.py")


def swipe_steps() -> None:
    st.html(_SWIPE_JS, unsafe_allow_javascript=True)


_VIEW_INPUTS = ("view_title_zh", "view_title_en", "delete_view")  # cleared once their change is saved
_VIEW_BUTTONS = ("save_view", "save_meeting", "delete_view_button", "views_save_merged")


def manage_views(actor: Actor, lang: str) -> None:
    """Editors save the current view (title, layers, filters, dates, extent) and meeting dates. Like the targets,
    the edit applies to the current version of the views whatever date is shown, keeps the version it was made
    on, and a save on a newer version is held back with who saved what in between."""
    widgets.show_saved_message("views")
    pending = (
        bool(str(st.session_state.get("view_title_zh") or "").strip())
        or st.session_state.get("delete_view") is not None
        or any(st.session_state.get(key) for key in _VIEW_BUTTONS)
        or widgets.has_conflict("views")
    )
    base = widgets.document_base("views", editing=pending, empty=documents.empty_views())
    doc = base["doc"]
    save = partial(widgets.save_document, "views", base, actor, lang, clear=_VIEW_INPUTS)
    with st.expander(t("present.manage", lang)):
        title_zh = st.text_input(t("present.title_zh", lang), max_chars=200, key="view_title_zh")
        title_en = st.text_input(t("present.title_en", lang), max_chars=200, key="view_title_en")
        if st.button(t("present.save_view", lang), disabled=not title_zh.strip(), key="save_view"):
            latest, _ = data.document("views")  # an id nobody took since, so my view never replaces theirs
            taken = {v["id"] for v in [*doc["views"], *(latest or {}).get("views", [])]}
            entry = {
                "id": _new_id(title_en or title_zh, taken),
                "title_zh": title_zh.strip(),
                "title_en": title_en.strip() or title_zh.strip(),
                "query": viewstate.to_query(replace(state.view(), view=None, lang="zh")),
            }
            save({**doc, "views": [*doc["views"], entry]}, done="present.view_saved")
        meetings = doc.get("meetings", [])
        st.caption(
            t("docedit.meetings", lang, dates=", ".join(meetings)) if meetings else t("docedit.no_meetings", lang)
        )
        meeting = st.date_input(
            t("present.meeting", lang), value=dt.date.today(), max_value=dt.date.today(), key="meeting_date"
        )
        if st.button(t("present.save_meeting", lang), key="save_meeting"):
            save({**doc, "meetings": sorted({*meetings, meeting.isoformat()})}, done="present.meeting_saved")
        if doc["views"]:
            names = {v["id"]: pick(v["title_zh"], v["title_en"], lang) for v in doc["views"]}
            # No default choice: a list that changed under the user can never turn into deleting another view.
            doomed = st.selectbox(
                t("present.delete_view", lang),
                list(names),
                index=None,
                format_func=names.__getitem__,
                placeholder=t("docedit.choose_view", lang),
                key="delete_view",
            )
            if st.button(t("present.delete_button", lang), disabled=doomed is None, key="delete_view_button"):
                remaining = [v for v in doc["views"] if v["id"] != doomed]
                save({**doc, "views": remaining}, done="present.view_deleted")
    conflict = widgets.document_conflict("views", base, None, lang, clear=_VIEW_INPUTS)
    if conflict:
        save(conflict["mine"], done=conflict["done"], confirm=True)


def _new_id(title: str, taken: set[str]) -> str:
    base = re.sub(r"[^0-9A-Za-z\u3400-\u9fff]+", "-", title).strip("-").lower()[:40] or "view"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate
