"""The layer registry: which layers the map has and what each layer's fields are. Data, not code.

Stored in the store as the versioned document `layers` (who, when, message, rollback, like the targets table).
The five shipped layers are its first version; a bureau adds a 学校 or 用地规划 layer without a programmer.

Every layer has the canonical fields (schema.FIELDS: id, names, status, progress …) with their fixed meaning; its
`fields` are the open attributes its files bring (建设单位, 用地面积 …), kept under their original names with a type,
labels in both languages, and where they show. Operations here are pure: they return a new Registry or raise
RegistryError (a locale code and its parameters); the store versions the result.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from urban_plan import fieldtypes, schema

COLLECTION = "layers"
ROLES: tuple[str, ...] = ("overlay", "base")
FAMILIES: tuple[str, ...] = ("point", "line", "polygon")
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
# Ids become store directories, URL values and collection names: never one the app already uses for something else.
RESERVED_IDS = frozenset(
    {"layers", "targets", "views", "store", "auth", "static", "app", "login", "logout", "all", "none", "new", "sources"}
    | {"layer", "geometry", "admin", "history", "upload", "export", "default"}
)
# Frame columns the app uses itself: an attribute may not take these names (it would hide them).
RESERVED_FIELD_NAMES = frozenset({"layer", "geometry", "type", "properties", "bbox"})
COLOUR_PATTERN = re.compile(r"^#[0-9a-fA-F]{6}$")
MAX_NAME_LENGTH = 60
MAX_LAYERS = 60
MAX_FIELDS = 200
# Accents for new layers, in turn: dark enough for white text, apart from the status colours and the shipped ones.
NEW_LAYER_COLOURS = ("#8e24aa", "#ad1457", "#00838f", "#827717", "#283593", "#5d4037", "#4e342e", "#37474f")


class RegistryError(ValueError):
    """A refused registry change: `code` names a locale message (registry.<code>), `params` fill it in."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(f"{code}: {params}")
        self.code = code
        self.params = params


@dataclass(frozen=True)
class FieldDef:
    """One open attribute of a layer, kept under its original name (Chinese names as they are)."""

    name: str
    label_zh: str
    label_en: str
    type: str = "text"  # one of fieldtypes.TYPES
    required: bool = False
    options: tuple[tuple[str, str, str], ...] = ()  # enum: (value, label zh, label en)
    tooltip: bool = False
    details: bool = True
    table: bool = True

    def label(self, lang: str) -> str:
        return (self.label_en if lang == "en" else self.label_zh) or self.name

    def option_values(self) -> tuple[str, ...]:
        return tuple(value for value, _, _ in self.options)

    def option_label(self, value: Any, lang: str) -> str:
        for option, zh, en in self.options:
            if option == value:
                return (en if lang == "en" else zh) or option
        return "" if value is None else str(value)


@dataclass(frozen=True)
class LayerDef:
    """One map layer: names, role, whether it tracks progress, geometry families, accent, order, its fields."""

    id: str
    name_zh: str
    name_en: str
    role: str = "overlay"  # "overlay": follows the filters; "base": always drawn (the offline base map)
    tracks_progress: bool = False  # status and progress required; in the dashboard, the ratings and the pack
    families: frozenset[str] = frozenset(FAMILIES)
    colour: str = "#37474f"  # the layer's accent in legends and charts (statuses style progress features)
    order: int = 0
    archived: bool = False
    fields: tuple[FieldDef, ...] = ()

    def name(self, lang: str) -> str:
        return (self.name_en if lang == "en" else self.name_zh) or self.id

    @property
    def required_fields(self) -> tuple[str, ...]:
        return ("id", "name_zh", "status") if self.tracks_progress else ("id", "name_zh")

    def field(self, name: str) -> FieldDef | None:
        return next((f for f in self.fields if f.name == name), None)

    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def enum_fields(self) -> tuple[FieldDef, ...]:
        return tuple(f for f in self.fields if f.type == "enum" and f.options)


@dataclass(frozen=True)
class Registry:
    """Every layer ever registered (archived ones too: their history stays readable), in display order."""

    layers: tuple[LayerDef, ...] = field(default_factory=tuple)

    @functools.cached_property
    def digest(self) -> str:
        """A short name for this exact registry (computed once per object: caches key on it)."""
        return hashlib.blake2b(repr(self.layers).encode(), digest_size=12).hexdigest()

    def __contains__(self, layer_id: object) -> bool:
        return any(layer.id == layer_id for layer in self.layers)

    def get(self, layer_id: str) -> LayerDef | None:
        return next((layer for layer in self.layers if layer.id == layer_id), None)

    def __getitem__(self, layer_id: str) -> LayerDef:
        found = self.get(layer_id)
        if found is None:
            raise KeyError(layer_id)
        return found

    def ids(self, *, archived: bool = False) -> tuple[str, ...]:
        """Layer ids in display order; archived ones only when asked (history, restore)."""
        return tuple(layer.id for layer in self.ordered() if archived or not layer.archived)

    def ordered(self) -> tuple[LayerDef, ...]:
        return tuple(sorted(self.layers, key=lambda layer: (layer.order, layer.id)))

    def active(self) -> tuple[LayerDef, ...]:
        return tuple(layer for layer in self.ordered() if not layer.archived)

    def overlays(self) -> tuple[str, ...]:
        return tuple(layer.id for layer in self.active() if layer.role == "overlay")

    def bases(self) -> tuple[str, ...]:
        return tuple(layer.id for layer in self.active() if layer.role == "base")

    def progress_layers(self) -> tuple[str, ...]:
        return tuple(layer.id for layer in self.active() if layer.tracks_progress)

    def name(self, layer_id: str, lang: str) -> str:
        layer = self.get(layer_id)
        return layer.name(lang) if layer else layer_id

    def field_label(self, layer_id: str | None, name: str, lang: str) -> str:
        """An attribute's label in the layer that has it ("" for canonical fields: the locale names those)."""
        layer = self.get(layer_id) if layer_id else None
        found = layer.field(name) if layer else None
        if found is None:
            found = next((f for lay in self.layers for f in lay.fields if f.name == name), None)
        return found.label(lang) if found else name

    def attribute_names(self) -> tuple[str, ...]:
        """Every open attribute name of the active layers, first-seen order (the extra columns of a frame)."""
        return tuple(dict.fromkeys(f.name for layer in self.active() for f in layer.fields))

    # --- the stored form -------------------------------------------------------------------------------------

    def to_payload(self) -> dict[str, Any]:
        return {"layers": [_layer_payload(layer) for layer in self.layers]}

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Registry:
        """A registry from its stored form (already validated by `validate_payload`)."""
        return cls(tuple(_layer_from(row) for row in payload["layers"]))


def _layer_payload(layer: LayerDef) -> dict[str, Any]:
    row = dataclasses.asdict(layer)
    row["families"] = sorted(layer.families)
    row["fields"] = [
        {**dataclasses.asdict(f), "options": [{"value": v, "label_zh": zh, "label_en": en} for v, zh, en in f.options]}
        for f in layer.fields
    ]
    return row


def _layer_from(row: Mapping[str, Any]) -> LayerDef:
    fields = tuple(
        FieldDef(
            **{k: v for k, v in f.items() if k != "options"},
            options=tuple((o["value"], o.get("label_zh") or "", o.get("label_en") or "") for o in f.get("options", [])),
        )
        for f in row.get("fields", [])
    )
    return LayerDef(
        **{k: v for k, v in row.items() if k not in ("families", "fields")},
        families=frozenset(row["families"]),
        fields=fields,
    )


# --- the shipped layers ------------------------------------------------------------------------------------------


def builtin() -> Registry:
    """The five layers the app ships with: the registry's first version, and what a store without one reads."""
    return Registry(
        (
            LayerDef("layout", "一城三区", "One city, three districts", "overlay", False,
                     frozenset({"polygon", "point"}), "#6a51a3", 10),
            LayerDef("projects", "五大项目", "Five urban projects", "overlay", True,
                     frozenset(FAMILIES), "#7a4a1e", 20),  # not red: red reads as "late"
            LayerDef("rail", "高铁连接", "High-speed rail link", "overlay", True,
                     frozenset({"point", "line"}), "#1f4e9c", 30),
            LayerDef("roads", "新改扩建道路", "Nine road works", "overlay", True,
                     frozenset({"line"}), "#c26a00", 40),
            LayerDef("context", "底图要素", "Base map features", "base", False,
                     frozenset(FAMILIES), "#6b6b6b", 90),
        )
    )  # fmt: skip


# --- validation of the stored document ---------------------------------------------------------------------------


def validate_payload(payload: Any) -> list[str]:
    """Problems (short English codes, as the store reports them) that stop a registry from being stored."""
    if not isinstance(payload, dict) or set(payload) != {"layers"} or not isinstance(payload["layers"], list):
        return ["layers: expected {'layers': [...]}"]
    if len(payload["layers"]) > MAX_LAYERS:
        return [f"layers: at most {MAX_LAYERS}"]
    try:
        registry = Registry.from_payload(payload)
    except (TypeError, KeyError, AttributeError, ValueError) as exc:
        return [f"layers: malformed ({str(exc)[:120]})"]
    problems: list[str] = []
    seen: set[str] = set()
    for layer in registry.layers:
        try:
            check_layer(layer)
        except RegistryError as exc:
            problems.append(f"{layer.id}: {exc.code} {exc.params}")
        if layer.id in seen:
            problems.append(f"{layer.id}: duplicate id")
        seen.add(layer.id)
    return problems


def check_layer(layer: LayerDef) -> None:
    """Raise RegistryError for the first rule a layer definition breaks."""
    if not isinstance(layer.id, str) or not ID_PATTERN.fullmatch(layer.id):
        raise RegistryError("bad_id", id=str(layer.id)[:40])
    for value in (layer.name_zh, layer.name_en):
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME_LENGTH:
            raise RegistryError("bad_name", id=layer.id, max=MAX_NAME_LENGTH)
    if layer.role not in ROLES:
        raise RegistryError("bad_role", id=layer.id, found=str(layer.role)[:20])
    if not isinstance(layer.tracks_progress, bool) or not isinstance(layer.archived, bool):
        raise RegistryError("bad_flag", id=layer.id)
    if not layer.families or not layer.families <= set(FAMILIES):
        raise RegistryError("bad_families", id=layer.id, found=",".join(sorted(map(str, layer.families)))[:40])
    if not isinstance(layer.colour, str) or not COLOUR_PATTERN.fullmatch(layer.colour):
        raise RegistryError("bad_colour", id=layer.id, found=str(layer.colour)[:20])
    if not isinstance(layer.order, int) or isinstance(layer.order, bool) or not -10_000 <= layer.order <= 10_000:
        raise RegistryError("bad_order", id=layer.id, found=str(layer.order)[:20])
    if len(layer.fields) > MAX_FIELDS:
        raise RegistryError("too_many_fields", id=layer.id, max=MAX_FIELDS)
    names: set[str] = set()
    for f in layer.fields:
        check_field(f)
        if f.name in names:
            raise RegistryError("duplicate_field", id=layer.id, field=f.name)
        names.add(f.name)


def check_field(f: FieldDef) -> None:
    name = f.name
    if not isinstance(name, str):
        raise RegistryError("bad_field_name", field=str(name)[:64])
    key = name.strip().casefold()
    if key in {n.casefold() for n in schema.FIELDS}:  # " Status" would shadow the canonical status everywhere
        raise RegistryError("field_is_canonical", field=name)
    if not name or name != name.strip() or len(name) > 64 or any(ord(c) < 32 for c in name):
        raise RegistryError("bad_field_name", field=name.encode("unicode_escape").decode()[:64])
    if key in RESERVED_FIELD_NAMES or name.startswith("_"):
        raise RegistryError("field_reserved", field=name)
    if f.type not in fieldtypes.TYPES:
        raise RegistryError("bad_field_type", field=name, found=str(f.type)[:20])
    for value in (f.label_zh, f.label_en):
        if not isinstance(value, str) or len(value) > MAX_NAME_LENGTH:
            raise RegistryError("bad_field_label", field=name, max=MAX_NAME_LENGTH)
    for flag in (f.required, f.tooltip, f.details, f.table):
        if not isinstance(flag, bool):
            raise RegistryError("bad_flag", id=name)
    if f.type == "enum":
        if not all(isinstance(o, tuple) and len(o) == 3 for o in f.options):
            raise RegistryError("bad_enum", field=name, max=fieldtypes.MAX_ENUM_OPTIONS)
        values = [v for v, _, _ in f.options]
        if not all(isinstance(v, str) and v.strip() and v == v.strip() and len(v) <= 200 for v in values):
            raise RegistryError("bad_enum", field=name, max=fieldtypes.MAX_ENUM_OPTIONS)
        if not values or len(values) > fieldtypes.MAX_ENUM_OPTIONS:
            raise RegistryError("bad_enum", field=name, max=fieldtypes.MAX_ENUM_OPTIONS)
        if len(set(values)) != len(values):
            duplicate = next(v for v in values if values.count(v) > 1)
            raise RegistryError("duplicate_option", field=name, found=duplicate)
        for _, zh, en in f.options:
            if not (isinstance(zh, str) and isinstance(en, str)) or max(len(zh), len(en)) > MAX_NAME_LENGTH:
                raise RegistryError("bad_field_label", field=name, max=MAX_NAME_LENGTH)
    elif f.options:
        raise RegistryError("options_need_enum", field=name)


# --- operations: each returns a new registry, or raises RegistryError with the reason ---------------------------


def add_layer(
    registry: Registry,
    layer_id: str,
    *,
    name_zh: str,
    name_en: str,
    role: str,
    tracks_progress: bool = False,
    families: Iterable[str] = FAMILIES,
    colour: str | None = None,
    fields: Iterable[FieldDef] = (),
) -> Registry:
    layer_id = layer_id.strip() if isinstance(layer_id, str) else ""
    if layer_id in registry:
        existing = registry[layer_id]
        raise RegistryError("id_exists", id=layer_id, name=existing.name_zh, archived=existing.archived)
    if layer_id.lower() in RESERVED_IDS:
        raise RegistryError("id_reserved", id=layer_id)
    if not ID_PATTERN.fullmatch(layer_id):
        raise RegistryError("bad_id", id=layer_id.encode("unicode_escape").decode()[:40])
    if len(registry.layers) >= MAX_LAYERS:
        raise RegistryError("too_many_layers", max=MAX_LAYERS)
    if role not in ROLES:  # before the order below, which is counted per role
        raise RegistryError("bad_role", id=layer_id, found=str(role)[:20])
    used = {layer.colour.lower() for layer in registry.layers}
    colour = colour or next((c for c in NEW_LAYER_COLOURS if c not in used), NEW_LAYER_COLOURS[0])
    order = max((layer.order for layer in registry.layers if layer.role == role), default=0) + 10
    layer = LayerDef(
        layer_id,
        (name_zh or "").strip(),
        (name_en or "").strip(),
        role,
        bool(tracks_progress),
        frozenset(families),
        colour,
        order,
        False,
        tuple(fields),
    )
    check_layer(layer)
    _check_names_unique(registry, layer)
    return Registry((*registry.layers, layer))


def add_definition(registry: Registry, layer: LayerDef) -> Registry:
    """Add a layer drafted elsewhere (a new layer reviewed on the upload page): the same rules as add_layer."""
    return add_layer(
        registry,
        layer.id,
        name_zh=layer.name_zh,
        name_en=layer.name_en,
        role=layer.role,
        tracks_progress=layer.tracks_progress,
        families=layer.families,
        colour=layer.colour,
        fields=layer.fields,
    )


EDITABLE = ("name_zh", "name_en", "role", "tracks_progress", "families", "colour", "order")


def edit_layer(registry: Registry, layer_id: str, **changes: Any) -> Registry:
    """Change a layer's metadata (names, role, progress tracking, families, colour, order)."""
    layer = _existing(registry, layer_id)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise RegistryError("not_editable", field=", ".join(sorted(unknown)))
    clean = {k: (v.strip() if isinstance(v, str) else v) for k, v in changes.items() if v is not None}
    if "families" in clean:
        if isinstance(clean["families"], str):  # "point,line" from a form or the command line
            clean["families"] = [x.strip() for x in clean["families"].split(",") if x.strip()]
        clean["families"] = frozenset(clean["families"])
    edited = dataclasses.replace(layer, **clean)
    if edited == layer:
        raise RegistryError("no_change", id=layer_id)
    check_layer(edited)
    _check_names_unique(registry, edited)
    return _replace(registry, edited)


def set_archived(registry: Registry, layer_id: str, archived: bool) -> Registry:
    layer = _existing(registry, layer_id)
    if layer.archived == archived:
        raise RegistryError("already_archived" if archived else "not_archived", id=layer_id)
    return _replace(registry, dataclasses.replace(layer, archived=archived))


def move(registry: Registry, layer_id: str, step: int) -> Registry:
    """Move a layer up (-1) or down (+1) among the active layers. Only the moved layer's order changes when
    there is room between its new neighbours (so an editor of that layer alone may move it); otherwise every
    active layer is renumbered 10, 20, 30 …"""
    ordered = list(registry.active())
    index = next((i for i, layer in enumerate(ordered) if layer.id == layer_id), None)
    if index is None:
        if _existing(registry, layer_id).archived:
            raise RegistryError("is_archived", id=layer_id)
        raise RegistryError("no_such_layer", id=layer_id)
    if not isinstance(step, int) or isinstance(step, bool) or step == 0:
        raise RegistryError("bad_step", id=layer_id, found=str(step)[:20])
    target = max(0, min(len(ordered) - 1, index + step))
    if target == index:
        raise RegistryError("cannot_move", id=layer_id)
    layer = ordered.pop(index)
    ordered.insert(target, layer)
    before = ordered[target - 1].order if target > 0 else None
    after = ordered[target + 1].order if target + 1 < len(ordered) else None
    low = before if before is not None else (after - 20 if after is not None else 0)
    high = after if after is not None else low + 20
    middle = (low + high) // 2
    if high - low >= 2 and -10_000 <= middle <= 10_000:  # a free order strictly between the neighbours
        return _replace(registry, dataclasses.replace(layer, order=middle))
    renumbered = {each.id: (i + 1) * 10 for i, each in enumerate(ordered)}
    return Registry(
        tuple(dataclasses.replace(each, order=renumbered.get(each.id, each.order)) for each in registry.layers)
    )


def declare_fields(registry: Registry, layer_id: str, fields: Iterable[FieldDef]) -> Registry:
    """Add attributes an upload brings for the first time; enum values it brings are added to declared enums."""
    layer = _existing(registry, layer_id)
    current = {f.name: f for f in layer.fields}
    out = list(layer.fields)
    for new in fields:
        old = current.get(new.name)
        if old is None:
            check_field(new)
            out.append(new)
            current[new.name] = new
        elif old.type == "enum" and new.type == "enum":
            known = old.option_values()
            extra = tuple(o for o in new.options if o[0] not in known)
            if extra:
                merged = dataclasses.replace(old, options=old.options + extra)
                out[out.index(old)] = merged
                current[new.name] = merged
    return _replace(registry, dataclasses.replace(layer, fields=tuple(out)))


FIELD_EDITABLE = ("label_zh", "label_en", "type", "required", "options", "tooltip", "details", "table")


def edit_field(registry: Registry, layer_id: str, name: str, values: Iterable[Any] = (), **changes: Any) -> Registry:
    """Change an attribute's labels, type, options, required-ness or where it shows (its name is the column name
    in the stored data and never changes). `values` are the values the layer holds now: a type (or option list)
    they do not fit is refused, naming the first value that does not. A field made an enum without options gets
    its current values as options."""
    layer = _existing(registry, layer_id)
    old = layer.field(name)
    if old is None:
        raise RegistryError("no_such_field", id=layer_id, field=name)
    unknown = set(changes) - set(FIELD_EDITABLE)
    if unknown:
        raise RegistryError("field_not_editable", field=name, found=", ".join(sorted(unknown)))
    changes = {k: v for k, v in changes.items() if v is not None}
    values = list(values)
    if "options" in changes:
        changes["options"] = _options(name, changes["options"])
    new = dataclasses.replace(old, **changes)
    if new.type != "enum" and new.options:
        new = dataclasses.replace(new, options=())
    if new.type == "enum" and not new.options:
        present = [v.strip() if isinstance(v, str) else v for v in values if not fieldtypes.is_blank(v)]
        if not all(isinstance(v, str) for v in present):
            bad = next(v for v in present if not isinstance(v, str))
            raise RegistryError("type_does_not_fit", field=name, type="enum", found=str(bad)[:80])
        new = dataclasses.replace(new, options=tuple((v, v, v) for v in dict.fromkeys(present)))
    if new == old:
        raise RegistryError("no_change", id=f"{layer_id}.{name}")
    check_field(new)
    for value in values:
        if fieldtypes.fits(value, new.type, new.option_values()):
            continue
        if new.type == "enum" and isinstance(value, str) and old.type == "enum":
            raise RegistryError("option_in_use", field=name, found=value[:80])
        raise RegistryError("type_does_not_fit", field=name, type=new.type, found=str(value)[:80])
    if new.required and any(fieldtypes.is_blank(v) for v in values):
        raise RegistryError("required_has_blanks", field=name)
    fields = tuple(new if f.name == name else f for f in layer.fields)
    return _replace(registry, dataclasses.replace(layer, fields=fields))


def _options(name: str, options: Any) -> tuple[tuple[str, str, str], ...]:
    """Enum options from a form or a payload: (value, zh, en) triples, {"value", "label_zh", "label_en"} rows, or
    bare values (their own labels)."""
    out = []
    try:
        for option in options:
            if isinstance(option, str):
                option = (option, option, option)
            elif isinstance(option, Mapping):
                option = (option["value"], option.get("label_zh") or "", option.get("label_en") or "")
            value, zh, en = option
            value = value.strip() if isinstance(value, str) else value
            out.append((value, zh.strip() if isinstance(zh, str) else zh, en.strip() if isinstance(en, str) else en))
    except (TypeError, ValueError, KeyError) as exc:
        raise RegistryError("bad_enum", field=name, max=fieldtypes.MAX_ENUM_OPTIONS) from exc
    return tuple(out)


def propose_fields(names: Iterable[str], columns: Mapping[str, list[Any]]) -> tuple[FieldDef, ...]:
    """Field definitions for a file's extra columns: the type guessed from the values, the name as both labels."""
    out = []
    for name in names:
        type_, options = fieldtypes.infer(columns.get(name, []))
        out.append(
            FieldDef(
                name=name,
                label_zh=name,
                label_en=name,
                type=type_,
                options=tuple((v, v, v) for v in options),
            )
        )
    return tuple(out)


def slug(text: str, taken: Iterable[str] = ()) -> str:
    """A valid, free layer id proposal from a name ("Primary schools" -> primary_schools; 学校 -> layer_1): never
    reserved, never one in `taken` (pass the registry's ids)."""
    used = set(taken) | RESERVED_IDS
    base = re.sub(r"[^a-z0-9]+", "_", (text or "").lower()).strip("_")[:32].strip("_")
    if base and not base[0].isalpha():
        base = f"layer_{base}"[:32].strip("_")
    if base and ID_PATTERN.fullmatch(base) and base not in used:
        return base
    stem = (base or "layer")[:28].rstrip("_")
    number = 1
    while f"{stem}_{number}" in used:
        number += 1
    return f"{stem}_{number}"


def _existing(registry: Registry, layer_id: str) -> LayerDef:
    layer = registry.get(layer_id)
    if layer is None:
        raise RegistryError("no_such_layer", id=str(layer_id)[:40])
    return layer


def _replace(registry: Registry, layer: LayerDef) -> Registry:
    check_layer(layer)
    return Registry(tuple(layer if existing.id == layer.id else existing for existing in registry.layers))


def _check_names_unique(registry: Registry, layer: LayerDef) -> None:
    """Two layers called 学校 could not be told apart in the legend, the filters or the history."""
    for other in registry.layers:
        if other.id == layer.id:
            continue
        for mine, theirs in ((layer.name_zh, other.name_zh), (layer.name_en, other.name_en)):
            if mine.strip().casefold() == theirs.strip().casefold():
                raise RegistryError("name_exists", name=mine, other=other.id)
