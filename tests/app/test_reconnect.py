"""A page that reconnects to a new server session (the server restarted, or the session TTL passed while a laptop
slept) keeps the change the planner makes next: the widgets, the map and the address bar agree.

Streamlit's frontend sends that change as a rerun carrying the address bar's query string and every widget's
value; the new session has no previous values, so no on_change callback runs. AppTest has no public way to give a
fresh session another page's widget values, so `reconnect` does what `AppTest.run()` does inside (`_tree`'s widget
states into `_run`), on a fresh AppTest: a new session, the same page. The browser test is
tests/e2e/test_restart.py.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from streamlit.proto.WidgetStates_pb2 import WidgetStates
from streamlit.testing.v1 import AppTest

from tests.app.conftest import ROOT, texts
from urban_plan import auth, registry, schema, viewstate
from urban_plan.registry import FieldDef
from urban_plan.store import Actor, FileLayerStore, open_store


@pytest.fixture(autouse=True)
def fresh_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(auth.SECRETS_ENV, raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()


def reconnect(page: AppTest, states: WidgetStates | None = None) -> AppTest:
    """The first run of a new server session for `page`: its address bar and its widgets' values (`states`, by
    default what the page shows now, a change made since its last run included)."""
    fresh = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    fresh.query_params = dict(page.query_params)
    fresh._run(states if states is not None else page._tree.get_widget_states())
    assert not fresh.exception, [e.message for e in fresh.exception]
    return fresh


def view(at: AppTest) -> viewstate.ViewState:
    return at.session_state["_view"]


def agrees_with_url(at: AppTest) -> bool:
    """The view the session holds is the one its address bar names (a copied link reopens what is on screen)."""
    return viewstate.to_query(view(at)) == {k: v for k, v in at.query_params.items() if k in viewstate.PARAMETERS}


def before_restart(app: Any, **params: str) -> AppTest:
    """A page on the map with one filter already changed in its session: the address bar names 2 statuses."""
    page = app(**params).run()
    page.multiselect(key="f_status_zh_0").set_value(["in_progress", "completed"]).run()
    assert page.query_params["status"] == "in_progress,completed"
    return page


# (widget kind, key, the change made after the server came back, the URL parameter it must give)
CHANGES = [
    ("multiselect", "f_status_zh_0", ["in_progress"], ("status", "in_progress")),
    ("multiselect", "f_layers_zh_0", ["roads", "projects"], ("layers", "projects,roads")),
    ("slider", "f_progress_zh_0", (20, 80), ("progress", "20-80")),
    ("checkbox", "f_unrep_zh_0", False, ("unreported", "0")),
    ("date_input", "f_end_to_zh_0", dt.date(2026, 12, 31), ("end", "..2026-12-31")),
    ("checkbox", "f_undated_zh_0", False, ("undated", "0")),
    ("toggle", "f_approx_zh_0", False, ("approx", "0")),
    ("toggle", "f_ph_zh_0", False, ("placeholder", "0")),
    ("date_input", "asof_zh_0", dt.date(2024, 6, 30), ("asof", "2024-06-30")),
    ("date_input", "compare_zh_0", dt.date(2024, 1, 31), ("compare", "2024-01-31")),
    ("radio", "colour_zh_0", "rating", ("colour", "rating")),
    ("selectbox", "basemap_zh", "osm", ("basemap", "osm")),
]


@pytest.mark.parametrize(("kind", "key", "value", "param"), CHANGES, ids=[c[1] for c in CHANGES])
def test_the_first_change_after_a_restart_applies(app, kind: str, key: str, value: Any, param: tuple) -> None:
    page = before_restart(app)
    getattr(page, kind)(key=key).set_value(value)
    after = reconnect(page)
    name, wanted = param
    assert after.query_params.get(name) == wanted
    if name != "status":  # what the page had before is kept
        assert after.query_params["status"] == "in_progress,completed"
    got = getattr(after, kind)(key=key).value
    assert (sorted(got) == sorted(value)) if isinstance(value, list) else got == value
    assert agrees_with_url(after)


def test_a_status_change_after_a_restart_reaches_the_map(app) -> None:
    page = before_restart(app)
    page.multiselect(key="f_status_zh_0").set_value(["in_progress"])
    after = reconnect(page)
    assert view(after).criteria.statuses == {"in_progress"}  # what the page (after the sidebar) draws
    assert after.query_params["status"] == "in_progress"
    assert after.multiselect(key="f_status_zh_0").value == ["in_progress"]
    after.run()  # the next change goes through the new session's callbacks as usual
    after.multiselect(key="f_status_zh_0").set_value(["planned"]).run()
    assert after.query_params["status"] == "planned" and agrees_with_url(after)


def test_a_language_switch_after_a_restart_applies_everywhere(app) -> None:
    page = before_restart(app)
    page.radio(key="lang_choice").set_value("en")
    after = reconnect(page)
    assert after.query_params["lang"] == "en"
    # One more run, so what came before the language switch (title, navigation) speaks English too.
    shown = " ".join(texts(after))
    assert "Jiyang District planning map" in shown and "济阳区城市规划一张图" not in shown
    assert after.multiselect(key="f_status_en_0").value == ["in_progress", "completed"]
    assert agrees_with_url(after)


def test_an_enum_field_filter_after_a_restart_applies(app, data_dir: Path) -> None:
    add_schools(data_dir)
    page = before_restart(app)
    page.multiselect(key="f_attr_schools_学段_zh_0").set_value(["小学"])
    after = reconnect(page)
    assert view(after).criteria.attribute("schools", "学段") == frozenset({"小学"})
    assert after.multiselect(key="f_attr_schools_学段_zh_0").value == ["小学"]
    assert "schools" in after.query_params["attrs"] and agrees_with_url(after)


def add_schools(data_dir: Path) -> None:
    """A 学校 layer with an enum field 学段 (小学, 初中): its own filter in the sidebar."""
    store, editor = open_store(str(data_dir)), Actor("seed", "editor")
    stage = FieldDef("学段", "学段", "Stage", "enum", options=(("小学", "小学", "Primary"), ("初中", "初中", "Junior")))
    layers = registry.add_layer(
        store.registry(), "schools", name_zh="学校", name_en="Schools", role="overlay", fields=(stage,)
    )
    head = store.current(registry.COLLECTION)
    store.publish(registry.COLLECTION, layers.to_payload(), actor=editor, base_version=head.number if head else 0)
    features = [
        {
            "type": "Feature",
            "properties": {"id": f"s{i}", "name_zh": f"学校{i}", "学段": ("小学", "初中")[i % 2]},
            "geometry": {"type": "Point", "coordinates": [117.10 + i * 0.03, 36.98]},
        }
        for i in range(4)
    ]
    store.publish("schools", {"type": "FeatureCollection", "features": features}, actor=editor, base_version=0)


def test_values_equal_to_the_view_in_another_order_change_nothing(app) -> None:
    """Every layer picked is "no layer filter"; every kind of a link's explicit list stays that list."""
    page = app().run()
    kinds = page.multiselect(key="f_kinds_zh_0").value
    page = before_restart(app, kinds=",".join(kinds))
    layers = page.multiselect(key="f_layers_zh_0")
    layers.set_value(list(reversed(layers.value))).run()  # all of them, in another order: still no filter
    assert "layers" not in page.query_params
    page.multiselect(key="f_kinds_zh_0").set_value(list(reversed(kinds)))
    page.multiselect(key="f_status_zh_0").set_value(["in_progress"])
    after = reconnect(page)
    assert view(after).criteria.layers is None and "layers" not in after.query_params
    assert view(after).criteria.kinds == frozenset(kinds)
    assert after.query_params["status"] == "in_progress" and agrees_with_url(after)


def test_after_a_reset_the_rebuilt_widgets_still_carry_the_change(app) -> None:
    """Reset builds widgets under new keys (a new generation); the new session must find the page's keys."""
    page = before_restart(app)
    page.button(key="reset_zh_0").click().run()
    assert "status" not in page.query_params
    page.multiselect(key="f_status_zh_1").set_value(["completed"])
    after = reconnect(page)
    assert after.query_params["status"] == "completed"
    assert after.multiselect(key="f_status_zh_1").value == ["completed"]
    assert view(after).criteria.statuses == {"completed"} and agrees_with_url(after)


def test_a_forged_value_that_is_no_option_is_not_taken(app) -> None:
    page = before_restart(app)
    states = page._tree.get_widget_states()
    (status,) = [w for w in states.widgets if w.id.endswith("-f_status_zh_0")]
    status.string_array_value.data[:] = ["<img src=x>"]
    (colour,) = [w for w in states.widgets if w.id.endswith("-colour_zh_0")]
    colour.string_value = "bogus"
    after = reconnect(page, states)
    # Streamlit drops a multiselect value that is none of its options (the status filter is then empty, as a
    # planner removing every chip); a radio passes it through, and the view keeps what it had.
    assert view(after).criteria.statuses <= set(schema.STATUSES) and view(after).colour_by == "status"
    assert "<img" not in str(after.query_params) and "bogus" not in str(after.query_params)
    assert agrees_with_url(after)


def test_a_compare_date_cleared_before_the_restart_stays_cleared(app, data_dir: Path) -> None:
    """A new session compares with the last meeting unless the link names a date; a page whose planner cleared
    the date (the address bar then names none) must not get it back when the server restarts."""
    meeting = dt.date.today() - dt.timedelta(days=30)
    FileLayerStore(data_dir).publish(
        "views", {"views": [], "meetings": [meeting.isoformat()]}, actor=Actor("seed", "editor"), base_version=0
    )
    page = app().run()
    assert page.query_params["compare"] == meeting.isoformat()  # the default comparison
    page.date_input(key="compare_zh_0").set_value(None).run()
    assert "compare" not in page.query_params
    page.multiselect(key="f_status_zh_0").set_value(["in_progress"])
    after = reconnect(page)
    assert view(after).compare is None and "compare" not in after.query_params
    assert after.query_params["status"] == "in_progress"


def test_a_first_visit_still_gets_the_default_comparison(app, data_dir: Path) -> None:
    meeting = dt.date.today() - dt.timedelta(days=30)
    FileLayerStore(data_dir).publish(
        "views", {"views": [], "meetings": [meeting.isoformat()]}, actor=Actor("seed", "editor"), base_version=0
    )
    at = app(status="in_progress").run()
    assert view(at).compare == meeting and at.query_params["compare"] == meeting.isoformat()
    assert view(at).criteria.statuses == {"in_progress"} and agrees_with_url(at)
