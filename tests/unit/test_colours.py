"""Map colours stay apart for people with colour-vision deficiencies, and never carry meaning alone.

Distances are CIEDE2000 between colours as simulated for deuteranopia, protanopia and tritanopia (Machado et al.
2009, severity 1.0) and for normal vision. The threshold is 20: about 1 unit is a just-noticeable difference for
large patches side by side, but for thin lines and small markers on a map it grows several-fold (Szafir 2018,
"Modelling Color Difference for Visualization Design": ~5-6 units for marks of a few pixels), and projectors wash
colours out further; 20 keeps a clear margin over that. The old palettes fell to 9.7 (status, tritanopia) and
11.9 (plan-versus-actual green and red, deuteranopia): the "olive" the issue reported.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from pathlib import Path

import pytest

from urban_plan import colourvision, display, mapping, progress, schema

ROOT = Path(__file__).resolve().parents[2]
MIN_DISTANCE = 20.0
MIN_BASE_LINE_DISTANCE = 12.0  # road and boundary: also told apart by their own dash pattern, width and legend entry
OLD_STATUS = {"planned": "#3b6fb6", "in_progress": "#e08a00", "completed": "#2e8b57"}
OLD_RATING = {"green": "#2e8b57", "yellow": "#e6b800", "red": "#c62828", "missing": "#9e9e9e"}
PALETTES = {"status": display.STATUS_COLOURS, "rating": progress.RATING_COLOURS}


def worst(palette: dict[str, str]) -> tuple[float, str, str, str]:
    """The closest pair of a palette over every vision: (distance, vision, first, second)."""
    return min(
        (colourvision.distance(a, b, vision), vision, x, y)
        for vision in colourvision.VISIONS
        for (x, a), (y, b) in itertools.combinations(palette.items(), 2)
    )


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [  # Sharma, Wu & Dalal (2005), table 1: pairs 1, 7, 13 and 25
        ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
        ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
        ((50.0, 2.49, -0.001), (50.0, -2.49, 0.0011), 7.2195),
        ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ],
)
def test_ciede2000_matches_the_published_test_data(first, second, expected) -> None:
    assert colourvision.ciede2000(first, second) == pytest.approx(expected, abs=1e-4)


def test_the_simulation_turns_red_and_green_into_the_same_olive_for_deuteranopes() -> None:
    # The check itself catches what the issue saw: the old 正常 green and 严重滞后 red, apart for normal vision,
    # come within a few units of each other once simulated.
    assert colourvision.distance("#2e8b57", "#c62828") > 40
    assert colourvision.distance("#2e8b57", "#c62828", "deuteranopia") < 15
    assert worst(OLD_STATUS)[0] < MIN_DISTANCE and worst(OLD_RATING)[0] < MIN_DISTANCE


@pytest.mark.parametrize("name", list(PALETTES))
def test_status_and_rating_colours_stay_apart_under_every_colour_vision(name: str) -> None:
    distance, vision, first, second = worst(PALETTES[name])
    assert distance >= MIN_DISTANCE, f"{name}: {first} and {second} are {distance:.1f} apart for {vision}"


@pytest.mark.parametrize("kind", ["river", "lake"])
def test_water_on_the_base_map_never_looks_like_a_status_or_rating(kind: str) -> None:
    style = mapping.CONTEXT_STYLES[kind]
    for colour in {style["color"], style.get("fillColor", style["color"])}:
        for name, palette in PALETTES.items():
            for code, other in palette.items():
                for vision in colourvision.VISIONS:
                    distance = colourvision.distance(colour, other, vision)
                    assert distance >= MIN_DISTANCE, (
                        f"{kind} {colour} vs {name} {code} {other} ({vision}): {distance:.1f}"
                    )


@pytest.mark.parametrize("kind", ["road", "boundary"])
def test_base_map_lines_keep_apart_from_statuses_and_have_a_pattern_of_their_own(kind: str) -> None:
    colour = mapping.CONTEXT_STYLES[kind]["color"]
    for palette in PALETTES.values():
        for other in palette.values():
            for vision in colourvision.VISIONS:
                assert colourvision.distance(colour, other, vision) >= MIN_BASE_LINE_DISTANCE, (kind, other, vision)
    feature = {"properties": {"_s": f"context|-|surveyed|{kind}|1|whole"}}
    dash = mapping._context_style(feature)["dashArray"]
    assert dash is not None  # never the solid line of a surveyed work
    if kind == "boundary":
        assert dash == mapping.BOUNDARY_DASH and dash not in mapping.DASH.values()


def test_each_line_style_means_one_thing() -> None:
    dashes = [d for d in mapping.DASH.values() if d] + [mapping.BOUNDARY_DASH]
    assert len(set(dashes)) == len(dashes)
    feature = {"properties": {"_s": "roads|in_progress|surveyed|road_work|1|{}"}}
    done, rest = (
        mapping._overlay_style({"properties": {"_s": feature["properties"]["_s"].format(p)}}) for p in ("done", "rest")
    )
    assert done["dashArray"] is None and rest["dashArray"] is None  # a surveyed work: solid, done or not
    assert rest["weight"] < done["weight"] / 2 and rest["opacity"] < done["opacity"]


def test_filter_chips_do_not_look_like_the_overdue_red_and_keep_their_contrast() -> None:
    primary = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))["theme"]["primaryColor"]
    for vision in colourvision.VISIONS:
        assert colourvision.distance(primary, progress.RATING_COLOURS["red"], vision) >= MIN_DISTANCE, vision
    assert colourvision.contrast_ratio("#ffffff", primary) >= 4.5  # chip text is white on the primary colour


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("colour_by", ["status", "rating"])
def test_every_status_and_rating_has_a_symbol_in_the_legend(lang: str, colour_by: str) -> None:
    html = mapping.legend_html(lang, colour_by)
    codes = progress.RATINGS if colour_by == "rating" else schema.STATUSES
    symbols = progress.RATING_SYMBOLS if colour_by == "rating" else schema.STATUS_SYMBOLS
    assert len(set(symbols.values())) == len(codes)
    for code in codes:
        entry = re.search(rf'<div class="up-legend-item up-legend-{code}">(.*?)</div>', html)
        assert entry and symbols[code] in entry.group(1), code
    # Every line style and the base map's water, road and boundary are explained.
    for key in ("surveyed", "approximate", "placeholder", "done", "rest", "boundary", "river", "lake", "road"):
        assert mapping.t(f"a11y.legend.{key}", lang) in html.replace("&#123;", "{")
    assert f'stroke-dasharray="{mapping.BOUNDARY_DASH}"' in html


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_tooltips_carry_the_status_and_rating_symbols(lang: str) -> None:
    for status in schema.STATUSES:
        for rating in progress.RATINGS:
            row = {"id": "x1", "layer": "roads", "name_zh": "路", "status": status, "rating": rating, "progress": 40}
            html = mapping.tooltip_html(row, lang)
            assert schema.STATUS_SYMBOLS[status] in html and progress.RATING_SYMBOLS[rating] in html
    # The lean tooltips of large layers take the label from the style table.
    assert mapping.symbol_label("red", lang).startswith(progress.RATING_SYMBOLS["red"])
    assert mapping.symbol_label("planned", lang).startswith(schema.STATUS_SYMBOLS["planned"])
