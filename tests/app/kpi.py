"""The KPI strip as AppTest sees it: one st.html element (ui/widgets.py kpi_cards), read back from its markup."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any, NamedTuple


class Card(NamedTuple):
    label: str
    value: str
    help: str


class Strip(NamedTuple):
    cards: dict[str, Card]  # by data-kpi: shown, five_projects, mean_progress, planned, in_progress, completed
    notes: str  # the line under the cards: why a figure reads empty or zero ("" when there is none)


def kpi_strip(at: Any) -> Strip | None:
    """The page's KPI strip, or None when the page has none."""
    for element in at.get("html"):
        if 'class="up-kpis"' in element.proto.body:
            reader = _Reader()
            reader.feed(element.proto.body)
            reader.close()
            cards = {key: Card(p.get("name", ""), p.get("value", ""), p.get("help", "")) for key, p in reader.cards}
            return Strip(cards, reader.notes)
    return None


def kpis(at: Any) -> dict[str, Card]:
    """The KPI cards by key, in order (empty when the page has no strip)."""
    strip = kpi_strip(at)
    return strip.cards if strip else {}


class _Reader(HTMLParser):
    """Text of the parts (class up-kpi-name / -value / -help, up-kpi-notes); none of them nests another element."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: list[tuple[str, dict[str, str]]] = []
        self.notes = ""
        self.part = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("data-kpi"):
            self.cards.append((found["data-kpi"] or "", {}))
        css = found.get("class") or ""
        self.part = css.removeprefix("up-kpi-") if css.startswith("up-kpi-") else ""

    def handle_endtag(self, tag: str) -> None:
        self.part = ""

    def handle_data(self, data: str) -> None:
        if self.part == "notes":
            self.notes += data
        elif self.part and self.cards:
            parts = self.cards[-1][1]
            parts[self.part] = parts.get(self.part, "") + data
