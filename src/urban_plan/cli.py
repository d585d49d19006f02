"""python -m urban_plan: validate, import, history, rollback, export, add-editor — through the page's own rules.

Exit codes: 0 done, 1 rejected (nothing changed; also a wrong password or a throttled login), 2 usage error
(also: a write command with no way to ask for the author's password), 3 conflict (someone published meanwhile).

Write commands (import, rollback) check the author's password like the login page does: from --password-stdin,
else the URBAN_PLAN_PASSWORD environment variable, else a prompt when standard input is a terminal. The history
records the operating-system user beside the editor, as " (os: <user>)" at the end of the version's message.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import os
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from urban_plan import auth, diff, display, i18n, ingest, problems, publishing, schema, store, throttle

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
        p.add_argument("--layer", required=True, choices=schema.LAYER_IDS)
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
            help="map a source field to a standard field (FIELD empty: drop it); repeatable",
        )
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
    p.set_defaults(handler=_import)

    p = commands.add_parser("history", help="list a layer's versions")
    p.add_argument("layer", choices=store.known_collections())
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_history)

    p = commands.add_parser("rollback", help="publish an old version again as a new version")
    p.add_argument("layer", choices=store.known_collections())
    p.add_argument("--to", type=int, required=True)
    p.add_argument("--author", required=True, help="an editor named in secrets.toml")
    _password_option(p)
    p.add_argument("--message", default="")
    p.add_argument("--base-version", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_rollback)

    p = commands.add_parser("export", help="write a version of a layer as GeoJSON")
    p.add_argument("layer", choices=store.known_collections())
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


def _password_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help=f"read the author's password from standard input (else ${PASSWORD_ENV}, else a terminal prompt)",
    )


# --- commands ------------------------------------------------------------------------------------------------


def _validate(args: argparse.Namespace) -> int:
    options = _options(args)  # usage errors first, before touching the file
    item = publishing.preview(_store(args), args.file.name, args.file.read_bytes(), options)
    _report_preview(args, item)
    return EXIT_OK if item.result.ok else EXIT_REJECTED


def _import(args: argparse.Namespace) -> int:
    options = _options(args)
    actor = _authenticated_actor(args)
    if not actor.may_write(args.layer):  # refuse before reading the file: the page never offers it either
        raise store.PermissionDenied("not_allowed", user=actor.name, collection=args.layer)
    s = _store(args)
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


def _history(args: argparse.Namespace) -> int:
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
    actor = _authenticated_actor(args)
    s = _store(args)
    latest = s.latest(args.layer)
    base = args.base_version if args.base_version is not None else (latest.number if latest else 0)
    message = _with_os_user(args.message or f"rollback to v{args.to}")
    version = publishing.rollback(s, args.layer, args.to, actor=actor, base_version=base, message=message)
    if args.json:
        _print_json({"ok": True, "version": _version_json(version)})
    else:
        print(i18n.t("cli.rolled_back", args.lang, layer=args.layer, to=args.to, number=version.number))
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    data = _store(args).load_bytes(args.layer, args.version)
    if args.output == "-":
        sys.stdout.buffer.write(data)
    else:
        Path(args.output).write_bytes(data)
    return EXIT_OK


def _render_html(args: argparse.Namespace) -> int:
    from urban_plan import export, filters, frame, mapping, progress

    s, lang = _store(args), args.lang
    state = progress.state_on(s, args.as_of)
    payloads = {layer: (s.load(layer, v.number) if v else None) for layer, v in state.items()}
    context = frame.collection_frame(payloads.pop("context") or {"features": []}, "context")
    on = args.as_of or dt.date.today()
    overlays = progress.rate_frame(frame.layers_frame(payloads), on, lang)
    changed = None
    if args.since:
        before = frame.layers_frame(
            {
                layer: (s.load(layer, v.number) if v else None)
                for layer, v in progress.state_on(s, args.since).items()
                if layer != "context"
            }
        )
        changed = progress.changed_features(before, overlays, lang)
    line = i18n.t("time.as_of_line", lang, on=on.isoformat()) + " · " + filters.describe(filters.Criteria(), lang)
    html = export.standalone_html(
        context,
        overlays,
        options=mapping.MapOptions(lang=lang, colour_by=args.colour, north_arrow=True),
        title=i18n.t("app.title", lang),
        as_of_line=line,
        source_note=export.source_note(state, lang),
        changed=changed,
        since=args.since.isoformat() if args.since else "",
    )
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
    auth.add_editor(path, args.name, password, layers=layers, email=args.email)
    print(i18n.t("cli.editor_added", args.lang, name=args.name, path=str(path)))
    return EXIT_OK


# --- helpers -------------------------------------------------------------------------------------------------


def _store(args: argparse.Namespace) -> store.LayerStore:
    return store.open_store(args.data_dir)


def _options(args: argparse.Namespace) -> ingest.Options:
    field_map: dict[str, str | None] | None = None
    if args.map:
        field_map = {}
        for item in args.map:
            source, sep, target = item.partition("=")
            if not sep or not source:
                raise ValueError(f"--map {item!r}: expected SOURCE=FIELD")
            if target and target not in schema.FIELDS:
                raise ValueError(f"--map {item!r}: FIELD must be one of {', '.join(schema.FIELDS)} or empty")
            field_map[source] = target or None
    return ingest.Options(
        args.layer, datum=args.datum, field_map=field_map, repair=args.repair, source_name=args.file.name
    )


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
    args: argparse.Namespace, item: publishing.Preview, version: store.VersionInfo | None = None
) -> None:
    result, lang = item.result, args.lang
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
                "diff": _diff_json(item.diff),
                "version": _version_json(version) if version else None,
            }
        )
        return
    print(i18n.t("cli.read", lang, features=result.feature_count, detected=_detected_text(result.detected, lang)))
    for p in result.problems:
        where = "" if p.feature == "*" else f"[{p.feature}{'.' + p.field if p.field else ''}] "
        print(f"  {i18n.t(f'problems.{p.severity}', lang)}: {where}{problems.message(p, lang)}")
    if item.diff is not None:
        c = item.diff.counts()
        print(i18n.t("cli.diff", lang, added=c["added"], removed=c["removed"], changed=c["changed"], total=c["total"]))
    if version is not None:
        layer = i18n.label("layer", item.layer, lang)
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
