"""The load benchmark's pure helpers (benchmarks/load.py): percentiles, the soak's RSS trend, the address bar."""

from __future__ import annotations

import math
import os

import pytest

from benchmarks import load


def test_percentile_interpolates_between_ranks_like_numpy() -> None:
    values = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert load.percentile(values, 0) == 1.0
    assert load.percentile(values, 50) == 3.0
    assert load.percentile(values, 100) == 5.0
    assert load.percentile(values, 95) == pytest.approx(4.8)
    assert load.percentile([1.0, 2.0], 50) == pytest.approx(1.5)


def test_percentile_of_nothing_is_nan_and_ignores_nan() -> None:
    assert math.isnan(load.percentile([], 50))
    assert math.isnan(load.percentile([float("nan")], 95))
    assert load.percentile([2.0, float("nan")], 95) == 2.0


def test_summary_counts_only_real_values() -> None:
    stats = load.summary([0.5, 1.0, float("nan"), 2.0])
    assert stats["n"] == 3
    assert stats["p50"] == 1.0
    assert stats["max"] == 2.0
    assert 1.0 < stats["p95"] <= 2.0


def test_slope_is_least_squares() -> None:
    assert load.slope([(0, 1), (1, 3), (2, 5)]) == pytest.approx(2.0)
    assert math.isnan(load.slope([(1, 1), (1, 2)]))
    assert math.isnan(load.slope([(0, 1)]))


def test_rss_trend_reads_the_second_half_per_thousand_reruns() -> None:
    # Warm-up: +50 MB over the first 500 reruns, then flat: no trend.
    warmup = [(x, 200 + x / 10) for x in range(0, 500, 50)]
    flat = [(x, 250.0) for x in range(500, 1000, 50)]
    assert load.rss_trend(warmup + flat) == pytest.approx(0.0, abs=1e-9)
    # A leak of 1 MB per 100 reruns all the way: 10 MB per 1,000.
    leak = [(x, 200 + x / 100) for x in range(0, 2000, 100)]
    assert load.rss_trend(leak) == pytest.approx(10.0)


def test_rss_trend_refuses_too_short_soaks() -> None:
    assert math.isnan(load.rss_trend([(0, 1.0), (1, 2.0)]))
    assert math.isnan(load.rss_trend([(x, 100.0 + x) for x in range(20)]))  # 20 reruns: noise, not a trend


def test_downsample_keeps_the_ends() -> None:
    samples = [(x, float(x)) for x in range(101)]
    picked = load.downsample(samples, 11)
    assert len(picked) == 11
    assert picked[0] == (0, 0.0) and picked[-1] == (100, 100.0)
    assert load.downsample(samples[:5], 11) == samples[:5]


def test_query_statuses_reads_the_address_bar() -> None:
    assert load.query_statuses("status=in_progress%2Ccompleted&extent=1,2,3") == {"in_progress", "completed"}
    assert load.query_statuses("?status=planned") == {"planned"}
    assert load.query_statuses("") is None
    assert load.query_statuses("extent=1,2,3") is None


def test_read_rss_of_this_process_and_of_none() -> None:
    if not os.path.exists("/proc/self/status"):
        pytest.skip("no /proc on this system")
    assert 1 < load.read_rss_mb(os.getpid()) < 100_000
    assert math.isnan(load.read_rss_mb(2**22 + 12345))  # above Linux's pid_max default: no such process


def test_a_mounted_widget_reports_its_default_or_the_value_the_server_set() -> None:
    from streamlit.proto.Element_pb2 import Element

    element = Element()
    ms = element.multiselect
    ms.id, ms.label = "$$ID-x-f_status_zh_0", "建设状态"
    ms.options.extend(["规划", "在建", "已完工"])
    ms.default.extend([1, 2])
    state = load._widget_state("multiselect", ms)
    assert state.id == ms.id and list(state.string_array_value.data) == ["在建", "已完工"]
    ms.set_value = True
    ms.raw_values.extend(["规划"])
    assert list(load._widget_state("multiselect", ms).string_array_value.data) == ["规划"]
    box = Element().checkbox
    box.id, box.default = "c", True
    assert load._widget_state("checkbox", box).bool_value is True
    button = Element().button
    button.id = "b"
    assert load._widget_state("button", button) is None
