"""Features as a plain table for people: localised headers and values, a layer's own columns, no geometry."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from urban_plan import diff, display, publishing
from urban_plan import frame as frames
from urban_plan.i18n import label, t
from urban_plan.registry import FieldDef, LayerDef, Registry, builtin
from urban_plan.store import VersionInfo

_BUILTIN = builtin()  # names for a table made without a registry (the shipped layers)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TABLE_FIELDS = (
    "name",
    "layer",
    "kind",
    "status",
    "progress",
    "start_date",
    "end_date",
    "investment_yi",
    "confidence",
    "source",
    "note",
    "id",
)


# Columns about construction: a table of layers that do not track progress (schools, parks) leaves them out.
PROGRESS_COLUMNS = ("status", "progress", "start_date", "end_date", "investment_yi")


def feature_table(
    frame: pd.DataFrame, lang: str, registry: Registry | None = None, *, progress_columns: bool = True
) -> pd.DataFrame:
    """One row per feature; progress stays numeric (null when not reported) so it sorts and charts. After the
    canonical columns come the layers' own attributes marked for the table in the registry, headed by their labels
    in the reader's language (enum values by their labels, nested values as compact JSON). Layer names come from
    the registry; without one, from the shipped layers, and attributes are headed by their own names. Without
    `progress_columns`, the construction columns (status, progress, dates, investment) are left out."""
    attributes = _table_attributes(frame, registry, lang)
    untracked = {layer.id for layer in registry.layers if not layer.tracks_progress} if registry else set()
    rows = []
    for _, row in frame.iterrows():
        data = display.clean(row.to_dict())
        layer = data.get("layer")
        rows.append(
            {
                "name": display.name(data, lang),
                "layer": (registry or _BUILTIN).name(layer, lang),
                "kind": label("kind", data.get("kind"), lang) if data.get("kind") else "",
                "status": label("status", data.get("status"), lang) if data.get("status") else "",
                "progress": data.get("progress"),
                **_construction(data, layer in untracked, lang),
                "confidence": display.confidence_text(data.get("confidence"), lang),
                "source": display.local_text(data.get("source"), lang),
                "note": display.local_text(data.get("note"), lang),
                "id": f"{layer}/{data.get('id')}",
                **{
                    header: attribute_text(data.get(name), specs.get(layer), lang) for name, header, specs in attributes
                },
            }
        )
    table = pd.DataFrame(rows, columns=[*TABLE_FIELDS, *(header for _, header, _ in attributes)])
    for _, header, specs in attributes:
        if specs and all(spec.type == "number" for spec in specs.values()):
            table[header] = pd.to_numeric(table[header], errors="coerce")  # sorts as numbers; CSV keeps them numbers
    if not progress_columns:
        table = table.drop(columns=list(PROGRESS_COLUMNS))
    return table.rename(columns=headers(lang))


def _construction(data: dict[str, Any], untracked: bool, lang: str) -> dict[str, str]:
    """Dates and investment as read; in a layer that does not track progress (schools) a missing one is an empty
    cell, not "no data" or "not public": nothing was expected there. Values it does have are shown."""
    shown = {
        "start_date": display.date_text(data.get("start_date"), lang),
        "end_date": display.date_text(data.get("end_date"), lang),
        "investment_yi": display.investment_text(data.get("investment_yi"), lang),
    }
    return {k: ("" if untracked and data.get(k) is None else v) for k, v in shown.items()}


def attribute_text(value: Any, spec: FieldDef | None, lang: str) -> Any:
    """An open attribute's value as the table shows it: numbers stay numbers, enum values by their label,
    booleans in words, nested values as compact JSON, anything missing as an empty cell."""
    if value is None or (isinstance(value, float) and value != value):
        return None if spec is not None and spec.type == "number" else ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, bool):
        return t("tables2.yes" if value else "tables2.no", lang)
    if spec is not None and spec.type == "enum":
        return spec.option_label(value, lang)
    if spec is not None and spec.type == "number":
        return value
    return value if isinstance(value, str) else str(value)


def _table_attributes(
    frame: pd.DataFrame, registry: Registry | None, lang: str
) -> list[tuple[str, str, dict[str, FieldDef]]]:
    """(attribute name, header, {layer id: its definition}) for the frame's attribute columns shown in the table,
    in the registry's layer and field order. A header that would repeat another column's gets the attribute's name
    in brackets: two columns must never share a header (and a table with such columns would not show)."""
    present = set(frames.attribute_columns(frame))
    if not present:
        return []
    taken = {*headers(lang).values(), *TABLE_FIELDS}  # the row dicts use the keys before the rename
    out: list[tuple[str, str, dict[str, FieldDef]]] = []
    if registry is None:
        names = [n for n in frame.columns if n in present]
        specs_of: dict[str, dict[str, FieldDef]] = {name: {} for name in names}
        labels = {name: name for name in names}
    else:
        in_frame = set(frame["layer"].dropna().unique()) if len(frame) else set()
        specs_of, labels = {}, {}
        for layer in registry.ordered():
            if layer.id not in in_frame:
                continue
            for spec in layer.fields:
                if spec.name in present and spec.table:
                    specs_of.setdefault(spec.name, {})[layer.id] = spec
                    labels.setdefault(spec.name, spec.label(lang))
        names = list(specs_of)
    for name in names:
        header = labels[name]
        if header in taken:
            header = f"{header} ({name})"
        n = 2
        while header in taken:
            header, n = f"{labels[name]} ({name} {n})", n + 1
        taken.add(header)
        out.append((name, header, specs_of[name]))
    return out


def csv_bytes(table: pd.DataFrame) -> bytes:
    """A table as CSV for Excel: UTF-8 with a BOM (Excel on Chinese Windows reads UTF-8 only then), and every text
    cell that a spreadsheet would run as a formula prefixed with a single quote (OWASP's CSV-injection advice).

    Only text is touched: a number such as -3.5 stays a number; the text "-3.5" becomes "'-3.5". Every
    spreadsheet export goes through here (a test looks for any other CSV writer).
    """
    safe = table.rename(columns=lambda name: _guard(name) if isinstance(name, str) else name)
    safe = safe.apply(lambda column: column if pd.api.types.is_numeric_dtype(column) else column.map(_guard))
    # CRLF rows (RFC 4180): then the csv module also quotes a lone \r in a cell, which would otherwise split the row.
    return safe.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def _guard(value: Any) -> Any:
    # A leading = + - @ starts a formula; tab and carriage return are stripped by some importers, then it does too.
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def headers(lang: str) -> dict[str, str]:
    return {name: t(f"field.{name}", lang) for name in TABLE_FIELDS}


def version_rows(versions: list[VersionInfo], current: VersionInfo | None, lang: str) -> list[dict[str, str]]:
    """A layer's history for people, newest first: who, when (Beijing time), as of, what changed, why."""
    rows = []
    for v in reversed(versions):
        counts = v.counts or {}
        change = f"+{counts.get('added', 0)} −{counts.get('removed', 0)} ~{counts.get('changed', 0)}" if counts else ""
        flags = []
        if current is not None and v.number == current.number:
            flags.append(t("history.current", lang))
        if v.restored_from:
            flags.append(t("history.restored", lang, number=v.restored_from))
        rows.append(
            {
                t("history.col_version", lang): f"v{v.number}",
                t("history.col_as_of", lang): v.as_of,
                t("history.col_saved", lang): display.local_time(v.saved_at),
                t("history.col_author", lang): v.author,
                t("history.col_changes", lang): change,
                t("history.col_total", lang): str(counts.get("total", "")),
                t("history.col_note", lang): " · ".join(flags),
                t("history.col_message", lang): v.message,
            }
        )
    return rows


def change_table(
    changes: diff.CollectionDiff,
    lang: str,
    layer: LayerDef | None = None,
    names: dict[str, str] | None = None,
) -> pd.DataFrame:
    """What a version changed, for people (the upload preview's table: open attributes by their labels in `layer`),
    with each feature named in the reader's language: `names` maps feature id -> name (default: the Chinese name
    the diff keeps)."""
    table = publishing.change_table(changes, lang, layer)
    if names:
        table[t("diff.col_name", lang)] = [names.get(c.id) or c.name_zh for c in changes.rows()]
    return table


def feature_names(lang: str, *collections: dict[str, Any] | None) -> dict[str, str]:
    """Feature id -> name in the reader's language, from the given FeatureCollections (later ones win)."""
    out: dict[str, str] = {}
    for fc in collections:
        for feature in (fc or {}).get("features", []):
            props = feature.get("properties") or {}
            if props.get("id"):
                out[str(props["id"])] = display.name(props, lang)
    return out


def registry_rows(registry: Registry, lang: str) -> list[dict[str, str]]:
    """A version of the layer registry for people: one row per layer, archived ones marked, its fields listed."""
    rows = []
    for layer in registry.ordered():
        fields = t("filters.list_separator", lang).join(f"{f.label(lang)} ({f.name})" for f in layer.fields)
        rows.append(
            {
                t("tables2.col_layer_id", lang): layer.id,
                t("tables2.col_layer_name", lang): layer.name(lang),
                t("tables2.col_role", lang): t(f"tables2.role_{layer.role}", lang),
                t("tables2.col_progress", lang): t("tables2.yes" if layer.tracks_progress else "tables2.no", lang),
                t("tables2.col_state", lang): t("tables2.archived" if layer.archived else "tables2.active", lang),
                t("tables2.col_fields", lang): fields or "—",
            }
        )
    return rows
