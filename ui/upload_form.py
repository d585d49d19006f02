"""The upload page's steps: target layer (existing or new), reading options, new fields, the preview to publish."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from ui import data
from urban_plan import diff, fieldtypes, ingest, layer_admin, problems, publishing, registry, schema
from urban_plan.i18n import label, t
from urban_plan.registry import FieldDef, LayerDef, Registry, RegistryError
from urban_plan.store import DATA_DIR_ENV, Actor, StoreError

NEW = "__new__"  # the target selectbox's "new layer" choice: never a valid layer id (ids start with a letter)
# What the layers page reads to refuse archiving a layer with unpublished work (ui/layer_forms.drafts): the target
# layer of the file on this page (the uploader's own state, FILE_KEY, says whether a file is still there), and the
# prefix of every table the editor edits here (field mapping, constants, new fields).
DRAFT_KEY = "upload_layer"
FILE_KEY = "upload_file"
TABLE_PREFIX = "upload_table_"
_SPLIT = re.compile(r"[,,、;;\n]+")


@dataclass(frozen=True)
class Target:
    """Where the upload goes: an existing layer (`new` False) or one to create; `layer` is its definition."""

    layer: LayerDef
    new: bool


def choose_target(actor: Actor, layers: Registry, lang: str) -> Target | None:
    """The layers this editor may write (names in the user's language), and "new layer" for editors who may add
    layers. Returns None, with the reason on the page, when nothing can be chosen or the new layer is not valid."""
    writable = [layer for layer in layers.active() if actor.may_write(layer.id)]
    choices = [layer.id for layer in writable] + ([NEW] if may_add_layers(actor) else [])
    if not choices:
        st.error(t("uploadpage.nothing_writable", lang))
        return None
    # Layers that track progress are the ones planners update most: the first of them is the default choice.
    first = next((i for i, layer in enumerate(writable) if layer.tracks_progress), 0)
    picked = st.selectbox(
        t("uploadpage.target", lang),
        choices,
        index=first,
        format_func=lambda code: t("uploadpage.new_layer", lang) if code == NEW else layers.name(code, lang),
        key="upload_target",
    )
    if picked != NEW:
        return Target(layers[picked], False)
    return _new_layer_form(layers, lang)


def may_add_layers(actor: Actor) -> bool:
    """Adding a layer changes the registry: only an editor of every layer (or of the registry itself) may."""
    return actor.may_write(registry.COLLECTION)


def _new_layer_form(layers: Registry, lang: str) -> Target | None:
    with st.container(border=True):
        left, right = st.columns(2)
        name_zh = left.text_input(t("uploadpage.name_zh", lang), max_chars=registry.MAX_NAME_LENGTH, key="nl_name_zh")
        name_en = right.text_input(t("uploadpage.name_en", lang), max_chars=registry.MAX_NAME_LENGTH, key="nl_name_en")
        proposed = registry.slug(name_en) if name_en.strip() else ""
        typed = st.text_input(
            t("uploadpage.layer_id", lang),
            max_chars=32,
            placeholder=proposed,
            help=t("uploadpage.layer_id_help", lang),
            key="nl_id",
        )
        if proposed and not typed.strip():
            st.caption(t("uploadpage.id_proposed", lang, id=proposed))
        left, right = st.columns(2)
        role = left.radio(
            t("uploadpage.role", lang),
            registry.ROLES,
            format_func=lambda code: t(f"uploadpage.role_{code}", lang),
            key="nl_role",
        )
        tracks = right.checkbox(
            t("uploadpage.tracks_progress", lang), help=t("uploadpage.tracks_progress_help", lang), key="nl_tracks"
        )
    if not name_zh.strip() or not name_en.strip():
        st.info(t("uploadpage.name_first", lang))
        return None
    layer_id = typed.strip() or proposed
    try:  # the registry's own rules, so the page refuses exactly what publishing would
        checked = registry.add_layer(
            layers, layer_id, name_zh=name_zh, name_en=name_en, role=role, tracks_progress=tracks
        )
    except RegistryError as exc:
        st.error(registry_text(exc, lang))
        return None
    return Target(checked[layer_id], True)


def registry_text(exc: Exception, lang: str) -> str:
    """A refused registry change or store write in the user's language, as the layers page words it."""
    return layer_admin.error_text(exc, lang)


def source_layer(name: str, raw: bytes, digest: str, lang: str) -> str | None:
    """Which layer of a multi-layer file (GeoPackage, geodatabase, KML with folders) to read; None for others."""
    names = _list_layers(digest, name, raw)
    if not names:
        return None
    return st.selectbox(
        t("uploadpage.source_layer", lang, count=len(names)),
        names,
        help=t("uploadpage.source_layer_help", lang),
        key=f"src_layer_{digest}",
    )


@st.cache_data(max_entries=8, show_spinner=False)
def _list_layers(digest: str, name: str, _raw: bytes) -> list[str]:
    del digest  # the key: the bytes are hashed by the caller
    names = ingest.list_layers(name, _raw)
    return list(names) if len(names) > 1 else []


def constants(layer: LayerDef, lang: str) -> tuple[tuple[str, str], ...]:
    """ "Set status = 规划 for every feature": field and value rows, canonical fields first, then the layer's own."""
    choices = [*schema.FIELDS, *layer.field_names()]
    st.caption(t("uploadpage.constants", lang))
    table = st.data_editor(
        pd.DataFrame({"field": pd.Series([], dtype="object"), "value": pd.Series([], dtype="object")}),
        column_config={
            "field": st.column_config.SelectboxColumn(
                t("uploadpage.constant_field", lang),
                options=choices,
                format_func=lambda name: field_label(layer, name, lang),
            ),
            "value": st.column_config.TextColumn(t("uploadpage.constant_value", lang), max_chars=200),
        },
        num_rows="dynamic",
        hide_index=True,
        key=f"{TABLE_PREFIX}constants_{layer.id}",
        width="stretch",
    )
    rows = []
    for row in table.itertuples():
        if isinstance(row.field, str) and row.field and not fieldtypes.is_blank(row.value):
            rows.append((row.field, str(row.value).strip()))
    return tuple(rows)


def field_label(layer: LayerDef, name: str, lang: str) -> str:
    if name in schema.FIELDS:
        return label("field", name, lang)
    found = layer.field(name)
    return found.label(lang) if found else name


def edited_fields(key: str) -> tuple[FieldDef, ...]:
    """The new fields as the editor last left them in the table (empty until they edit it)."""
    return tuple(st.session_state.get(key, ()))


def effective_layer(target: Target, edited: tuple[FieldDef, ...]) -> LayerDef:
    """The target layer as the upload is checked against it: with the new fields as the editor reviewed them."""
    if not edited:
        return target.layer
    if target.new:
        return dataclasses.replace(target.layer, fields=edited)
    merged = registry.declare_fields(Registry((target.layer,)), target.layer.id, edited)
    return merged[target.layer.id]


def read(target: Target, digest: str, name: str, raw: bytes, options: ingest.Options) -> publishing.Preview:
    """Checked and diffed once per file, options and store state. A new layer has no versions yet: all added."""
    if not target.new:
        return data.preview(digest, name, raw, options)
    return _new_layer_preview(digest, name, raw, options, os.environ.get(DATA_DIR_ENV, ""))


@st.cache_data(max_entries=8, show_spinner=False)
def _new_layer_preview(digest: str, name: str, _raw: bytes, options: ingest.Options, root: str) -> publishing.Preview:
    del digest, root  # cache key only
    result = ingest.read_upload(name, _raw, options)
    changes = diff.diff_collections(None, result.collection) if result.ok and result.collection else None
    return publishing.Preview(options.layer, result, None, None, changes)


def fields_to_review(edited: tuple[FieldDef, ...], proposed: tuple[FieldDef, ...]) -> tuple[FieldDef, ...]:
    """What the editor reviews: their edited fields, then what this read proposes that they have not seen yet."""
    seen = {f.name for f in edited}
    return edited + tuple(f for f in proposed if f.name not in seen)


def id_choice(columns: list[str], key: str, lang: str) -> None:
    """Where feature ids come from: automatic (the file's id column), a column such as 编码, or row order."""
    choices = ["", "row", *columns]
    if st.session_state.get(key) not in choices:
        st.session_state[key] = ""
    st.selectbox(
        t("uploadpage.id_from", lang),
        choices,
        format_func=lambda c: {"": t("uploadpage.id_auto", lang), "row": t("uploadpage.id_row", lang)}.get(c, c),
        help=t("uploadpage.id_from_help", lang),
        key=key,
    )


def problems_and_left_out(result: ingest.Result, lang: str) -> None:
    """Every problem per feature and field; the features "inside the district only" left out, listed apart."""
    shown = [p for p in result.problems if p.code != "left_out_outside"]
    left_out = [p for p in result.problems if p.code == "left_out_outside"]
    if shown:
        st.dataframe(problems.table(shown, lang), hide_index=True, width="stretch")
    if left_out:
        st.warning(t("uploadpage.left_out_count", lang, count=len(left_out)))
        st.dataframe(problems.table(left_out, lang), hide_index=True, width="stretch")


def fields_editor(fields: tuple[FieldDef, ...], key: str, lang: str) -> tuple[FieldDef, ...] | None:
    """New fields as an editable table: labels, type, enum values, required, where they show. Returns the fields
    as edited (None, with the reason on the page, when an edit breaks a registry rule)."""
    table = pd.DataFrame(
        {
            "name": [f.name for f in fields],
            "label_zh": [f.label_zh for f in fields],
            "label_en": [f.label_en for f in fields],
            "type": [f.type for f in fields],
            "options": ["、".join(f.option_values()) for f in fields],
            "required": [f.required for f in fields],
            "tooltip": [f.tooltip for f in fields],
            "details": [f.details for f in fields],
            "table": [f.table for f in fields],
        }
    )
    column = _column_label(lang)
    edited = st.data_editor(
        table,
        column_config={
            "name": st.column_config.TextColumn(column("name"), disabled=True),
            "label_zh": st.column_config.TextColumn(column("label_zh"), max_chars=registry.MAX_NAME_LENGTH),
            "label_en": st.column_config.TextColumn(column("label_en"), max_chars=registry.MAX_NAME_LENGTH),
            "type": st.column_config.SelectboxColumn(
                column("type"),
                options=list(fieldtypes.TYPES),
                format_func=lambda code: t(f"uploadpage.type_{code}", lang),
                required=True,
            ),
            "options": st.column_config.TextColumn(column("options"), help=t("uploadpage.col_options_help", lang)),
            "required": st.column_config.CheckboxColumn(column("required")),
            "tooltip": st.column_config.CheckboxColumn(column("tooltip")),
            "details": st.column_config.CheckboxColumn(column("details")),
            "table": st.column_config.CheckboxColumn(column("table")),
        },
        hide_index=True,
        num_rows="fixed",
        key=key,
        width="stretch",
    )
    by_name = {f.name: f for f in fields}
    out = []
    try:
        for row in edited.to_dict("records"):
            out.append(_field_from_row(row, by_name[row["name"]]))
    except RegistryError as exc:
        st.error(registry_text(exc, lang))
        return None
    return tuple(out)


def _column_label(lang: str) -> Any:
    return lambda name: t(f"uploadpage.col_{name}", lang)


def _field_from_row(row: dict[str, Any], old: FieldDef) -> FieldDef:
    type_ = row["type"] if row["type"] in fieldtypes.TYPES else old.type
    options: tuple[tuple[str, str, str], ...] = ()
    if type_ == "enum":
        known = {value: (zh, en) for value, zh, en in old.options}
        values = dict.fromkeys(v.strip() for v in _SPLIT.split(str(row["options"] or "")) if v.strip())
        options = tuple((v, *known.get(v, (v, v))) for v in values)
    new = FieldDef(
        name=old.name,
        label_zh=_text(row["label_zh"]) or old.name,
        label_en=_text(row["label_en"]) or old.name,
        type=type_,
        required=bool(row["required"]),
        options=options,
        tooltip=bool(row["tooltip"]),
        details=bool(row["details"]),
        table=bool(row["table"]),
    )
    registry.check_field(new)
    return new


def _text(value: Any) -> str:
    return "" if fieldtypes.is_blank(value) else str(value).strip()


def with_fields(item: publishing.Preview, fields: tuple[FieldDef, ...]) -> publishing.Preview:
    """The preview to publish into an existing layer, declaring the new fields as the editor reviewed them."""
    return dataclasses.replace(item, result=dataclasses.replace(item.result, new_fields=fields))


def publish_step(
    target: Target,
    item: publishing.Preview,
    upload: tuple[str, bytes, ingest.Options],
    reviewed: tuple[FieldDef, ...],
    actor: Actor,
    lang: str,
) -> None:
    """As-of date, message, the large-removal confirmation, and the button that publishes: a new layer with its
    fields as reviewed and its first version, or a new version of an existing layer declaring the new fields."""
    st.subheader(t("upload.publish", lang))
    today = dt.date.today()
    as_of = st.date_input(t("upload.as_of", lang), value=today, max_value=today, help=t("upload.as_of_help", lang))
    message = st.text_input(t("upload.message", lang), max_chars=500)
    changes = item.diff
    confirmed = True
    if item.large_removal and changes is not None:
        counts = {"removed": len(changes.removed), "before": changes.old_total, "after": changes.new_total}
        st.warning(t("store.needs_confirmation", lang, **counts))
        confirmed = st.checkbox(t("upload.confirm_removal", lang))
    if target.new:
        label_ = t("uploadpage.publish_new", lang, name=target.layer.name(lang))
    else:
        label_ = t("upload.publish_button", lang, base=item.base_number)
    if not st.button(label_, type="primary", disabled=not confirmed):
        return
    name, raw, options = upload
    layer = options.layer_def or target.layer
    final = dataclasses.replace(layer, fields=reviewed) if target.new else layer
    try:
        if target.new:  # the file is read again with the fields as reviewed: what is stored is what was checked
            options = dataclasses.replace(options, layer_def=final)
            _, version = publishing.publish_new_layer(
                data.store(), name, raw, options, final, actor=actor, message=message, as_of=as_of
            )
        else:
            version = publishing.publish(
                data.store(),
                with_fields(item, reviewed),
                actor=actor,
                message=message,
                as_of=as_of,
                confirm_large_removal=confirmed,
            )
    except (StoreError, RegistryError) as exc:
        st.error(registry_text(exc, lang))
    except OSError as exc:  # a read-only or full data folder: nothing was written, the upload stays on the page
        st.error(problems.write_error_message(exc, lang))
    else:
        st.session_state.pop(DRAFT_KEY, None)
        key = "uploadpage.created" if target.new else "upload.published"
        st.success(t(key, lang, layer=final.name(lang), id=final.id, number=version.number))
        st.page_link("app_pages/map.py", label=t("upload.see_map", lang), icon=":material/map:")
