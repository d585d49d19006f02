"""AppTest helpers: run the real app script headless and read what a user would see."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from urban_plan import i18n

ROOT = Path(__file__).resolve().parents[2]
# A raw locale key on screen looks like "filters.status": a known top-level section, a dot, a name.
RAW_KEY = re.compile(r"\b(" + "|".join(sorted({k.split(".")[0] for k in i18n.messages("zh")})) + r")\.[a-z_]+\b")


@pytest.fixture
def app(data_dir: Path) -> Any:
    """A fresh AppTest of app.py over a private copy of the data."""
    del data_dir

    def make(lang: str = "zh", **params: str) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        if lang != "zh":
            at.query_params["lang"] = lang
        for key, value in params.items():
            at.query_params[key] = value
        return at

    return make


def texts(at: AppTest) -> Iterator[str]:
    """Every string the user can read: values, labels, options, help texts, in main area and sidebar."""

    def walk(node: Any) -> Iterator[str]:
        for attr in ("value", "label", "help", "placeholder", "body"):
            value = getattr(node, attr, None)
            if isinstance(value, str):
                yield value
        for option in getattr(node, "options", None) or []:
            if isinstance(option, str):
                yield option
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                yield from walk(child)

    yield from walk(at.main)
    yield from walk(at.sidebar)


def raw_keys(at: AppTest) -> list[str]:
    return [text for text in texts(at) if RAW_KEY.search(text) and "://" not in text]


def component_args(at: AppTest, name: str = "streamlit_folium.st_folium") -> list[dict]:
    import json

    found = []

    def walk(node: Any) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None and getattr(proto, "component_name", "") == name:
            found.append(json.loads(proto.json_args))
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                walk(child)

    walk(at.main)
    return found


EDITOR_PASSWORD = "correct horse battery"


def log_in(at: AppTest, name: str = "li", password: str = EDITOR_PASSWORD) -> AppTest:
    """Through the account page, as a person would."""
    at.switch_page("app_pages/account.py").run()
    at.text_input[0].input(name)
    at.text_input[1].input(password)
    at.button[0].click().run()
    return at
