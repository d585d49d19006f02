"""Tests for urban_plan.ingest: every file of the corpus (tests/unit/corpus.py) gets its expected outcome, values are
normalised as planners mean them, and no file, however malformed or hostile, makes reading raise."""

from __future__ import annotations

import json
import math
import random
import time
from typing import Any

import pytest
import shapely

from tests.unit import corpus
from tests.unit.corpus import Case
from urban_plan import i18n, ingest, registry, schema
from urban_plan.ingest import Options, Result

CASE_SECONDS = 5.0


# --- helpers --------------------------------------------------------------------------------------------------------


def read(case: Case, monkeypatch: pytest.MonkeyPatch) -> Result:
    data = corpus.build(case)
    for name, value in case.limits.items():
        monkeypatch.setattr(ingest, name, value)
    return ingest.read_upload(case.filename, data, case.options)


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two lon/lat points."""
    (lon1, lat1), (lon2, lat2) = a, b
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


def by_id(result: Result) -> dict[str, dict[str, Any]]:
    assert result.collection is not None
    return {f["properties"]["id"]: f for f in result.collection["features"]}


def matches(expect: corpus.Expect, problem: schema.Problem) -> bool:
    return (
        problem.code in expect.code.split("|")
        and problem.severity == expect.severity
        and (expect.feature is None or problem.feature == expect.feature)
        and (expect.field is None or problem.field == expect.field)
        and all(part in problem.found for part in expect.found)
    )


def mismatches(case: Case, result: Result) -> list[str]:
    """Every way the result differs from the case's expected outcome (empty when it is as expected)."""
    want = case.outcome
    out: list[str] = []
    if result.ok != want.ok:
        out.append(f"ok is {result.ok}, expected {want.ok}")
    for expect in want.problems:
        if not any(matches(expect, p) for p in result.problems):
            out.append(f"missing problem {expect}")
    if want.exact_errors:
        allowed = {code for e in want.problems if e.severity == "error" for code in e.code.split("|")}
        out += [f"unexpected error {p}" for p in result.errors if p.code not in allowed]
    if want.feature_count is not None and result.feature_count != want.feature_count:
        out.append(f"feature_count {result.feature_count}, expected {want.feature_count}")
    if want.invalid_geometry is not None and result.invalid_geometry != want.invalid_geometry:
        out.append(f"invalid_geometry {result.invalid_geometry}, expected {want.invalid_geometry}")
    for key, part in want.detected.items():
        if part not in result.detected.get(key, ""):
            out.append(f"detected[{key!r}] is {result.detected.get(key)!r}, expected to contain {part!r}")
    for source, target in want.field_map.items():
        if result.field_map.get(source, "<absent>") != target:
            out.append(f"field_map[{source!r}] is {result.field_map.get(source, '<absent>')!r}, expected {target!r}")
    if (want.properties or want.coordinates or want.geometry_types) and result.collection is None:
        return [*out, "no collection to check values in"]
    features = by_id(result) if result.collection else {}
    for fid, values in want.properties.items():
        stored = features.get(fid, {}).get("properties", {})
        out += [
            f"{fid}.{name} is {stored.get(name, '<absent>')!r}, expected {value!r}"
            for name, value in values.items()
            if stored.get(name, "<absent>") != value
        ]
    for fid, vertices in want.coordinates.items():
        geometry = features.get(fid, {}).get("geometry")
        got = [tuple(c) for c in shapely.get_coordinates(shapely.from_geojson(json.dumps(geometry)))]
        if len(got) != len(vertices) or any(metres(a, b) > 1.0 for a, b in zip(got, vertices, strict=False)):
            out.append(f"{fid} coordinates {got}, expected within 1 m of {list(vertices)}")
    for fid, types in want.geometry_types.items():
        got_type = (features.get(fid, {}).get("geometry") or {}).get("type")
        if got_type not in types:
            out.append(f"{fid} geometry {got_type}, expected one of {types}")
    return out


def assert_sound(result: Result, layer: str) -> None:
    """What holds for every result: named problems, ok exactly when there is a collection, and that collection
    is strict JSON that the stored schema accepts once the fields it brings are declared."""
    for problem in result.problems:
        assert isinstance(problem.code, str) and problem.code, problem
        assert isinstance(problem.feature, str) and problem.feature, problem
        assert problem.severity in ("error", "warning"), problem
        assert isinstance(problem.found, str), problem
    assert result.ok == (result.collection is not None)
    if result.collection is not None:
        json.dumps(result.collection, allow_nan=False)
        declared = registry.declare_fields(registry.builtin(), layer, result.new_fields)
        assert schema.validate_collection(result.collection, declared[layer]) == []
    if result.ok:
        assert not result.errors


def case_params(cases: list[Case], *, raising_only: bool) -> list[Any]:
    """Cases as pytest params; a known bug is a strict xfail (only where it makes reading raise, if raising_only)."""
    params = []
    for case in cases:
        marks = []
        if case.bug and (case.raises or not raising_only):
            marks.append(pytest.mark.xfail(strict=True, reason=case.bug))
        params.append(pytest.param(case, id=case.id, marks=marks))
    return params


# --- the corpus -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", case_params(corpus.CASES, raising_only=False))
def test_each_corpus_file_gets_its_expected_outcome(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    started = time.perf_counter()
    result = read(case, monkeypatch)
    elapsed = time.perf_counter() - started
    problems = [(p.code, p.feature, p.field, p.found[:60], p.severity) for p in result.problems]
    assert mismatches(case, result) == [], f"problems: {problems}, detected: {result.detected}"
    assert elapsed < CASE_SECONDS


@pytest.mark.parametrize("case", case_params(corpus.CASES, raising_only=True))
def test_reading_any_corpus_file_never_raises_and_names_every_problem(
    case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = read(case, monkeypatch)
    assert_sound(result, case.options.layer if case.options.layer in registry.builtin() else "projects")


def test_every_problem_the_corpus_produces_has_a_message_in_both_languages(monkeypatch: pytest.MonkeyPatch) -> None:
    codes: set[str] = set()
    for case in corpus.CASES:
        if not case.raises:
            with monkeypatch.context() as patch:
                codes |= {p.code for p in read(case, patch).problems}
    missing = [(lang, code) for code in sorted(codes) for lang in i18n.LANGS if not i18n.has(f"problem.{code}", lang)]
    assert missing == []
    assert len(codes) >= 40  # the corpus reaches most of what ingest can say


def test_the_corpus_covers_both_outcomes_and_every_layer() -> None:
    assert {c.outcome.ok for c in corpus.CASES} == {True, False}
    assert {c.options.layer for c in corpus.CASES} >= {"projects", "roads", "rail", "layout"}
    assert sum(c.filename.endswith(".zip") for c in corpus.CASES) >= 20


def test_building_a_corpus_file_twice_gives_the_same_bytes() -> None:
    assert [c.id for c in corpus.CASES if c.make() != c.make()] == []


# --- normalisation of values ------------------------------------------------------------------------------------------


def one_feature(**properties: Any) -> bytes:
    return corpus.to_bytes(corpus.collection(corpus.feature(corpus.props("p1", **properties), corpus.point())))


def stored(result: Result) -> dict[str, Any]:
    assert result.ok, result.problems
    assert result.collection is not None
    return result.collection["features"][0]["properties"]


@pytest.mark.parametrize(
    ("word", "code"),
    [
        *[(w, "planned") for w in ("规划", "前期", "拟建", "计划", "未开工", "PLANNED", "Proposed", "not  started")],
        *[(w, "in_progress") for w in ("在建", "施工中", "续建", "In Progress", "in_progress", "under construction")],
        *[(w, "completed") for w in ("已完工", "竣工", "建成", "通车", "Completed", " done ", "Finished")],
    ],
)
def test_status_words_in_chinese_and_english_become_status_codes(word: str, code: str) -> None:
    assert stored(ingest.read_upload("a.geojson", one_feature(status=word), Options("projects")))["status"] == code


@pytest.mark.parametrize(
    ("value", "percent"),
    [(45, 45.0), ("45", 45.0), ("45%", 45.0), (" 45 % ", 45.0), ("45％", 45.0), (45.04, 45.0), (0, 0.0), (100, 100.0)],
)
def test_progress_written_as_a_percentage_is_stored_as_a_number(value: Any, percent: float) -> None:
    assert stored(ingest.read_upload("a.geojson", one_feature(progress=value), Options("projects")))["progress"] == (
        percent
    )


@pytest.mark.parametrize("word", ["未报告", "无", "不详", "-", "—", "N/A", "null", "  "])
def test_words_for_not_reported_leave_progress_dates_and_money_empty(word: str) -> None:
    data = one_feature(progress=word, start_date=word, end_date=word, investment_yi=word)
    props = stored(ingest.read_upload("a.geojson", data, Options("projects")))
    assert (props["progress"], props["start_date"], props["end_date"], props["investment_yi"]) == (None,) * 4


@pytest.mark.parametrize(
    "text", ["2026/9/30", "2026年9月30日", "2026 年 9 月 30 日", "2026-09-30", "2026.09.30", "2026-9-30T00:00:00"]
)
def test_dates_in_the_forms_planners_write_become_iso_dates(text: str) -> None:
    props = stored(ingest.read_upload("a.geojson", one_feature(end_date=text), Options("projects")))
    assert props["end_date"] == "2026-09-30"


@pytest.mark.parametrize("text", ["2026-02-30", "2026-13-01", "30/09/2026", "下月", "2026"])
def test_impossible_or_unreadable_dates_are_reported_for_their_feature(text: str) -> None:
    result = ingest.read_upload("a.geojson", one_feature(start_date=text), Options("projects"))
    assert [(p.code, p.feature, p.field, p.found) for p in result.errors] == [("bad_date", "p1", "start_date", text)]


def test_an_all_fraction_file_is_read_as_percent_and_says_so() -> None:
    data = corpus.to_bytes(
        corpus.collection(
            *(corpus.feature(corpus.props(f"p{i}", progress=v), corpus.point()) for i, v in enumerate([0.45, 0, 1]))
        )
    )
    result = ingest.read_upload("a.geojson", data, Options("projects"))
    assert [f["properties"]["progress"] for f in by_id(result).values()] == [45.0, 0.0, 100.0]
    assert "fraction" in result.detected["progress"]


@pytest.mark.parametrize("epsg", [4548, 4527, 3857])
def test_projected_points_across_the_district_come_back_within_a_metre(epsg: int) -> None:
    rng = random.Random(epsg)
    truth = inside_district(rng, 40)
    features = [
        corpus.feature(corpus.props(f"p{i}"), corpus.point(xy)) for i, xy in enumerate(corpus.projected(truth, epsg))
    ]
    result = ingest.read_upload("a.geojson", corpus.to_bytes(corpus.collection(*features)), Options("projects"))
    assert result.ok, result.problems
    assert f"EPSG:{epsg}" in result.detected["crs"]
    got = [tuple(f["geometry"]["coordinates"]) for f in by_id(result).values()]
    assert max(metres(a, b) for a, b in zip(got, truth, strict=True)) < 1.0


def inside_district(rng: random.Random, count: int) -> list[tuple[float, float]]:
    """Random points well inside the shipped district boundary."""
    boundary = shapely.from_geojson(ingest.BOUNDARY_FILE.read_text(encoding="utf-8"))
    area = shapely.union_all(shapely.get_parts(boundary)).buffer(-0.01)
    x0, y0, x1, y1 = area.bounds
    points: list[tuple[float, float]] = []
    while len(points) < count:
        xy = (rng.uniform(x0, x1), rng.uniform(y0, y1))
        if area.contains(shapely.Point(xy)):
            points.append(xy)
    return points


def test_stored_coordinates_keep_at_most_seven_decimals() -> None:
    data = corpus.to_bytes(
        corpus.collection(corpus.feature(corpus.props(), corpus.point((117.123456789, 36.987654321))))
    )
    coords = by_id(ingest.read_upload("a.geojson", data, Options("projects")))["p1"]["geometry"]["coordinates"]
    assert coords == pytest.approx([117.1234568, 36.9876543], abs=1e-9)


def test_hostile_text_is_stored_exactly_as_written_for_display_to_escape() -> None:
    case = next(c for c in corpus.CASES if c.id == "xss_in_every_text_field")
    result = ingest.read_upload(case.filename, corpus.build(case), case.options)
    assert result.ok
    texts = [f["properties"][name] for f in by_id(result).values() for name in corpus.XSS_EXPECTED["x0"]]
    assert set(texts) == set(corpus.XSS)
    assert all(payload in json.dumps(result.collection, ensure_ascii=False) for payload in corpus.XSS)


def test_missing_fields_are_filled_with_defaults_and_every_canonical_field_is_present() -> None:
    props = stored(ingest.read_upload("a.geojson", one_feature(), Options("projects")))
    assert list(props) == list(schema.FIELDS)
    assert (props["confidence"], props["source"], props["progress"]) == ("approximate", "upload", None)


def test_source_fields_are_reported_in_file_order_and_the_applied_map_names_each() -> None:
    data = corpus.to_bytes(corpus.collection(corpus.feature(corpus.GBK_PROPERTIES, corpus.point())))
    result = ingest.read_upload("a.geojson", data, Options("projects"))
    assert result.source_fields == list(corpus.GBK_PROPERTIES)
    assert set(result.field_map) == set(corpus.GBK_PROPERTIES)


def test_the_callers_field_map_is_not_changed() -> None:
    field_map: dict[str, str | None] = {"项目": "name_zh", "不存在": "note"}
    data = corpus.to_bytes(corpus.collection(corpus.feature(corpus.props("p1", name_zh=..., 项目="x"), corpus.point())))
    ingest.read_upload("a.geojson", data, Options("projects", field_map=field_map))
    assert field_map == {"项目": "name_zh", "不存在": "note"}


def test_a_column_mapped_to_an_unknown_target_is_an_error_naming_both() -> None:
    data = one_feature(备注="x")
    result = ingest.read_upload("a.geojson", data, Options("projects", field_map={"备注": "secret_column"}))
    assert [(p.code, p.field, p.found) for p in result.errors] == [("unknown_map_target", "备注", "secret_column")]
    assert result.collection is None


def test_deeply_nested_json_is_refused_quickly() -> None:
    started = time.perf_counter()
    for data in (corpus.nested_lists(100_000), corpus.nested_objects(100_000), b"[" * 1_000_000):
        result = ingest.read_upload("deep.geojson", data, Options("projects"))
        assert [p.code for p in result.problems] in (["too_complex"], ["not_json"])
    assert time.perf_counter() - started < 5.0


# --- fuzzing: whatever arrives, reading returns a result ----------------------------------------------------------


def read_all_ways(name: str, data: bytes, rng: random.Random) -> None:
    layer = rng.choice(registry.builtin().ids())
    options = Options(layer, datum=rng.choice(("wgs84", "gcj02", "bd09")))
    assert_sound(ingest.read_upload(name, data, options), layer)


def test_random_bytes_never_make_reading_raise() -> None:
    rng = random.Random(corpus.FUZZ_SEED)
    for i in range(200):
        data = rng.randbytes(rng.choice((0, 1, 3, 64, 700)))
        if i % 4 == 0:
            data = b"PK\x03\x04" + data
        read_all_ways(rng.choice(("a.geojson", "a.json", "a.zip")), data, rng)


def test_randomly_edited_geojson_never_makes_reading_raise() -> None:
    rng = random.Random(corpus.FUZZ_SEED + 1)
    for _ in range(300):
        read_all_ways("a.geojson", corpus.mutate_bytes(corpus.VALID_GEOJSON, rng), rng)


def test_geojson_with_odd_values_anywhere_never_makes_reading_raise() -> None:
    rng = random.Random(corpus.FUZZ_SEED + 2)
    doc = json.loads(corpus.VALID_GEOJSON)
    for _ in range(300):
        read_all_ways("a.geojson", corpus.to_bytes(corpus.mutate_structure(doc, rng)), rng)


def test_a_zipped_shapefile_with_flipped_bytes_never_makes_reading_raise() -> None:
    rng = random.Random(corpus.FUZZ_SEED + 3)
    good = corpus.good_road_zip()
    for _ in range(150):
        read_all_ways("roads.zip", corpus.flip_bytes(good, rng), rng)
