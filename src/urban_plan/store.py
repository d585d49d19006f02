"""Versioned storage of layers and small documents: immutable versions, history, rollback, locking."""

from __future__ import annotations

import abc
import collections
import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import os
import re
import tempfile
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from urban_plan import diff, documents, registry, schema

DATA_DIR_ENV = "URBAN_PLAN_DATA_DIR"
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "geodata"
LOCK_TIMEOUT_S = 30.0
PARSED_CACHE_SIZE = 8


class StoreError(Exception):
    """Base for store errors; `code` names a locale message (store.<code>), `params` fill it in."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(f"{code}: {params}")
        self.code = code
        self.params = params


class ConflictError(StoreError):
    """The publish was based on a version that is no longer the latest: nothing was written."""


class PermissionDenied(StoreError):
    """The actor may not write this collection: nothing was written."""


class InvalidPayload(StoreError):
    """The payload breaks the collection's rules: nothing was written."""


class NotFound(StoreError):
    """No such collection or version."""


@dataclass(frozen=True)
class Actor:
    """Who is writing. Every write path takes one and checks it, whatever the UI already hid."""

    name: str
    role: str  # "editor" may write; anything else may only read
    collections: frozenset[str] | None = None  # None: every collection; else only these

    def may_write(self, collection: str) -> bool:
        if self.role != "editor" or not self.name.strip():
            return False
        return self.collections is None or collection in self.collections


@dataclass(frozen=True)
class VersionInfo:
    number: int
    author: str
    saved_at: str  # UTC, ISO 8601 with seconds
    message: str
    as_of: str  # YYYY-MM-DD: the date the data describes
    sha256: str
    base: int  # the version this one was based on (0 for the first)
    restored_from: int | None = None
    counts: dict[str, int] = field(default_factory=dict)  # added/removed/changed/total against the base

    @property
    def as_of_date(self) -> dt.date:
        return dt.date.fromisoformat(self.as_of)


DOCUMENTS: dict[str, Callable[[Any], list[str]]] = {
    **documents.VALIDATORS,
    registry.COLLECTION: registry.validate_payload,
}


def known_collections(layer_store: LayerStore | None = None) -> tuple[str, ...]:
    """Map layers (the store's registry, archived ones too; the shipped five without a store), then the small
    documents versioned beside them (the registry itself among them)."""
    layers = layer_store.registry() if layer_store is not None else registry.builtin()
    return layers.ids(archived=True) + tuple(DOCUMENTS)


class LayerStore(abc.ABC):
    """What the app needs from storage. Backend-neutral: a file backend today, PostGIS next."""

    _registry_cache: tuple[tuple[int, str], registry.Registry] | None = None  # (version, sha256) -> parsed
    writes: int = 0  # versions this object has published (rollbacks too)

    @abc.abstractmethod
    def history(self, collection: str) -> list[VersionInfo]:
        """All versions, oldest first. Empty when the collection has never been published."""

    @abc.abstractmethod
    def load(self, collection: str, number: int | None = None) -> Any:
        """The payload of a version (default: the current one, see `current`)."""

    def load_shared(self, collection: str, number: int | None = None) -> Any:
        """A payload for reading only (backends may cache it); defaults to a fresh `load`."""
        return self.load(collection, number)

    def registry(self) -> registry.Registry:
        """The layer registry in force: the current version of the `layers` document, or the shipped layers when
        it has never been published (a store made before layers were data). Parsed once per version."""
        info = self.current(registry.COLLECTION)
        if info is None:
            return registry.builtin()
        key = (info.number, info.sha256)
        cached = self._registry_cache
        if cached is None or cached[0] != key:
            cached = (key, registry.Registry.from_payload(self.load_shared(registry.COLLECTION, info.number)))
            self._registry_cache = cached
        return cached[1]

    def is_layer(self, collection: str) -> bool:
        return collection not in DOCUMENTS and collection in self.registry()

    @abc.abstractmethod
    def _commit(self, collection: str, payload: Any, info_for: Callable[[int], VersionInfo]) -> VersionInfo:
        """Write a new version atomically under the writers' lock; `info_for(latest)` builds its metadata (and
        raises to refuse) while the lock is held. Keep slow work out of it: every other writer waits meanwhile."""

    # Shared rules, identical for every backend -------------------------------------------------------------

    def latest(self, collection: str) -> VersionInfo | None:
        versions = self.history(collection)
        return versions[-1] if versions else None

    def effective(self, collection: str, on: dt.date | None = None) -> VersionInfo | None:
        """The version in effect on a date: the greatest as-of date not after it, the later publish on ties.

        A backfilled old snapshot therefore never hides newer data, and a rollback (as of today) wins.
        """
        on = on or dt.date.today()
        candidates = [v for v in self.history(collection) if v.as_of_date <= on]
        return max(candidates, key=lambda v: (v.as_of, v.number)) if candidates else None

    def current(self, collection: str) -> VersionInfo | None:
        return self.effective(collection, None) or self.latest(collection)

    def publish(
        self,
        collection: str,
        payload: Any,
        *,
        actor: Actor,
        base_version: int,
        message: str = "",
        as_of: dt.date | None = None,
        restored_from: int | None = None,
        saved_at: dt.datetime | None = None,
        counts: dict[str, int] | None = None,
    ) -> VersionInfo:
        """Publish a new version. Refuses (nothing written) without permission, on a stale base, or bad payload.

        `counts` (added/removed/changed/total against `base_version`) may come from a diff the caller already made;
        otherwise they are computed here, before the writers' lock: the base must be the latest version or the
        publish conflicts, and versions never change, so the diff needs no lock and no other writer waits for it.
        """
        self._check_collection(collection)
        layers = self.registry()
        if collection == registry.COLLECTION:
            _check_registry_rights(actor, layers, payload)
        elif not actor.may_write(collection):
            raise PermissionDenied("not_allowed", user=actor.name, collection=collection)
        if collection == registry.COLLECTION and not registry.validate_payload(payload):
            dropped = set(layers.ids(archived=True)) - set(registry.Registry.from_payload(payload).ids(archived=True))
            if dropped:  # a layer leaves the registry only by being archived: its history must stay reachable
                raise InvalidPayload("layer_removed", collection=", ".join(sorted(dropped)))
        if collection in layers and layers[collection].archived:
            raise InvalidPayload("layer_archived", collection=collection)
        as_of = as_of or dt.date.today()
        if as_of > dt.date.today():
            raise InvalidPayload("as_of_in_future", as_of=as_of.isoformat())
        problems = validate_payload(collection, payload, layers)
        if problems:
            raise InvalidPayload("invalid_payload", collection=collection, problems="; ".join(problems[:10]))
        saved = (saved_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
        latest_now = self.latest(collection)
        if base_version != (latest_now.number if latest_now else 0):  # fail fast, before any slow diff
            raise ConflictError(
                "stale_base", collection=collection, base=base_version, latest=latest_now.number if latest_now else 0
            )
        if counts is None:
            is_layer = collection in layers and collection not in DOCUMENTS
            base = self.load_shared(collection, base_version) if base_version and is_layer else None
            counts = diff.summary(base, payload) if is_layer else {}

        def info_for(latest: int) -> VersionInfo:
            if base_version != latest:  # checked again under the lock: someone may have published meanwhile
                raise ConflictError("stale_base", collection=collection, base=base_version, latest=latest)
            return VersionInfo(
                number=latest + 1,
                author=actor.name,
                saved_at=saved.strftime("%Y-%m-%dT%H:%M:%SZ"),
                message=message.strip()[:500],
                as_of=as_of.isoformat(),
                sha256="",  # filled by the backend from the exact bytes it writes
                base=latest,
                restored_from=restored_from,
                counts=dict(counts),
            )

        info = self._commit(collection, payload, info_for)
        self.writes += 1  # who remembers what is current (a page, for one run) looks again
        return info

    def _check_collection(self, collection: str) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", collection):  # names become directory names
            raise NotFound("no_such_collection", collection=collection)
        if collection not in DOCUMENTS and collection not in self.registry():
            raise NotFound("no_such_collection", collection=collection)

    def rollback(
        self,
        collection: str,
        to: int,
        *,
        actor: Actor,
        base_version: int,
        message: str = "",
        as_of: dt.date | None = None,
    ) -> VersionInfo:
        """Publish an old version again as a new one; history is never rewritten. For the layer registry, layers
        added since version `to` stay in it, archived: their data and history stay reachable, their ids taken."""
        old = self.load(collection, to)
        if collection == registry.COLLECTION:
            kept = registry.Registry.from_payload(old)
            added = [layer for layer in self.registry().layers if layer.id not in kept]
            old = registry.Registry(kept.layers + tuple(dataclasses.replace(x, archived=True) for x in added))
            old = old.to_payload()
        return self.publish(
            collection,
            old,
            actor=actor,
            base_version=base_version,
            message=message or f"rollback to v{to}",
            as_of=as_of,
            restored_from=to,
        )


class FileLayerStore(LayerStore):
    """Everything under one directory: `<root>/store/<collection>/manifest.json` lists the versions, each an
    immutable `vNNNNNN.json` file; for layers, `<root>/<layer>.geojson` mirrors the current version for people
    and desktop GIS. The manifest rename is the commit point: a writer killed before it leaves the last good
    version in place, and an orphaned version file is simply overwritten by the next publish. Only publishes
    write mirrors (reading never does), and a mirror someone edited by hand is kept as a backup first."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root or os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR).resolve()
        self._lock_path = self.root / "store" / ".lock"
        # Parsed versions, by (collection, number, sha256): version files never change, and parsing a layer of
        # 20,000 parcels costs most of a second. Shared objects: callers treat what `load` returns as read-only.
        self._parsed: collections.OrderedDict[tuple[str, int, str], Any] = collections.OrderedDict()
        self._parsed_lock = threading.Lock()
        # Parsed manifests, by collection, with the (inode, mtime, size) they were read at: every page run asks for
        # the history of each layer and of the registry (which every layer check consults) several times. A commit
        # renames a new, longer manifest into place, so a changed manifest never matches its old key.
        self._manifests: dict[str, tuple[tuple[int, int, int], tuple[VersionInfo, ...]]] = {}

    def __repr__(self) -> str:
        return f"FileLayerStore({str(self.root)!r})"

    def history(self, collection: str) -> list[VersionInfo]:
        self._check_collection(collection)
        path = self._manifest_path(collection)
        try:
            stat = path.stat()
        except FileNotFoundError:
            return []
        key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        cached = self._manifests.get(collection)
        if cached is None or cached[0] != key:
            rows = json.loads(path.read_text(encoding="utf-8"))
            cached = (key, tuple(VersionInfo(**row) for row in rows))
            self._manifests[collection] = cached
        return list(cached[1])

    def load(self, collection: str, number: int | None = None) -> Any:
        return json.loads(self.load_bytes(collection, number))

    def load_shared(self, collection: str, number: int | None = None) -> Any:
        """Like `load`, but the parsed payload is kept and shared between callers: never modify it."""
        info = self._find(collection, number)
        key = (collection, info.number, info.sha256)
        with self._parsed_lock:
            if key in self._parsed:
                self._parsed.move_to_end(key)
                return self._parsed[key]
        payload = json.loads(self._read_verified(collection, info))
        with self._parsed_lock:
            self._parsed[key] = payload
            while len(self._parsed) > PARSED_CACHE_SIZE:
                self._parsed.popitem(last=False)
        return payload

    def load_bytes(self, collection: str, number: int | None = None) -> bytes:
        """The stored bytes of a version, exactly as written and checked against the manifest's SHA-256."""
        return self._read_verified(collection, self._find(collection, number))

    def _read_verified(self, collection: str, info: VersionInfo) -> bytes:
        try:
            data = self._version_path(collection, info.number).read_bytes()
        except FileNotFoundError as exc:
            raise StoreError("corrupt_version", collection=collection, number=info.number) from exc
        if hashlib.sha256(data).hexdigest() != info.sha256:
            raise StoreError("corrupt_version", collection=collection, number=info.number)
        return data

    def _find(self, collection: str, number: int | None) -> VersionInfo:
        versions = self.history(collection)
        if not versions:
            raise NotFound("no_versions", collection=collection)
        found = self.current(collection) if number is None else next((v for v in versions if v.number == number), None)
        if found is None:
            raise NotFound("no_such_version", collection=collection, number=number)
        return found

    def _commit(self, collection: str, payload: Any, info_for: Callable[[int], VersionInfo]) -> VersionInfo:
        data = serialise(payload)  # before the lock: tens of megabytes take a while to encode
        sha256 = hashlib.sha256(data).hexdigest()
        directory = self.root / "store" / collection
        directory.mkdir(parents=True, exist_ok=True)
        try:
            with FileLock(str(self._lock_path), timeout=LOCK_TIMEOUT_S):
                _remove_orphans(self.root)  # temp files of a writer killed mid-publish (we hold the lock)
                versions = self.history(collection)
                latest = versions[-1].number if versions else 0
                if versions:
                    self._read_verified(collection, versions[-1])  # never build on a damaged version (hash only)
                info = VersionInfo(**{**asdict(info_for(latest)), "sha256": sha256})
                _atomic_write(self._version_path(collection, info.number), data)
                rows = [asdict(v) for v in versions] + [asdict(info)]
                _atomic_write(self._manifest_path(collection), json.dumps(rows, ensure_ascii=False, indent=1).encode())
                # Committed. The mirror is a convenience copy: failing to write it must not report the publish
                # as failed (a retry would then conflict); the next publish brings every mirror up to date.
                with contextlib.suppress(OSError):
                    self._sync_mirrors()
                return info
        except Timeout as exc:
            raise StoreError("busy", collection=collection) from exc

    def _sync_mirrors(self) -> None:
        """Make `<layer>.geojson` equal to each layer's current version (caller holds the lock, and is publishing).

        A mirror whose bytes are none of the layer's stored versions was changed by someone (a desktop GIS, a text
        editor): it is copied to `<layer>.geojson.bak-<UTC time>` before being replaced, so their work is kept.
        """
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        for layer in self.registry().ids(archived=True):
            versions = self.history(layer)
            current = self.current(layer)
            if current is None:
                continue
            mirror = self.root / f"{layer}.geojson"
            try:
                old = mirror.read_bytes() if mirror.exists() else None
                old_sha = hashlib.sha256(old).hexdigest() if old is not None else None
                if old_sha == current.sha256:
                    continue
                new = self._read_verified(layer, current)
                if old is not None and old_sha not in {v.sha256 for v in versions}:
                    _atomic_write(mirror.with_name(f"{mirror.name}.bak-{stamp}"), old)
                _atomic_write(mirror, new)
            except StoreError:
                continue  # a damaged version is reported when loaded; the mirror keeps what it had

    def _manifest_path(self, collection: str) -> Path:
        return self.root / "store" / collection / "manifest.json"

    def _version_path(self, collection: str, number: int) -> Path:
        return self.root / "store" / collection / f"v{number:06d}.json"


def serialise(payload: Any) -> bytes:
    """Stable bytes for a payload: one feature per line for FeatureCollections (readable diffs), else compact."""
    if isinstance(payload, dict) and payload.get("type") == "FeatureCollection":
        head = {k: v for k, v in payload.items() if k != "features"}
        head_text = json.dumps(head, ensure_ascii=False, separators=(",", ":"), allow_nan=False)[:-1]
        features = ",\n".join(
            json.dumps(f, ensure_ascii=False, separators=(",", ":"), allow_nan=False) for f in payload["features"]
        )
        sep = "," if len(head) else ""
        return f'{head_text}{sep}"features":[\n{features}\n]}}\n'.encode()
    return (json.dumps(payload, ensure_ascii=False, indent=1, allow_nan=False) + "\n").encode()


def validate_payload(collection: str, payload: Any, layers: registry.Registry | None = None) -> list[str]:
    """Problems (as short codes) that stop a payload from being stored in this collection."""
    layers = layers or registry.builtin()
    if collection in DOCUMENTS:
        problems = DOCUMENTS[collection](payload)
    elif collection in layers:
        if not isinstance(payload, dict) or payload.get("type") != "FeatureCollection":
            return ["not_a_feature_collection"]
        problems = [f"{p.feature}.{p.field}:{p.code}" for p in schema.validate_collection(payload, layers[collection])]
    else:
        return ["no_such_collection"]
    if not problems:
        try:
            serialise(payload)  # NaN or Infinity anywhere (bbox, extra members) is not JSON: refuse it here
        except (ValueError, TypeError):
            problems = ["non_finite_number"]
    return problems


def _check_registry_rights(actor: Actor, layers: registry.Registry, payload: Any) -> None:
    """Who may change the registry: an editor of every collection (or of `layers`) may change anything; an editor
    of some layers only those layers' definitions (declaring the new columns of an upload, say), never add one."""
    if actor.may_write(registry.COLLECTION):
        return
    if actor.role != "editor" or not actor.name.strip():
        raise PermissionDenied("not_allowed", user=actor.name, collection=registry.COLLECTION)
    if registry.validate_payload(payload):
        return  # refused as invalid, with its reasons, by the validation that follows
    new = registry.Registry.from_payload(payload)
    old = {layer.id: layer for layer in layers.layers}
    for layer in new.layers:
        if layer.id not in old or (old[layer.id] != layer and not actor.may_write(layer.id)):
            raise PermissionDenied("not_allowed", user=actor.name, collection=layer.id)
    if set(old) - {layer.id for layer in new.layers}:
        raise PermissionDenied("not_allowed", user=actor.name, collection=registry.COLLECTION)


def _remove_orphans(root: Path) -> None:
    """Temp files left by a writer killed mid-write. Only ever called with the writers' lock held."""
    for leftover in [*root.glob("store/*/.*.tmp"), *root.glob(".*.geojson.*.tmp")]:
        leftover.unlink(missing_ok=True)


def _atomic_write(path: Path, data: bytes) -> None:
    """Write to a temp file in the same directory, fsync, rename over the target, fsync the directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the data is not secret and a web server may need to read it
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def open_store(root: str | os.PathLike[str] | None = None) -> LayerStore:
    """The configured store (file backend; `URBAN_PLAN_DATA_DIR` or geodata/). Opening writes nothing: read-only
    commands and pages must work on a read-only folder and never touch a mirror someone is editing."""
    return FileLayerStore(root)
