"""Export downloads on the map page: a single-file HTML map, a PNG picture, a PDF meeting pack."""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import partial

import pandas as pd
import streamlit as st

from ui import data, state, widgets
from urban_plan import export, mapping, progress
from urban_plan.i18n import t
from urban_plan.registry import COLLECTION as REGISTRY
from urban_plan.render_queue import QueueFull, RenderQueue
from urban_plan.store import DATA_DIR_ENV, LayerStore
from urban_plan.viewstate import ViewState

_LOG = logging.getLogger(__name__)
POLL_S = 0.5  # how often a waiting page refreshes its place in line (and notices that the user moved on)
MAX_WAITING = 3  # renders that may wait behind the running one; more are told to try again shortly


@st.cache_resource(show_spinner=False)
def render_queue() -> RenderQueue:
    """The one queue of the server process: every session's PNG and PDF renders (each starts Chromium) go
    through it, so at most one Chromium runs at a time whoever asks."""
    return RenderQueue(max_waiting=MAX_WAITING, cache_entries=8)


@dataclass(frozen=True)
class Render:
    """One Chromium export: `key` names everything the bytes depend on, so equal keys share one render."""

    kind: str  # "png" or "pdf"
    key: Hashable
    job: Callable[[], bytes]
    file_name: str
    mime: str


def export_buttons(view: ViewState, layers: data.Layers, drawn: data.MapData, changed: pd.DataFrame) -> None:
    """HTML, PNG and PDF exports of what the map shows (`drawn`: its rows are taken only when a file is made)."""
    lang = view.lang
    stamp_line = widgets.view_caption(view, lang)

    def html() -> str:
        options = mapping.MapOptions(lang=lang, colour_by=view.colour_by, north_arrow=True, registry=layers.registry)
        return export.standalone_html(
            layers.context,
            drawn.shown,
            options=options,
            title=t("app.title", lang),
            as_of_line=stamp_line,
            source_note=export.source_note(layers.versions, lang, layers.registry),
            registry=layers.registry,
            changed=changed if view.compare else None,
            since=view.compare.isoformat() if view.compare else "",
        )

    stamp = (view.as_of or dt.date.today()).isoformat()
    # Everything a render reads is taken here, in the script's run: the job runs later on the queue's thread.
    store, thresholds = data.store(), state.thresholds()
    same = (_data_key(store, layers, view), lang, stamp, view.compare, repr(view.criteria), repr(thresholds))
    png = Render(
        "png",
        ("png", *same, view.colour_by, view.basemap, stamp_line),
        lambda: export.png(html()),
        f"jiyang-map-{stamp}.png",
        "image/png",
    )

    def pdf(paper: str) -> Render:
        return Render(
            "pdf",
            ("pdf", *same, paper),
            lambda: export.meeting_pack(
                store,
                on=view.as_of,
                since=view.compare,
                lang=lang,
                paper=paper,
                criteria=view.criteria,
                thresholds=thresholds,
            ),
            f"jiyang-meeting-pack-{stamp}-{paper}.pdf",
            "application/pdf",
        )

    _export_panel(lambda: html().encode("utf-8"), f"jiyang-map-{stamp}.html", png, pdf, lang)


def _export_panel(
    html_file: Callable[[], bytes], html_name: str, png: Render, pdf: Callable[[str], Render], lang: str
) -> None:
    """The exports, in a dialog opened by one button: a map page run sends one element for them instead of seven,
    and a click inside the dialog (a render, the paper size) reruns only the dialog."""
    st.button(t("exports.title", lang), key="export_open", icon=":material/download:", on_click=_opened, args=(True,))
    if st.session_state.get(_OPEN):  # open until dismissed: a run of the whole page (a render's) keeps it open
        _DIALOGS[lang](html_file, html_name, png, pdf, lang)


_OPEN = "_exports_open"


def _opened(value: bool) -> None:
    st.session_state[_OPEN] = value


def _export_choices(
    html_file: Callable[[], bytes], html_name: str, png: Render, pdf: Callable[[str], Render], lang: str
) -> None:
    with st.container(horizontal=True, gap="medium", vertical_alignment="bottom"):  # one row; wraps on a phone
        st.download_button(
            t("exports.html", lang),
            data=html_file,
            file_name=html_name,
            mime="text/html",
            key="export_html",
            on_click="ignore",
        )
        try:
            export.find_chromium()
        except export.ExportError:
            st.caption(t("exports.no_chromium", lang))
            return
        _chromium_export(png, lang)
        paper = st.radio(
            t("exports.paper", lang), ["a4", "a3"], horizontal=True, key="export_paper", format_func=str.upper
        )
        _chromium_export(pdf(paper), lang)


# One dialog per language: its title is fixed when it is made.
_DIALOGS = {
    lang: st.dialog(t("exports.title", lang), width="large", on_dismiss=partial(_opened, False))(_export_choices)
    for lang in ("zh", "en")
}


def _chromium_export(render: Render, lang: str) -> None:
    """A finished render is a download; otherwise a button that puts the render in the queue and waits for it,
    showing the place in line. Never a deferred download: clients can request those directly and in parallel."""
    queue = render_queue()
    ready = queue.cached(render.key)
    if ready is None:
        if not st.button(t(f"exportqueue.make_{render.kind}", lang), key=f"export_{render.kind}"):
            return
        ready = _wait_for(queue, render, lang)
        if ready is None:
            return
    st.download_button(
        t(f"exportqueue.download_{render.kind}", lang),
        data=ready,
        file_name=render.file_name,
        mime=render.mime,
        key=f"export_{render.kind}_file",
        on_click="ignore",
    )


def _wait_for(queue: RenderQueue, render: Render, lang: str) -> bytes | None:
    status = st.empty()
    try:
        ticket = queue.submit(render.key, render.job)
    except QueueFull as full:
        status.warning(t("exportqueue.busy", lang, waiting=full.waiting))
        return None
    started = time.monotonic()
    try:
        # Rewriting the status each poll also lets Streamlit stop this run when the user does something else.
        while not ticket.wait(POLL_S):
            position, seconds = ticket.position(), int(time.monotonic() - started)
            if position:
                status.info(t("exportqueue.waiting", lang, position=position, seconds=seconds))
            else:
                status.info(t("exportqueue.rendering", lang, seconds=seconds))
        result = ticket.result()
    except export.ExportError as exc:
        status.error(exc.message(lang))
        return None
    except Exception:
        _LOG.exception("%s export failed", render.kind)
        status.error(t("exportqueue.failed", lang))
        return None
    finally:
        ticket.release()
    status.empty()
    return result


def _data_key(store: LayerStore, layers: data.Layers, view: ViewState) -> tuple:
    """The data versions an export reads: the layers shown (already known to the page), the targets table, the
    layer registry (names, order, fields), and, with a comparison date, the versions in effect then; plus the data
    directory."""
    targets = store.effective("targets", view.as_of) if view.as_of else store.current("targets")
    versions = {**layers.versions, "targets": targets, REGISTRY: store.current(REGISTRY)}
    if view.compare:
        versions.update({f"since:{k}": v for k, v in progress.state_on(store, view.compare).items()})
    parts = tuple(sorted((name, v.number, v.sha256) if v else (name, 0, "") for name, v in versions.items()))
    return (os.environ.get(DATA_DIR_ENV, ""), parts)
