"""python -m urban_plan: validate, import, layer, history, rollback, export, add-editor — through the page's own rules.

Exit codes: 0 done, 1 rejected (nothing changed; also a wrong password or a throttled login), 2 usage error
(also: a write command with no way to ask for the author's password), 3 conflict (someone published meanwhile).

Write commands (import, rollback, layer add/edit/archive/restore) check the author's password like the login page
does: from --password-stdin, else the URBAN_PLAN_PASSWORD environment variable, else a prompt when standard input is
a terminal. The history
records the operating-system user beside the editor, as " (os: <user>)" at the end of the version's message.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import getpass
import json
import logging
import os
import sys
import tomllib
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from urban_plan import (
    auth,
    diff,
    display,
    fieldtypes,
    i18n,
    ingest,
    layer_admin,
    problems,
    publishing,
    registry,
    schema,
    store,
    throttle,
)

EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_CONFLICT = 0, 1, 2, 3
PASSWORD_ENV = "URBAN_PLAN_PASSWORD"  # noqa: S105 (the name of a variable, not a password)


class _Refused(Exception):
    """A refusal already worded for the user: locale key, exit code, machine-readable error."""

    def __init__(self, key: str, exit_code: int, error: str, **params: object) -> None:
        super().__init__(key)
        self.key, self.exit_code, self.error, self.params = key, exit_code, error, params


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except _Refused as exc:  # credentials: said in both languages, whoever reads the script's log
        texts = [i18n.t(exc.key, lang, **exc.params) for lang in dict.fromkeys((args.lang, *i18n.LANGS))]
        return _fail(args, "\n".join(texts), exc.exit_code, exc.error)
    except auth.AccountError as exc:
        return _fail(args, i18n.t(f"auth.account.{exc.code}", args.lang, **exc.params), EXIT_USAGE, exc.code)
    except store.ConflictError as exc:
        return _fail(args, problems.store_message(exc, args.lang), EXIT_CONFLICT, exc.code)
    except store.StoreError as exc:
        return _fail(args, problems.store_message(exc, args.lang), EXIT_REJECTED, exc.code)
    except registry.RegistryError as exc:  # a refused layer change: what, and what to do
        return _fail(args, layer_admin.error_text(exc, args.lang), EXIT_REJECTED, exc.code)
    except ValueError as exc:  # bad arguments that argparse could not see (a --map, a short password)
        return _fail(args, str(exc), EXIT_USAGE, "usage")
    except OSError as exc:  # a file that cannot be read or written
        return _fail(args, str(exc), EXIT_REJECTED, "io")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m urban_plan", description=__doc__.split("\n")[0])
    parser.add_argument("--lang", choices=i18n.LANGS, default=i18n.DEFAULT_LANG, help="report language")
    parser.add_argument("--data-dir", help=f"data directory (default: ${store.DATA_DIR_ENV} or geodata/)")
    commands = parser.add_subparsers(dest="command", required=True)

    def upload_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("file", type=Path)
        p.add_argument("--layer", required=True, help="a layer id of the registry (python -m urban_plan layer list)")
        p.add_argument(
            "--datum",
            choices=("wgs84", "gcj02", "bd09"),
            default="wgs84",
            help="what the coordinates were picked in (AutoNavi/Tencent: gcj02, Baidu: bd09)",
        )
        p.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="SOURCE=FIELD",
            help="map a source column to a standard field (FIELD empty: keep it under its own name; -: leave it "
            "out); repeatable",
        )
        p.add_argument(
            "--set",
            action="append",
            default=[],
            dest="set_values",
            metavar="FIELD=VALUE",
            help="give every feature this value (e.g. status=规划); repeatable",
        )
        p.add_argument("--id-from", metavar="COLUMN|row", help="take ids from this column, or from the row order")
        p.add_argument("--inside-only", action="store_true", help="keep only features inside the district")
        p.add_argument("--source-layer", help="which layer of a multi-layer file (GeoPackage, geodatabase, KML)")
        p.add_argument("--repair", action="store_true", help="repair invalid shapes (otherwise they are refused)")
        p.add_argument("--json", action="store_true", help="machine-readable report")

    p = commands.add_parser("validate", help="check a file against a layer's rules; changes nothing")
    upload_options(p)
    p.set_defaults(handler=_validate)

    p = commands.add_parser("import", help="check a file and publish it as a new version of a layer")
    upload_options(p)
    p.add_argument("--author", required=True, help="an editor named in secrets.toml")
    _password_option(p)
    p.add_argument("--message", default="")
    p.add_argument("--as-of", type=_date, help="the date the data describes (default: today)")
    p.add_argument("--base-version", type=int, help="refuse (exit 3) unless this is still the latest version")
    p.add_argument("--yes", action="store_true", help="confirm an upload that empties or mostly removes a layer")
    p.add_argument("--new-layer", action="store_true", help="create the layer --layer from this file")
    _layer_metadata_options(p, new=True)
    p.set_defaults(handler=_import)

    _layer_commands(commands)

    p = commands.add_parser("history", help="list a layer's versions")
    p.add_argument("layer", help="a layer id, or targets / views / layers")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_history)

    p = commands.add_parser("rollback", help="publish an old version again as a new version")
    p.add_argument("layer", help="a layer id, or targets / views / layers")
    p.add_argument("--to", type=int, required=True)
    p.add_argument("--author", required=True, help="an editor named in secrets.toml")
    _password_option(p)
    p.add_argument("--message", default="")
    p.add_argument("--base-version", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_rollback)

    p = commands.add_parser("export", help="write a version of a layer as GeoJSON")
    p.add_argument("layer", help="a layer id, or targets / views / layers")
    p.add_argument("--version", type=int, help="default: the current version")
    p.add_argument("-o", "--output", required=True, help="file to write, or - for standard output")
    p.set_defaults(handler=_export, json=False)

    p = commands.add_parser("render-html", help="write the map as one offline HTML file (no other files needed)")
    p.add_argument("-o", "--output", required=True, type=Path)
    p.add_argument("--as-of", type=_date, help="show the layers as they were on this date (default: current)")
    p.add_argument("--since", type=_date, help="also highlight what changed since this date")
    p.add_argument("--colour", choices=("status", "rating"), default="status")
    p.set_defaults(handler=_render_html, json=False)

    p = commands.add_parser("report", help="write the PDF meeting pack (needs Chromium)")
    p.add_argument("-o", "--output", required=True, type=Path)
    p.add_argument("--as-of", type=_date)
    p.add_argument("--since", type=_date, help="the 'changes since' date (e.g. the last meeting)")
    p.add_argument("--paper", choices=("a4", "a3"), default="a4")
    p.set_defaults(handler=_report, json=False)

    p = commands.add_parser("add-editor", help="add an editor (argon2 hash) to .streamlit/secrets.toml")
    p.add_argument("name")
    p.add_argument("--layers", help="comma-separated layers this editor may change (left out: all; never empty)")
    p.add_argument("--email", help="e-mail for single sign-on (st.login/OIDC), instead of or beside a password")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.add_argument("--no-password", action="store_true", help="SSO only (needs --email)")
    p.add_argument("--secrets", type=Path, help=f"secrets file (default: ${auth.SECRETS_ENV} or .streamlit/)")
    p.set_defaults(handler=_add_editor, json=False)
    return parser


def _layer_commands(commands: argparse._SubParsersAction) -> None:
    layer = commands.add_parser("layer", help="list, add, edit, archive or restore map layers (the registry)")
    actions = layer.add_subparsers(dest="layer_command", required=True)

    p = actions.add_parser("list", help="every layer of the registry, archived ones marked")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_layer_list)

    p = actions.add_parser("add", help="register a new, empty layer (its features come with an import)")
    p.add_argument("id", help="2-32 characters a-z, 0-9, _ (e.g. schools)")
    _layer_metadata_options(p, new=True)
    _layer_write_options(p)
    p.set_defaults(handler=_layer_add)

    p = actions.add_parser("edit", help="change a layer's names, role, progress tracking, order or colour")
    p.add_argument("id")
    _layer_metadata_options(p, new=False)
    p.add_argument("--order", type=int, help="position in lists and the legend (smaller first)")
    _layer_write_options(p)
    p.set_defaults(handler=_layer_edit)

    p = actions.add_parser("field", help="change a field's labels, type or where it shows (values are converted)")
    p.add_argument("id")
    p.add_argument("name", help="the field's name (its column name, e.g. 建设单位)")
    p.add_argument("--label-zh")
    p.add_argument("--label-en")
    p.add_argument("--type", choices=fieldtypes.TYPES, help="stored values that can be read so are converted")
    for flag in ("required", "tooltip", "details", "table"):
        p.add_argument(f"--{flag}", action=argparse.BooleanOptionalAction, default=None)
    _layer_write_options(p)
    p.set_defaults(handler=_layer_field)

    for name, handler, text in (
        ("archive", _layer_archive, "hide a layer everywhere (its history stays; restorable)"),
        ("restore", _layer_restore, "bring an archived layer back"),
    ):
        p = actions.add_parser(name, help=text)
        p.add_argument("id")
        _layer_write_options(p)
        p.set_defaults(handler=handler)


def _layer_metadata_options(p: argparse.ArgumentParser, *, new: bool) -> None:
    p.add_argument("--name-zh", help="Chinese name (e.g. 学校)")
    p.add_argument("--name-en", help="English name (e.g. Schools)")
    p.add_argument("--role", choices=registry.ROLES, help="overlay: follows the filters; base: always drawn")
    if new:
        p.add_argument("--tracks-progress", action="store_true", help="features have status and progress")
    else:
        p.add_argument("--tracks-progress", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--families", help="geometry types allowed, comma-separated: point,line,polygon")
    p.add_argument("--colour", help="accent colour #RRGGBB (default: a free one)")


def _layer_write_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--author", required=True, help="an editor named in secrets.toml")
    _password_option(p)
    p.add_argument("--message", default="", help="what changed and why (default: a sentence naming the change)")
    p.add_argument("--json", action="store_true")


def _password_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help=f"read the author's password from standard input (else ${PASSWORD_ENV}, else a terminal prompt)",
    )


# --- commands ------------------------------------------------------------------------------------------------


def _validate(args: argparse.Namespace) -> int:
    s = _store(args)
    options = _options(args, s)  # usage errors first, before touching the file
    with _quiet(args):
        item = publishing.preview(s, args.file.name, args.file.read_bytes(), options)
    _report_preview(args, item)
    return EXIT_OK if item.result.ok else EXIT_REJECTED


def _import(args: argparse.Namespace) -> int:
    s = _store(args)
    if args.new_layer:
        return _import_new_layer(args, s)
    options = _options(args, s)
    actor = _authenticated_actor(args)
    if not actor.may_write(args.layer):  # refuse before reading the file: the page never offers it either
        raise store.PermissionDenied("not_allowed", user=actor.name, collection=args.layer)
    if options.layer_def is not None and options.layer_def.archived:
        raise store.InvalidPayload("layer_archived", collection=args.layer)
    with _quiet(args):
        item = publishing.preview(s, args.file.name, args.file.read_bytes(), options)
    if args.base_version is not None and args.base_version != item.base_number:
        raise store.ConflictError("stale_base", collection=args.layer, base=args.base_version, latest=item.base_number)
    if not item.result.ok:
        _report_preview(args, item)
        return EXIT_REJECTED
    version = publishing.publish(
        s, item, actor=actor, message=_with_os_user(args.message), as_of=args.as_of, confirm_large_removal=args.yes
    )
    _report_preview(args, item, version)
    return EXIT_OK


def _import_new_layer(args: argparse.Namespace, s: store.LayerStore) -> int:
    """Create the layer from the file: fields proposed from its columns, checked, then the layer and its first
    version published together (publishing.publish_new_layer re-reads the file with the final definition)."""
    if not (args.name_zh and args.name_en and args.role):
        raise _Refused("registry.cli.new_layer_needs", EXIT_USAGE, "usage")
    current = s.registry()
    if args.layer in current:
        raise _Refused("registry.cli.new_layer_exists", EXIT_USAGE, "id_exists", layer=args.layer)
    provisional = registry.add_layer(current, args.layer, **_new_layer_options(args))[args.layer]
    options = _options(args, s, provisional)
    actor = _authenticated_actor(args)
    if not actor.may_write(registry.COLLECTION):  # adding a layer changes the registry itself
        raise store.PermissionDenied("not_allowed", user=actor.name, collection=registry.COLLECTION)
    data = args.file.read_bytes()
    with _quiet(args):
        result = ingest.read_upload(args.file.name, data, options)
    item = publishing.Preview(args.layer, result, None, None, None)
    if not result.ok:
        _report_preview(args, item)
        return EXIT_REJECTED
    layer = dataclasses.replace(provisional, fields=tuple(result.new_fields))
    message = args.message or layer_admin.change_sentence("add", id=layer.id, zh=layer.name_zh, en=layer.name_en)
    try:
        with _quiet(args):
            registry_version, version = publishing.publish_new_layer(
                s,
                args.file.name,
                data,
                dataclasses.replace(options, layer_def=layer),
                layer,
                actor=actor,
                message=_with_os_user(message),
                as_of=args.as_of,
            )
    except publishing.UploadRefused as exc:  # the file no longer fits the final definition: say where
        _report_preview(args, publishing.Preview(args.layer, dataclasses.replace(result, problems=exc.problems),
                                                 None, None, None))  # fmt: skip
        return EXIT_REJECTED
    if args.json:
        _report_preview(args, item, version, registry_version)
    else:
        _report_preview(args, item)
        print(
            i18n.t(
                "registry.cli.new_layer_published",
                args.lang,
                layer=layer.name(args.lang),
                registry=registry_version.number,
                number=version.number,
                as_of=version.as_of,
            )
        )
    return EXIT_OK


def _layer_list(args: argparse.Namespace) -> int:
    s, lang = _store(args), args.lang
    layers = s.registry().ordered()
    rows = []
    for layer in layers:
        info = s.current(layer.id)
        features = len(s.load_shared(layer.id, info.number).get("features", [])) if info else None
        rows.append((layer, info, features))
    if args.json:
        _print_json(
            [
                {**_layer_json(layer), "versions": len(s.history(layer.id)), "features": features}
                for layer, _, features in rows
            ]
        )
        return EXIT_OK
    for layer, info, features in rows:
        parts = [
            layer.name(lang),
            i18n.t(f"registry.role.{layer.role}", lang),
            *([i18n.t("registry.cli.progress", lang)] if layer.tracks_progress else []),
            ",".join(sorted(layer.families)),
            layer.colour,
            i18n.t("registry.cli.fields", lang, count=len(layer.fields)),
            i18n.t("registry.cli.features", lang, count=features) if info else i18n.t("registry.cli.no_data", lang),
        ]
        mark = f"  [{i18n.t('registry.cli.archived_mark', lang)}]" if layer.archived else ""
        print(f"{layer.order:>6}  {layer.id:<20} " + " · ".join(parts) + mark)
    return EXIT_OK


def _new_layer_options(args: argparse.Namespace) -> dict[str, Any]:
    """What `layer add` and `import --new-layer` say about the layer to create, as registry.add_layer takes it."""
    families = _families(args.families)
    return {
        "name_zh": args.name_zh,
        "name_en": args.name_en,
        "role": args.role,
        "tracks_progress": args.tracks_progress,
        "families": families if families is not None else registry.FAMILIES,
        "colour": args.colour,
    }


def _layer_add(args: argparse.Namespace) -> int:
    actor = _authenticated_actor(args)
    if not (args.name_zh and args.name_en and args.role):
        raise _Refused("registry.cli.new_layer_needs", EXIT_USAGE, "usage")
    version = layer_admin.add_layer(
        _store(args),
        actor,
        args.id,
        **_new_layer_options(args),
        message=_with_os_user(
            args.message or layer_admin.change_sentence("add", id=args.id, zh=args.name_zh, en=args.name_en)
        ),
    )
    return _layer_done(args, version, "add", zh=args.name_zh, en=args.name_en)


def _layer_edit(args: argparse.Namespace) -> int:
    changes = {
        key: value
        for key, value in (
            ("name_zh", args.name_zh),
            ("name_en", args.name_en),
            ("role", args.role),
            ("tracks_progress", args.tracks_progress),
            ("families", _families(args.families)),
            ("order", args.order),
            ("colour", args.colour),
        )
        if value is not None
    }
    if not changes:
        raise _Refused("registry.cli.no_changes", EXIT_USAGE, "usage")
    actor = _authenticated_actor(args)
    what = ", ".join(sorted(changes))
    message = args.message or layer_admin.change_sentence("edit", id=args.id, what=what)
    version = layer_admin.edit_layer(_store(args), actor, args.id, message=_with_os_user(message), **changes)
    return _layer_done(args, version, "edit", what=what)


def _layer_field(args: argparse.Namespace) -> int:
    keys = ("label_zh", "label_en", "type", "required", "tooltip", "details", "table")
    changes = {key: getattr(args, key) for key in keys if getattr(args, key) is not None}
    if not changes:
        raise _Refused("registry.cli.no_field_changes", EXIT_USAGE, "usage")
    actor = _authenticated_actor(args)
    what = ", ".join(sorted(changes))
    message = args.message or layer_admin.change_sentence("field", id=args.id, field=args.name, what=what)
    version = layer_admin.edit_field(_store(args), actor, args.id, args.name, message=_with_os_user(message), **changes)
    return _layer_done(args, version, "field", field=args.name, what=what)


def _layer_archive(args: argparse.Namespace) -> int:
    actor = _authenticated_actor(args)
    message = args.message or layer_admin.change_sentence("archive", id=args.id)
    version = layer_admin.archive(_store(args), actor, args.id, message=_with_os_user(message))
    return _layer_done(args, version, "archive")


def _layer_restore(args: argparse.Namespace) -> int:
    actor = _authenticated_actor(args)
    message = args.message or layer_admin.change_sentence("restore", id=args.id)
    version = layer_admin.restore(_store(args), actor, args.id, message=_with_os_user(message))
    return _layer_done(args, version, "restore")


def _layer_done(args: argparse.Namespace, version: store.VersionInfo, kind: str, **params: Any) -> int:
    layer = _store(args).registry().get(args.id)
    if args.json:
        _print_json({"ok": True, "layer": _layer_json(layer) if layer else None, "version": _version_json(version)})
    else:
        what = layer_admin.change_sentence(kind, args.lang, id=args.id, **params)
        print(i18n.t("registry.cli.done", args.lang, what=what, number=version.number))
    return EXIT_OK


def _history(args: argparse.Namespace) -> int:
    _check_collection_name(args)
    versions = _store(args).history(args.layer)
    if args.json:
        _print_json([_version_json(v) for v in versions])
        return EXIT_OK
    if not versions:
        print(i18n.t("store.no_versions", args.lang, collection=args.layer))
    for v in versions:
        counts = v.counts or {}
        restored = f" ⟲v{v.restored_from}" if v.restored_from else ""
        print(
            f"v{v.number:<4} {v.saved_at}  as-of {v.as_of}  {v.author:<12} "
            f"+{counts.get('added', 0)} -{counts.get('removed', 0)} ~{counts.get('changed', 0)}{restored}  {v.message}"
        )
    return EXIT_OK


def _rollback(args: argparse.Namespace) -> int:
    _check_collection_name(args)
    actor = _authenticated_actor(args)
    s = _store(args)
    latest = s.latest(args.layer)
    base = args.base_version if args.base_version is not None else (latest.number if latest else 0)
    if args.layer == registry.COLLECTION:  # layers added since version `to` stay, archived, with their data
        if latest is not None and base != latest.number:
            raise store.ConflictError("stale_base", collection=args.layer, base=base, latest=latest.number)
        message = args.message or layer_admin.change_sentence("rollback", to=args.to)
        version = layer_admin.rollback(s, actor, args.to, message=_with_os_user(message))
    else:
        message = _with_os_user(args.message or f"rollback to v{args.to}")
        version = publishing.rollback(s, args.layer, args.to, actor=actor, base_version=base, message=message)
    if args.json:
        _print_json({"ok": True, "version": _version_json(version)})
    else:
        print(i18n.t("cli.rolled_back", args.lang, layer=args.layer, to=args.to, number=version.number))
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    _check_collection_name(args)
    data = _store(args).load_bytes(args.layer, args.version)
    if args.output == "-":
        sys.stdout.buffer.write(data)
    else:
        Path(args.output).write_bytes(data)
    return EXIT_OK


def _render_html(args: argparse.Namespace) -> int:
    from urban_plan import export

    lang = args.lang
    # export.map_html takes the layers, their names and the legend from the store's registry.
    html = export.map_html(_store(args), on=args.as_of, since=args.since, lang=lang, colour_by=args.colour)
    args.output.write_text(html, encoding="utf-8")
    print(i18n.t("cli.written", lang, path=str(args.output), size=f"{len(html.encode()) / 1024:.0f} KB"))
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    from urban_plan import export

    try:
        pdf = export.meeting_pack(_store(args), on=args.as_of, since=args.since, lang=args.lang, paper=args.paper)
    except export.ExportError as exc:
        return _fail(
            args,
            i18n.t(f"export.{exc.code}", args.lang, **{k: str(v) for k, v in exc.params.items()}),
            EXIT_REJECTED,
            exc.code,
        )
    args.output.write_bytes(pdf)
    print(i18n.t("cli.written", args.lang, path=str(args.output), size=f"{len(pdf) / 1024:.0f} KB"))
    return EXIT_OK


def _add_editor(args: argparse.Namespace) -> int:
    password = None
    if not args.no_password:
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = getpass.getpass("password: ")
            if getpass.getpass("again: ") != password:
                raise _Refused("auth.cli.passwords_differ", EXIT_USAGE, "passwords_differ")
    # `--layers ""` or `--layers ,` is a mistake, not "no limit": pass the (empty) list on to be refused
    layers = [x.strip() for x in args.layers.split(",") if x.strip()] if args.layers is not None else None
    path = args.secrets or auth.secrets_path()
    known = store.known_collections(_store(args))  # the store's registry: layers added since count too
    auth.add_editor(path, args.name, password, layers=layers, email=args.email, known=known)
    print(i18n.t("cli.editor_added", args.lang, name=args.name, path=str(path)))
    return EXIT_OK


# --- helpers -------------------------------------------------------------------------------------------------


def _store(args: argparse.Namespace) -> store.LayerStore:
    return store.open_store(args.data_dir)


def _options(args: argparse.Namespace, s: store.LayerStore, layer: registry.LayerDef | None = None) -> ingest.Options:
    """The upload options from the command line; the target layer from the store's registry (or `layer`, the
    provisional definition of a layer being created)."""
    if layer is None:
        layers = s.registry()
        layer = layers.get(args.layer)
        if layer is None:
            raise _Refused(
                "registry.cli.unknown_layer", EXIT_USAGE, "unknown_layer", layer=args.layer, layers=_ids(layers)
            )
    field_map: dict[str, str | None] | None = None
    if args.map:
        field_map = {}
        for item in args.map:
            source, sep, target = item.partition("=")
            target = target.strip()
            if not sep or not source.strip() or (target and target != "-" and target not in schema.FIELDS):
                raise _Refused("registry.cli.bad_map", EXIT_USAGE, "usage", item=item, fields=", ".join(schema.FIELDS))
            field_map[source.strip()] = target or None
    set_values = []
    for item in args.set_values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise _Refused("registry.cli.bad_set", EXIT_USAGE, "usage", item=item)
        set_values.append((name.strip(), value.strip()))
    return ingest.Options(
        args.layer,
        datum=args.datum,
        field_map=field_map,
        repair=args.repair,
        source_name=args.file.name,
        set_values=tuple(set_values),
        id_from=args.id_from.strip() if args.id_from else None,
        inside_only=args.inside_only,
        source_layer=args.source_layer,
        layer_def=layer,
    )


def _ids(layers: registry.Registry) -> str:
    return ", ".join(layers.ids())


def _check_collection_name(args: argparse.Namespace) -> None:
    """Any layer of the store's registry (archived ones too: their history stays readable) or a document."""
    known = store.known_collections(_store(args))
    if args.layer not in known:
        raise _Refused(
            "registry.cli.unknown_collection", EXIT_USAGE, "unknown_layer", layer=args.layer, layers=", ".join(known)
        )


def _families(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    return tuple(x.strip() for x in text.split(",") if x.strip())


def _layer_json(layer: registry.LayerDef) -> dict[str, Any]:
    return registry.Registry((layer,)).to_payload()["layers"][0]


@contextlib.contextmanager
def _quiet(args: argparse.Namespace) -> Iterator[None]:
    """In --json mode standard error stays clean too: GDAL's notices (pyogrio logs them) and Python warnings about
    the file are the report's business, not noise around it."""
    if not getattr(args, "json", False):
        yield
        return
    logger = logging.getLogger("pyogrio")
    handler = logging.NullHandler()
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def _authenticated_actor(args: argparse.Namespace) -> store.Actor:
    """The CLI's author must be an editor in secrets.toml and prove it with her password: the same accounts,
    layer limits and login throttle as the page (an unknown name reads as a wrong password)."""
    path = auth.secrets_path()
    secrets = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    name = args.author
    password = _password(args, name)
    outcome = auth.attempt_login(
        auth.load_accounts(secrets),
        name,
        password,
        address=f"cli:{_os_user()}",
        throttle_=throttle.LoginThrottle(throttle.database_path(args.data_dir)),
        gate=auth.PasswordGate(1),
    )
    if outcome.status == "wait":
        raise _Refused("auth.cli.wait", EXIT_REJECTED, "throttled", seconds=max(1, round(outcome.wait_s + 0.5)))
    if outcome.account is None:
        raise _Refused("auth.cli.wrong_password", EXIT_REJECTED, "wrong_password", name=name)
    return outcome.account.actor()


def _password(args: argparse.Namespace, name: str) -> str:
    """--password-stdin, else $URBAN_PLAN_PASSWORD, else a prompt on a terminal; otherwise refuse (exit 2)."""
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise _Refused("auth.cli.empty_password", EXIT_USAGE, "no_password")
        return password
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    if sys.stdin is not None and sys.stdin.isatty():
        return getpass.getpass(f"{name} password: ")
    raise _Refused("auth.cli.no_password", EXIT_USAGE, "no_password", name=name)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (containers): the number still says who
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


def _with_os_user(message: str) -> str:
    """History shows the editor; this adds who ran the command on the machine (kept within the store's 500)."""
    suffix = f" (os: {_os_user()[:40]})"
    return (message.strip()[: 500 - len(suffix)] + suffix).strip()


def _report_preview(
    args: argparse.Namespace,
    item: publishing.Preview,
    version: store.VersionInfo | None = None,
    registry_version: store.VersionInfo | None = None,
) -> None:
    result, lang = item.result, args.lang
    new_fields = tuple(getattr(result, "new_fields", ()))
    if args.json:
        _print_json(
            {
                "ok": result.ok and (version is not None or args.handler is _validate),
                "layer": item.layer,
                "features": result.feature_count,
                "detected": result.detected,
                "field_map": result.field_map,
                "problems": [
                    {
                        "severity": p.severity,
                        "code": p.code,
                        "feature": p.feature,
                        "field": p.field,
                        "found": p.found,
                        "message": problems.message(p, lang),
                    }
                    for p in result.problems
                ],
                "new_fields": [
                    {"name": f.name, "type": f.type, "options": list(f.option_values())} for f in new_fields
                ],
                "diff": _diff_json(item.diff),
                "version": _version_json(version) if version else None,
                "registry_version": _version_json(registry_version) if registry_version else None,
            }
        )
        return
    print(i18n.t("cli.read", lang, features=result.feature_count, detected=_detected_text(result.detected, lang)))
    for p in result.problems:
        where = "" if p.feature == "*" else f"[{p.feature}{'.' + p.field if p.field else ''}] "
        print(f"  {i18n.t(f'problems.{p.severity}', lang)}: {where}{problems.message(p, lang)}")
    if new_fields:
        fields = ", ".join(
            i18n.t("registry.cli.field_type", lang, name=f.name, type=i18n.t(f"registry.type.{f.type}", lang))
            for f in new_fields
        )
        print(i18n.t("registry.cli.new_fields", lang, fields=fields))
    if item.diff is not None:
        c = item.diff.counts()
        print(i18n.t("cli.diff", lang, added=c["added"], removed=c["removed"], changed=c["changed"], total=c["total"]))
    if version is not None:
        layer = _store(args).registry().name(item.layer, lang)
        print(i18n.t("cli.published", lang, layer=layer, number=version.number, as_of=version.as_of))
    elif not result.ok:
        print(i18n.t("cli.rejected", lang))


def _detected_text(detected: dict[str, str], lang: str) -> str:
    return display.detected_text(detected, lang) or "-"


def _diff_json(changes: diff.CollectionDiff | None) -> dict[str, Any] | None:
    if changes is None:
        return None
    return {
        **changes.counts(),
        "features": [
            {
                "id": c.id,
                "change": c.change,
                "moved_m": c.moved_m,
                "fields": [{"field": f.field, "old": f.old, "new": f.new} for f in c.fields],
            }
            for c in changes.rows()
        ],
    }


def _version_json(v: store.VersionInfo) -> dict[str, Any]:
    return {
        "number": v.number,
        "author": v.author,
        "saved_at": v.saved_at,
        "as_of": v.as_of,
        "message": v.message,
        "sha256": v.sha256,
        "base": v.base,
        "restored_from": v.restored_from,
        "counts": v.counts,
    }


def _fail(args: argparse.Namespace, text: str, exit_code: int, error: str) -> int:
    if getattr(args, "json", False):
        _print_json({"ok": False, "error": error, "message": text})
    else:
        print(text, file=sys.stderr)
    return exit_code


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=1, default=str))


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: expected YYYY-MM-DD") from exc
