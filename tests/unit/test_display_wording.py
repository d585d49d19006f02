"""Data text and figures read in the reader's language: bilingual notes split, units on money, authors named."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from urban_plan import dashboard, display, filters, i18n, mapping

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u4e00-\u9fff]")
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


@pytest.mark.parametrize(
    ("text", "zh", "en"),
    [
        ("名称未公开 / names not public", "名称未公开", "names not public"),
        (
            "2023年末滨河片区路网建设推进中 / road network under way at 2023 year-end; "
            "范围为片区示意 / extent is the area sketch",
            "2023年末滨河片区路网建设推进中;范围为片区示意",
            "road network under way at 2023 year-end; extent is the area sketch",
        ),
        (
            "黄河大道北延全面施工 / Huanghe Ave extension under way "
            "(齐鲁网 2025年11月报道 / Qilu net report, Nov 2025)",
            "黄河大道北延全面施工(齐鲁网 2025年11月报道)",
            "Huanghe Ave extension under way (Qilu net report, Nov 2025)",
        ),
        (
            "2023年末:开工 / 2023 year-end: started (http://jinan.sdnews.com.cn/qx/202401/t20240117_4342483.htm)",
            "2023年末:开工(http://jinan.sdnews.com.cn/qx/202401/t20240117_4342483.htm)",
            "2023 year-end: started (http://jinan.sdnews.com.cn/qx/202401/t20240117_4342483.htm)",
        ),
        ("https://www.163.com/dy/article/KKSIBJKD0514CFC7.html",) * 3,
        ("只有中文的备注",) * 3,
        ("规划 / 在建;沿 G220 布置",) * 3,  # one language with a slash meaning "or": left as written
        ("English only, G220",) * 3,
        ("", "", ""),
    ],
)
def test_a_bilingual_data_text_shows_the_readers_half(text: str, zh: str, en: str) -> None:
    assert display.local_text(text, "zh") == zh
    assert display.local_text(text, "en") == en


def test_every_shipped_note_source_and_message_reads_in_one_language() -> None:
    texts: list[str] = []
    for path in (ROOT / "geodata").glob("*.geojson"):
        for feature in json.loads(path.read_text(encoding="utf-8"))["features"]:
            texts += [feature["properties"].get(k) or "" for k in ("note", "source")]
    for manifest in (ROOT / "geodata" / "store").glob("*/manifest.json"):
        texts += [v.get("message") or "" for v in json.loads(manifest.read_text(encoding="utf-8"))]
    assert len([t for t in texts if CJK.search(t) and LATIN_WORD.search(t)]) > 10  # the data is bilingual
    for text in texts:
        zh = display.local_text(text, "zh")
        assert not CJK.search(text) or CJK.search(zh), text
        english = [w for w in LATIN_WORD.findall(re.sub(r"\S*(?:://|/|\.txt)\S*", "", zh)) if w not in {"km"}]
        assert not CJK.search(text) or english == [], (text, zh)


def test_the_seeded_history_reads_as_initial_data_not_seed() -> None:
    assert display.author_text("seed", "zh") == "初始数据(系统导入)"
    assert display.author_text("seed", "en") == "initial data (seeded)"
    assert display.author_text("li", "zh") == "li"


def test_versions_are_spoken_as_versions() -> None:
    assert display.version_text(3, "zh") == "第 3 版"
    assert display.version_text(3, "en") == "Version 3"


def test_money_has_one_unit_per_language() -> None:
    assert display.investment_text(135.8, "zh") == "135.8 亿元"
    assert display.investment_text(135.8, "en") == "¥13.58 bn"
    assert display.investment_text(None, "zh") == "未公开"


def test_the_upload_check_reads_in_chinese() -> None:
    detected = {"encoding": "UTF-8", "crs": "EPSG:4326 (recognised)", "datum": "gcj02 -> wgs84"}
    zh = display.detected_text(detected, "zh")
    assert zh == "文字编码:UTF-8,坐标系:EPSG:4326(按坐标范围识别),坐标基准:GCJ-02 已换算为 WGS84"
    assert "recognised" not in zh and "encoding" not in zh
    assert "coordinate system: EPSG:4326 (recognised from the coordinates)" in display.detected_text(detected, "en")


def test_target_cards_name_their_source_and_speak_one_language() -> None:
    targets = {
        "rows": [
            {
                "id": "key_projects_investment",
                "label_zh": "重点项目年度投资",
                "label_en": "Key projects, annual investment",
                "target": 94,
                "unit_zh": "亿元",
                "unit_en": "yi yuan",
                "reported": None,
                "source": "济阳区2023年工作部署报道(2023-01-11)/ January 2023 article",
                "note": "2023年度 / for 2023",
            }
        ]
    }
    empty = pd.DataFrame(columns=["layer", "status", "confidence"])
    (zh,) = dashboard.target_cards(targets, empty, "zh")
    assert (zh.target, zh.reported) == ("94 亿元", "未上报")
    assert zh.note == "2023年度;来源:济阳区2023年工作部署报道(2023-01-11)"
    (en,) = dashboard.target_cards(targets, empty, "en")
    assert (en.target, en.reported) == ("¥9.4 bn", "not reported")
    assert en.note == "for 2023; Source: January 2023 article"


def test_the_glossary_gives_one_word_per_concept_in_both_languages() -> None:
    for lang in i18n.LANGS:
        glossary = {k: v for k, v in i18n.messages(lang).items() if k.startswith("glossary.")}
        assert len(glossary) >= 10
        assert set(glossary) == {k for k in i18n.messages("zh") if k.startswith("glossary.")}
    zh = i18n.messages("zh")
    words = [v for k, v in zh.items() if not k.startswith("glossary.")]
    for retired in ("未报告", "已报告", "占位", "(解读)"):  # replaced by 未上报, 已上报, 待核实, (示意范围)
        assert not [w for w in words if retired in w], retired
    assert (zh["value.not_reported"], zh["value.not_public"], zh["value.unknown"]) == ("未上报", "未公开", "暂无数据")


def test_the_kpi_strip_says_why_a_figure_is_empty_in_words() -> None:
    none = filters.Kpis(shown=23, by_status={"planned": 14, "in_progress": 9, "completed": 0})
    assert dashboard.mean_progress_text(none, "zh") == "暂无上报"
    notes = dashboard.kpi_notes(none, "zh")
    assert notes[0].startswith("平均进度:暂无上报。显示的跟踪进度的 23 个要素均未上报进度")
    assert notes[1].startswith("已完工:0 个。")
    some = filters.Kpis(shown=5, by_status={"completed": 1}, mean_progress=42.4, reported=2)
    assert dashboard.mean_progress_text(some, "en") == "42%"
    assert dashboard.kpi_notes(some, "en") == [
        "The mean counts only the 2 features with reported progress (5 progress-tracked features shown)."
    ]
    assert dashboard.kpi_notes(filters.Kpis(shown=0), "zh") == []
    # Six schools shown beside four road works: the note is about the works, not "10 features without progress"
    mixed = filters.Kpis(shown=10, by_status={"in_progress": 4}, tracked=4)
    assert "跟踪进度的 4 个要素" in dashboard.kpi_notes(mixed, "zh")[0]
    assert dashboard.kpi_notes(filters.Kpis(shown=6, tracked=0), "zh") == []  # only schools: nothing to explain


def test_a_map_tooltip_labels_its_feature_key_as_an_id() -> None:
    row = {"layer": "context", "id": "ctx-chengbo-lake", "name_zh": "澄波湖", "status": "completed"}
    tip = mapping.tooltip_html(row, "zh")
    assert "编号 context/ctx-chengbo-lake" in tip  # labelled, not a bare developer path
    assert mapping.feature_key_from_text("澄波湖\n编号 context/ctx-chengbo-lake") == ("context", "ctx-chengbo-lake")


def test_a_chinese_map_tooltip_carries_no_english_name_and_an_english_one_keeps_the_official_chinese_name() -> None:
    row = {"layer": "projects", "id": "p1", "name_zh": "黄河大道北延", "name_en": "Huanghe Avenue", "status": "planned"}
    assert "Huanghe" not in mapping.tooltip_html(row, "zh")
    english = mapping.tooltip_html(row, "en")
    assert "Huanghe Avenue" in english and "黄河大道北延" in english
