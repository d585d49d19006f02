"""Layer administration through the store: add, edit, reorder, archive and restore layers, and edit their fields.

Every operation reads the latest registry version, applies one pure operation of registry.py and publishes the
result as a new version based on it: a registry changed meanwhile is a store ConflictError, a refused change a
RegistryError, missing rights a PermissionDenied (the store checks them: an editor of some layers may change only
those layers' definitions, never add one). Nothing is written on refusal; history is never rewritten.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from urban_plan import fieldtypes, i18n, problems, registry, schema
from urban_plan.registry import FieldDef, Registry, RegistryError
from urban_plan.store import Actor, LayerStore, PermissionDenied, StoreError, VersionInfo

MAX_MESSAGE_LENGTH = 500


def add_layer(
    store: LayerStore,
    actor: Actor,
    layer_id: str,
    *,
    name_zh: str,
    name_en: str,
    role: str,
    tracks_progress: bool = False,
    families: Iterable[str] = registry.FAMILIES,
    colour: str | None = None,
    fields: Iterable[FieldDef] = (),
    message: str = "",
) -> VersionInfo:
    """Register a new, empty layer (its first features come with an upload)."""
    _require(actor, registry.COLLECTION)  # only an editor of every layer (or of the registry) adds layers
    fields = tuple(fields)

    def op(current: Registry) -> Registry:
        return registry.add_layer(
            current,
            layer_id,
            name_zh=name_zh,
            name_en=name_en,
            role=role,
            tracks_progress=tracks_progress,
            families=families,
            colour=colour,
            fields=fields,
        )

    return _publish(store, actor, op, message or change_sentence("add", id=layer_id, zh=name_zh, en=name_en))


def edit_layer(store: LayerStore, actor: Actor, layer_id: str, message: str = "", **changes: Any) -> VersionInfo:
    """Change a layer's names, role, progress tracking, geometry families, colour or order. Tracking progress (then
    every feature needs a status) or fewer geometry families must still fit the layer's current features."""
    _require(actor, layer_id)
    stored = _layer_payloads(store, layer_id) if {"tracks_progress", "families"} & set(changes) else []

    def op(current: Registry) -> Registry:
        edited = registry.edit_layer(current, layer_id, **changes)
        _check_features_fit(edited[layer_id], stored)
        return edited

    return _publish(store, actor, op, message or change_sentence("edit", id=layer_id, what=", ".join(sorted(changes))))


def archive(store: LayerStore, actor: Actor, layer_id: str, message: str = "", *, drafts: int = 0) -> VersionInfo:
    """Hide a layer everywhere (map, table, dashboard, exports, uploads); its versions stay readable and it can be
    restored. `drafts`: unpublished work on this layer the caller holds (an upload preview, table edits): refused
    while there is any, so nobody loses work to an archive."""
    _require(actor, layer_id)
    if drafts:
        raise RegistryError("has_drafts", id=layer_id, count=drafts)
    return _publish(
        store,
        actor,
        lambda current: registry.set_archived(current, layer_id, True),
        message or change_sentence("archive", id=layer_id),
    )


def restore(store: LayerStore, actor: Actor, layer_id: str, message: str = "") -> VersionInfo:
    """Bring an archived layer back, with all its history."""
    _require(actor, layer_id)
    return _publish(
        store,
        actor,
        lambda current: registry.set_archived(current, layer_id, False),
        message or change_sentence("restore", id=layer_id),
    )


def move(store: LayerStore, actor: Actor, layer_id: str, step: int, message: str = "") -> VersionInfo:
    """Move a layer up (step < 0) or down (step > 0) in the legend, the layer control and every list."""
    _require(actor, layer_id)
    return _publish(
        store,
        actor,
        lambda current: registry.move(current, layer_id, step),
        message or change_sentence("move_up" if step < 0 else "move_down", id=layer_id),
    )


def edit_field(
    store: LayerStore, actor: Actor, layer_id: str, name: str, message: str = "", **changes: Any
) -> VersionInfo:
    """Change an attribute's labels, type, enum options, required-ness or where it shows. A type, option list or
    required flag that the layer's stored values do not fit is refused, naming the first value that does not.

    A new type that every stored value can be read as (text "2400" as a number, 2400 as text, 2026/9/30 as a date)
    is not refused: the registry version is followed by a layer version holding the converted values, so the data
    always fits its definition. Without this, a column first guessed as text could never become a number: every
    later upload would be read as text again."""
    _require(actor, layer_id)
    payloads = _layer_payloads(store, layer_id)
    values = [value for payload in payloads for value in _column(payload, name)]
    what = ", ".join(sorted(changes))
    message = message or change_sentence("field", id=layer_id, field=name, what=what)

    def op(current: Registry) -> Registry:
        return registry.edit_field(current, layer_id, name, values, **changes)

    try:
        return _publish(store, actor, op, message)
    except RegistryError as refused:
        if refused.code != "type_does_not_fit" or changes.get("type") is None or len(payloads) != 1:
            raise  # (two payloads: a backdated version is in force today; converting would mix them up)
        converted = _converted(payloads[0], name, changes["type"])
        if converted is None:
            raise
        return _edit_field_converting(store, actor, layer_id, name, changes, converted, message)


def rollback(store: LayerStore, actor: Actor, to: int, message: str = "") -> VersionInfo:
    """Publish registry version `to` again as a new version. Layers added since then are kept, archived: their
    data and history stay reachable (and their ids taken), where a plain rollback would orphan them."""
    _require(actor, registry.COLLECTION)
    old = Registry.from_payload(store.load(registry.COLLECTION, to))

    def op(current: Registry) -> Registry:
        added = tuple(dataclasses.replace(layer, archived=True) for layer in current.layers if layer.id not in old)
        return Registry(old.layers + added)

    latest = store.latest(registry.COLLECTION)
    return _publish(
        store,
        actor,
        op,
        message or change_sentence("rollback", to=to),
        restored_from=to if latest is not None else None,
    )


def error_text(exc: Exception, lang: str) -> str:
    """The user-facing sentence for a refusal of any of these operations (or of the store), in `lang`."""
    if isinstance(exc, RegistryError):
        params = {key: _param_text(key, value, lang) for key, value in exc.params.items()}
        key = f"registry.{exc.code}"
        if exc.code == "id_exists" and exc.params.get("archived"):
            key = "registry.id_exists_archived"
        if not i18n.has(key, lang) and not i18n.has(key):
            key = "registry.unknown_error"
            params["code"] = exc.code
        return i18n.t(key, lang, **params)
    if isinstance(exc, StoreError):
        return problems.store_message(exc, lang)
    if isinstance(exc, OSError):
        return problems.write_error_message(exc, lang)
    return i18n.t("registry.unknown_error", lang, code=type(exc).__name__)


# --- helpers -----------------------------------------------------------------------------------------------------


def _publish(
    store: LayerStore,
    actor: Actor,
    op: Callable[[Registry], Registry],
    message: str,
    restored_from: int | None = None,
) -> VersionInfo:
    """Apply `op` to the latest registry version and publish the result based on that version."""
    latest = store.latest(registry.COLLECTION)
    if latest is None:  # a store made before layers were data: its registry is the shipped one
        current, base = registry.builtin(), 0
    else:
        current = Registry.from_payload(store.load_shared(registry.COLLECTION, latest.number))
        base = latest.number
    changed = op(current)
    return store.publish(
        registry.COLLECTION,
        changed.to_payload(),
        actor=actor,
        base_version=base,
        message=message.strip()[:MAX_MESSAGE_LENGTH],
        restored_from=restored_from,
    )


def _require(actor: Actor, collection: str) -> None:
    """Refuse early (before reading any layer) an actor who can change neither the registry nor this layer; the
    store checks again, precisely, when publishing."""
    if not (actor.may_write(registry.COLLECTION) or actor.may_write(collection)):
        raise PermissionDenied("not_allowed", user=actor.name, collection=collection)


def _layer_payloads(store: LayerStore, layer_id: str) -> list[dict[str, Any]]:
    """The layer's latest version and the one in force today (they differ after a backfill): what a change to its
    definition must still fit. Empty for a layer with no versions yet (or not in the registry: the op says so)."""
    if not store.is_layer(layer_id):
        return []
    numbers = {info.number for info in (store.latest(layer_id), store.current(layer_id)) if info is not None}
    return [store.load_shared(layer_id, number) for number in sorted(numbers)]


def _column(payload: dict[str, Any], name: str) -> list[Any]:
    return [
        (feature.get("properties") or {}).get(name)
        for feature in payload.get("features", [])
        if isinstance(feature, dict)
    ]


def _converted(payload: dict[str, Any], name: str, type_: str) -> dict[str, Any] | None:
    """The layer with every value of `name` read as `type_`, or None when some value cannot be read so."""
    features = []
    for feature in payload.get("features", []):
        props = dict(feature.get("properties") or {})
        if name in props:
            value, ok = fieldtypes.coerce(props[name], type_)
            if not ok:
                return None
            props[name] = value
        features.append({**feature, "properties": props})
    return {**payload, "features": features}


def _edit_field_converting(
    store: LayerStore,
    actor: Actor,
    layer_id: str,
    name: str,
    changes: dict[str, Any],
    converted: dict[str, Any],
    message: str,
) -> VersionInfo:
    """The registry version, then the layer's converted version; if the second cannot be written (someone
    published the layer meanwhile), the registry change is undone and the refusal raised."""
    if not actor.may_write(layer_id):
        raise PermissionDenied("not_allowed", user=actor.name, collection=layer_id)
    layer_base = store.latest(layer_id)
    values = _column(converted, name)
    version = _publish(store, actor, lambda current: registry.edit_field(current, layer_id, name, values, **changes),
                       message)  # fmt: skip
    try:
        store.publish(
            layer_id,
            converted,
            actor=actor,
            base_version=layer_base.number if layer_base else 0,
            message=change_sentence("converted", id=layer_id, field=name, type=changes["type"])[:MAX_MESSAGE_LENGTH],
        )
    except StoreError:
        undo = Registry.from_payload(store.load(registry.COLLECTION, version.base))
        store.publish(
            registry.COLLECTION,
            undo.to_payload(),
            actor=actor,
            base_version=version.number,
            message=change_sentence("undo", to=version.base),
            restored_from=version.base,
        )
        raise
    return version


def _check_features_fit(layer: registry.LayerDef, payloads: list[dict[str, Any]]) -> None:
    for payload in payloads:
        errors = [p for p in schema.validate_collection(payload, layer) if p.severity == "error"]
        if errors:
            raise RegistryError("layer_does_not_fit", id=layer.id, count=len(errors), problem=errors[0])


def change_sentence(kind: str, lang: str | None = None, **params: Any) -> str:
    """A sentence naming a registry change (kind: add, edit, archive, restore, move_up, move_down, field): in `lang`,
    or in both languages (lang None) for the history message of a change nobody described."""
    langs = (lang,) if lang else i18n.LANGS
    texts = (
        i18n.t(
            f"registry.message.{kind}", each, **{key: _param_text(key, value, each) for key, value in params.items()}
        )
        for each in langs
    )
    return " / ".join(dict.fromkeys(texts))


def _param_text(key: str, value: Any, lang: str) -> str:
    if isinstance(value, schema.Problem):
        where = "" if value.feature == "*" else f"[{value.feature}{'.' + value.field if value.field else ''}] "
        return where + problems.message(value, lang)
    if key == "type" and value in fieldtypes.TYPES:
        return i18n.t(f"registry.type.{value}", lang)
    if isinstance(value, bool):
        return i18n.t("registry.yes" if value else "registry.no", lang)
    return str(value)
