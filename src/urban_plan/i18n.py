"""UI text in Chinese (default) and English, from one JSON file per language in locales/."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

LANGS: tuple[str, ...] = ("zh", "en")
DEFAULT_LANG = "zh"
LOCALES_DIR = Path(__file__).with_name("locales")


@cache
def messages(lang: str) -> dict[str, str]:
    """All messages of a language, flattened to dotted keys (`status.planned`): `<lang>.json`, then any
    `<lang>.<part>.json` beside it (one file per feature area keeps the files reviewable)."""
    out: dict[str, str] = {}
    for path in [LOCALES_DIR / f"{lang}.json", *sorted(LOCALES_DIR.glob(f"{lang}.*.json"))]:
        out.update(_flatten(json.loads(path.read_text(encoding="utf-8"))))
    return out


def t(key: str, lang: str = DEFAULT_LANG, **params: Any) -> str:
    """The message for `key` in `lang`, with `{name}` placeholders filled.

    A missing key falls back to Chinese, then shows the key itself: a test asserts no page ever does that.
    """
    lang = normalise_lang(lang)
    text = messages(lang).get(key) or messages(DEFAULT_LANG).get(key)
    if text is None:
        return key
    return text.format_map(_Params(params)) if params else text


def has(key: str, lang: str = DEFAULT_LANG) -> bool:
    return key in messages(normalise_lang(lang))


def normalise_lang(value: Any) -> str:
    """A supported language code from untrusted input (URL, widget); anything else is the default."""
    text = str(value or "").strip().lower()
    return text if text in LANGS else DEFAULT_LANG


def pick(zh: Any, en: Any, lang: str) -> str:
    """The text for a language from a pair of data fields, falling back to the other when one is blank."""
    first, second = (en, zh) if normalise_lang(lang) == "en" else (zh, en)
    for value in (first, second):
        if isinstance(value, str) and value.strip():
            return value
    return ""


def label(prefix: str, code: Any, lang: str) -> str:
    """Localised label for a code (`status`, `kind`, `layer`, ...); unknown codes are shown as they are."""
    key = f"{prefix}.{code}"
    return t(key, lang) if has(key, lang) or has(key) else str(code)


class _Params(dict[str, Any]):
    def __missing__(self, key: str) -> str:  # a missing placeholder shows as-is rather than raising
        return "{" + key + "}"


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for key, value in data.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            out += _flatten(value, full + ".")
        else:
            out.append((full, str(value)))
    return out
