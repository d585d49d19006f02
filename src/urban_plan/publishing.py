"""Upload -> preview -> publish, and rollback: the one path the page and the CLI both take to change a layer."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import pandas as pd

from urban_plan import diff, display, ingest
from urban_plan.i18n import label, t
from urban_plan.store import Actor, InvalidPayload, LayerStore, PermissionDenied, StoreError, VersionInfo

# An upload that removes at least this share of a layer's features (or leaves it empty) must be confirmed.
LARGE_REMOVAL_SHARE = 0.5


class NeedsConfirmation(StoreError):
    """The upload would empty a layer or remove most of its features: publish again with confirmation."""


@dataclass
class Preview:
    """What publishing this upload would do, against the version that is current now."""

    layer: str
    result: ingest.Result
    base: VersionInfo | None  # the latest version when the preview was made: the publish's optimistic base
    against: VersionInfo | None  # the version the diff compares with (current as of today)
    diff: diff.CollectionDiff | None

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
    """Read and check an upload, and diff it against the layer's current version. Writes nothing."""
    result = ingest.read_upload(name, data, options)
    base = store.latest(options.layer)
    against = store.current(options.layer)
    changes = None
    if result.ok and result.collection is not None:
        old = store.load_shared(options.layer, against.number) if against else None
        changes = diff.diff_collections(old, result.collection)
    return Preview(options.layer, result, base, against, changes)


def publish(
    store: LayerStore,
    item: Preview,
    *,
    actor: Actor,
    message: str,
    as_of: dt.date | None = None,
    confirm_large_removal: bool = False,
) -> VersionInfo:
    """Publish a checked preview. Refuses, writing nothing, without permission, with errors, without the
    confirmation a large removal needs, or when someone published since the preview (ConflictError)."""
    if not actor.may_write(item.layer):
        raise PermissionDenied("not_allowed", user=actor.name, collection=item.layer)
    if not item.result.ok or item.result.collection is None:
        raise InvalidPayload("upload_has_errors")
    if item.large_removal and not confirm_large_removal:
        assert item.diff is not None
        raise NeedsConfirmation(
            "needs_confirmation", removed=len(item.diff.removed), before=item.diff.old_total, after=item.diff.new_total
        )
    return store.publish(
        item.layer,
        item.result.collection,
        actor=actor,
        base_version=item.base_number,
        message=message,
        as_of=as_of,
        counts=item.base_counts,
    )


def rollback(
    store: LayerStore, layer: str, to: int, *, actor: Actor, base_version: int, message: str = ""
) -> VersionInfo:
    """Publish version `to` again as a new version (as of today). History is never rewritten."""
    if not actor.may_write(layer):
        raise PermissionDenied("not_allowed", user=actor.name, collection=layer)
    return store.rollback(layer, to, actor=actor, base_version=base_version, message=message)


def change_table(changes: diff.CollectionDiff, lang: str) -> pd.DataFrame:
    """The diff for people: feature, change, field by field ('状态 在建→已完工; 进度 62%→100%'), metres moved."""
    rows = []
    for change in changes.rows():
        fields = "; ".join(
            f"{label('field', c.field, lang)} {display.value_text(c.field, c.old, lang)}"
            f"→{display.value_text(c.field, c.new, lang)}"
            for c in change.fields
        )
        moved = "" if change.moved_m is None else f"{change.moved_m:,.0f}"
        if moved and change.moved_approximate:
            moved = t("diff.approximate", lang) + moved
        rows.append((change.id, change.name_zh, t(f"diff.{change.change}", lang), fields, moved))
    columns = [t(f"diff.col_{key}", lang) for key in ("id", "name", "change", "fields", "moved_m")]
    return pd.DataFrame(rows, columns=columns)
