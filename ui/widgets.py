"""Small pieces several pages show: KPI cards, the feature details panel, the data-provenance line."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from ui import data, state
from urban_plan import dashboard, diff, display, filters, frame, mapping, problems, publishing, schema
from urban_plan.display import escape
from urban_plan.i18n import label, t
from urban_plan.store import Actor, StoreError, VersionInfo
from urban_plan.viewstate import ViewState


def kpi_cards(shown: pd.DataFrame, overlays: pd.DataFrame, lang: str) -> None:
    k = filters.kpis(shown, overlays)
    cols = st.columns(6)
    cols[0].metric(t("kpi.shown", lang), f"{k.shown}", help=t("kpi.shown_help", lang, total=len(overlays)))
    cols[1].metric(
        t("kpi.five_projects", lang),
        t("kpi.money", lang, yi=f"{schema.FIVE_PROJECTS_TOTAL_YI:g}", bn=f"{schema.FIVE_PROJECTS_TOTAL_YI / 10:g}"),
        help=t("kpi.five_projects_help", lang, source=schema.ARTICLE_SOURCE),
    )
    mean = "—" if k.mean_progress is None else f"{k.mean_progress:.0f}%"  # the help text says "not reported"
    cols[2].metric(
        t("kpi.mean_progress", lang), mean, help=t("kpi.mean_progress_help", lang, n=k.reported, total=k.shown)
    )
    for col, status in zip(cols[3:], schema.STATUSES, strict=True):
        col.metric(label("status", status, lang), f"{k.by_status[status]}", help=t("kpi.status_help", lang))


def feature_details(row: pd.Series | None, lang: str) -> None:
    """Details of the clicked feature as escaped HTML (data never goes through Markdown)."""
    if row is None:
        st.info(t("map.click_hint", lang))
        return
    data = display.clean(row.to_dict())
    tag = display.confidence_tag(data.get("confidence"), lang)
    rows = "".join(
        f"<tr><th>{escape(key)}</th><td>{escape(value)}</td></tr>" for _, key, value in display.details(data, lang)
    )
    warning_key = f"confidence_warning.{data.get('confidence')}"
    warning = f'<p class="up-warn">{escape(t(warning_key, lang))}</p>' if tag else ""
    colour = display.status_colour(data.get("status"))
    st.html(
        f"""<div class="up-details">
        <div class="up-details-name">{escape(display.name(data, lang))}
          {f'<span class="up-tag">{escape(tag)}</span>' if tag else ""}</div>
        <div class="up-details-status" style="border-left:6px solid {colour}">
          {escape(label("status", data.get("status"), lang))} ·
          {escape(display.progress_text(data.get("progress"), lang))}</div>
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
    parts = [
        t("app.layer_version", lang, layer=label("layer", layer, lang), number=v.number, as_of=v.as_of)
        if v
        else t("app.layer_missing", lang, layer=label("layer", layer, lang))
        for layer, v in versions.items()
    ]
    st.caption(" · ".join(parts))
    st.caption(t("app.geometry_warning", lang))


def find_feature(frames: list[pd.DataFrame], layer: str, fid: str) -> pd.Series | None:
    for part in frames:
        if len(part):
            match = part[(part["layer"] == layer) & (part["id"] == fid)]
            if len(match):
                return match.iloc[0]
    return None


def plain(text: str, *, muted: bool = True) -> None:
    """Text that may contain data (file names, CRS names, messages) shown without Markdown: escaped HTML."""
    colour = "color: rgba(49, 51, 63, 0.65); font-size: 0.875rem;" if muted else ""
    st.html(f'<div style="{colour}">{escape(text)}</div>')


def field_mapping_editor(source_fields: list[str], field_map: dict[str, str | None], key: str, lang: str) -> dict:
    """Which canonical field each source column fills, as an editable table (cells are plain text)."""
    table = pd.DataFrame({"source": source_fields, "target": [field_map.get(f) or "" for f in source_fields]})
    edited = st.data_editor(
        table,
        column_config={
            "source": st.column_config.TextColumn(t("upload.source_field", lang), disabled=True),
            "target": st.column_config.SelectboxColumn(
                t("upload.target_field", lang),
                options=["", *schema.FIELDS],
                format_func=lambda f: label("field", f, lang) if f else t("upload.drop_field", lang),
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
    groups: list,
    options: mapping.MapOptions,
    *,
    name: str,
    height: int,
    returned_objects: list[str],
) -> dict | None:
    """The planning map of the map and presentation pages. Large layers travel as page data blocks that stay
    unchanged while filters change (see mapping.shared_data_html); the map's key names the data, so new data
    remounts it, while filter changes only replace its overlay groups and keep the view."""
    current = data.layers(view.as_of)
    context = data.prepared_context(current, view.as_of, options)
    if drawn.shared:
        st.html(mapping.shared_data_html(drawn.shared, options), unsafe_allow_javascript=True)  # inert JSON only
    return st_folium(
        mapping.base_map(current.context, options, context),
        key=f"{name}-{view.lang}-{view.basemap}-{view.colour_by}-{mapping.mount_key(context, *drawn.shared)}",
        feature_group_to_add=groups,
        layer_control=mapping.layer_control(),
        center=(view.extent.lat, view.extent.lon) if view.extent else None,
        zoom=view.extent.zoom if view.extent else None,
        returned_objects=returned_objects,
        use_container_width=True,
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
    parts.append(filters.describe(view.criteria, lang))
    return " · ".join(parts)


def changes_table(changed: pd.DataFrame, since: dt.date, lang: str) -> None:
    st.subheader(t("map.changes_since", lang, since=since.isoformat(), count=len(changed)))
    if not len(changed):
        st.info(t("map.no_changes", lang))
        return
    table = pd.DataFrame(
        {
            t("field.name", lang): [display.name(display.clean(r), lang) for r in changed.to_dict("records")],
            t("field.layer", lang): [label("layer", v, lang) for v in changed["layer"]],
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
                "font-size:.85rem;margin-top:.3rem}.up-card-note{color:#777;font-size:.8rem;margin-top:.3rem}</style>"
            )


def targets_editor(targets: dict, version: VersionInfo | None, actor: Actor, lang: str) -> None:
    """Editors update reported values (with the date they describe); saving publishes a new version."""
    with st.expander(t("dashboard.edit_targets", lang)):
        table = pd.DataFrame(targets["rows"])
        table["reported_as_of"] = pd.to_datetime(table["reported_as_of"], errors="coerce").dt.date
        edited = st.data_editor(
            table,
            disabled=["id"],
            hide_index=True,
            num_rows="fixed",
            key=f"targets_editor_{version.number if version else 0}",
            column_config={"reported_as_of": st.column_config.DateColumn(format="YYYY-MM-DD")},
        )
        message = st.text_input(t("upload.message", lang), key="targets_message", max_chars=500)
        if st.button(t("dashboard.save_targets", lang), key="save_targets"):
            rows = [
                {k: (None if pd.isna(v) else (v.isoformat() if isinstance(v, dt.date) else v)) for k, v in r.items()}
                for r in edited.to_dict("records")
            ]
            try:
                saved = data.store().publish(
                    "targets",
                    {"rows": rows},
                    actor=actor,
                    base_version=data.store().latest("targets").number,
                    message=message,
                )
            except StoreError as exc:
                st.error(problems.store_message(exc, lang))
            else:
                st.success(t("dashboard.targets_saved", lang, number=saved.number))
