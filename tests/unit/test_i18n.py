"""Every UI string exists in every language, with the same placeholders."""

from __future__ import annotations

import re

from urban_plan import i18n, registry, schema
from urban_plan.store import DOCUMENTS


def test_every_key_exists_in_every_language() -> None:
    keys = {lang: set(i18n.messages(lang)) for lang in i18n.LANGS}
    for lang in i18n.LANGS:
        assert keys[lang] == keys[i18n.DEFAULT_LANG], f"{lang}: {keys[lang] ^ keys[i18n.DEFAULT_LANG]}"


# Money reads as 亿元 in Chinese and as billions in English: the caller passes both forms.
DIFFERENT_UNITS = {"kpi.money", "value.yi", "export.total_value", "export.investment_split"}  # 亿元 vs ¥ bn


def test_placeholders_match_between_languages() -> None:
    for key, text in i18n.messages("zh").items():
        if key in DIFFERENT_UNITS:
            continue
        other = i18n.messages("en")[key]
        assert set(re.findall(r"\{(\w+)\}", text)) == set(re.findall(r"\{(\w+)\}", other)), key


def test_every_code_the_data_uses_has_a_label() -> None:
    for lang in i18n.LANGS:
        for prefix, codes in (
            ("status", schema.STATUSES),
            ("confidence", schema.CONFIDENCES),
        ):
            for code in codes:
                assert i18n.has(f"{prefix}.{code}", lang), (lang, prefix, code)


def test_layers_are_named_by_the_registry_and_documents_by_the_locales() -> None:
    """A layer's names are data (the registry, both languages); the documents beside them are the app's own."""
    for layer in registry.builtin().layers:
        assert layer.name_zh.strip() and layer.name_en.strip() and layer.name_zh != layer.name_en, layer.id
    for lang in i18n.LANGS:
        for document in DOCUMENTS:
            if document == registry.COLLECTION:
                assert i18n.has("tables2.collection_layers", lang)
            else:
                assert i18n.has(f"layer.{document}", lang), (lang, document)


def test_unknown_language_falls_back_to_chinese_and_unknown_codes_show_as_they_are() -> None:
    assert i18n.normalise_lang("xx") == "zh" and i18n.normalise_lang(" EN ") == "en"
    assert i18n.t("status.planned", "xx") == "规划"
    assert i18n.label("kind", "水闸", "en") == "水闸"


def test_pick_falls_back_to_the_other_language_when_one_is_blank() -> None:
    assert i18n.pick("黄河大道", "", "en") == "黄河大道"
    assert i18n.pick("黄河大道", "Huanghe Ave", "en") == "Huanghe Ave"
