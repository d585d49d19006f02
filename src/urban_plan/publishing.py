"""Upload -> preview -> publish, and rollback: the one path the page and the CLI both take to change a layer."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass

import pandas as pd

from urban_plan import diff, ingest, registry
from urban_plan.i18n import t
from urban_plan.registry import LayerDef
from urban_plan.schema import Problem
from urban_plan.store import (
    Actor,
    ConflictError,
    InvalidPayload,
    LayerStore,
    PermissionDenied,
    StoreError,
    VersionInfo,
    validate_payload,
)

# An upload that removes at least this share of a layer's features (or leaves it empty) must be confirmed.
LARGE_REMOVAL_SHARE = 0.5


class NeedsConfirmation(StoreError):
    """The upload would empty a layer or remove most of its features: publish again with confirmation."""


class UploadRefused(InvalidPayload):
    """The file does not fit the layer (as the editor defined it): `problems` say where; nothing was written."""

    def __init__(self, code: str, problems: list[Problem] | None = None, **params: object) -> None:
        super().__init__(code, **params)
        self.problems = list(problems or [])


@dataclass
class Preview:
    """What publishing this upload would do, against the version that is current now."""

    layer: str
    result: ingest.Result
    base: VersionInfo | None  # the latest version when the preview was made: the publish's optimistic base
    against: VersionInfo | None  # the version the diff compares with (current as of today)
    diff: diff.CollectionDiff | None
    name: str = ""  # the uploaded file's name: the registry version that declares its new fields names it

    @property
    def base_number(self) -> int:
        return self.base.number if self.base else 0

    @property
    def base_counts(self) -> dict[str, int] | None:
        """The diff's counts when it was made against the publish's base (then the store need not diff again)."""
        if self.diff is None or (self.against.number if self.against else 0) != self.base_number:
            return None
        return self.diff.counts()

    @property
    def large_removal(self) -> bool:
        if self.diff is None or self.diff.old_total == 0:
            return False
        removed = len(self.diff.removed)
        return self.diff.new_total == 0 or removed >= max(1, math.ceil(self.diff.old_total * LARGE_REMOVAL_SHARE))


def preview(store: LayerStore, name: str, data: bytes, options: ingest.Options) -> Preview:
    """Read and check an upload against the layer as the store defines it (its declared fields), and diff it
    against the layer's current version. Writes nothing."""
    if options.layer_def is None:
        options = dataclasses.replace(options, layer_def=store.registry().get(options.layer))
    result = ingest.read_upload(name, data, options)
    if not store.is_layer(options.layer):  # unknown here (a layer of the shipped set the store does not have)
        return Preview(options.layer, result, None, None, None, name)
    base = store.latest(options.layer)
    against = store.current(options.layer)
    changes = None
    if result.ok and result.collection is not None:
        old = store.load_shared(options.layer, against.number) if against else None
        changes = diff.diff_collections(old, result.collection)
    return Preview(options.layer, result, base, against, changes, name)


def publish(
    store: LayerStore,
    item: Preview,
    *,
    actor: Actor,
    message: str,
    as_of: dt.date | None = None,
    confirm_large_removal: bool = False,
) -> VersionInfo:
    """Publish a checked preview: first the fields the upload brings are declared in the layer registry (one
    registry version naming the upload), then the layer's new version. Refuses, writing nothing, without
    permission, with errors, without the confirmation a large removal needs, or when someone published since the
    preview (ConflictError): every check the layer's publish makes is made before the registry is written."""
    if not actor.may_write(item.layer):
        raise PermissionDenied("not_allowed", user=actor.name, collection=item.layer)
    if not item.result.ok or item.result.collection is None:
        raise InvalidPayload("upload_has_errors")
    if item.large_removal and not confirm_large_removal:
        assert item.diff is not None
        raise NeedsConfirmation(
            "needs_confirmation", removed=len(item.diff.removed), before=item.diff.old_total, after=item.diff.new_total
        )
    layers = store.registry()
    layer = layers.get(item.layer)
    if layer is not None and item.result.new_fields:
        if layer.archived:
            raise InvalidPayload("layer_archived", collection=item.layer)
        declared = registry.declare_fields(layers, item.layer, item.result.new_fields)
        if declared != layers:
            _check_before_writing(store, item.layer, item.result.collection, declared, item.base_number, as_of)
            names = ", ".join(f.name for f in item.result.new_fields)
            _publish_registry(store, declared, actor=actor, message=f"{_upload_words(item.name)}: {names}")
    return store.publish(
        item.layer,
        item.result.collection,
        actor=actor,
        base_version=item.base_number,
        message=message,
        as_of=as_of,
        counts=item.base_counts,
    )


def publish_new_layer(
    store: LayerStore,
    name: str,
    data: bytes,
    options: ingest.Options,
    layer: LayerDef,
    *,
    actor: Actor,
    message: str = "",
    as_of: dt.date | None = None,
) -> tuple[VersionInfo, VersionInfo]:
    """Create a layer from a file: the registry version adding it (with its fields as the editor reviewed them),
    then the layer's first version. The file is read again with that final definition; if it no longer fits
    (a field's type changed in review, a required field the file lacks), UploadRefused lists the problems.
    Refusals (rights, a taken or unsafe id: RegistryError, problems) write nothing."""
    if not actor.may_write(registry.COLLECTION):  # per-layer editors may declare fields, never add layers
        raise PermissionDenied("not_allowed", user=actor.name, collection=registry.COLLECTION)
    layers = store.registry()
    added = registry.add_definition(layers, layer)
    options = dataclasses.replace(options, layer=layer.id, layer_def=added[layer.id])
    result = ingest.read_upload(name, data, options)
    if not result.ok or result.collection is None:
        raise UploadRefused("upload_has_errors", result.errors)
    if not result.collection["features"]:
        raise UploadRefused("new_layer_empty", result.problems)
    # Columns the review did not cover (nothing is dropped) and enum values it did not list are declared too.
    final = registry.declare_fields(added, layer.id, result.new_fields)
    _check_before_writing(store, layer.id, result.collection, final, 0, as_of)
    registry_version = _publish_registry(
        store, final, actor=actor, message=message or f"{_new_layer_words(layer)} ({_upload_words(name)})"
    )
    layer_version = store.publish(
        layer.id, result.collection, actor=actor, base_version=0, message=message or _upload_words(name), as_of=as_of
    )
    return registry_version, layer_version


def _check_before_writing(
    store: LayerStore,
    layer_id: str,
    collection: dict[str, object],
    layers: registry.Registry,
    base_number: int,
    as_of: dt.date | None,
) -> None:
    """What the layer's own publish would refuse, checked before the registry is written (nothing half-done)."""
    if as_of is not None and as_of > dt.date.today():
        raise InvalidPayload("as_of_in_future", as_of=as_of.isoformat())
    latest = store.latest(layer_id) if layer_id in store.registry() else None
    if base_number != (latest.number if latest else 0):
        raise ConflictError("stale_base", collection=layer_id, base=base_number, latest=latest.number if latest else 0)
    problems = validate_payload(layer_id, collection, layers)
    if problems:
        raise InvalidPayload("invalid_payload", collection=layer_id, problems="; ".join(problems[:10]))


def _publish_registry(store: LayerStore, layers: registry.Registry, *, actor: Actor, message: str) -> VersionInfo:
    latest = store.latest(registry.COLLECTION)
    return store.publish(
        registry.COLLECTION,
        layers.to_payload(),
        actor=actor,
        base_version=latest.number if latest else 0,
        message=message,
    )


def _upload_words(name: str) -> str:
    """How a registry or layer version names the upload behind it (both languages: history shows it as stored)."""
    return f"上传 / upload {name}" if name else "上传 / upload"


def _new_layer_words(layer: LayerDef) -> str:
    return f"新图层 / new layer {layer.id} {layer.name_zh} / {layer.name_en}"


def rollback(
    store: LayerStore, layer: str, to: int, *, actor: Actor, base_version: int, message: str = ""
) -> VersionInfo:
    """Publish version `to` again as a new version (as of today). History is never rewritten."""
    if not actor.may_write(layer):
        raise PermissionDenied("not_allowed", user=actor.name, collection=layer)
    return store.rollback(layer, to, actor=actor, base_version=base_version, message=message)


def change_table(changes: diff.CollectionDiff, lang: str, layer: LayerDef | None = None) -> pd.DataFrame:
    """The diff for people: feature, change, field by field ('状态 在建→已完工; 进度 62%→100%', open attributes by
    their labels in `layer`: '建设单位 区住建局→区城投'), metres moved."""
    rows = []
    for change in changes.rows():
        fields = "; ".join(diff.field_text(c, lang, layer) for c in change.fields)
        moved = "" if change.moved_m is None else f"{change.moved_m:,.0f}"
        if moved and change.moved_approximate:
            moved = t("diff.approximate", lang) + moved
        rows.append((change.id, change.name_zh, t(f"diff.{change.change}", lang), fields, moved))
    columns = [t(f"diff.col_{key}", lang) for key in ("id", "name", "change", "fields", "moved_m")]
    return pd.DataFrame(rows, columns=columns)
