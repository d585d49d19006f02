"""Offline exports: a self-contained HTML map, a PNG of it, and the PDF meeting pack, rendered by headless Chromium."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import pandas as pd
import shapely
from folium.template import Template

from urban_plan import assets, dashboard, display, filters, frame, mapping, progress, schema, tables
from urban_plan import registry as layer_registry
from urban_plan.display import escape
from urban_plan.filters import Criteria
from urban_plan.i18n import label, normalise_lang, t
from urban_plan.progress import Thresholds
from urban_plan.registry import LayerDef, Registry
from urban_plan.store import LayerStore, VersionInfo

CHROMIUM_ENV = "URBAN_PLAN_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"

# Flags for every run. The profile is a fresh directory per run (added by _render), so nothing leaks between
# exports; the resolver rule makes any outside reference that slipped in fail at once instead of waiting on DNS.
CHROMIUM_FLAGS: tuple[str, ...] = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MIN_PIXELS, MAX_PIXELS = 200, 8000

FONT_STACK = '"Noto Sans CJK SC", "Noto Sans CJK", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif'
HALO_COLOUR = "#ffc400"
OTHER_COLOUR = "#8c8c8c"
# Smallest view around a page's features, in degrees (about 8–9 km): the positions are good to ±1–3 km, so zooming
# to street level on a sketched point would claim a precision the data does not have.
MIN_VIEW_DEG = (0.10, 0.075)  # (lon, lat)
# In the pack, a progress layer of sites (one that may hold areas: the five projects) gets a page per feature while
# it has at most this many; lines and points of one programme (nine roads, a rail link) share one page and map.
PAGE_PER_FEATURE_MAX = 12


class ExportError(Exception):
    """An export could not be made; `code` names a locale message (export.<code>), `params` fill it in."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(f"{code}: {params}")
        self.code = code
        self.params = params

    def message(self, lang: str) -> str:
        return t(f"export.{self.code}", lang, **self.params)


@dataclass(frozen=True)
class Paper:
    """A landscape sheet. `map_scale` grows the maps with the sheet, `type_scale` grows the type less."""

    name: str
    css_size: str
    width_mm: float
    height_mm: float
    map_scale: float
    type_scale: float


PAPERS: dict[str, Paper] = {
    "a4": Paper("a4", "A4 landscape", 297, 210, 1.0, 1.0),
    "a3": Paper("a3", "A3 landscape", 420, 297, 1.414, 1.3),
}
MARGINS_MM = (9.0, 11.0, 13.0, 11.0)  # top, right, bottom (room for the footer), left
ALL_SHOWN = Criteria()  # frozen: safe as a shared default
DEFAULT_THRESHOLDS = Thresholds()


# --- Chromium ---------------------------------------------------------------------------------------------------


def find_chromium() -> str:
    """The Chromium binary: $URBAN_PLAN_CHROMIUM (a path or a name on PATH), else /usr/bin/chromium, else
    `chromium` on PATH. A configured value that does not work is an error, not a silent fallback."""
    configured = os.environ.get(CHROMIUM_ENV, "").strip()
    if configured:
        found = configured if _executable(configured) else shutil.which(configured)
        if found and _executable(found):
            return found
        raise ExportError("no_chromium", path=configured)
    if _executable(DEFAULT_CHROMIUM):  # before searching PATH: the map page asks on every run
        return DEFAULT_CHROMIUM
    on_path = shutil.which("chromium")
    if on_path and _executable(on_path):
        return on_path
    raise ExportError("no_chromium", path=DEFAULT_CHROMIUM)


def _executable(path: str) -> bool:
    return Path(path).is_file() and os.access(path, os.X_OK)


def png(html: str, *, width: int = 1600, height: int = 1000, timeout_s: float = 60) -> bytes:
    """A screenshot of a self-contained page (see `standalone_html`) at width x height pixels."""
    if not (MIN_PIXELS <= width <= MAX_PIXELS and MIN_PIXELS <= height <= MAX_PIXELS):
        raise ExportError("bad_size", width=width, height=height, min=MIN_PIXELS, max=MAX_PIXELS)
    flags = ["--virtual-time-budget=8000", f"--window-size={int(width)},{int(height)}"]
    data = _render(html, "map.png", flags, "--screenshot=", timeout_s)
    if not data.startswith(PNG_SIGNATURE):
        raise ExportError("chromium_failed", status="png", detail="output is not a PNG")
    return data


def _pdf(html: str, timeout_s: float) -> bytes:
    # Virtual time lets every Leaflet map finish before printing, without waiting in real time.
    flags = ["--no-pdf-header-footer", "--virtual-time-budget=15000"]
    data = _render(html, "pack.pdf", flags, "--print-to-pdf=", timeout_s)
    if not data.startswith(b"%PDF-"):
        raise ExportError("chromium_failed", status="pdf", detail="output is not a PDF")
    return data


def _render(html: str, output: str, flags: list[str], output_flag: str, timeout_s: float) -> bytes:
    """Write the page to a private temp dir, run Chromium once on it, return the file it wrote."""
    binary = find_chromium()
    with tempfile.TemporaryDirectory(prefix="urban-plan-export-", ignore_cleanup_errors=True) as tmp:
        folder = Path(tmp)
        page = folder / "page.html"
        page.write_text(html, encoding="utf-8")
        target = folder / output
        command = [
            binary,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={folder / 'profile'}",
            *flags,
            f"{output_flag}{target}",
            page.as_uri(),
        ]
        # Own session: on a timeout the whole Chromium process tree (renderers, zygote) is ended, not just the
        # launcher script, and none is left holding the temp dir.
        process = subprocess.Popen(
            command,
            cwd=folder,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            _, err = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _end_group(process)
            raise ExportError("chromium_timeout", seconds=f"{timeout_s:g}") from None
        except BaseException:
            _end_group(process)
            raise
        if process.returncode != 0 or not target.is_file() or target.stat().st_size == 0:
            raise ExportError("chromium_failed", status=process.returncode, detail=_stderr_tail(err))
        return target.read_bytes()


def _end_group(process: subprocess.Popen[bytes]) -> None:
    """Kill the process group we started (its id is our child's pid, still unreaped) and reap the child."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        process.communicate(timeout=10)


def _stderr_tail(err: bytes) -> str:
    # Chromium logs D-Bus complaints on every headless start; they say nothing about why a render failed.
    lines = [line for line in err.decode("utf-8", "replace").splitlines() if line.strip() and "dbus" not in line]
    return " | ".join(lines[-4:])[-600:] or "—"


# --- the self-contained HTML map --------------------------------------------------------------------------------


class SourceNote(mapping.SafeMacro):
    """Where the data comes from, as a small control on the map; set as text, so data can never become markup."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
            var note = L.control({position: 'bottomleft'});
            note.onAdd = function () {
                var div = L.DomUtil.create('div', 'up-source-note');
                div.textContent = {{ this.text|tojson }};
                return div;
            };
            note.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "SourceNote"
        self.text = text


# Leaflet's attribution prefix is a link to leafletjs.com: keep the credit, drop the outside link.
_PLAIN_ATTRIBUTION_JS = "if (map.attributionControl) { map.attributionControl.setPrefix('Leaflet'); }"

# Folium puts the map's own CSS before leaflet.css, whose `.leaflet-container` rule then wins (grey background,
# Helvetica/Arial): the `html` prefix makes ours more specific, whatever the order.
_LEAFLET_OVERRIDES = f"""
html .leaflet-container {{ background: {mapping.MAP_BACKGROUND}; font-family: {FONT_STACK}; }}
"""

_STANDALONE_CSS = (
    _LEAFLET_OVERRIDES
    + """
html, body { width: 100%; height: 100%; margin: 0; padding: 0; overflow: hidden; }
.folium-map { position: absolute !important; inset: 0; width: 100% !important; height: 100% !important; }
.up-source-note { background: rgba(255,255,255,.92); padding: 4px 8px; border-radius: 4px; font-size: 11.5px;
  color: #333; max-width: 520px; line-height: 1.4; box-shadow: 0 1px 3px rgba(0,0,0,.25); }
"""
)


def export_options(options: mapping.MapOptions, *, title: str, as_of_line: str) -> mapping.MapOptions:
    """What an export takes from the view: language, colouring, presentation size. Everything else is the
    default on purpose: no tiles (no outside request; the offline base is WGS84, so no display datum shift), the
    vendored assets, nothing that talks to the app page. Plus the stamp and a north arrow. The layers in force (the
    registry) are kept: they are what the map shows, not how."""
    return mapping.MapOptions(
        lang=options.lang,
        colour_by=options.colour_by,
        presentation=options.presentation,
        stamp=(title, as_of_line),
        north_arrow=True,
        registry=options.registry,
    )


def standalone_html(
    context: pd.DataFrame,
    overlays: pd.DataFrame,
    *,
    options: mapping.MapOptions,
    title: str,
    as_of_line: str,
    source_note: str,
    changed: pd.DataFrame | None = None,
    since: str = "",
    registry: Registry | None = None,
) -> str:
    """One HTML file of the current view that works from disk with nothing beside it and no network.

    `overlays` is already filtered and carries the `progress.rate_frame` columns; `registry` (default: the shipped
    layers) names the layers, orders them and gives the legend its entries."""
    if registry is not None:
        options = dataclasses.replace(options, registry=registry)
    opts = export_options(options, title=title, as_of_line=as_of_line)
    m = mapping.full_map(context, overlays, opts, changed=changed, since=since)
    mapping.Script(_PLAIN_ATTRIBUTION_JS).add_to(m)
    SourceNote(source_note).add_to(m)
    m.get_root().header.add_child(folium.Element(f"<style>{_STANDALONE_CSS}</style>"), name="up_standalone_css")
    html = assets.inline_assets(m.get_root().render(), assets.APP_BASE)
    return _document_head(html, lang=opts.lang, title=title)


def map_html(
    store: LayerStore,
    *,
    on: dt.date | None,
    since: dt.date | None = None,
    lang: str,
    colour_by: str = "status",
    criteria: Criteria = ALL_SHOWN,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> str:
    """The standalone HTML map straight from a store (the CLI's render-html): every active layer of its registry as
    in effect on a date, rated and filtered, what changed since a date as halos, legend and names from the
    registry."""
    lang = normalise_lang(lang)
    registry = store.registry()
    on_date = on or dt.date.today()
    now = _snapshot(store, on, registry)
    shown = progress.rate_frame(filters.apply(now.overlays, criteria, registry), on_date, lang, thresholds)
    changed = None
    if since is not None:
        before = _snapshot(store, since, registry)
        changed = progress.changed_features(before.overlays, now.overlays, lang, registry)
    return standalone_html(
        now.context,
        shown,
        options=mapping.MapOptions(lang=lang, colour_by=colour_by, north_arrow=True, registry=registry),
        title=t("app.title", lang),
        as_of_line=as_of_line(on_date, criteria, lang, registry),
        source_note=source_note(now.versions, lang, registry),
        changed=changed,
        since=since.isoformat() if since else "",
    )


def as_of_line(on: dt.date | None, criteria: Criteria, lang: str, registry: Registry | None = None) -> str:
    """The stamp's second line: the data date and what the filters show (layers named as in `registry`)."""
    described = filters.describe(criteria, lang, registry)
    return t("export.as_of_line", lang, on=(on or dt.date.today()).isoformat(), filters=described)


def source_note(versions: dict[str, VersionInfo | None], lang: str, registry: Registry | None = None) -> str:
    """The provenance line drawn on an exported map: which versions (layers named as in `registry`, default the
    shipped layers), and how far to trust the shapes."""
    names = registry or layer_registry.builtin()
    parts = [_version_text(layer, v, lang, names) for layer, v in versions.items()]
    return t("export.source_note", lang, versions=t("filters.list_separator", lang).join(parts))


def _document_head(html: str, *, lang: str, title: str) -> str:
    """Folium's page with a language and a title: screen readers and browser tabs say what the file is."""
    head = f'<html lang="{_html_lang(lang)}">\n<head>\n<meta charset="utf-8" />\n<title>{escape(title)}</title>'
    return re.sub(r"<html>\s*<head>", lambda _match: head, html, count=1)


def _html_lang(lang: str) -> str:
    return "en" if normalise_lang(lang) == "en" else "zh-CN"


# --- the meeting pack -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Snapshot:
    """The layers as in effect on a date (the active layers of the store's registry)."""

    versions: dict[str, VersionInfo | None]
    context: gpd.GeoDataFrame  # every base layer
    overlays: gpd.GeoDataFrame


def _snapshot(store: LayerStore, on: dt.date | None, registry: Registry) -> _Snapshot:
    versions = progress.state_on(store, on)
    payloads = {layer: store.load_shared(layer, v.number) for layer, v in versions.items() if v is not None}
    context = frame.layers_frame({layer: payloads[layer] for layer in registry.bases() if layer in payloads})
    overlays = frame.layers_frame({layer: payloads[layer] for layer in registry.overlays() if layer in payloads})
    return _Snapshot(versions, context, overlays)


@dataclass
class _Pack:
    """What every page needs to know; built once per pack."""

    lang: str
    registry: Registry
    paper: Paper
    on: dt.date
    since: dt.date | None
    criteria: Criteria
    now: _Snapshot
    shown: pd.DataFrame  # filtered overlays with the rating columns (every overlay: the others draw grey on maps)
    options: mapping.MapOptions
    maps: list[folium.Map]
    total_layer: str | None = None  # the layer whose features share the article's one total (the targets say which)

    def tr(self, key: str, **params: Any) -> str:
        return t(key, self.lang, **params)

    def name(self, layer: str) -> str:
        return self.registry.name(layer, self.lang)

    @property
    def tracked(self) -> pd.DataFrame:
        """The shown features of the layers that track progress: the ones rated, paged and counted."""
        layers = self.registry.progress_layers()
        return self.shown[self.shown["layer"].isin(layers)] if len(self.shown) else self.shown


def meeting_pack_html(
    store: LayerStore,
    *,
    on: dt.date | None,
    since: dt.date | None,
    lang: str,
    paper: str = "a4",
    criteria: Criteria = ALL_SHOWN,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> str:
    """The meeting pack as one printable HTML document: cover, then for each layer that tracks progress (in the
    registry's order) a page per site or one page for the group, changes since a date, data sources. Layers that do
    not track progress get no pages. Every data text is escaped."""
    lang = normalise_lang(lang)
    sheet = _paper(paper)
    on_date = on or dt.date.today()
    registry = store.registry()
    now = _snapshot(store, on, registry)
    shown = progress.rate_frame(filters.apply(now.overlays, criteria, registry), on_date, lang, thresholds)
    options = mapping.MapOptions(lang=lang, basemap="none", north_arrow=True, registry=registry)
    pack = _Pack(lang, registry, sheet, on_date, since, criteria, now, shown, options, [], _total_layer(store, on_date))
    pages = [_cover_page(pack, store)]
    for layer in registry.active():
        if not layer.tracks_progress or layer.role != "overlay":
            continue
        group = shown[shown["layer"] == layer.id] if len(shown) else shown
        if not len(group):
            continue
        if _page_per_feature(layer, len(group)):
            pages += [_feature_page(pack, group.iloc[[i]], layer, i + 1, len(group)) for i in range(len(group))]
        else:
            pages.append(_group_page(pack, group, layer.id))
    pages.append(_changes_page(pack, store))
    pages.append(_sources_page(pack, store))
    return _pack_document(pack, pages)


def meeting_pack(
    store: LayerStore,
    *,
    on: dt.date | None,
    since: dt.date | None,
    lang: str,
    paper: str = "a4",
    criteria: Criteria = ALL_SHOWN,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    timeout_s: float = 120,
) -> bytes:
    """The meeting pack as a PDF (one Chromium run)."""
    html = meeting_pack_html(
        store, on=on, since=since, lang=lang, paper=paper, criteria=criteria, thresholds=thresholds
    )
    return _pdf(html, timeout_s)


def _page_per_feature(layer: LayerDef, count: int) -> bool:
    return "polygon" in layer.families and count <= PAGE_PER_FEATURE_MAX


def _paper(paper: str) -> Paper:
    key = str(paper or "").strip().lower()
    if key not in PAPERS:
        raise ExportError("bad_paper", paper=str(paper)[:20])
    return PAPERS[key]


# --- pages ------------------------------------------------------------------------------------------------------


def _cover_page(pack: _Pack, store: LayerStore) -> str:
    tr, lang = pack.tr, pack.lang
    versions = "".join(
        f"<li>{escape(_version_text(layer, v, lang, pack.registry))}</li>" for layer, v in pack.now.versions.items()
    )
    kpis = filters.kpis(pack.shown, pack.registry)
    statuses = " · ".join(
        f"{_chip(display.status_colour(s), label('status', s, lang))} {n}" for s, n in kpis.by_status.items()
    )
    tracked = pack.tracked
    ratings = tracked["rating"].value_counts() if len(tracked) else pd.Series(dtype=int)
    rating_text = " · ".join(f"{_rating_chip(r, lang)} {int(ratings.get(r, 0))}" for r in progress.RATINGS)
    if kpis.mean_progress is None:
        mean = escape(tr("export.kpi_mean_none", total=kpis.shown))
    else:
        mean = escape(tr("export.kpi_mean_value", mean=f"{kpis.mean_progress:.0f}", n=kpis.reported, total=kpis.shown))
    total = f"{schema.FIVE_PROJECTS_TOTAL_YI:g}"
    kpi_rows = [
        (tr("export.kpi_shown"), escape(tr("export.kpi_shown_value", shown=kpis.shown, total=len(pack.now.overlays)))),
        (tr("export.kpi_status"), statuses),
        (tr("export.kpi_rating"), rating_text),
        (tr("export.kpi_mean"), mean),
        (
            tr("export.kpi_total"),
            f"<b>{escape(tr('export.total_value', yi=total, bn=f'{schema.FIVE_PROJECTS_TOTAL_YI / 10:g}'))}</b>"
            f'<div class="note">{escape(tr("export.total_note", source=schema.ARTICLE_SOURCE))}</div>',
        ),
    ]
    kpi_table = "".join(f"<tr><th>{escape(k)}</th><td>{v}</td></tr>" for k, v in kpi_rows)
    return (
        '<section class="page cover">'
        f'<div class="kicker">{escape(tr("export.subtitle"))}</div>'
        f"<h1>{escape(tr('export.title'))}</h1>"
        f'<div class="as-of">{escape(tr("export.as_of", on=pack.on.isoformat()))}</div>'
        '<div class="cover-grid"><div class="cover-left">'
        f'<h3>{escape(tr("export.versions"))}</h3><ul class="versions">{versions}</ul>'
        f"<h3>{escape(tr('export.filter'))}</h3><p>{escape(filters.describe(pack.criteria, lang, pack.registry))}</p>"
        f'<h3>{escape(tr("export.kpis"))}</h3><table class="facts">{kpi_table}</table>'
        f'<p class="warn">{escape(tr("app.geometry_warning"))}</p>'
        '</div><div class="cover-right">'
        f"{_targets_block(pack, store)}"
        "</div></div></section>"
    )


def _version_text(layer: str, version: VersionInfo | None, lang: str, registry: Registry) -> str:
    name = registry.name(layer, lang)
    if version is None:
        return t("app.layer_missing", lang, layer=name)
    return t("app.layer_version", lang, layer=name, number=version.number, as_of=version.as_of)


def _total_layer(store: LayerStore, on: dt.date) -> str | None:
    """The layer the targets table counts the five projects' total from (its row names it), if any."""
    version = store.effective("targets", on)
    rows = store.load_shared("targets", version.number).get("rows", []) if version else []
    return next((r.get("layer") for r in rows if r.get("id") == dashboard.TOTAL_TARGET), None)


def _targets_block(pack: _Pack, store: LayerStore) -> str:
    """The targets table as in effect on the date: target against what was reported, never a made-up value."""
    tr, lang = pack.tr, pack.lang
    version = store.effective("targets", pack.on)
    if version is None:
        return f"<h3>{escape(tr('export.targets'))}</h3><p>{escape(tr('export.no_targets'))}</p>"
    rows = store.load("targets", version.number).get("rows", [])
    body = []
    for row in rows:
        unit = row.get("unit_en") if lang == "en" else row.get("unit_zh")
        target = f"{_number_text(row.get('target'))} {unit or ''}".strip()
        reported = row.get("reported")
        if reported is None:
            reported_html = f'<span class="missing">{escape(tr("value.not_reported"))}</span>'
        else:
            value = f"{_number_text(reported)} {unit or ''}".strip()
            share = _share(reported, row.get("target"))
            key = "export.reported_share" if share is not None else "export.reported_value"
            reported_html = escape(tr(key, value=value, as_of=row.get("reported_as_of") or "—", share=share))
        name = (row.get("label_en") if lang == "en" else row.get("label_zh")) or row.get("id")
        body.append(
            f"<tr><td><b>{escape(name)}</b></td><td>{escape(target)}</td><td>{reported_html}</td>"
            f'<td class="small">{escape(row.get("note") or "—")}<div class="src">{escape(row.get("source") or "")}'
            "</div></td></tr>"
        )
    head = "".join(
        f"<th>{escape(tr(k))}</th>"
        for k in ("export.col_indicator", "export.col_target", "export.col_reported", "export.col_note")
    )
    caption = tr("export.targets_as_of", number=version.number, as_of=version.as_of)
    return (
        f'<h3>{escape(tr("export.targets"))}</h3><div class="sub">{escape(caption)}</div>'
        f'<table class="grid targets"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
        f'<p class="note">{escape(tr("export.targets_note"))}</p>'
    )


def _number_text(value: Any) -> str:
    try:
        return f"{float(value):,.2f}".rstrip("0").rstrip(".")
    except (TypeError, ValueError):
        return "—"


def _share(reported: Any, target: Any) -> str | None:
    try:
        share = float(reported) / float(target) * 100
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return f"{share:.0f}"


def _feature_page(pack: _Pack, row_frame: pd.DataFrame, layer: LayerDef, number: int, count: int) -> str:
    """One site of a progress layer: its map, rating and facts, then its own attributes (those shown in details)."""
    tr, lang = pack.tr, pack.lang
    row = display.clean(row_frame.iloc[0].to_dict())
    other = row.get("name_en") if lang == "zh" else row.get("name_zh")
    kind = label("kind", row.get("kind"), lang) if row.get("kind") else ""
    investment = escape(display.investment_text(row.get("investment_yi"), lang))
    # Only the five projects share the article's one total; other layers' missing figures are just not public.
    if row.get("investment_yi") is None and layer.id == pack.total_layer:
        total_yi = schema.FIVE_PROJECTS_TOTAL_YI
        split = tr("export.investment_split", total=f"{total_yi:g}", bn=f"{total_yi / 10:g}")
        investment += f'<div class="note">{escape(split)}</div>'
    facts = [
        (tr("field.status"), _chip(display.status_colour(row.get("status")), label("status", row.get("status"), lang))),
        (tr("export.col_rating"), _rating_html(row, lang)),
        (tr("field.progress"), _progress_html(row, lang)),
        (tr("field.start_date"), escape(display.date_text(row.get("start_date"), lang))),
        (tr("field.end_date"), escape(display.date_text(row.get("end_date"), lang))),
        (tr("field.investment_yi"), investment),
        (tr("field.confidence"), _confidence_html(row, lang)),
        (tr("field.source"), f'<span class="src">{escape(row.get("source") or tr("value.unknown"))}</span>'),
        (tr("field.note"), escape(display.local_text(row.get("note"), lang) or "—")),
        (tr("field.id"), f'<span class="src">{escape(row.get("layer"))}/{escape(row.get("id"))}</span>'),
        *_attribute_facts(row, layer, lang),
    ]
    facts_html = "".join(f"<tr><th>{escape(k)}</th><td>{v}</td></tr>" for k, v in facts)
    size = (150 * pack.paper.map_scale, 134 * pack.paper.map_scale)  # leaves room for the legend below it
    kicker = tr("export.project_kicker", layer=layer.name(lang), n=number, count=count)
    return (
        '<section class="page feature">'
        f'<div class="kicker">{escape(kicker)}</div>'
        f"<h2>{escape(display.name(row, lang))}{_tag_html(row, lang)}</h2>"
        f'<div class="sub">{escape(" · ".join(x for x in (other, kind) if x))}</div>'
        '<div class="row">'
        f'<div class="map-col" style="width:{size[0]:.1f}mm">{_map_box(pack, row_frame, size)}'
        f"{_legend_block(pack)}</div>"
        f'<div class="facts-col"><table class="facts">{facts_html}</table></div>'
        "</div></section>"
    )


def _attribute_facts(row: dict[str, Any], layer: LayerDef, lang: str) -> list[tuple[str, str]]:
    """The layer's own attributes marked for details, with a value: (label, escaped value)."""
    out = []
    for spec in layer.fields:
        value = tables.attribute_text(row.get(spec.name), spec, lang)
        if spec.details and value not in (None, ""):
            out.append((spec.label(lang), escape(value)))
    return out


def _group_page(pack: _Pack, group: pd.DataFrame, layer: str) -> str:
    """One page for a group of works (the nine roads, the rail link): one map, one row per feature."""
    tr, lang = pack.tr, pack.lang
    rows = [display.clean(r) for r in group.to_dict("records")]
    refs: dict[tuple[str, str], int] = {}
    body = []
    for i, row in enumerate(rows, start=1):
        ref = refs.setdefault((row.get("source") or "", row.get("note") or ""), len(refs) + 1)
        body.append(
            f'<tr><td class="num">{i}</td>'
            f"<td><b>{escape(display.name(row, lang))}</b></td>"
            f"<td>{_chip(display.status_colour(row.get('status')), label('status', row.get('status'), lang))}</td>"
            f"<td>{_progress_html(row, lang)}</td>"
            f"<td>{escape(display.date_text(row.get('start_date'), lang))}</td>"
            f"<td>{escape(display.date_text(row.get('end_date'), lang))}</td>"
            f"<td>{_rating_html(row, lang, inline=True)}</td>"
            f"<td>{escape(display.investment_text(row.get('investment_yi'), lang))}</td>"
            f"<td>{escape(display.confidence_text(row.get('confidence'), lang))}</td>"
            f'<td class="num">[{ref}]</td></tr>'
        )
    # Column widths in percent, in the order of `columns`: the reason sentence gets the room.
    widths = (3, 21, 5.5, 6.5, 5.5, 6.5, 35.5, 7, 7, 2.5)
    columns = [
        "export.col_no",
        "field.name",
        "field.status",
        "field.progress",
        "field.start_date",
        "field.end_date",
        "export.col_rating",
        "field.investment_yi",
        "field.confidence",
        "export.col_refs",
    ]
    colgroup = "".join(f'<col style="width:{w}%">' for w in widths)
    head = "".join(f"<th>{escape(tr(c))}</th>" for c in columns)
    notes = "".join(
        f"<li><b>[{n}]</b> {escape(tr('export.ref_source', source=source or tr('value.unknown')))}"
        f"{'<br>' + escape(tr('export.ref_note', note=display.local_text(note, lang))) if note else ''}</li>"
        for (source, note), n in refs.items()
    )
    warnings = "".join(
        f"<li>{_tag_html({'confidence': c}, lang)} {escape(tr(f'confidence_warning.{c}'))}</li>"
        for c in ("approximate", "placeholder")
        if any(r.get("confidence") == c for r in rows)
    )
    # The map takes what the heading and the table leave: a row is about 9 mm on A4 (two lines of type).
    sheet = pack.paper
    content = sheet.height_mm - MARGINS_MM[0] - MARGINS_MM[2]
    height = content - (58 + 9 * len(rows)) * sheet.type_scale
    size = (150 * sheet.map_scale, min(max(height, 55 * sheet.map_scale), 105 * sheet.map_scale))
    heading = tr("export.group_heading", layer=pack.name(layer), count=len(rows))
    return (
        '<section class="page group">'
        f'<div class="kicker">{escape(tr("export.group_kicker"))}</div>'
        f"<h2>{escape(heading)}</h2>"
        '<div class="row">'
        f'<div class="map-col">{_map_box(pack, group, size)}</div>'
        f'<div class="side">{_legend_block(pack)}<ul class="warnings">{warnings}</ul>'
        f'<div class="refs-title">{escape(tr("export.refs"))}</div><ul class="refs">{notes}</ul></div>'
        "</div>"
        f'<table class="grid features"><colgroup>{colgroup}</colgroup><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
        "</section>"
    )


def _changes_page(pack: _Pack, store: LayerStore) -> str:
    tr, lang = pack.tr, pack.lang
    if pack.since is None:
        return (
            f'<section class="page changes"><h2>{escape(tr("export.changes_title_none"))}</h2>'
            f"<p>{escape(tr('export.no_since'))}</p></section>"
        )
    before = _snapshot(store, pack.since, pack.registry)
    table = progress.compare(before.overlays, pack.now.overlays, lang, pack.registry)
    table = table[[pack.criteria.shows_layer(layer) for layer in table["layer"]]] if len(table) else table
    versions = "".join(
        f"<tr><td>{escape(pack.name(layer))}</td>"
        f"<td>{escape(_short_version(before.versions.get(layer), lang))}</td>"
        f"<td>{escape(_short_version(v, lang))}</td></tr>"
        for layer, v in pack.now.versions.items()
        if pack.criteria.shows_layer(layer)
    )
    version_head = "".join(
        f"<th>{escape(x)}</th>" for x in (tr("export.col_layer"), pack.since.isoformat(), pack.on.isoformat())
    )
    if len(table):
        rows = "".join(
            f"<tr><td>{escape(pack.name(r.layer))}</td><td><b>{escape(r.name)}</b></td>"
            f"<td>{_chip(progress.CHANGE_COLOURS.get(r.change, '#666'), label('change', r.change, lang))}</td>"
            f"<td>{escape(r.detail or '—')}</td></tr>"
            for r in table.itertuples()
        )
        head = "".join(
            f"<th>{escape(tr(c))}</th>"
            for c in ("export.col_layer", "export.col_name", "export.col_change", "export.col_detail")
        )
        changes = f'<table class="grid changes-table"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
    else:
        changes = f"<p>{escape(tr('export.changes_none'))}</p>"
    return (
        '<section class="page changes">'
        f"<h2>{escape(tr('export.changes_title', since=pack.since.isoformat()))}</h2>"
        f'<p class="sub">{escape(tr("export.changes_range", since=pack.since.isoformat(), on=pack.on.isoformat()))}'
        "</p>"
        f'<table class="grid versions-table"><thead><tr>{version_head}</tr></thead><tbody>{versions}</tbody></table>'
        f"<h3>{escape(tr('export.changes_count', count=len(table)))}</h3>{changes}"
        "</section>"
    )


def _short_version(version: VersionInfo | None, lang: str) -> str:
    if version is None:
        return t("export.no_version", lang)
    return t("export.version_short", lang, number=version.number, as_of=version.as_of)


def _sources_page(pack: _Pack, store: LayerStore) -> str:
    tr = pack.tr
    versions = dict(pack.now.versions)
    versions["targets"] = store.effective("targets", pack.on)
    versions[layer_registry.COLLECTION] = store.current(layer_registry.COLLECTION)  # the layer list this pack used
    documents = {"targets": tr("export.targets_name"), layer_registry.COLLECTION: tr("tables2.collection_layers")}
    rows = "".join(
        f"<tr><td>{escape(pack.name(name) if name in pack.registry else documents[name])}</td>"
        + (
            f"<td>{v.number}</td><td>{escape(v.as_of)}</td><td>{escape(v.author)}</td>"
            f"<td>{escape(display.local_time(v.saved_at))}</td><td>{escape(v.message or '—')}</td>"
            if v
            else f'<td colspan="5">{escape(tr("export.no_version"))}</td>'
        )
        + "</tr>"
        for name, v in versions.items()
    )
    head = "".join(
        f"<th>{escape(tr(c))}</th>"
        for c in (
            "export.col_layer",
            "export.col_version",
            "export.col_as_of",
            "export.col_author",
            "export.col_saved",
            "export.col_message",
        )
    )
    cited = _distinct(
        display.clean(r).get("source")
        for part in (pack.now.context, pack.shown)
        if len(part)
        for r in part.to_dict("records")
    )
    sources = "".join(f"<li>{escape(s)}</li>" for s in cited) or f"<li>{escape(tr('value.unknown'))}</li>"
    return (
        '<section class="page sources">'
        f"<h2>{escape(tr('export.sources_title'))}</h2>"
        f'<table class="grid versions-table"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
        f"<h3>{escape(tr('export.provenance'))}</h3>"
        f"<p>{escape(tr('export.prov_boundary'))}</p><p>{escape(tr('export.prov_sketch'))}</p>"
        f"<p>{escape(tr('export.prov_unknown'))}</p>"
        f'<h3>{escape(tr("export.prov_sources"))}</h3><ul class="sources-list">{sources}</ul>'
        "</section>"
    )


def _distinct(values: Iterable[Any]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        if value:
            seen.setdefault(str(value), None)
    return list(seen)


# --- page pieces ------------------------------------------------------------------------------------------------


def _chip(colour: str, text: str, dark_text: bool = False) -> str:
    """A coloured label; the colour comes from our own tables, never from data."""
    cls = "chip dark" if dark_text else "chip"
    return f'<span class="{cls}" style="background:{colour}">{escape(text)}</span>'


def _rating_chip(code: str, lang: str) -> str:
    return _chip(progress.RATING_COLOURS.get(code, "#999999"), label("rating", code, lang), dark_text=code == "yellow")


def _rating_html(row: dict[str, Any], lang: str, *, inline: bool = False) -> str:
    code = row.get("rating") or "missing"
    reason = escape(row.get("rating_reason") or "")
    if inline:  # in a table row: chip and sentence share lines, which keeps nine rows on one page
        return f'{_rating_chip(code, lang)} <span class="reason">{reason}</span>'
    return f'{_rating_chip(code, lang)}<div class="reason">{reason}</div>'


def _progress_html(row: dict[str, Any], lang: str) -> str:
    text = display.progress_text(row.get("progress"), lang)
    return f'<span class="missing">{escape(text)}</span>' if row.get("progress") is None else escape(text)


def _confidence_html(row: dict[str, Any], lang: str) -> str:
    confidence = row.get("confidence")
    text = escape(display.confidence_text(confidence, lang))
    if confidence in ("approximate", "placeholder"):
        text += f'<div class="warn">{escape(t(f"confidence_warning.{confidence}", lang))}</div>'
    return text


def _tag_html(row: dict[str, Any], lang: str) -> str:
    tag = display.confidence_tag(row.get("confidence"), lang)
    return f' <span class="tag tag-{escape(row.get("confidence"))}">{escape(tag)}</span>' if tag else ""


def _map_box(pack: _Pack, focus: pd.DataFrame, size_mm: tuple[float, float]) -> str:
    """A small Leaflet map of the page's features, highlighted over the others, in a box of fixed size in mm (the
    map is laid out once on screen and must keep that size when printed)."""
    m = _page_map(pack, focus)
    pack.maps.append(m)
    root = m.get_root()
    root.render()
    width, height = size_mm
    return f'<div class="map-box" style="width:{width:.1f}mm;height:{height:.1f}mm">{root.html.render()}</div>'


def _legend_block(pack: _Pack) -> str:
    """The map legend printed beside the map, not on it: inside a small map it would cover a third of it."""
    legend = mapping.legend_html(pack.lang, pack.options.colour_by, pack.registry)
    return (
        f'<div class="up-legend pack-legend">{legend}</div>'
        f'<div class="caption">{escape(pack.tr("export.map_caption"))}</div>'
    )


def _page_map(pack: _Pack, focus: pd.DataFrame) -> folium.Map:
    m = mapping.base_map(pack.now.context, pack.options)
    # The second fitBounds (to the page's features) would otherwise be an animated zoom: CSS transitions do not
    # advance under Chromium's virtual time, and the PDF caught the map half-way, at the district's zoom.
    m.options.update(zoomAnimation=False, fadeAnimation=False, markerZoomAnimation=False)
    mapping.Script(_PLAIN_ATTRIBUTION_JS).add_to(m)
    keys = set(zip(focus["layer"], focus["id"], strict=True))
    others = pack.shown[[(k not in keys) for k in zip(pack.shown["layer"], pack.shown["id"], strict=True)]]
    other_style = {
        "color": OTHER_COLOUR,
        "weight": 1.5,
        "opacity": 0.7,
        "fillColor": OTHER_COLOUR,
        "fillOpacity": 0.06,
        "radius": 4,
        "className": "up-other",
    }
    halo_style = {
        "color": HALO_COLOUR,
        "weight": 14,
        "opacity": 0.55,
        "fillColor": HALO_COLOUR,
        "fillOpacity": 0.12,
        "radius": 15,
        "className": "up-halo",
    }
    for part, style in ((others, other_style), (focus, halo_style)):
        shapes = _shapes_only(part, style)
        if shapes is not None:
            shapes.add_to(m)
    for group in mapping.overlay_groups(focus, pack.options, layers=list(dict.fromkeys(focus["layer"]))):
        group.add_to(m)
    m.fit_bounds(_view_bounds(focus), padding=(40, 40))
    return m


def _shapes_only(part: pd.DataFrame, style: dict[str, Any]) -> folium.GeoJson | None:
    """Geometry without any properties: nothing of the data's text reaches the page this way."""
    features = [
        {"type": "Feature", "id": str(i), "properties": {}, "geometry": json.loads(shapely.to_geojson(geom))}
        for i, geom in enumerate(part.geometry if len(part) else [])
        if geom is not None and not geom.is_empty
    ]
    if not features:
        return None
    return folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        style_function=lambda _feature: style,
        marker=folium.CircleMarker(radius=style["radius"], fill=True),
        interactive=False,
    )


def _view_bounds(part: pd.DataFrame) -> list[list[float]]:
    geoms = [g for g in part.geometry if g is not None and not g.is_empty] if len(part) else []
    if not geoms:
        return mapping.DISTRICT_BOUNDS
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    half_x = max((maxx - minx) / 2, MIN_VIEW_DEG[0] / 2)
    half_y = max((maxy - miny) / 2, MIN_VIEW_DEG[1] / 2)
    return [[cy - half_y, cx - half_x], [cy + half_y, cx + half_x]]


# --- the document ---------------------------------------------------------------------------------------------


def _pack_document(pack: _Pack, pages: list[str]) -> str:
    tr = pack.tr
    # Every map shares the same Leaflet, plugins and map CSS: take them from the first map's header once.
    header = pack.maps[0].get_root().header.render() if pack.maps else ""
    scripts = "\n".join(f"<script>{m.get_root().script.render()}</script>" for m in pack.maps)
    title = tr("export.title")
    footer_left = tr("export.footer", title=title, on=pack.on.isoformat())
    html = (
        f'<!DOCTYPE html>\n<html lang="{_html_lang(pack.lang)}">\n<head>\n<meta charset="utf-8" />\n'
        f"<title>{escape(title)} {escape(pack.on.isoformat())}</title>\n{header}\n"
        f"<style>{_pack_css(pack.paper, footer_left, tr('export.page_of'))}</style>\n</head>\n<body>\n"
        + "\n".join(pages)
        + f"\n{scripts}\n</body>\n</html>\n"
    )
    return assets.inline_assets(html, assets.APP_BASE)


def _css_string(text: str) -> str:
    """A CSS string literal; anything that could end the string or the <style> element is escaped."""
    out = []
    for char in text:
        if char.isalnum() or char in " .,:;·/()-–_%!?、,:;()":
            out.append(char)
        else:
            out.append(f"\\{ord(char):06x}")
    return '"' + "".join(out) + '"'


def _css_page_counter(template: str) -> str:
    """A locale template like "第 {page} / {pages} 页" as CSS content with Chromium's page counters."""
    parts: list[str] = []
    rest = template
    while rest:
        found = [(rest.find(marker), marker) for marker in ("{pages}", "{page}") if rest.find(marker) >= 0]
        if not found:
            parts.append(_css_string(rest))
            break
        index, marker = min(found)
        if index:
            parts.append(_css_string(rest[:index]))
        parts.append("counter(pages)" if marker == "{pages}" else "counter(page)")
        rest = rest[index + len(marker) :]
    return " ".join(parts) or '""'


def _pack_css(paper: Paper, footer_left: str, page_of: str) -> str:
    top, right, bottom, left = MARGINS_MM
    return f"""
@page {{
  size: {paper.css_size};
  margin: {top}mm {right}mm {bottom}mm {left}mm;
  @bottom-left {{ content: {_css_string(footer_left)}; font-family: {FONT_STACK}; font-size: 7.5pt; color: #666; }}
  @bottom-right {{ content: {_css_page_counter(page_of)}; font-family: {FONT_STACK}; font-size: 7.5pt; color: #666; }}
}}
:root {{ --t: {paper.type_scale}; }}
* {{ box-sizing: border-box; -webkit-print-color-adjust: exact; print-color-adjust: exact; }}
html, body {{ width: auto; height: auto; margin: 0; padding: 0; background: #fff; }}
body {{ font-family: {FONT_STACK}; font-size: calc(8.5pt * var(--t)); line-height: 1.38; color: #1b1b1b; }}
.page {{ break-after: page; page-break-after: always; }}
.page:last-of-type {{ break-after: auto; page-break-after: auto; }}
h1 {{ font-size: calc(24pt * var(--t)); margin: 0 0 1mm; }}
h2 {{ font-size: calc(15pt * var(--t)); margin: 0 0 0.5mm; }}
h3 {{ font-size: calc(10pt * var(--t)); margin: 3mm 0 1mm; color: #333; }}
p {{ margin: 1mm 0; }}
.kicker {{ font-size: calc(8pt * var(--t)); color: #8a1c1c; font-weight: 700; letter-spacing: .05em; }}
.as-of {{ font-size: calc(12pt * var(--t)); font-weight: 700; color: #333; margin-bottom: 2mm; }}
.sub {{ color: #555; margin-bottom: 2mm; }}
.note {{ color: #555; font-size: calc(7.5pt * var(--t)); margin-top: .5mm; }}
.warn {{ color: #8a1c1c; font-size: calc(7.5pt * var(--t)); margin-top: .5mm; }}
.missing {{ color: #777; font-style: italic; }}
.src {{ color: #444; font-size: calc(7pt * var(--t)); word-break: break-all; }}
.small {{ font-size: calc(7.5pt * var(--t)); }}
.cover-grid {{ display: flex; gap: 8mm; }}
.cover-left {{ flex: 0 0 44%; }}
.cover-right {{ flex: 1 1 auto; min-width: 0; }}
ul.versions {{ margin: 0; padding-left: 5mm; }}
table {{ border-collapse: collapse; }}
table.facts th {{ text-align: left; vertical-align: top; color: #555; font-weight: 600; padding: 1mm 3mm 1mm 0;
  white-space: nowrap; }}
table.facts td {{ vertical-align: top; padding: 1mm 0; border-bottom: 0.2mm solid #e3e3e3; }}
.facts-col {{ flex: 1 1 auto; min-width: 0; }}
.facts-col table.facts {{ width: 100%; }}
table.grid {{ width: 100%; }}
table.grid th {{ background: #efede6; text-align: left; font-weight: 700; padding: 1mm 1.5mm; vertical-align: bottom;
  border-bottom: 0.3mm solid #999; }}
table.grid td {{ padding: 0.8mm 1.5mm; vertical-align: top; border-bottom: 0.2mm solid #ddd; }}
table.grid tr {{ break-inside: avoid; }}
table.targets td:nth-child(2) {{ white-space: nowrap; }}
table.versions-table td:nth-child(-n+5) {{ white-space: nowrap; }}
table.features {{ margin-top: 2.5mm; font-size: calc(7.5pt * var(--t)); table-layout: fixed; }}
table.features td {{ word-break: break-word; }}
td.num {{ text-align: right; white-space: nowrap; }}
.chip {{ display: inline-block; padding: 0 1.4mm; border-radius: 1mm; color: #fff; font-weight: 700;
  white-space: nowrap; line-height: 1.45; }}
.chip.dark {{ color: #222; }}
.reason {{ color: #333; font-size: calc(7.5pt * var(--t)); margin-top: .4mm; }}
.tag {{ display: inline-block; font-size: calc(8pt * var(--t)); font-weight: 600; padding: 0 1mm; border-radius: 1mm;
  margin-left: 2mm; border: 0.3mm dashed #8a1c1c; color: #8a1c1c; vertical-align: middle; }}
.tag-placeholder {{ border-style: dotted; background: #fff3cd; }}
.row {{ display: flex; gap: 5mm; align-items: flex-start; margin-top: 1.5mm; }}
.map-col {{ flex: none; }}
.map-box {{ position: relative; overflow: hidden; border: 0.3mm solid #aaa; }}
.map-box .folium-map {{ position: absolute; inset: 0; width: 100%; height: 100%; }}
.caption {{ color: #666; font-size: calc(7pt * var(--t)); margin-top: 0.5mm; }}
.side {{ flex: 1 1 auto; min-width: 0; font-size: calc(7.5pt * var(--t)); }}
.side .caption {{ margin-bottom: 2mm; }}
.side ul {{ margin: 0 0 2mm; padding-left: 0; list-style: none; }}
.side li {{ margin-bottom: 1mm; word-break: break-word; }}
ul.warnings {{ color: #8a1c1c; }}
.refs-title {{ font-weight: 700; margin-bottom: 1mm; }}
ul.sources-list li {{ word-break: break-all; }}
{_LEAFLET_OVERRIDES}
.leaflet-control-zoom, .leaflet-control-fullscreen, .leaflet-control-measure {{ display: none !important; }}
.map-box .up-legend {{ display: none; }}
.map-box .up-north svg {{ width: 24px; height: 34px; }}
.map-box .leaflet-control-attribution {{ font-size: 8px; }}
.pack-legend {{ display: block; background: none; box-shadow: none; padding: 0; max-width: none; margin-top: 1mm;
  font-size: calc(7pt * var(--t)); line-height: 1.5; }}
.pack-legend > div {{ display: inline-block; margin-right: 2.5mm; vertical-align: middle; }}
/* The screen legend's two columns become one flowing line of entries: on paper it must stay a few lines. */
.pack-legend.up-legend:has(.up-legend-grid) {{ max-width: none; }}
.pack-legend .up-legend-grid, .pack-legend .up-legend-grid > div {{ display: inline; margin: 0; }}
.pack-legend .up-legend-grid > div > div {{ display: inline-block; margin-right: 2.5mm; vertical-align: middle; }}
.pack-legend .up-legend-title {{ font-size: calc(7.5pt * var(--t)); }}
.pack-legend .up-legend-sub {{ margin-top: 0; }}
.pack-legend .up-legend-note {{ margin-top: 0; font-size: calc(7pt * var(--t)); }}
.pack-legend svg {{ vertical-align: middle; }}
"""
