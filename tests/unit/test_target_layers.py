"""A target row names the layer it is counted from: data, not a list in the code."""

from __future__ import annotations

import pandas as pd

from urban_plan import dashboard, documents, registry

PARKS = registry.add_layer(
    registry.builtin(), "parks", name_zh="公园", name_en="Parks", role="overlay", tracks_progress=True
)


def _row(**extra: object) -> dict:
    names = {"label_zh": "新建公园", "label_en": "New parks", "unit_zh": "个", "unit_en": "parks"}
    empty = {"reported": None, "reported_as_of": None, "source": "", "note": ""}
    return {"id": "new_parks", "target": 3, **names, **empty, **extra}


def _overlays() -> pd.DataFrame:
    return pd.DataFrame(
        {"layer": ["parks", "parks", "roads"], "status": ["completed", "in_progress", "completed"],
         "confidence": ["approximate"] * 3, "id": ["p1", "p2", "r1"]}
    )  # fmt: skip


def test_a_row_naming_a_new_progress_layer_is_counted_from_it_and_one_naming_none_is_not() -> None:
    (counted,) = dashboard.target_cards({"rows": [_row(layer="parks")]}, _overlays(), "zh", PARKS)
    assert "2" in counted.data and counted.data  # the two parks, by status
    (uncounted,) = dashboard.target_cards({"rows": [_row()]}, _overlays(), "zh", PARKS)
    assert uncounted.data == ""
    # the same row, with a registry where 公园 does not track progress (or does not exist): nothing counted
    (gone,) = dashboard.target_cards({"rows": [_row(layer="parks")]}, _overlays(), "zh", registry.builtin())
    assert gone.data == ""


def test_the_shipped_targets_name_their_layers_and_a_bad_layer_id_is_refused() -> None:
    (_, first, _), _ = documents.seed_targets()
    layers = {row["id"]: row.get("layer") for row in first["rows"]}
    assert layers["five_projects_investment"] == "projects" and layers["road_works"] == "roads"
    assert documents.validate_targets({"rows": [_row(layer="公园; drop")]}) != []
    assert documents.validate_targets({"rows": [_row(layer="parks")]}) == []
