"""The PDF meeting pack, read back with poppler: pages, what each says, fonts, paper size, and real pictures."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from urban_plan import display, export, filters, frame, progress, registry, schema
from urban_plan.i18n import label, t
from urban_plan.store import Actor, FileLayerStore

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
SCREENSHOT_DIR = ROOT / "tests" / "e2e" / "screenshots"
ON = dt.date(2026, 3, 31)
SINCE = dt.date(2024, 1, 1)
# Cover, then the progress layers in the registry's order: the five projects (a page each), the rail link and the
# road works (a page each group); changes since, data sources.
PAGES = ["cover", *[f"project-{i}" for i in range(1, 6)], "rail", "roads", "changes", "sources"]
LAYERS = registry.builtin()
PAPER_POINTS = {"a4": (841.9, 595.0), "a3": (1191.1, 841.9)}  # landscape


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's Chromium: skipped locally when missing, a failure in CI (where nothing may be skipped)."""
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium (the README's test command does it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    for tool in ("pdfinfo", "pdftotext", "pdffonts", "pdftoppm"):
        if shutil.which(tool) is None:
            message = f"{tool} is missing: apt-get install poppler-utils"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
    return CHROMIUM


def run(*command: str) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=60).stdout


def page_text(pdf: Path, number: int) -> str:
    """A page's text with all white space removed: table cells and wrapped lines then read as one string."""
    return re.sub(r"\s+", "", run("pdftotext", "-f", str(number), "-l", str(number), str(pdf), "-"))


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def info(pdf: Path) -> dict[str, str]:
    return dict(line.split(":", 1) for line in run("pdfinfo", str(pdf)).splitlines() if ":" in line)


def not_blank(png: Path) -> None:
    from PIL import Image  # Pillow comes with Streamlit

    image = Image.open(png).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 30, f"{png.name} looks blank"
    white = sum(count for count, colour in colours if colour == (255, 255, 255))
    assert white < 0.97 * image.width * image.height, f"{png.name} is nearly all white"


def expected_rows(store: FileLayerStore, lang: str) -> dict[str, list[dict]]:
    versions = progress.state_on(store, ON)
    overlays = frame.layers_frame({layer: store.load(layer, versions[layer].number) for layer in LAYERS.overlays()})
    rated = progress.rate_frame(overlays, ON, lang)
    return {
        layer: [display.clean(r) for r in rated[rated["layer"] == layer].to_dict("records")] for layer in LAYERS.ids()
    }


@pytest.mark.slow
@pytest.mark.parametrize(("lang", "paper"), [("zh", "a4"), ("en", "a4"), ("zh", "a3"), ("en", "a3")])
def test_the_meeting_pack_says_on_each_page_what_that_page_is_for(data_dir, chromium, lang: str, paper: str) -> None:
    del chromium
    store = FileLayerStore(data_dir)
    pdf = data_dir / f"pack-{lang}-{paper}.pdf"
    pdf.write_bytes(export.meeting_pack(store, on=ON, since=SINCE, lang=lang, paper=paper))

    meta = info(pdf)
    assert int(meta["Pages"]) == len(PAGES)
    width, height = (float(x) for x in re.findall(r"[\d.]+", meta["Page size"])[:2])
    assert (round(width, 0), round(height, 0)) == tuple(round(x, 0) for x in PAPER_POINTS[paper])
    assert paper.upper() in meta["Page size"]

    rows = expected_rows(store, lang)
    text = {number: page_text(pdf, number) for number in range(1, len(PAGES) + 1)}
    for number, page in text.items():  # the footer: what, as of when, which page
        assert "2026-03-31" in page, number
        assert squeeze(t("export.page_of", lang, page=number, pages=len(PAGES))) in page, number

    cover = text[1]
    for needle in (
        t("export.title", lang),
        t("export.as_of", lang, on="2026-03-31"),
        filters.describe(filters.Criteria(), lang),
        "135.8",
        t("export.total_note", lang, source=schema.ARTICLE_SOURCE),
        t("value.not_reported", lang),  # targets with no reported figure
        "2,156",  # the one reported target value, with its date
        "2023-12-31",
        t("app.layer_version", lang, layer=LAYERS.name("projects", lang), number=3, as_of="2025-11-30"),
    ):
        assert squeeze(needle) in cover, needle

    for offset, row in enumerate(rows["projects"]):
        page = text[2 + offset]
        assert squeeze(display.name(row, lang)) in page
        assert squeeze(t("value.not_public", lang)) in page  # the split of the 135.8亿 is not public
        assert squeeze(label("rating", row["rating"], lang)) in page
        assert squeeze(row["rating_reason"]) in page
        assert squeeze(label("status", row["status"], lang)) in page
        assert squeeze(t(f"confidence_warning.{row['confidence']}", lang)) in page
        assert squeeze(display.date_text(row["end_date"], lang)) in page

    for number, layer in ((7, "rail"), (8, "roads")):
        page = text[number]
        assert squeeze(t("export.group_heading", lang, layer=LAYERS.name(layer, lang), count=len(rows[layer]))) in page
        for row in rows[layer]:
            assert squeeze(display.name(row, lang)) in page
            assert squeeze(label("rating", row["rating"], lang)) in page
        assert squeeze(t("value.not_public", lang)) in page
    assert squeeze(label("rating", "red", lang)) in text[8]  # nine roads due 2023-12-31, none reported done

    changes = text[9]
    assert squeeze(t("export.changes_title", lang, since="2024-01-01")) in changes
    assert squeeze(label("change", "appeared", lang)) in changes and squeeze(label("change", "status", lang)) in changes
    assert squeeze(display.name(next(r for r in rows["rail"] if r["id"] == "rail-station"), lang)) in changes

    sources = text[10]
    for needle in ("cnmaps-data1.1.2", "MIT", "GCJ-02", "WGS84", "±1–3km", "jinan.sdnews.com.cn", "seed"):
        assert needle in sources, needle
    for layer in LAYERS.ids():
        assert squeeze(LAYERS.name(layer, lang)) in sources
    assert squeeze(t("tables2.collection_layers", lang)) in sources  # the layer list the pack was made with

    fonts = run("pdffonts", str(pdf)).splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts), "a font is not embedded"
    # Chromium embeds the CFF-based Noto CJK as Type 3 glyph procedures; their descriptors keep the font's name.
    names = set(re.findall(rb"/FontName\s*/[A-Z]{6}\+([A-Za-z0-9-]+)", pdf.read_bytes()))
    assert any(name.startswith(b"NotoSansCJK") for name in names), names

    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    for number in (1, 2, 7):
        target = SCREENSHOT_DIR / f"pack-{lang}-{paper}-p{number}"
        run("pdftoppm", "-r", "50", "-png", "-singlefile", "-f", str(number), "-l", str(number), str(pdf), str(target))
        not_blank(target.with_suffix(".png"))


@pytest.mark.slow
def test_without_a_comparison_date_and_with_filters_the_pack_says_so(data_dir, chromium) -> None:
    del chromium
    store = FileLayerStore(data_dir)
    criteria = filters.Criteria(layers=frozenset({"projects"}), statuses=frozenset({"in_progress"}))
    pdf = data_dir / "pack.pdf"
    pdf.write_bytes(export.meeting_pack(store, on=ON, since=None, lang="zh", criteria=criteria))
    shown = [r for r in expected_rows(store, "zh")["projects"] if r["status"] == "in_progress"]
    assert int(info(pdf)["Pages"]) == 1 + len(shown) + 2  # cover, the projects in progress, changes, sources
    cover = page_text(pdf, 1)
    assert squeeze(filters.describe(criteria, "zh")) in cover
    assert squeeze(t("export.kpi_shown_value", "zh", shown=len(shown), total=23)) in cover
    assert squeeze(t("export.no_since", "zh")) in page_text(pdf, 2 + len(shown))


def test_hostile_text_in_the_data_reaches_the_pack_only_escaped(data_dir) -> None:
    store = FileLayerStore(data_dir)
    payload = store.load("projects")
    hostile = "<img src=x onerror=alert(1)>"
    payload["features"][0]["properties"].update(name_zh=hostile, name_en=hostile, source=hostile, note=hostile)
    latest = store.latest("projects")
    assert latest is not None
    store.publish("projects", payload, actor=Actor("test", "editor"), base_version=latest.number, as_of=dt.date.today())
    html = export.meeting_pack_html(store, on=None, since=SINCE, lang="en")
    assert hostile not in html and "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_the_pack_html_is_self_contained_and_sized_for_print(data_dir) -> None:
    from urban_plan import assets

    html = export.meeting_pack_html(FileLayerStore(data_dir), on=ON, since=SINCE, lang="zh", paper="a3")
    assert assets.all_links(html) == []
    assert "size: A3 landscape" in html and '<html lang="zh-CN">' in html
    assert not re.search(
        r"""\b(?:src|href)\s*=\s*["']?(?:https?:)?//""", html.replace('href="https://leafletjs.com"', "")
    )
    assert "L.tileLayer" not in html
    # Seven maps (five projects, roads, rail), each in a box of fixed size in mm, animations off for print.
    assert len(re.findall(r'class="map-box" style="width:[\d.]+mm;height:[\d.]+mm"', html)) == 7
    assert html.count('"zoomAnimation": false') == 7
