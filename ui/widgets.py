"""Small pieces several pages show: KPI cards, the feature details panel, the data-provenance line."""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any, NoReturn

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from ui import data, state
from urban_plan import dashboard, diff, display, editing, filters, frame, mapping, problems, publishing, schema
from urban_plan.display import escape
from urban_plan.i18n import label, t
from urban_plan.registry import Registry
from urban_plan.store import Actor, ConflictError, StoreError, VersionInfo
from urban_plan.viewstate import ViewState

LEAVE_OUT = "-"  # ingest's field_map value for a column left out on purpose (None keeps it as an attribute)
_CHOICES = {"": "uploadpage.kept", LEAVE_OUT: "uploadpage.left_out"}
PREVIEW_CENTRE, PREVIEW_ZOOM = (37.01, 117.16), 10


def kpi_cards(k: filters.Kpis, total: int, lang: str) -> None:
    """The KPI strip: `k` = filters.kpis of the features shown (status counts: layers that track progress), `total`
    the overlay features there are."""
    # One HTML element, not six st.metric in columns (14 elements, each a message per run: issue 11). The layout
    # stylesheet (static/app/layout.css, "KPI strip") lays it out: labels wrap, values shrink with the room, a
    # compact 3 x 2 strip when narrow. Each "?" is a button (a Tab stop) whose help shows on hover and focus and is
    # its accessible description. Hooks for tests: data-kpi on each card, .up-kpi-name and .up-kpi-value.
    cards = [
        ("shown", t("kpi.shown", lang), f"{k.shown}", t("kpi.shown_help", lang, total=total)),
        (
            "five_projects",
            t("kpi.five_projects", lang),
            t("kpi.money", lang, yi=f"{schema.FIVE_PROJECTS_TOTAL_YI:g}", bn=f"{schema.FIVE_PROJECTS_TOTAL_YI / 10:g}"),
            t("kpi.five_projects_help", lang, source=schema.ARTICLE_SOURCE),
        ),
        (
            "mean_progress",
            t("kpi.mean_progress", lang),
            dashboard.mean_progress_text(k, lang),
            t("kpi.mean_progress_help", lang, n=k.reported, total=k.works),
        ),
        *(
            (status, label("status", status, lang), f"{k.by_status[status]}", t("kpi.status_help", lang))
            for status in schema.STATUSES
        ),
    ]
    items = "".join(
        f'<li class="up-kpi" data-kpi="{escape(key)}"><div class="up-kpi-label">'
        f'<span class="up-kpi-name">{escape(name)}</span><button type="button" class="up-kpi-q"'
        f' aria-label="{escape(t("kpistrip.about", lang, name=name))}" aria-describedby="up-kpi-help-{escape(key)}">'
        f'?</button><span class="up-kpi-help" id="up-kpi-help-{escape(key)}" role="tooltip">{escape(help_text)}</span>'
        f'</div><div class="up-kpi-value">{escape(value)}</div></li>'
        for key, name, value, help_text in cards
    )
    notes = dashboard.kpi_notes(k, lang)  # why a figure reads empty or zero, on the page and not only in a tooltip
    notes_html = f'<p class="up-kpi-notes">{escape(" ".join(notes))}</p>' if notes else ""
    st.html(
        f'<div class="up-kpis"><ul class="up-kpi-list" aria-label="{escape(t("kpistrip.figures", lang))}">'
        f"{items}</ul>{notes_html}</div>"
    )


def feature_details(row: pd.Series | None, lang: str, registry: Registry | None = None) -> None:
    """Details of the clicked feature as escaped HTML (data never goes through Markdown)."""
    if row is None:
        st.info(t("map.click_hint", lang))
        return
    data = display.clean(row.to_dict())
    tag = display.confidence_tag(data.get("confidence"), lang)
    rows = "".join(
        f"<tr><th>{escape(key)}</th><td>{escape(value)}</td></tr>"
        for _, key, value in mapping.details_rows(data, lang, registry)  # canonical fields, then the layer's own
    )
    warning_key = f"confidence_warning.{data.get('confidence')}"
    warning = f'<p class="up-warn">{escape(t(warning_key, lang))}</p>' if tag else ""
    colour, status_line = mapping.status_line(data, lang, registry)
    st.html(
        f"""<div class="up-details">
        <div class="up-details-name">{escape(display.name(data, lang))}
          {f'<span class="up-tag">{escape(tag)}</span>' if tag else ""}</div>
        <div class="up-details-status" style="border-left:6px solid {escape(colour)}">{status_line}</div>
        <table>{rows}</table>{warning}</div>
        <style>
        .up-details {{ font-size: 0.92rem; }}
        .up-details-name {{ font-size: 1.15rem; font-weight: 700; margin-bottom: .3rem; }}
        .up-details-status {{ padding-left: .5rem; margin-bottom: .5rem; }}
        .up-details th {{ text-align: left; color: #555; padding: 2px 8px 2px 0; vertical-align: top;
          white-space: nowrap; font-weight: 600; }}
        .up-details td {{ padding: 2px 0; word-break: break-word; }}
        .up-tag {{ font-size: .75rem; border: 1px dashed #8a1c1c; color: #8a1c1c; padding: 0 4px;
          border-radius: 3px; margin-left: 6px; vertical-align: middle; }}
        .up-warn {{ color: #8a1c1c; font-size: .85rem; margin-top: .5rem; }}
        </style>"""
    )


def provenance(versions: dict[str, VersionInfo | None], lang: str) -> None:
    """Which version of each layer is on screen, as of when: so a screenshot says what it shows."""
    layers = data.registry()
    parts = [
        t("app.layer_version", lang, layer=layers.name(layer, lang), number=v.number, as_of=v.as_of)
        if v
        else t("app.layer_missing", lang, layer=layers.name(layer, lang))
        for layer, v in versions.items()
    ]
    # Escaped, not Markdown: layer names are data. One element for both lines (each element costs every run).
    lines = (" · ".join(parts), t("app.geometry_warning", lang))
    st.html(
        '<div class="up-provenance" style="color:#55575f;font-size:0.875rem;line-height:1.6">'
        + "".join(f'<p style="margin:0 0 .35rem 0">{escape(line)}</p>' for line in lines)
        + "</div>"
    )


def find_feature(frames: list[pd.DataFrame], layer: str, fid: str) -> pd.Series | None:
    for part in frames:
        if len(part):
            match = part[(part["layer"] == layer) & (part["id"] == fid)]
            if len(match):
                return match.iloc[0]
    return None


def plain(text: str, *, muted: bool = True) -> None:
    """Text that may contain data (file names, CRS names, messages) shown without Markdown: escaped HTML."""
    colour = "color: #55575f; font-size: 0.875rem;" if muted else ""
    st.html(f'<div style="{colour}">{escape(text)}</div>')


def field_mapping_editor(source_fields: list[str], field_map: dict[str, str | None], key: str, lang: str) -> dict:
    """What each source column becomes, as an editable table: a canonical field, an attribute kept under its own
    name (the default for columns the app does not know), or left out on purpose ("-")."""
    table = pd.DataFrame({"source": source_fields, "target": [field_map.get(f) or "" for f in source_fields]})
    edited = st.data_editor(
        table,
        column_config={
            "source": st.column_config.TextColumn(t("upload.source_field", lang), disabled=True),
            "target": st.column_config.SelectboxColumn(
                t("uploadpage.becomes", lang),
                options=["", LEAVE_OUT, *schema.FIELDS],
                format_func=lambda f: t(_CHOICES[f], lang) if f in _CHOICES else label("field", f, lang),
            ),
        },
        hide_index=True,
        num_rows="fixed",
        key=key,
        width="stretch",
    )
    return {row.source: (row.target or None) for row in edited.itertuples()}


def planning_map(
    view: ViewState,
    drawn: data.MapData,
    options: mapping.MapOptions,
    *,
    name: str,
    height: int,
    returned_objects: list[str],
) -> dict | None:
    """The planning map of the map and presentation pages: `drawn`'s overlays, and with a comparison date the
    changes since then. The map's strings are rendered once per data version and style, the overlay groups' once
    per selection (ui/map_component), so a run only sends them.

    Large layers' data reaches the browser once per data version: fetched by the map from serve.py's route
    (ui/map_data_routes.py), or without it carried by the page as inert data blocks (mapping.shared_data_html);
    filter changes send only which features to show. The map's key names the data, so new data remounts it,
    while filter changes only replace its overlay groups and keep the view."""
    from ui import map_component, map_data_routes

    current = drawn.layers
    context = data.prepared_context(current, view.as_of, options)
    routed = bool(drawn.shared) and map_data_routes.mounted()
    sources = map_data_routes.register(drawn.shared, options) if routed else {}  # before the map names them
    if drawn.shared and not routed:  # `streamlit run app.py`, AppTest: re-sent by Streamlit on every run (~8 ms/MB)
        st.html(mapping.shared_data_html(drawn.shared, options), unsafe_allow_javascript=True)  # inert JSON only

    def groups() -> list:
        made = mapping.prepared_overlay_groups(*drawn.groups_input, options)
        if view.compare:
            changed = data.changes(view.compare, view.as_of, options.lang, view.criteria)
            made.append(mapping.changes_group(changed, options, since=view.compare.isoformat()))
        if sources:
            lang = options.lang
            mapping.use_shared_sources(made, sources, t("mapdata.failed", lang), t("mapdata.retrying", lang))
        return made

    return map_component.show(
        base_key=f"{current.key}:{options.cache_key}",
        make_base=lambda: mapping.base_map(current.context, options, context),
        groups_key=data.digest(drawn.key, view.compare, data.layers(view.compare).key if view.compare else "", routed),
        make_groups=groups,
        make_layer_control=mapping.layer_control,
        key=f"{name}-{view.lang}-{view.basemap}-{view.colour_by}-{mapping.mount_key(context, *drawn.shared)}",
        center=(view.extent.lat, view.extent.lon) if view.extent else None,
        zoom=view.extent.zoom if view.extent else None,
        returned_objects=returned_objects,
        height=height,
    )


def change_preview(changes: diff.CollectionDiff, old: dict | None, new: dict, layer: str, lang: str) -> None:
    """An upload's changes: counts, the field-by-field table, and the map (added, changed, removed, unchanged)."""
    counts = changes.counts()
    for col, key in zip(st.columns(4), ("added", "removed", "changed", "total"), strict=True):
        col.metric(t(f"diff.{key}", lang), counts[key])
    if changes.is_empty:
        st.info(t("upload.no_changes", lang))
    else:
        st.dataframe(publishing.change_table(changes, lang), hide_index=True, width="stretch")
    old_frame = frame.collection_frame(old, layer) if old else frame.empty_frame()
    options = state.map_options(colour_by="status")
    changed_ids = {c.id: c.change for c in changes.rows()}
    groups = mapping.change_groups(old_frame, frame.collection_frame(new, layer), changed_ids, options)
    st_folium(
        mapping.base_map(data.layers().context, options),
        key=f"upload-map-{lang}",
        feature_group_to_add=groups,
        layer_control=mapping.layer_control(),
        # The district's centre and a zoom that shows it whole, set once the frame has its size: a fit made while
        # the frame is still being laid out (tables above it growing) leaves the preview at world zoom.
        center=PREVIEW_CENTRE,
        zoom=PREVIEW_ZOOM,
        returned_objects=[],
        use_container_width=True,
        height=480,
    )


def view_caption(view: ViewState, lang: str) -> str:
    """What is on screen, in one line: as-of date, comparison date, filters."""
    on = view.as_of.isoformat() if view.as_of else t("time.latest", lang, today=dt.date.today().isoformat())
    parts = [t("time.as_of_line", lang, on=on)]
    if view.compare:
        parts.append(t("time.compare_line", lang, since=view.compare.isoformat()))
    parts.append(filters.describe(view.criteria, lang, data.registry()))
    return " · ".join(parts)


def changes_table(changed: pd.DataFrame, since: dt.date, lang: str) -> None:
    st.subheader(t("map.changes_since", lang, since=since.isoformat(), count=len(changed)))
    if not len(changed):
        st.info(t("map.no_changes", lang))
        return
    table = pd.DataFrame(
        {
            t("field.name", lang): [display.name(display.clean(r), lang) for r in changed.to_dict("records")],
            t("field.layer", lang): [data.registry().name(v, lang) for v in changed["layer"]],
            t("map.change", lang): [label("change", v, lang) for v in changed["change"]],
            t("map.change_detail", lang): changed["detail"],
        }
    )
    st.dataframe(table, hide_index=True, width="stretch")


def target_cards(cards: list[dashboard.TargetCard], lang: str) -> None:
    """The article's targets, each beside what was reported and what the map's data says (escaped HTML)."""
    for column, card in zip(st.columns(len(cards) or 1), cards, strict=False):
        with column.container(border=True):
            st.html(
                f'<div class="up-card"><div class="up-card-label">{escape(card.label)}</div>'
                f'<div class="up-card-target">{escape(t("dashboard.target", lang))} {escape(card.target)}</div>'
                f'<div class="up-card-reported">{escape(card.reported)}</div>'
                f'<div class="up-card-data">{escape(card.data)}</div>'
                f'<div class="up-card-note">{escape(card.note)}</div></div>'
                "<style>.up-card-label{font-weight:700;font-size:1rem}.up-card-target{font-size:1.35rem;"
                "font-weight:600;margin:.2rem 0}.up-card-reported{color:#1f4e9c}.up-card-data{color:#444;"
                "font-size:.85rem;margin-top:.3rem}.up-card-note{color:#595959;font-size:.8rem;margin-top:.3rem}</style>"
            )


def targets_editor(actor: Actor, lang: str, viewing: dt.date | None = None) -> None:
    """Editors update the current targets table whatever date the time machine shows. The edit keeps the version
    it started from (session state): a rerun never rebuilds the table under it, a save on a newer version is
    refused with who saved what in between, and "saved" is said only once the stored version holds the edit."""
    show_saved_message("targets")
    pending = (
        _has_cell_edits(st.session_state.get(_targets_editor_key()))
        or bool(st.session_state.get("save_targets"))
        or has_conflict("targets")
    )
    base = document_base("targets", editing=pending)
    if base["doc"] is None:
        return
    if viewing is not None and viewing < dt.date.today():
        st.info(t("docedit.past_note", lang, on=viewing.isoformat(), number=base["shown"]))
    with st.expander(t("dashboard.edit_targets", lang)):
        table = pd.DataFrame(base["doc"]["rows"])
        table["reported_as_of"] = pd.to_datetime(table["reported_as_of"], errors="coerce").dt.date
        if "layer" not in table:  # tables saved before a row could name its layer
            table["layer"] = None
        layers = data.registry()
        edited = st.data_editor(
            table,
            disabled=["id"],
            hide_index=True,
            num_rows="fixed",
            key=_targets_editor_key(base["number"]),
            column_config={
                name: (
                    st.column_config.DateColumn(editing.field_name(name, lang), format="YYYY-MM-DD")
                    if name == "reported_as_of"
                    # which progress layer's features the dashboard counts beside the target (none: not counted)
                    else st.column_config.SelectboxColumn(
                        editing.field_name(name, lang),
                        options=list(layers.progress_layers()),
                        format_func=lambda code: layers.name(code, lang),
                        help=t("docedit.layer_help", lang),
                    )
                    if name == "layer"
                    else st.column_config.Column(editing.field_name(name, lang))
                )
                for name in table.columns
            },
        )
        message = st.text_input(t("upload.message", lang), key="targets_message", max_chars=500)
        save = st.button(t("dashboard.save_targets", lang), key="save_targets")
    mine = {"rows": editing.target_rows(edited.to_dict("records"))}
    done = partial(save_document, "targets", base, actor, lang, message=message, done="dashboard.targets_saved")
    if save:
        done(mine, clear=("targets_message",))
    if document_conflict("targets", base, mine, lang, clear=(_targets_editor_key(base["number"]),)):
        done(mine, clear=("targets_message",), confirm=True)  # the table as it is now, merged onto the latest


# Editing any versioned document (targets here, saved views in ui/presenting.py) --------------------------------

_BASE = "_doc_base_{}"  # {"number": latest version when the edit started, "doc"/"shown": the current one then}
_CONFLICT = "_doc_conflict_{}"  # {"latest": newer version shown to the user, "mine": edited document, "done": msg}
_SAVED = "_doc_saved_{}"  # (kind, text) to show after the rerun that follows a save


def document_base(name: str, *, editing: bool, empty: Any = None) -> dict[str, Any]:
    """The version an edit starts from, kept across reruns; re-read from the store only while nothing is edited,
    so an idle editor follows others' saves and an edit in progress keeps the base it was made on."""
    key = _BASE.format(name)
    latest = data.store().latest(name)
    number = latest.number if latest else 0
    base = st.session_state.get(key)
    if base is None or (not editing and base["number"] != number):
        doc, shown = data.document(name)  # in effect today (a backfilled old snapshot may be numbered later)
        base = {"number": number, "doc": doc if doc is not None else empty, "shown": shown.number if shown else 0}
        st.session_state[key] = base
    return base


def save_document(
    name: str,
    base: dict[str, Any],
    actor: Actor,
    lang: str,
    mine: Any,
    *,
    done: str,
    message: str = "",
    clear: tuple[str, ...] = (),
    confirm: bool = False,
) -> None:
    """Publish `mine` on the version it was edited from (or, once confirmed, merged onto the newer version the
    user was shown); read the stored version back and say "saved" only if it holds every change."""
    store = data.store()
    conflict = st.session_state.get(_CONFLICT.format(name))
    expected = conflict["latest"] if confirm and conflict else base["number"]
    latest = store.latest(name)
    number = latest.number if latest else 0
    if number != expected:
        _record_conflict(name, number, mine, done)
    doc = mine
    if number != base["number"]:
        current, _ = data.document(name)
        merged = editing.merge(name, base["doc"], mine, current)
        if merged.already_there:
            _finish(name, ("info", t("docedit.already_there", lang, number=number)), clear)
        doc = merged.doc
    try:
        saved = store.publish(name, doc, actor=actor, base_version=number, message=message)
    except ConflictError as exc:  # someone saved between the check above and the write: nothing was written
        _record_conflict(name, int(exc.params.get("latest", number)), mine, done)
    except StoreError as exc:
        st.error(_md(problems.store_message(exc, lang)))
        return
    lost = editing.missing(name, store.load(name, saved.number), base["doc"], mine)
    if lost:
        changes = "; ".join(editing.describe(name, c, (mine, base["doc"]), lang) for c in lost)
        st.error(_md(t("docedit.verify_failed", lang, number=saved.number, changes=changes)))
        return
    text = f"{t(done, lang, number=saved.number)} {t('docedit.verified', lang)}"
    _finish(name, ("success", text), clear)


def document_conflict(
    name: str, base: dict[str, Any], mine: Any, lang: str, clear: tuple[str, ...] = ()
) -> dict[str, Any] | None:
    """When a save met a newer version: who saved what since the edit's base (author, Beijing time, number), which
    of my changes they also changed, and the choice to save mine on top or drop them. Returns the conflict
    (`mine`: the edit, `done`: its message key) when the user chose to save on top; `mine=None`: the stored edit."""
    conflict = st.session_state.get(_CONFLICT.format(name))
    if not conflict:
        return None
    store = data.store()
    mine = conflict["mine"] if mine is None else mine
    lines = []
    for info in editing.since(store.history(name), base["number"]):
        before = store.load(name, info.base) if info.base else None
        lines.append(editing.describe_version(name, info, before, store.load(name, info.number), lang))
    current, _ = data.document(name)
    merged = editing.merge(name, base["doc"], mine, current)
    document = t(f"docedit.document.{name}", lang)
    text = t("docedit.conflict", lang, document=document, base=base["number"], latest=conflict["latest"])
    text += "\n\n" + "\n".join(f"- {_md(line)}" for line in lines)
    if merged.conflicts:
        both = [editing.describe_conflict(name, c, (mine, current, base["doc"]), lang) for c in merged.conflicts]
        text += "\n\n" + t("docedit.both_changed", lang) + "\n\n" + "\n".join(f"- {_md(line)}" for line in both)
    st.warning(text)
    left, right = st.columns(2)
    save = left.button(t("docedit.save_on_top", lang, number=conflict["latest"]), key=f"{name}_save_merged")
    if right.button(t("docedit.discard", lang, number=conflict["latest"]), key=f"{name}_discard"):
        _finish(name, None, clear)
    return conflict if save else None


def has_conflict(name: str) -> bool:
    """A save of this document met a newer version and waits for the user's choice."""
    return _CONFLICT.format(name) in st.session_state


def show_saved_message(name: str) -> None:
    """The outcome of the last save, shown after the rerun that put the saved version on screen."""
    saved = st.session_state.pop(_SAVED.format(name), None)
    if saved:
        getattr(st, saved[0])(_md(saved[1]))


def _record_conflict(name: str, latest: int, mine: Any, done: str) -> NoReturn:
    st.session_state[_CONFLICT.format(name)] = {"latest": latest, "mine": mine, "done": done}
    st.rerun()  # the warning and the choice are drawn from the state on the next run, edits untouched


def _finish(name: str, outcome: tuple[str, str] | None, clear: tuple[str, ...]) -> NoReturn:
    """Forget the edit (the next run starts from the newest version) and show the outcome there."""
    for key in (_BASE.format(name), _CONFLICT.format(name), *clear):
        st.session_state.pop(key, None)
    if outcome:
        st.session_state[_SAVED.format(name)] = outcome
    st.rerun()


def _targets_editor_key(number: int | None = None) -> str:
    if number is None:
        base = st.session_state.get(_BASE.format("targets"))
        number = base["number"] if base else 0
    return f"targets_editor_{number}"


def _has_cell_edits(state: Any) -> bool:
    return isinstance(state, dict) and any(state.get(k) for k in ("edited_rows", "added_rows", "deleted_rows"))


_MARKDOWN = str.maketrans({c: f"\\{c}" for c in "\\`*_[]<>$~#|"})


def _md(text: str) -> str:
    """Data (names, messages, titles) inside a Markdown element reads as typed, never as formatting or a link."""
    return text.translate(_MARKDOWN)
