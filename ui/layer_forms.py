"""Layers page glue: the registry as a table and the editors' forms (names, order, archive, fields), every save a
registry version made through layer_admin, with the stale-base handling the other document editors have."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NoReturn

import pandas as pd
import streamlit as st

from ui import data, upload_form
from urban_plan import display, fieldtypes, layer_admin, problems, registry
from urban_plan.i18n import t
from urban_plan.registry import FieldDef, LayerDef, Registry, RegistryError
from urban_plan.store import Actor, ConflictError, StoreError

_BASE = "_lp_base"  # the registry version the forms on screen were drawn from (their widget keys carry it)
_CONFLICT = "_lp_conflict"  # {"latest": the newer version the user was shown, "change": the change waiting}
_SAVED = "_lp_saved"  # (kind, text) shown after the rerun that follows a save
_GO = "lp_go_"  # every button that writes: while one was just pressed the base must not move under it
OPTION_COLUMNS = ("value", "label_zh", "label_en")


@dataclass(frozen=True)
class Change:
    """One registry change the user asked for: what it is, on which layer (and field), only the values changed."""

    kind: str  # edit_layer | edit_field | move_up | move_down | archive | restore
    layer: str
    changes: dict[str, Any] = field(default_factory=dict, hash=False)
    field: str | None = None
    message: str = ""


# --- reading ------------------------------------------------------------------------------------------------------


def base_number() -> int:
    """The registry version an edit starts from, kept across reruns; it follows others' saves only while nothing is
    being saved or waits for a choice, so a form keeps what the user typed into it."""
    latest = _latest()
    base = st.session_state.get(_BASE)
    if base is None or (base != latest and not _busy()):
        st.session_state[_BASE] = base = latest
    return int(base)


def registry_at(number: int) -> Registry:
    """The registry as version `number` had it (0: never published, the shipped layers)."""
    if not number:
        return registry.builtin()
    return Registry.from_payload(data.store().load_shared(registry.COLLECTION, number))


def overview(layers: Registry, lang: str) -> Any:
    """Every layer, active ones in display order then archived ones, with what a planner asks about it."""
    col = _columns(lang)
    rows = [
        {
            col["order"]: layer.order,
            col["id"]: layer.id,
            col["name_zh"]: layer.name_zh,
            col["name_en"]: layer.name_en,
            col["role"]: t(f"layerspage.role.{layer.role}", lang),
            col["tracks_progress"]: _yes_no(layer.tracks_progress, lang),
            col["families"]: _join((t(f"layerspage.family.{f}", lang) for f in _families(layer)), lang),
            col["colour"]: layer.colour,
            col["features"]: feature_count(layer.id),
            col["fields"]: len(layer.fields),
            col["state"]: t(f"layerspage.state.{'archived' if layer.archived else 'active'}", lang),
        }
        for layer in (*layers.active(), *(layer for layer in layers.ordered() if layer.archived))
    ]
    table = pd.DataFrame(rows, columns=list(col.values()))
    return table.style.map(_swatch, subset=[col["colour"]])


def feature_count(layer_id: str) -> int:
    """Features in the version in force today (kept with each version; counted for versions made before that)."""
    s = data.store()
    info = s.current(layer_id)
    if info is None:
        return 0
    total = info.counts.get("total")
    if isinstance(total, int):
        return total
    return len((s.load_shared(layer_id, info.number) or {}).get("features") or [])


def fields_table(layer: LayerDef, lang: str) -> pd.DataFrame:
    col = {k: t(f"layerspage.fields.col.{k}", lang) for k in (*_FIELD_FLAGS, "options")}
    rows = [
        {
            col["name"]: f.name,
            col["label_zh"]: f.label_zh,
            col["label_en"]: f.label_en,
            col["type"]: t(f"layerspage.type.{f.type}", lang),
            col["required"]: f.required,
            col["tooltip"]: f.tooltip,
            col["details"]: f.details,
            col["table"]: f.table,
            col["options"]: _join((f.option_label(v, lang) for v in f.option_values()), lang),
        }
        for f in layer.fields
    ]
    return pd.DataFrame(rows, columns=list(col.values()))


def drafts(layer_id: str, lang: str) -> list[str]:
    """Unpublished work this browser session holds for a layer: an upload preview or edited upload tables on the
    Upload page, or a change on this page waiting for a conflict choice. Archiving then would strand it."""
    found = []
    state = st.session_state
    # The Upload page names the layer its file waits for until it is published or gone; the uploader's own state
    # (the file) and its edited tables only live while that page is drawn, its mapping choices (kept per file)
    # outlive it: a re-upload of the same file brings them back, so the name alone means work is waiting.
    if state.get(upload_form.DRAFT_KEY) == layer_id:
        upload = state.get(upload_form.FILE_KEY)
        name = getattr(upload, "name", None)
        found.append(
            t("layerspage.archive.draft_upload_file", lang, file=name)
            if name
            else t("layerspage.archive.draft_upload", lang)
        )
        if any(_has_edits(state.get(k)) for k in list(state.keys()) if str(k).startswith(upload_form.TABLE_PREFIX)):
            found.append(t("layerspage.archive.draft_mapping", lang))
    conflict = state.get(_CONFLICT)
    if conflict and conflict["change"].layer == layer_id:
        found.append(t("layerspage.archive.draft_conflict", lang))
    return found


# --- the forms ----------------------------------------------------------------------------------------------------


def metadata_form(layer: LayerDef, actor: Actor, lang: str, base: int) -> None:
    """Names, role, progress tracking and colour; saves only what changed (one registry version)."""
    key = f"lp_meta_{layer.id}_{base}_{lang}"  # per language: the choices read differently
    with st.form(key, border=True):
        st.markdown(f"**{t('layerspage.meta.title', lang)}**")
        left, right = st.columns(2)
        name_zh = left.text_input(
            t("layerspage.meta.name_zh", lang), value=layer.name_zh, max_chars=registry.MAX_NAME_LENGTH, key=f"{key}_zh"
        )
        name_en = right.text_input(
            t("layerspage.meta.name_en", lang), value=layer.name_en, max_chars=registry.MAX_NAME_LENGTH, key=f"{key}_en"
        )
        role = left.selectbox(
            t("layerspage.meta.role", lang),
            registry.ROLES,
            index=registry.ROLES.index(layer.role) if layer.role in registry.ROLES else 0,
            format_func=lambda code: t(f"layerspage.role.{code}", lang),
            help=t("layerspage.meta.role_help", lang),
            key=f"{key}_role",
        )
        colour = right.color_picker(t("layerspage.meta.colour", lang), value=layer.colour, key=f"{key}_colour")
        tracks = st.checkbox(
            t("layerspage.meta.tracks_progress", lang),
            value=layer.tracks_progress,
            help=t("layerspage.meta.tracks_progress_help", lang),
            key=f"{key}_tracks",
        )
        message = st.text_input(t("layerspage.meta.message", lang), max_chars=500, key=f"{key}_message")
        go = st.form_submit_button(t("layerspage.meta.save", lang), type="primary", key=f"{_GO}meta_{layer.id}_{base}")
    if not go:
        return
    wanted = {
        "name_zh": name_zh.strip(),
        "name_en": name_en.strip(),
        "role": role,
        "tracks_progress": bool(tracks),
        "colour": colour.lower(),
    }
    changes = {k: v for k, v in wanted.items() if v != (layer.colour.lower() if k == "colour" else getattr(layer, k))}
    if not changes:
        st.info(t("layerspage.meta.no_change", lang))
        return
    submit(Change("edit_layer", layer.id, changes, message=message), actor, lang)


def order_buttons(layer: LayerDef, layers: Registry, actor: Actor, lang: str, base: int) -> None:
    """Up and down among the active layers (the order of the legend, the layer control and the table)."""
    active = layers.ids()
    if layer.archived or layer.id not in active:
        return
    position = active.index(layer.id)
    st.markdown(f"**{t('layerspage.order.title', lang)}**")
    st.caption(t("layerspage.order.position", lang, position=position + 1, total=len(active)))
    up, down = st.columns(2)
    if up.button(
        t("layerspage.order.up", lang),
        icon=":material/arrow_upward:",
        disabled=position == 0,
        key=f"{_GO}up_{layer.id}_{base}",
        width="stretch",
    ):
        submit(Change("move_up", layer.id), actor, lang)
    if down.button(
        t("layerspage.order.down", lang),
        icon=":material/arrow_downward:",
        disabled=position == len(active) - 1,
        key=f"{_GO}down_{layer.id}_{base}",
        width="stretch",
    ):
        submit(Change("move_down", layer.id), actor, lang)


def archive_control(layer: LayerDef, actor: Actor, lang: str, base: int) -> None:
    """Archive (after a confirmation, refused while this session holds unpublished work for the layer) or restore."""
    name = layer.name(lang)
    st.markdown(f"**{t('layerspage.archive.title', lang)}**")
    if layer.archived:
        st.info(md(t("layerspage.archive.archived_note", lang, layer=name)))
        if st.button(
            t("layerspage.archive.restore", lang), icon=":material/unarchive:", key=f"{_GO}restore_{layer.id}"
        ):
            submit(Change("restore", layer.id), actor, lang)
        return
    st.caption(t("layerspage.archive.explain", lang))
    sure = st.checkbox(md(t("layerspage.archive.confirm", lang, layer=name)), key=f"lp_sure_{layer.id}_{base}")
    if not st.button(
        t("layerspage.archive.button", lang),
        icon=":material/archive:",
        disabled=not sure,
        key=f"{_GO}archive_{layer.id}_{base}",
    ):
        return
    pending = drafts(layer.id, lang)
    if pending:
        joined = _join(pending, lang)
        st.error(md(t("layerspage.archive.refused_drafts", lang, layer=name, drafts=joined)))
        return
    submit(Change("archive", layer.id), actor, lang)


def fields_section(layer: LayerDef, actor: Actor, lang: str, base: int) -> None:
    """The layer's open attributes as a table, and a form for one of them."""
    st.subheader(t("layerspage.fields.title", lang))
    st.caption(t("layerspage.fields.canonical_note", lang))
    if not layer.fields:
        st.info(t("layerspage.fields.none", lang))
        return
    st.dataframe(fields_table(layer, lang), hide_index=True, width="stretch")
    names = layer.field_names()
    chosen = st.selectbox(
        t("layerspage.fields.choose", lang),
        range(len(names)),
        format_func=lambda i: (
            names[i] if layer.fields[i].label(lang) == names[i] else f"{names[i]} · {layer.fields[i].label(lang)}"
        ),
        key=f"lp_field_{layer.id}_{lang}",
    )
    field_form(layer, layer.fields[chosen], chosen, actor, lang, base)


def field_form(layer: LayerDef, old: FieldDef, index: int, actor: Actor, lang: str, base: int) -> None:
    """Labels, type (checked against the layer's values by layer_admin), enum values and labels, where it shows."""
    key = f"lp_fd_{layer.id}_{index}_{base}_{lang}"
    with st.form(key, border=True):
        st.markdown(f"**{md(t('layerspage.fields.form_title', lang, field=old.name))}**")
        left, right = st.columns(2)
        label_zh = left.text_input(
            t("layerspage.fields.label_zh", lang),
            value=old.label_zh,
            max_chars=registry.MAX_NAME_LENGTH,
            key=f"{key}_zh",
        )
        label_en = right.text_input(
            t("layerspage.fields.label_en", lang),
            value=old.label_en,
            max_chars=registry.MAX_NAME_LENGTH,
            key=f"{key}_en",
        )
        type_ = st.selectbox(
            t("layerspage.fields.type", lang),
            fieldtypes.TYPES,
            index=fieldtypes.TYPES.index(old.type) if old.type in fieldtypes.TYPES else 0,
            format_func=lambda code: t(f"layerspage.type.{code}", lang),
            help=t("layerspage.fields.type_help", lang),
            key=f"{key}_type",
        )
        flags = st.columns(4)
        ticked = {
            flag: flags[i].checkbox(t(f"layerspage.fields.{flag}", lang), value=getattr(old, flag), key=f"{key}_{flag}")
            for i, flag in enumerate(("required", "tooltip", "details", "table"))
        }
        st.caption(t("layerspage.fields.options", lang))
        edited = st.data_editor(
            pd.DataFrame([list(o) for o in old.options], columns=list(OPTION_COLUMNS), dtype=str),
            num_rows="dynamic",
            hide_index=True,
            width="stretch",
            key=f"{key}_options",
            column_config={
                "value": st.column_config.TextColumn(t("layerspage.fields.option_value", lang), max_chars=200),
                "label_zh": st.column_config.TextColumn(t("layerspage.fields.option_zh", lang), max_chars=60),
                "label_en": st.column_config.TextColumn(t("layerspage.fields.option_en", lang), max_chars=60),
            },
        )
        message = st.text_input(t("layerspage.meta.message", lang), max_chars=500, key=f"{key}_message")
        go = st.form_submit_button(
            t("layerspage.fields.save", lang), type="primary", key=f"{_GO}fd_{layer.id}_{index}_{base}"
        )
    if not go:
        return
    options = _options(edited)
    if type_ == "enum" and not options:  # proposed from what the layer holds; registry refuses too many or odd ones
        options = tuple((value, value, value) for value in current_values(layer.id, old.name))
    wanted = {
        "label_zh": label_zh.strip(),
        "label_en": label_en.strip(),
        "type": type_,
        **ticked,
        "options": options if type_ == "enum" else (),
    }
    changes = {k: v for k, v in wanted.items() if v != getattr(old, k)}
    if not changes:
        st.info(t("layerspage.fields.no_change", lang))
        return
    submit(Change("edit_field", layer.id, changes, field=old.name, message=message), actor, lang)


def current_values(layer_id: str, name: str) -> list[str]:
    """Distinct values of an attribute in the layer's current version, first-seen order, as text."""
    s = data.store()
    info = s.latest(layer_id)
    if info is None:
        return []
    features = (s.load_shared(layer_id, info.number) or {}).get("features") or []
    values = ((feature.get("properties") or {}).get(name) for feature in features)
    return list(dict.fromkeys(str(v).strip() for v in values if not fieldtypes.is_blank(v)))


# --- saving -------------------------------------------------------------------------------------------------------


def submit(change: Change, actor: Actor, lang: str) -> None:
    """Save a change made on the version the forms were drawn from; a newer version first shows who saved what."""
    latest = _latest()
    if latest != st.session_state.get(_BASE, latest):
        _record_conflict(latest, change)
    _apply(change, actor, lang)


def conflict_panel(actor: Actor, lang: str) -> None:
    """When a save met a newer registry version: the versions saved since (who, Beijing time, message, which
    layers), what both changed, and the choice to save the change on top or drop it."""
    conflict = st.session_state.get(_CONFLICT)
    if not conflict:
        return
    s = data.store()
    change: Change = conflict["change"]
    base = int(st.session_state.get(_BASE, 0))
    now = s.registry()
    lines = []
    for info in s.history(registry.COLLECTION):
        if info.number <= base:
            continue
        changed = _changed_layers(registry_at(info.base), registry_at(info.number), lang)
        lines.append(
            t(
                "layerspage.version_line",
                lang,
                number=info.number,
                author=display.author_text(info.author, lang),
                time=display.local_time(info.saved_at),
                message=display.local_text(info.message, lang) or t("layerspage.no_message", lang),
                changes=t("layerspage.changed_layers", lang, layers=changed)
                if changed
                else t("layerspage.no_changes", lang),
            )
        )
    text = t("layerspage.conflict", lang, base=base, latest=conflict["latest"])
    text += "\n\n" + "\n".join(f"- {md(line)}" for line in lines)
    text += "\n\n" + md(t("layerspage.yours", lang, what=describe(change, now, lang)))
    both = _both_changed(change, registry_at(base), now, lang)
    if both:
        text += "\n\n" + t("layerspage.both_changed", lang) + "\n\n" + "\n".join(f"- {md(line)}" for line in both)
    st.warning(text)
    left, right = st.columns(2)
    if left.button(t("layerspage.save_on_top", lang, number=conflict["latest"]), key=f"{_GO}on_top", type="primary"):
        latest = _latest()
        if latest != conflict["latest"]:  # yet another save since the warning: show that one too
            _record_conflict(latest, change)
        _apply(change, actor, lang)
    if right.button(t("layerspage.discard", lang, number=conflict["latest"]), key="lp_discard"):
        _finish(None)


def show_saved_message() -> None:
    saved = st.session_state.pop(_SAVED, None)
    if saved:
        getattr(st, saved[0])(md(saved[1]))


def describe(change: Change, layers: Registry, lang: str) -> str:
    """The change in words: 修改“学校”的中文名称、颜色 / change Chinese name, colour of “Schools”."""
    attrs = _join((t(f"layerspage.attr.{k}", lang) for k in change.changes), lang)
    return t(
        f"layerspage.op.{change.kind}",
        lang,
        layer=layers.name(change.layer, lang),
        field=change.field or "",
        attrs=attrs,
    )


def _apply(change: Change, actor: Actor, lang: str) -> None:
    s = data.store()
    try:
        saved = _call(change, actor)
    except ConflictError as exc:  # someone saved between the check and the write: nothing was written
        _record_conflict(int(exc.params.get("latest") or _latest()), change)
    except (RegistryError, StoreError) as exc:
        st.error(md(layer_admin.error_text(exc, lang)))
        return
    except OSError as exc:  # a read-only or full data folder: nothing was written, the form keeps the edit
        st.error(md(problems.write_error_message(exc, lang)))
        return
    lost = _missing(change, s.registry())
    if lost:
        what = _join((t(f"layerspage.attr.{k}", lang) for k in lost), lang)
        st.error(md(t("layerspage.verify_failed", lang, number=saved.number, what=what)))
        return
    _finish(("success", f"{t('layerspage.saved', lang, number=saved.number)} {t('layerspage.verified', lang)}"))


def _call(change: Change, actor: Actor) -> Any:
    s = data.store()
    if change.kind == "edit_layer":
        return layer_admin.edit_layer(s, actor, change.layer, message=change.message, **change.changes)
    if change.kind == "edit_field":
        assert change.field is not None
        return layer_admin.edit_field(s, actor, change.layer, change.field, message=change.message, **change.changes)
    if change.kind in ("move_up", "move_down"):
        return layer_admin.move(s, actor, change.layer, -1 if change.kind == "move_up" else 1)
    if change.kind == "archive":
        return layer_admin.archive(s, actor, change.layer, message=change.message)
    if change.kind == "restore":
        return layer_admin.restore(s, actor, change.layer, message=change.message)
    raise ValueError(change.kind)


def _missing(change: Change, now: Registry) -> list[str]:
    """The parts of a change the stored registry does not hold (read back after saving)."""
    layer = now.get(change.layer)
    if layer is None:
        return ["archived"]
    if change.kind in ("archive", "restore"):
        return [] if layer.archived == (change.kind == "archive") else ["archived"]
    if change.kind == "edit_layer":
        return [k for k, v in change.changes.items() if _norm(getattr(layer, k)) != _norm(v)]
    if change.kind == "edit_field":
        stored = layer.field(change.field or "")
        if stored is None:
            return list(change.changes)
        return [k for k, v in change.changes.items() if _norm(getattr(stored, k)) != _norm(v)]
    return []


def _both_changed(change: Change, base: Registry, now: Registry, lang: str) -> list[str]:
    """Values the change sets that someone else also changed since the base."""
    old, new = base.get(change.layer), now.get(change.layer)
    if change.kind == "edit_field" and old is not None and new is not None:
        old, new = old.field(change.field or ""), new.field(change.field or "")
    if old is None or new is None or change.kind not in ("edit_layer", "edit_field"):
        return []
    return [
        t(
            "layerspage.both_line",
            lang,
            what=t(f"layerspage.attr.{k}", lang),
            mine=_value_text(v, lang),
            theirs=_value_text(getattr(new, k), lang),
        )
        for k, v in change.changes.items()
        if _norm(getattr(old, k)) != _norm(getattr(new, k))
    ]


def _changed_layers(before: Registry, after: Registry, lang: str) -> str:
    old = {layer.id: layer for layer in before.layers}
    names = [layer.name(lang) for layer in after.ordered() if old.get(layer.id) != layer]
    return _join((f"“{name}”" for name in names), lang)


def _record_conflict(latest: int, change: Change) -> NoReturn:
    st.session_state[_CONFLICT] = {"latest": latest, "change": change}
    st.rerun()  # the warning and the choice are drawn from the state on the next run, the forms untouched


def _finish(outcome: tuple[str, str] | None) -> NoReturn:
    """Forget the edit: the next run draws the forms afresh from the newest version and shows the outcome."""
    for key in (_BASE, _CONFLICT):
        st.session_state.pop(key, None)
    if outcome:
        st.session_state[_SAVED] = outcome
    st.rerun()


def _latest() -> int:
    info = data.store().latest(registry.COLLECTION)
    return info.number if info else 0


def _busy() -> bool:
    state = st.session_state
    return _CONFLICT in state or any(str(key).startswith(_GO) and state[key] is True for key in list(state.keys()))


def _options(edited: pd.DataFrame) -> tuple[tuple[str, str, str], ...]:
    rows = []
    for record in edited.to_dict("records"):
        value, zh, en = (_text(record.get(c)) for c in OPTION_COLUMNS)
        if value:
            rows.append((value, zh, en))
    return tuple(rows)


def _text(value: Any) -> str:
    return "" if fieldtypes.is_blank(value) else str(value).strip()


def _norm(value: Any) -> Any:
    if isinstance(value, str) and registry.COLOUR_PATTERN.fullmatch(value):
        return value.lower()
    if isinstance(value, (list, tuple)):
        return tuple(_norm(v) for v in value)
    if isinstance(value, frozenset):
        return tuple(sorted(value))
    return value


def _value_text(value: Any, lang: str) -> str:
    if isinstance(value, bool):
        return _yes_no(value, lang)
    if isinstance(value, tuple):
        return _join((str(v[0]) if isinstance(v, tuple) else str(v) for v in value), lang)
    if value in registry.ROLES:
        return t(f"layerspage.role.{value}", lang)
    if value in fieldtypes.TYPES:
        return t(f"layerspage.type.{value}", lang)
    return str(value)


def _columns(lang: str) -> dict[str, str]:
    names = ("order", "id", "name_zh", "name_en", "role", "tracks_progress", "families", "colour", "features")
    return {k: t(f"layerspage.col.{k}", lang) for k in (*names, "fields", "state")}


_FIELD_FLAGS = ("name", "label_zh", "label_en", "type", "required", "tooltip", "details", "table")


def _families(layer: LayerDef) -> list[str]:
    return [f for f in registry.FAMILIES if f in layer.families]


def _yes_no(value: bool, lang: str) -> str:
    return t("layerspage.yes" if value else "layerspage.no", lang)


def _join(items: Any, lang: str) -> str:
    return t("layerspage.list_sep", lang).join(items)


def _swatch(value: Any) -> str:
    """The colour column shows its colour (a validated #rrggbb: nothing else reaches the style)."""
    if isinstance(value, str) and registry.COLOUR_PATTERN.fullmatch(value):
        return f"background-color: {value}; color: #ffffff"
    return ""


def _has_edits(state: Any) -> bool:
    return isinstance(state, dict) and any(state.get(k) for k in ("edited_rows", "added_rows", "deleted_rows"))


_MARKDOWN = str.maketrans({c: f"\\{c}" for c in "\\`*_[]<>$~#|"})


def md(text: str) -> str:
    """Data (names, messages) inside a Markdown element reads as typed, never as formatting or a link."""
    return text.translate(_MARKDOWN)
