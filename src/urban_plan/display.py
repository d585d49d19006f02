"""How a feature's values read in each language, and escaping of data text before it reaches HTML or JS."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Mapping
from typing import Any

from urban_plan.i18n import has, label, normalise_lang, pick, t

# Told apart under deuteranopia, protanopia and tritanopia (tests/unit/test_colours.py); schema.STATUS_SYMBOLS is
# the second, colour-free cue.
STATUS_COLOURS: dict[str, str] = {"planned": "#3884e0", "in_progress": "#fe9100", "completed": "#135c3a"}
UNKNOWN_COLOUR = "#7a7a7a"


def escape(value: Any) -> str:
    """Text safe inside HTML (innerHTML), a JS template literal and a Jinja template (folium compiles what it
    renders): < > & " ' ` $ { } all become entities."""
    text = html.escape("" if value is None else str(value), quote=True)
    return text.replace("`", "&#96;").replace("$", "&#36;").replace("{", "&#123;").replace("}", "&#125;")


def name(row: Mapping[str, Any], lang: str) -> str:
    return pick(row.get("name_zh"), row.get("name_en"), lang) or str(row.get("id") or "")


def progress_text(value: Any, lang: str) -> str:
    if _missing(value):
        return t("value.not_reported", lang)
    return f"{float(value):.0f}%"


def investment_text(value: Any, lang: str) -> str:
    if _missing(value):
        return t("value.not_public", lang)
    return yi_text(float(value), lang)


def yi_text(amount: float, lang: str) -> str:
    """A sum of money stored in 亿元 (10^8 yuan): "135.8 亿元" in Chinese, "¥13.58 bn" in English (one unit each)."""
    return t("value.yi", lang, amount=_number(amount), bn=_number(amount / 10, 3))


def date_text(value: Any, lang: str) -> str:
    return t("value.unknown", lang) if _missing(value) else str(value)


def version_text(number: Any, lang: str) -> str:
    """A version as people say it: 第 3 版 / version 3 (never the developer's "v3")."""
    return t("history.version_option", lang, number=number)


# Who saved the shipped history: the seeding script. Shown as what it means; the stored author stays as it is.
SEED_AUTHORS = frozenset({"seed"})


def author_text(author: Any, lang: str) -> str:
    name = "" if author is None else str(author)
    return t("history.seed_author", lang) if name in SEED_AUTHORS else name


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
_URL = re.compile(r"https?://[^\s()()]+")
_ASIDE = re.compile(r"[((]([^()()]*)[))]")
_PAIR = re.compile(r"\s*/\s+|\s+/\s*")  # "中文 / English": a slash with a space beside it (not a/b, not a URL)
_CLAUSE = re.compile(r"\s*[;;]\s*")


def local_text(value: Any, lang: str) -> str:
    """The reader's half of a bilingual data text ("中文 / English", also clause by clause and inside brackets).

    Shipped notes, sources and messages carry both languages; the screen shows one. A text in one language only
    (or with no letters) comes back unchanged, and so does one that would come back empty: the data is not
    changed, only how it reads.
    """
    text = "" if value is None else str(value)
    if not (_CJK.search(text) and _LATIN.search(text)):
        return text
    want_zh = normalise_lang(lang) == "zh"
    kept: list[str] = []
    slots: dict[str, str] = {}

    def hold(piece: str) -> str:
        key = f"\x00{len(slots)}\x00"
        slots[key] = piece
        return key

    work = _URL.sub(lambda m: hold(m.group(0)), text)
    while True:  # innermost brackets first: each becomes one slot, localised on its own
        found = _ASIDE.search(work)
        if not found:
            break
        inner = local_text(_restore(found.group(1), slots), lang)
        opening, closing = found.group(0)[0], found.group(0)[-1]
        work = work[: found.start()] + hold(f"{opening}{inner}{closing}" if inner.strip() else "") + work[found.end() :]
    pending: list[str] = []
    dropped = False
    for part in _PAIR.split(work):
        for clause in _CLAUSE.split(part):
            bare = re.sub(r"\x00\d+\x00", "", clause)
            if not clause.strip():
                continue
            if (not _LATIN.search(bare) and not _CJK.search(bare)) or bool(_CJK.search(bare)) == want_zh:
                kept.append(clause.strip() + "".join(pending))
                pending = []
                continue
            dropped = True
            # A dropped clause may carry an aside in the reader's language or none (a source, a link): keep it.
            asides = [slots[k] for k in re.findall(r"\x00\d+\x00", clause) if _readable(slots[k], want_zh)]
            asides = [a if want_zh else f" {a}" for a in asides]
            if kept:
                kept[-1] += "".join(asides)
            else:
                pending += asides
    if not dropped:  # one language throughout (a slash meaning "or", say): keep the writer's own punctuation
        return _restore(work, slots)
    joined = (";" if want_zh else "; ").join(kept)
    result = _restore(joined, slots).strip()
    return result or text


def _readable(aside: str, want_zh: bool) -> bool:
    """An aside worth keeping from a dropped clause: a link, or words in the reader's language. Figures and dates
    in a dropped clause repeat the kept one ("(47%)" on both sides), so they go with it."""
    if "://" in aside:
        return True
    bare = re.sub(r"\x00\d+\x00", "", aside)
    if _CJK.search(bare):
        return want_zh
    return not want_zh and bool(_LATIN.search(bare))


def _restore(text: str, slots: dict[str, str]) -> str:
    while "\x00" in text:
        before = text
        for key, piece in slots.items():
            text = text.replace(key, piece)
        if text == before:
            break
    return text


def detected_text(detected: Mapping[str, str], lang: str) -> str:
    """What an upload check found (encoding, coordinate system, datum ...) in the reader's words."""
    parts = []
    for key, value in detected.items():
        shown = str(value)
        if key == "crs":
            found = re.fullmatch(r"(.*?)\s*\((declared|recognised)\)", shown)
            if found:
                how = t(f"detected.{found.group(2)}", lang)
                shown = f"{found.group(1)}({how})" if normalise_lang(lang) == "zh" else f"{found.group(1)} ({how})"
            shown = shown.replace("+swap", "")
            # "CGCS2000 / 3-degree Gauss-Kruger CM 117E, EPSG:4548" -> the name planners use for that system
            named = re.fullmatch(r"(.*?), EPSG:(\d+)(.*)", shown, flags=re.S)
            if named and has(f"crs_name.{named.group(2)}", lang):
                shown = f"{t(f'crs_name.{named.group(2)}', lang)}, EPSG:{named.group(2)}{named.group(3)}"
        elif key == "axis":
            shown = t("detected.swapped", lang)
        elif key == "datum" and "->" in shown:
            source, target = (p.strip() for p in shown.split("->", 1))
            shown = t("detected.converted", lang, source=_datum_name(source), target=_datum_name(target))
        elif key == "encoding":
            shown = shown.replace(" (BOM)", " (BOM)" if normalise_lang(lang) == "en" else "(带 BOM)")
        name = t(f"detected.{key}", lang) if has(f"detected.{key}", lang) else key
        parts.append(f"{name}:{shown}" if normalise_lang(lang) == "zh" else f"{name}: {shown}")
    return t("detected.separator", lang).join(parts)


def _datum_name(code: str) -> str:
    return {"wgs84": "WGS84", "gcj02": "GCJ-02", "bd09": "BD-09"}.get(code.lower(), code)


def confidence_text(value: Any, lang: str) -> str:
    return t("value.unknown", lang) if _missing(value) else label("confidence", value, lang)


def confidence_tag(value: Any, lang: str) -> str:
    """The short mark shown beside a name: 示意 for approximate, 待核实 for placeholder, nothing when surveyed."""
    if value in ("approximate", "placeholder"):
        return t(f"confidence_tag.{value}", lang)
    return ""


def details(row: Mapping[str, Any], lang: str) -> list[tuple[str, str, str]]:
    """(field, label, value) triples for a popup or the details panel, in display order; plain text, not escaped."""
    row = clean(row)
    other = "name_en" if lang == "zh" else "name_zh"
    return [
        ("name", t("field.name", lang), name(row, lang)),
        ("name_other", t(f"field.{other}", lang), str(row.get(other) or "—")),
        ("layer", t("field.layer", lang), label("layer", row.get("layer"), lang)),
        ("kind", t("field.kind", lang), label("kind", row.get("kind"), lang) if row.get("kind") else "—"),
        ("status", t("field.status", lang), label("status", row.get("status"), lang)),
        ("progress", t("field.progress", lang), progress_text(row.get("progress"), lang)),
        ("start_date", t("field.start_date", lang), date_text(row.get("start_date"), lang)),
        ("end_date", t("field.end_date", lang), date_text(row.get("end_date"), lang)),
        ("investment_yi", t("field.investment_yi", lang), investment_text(row.get("investment_yi"), lang)),
        ("confidence", t("field.confidence", lang), confidence_text(row.get("confidence"), lang)),
        ("source", t("field.source", lang), local_text(row.get("source"), lang) or t("value.unknown", lang)),
        ("note", t("field.note", lang), local_text(row.get("note"), lang) or "—"),
        ("id", t("field.id", lang), f"{row.get('layer')}/{row.get('id')}"),
    ]


LOCAL_TZ = dt.timezone(dt.timedelta(hours=8), "CST")  # China Standard Time, no daylight saving


def local_time(saved_at: str) -> str:
    """A stored UTC timestamp as the planners read it: Beijing time, to the minute."""
    try:
        moment = dt.datetime.fromisoformat(saved_at.replace("Z", "+00:00"))
    except ValueError:
        return saved_at
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def clean(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row with pandas' missing values (NaN, NaT) turned into None, so `or` and `is None` read naturally."""
    return {key: None if _missing(value) else value for key, value in row.items()}


def value_text(field: str, value: Any, lang: str) -> str:
    """One stored value as people read it, for diffs: statuses and confidences by name, nulls in words."""
    if field == "status":
        return label("status", value, lang) if not _missing(value) else "—"
    if field == "progress":
        return progress_text(value, lang)
    if field == "investment_yi":
        return investment_text(value, lang)
    if field == "confidence":
        return confidence_text(value, lang)
    if field in ("start_date", "end_date"):
        return date_text(value, lang)
    return "—" if _missing(value) else str(value)


def _number(value: float, digits: int = 2) -> str:
    return f"{value:,.{digits}f}".rstrip("0").rstrip(".")


def status_colour(status: Any) -> str:
    return STATUS_COLOURS.get(str(status), UNKNOWN_COLOUR)


def _missing(value: Any) -> bool:
    if value is None or (isinstance(value, str) and value == ""):
        return True
    try:
        return bool(value != value)  # NaN and NaT are the only values not equal to themselves
    except (TypeError, ValueError):
        return False
