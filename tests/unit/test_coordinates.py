"""The coordinates tool's reading of pasted text, and the point shown in every system."""

from __future__ import annotations

import pytest

from urban_plan import coordinates, datum

GOV = (117.1699, 36.9762)  # district government, WGS84


@pytest.mark.parametrize(
    ("text", "system"),
    [
        ("117.1699, 36.9762", "wgs84"),
        ("117.1699 36.9762", "wgs84"),
        ("117.1699，36.9762", "wgs84"),
        ("36.9762, 117.1699", "wgs84"),  # latitude first
        ("117°10'11.64\"E 36°58'34.32\"N", "wgs84"),
        ("117度10分11.64秒 36度58分34.32秒", "wgs84"),
    ],
)
def test_pasted_wgs84_in_the_usual_forms_reads_as_the_same_point(text: str, system: str) -> None:
    point = coordinates.parse(text, system)
    assert point.lon == pytest.approx(GOV[0], abs=1e-6) and point.lat == pytest.approx(GOV[1], abs=1e-6)


def test_gcj02_and_bd09_pastes_are_converted_back_to_wgs84() -> None:
    for system in ("gcj02", "bd09"):
        lon, lat = datum.convert_point(*GOV, "wgs84", system)
        point = coordinates.parse(f"{lon:.7f},{lat:.7f}", system)
        assert (point.lon, point.lat) == (pytest.approx(GOV[0], abs=2e-7), pytest.approx(GOV[1], abs=2e-7))


@pytest.mark.parametrize("prefix", [0, 39_000_000])
def test_gauss_kruger_metres_with_or_without_the_zone_number_read_back(prefix: int) -> None:
    x, y = datum.gauss_kruger_4548(*GOV)
    point = coordinates.parse(f"{float(x) + prefix:.2f} {float(y):.2f}", "gk4548")
    assert (point.lon, point.lat) == (pytest.approx(GOV[0], abs=1e-7), pytest.approx(GOV[1], abs=1e-7))


def test_the_point_is_shown_in_every_system() -> None:
    values = coordinates.represent(coordinates.Point(*GOV))
    assert set(values) == set(coordinates.SYSTEMS)
    assert values["wgs84"] == ("117.169900", "36.976200")
    gcj = tuple(map(float, values["gcj02"]))
    assert 0.004 < gcj[0] - GOV[0] < 0.008  # about 500 m east here, as the offset is in Jinan
    assert 500_000 < float(values["gk4548"][0]) < 530_000


@pytest.mark.parametrize(
    ("text", "system", "code"),
    [
        ("117.17", "wgs84", "two_numbers"),
        ("a, b", "wgs84", "not_a_number"),
        ("-0.12, 51.5", "wgs84", "outside_china"),
        ("1, 2", "gk4548", "not_gauss_kruger"),
        ("nan, 36", "wgs84", "not_a_number"),
        ("117, 36", "utm", "unknown_system"),
    ],
)
def test_text_that_is_not_a_point_gets_a_reason(text: str, system: str, code: str) -> None:
    with pytest.raises(coordinates.CoordinateError) as exc:
        coordinates.parse(text, system)
    assert exc.value.code == code
