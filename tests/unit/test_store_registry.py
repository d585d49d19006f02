"""The layer registry as a versioned document of the file store: versions, rollback, validation, new layers' files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from urban_plan import registry, store
from urban_plan.registry import FieldDef
from urban_plan.store import Actor, FileLayerStore, InvalidPayload

WANG = Actor("wang", "editor")


@pytest.fixture
def seeded(data_dir: Path) -> FileLayerStore:
    return FileLayerStore(data_dir)


def publish_registry(s: FileLayerStore, layers: registry.Registry, **kwargs) -> store.VersionInfo:
    latest = s.latest(registry.COLLECTION)
    return s.publish(
        registry.COLLECTION, layers.to_payload(), actor=WANG, base_version=latest.number if latest else 0, **kwargs
    )


def with_parks(layers: registry.Registry) -> registry.Registry:
    return registry.add_layer(
        layers,
        "parks",
        name_zh="公园",
        name_en="Parks",
        role="overlay",
        families=("polygon", "point"),
        fields=(FieldDef("面积公顷", "面积(公顷)", "Area (ha)", "number"),),
    )


def test_the_shipped_store_has_the_five_layers_as_its_first_registry_version(seeded: FileLayerStore) -> None:
    (first,) = seeded.history(registry.COLLECTION)
    assert (first.number, first.author, first.as_of) == (1, "seed", "2023-01-11")
    assert seeded.registry() == registry.builtin()


def test_a_store_that_never_published_a_registry_reads_the_shipped_layers(tmp_path: Path) -> None:
    empty = FileLayerStore(tmp_path)
    assert empty.history(registry.COLLECTION) == [] and empty.registry() == registry.builtin()
    assert store.known_collections(empty)[:5] == registry.builtin().ids(archived=True)
    publish_registry(empty, with_parks(empty.registry()))  # the first version is based on version 0
    assert "parks" in empty.registry() and empty.latest(registry.COLLECTION).number == 1


def test_each_registry_change_is_a_version_and_rollback_brings_an_old_one_back(seeded: FileLayerStore) -> None:
    publish_registry(seeded, with_parks(seeded.registry()), message="公园图层")
    assert "parks" in seeded.registry() and seeded.is_layer("parks")
    assert "parks" in store.known_collections(seeded)
    renamed = registry.edit_layer(seeded.registry(), "parks", name_en="Parks and squares")
    publish_registry(seeded, renamed)
    assert [v.number for v in seeded.history(registry.COLLECTION)] == [1, 2, 3]
    assert seeded.registry()["parks"].name_en == "Parks and squares"
    back = seeded.rollback(registry.COLLECTION, 2, actor=WANG, base_version=3)
    assert (back.number, back.restored_from) == (4, 2)
    assert seeded.registry()["parks"].name_en == "Parks"
    assert registry.Registry.from_payload(seeded.load(registry.COLLECTION, 3))["parks"].name_en == "Parks and squares"


def test_a_new_layer_gets_its_own_versions_and_mirror_file(seeded: FileLayerStore) -> None:
    publish_registry(seeded, with_parks(seeded.registry()))
    park = {
        "type": "Feature",
        "properties": {"id": "P1", "name_zh": "澄波湖公园", "面积公顷": 12.5},
        "geometry": {"type": "Point", "coordinates": [117.17, 36.98]},
    }
    seeded.publish("parks", {"type": "FeatureCollection", "features": [park]}, actor=WANG, base_version=0)
    mirror = json.loads((seeded.root / "parks.geojson").read_text(encoding="utf-8"))
    assert mirror["features"][0]["properties"]["面积公顷"] == 12.5


def test_a_layer_refuses_attributes_its_registry_entry_does_not_declare_or_that_do_not_fit(
    seeded: FileLayerStore,
) -> None:
    publish_registry(seeded, with_parks(seeded.registry()))
    for props in ({"id": "P1", "name_zh": "某园", "电话": "123"}, {"id": "P1", "name_zh": "某园", "面积公顷": "很大"}):
        feature = {
            "type": "Feature",
            "properties": props,
            "geometry": {"type": "Point", "coordinates": [117.17, 36.98]},
        }
        with pytest.raises(InvalidPayload):
            seeded.publish("parks", {"type": "FeatureCollection", "features": [feature]}, actor=WANG, base_version=0)
    assert seeded.history("parks") == []


@pytest.mark.parametrize(
    "payload",
    [
        {"layers": "all"},
        {"layers": [], "extra": 1},
        {"layers": [{"id": "Bad Id", "name_zh": "坏", "name_en": "Bad", "families": ["point"]}]},
        {"layers": [{"id": "parks", "name_zh": "公园", "name_en": "Parks", "families": ["point"], "colour": "green"}]},
    ],
)
def test_a_malformed_registry_is_refused_and_nothing_is_written(seeded: FileLayerStore, payload: dict) -> None:
    with pytest.raises(InvalidPayload):
        seeded.publish(registry.COLLECTION, payload, actor=WANG, base_version=1)
    assert len(seeded.history(registry.COLLECTION)) == 1 and seeded.registry() == registry.builtin()


def test_a_backdated_registry_version_does_not_replace_the_one_in_force(seeded: FileLayerStore) -> None:
    publish_registry(seeded, with_parks(seeded.registry()), as_of=dt.date(2020, 1, 1))
    # version 2 says "as of 2020": the shipped version 1 (as of 2023) stays in force today, like any document
    assert seeded.latest(registry.COLLECTION).number == 2 and "parks" not in seeded.registry()
